#include "regex/alternation.hpp"

#include <algorithm>

namespace invar::regex {

namespace {

constexpr size_t kMaxPattern = 1024;
constexpr size_t kMaxLiterals = 64;

bool is_plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == ' ';
}
// Punctuation both RE2 and ECMA-262 (with or without the u flag) accept escaped.
bool is_escapable(char c) { return std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos; }

}  // namespace

std::optional<Alternation> Alternation::parse(std::string_view p) {
  if (p.size() > kMaxPattern) return std::nullopt;
  Alternation out;
  if (!p.empty() && p.front() == '^') {
    out.anchored_start_ = true;
    p.remove_prefix(1);
  }
  if (!p.empty() && p.back() == '$' && (p.size() < 2 || p[p.size() - 2] != '\\')) {
    out.anchored_end_ = true;
    p.remove_suffix(1);
  }
  bool grouped = false;
  if (p.substr(0, 3) == "(?:" && !p.empty() && p.back() == ')') {
    p = p.substr(3, p.size() - 4);
    grouped = true;
  } else if (!p.empty() && p.front() == '(' && p.back() == ')') {
    p = p.substr(1, p.size() - 2);
    grouped = true;
  }
  // Bare, the anchors would bind to the first and last branch only ("^A|B$"
  // is "(^A)|(B$)"): only a group, or no anchor, keeps one meaning.
  if (!grouped && (out.anchored_start_ || out.anchored_end_)) return std::nullopt;
  std::string literal;
  for (size_t i = 0; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '|') {
      if (literal.empty() || out.literals_.size() >= kMaxLiterals) return std::nullopt;
      out.literals_.push_back(std::move(literal));
      literal.clear();
      continue;
    }
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size() || !is_escapable(p[i + 1])) return std::nullopt;
      literal += p[++i];
    } else if (is_plain(c)) {
      literal += c;
    } else {
      return std::nullopt;
    }
  }
  if (out.literals_.size() < 2 && !grouped) return std::nullopt;  // a single literal is Sequence's
  return out;
}

bool Alternation::full_match(std::string_view s) const {
  return std::any_of(literals_.begin(), literals_.end(), [&](const std::string& l) { return s == l; });
}

bool Alternation::partial_match(std::string_view s) const {
  for (const auto& l : literals_) {
    if (l.size() > s.size()) continue;
    if (anchored_start_ && anchored_end_) {
      if (s == l) return true;
    } else if (anchored_start_) {
      if (s.substr(0, l.size()) == l) return true;
    } else if (anchored_end_) {
      if (s.substr(s.size() - l.size()) == l) return true;
    } else if (s.find(l) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace invar::regex
