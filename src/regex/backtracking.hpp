// Whether a backtracking engine (PCRE, JavaScript, Java, Python re) can take
// super-linear time on a pattern, decided on its automaton (regex/nfa.hpp),
// after Weideman, van der Merwe, Berglund and Watson, "Analyzing matching
// time behavior of backtracking regular expression matchers by using
// ambiguity of NFA" (2016):
//   - exponential: a state with two different paths back to itself on one
//     word (EDA: a strongly connected component of the automaton squared
//     holding a pair (p, p) and a pair (p, q), p != q);
//   - polynomial of degree d: a chain of d - 1 states p -> q, each with
//     paths p->p, p->q and q->q on one word (IDA, found in the automaton
//     cubed). The search's own loop (a matcher tries every start) counts:
//     unanchored \s+$ is quadratic.
// A finding stands only with an attack: a prefix, a pump and a suffix that
// the pattern does not match however often the pump repeats (a failing
// match makes the engine try every path; a pattern that matches whatever
// follows, such as unanchored ([a-z]+)*, is safe). Bounded by named budgets:
// past them the pattern could not be proven safe, which is a finding too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace invar::regex {

struct BacktrackingOptions {
  // Automaton states after unrolling {n,m}: a 16 KB rule (a trie of keywords)
  // has about one per byte.
  size_t max_states = 40000;
  size_t max_edges = 1'000'000;  // automaton steps between states (a few MB)
  // Automaton edges walked, state sets scanned and mark look-ups, in all.
  // Work, never time: a verdict may not depend on how busy the machine is.
  // About 50 ms on a 2020s x86-64 core for the longest searches
  // (bench/regex_analysis, bench/regex_ruleset).
  uint64_t max_steps = 2'000'000;
};

struct BacktrackingFinding {
  enum class Complexity { exponential, polynomial, unproven };
  Complexity complexity = Complexity::unproven;
  int degree = 0;            // polynomial: time grows as n^degree in the pump's repetitions
  std::string sub_pattern;   // the loops responsible, as written in the pattern
  std::string reason;        // one sentence
  // The attack (exponential and polynomial): prefix + pump * n + suffix.
  std::string prefix, pump, suffix;
};

// The super-linear behaviour found, or nullopt when the pattern is proven
// linear for a backtracking engine. A pattern that does not parse (or uses
// a backreference) is unproven. Never takes longer than the budgets allow.
std::optional<BacktrackingFinding> find_superlinear(std::string_view pattern, const BacktrackingOptions& options = {});

}  // namespace invar::regex
