#include "regex/sequence.hpp"

#include <string>

namespace invar::regex {

namespace {

constexpr uint32_t kMaxRepeat = 1000;      // RE2's own limit; larger counts are RE2's error to report
constexpr size_t kMaxPattern = 1024;       // longer patterns go to RE2, under regex_max_mem
constexpr size_t kMaxLiteralSearch = 32;   // bounds the naive substring search to 32 compares a byte

bool is_meta(char c) { return std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos; }
// Characters both RE2 and ECMA-262 (with or without the u flag) accept escaped.
bool is_escapable(char c) { return std::string_view("\\^$.|?*+()[]{}/-").find(c) != std::string_view::npos; }

struct Parser {
  std::string_view p;
  size_t i = 0;

  bool done() const { return i >= p.size(); }

  static void add(uint64_t (&bits)[2], unsigned char c) { bits[c >> 6] |= uint64_t(1) << (c & 63); }
  static void add_range(uint64_t (&bits)[2], unsigned char from, unsigned char to) {
    for (unsigned c = from; c <= to; ++c) add(bits, static_cast<unsigned char>(c));
  }

  // \d, \w or an escaped syntax character, at p[i] == '\\'. False for anything else.
  bool escape(uint64_t (&bits)[2], int& single) {
    if (i + 1 >= p.size()) return false;
    char e = p[i + 1];
    i += 2;
    single = -1;
    if (e == 'd') return add_range(bits, '0', '9'), true;
    if (e == 'w') {
      add_range(bits, '0', '9'), add_range(bits, 'A', 'Z'), add_range(bits, 'a', 'z'), add(bits, '_');
      return true;
    }
    if (!is_escapable(e)) return false;
    single = static_cast<unsigned char>(e);
    add(bits, static_cast<unsigned char>(e));
    return true;
  }

  // One class member at p[i]: a character (single set) or \d/\w (single -1).
  bool class_member(uint64_t (&bits)[2], int& single) {
    if (done()) return false;
    char c = p[i];
    if (c == '\\') return escape(bits, single);
    if (c == '[' || c == ']' || static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) return false;
    ++i;
    single = static_cast<unsigned char>(c);
    add(bits, static_cast<unsigned char>(c));
    return true;
  }

  // [...] at p[i] == '['.
  bool char_class(uint64_t (&bits)[2]) {
    ++i;
    if (done() || p[i] == '^' || p[i] == ']') return false;  // negation, or RE2/ECMA disagree on "[]"
    while (!done() && p[i] != ']') {
      uint64_t member[2] = {0, 0};
      int from;
      if (!class_member(member, from)) return false;
      bool range = i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']';
      if (range && from < 0) return false;  // "[\d-z]": ECMA reads a literal '-', RE2 refuses
      if (range) {
        ++i;
        int to;
        uint64_t ignored[2] = {0, 0};
        if (!class_member(ignored, to) || to < 0 || to < from) return false;
        add_range(bits, static_cast<unsigned char>(from), static_cast<unsigned char>(to));
        continue;
      }
      bits[0] |= member[0], bits[1] |= member[1];
    }
    if (done()) return false;
    ++i;  // ']'
    return true;
  }

  bool number(uint32_t& out) {
    size_t start = i;
    uint64_t n = 0;
    while (!done() && p[i] >= '0' && p[i] <= '9' && n <= kMaxRepeat) n = n * 10 + static_cast<uint64_t>(p[i++] - '0');
    if (i == start || n > kMaxRepeat) return false;
    out = static_cast<uint32_t>(n);
    return true;
  }

  // An optional quantifier after an atom.
  bool quantifier(uint32_t& min, uint32_t& max) {
    min = max = 1;
    if (done()) return true;
    char c = p[i];
    if (c == '?') min = 0, max = 1;
    else if (c == '*') min = 0, max = UINT32_MAX;
    else if (c == '+') min = 1, max = UINT32_MAX;
    else if (c == '{') {
      ++i;
      if (!number(min)) return false;
      max = min;
      if (!done() && p[i] == ',') {
        ++i;
        max = UINT32_MAX;
        if (!done() && p[i] != '}' && (!number(max) || max < min)) return false;
      }
      if (done() || p[i] != '}') return false;
    } else {
      return true;
    }
    ++i;
    // A lazy or possessive suffix, or a second quantifier: not this form.
    return done() || (p[i] != '?' && p[i] != '+' && p[i] != '*' && p[i] != '{');
  }
};

bool disjoint(const uint64_t (&a)[2], const uint64_t (&b)[2]) { return !(a[0] & b[0]) && !(a[1] & b[1]); }

}  // namespace

std::optional<Sequence> Sequence::parse(std::string_view pattern) { return parse(pattern, false); }
std::optional<Sequence> Sequence::parse_from_end(std::string_view pattern) { return parse(pattern, true); }

std::optional<Sequence> Sequence::parse(std::string_view pattern, bool from_end) {
  if (pattern.size() > kMaxPattern) return std::nullopt;
  Sequence seq;
  Parser in{pattern};
  if (!in.done() && pattern[0] == '^') seq.anchored_start_ = true, ++in.i;
  std::string literal;
  bool is_literal = true;
  while (!in.done()) {
    char c = pattern[in.i];
    if (c == '$' && in.i + 1 == pattern.size()) {
      seq.anchored_end_ = true;
      ++in.i;
      break;
    }
    Step step;
    int single = -1;
    if (c == '[') {
      if (!in.char_class(step.bits)) return std::nullopt;
    } else if (c == '\\') {
      if (!in.escape(step.bits, single)) return std::nullopt;
    } else if (is_meta(c) || static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) {
      return std::nullopt;
    } else {
      ++in.i;
      single = static_cast<unsigned char>(c);
      Parser::add(step.bits, static_cast<unsigned char>(c));
    }
    if (!in.quantifier(step.min, step.max)) return std::nullopt;
    if (single >= 0 && step.min == 1 && step.max == 1) literal += static_cast<char>(single);
    else is_literal = false;
    seq.steps_.push_back(step);
  }
  // Greedy is exact when each variable step is followed by the end, or by a
  // step that needs a character the variable step never takes (from the
  // end: preceded by the start, or by such a step).
  for (size_t k = 0; k < seq.steps_.size(); ++k) {
    const Step& s = seq.steps_[k];
    if (s.min == s.max || k + 1 == (from_end ? 1 : seq.steps_.size())) continue;
    const Step& next = seq.steps_[from_end ? k - 1 : k + 1];
    if (next.min == 0 || !disjoint(s.bits, next.bits)) return std::nullopt;
  }
  seq.from_end_ = from_end;
  seq.is_literal_ = is_literal;
  if (is_literal) seq.literal_ = std::move(literal);
  return seq;
}

std::optional<size_t> Sequence::run(std::string_view s, size_t at) const {
  for (const Step& step : steps_) {
    const size_t from = at, limit = step.max >= s.size() - at ? s.size() : at + step.max;
    while (at < limit && step.accepts(static_cast<unsigned char>(s[at]))) ++at;
    if (at - from < step.min) return std::nullopt;
  }
  return at;
}

std::optional<size_t> Sequence::run_from_end(std::string_view s) const {
  size_t at = s.size();
  for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) {
    const size_t from = at, limit = step->max >= at ? 0 : at - step->max;
    while (at > limit && step->accepts(static_cast<unsigned char>(s[at - 1]))) --at;
    if (from - at < step->min) return std::nullopt;
  }
  return at;
}

bool Sequence::full_match(std::string_view s) const {
  if (is_literal_) return s == literal_;
  if (from_end_) {
    auto start = run_from_end(s);
    return start && *start == 0;
  }
  auto end = run(s, 0);
  return end && *end == s.size();
}

bool Sequence::can_match_anywhere() const {
  if (from_end_) return anchored_start_ && anchored_end_;
  return anchored_start_ || (is_literal_ && literal_.size() <= kMaxLiteralSearch);
}

bool Sequence::partial_match(std::string_view s) const {
  if (anchored_start_ && anchored_end_) return full_match(s);
  if (is_literal_) {
    if (anchored_start_) return s.substr(0, literal_.size()) == literal_;
    if (anchored_end_) return s.size() >= literal_.size() && s.substr(s.size() - literal_.size()) == literal_;
    return s.find(literal_) != std::string_view::npos;
  }
  return run(s, 0).has_value();  // anchored at the start only
}

}  // namespace invar::regex
