// `hearth cp SRC DST`: give a model a second name (blobs are shared, nothing is copied).
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "store/store.h"

namespace hearth::cli {
namespace {

std::function<int()> setup_cp(CLI::App& app) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand("cp", "copy a model to a new name");
  cmd->add_option("source", args->first, "model to copy")->required();
  cmd->add_option("destination", args->second, "new name")->required();
  return [args] {
    const auto src = store::parse_model_name(args->first);
    const auto dst = store::copy_model(args->first, args->second);
    std::printf("copied %s to %s\n", src.display().c_str(), dst.display().c_str());
    return 0;
  };
}

HEARTH_COMMAND(45, setup_cp);

}  // namespace
}  // namespace hearth::cli
