// A pattern that is only an alternation of literals, as record types and
// enum-like fields are matched: "A|AAAA|CNAME", "^(A|AAAA|CNAME)$",
// "^(?:GET|POST)". Matched by comparing with each literal, without RE2 (whose
// DFA start-up costs more than these compares on short strings). Recognised
// only where that is exactly RE2's answer; anything else is left to RE2.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invar::regex {

class Alternation {
 public:
  // The literals `pattern` alternates, in the syntax RE2 and ECMA-262 share:
  // ASCII letters, digits, '_', '-', ' ', and escaped punctuation, separated
  // by '|', either bare or wrapped in one group "(...)" or "(?:...)" with
  // anchors outside it. At most 64 literals, none empty, the pattern at
  // most 1024 bytes; otherwise nullopt.
  static std::optional<Alternation> parse(std::string_view pattern);

  // The whole of `s` is one of the literals (RE2::FullMatch).
  bool full_match(std::string_view s) const;
  // Some substring of `s` matches (RE2::PartialMatch), anchors respected.
  bool partial_match(std::string_view s) const;
  const std::vector<std::string>& literals() const { return literals_; }

 private:
  std::vector<std::string> literals_;
  bool anchored_start_ = false;
  bool anchored_end_ = false;
};

}  // namespace invar::regex
