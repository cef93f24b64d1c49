// `hearth list`: the models in the store, plus those usable in place from Ollama and the Hugging Face cache.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "store/fsutil.h"
#include "store/store.h"

namespace hearth::cli {
namespace {

std::string ago(int64_t t) {
  const int64_t d = static_cast<int64_t>(std::time(nullptr)) - t;
  auto unit = [](int64_t n, const char* u) { return fmt::format("{} {}{} ago", n, u, n == 1 ? "" : "s"); };
  if (t <= 0) return "?";
  if (d < 60) return "just now";
  if (d < 3600) return unit(d / 60, "minute");
  if (d < 86400) return unit(d / 3600, "hour");
  if (d < 86400 * 30) return unit(d / 86400, "day");
  if (d < 86400 * 365) return unit(d / (86400 * 30), "month");
  return unit(d / (86400 * 365), "year");
}

struct ListArgs {
  bool json = false;
  bool local = false;
};

std::function<int()> setup_list(CLI::App& app) {
  auto a = std::make_shared<ListArgs>();
  auto* cmd = app.add_subcommand("list", "list models (the store, Ollama's models, the Hugging Face cache)");
  cmd->alias("ls");
  cmd->add_flag("--json", a->json, "print JSON");
  cmd->add_flag("--local", a->local, "only hearth's own store");
  return [a] {
    const auto models = store::list_models(!a->local);
    if (a->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& m : models)
        out.push_back({{"name", m.name},
                       {"id", m.id},
                       {"size", m.size},
                       {"quantization", m.quant},
                       {"architecture", m.arch},
                       {"modified", m.modified},
                       {"source", m.source},
                       {"path", m.path}});
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    std::vector<std::array<std::string, 6>> rows;
    rows.push_back({"NAME", "ID", "SIZE", "QUANT", "MODIFIED", "FROM"});
    for (const auto& m : models)
      rows.push_back({m.name, m.id, store::human_size(m.size), m.quant, ago(m.modified),
                      m.source == "hearth" ? "" : m.source});
    std::array<size_t, 6> w{};
    for (const auto& r : rows)
      for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
    for (const auto& r : rows) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i)
        line += fmt::format("{:<{}}", r[i], i + 1 < r.size() ? w[i] + 3 : 0);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      std::printf("%s\n", line.c_str());
    }
    return 0;
  };
}

HEARTH_COMMAND(30, setup_list);

}  // namespace
}  // namespace hearth::cli
