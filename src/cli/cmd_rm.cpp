// `hearth rm NAME...`: remove models from the store; blobs other models still use are kept.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "store/fsutil.h"
#include "store/store.h"

namespace hearth::cli {
namespace {

std::function<int()> setup_rm(CLI::App& app) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("rm", "remove models from the store");
  cmd->add_option("model", *names, "models to remove")->required();
  return [names] {
    for (const auto& n : *names) {
      const auto r = store::remove_model(n);
      std::printf("deleted %s (freed %s)\n", r.name.display().c_str(),
                  store::human_size(r.bytes_freed).c_str());
    }
    return 0;
  };
}

HEARTH_COMMAND(50, setup_rm);

}  // namespace
}  // namespace hearth::cli
