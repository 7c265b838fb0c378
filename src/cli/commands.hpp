// The CLI's subcommands: each registers its flags and runs over the library.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace invar::cli {

// Adds the subcommand to `app`; the returned function runs it after parsing
// and returns the process's exit code.
std::function<int()> add_check(CLI::App& app);
std::function<int()> add_gate(CLI::App& app);
std::function<int()> add_init(CLI::App& app);
std::function<int()> add_waive(CLI::App& app);
std::function<int()> add_waivers(CLI::App& app);
std::function<int()> add_status(CLI::App& app);
std::function<int()> add_history(CLI::App& app);
std::function<int()> add_show(CLI::App& app);
std::function<int()> add_suggest(CLI::App& app);
std::function<int()> add_backtest(CLI::App& app);
std::function<int()> add_watch(CLI::App& app);
std::function<int()> add_test(CLI::App& app);
std::function<int()> add_lint(CLI::App& app);
std::function<int()> add_rollout(CLI::App& app);
std::function<int()> add_veto(CLI::App& app);
std::function<int()> add_resume(CLI::App& app);
std::function<int()> add_freeze(CLI::App& app);
std::function<int()> add_thaw(CLI::App& app);
std::function<int()> add_keygen(CLI::App& app);
std::function<int()> add_verify(CLI::App& app);

}  // namespace invar::cli
