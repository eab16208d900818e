// The `nucleus` binary: parses the command line and runs one subcommand.
// Subcommands live in cmd_*.cc and register themselves (command.h).
#include <algorithm>
#include <exception>
#include <iostream>

#include "app/command.h"
#include "server/system_fingerprint.h"

namespace nucleus::app {
std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace nucleus::app

int main(int argc, char** argv) {
  using nucleus::app::Command;
  CLI::App app{"Nucleus: an LLM inference server with an OpenAI-compatible HTTP API"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("nucleus ") + nucleus::server::build_version());

  auto& commands = nucleus::app::command_registry();
  std::sort(commands.begin(), commands.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::function<int()> run;
  for (const Command& command : commands) {
    CLI::App* sub = app.add_subcommand(command.name, command.help);
    auto runner = command.setup(sub);
    sub->callback([&run, runner] { run = runner; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return run ? run() : 0;
  } catch (const std::exception& e) {
    std::cerr << "nucleus: error: " << e.what() << "\n";
    return 1;
  }
}
