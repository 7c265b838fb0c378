#include "regex/suffixed.hpp"

#include "regex/alternation.hpp"

namespace invar::regex {

namespace {

// Whether p[at] is preceded by an odd run of backslashes (escaped).
bool escaped(std::string_view p, size_t at) {
  size_t slashes = 0;
  while (slashes < at && p[at - 1 - slashes] == '\\') ++slashes;
  return slashes % 2 == 1;
}

}  // namespace

std::optional<SuffixAlternation> SuffixAlternation::parse(std::string_view p) {
  constexpr size_t kMaxPattern = 1024;
  if (p.size() > kMaxPattern) return std::nullopt;
  bool anchored_end = false;
  if (!p.empty() && p.back() == '$' && !escaped(p, p.size() - 1)) {
    anchored_end = true;
    p.remove_suffix(1);
  }
  // The group opens at the last '(' (a literal alternation nests none); a
  // quantifier after it is not this form.
  if (p.empty() || p.back() != ')' || escaped(p, p.size() - 1)) return std::nullopt;
  size_t open = p.rfind('(');
  if (open == std::string_view::npos || escaped(p, open)) return std::nullopt;
  std::string_view head = p.substr(0, open), group = p.substr(open);
  auto alternatives = Alternation::parse(group);
  if (!alternatives) return std::nullopt;
  // A head ending in an end anchor ("a$(b)" matches nothing) is not this form.
  if (!head.empty() && head.back() == '$' && !escaped(head, head.size() - 1)) return std::nullopt;
  auto sequence = Sequence::parse(head);
  if (!sequence) sequence = Sequence::parse_from_end(head);
  if (!sequence) return std::nullopt;
  SuffixAlternation out(std::move(*sequence));
  out.literals_ = alternatives->literals();
  out.anchored_start_ = !head.empty() && head.front() == '^';
  out.anchored_end_ = anchored_end;
  return out;
}

}  // namespace invar::regex
