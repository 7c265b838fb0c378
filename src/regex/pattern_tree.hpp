// A regex (RE2 syntax, which regex_safe requires first) parsed into the tree
// the backtracking analysis needs: symbol sets, concatenation, alternation,
// repetition. Bytes are symbols 0-255; `^`/`\A` match symbol kBegin and
// `$`/`\z` symbol kEnd, which frame every input (so anchors are symbols
// like any other, and the automaton needs no zero-width steps). Word
// boundaries and multi-line anchors are read as matching nothing (empty):
// an approximation that can only add ways to match.
#pragma once

#include <bitset>
#include <memory>
#include <string_view>
#include <vector>

namespace invar::regex {

inline constexpr size_t kBegin = 256, kEnd = 257;
using Symbols = std::bitset<258>;

struct PatternNode {
  enum Kind { empty, symbols, concat, alt, repeat } kind = empty;
  Symbols set;                         // symbols
  std::vector<PatternNode*> children;  // concat, alt, repeat (one child)
  int min = 0, max = 0;                // repeat; max < 0: unbounded
  size_t begin = 0, end = 0;           // the span of the pattern it was parsed from
};

class PatternTree {
 public:
  // Nullptr root when the pattern does not parse (or nests deeper than
  // kMaxNesting groups): then nothing can be proven of it.
  static PatternTree parse(std::string_view pattern);
  static constexpr int kMaxNesting = 200;

  const PatternNode* root() const { return root_; }
  const std::vector<std::unique_ptr<PatternNode>>& nodes() const { return nodes_; }

 private:
  friend class PatternParser;
  PatternNode* root_ = nullptr;
  std::vector<std::unique_ptr<PatternNode>> nodes_;
};

}  // namespace invar::regex
