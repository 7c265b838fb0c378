// invar lint: contracts' load errors and the assumption audit, rendered by
// the report registry (human, json, sarif, junit, github, tap).
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "invar/lint.hpp"
#include "invar/report.hpp"

namespace invar::cli {

namespace {

struct LintArgs {
  std::vector<std::string> contracts;
  std::vector<std::string> examples;
  std::string format = "human";
  std::string default_dialect;
  bool allow_unknown_keywords = false;
  RegexFallback regex_fallback = RegexFallback::none;
  bool quiet = false;
};

int run_lint(const LintArgs& args) {
  LintOptions options;
  options.examples = args.examples;
  options.contract.default_dialect = args.default_dialect;
  options.contract.allow_unknown_keywords = args.allow_unknown_keywords;
  options.contract.regex_fallback = args.regex_fallback;
  const ReportFormat& format = *find_report_format(args.format);  // checked by --format's validator
  const RenderOptions render{use_color(args.format), args.quiet};
  std::vector<Report> reports;
  std::vector<Error> errors;  // contracts that cannot be read: stated with the reports, in every format
  int code = kAccept;
  for (const auto& path : args.contracts) {
    auto linted = lint_contract(path, options);
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
  cmd->add_option("contracts", args->contracts, "Contract files")->required();
  cmd->add_option("--example", args->examples,
                  "An artifact the contract is meant for (repeatable): invariants that select nothing on every example "
                  "are reported");
  add_report_format(cmd, args->format);
  cmd->add_flag("--quiet,-q", args->quiet, "Human format: print only the summary line per file");
  cmd->add_option("--default-dialect", args->default_dialect,
                  "JSON Schema dialect of schemas without \"$schema\" when the contract's \"schema_dialect\" does not say");
  cmd->add_flag("--allow-unknown-keywords", args->allow_unknown_keywords,
                "Ignore JSON Schema keywords the draft does not define (refused by default)");
  add_regex_fallback(cmd, args->regex_fallback);
  return [args] { return run_lint(*args); };
}

}  // namespace invar::cli
