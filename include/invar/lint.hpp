// invar lint: a contract's load errors, all at once, and the assumption
// audit: what a consumer assumes that the contract does not write down (an
// array nothing bounds, a count without headroom, a stream without a
// freshness check, a selector that selects nothing on the examples...).
//
// Findings are reports (invar/invar.hpp), so every report format renders
// them: one Report per file holding findings (the contract, then each schema
// file), each finding a Violation whose `invariant` is the rule id
// ("lint.unbounded-array"), `kind` and `family` "lint", located by pointer,
// line and column in that file, with the fix in `explain`. A report is
// `reject` when it holds an error-level finding.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "invar/invar.hpp"

#pragma GCC visibility push(default)

namespace invar {

struct LintRule {
  std::string_view id;       // "lint.unbounded-array"
  Severity severity;         // of its findings (lint.selects-nothing: error for refs/unique)
  std::string_view summary;  // one line, for docs and --help
};

// Every rule, in the order findings are reported.
const std::vector<LintRule>& lint_rules();

struct LintOptions {
  Options contract;                   // the options the contract loads with
  std::vector<std::string> examples;  // artifacts the selectors are tried on (lint.selects-nothing)
};

// Audits the contract at `path`. An Error when it cannot be read (missing,
// over max_contract_bytes, not JSON) or an example cannot be; a contract
// that reads but does not load yields its load errors as lint.load findings.
Result<std::vector<Report>> lint_contract(const std::string& path, const LintOptions& options = {});

}  // namespace invar

#pragma GCC visibility pop
