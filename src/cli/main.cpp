// The invar command line: a thin layer over the library (include/invar).
// Exit codes (stable): 0 accept, 1 reject, 2 pin, 3 cannot judge.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"

int main(int argc, char** argv) {
  using namespace invar::cli;
  CLI::App app{"invar: a gate for generated configuration artifacts", "invar"};
  app.footer(kExitCodes);
  app.set_version_flag("--version", "invar 0.1.0");
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  for (auto add : {add_check, add_gate, add_waive, add_status, add_history, add_backtest}) {
    size_t before = app.get_subcommands({}).size();
    auto run = add(app);
    commands.push_back({app.get_subcommands({})[before], run});
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kCannotJudge;
  }
  for (auto& [cmd, run] : commands)
    if (cmd->parsed()) return run();
  return kCannotJudge;
}
