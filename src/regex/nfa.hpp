// The position (Glushkov) automaton of a pattern tree, as a backtracking
// matcher searching for it runs it: epsilon-free, one state per symbol
// occurrence, every path one way the matcher can try. Bounded repetition
// is unrolled into copies; `x+` and `x*` loop without copies.
//
// Search semantics: state 0 is the start; state 1 reads any byte or kBegin
// and stays (the matcher trying each start position in turn), and both can
// enter the pattern. A run is a match once it reaches a final state (the
// pattern's end; with `$`, after reading kEnd). Inputs are read framed:
// kBegin, the bytes, kEnd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "regex/pattern_tree.hpp"

namespace invar::regex {

struct Nfa {
  static constexpr uint32_t kStart = 0, kSearch = 1;
  // Per state: the symbols that enter it, where it goes next (a state twice
  // when two constructs lead there: two paths), whether the pattern may end
  // there, and the node it reads (nullptr for the first two).
  std::vector<Symbols> symbols;
  std::vector<std::vector<uint32_t>> next;
  std::vector<bool> final;
  std::vector<const PatternNode*> node;

  size_t size() const { return symbols.size(); }
};

// Nullopt when unrolling would pass `max_states`, or the steps between
// states `max_edges` (a pattern of nested nullable repeats has about n^2).
std::optional<Nfa> build_nfa(const PatternTree& tree, size_t max_states, size_t max_edges = SIZE_MAX);

}  // namespace invar::regex
