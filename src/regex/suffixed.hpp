// A class sequence followed by one group of literal alternatives, as name
// suffixes are matched: "[a-z0-9.-]+\.(?:com|org)", "^[a-z]+-(eu|us)$".
// Matched without RE2: the string must end with one of the literals and the
// rest must match the sequence (the second part of the concatenation is
// finite, so there is one split per literal to try). Recognised only where
// the sequence's greedy pass is exact (Sequence::parse) and the group is a
// literal alternation (Alternation::parse); anything else is left to RE2.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "regex/sequence.hpp"

namespace invar::regex {

class SuffixAlternation {
 public:
  static std::optional<SuffixAlternation> parse(std::string_view pattern);

  // The whole of `s` matches (RE2::FullMatch).
  bool full_match(std::string_view s) const {
    for (const auto& l : literals_) {
      if (l.size() > s.size() || s.compare(s.size() - l.size(), l.size(), l) != 0) continue;
      if (head_.full_match(s.substr(0, s.size() - l.size()))) return true;
    }
    return false;
  }
  // Anchored at both ends: a partial match is a full match.
  bool anchored() const { return anchored_start_ && anchored_end_; }

 private:
  explicit SuffixAlternation(Sequence head) : head_(std::move(head)) {}
  Sequence head_;
  std::vector<std::string> literals_;
  bool anchored_start_ = false;
  bool anchored_end_ = false;
};

}  // namespace invar::regex
