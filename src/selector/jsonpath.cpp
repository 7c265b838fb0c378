#include "selector/jsonpath.hpp"

#include "common/text.hpp"

namespace invar::selector {

std::string to_pointer(const Path& path) {
  std::string pointer;
  for (const auto& seg : path) {
    if (seg.is_index) text::append_pointer_index(pointer, seg.index);
    else text::append_pointer_token(pointer, seg.key);
  }
  return pointer;
}

namespace {

bool is_name_first(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool is_name_char(unsigned char c) { return is_name_first(c) || (c >= '0' && c <= '9'); }

Error selector_error(std::string_view text, size_t at, const std::string& what) {
  Error e;
  e.code = ErrorCode::selector;
  e.message = "selector " + text::quoted(text) + " at column " + std::to_string(at + 1) + ": " + what;
  return e;
}

}  // namespace

Result<Selector> Selector::compile(std::string_view text) {
  size_t at = 0;
  if (text.empty()) return selector_error(text, 0, "empty selector (use \"$\" for the root)");
  return parse(text, at, 0, false, text[0] == '@');
}

Result<Selector> Selector::parse_embedded(std::string_view text, size_t& at, int nesting, bool outer_relative) {
  return parse(text, at, nesting, true, outer_relative);
}

Result<Selector> Selector::parse(std::string_view text, size_t& at, int nesting, bool embedded, bool outer_relative) {
  Selector sel;
  const size_t begin = at;
  if (text[at] == '@') sel.relative_ = true;
  else if (text[at] != '$') return selector_error(text, at, "a selector starts with '$' (or '@' inside `each`)");
  size_t i = at + 1;
  while (i < text.size()) {
    if (sel.segments_.size() >= kMaxSegments)
      return selector_error(text, i, "more than " + std::to_string(kMaxSegments) + " segments");
    char c = text[i];
    if (embedded && c != '.' && c != '[') break;  // the end of a query inside a filter
    if (c == '.') {
      if (i + 1 < text.size() && text[i + 1] == '.')
        return selector_error(text, i, "descendant segment '..' is outside the supported subset");
      ++i;
      if (i < text.size() && text[i] == '*') {
        sel.segments_.push_back({Kind::wildcard, {}, 0});
        sel.singular_ = false;
        ++i;
        continue;
      }
      size_t start = i;
      if (i >= text.size() || !is_name_first(static_cast<unsigned char>(text[i])))
        return selector_error(text, i, "expected a member name or '*' after '.'");
      while (i < text.size() && is_name_char(static_cast<unsigned char>(text[i]))) ++i;
      sel.segments_.push_back({Kind::name, std::string(text.substr(start, i - start)), 0});
      continue;
    }
    if (c != '[') return selector_error(text, i, "expected '.' or '['");
    ++i;
    if (i >= text.size()) return selector_error(text, i, "unterminated '['");
    char d = text[i];
    if (d == '*') {
      ++i;
      sel.segments_.push_back({Kind::wildcard, {}, 0});
      sel.singular_ = false;
    } else if (d == '\'' || d == '"') {
      char quote = d;
      ++i;
      std::string name;
      while (true) {
        if (i >= text.size()) return selector_error(text, i, "unterminated quoted name");
        char e = text[i];
        if (e == quote) {
          ++i;
          break;
        }
        if (e == '\\') {
          if (i + 1 >= text.size()) return selector_error(text, i, "unterminated escape");
          char x = text[i + 1];
          if (x == quote || x == '\\' || x == '/') name += x;
          else if (x == 'n') name += '\n';
          else if (x == 't') name += '\t';
          else return selector_error(text, i, "unsupported escape in quoted name");
          i += 2;
          continue;
        }
        name += e;
        ++i;
      }
      sel.segments_.push_back({Kind::name, std::move(name), 0});
    } else if (d == '-' || (d >= '0' && d <= '9')) {
      size_t start = i;
      if (d == '-') ++i;
      size_t digits = i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      if (i == digits) return selector_error(text, i, "expected digits in an index");
      if (i - digits > 15) return selector_error(text, start, "index too large");
      if (text[digits] == '0' && i - digits > 1) return selector_error(text, digits, "leading zero in an index");
      int64_t index = std::stoll(std::string(text.substr(start, i - start)));
      if (i < text.size() && (text[i] == ':' || text[i] == ','))
        return selector_error(text, i, "slices and unions are outside the supported subset");
      sel.segments_.push_back({Kind::index, {}, index});
    } else if (d == '?') {
      ++i;
      auto filter = Filter::parse(text, i, nesting, outer_relative);
      if (!filter) return filter.error();
      sel.segments_.push_back({Kind::filter, {}, 0, std::move(filter.value())});
      sel.singular_ = false;
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    } else if (d == ':') {
      return selector_error(text, i, "slices are outside the supported subset");
    } else {
      return selector_error(text, i, "expected '*', a quoted name or an index inside '[]'");
    }
    if (i >= text.size() || text[i] != ']') {
      if (i < text.size() && text[i] == ',')
        return selector_error(text, i, "unions are outside the supported subset");
      return selector_error(text, i, "expected ']'");
    }
    ++i;
  }
  sel.text_ = std::string(text.substr(begin, i - begin));
  at = i;
  return sel;
}

}  // namespace invar::selector
