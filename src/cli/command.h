// cli: `main` and one file per command. Each command file registers itself with HEARTH_COMMAND.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace hearth::cli {

// A command adds its subcommand to the app and returns the function that runs it (exit code).
using Setup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandRegistration {
  CommandRegistration(int order, Setup setup);
};

std::vector<std::pair<int, Setup>>& registry();

}  // namespace hearth::cli

#define HEARTH_CONCAT2(a, b) a##b
#define HEARTH_CONCAT(a, b) HEARTH_CONCAT2(a, b)
// HEARTH_COMMAND(order, setup): order sorts `hearth --help`.
#define HEARTH_COMMAND(order, setup) \
  static ::hearth::cli::CommandRegistration HEARTH_CONCAT(hearth_cmd_, __LINE__)(order, setup)
