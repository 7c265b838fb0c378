// invar lint: contracts' load errors and the assumption audit, rendered by
// the report registry (human, json, sarif, junit, github, tap).
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/project.hpp"
#include "invar/lint.hpp"
#include "invar/report.hpp"

namespace invar::cli {

namespace {

struct LintArgs {
  std::vector<std::string> contracts;
  std::vector<std::string> examples;
  std::string format = "human";
  SchemaFlags schema;
  bool quiet = false;
  std::string config;
};

// What to lint: the contracts named, else those of the project file (each
// with its entry's options; an entry with a plain schema has no contract).
struct Target {
  std::string contract;
  Options options;
};

Result<std::vector<Target>> targets(const LintArgs& args, const Options& options) {
  std::vector<Target> out;
  if (!args.contracts.empty()) {
    if (!args.config.empty()) return Error{ErrorCode::usage, "--config goes without contract arguments", {}};
    for (const auto& c : args.contracts) out.push_back({c, options});
    return out;
  }
  std::string file = args.config.empty() ? project::find(".").value_or("") : args.config;
  if (file.empty())
    return Error{ErrorCode::usage, "lint needs contracts, or a project file invar.json (none here or above; docs/ci.md)", {}};
  auto loaded = project::load(file);
  if (!loaded) return loaded.error();
  for (const auto& entry : loaded->entries)
    if (!entry.contract.empty()) out.push_back({entry.contract, project::entry_options(entry, options)});
  if (out.empty()) return Error{ErrorCode::usage, file + " names no contract to lint (its entries are plain schemas)", {}};
  return out;
}

int run_lint(const LintArgs& args) {
  LintOptions options;
  options.examples = args.examples;
  apply_schema_flags(args.schema, options.contract);
  const ReportFormat& format = *find_report_format(args.format);  // checked by --format's validator
  const RenderOptions render{use_color(args.format), args.quiet};
  std::vector<Report> reports;
  std::vector<Error> errors;  // contracts that cannot be read: stated with the reports, in every format
  int code = kAccept;
  auto linting = targets(args, options.contract);
  if (!linting) {
    print_error(linting.error(), args.format);
    return kCannotJudge;
  }
  for (const auto& [path, contract_options] : *linting) {
    LintOptions one = options;
    one.contract = contract_options;
    auto linted = lint_contract(path, one);
    if (!linted) {
      print_error(linted.error(), "human");
      errors.push_back(linted.error());
      code = kCannotJudge;
      continue;
    }
    for (auto& report : linted.value()) {
      if (report.verdict == Verdict::reject && code == kAccept) code = kReject;
      if (format.streams) std::fputs(format.render({report}, render).c_str(), stdout);
      reports.push_back(std::move(report));
    }
  }
  if (!format.streams || !errors.empty())
    std::fputs(render_reports(format, format.streams ? std::vector<Report>{} : reports, errors, render).c_str(), stdout);
  return code;
}

}  // namespace

std::function<int()> add_lint(CLI::App& app) {
  auto args = std::make_shared<LintArgs>();
  auto* cmd = app.add_subcommand("lint", "Audit contracts: every load error, and the assumptions they leave unwritten");
  std::string rules = "Rules (docs/lint.md):";
  for (const auto& rule : lint_rules())
    rules += "\n  " + std::string(rule.id) + " (" + std::string(to_string(rule.severity)) + "): " + std::string(rule.summary);
  cmd->footer(rules + "\n\nExit codes: 0 no error-level finding (warnings may be reported), 1 an error-level finding, "
                      "3 a contract or an example cannot be read\n");
  cmd->add_option("contracts", args->contracts,
                  "Contract files; none: the contracts of the project file (invar.json here or above, or --config)");
  cmd->add_option("--config", args->config, "The project file whose contracts are linted (default: invar.json here or above)");
  cmd->add_option("--example", args->examples,
                  "An artifact the contract is meant for (repeatable): invariants that select nothing on every example "
                  "are reported")
      ->allow_extra_args(false);
  add_report_format(cmd, args->format);
  add_quiet(cmd, args->quiet, "Human format: print only the summary line per file");
  add_schema_flags(cmd, args->schema);
  return [args] { return run_lint(*args); };
}

}  // namespace invar::cli
