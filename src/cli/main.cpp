#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>

#include "base/error.h"
#include "base/log.h"
#include "cli/command.h"

namespace hearth::cli {

std::vector<std::pair<int, Setup>>& registry() {
  static std::vector<std::pair<int, Setup>> r;
  return r;
}

CommandRegistration::CommandRegistration(int order, Setup setup) { registry().emplace_back(order, std::move(setup)); }

}  // namespace hearth::cli

int main(int argc, char** argv) {
  using namespace hearth;
  CLI::App app{"hearth: run large language models on your own machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("hearth ") + HEARTH_VERSION);
  bool verbose = false;
  app.add_flag("--verbose-log", verbose, "log debug messages");
  auto& reg = cli::registry();
  std::stable_sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& [order, setup] : reg) {
    size_t before = app.get_subcommands({}).size();
    auto run = setup(app);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) runners.emplace_back(subs.back(), std::move(run));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (verbose) log::set_level(log::Level::debug);
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const Error& e) {
    std::fprintf(stderr, "hearth: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "hearth: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hearth: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
