// A subcommand of the `nucleus` binary. Each cmd_*.cc file defines one and
// registers it with NUCLEUS_REGISTER_COMMAND, so main.cc never needs editing
// when a subcommand is added.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace nucleus::app {

struct Command {
  std::string name;
  std::string help;
  // Declares the subcommand's options on `sub` and returns the function that
  // runs it after parsing; the function returns the process exit code.
  std::function<std::function<int()>(CLI::App* sub)> setup;
};

std::vector<Command>& command_registry();

struct CommandRegistrar {
  explicit CommandRegistrar(Command command) { command_registry().push_back(std::move(command)); }
};

}  // namespace nucleus::app

#define NUCLEUS_CONCAT_INNER(a, b) a##b
#define NUCLEUS_CONCAT(a, b) NUCLEUS_CONCAT_INNER(a, b)
#define NUCLEUS_REGISTER_COMMAND(...) \
  static ::nucleus::app::CommandRegistrar NUCLEUS_CONCAT(nucleus_command_, __LINE__)(::nucleus::app::Command{__VA_ARGS__})
