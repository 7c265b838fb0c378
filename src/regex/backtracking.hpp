// Static analysis of a regex for consumers that run a backtracking engine
// (PCRE, JavaScript, Java, Python re). It looks for the two shapes behind
// catastrophic backtracking, without running the pattern:
//   - nested unbounded quantifiers whose inner loop can hand characters to the
//     next outer iteration: (a+)+, (\w+\s?)*
//   - adjacent unbounded quantifiers over overlapping characters, with only
//     optional items between them: .*(?:.*=.*), \d+\d*
// It is a sound-ish heuristic, not a proof: an alternation with overlapping
// branches under a quantifier, such as (a|aa)+, is not detected.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace invar::regex {

struct BacktrackingFinding {
  std::string sub_pattern;  // the offending part of the pattern
  std::string reason;       // one sentence
};

// Returns the first super-linear shape found, or nullopt. Patterns deeper
// than 200 groups or that cannot be parsed are reported as findings (fail closed).
std::optional<BacktrackingFinding> find_superlinear(std::string_view pattern);

}  // namespace invar::regex
