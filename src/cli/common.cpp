#include "cli/common.h"

#include <fmt/format.h>

#include <filesystem>

#include "base/error.h"
#include "store/store.h"

namespace hearth::cli {

std::string resolve_model(const std::string& ref) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(ref, ec)) return ref;
  if (std::filesystem::exists(ref, ec)) fail("{} is not a regular file", ref);
  // A store name: found locally (hearth, Ollama, Hugging Face cache), else pulled on first use.
  return store::ensure(ref).model_path;
}

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace hearth::cli

#include "kernels/kernels.h"
namespace hearth::cli {
std::string kernels_name() { return kernels::active().name; }
}  // namespace hearth::cli
