// A pattern that is only a sequence of ASCII character classes, each repeated
// min..max times, optionally anchored: "^[a-z][a-z0-9_]{0,63}$", "default",
// "^[A-Za-z0-9.-]+$". Matched in one greedy pass with a 128-bit table per
// step, without RE2. Recognised only where that pass is exact, so the answer
// is always RE2's; anything else is left to RE2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invar::regex {

class Sequence {
 public:
  // The sequence `pattern` spells, in the syntax RE2 and ECMA-262 share
  // (literals, escaped punctuation, \d, \w, non-negated classes of those and
  // of ASCII ranges, quantifiers ? * + {n} {n,} {n,m} up to 1000, ^ and $),
  // or nullopt. Also nullopt when a greedy pass could be wrong: a step of
  // variable length must be followed by the end or by a step that needs at
  // least one character none of which the variable step accepts. Patterns
  // over 1024 bytes are left to RE2 (and its memory budget).
  static std::optional<Sequence> parse(std::string_view pattern);
  // The same, matched by one greedy pass from the end of the string, where
  // that is exact (the mirror condition: a variable step is preceded by the
  // start or by a step that needs a character it never takes), as in
  // "^[a-z0-9.-]+\.example\.com$". Full matches only (can_match_anywhere()
  // only when anchored at both ends).
  static std::optional<Sequence> parse_from_end(std::string_view pattern);

  // The whole of `s` matches (RE2::FullMatch; anchors are then irrelevant).
  bool full_match(std::string_view s) const;
  // Whether partial_match() can answer: anchored at the start, or a literal
  // (a search for a pattern of variable length is left to RE2).
  bool can_match_anywhere() const;
  // Some substring of `s` matches (RE2::PartialMatch). Needs can_match_anywhere().
  bool partial_match(std::string_view s) const;

 private:
  struct Step {
    uint64_t bits[2] = {0, 0};  // ASCII characters accepted
    uint32_t min = 1, max = 1;
    bool accepts(unsigned char c) const { return c < 128 && (bits[c >> 6] >> (c & 63) & 1); }
  };
  // Consumes steps greedily from `at`; the end position, or nullopt.
  std::optional<size_t> run(std::string_view s, size_t at) const;
  // The same from the end of `s`, steps in reverse; the start position, or nullopt.
  std::optional<size_t> run_from_end(std::string_view s) const;
  static std::optional<Sequence> parse(std::string_view pattern, bool from_end);

  std::vector<Step> steps_;
  bool is_literal_ = false;  // every step one fixed character: literal_
  std::string literal_;
  bool anchored_start_ = false;
  bool anchored_end_ = false;
  bool from_end_ = false;
};

}  // namespace invar::regex
