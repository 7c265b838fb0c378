// The invar command line: a thin layer over the library (include/invar).
// Exit codes (stable): 0 accept, 1 reject, 2 pin, 3 cannot judge.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace {

// An unexpected "--flag": name the subcommand's option it is closest to.
// True when it named one (the error is then said).
bool suggest_option(const std::vector<std::pair<CLI::App*, std::function<int()>>>& commands, int argc, char** argv) {
  for (const auto& [cmd, run] : commands) {
    if (!cmd->parsed()) continue;
    std::vector<std::string> names;
    for (const CLI::Option* option : cmd->get_options())
      for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    std::vector<std::string_view> candidates(names.begin(), names.end());
    for (int i = 2; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg.rfind("--", 0) != 0) continue;
      arg = arg.substr(0, arg.find('='));
      if (std::find(candidates.begin(), candidates.end(), arg) != candidates.end()) continue;
      std::string meant = invar::closest_word(arg, candidates);
      if (meant.empty()) continue;
      std::fprintf(stderr, "invar: unknown option %.*s (did you mean %s?)\n", static_cast<int>(arg.size()), arg.data(),
                   meant.c_str());
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace invar::cli;
  CLI::App app{"invar: a gate for generated configuration artifacts", "invar"};
  app.footer(kExitCodes);
  app.set_version_flag("--version", invar::build_info());
  app.require_subcommand(1);
  using Add = std::function<int()> (*)(CLI::App&);
  const std::pair<std::string_view, Add> table[] = {{"check", add_check},     {"gate", add_gate},
                                                    {"init", add_init},
                                                    {"waive", add_waive},     {"waivers", add_waivers}, {"status", add_status},
                                                    {"history", add_history}, {"show", add_show},
                                                    {"suggest", add_suggest},
                                                    {"backtest", add_backtest}, {"watch", add_watch},
                                                    {"test", add_test},       {"lint", add_lint},
                                                    {"rollout", add_rollout}, {"veto", add_veto},
                                                    {"resume", add_resume},   {"freeze", add_freeze},
                                                    {"thaw", add_thaw},       {"keygen", add_keygen},
                                                    {"verify", add_verify}};
  // Set up only the subcommand being run when argv[1] names one: building
  // every option of every subcommand is a tenth of a small check's time.
  // Anything else (--help, --version, a typo) gets them all.
  bool named = false;
  for (const auto& [name, add] : table) named |= argc > 1 && name == argv[1];
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  for (const auto& [name, add] : table) {
    if (named && name != argv[1]) continue;
    size_t before = app.get_subcommands({}).size();
    auto run = add(app);
    commands.push_back({app.get_subcommands({})[before], run});
  }
  if (!named && argc > 1 && argv[1][0] != '-') {
    std::vector<std::string_view> names;
    for (const auto& [name, add] : table) names.push_back(name);
    std::string meant = invar::closest_word(argv[1], names);
    std::fprintf(stderr, "invar: unknown command %s%s%s%s\n", argv[1], meant.empty() ? "" : " (did you mean ",
                 meant.c_str(), meant.empty() ? "" : "?)");
    return kCannotJudge;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // Bad usage, said once: the option meant, or CLI11's reason in invar's words;
    // stated in --format too, when it names one.
    bool said = dynamic_cast<const CLI::ExtrasError*>(&e) && suggest_option(commands, argc, argv);
    if (!said) std::fprintf(stderr, "invar: error: %s (--help lists the options)\n", e.what());
    print_error_stdout(invar::Error{invar::ErrorCode::usage, e.what(), {}}, format_in(argc, argv));
    return kCannotJudge;
  }
  for (auto& [cmd, run] : commands)
    if (cmd->parsed()) return run();
  return kCannotJudge;
}
