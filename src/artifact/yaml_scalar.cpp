#include "artifact/yaml_scalar.hpp"

#include <limits>

#include <charconv>
#include <cmath>
#include <cstdio>

namespace invar::artifact::yaml {

namespace {

using Kind = CoreScalar::Kind;

bool digits(std::string_view s, int base, bool underscores = false) {
  if (s.empty()) return false;
  for (char c : s) {
    if (underscores && c == '_') continue;
    int v = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : (c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99));
    if (v >= base) return false;
  }
  return true;
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> words) {
  for (auto w : words)
    if (s == w) return true;
  return false;
}

// Magnitude of `s` (digits of `base`, underscores skipped); nullopt past uint64.
std::optional<uint64_t> magnitude(std::string_view s, int base) {
  uint64_t v = 0;
  for (char c : s) {
    if (c == '_') continue;
    uint64_t d = c <= '9' ? uint64_t(c - '0') : uint64_t((c | 0x20) - 'a' + 10);
    if (v > (UINT64_MAX - d) / uint64_t(base)) return std::nullopt;
    v = v * uint64_t(base) + d;
  }
  return v;
}

CoreScalar integer(bool negative, std::optional<uint64_t> m) {
  CoreScalar r;
  if (!m || (negative && *m > uint64_t(INT64_MAX) + 1)) {
    r.kind = Kind::out_of_range;
  } else if (negative) {
    r.kind = Kind::integer;
    r.integer = *m == uint64_t(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(*m);
  } else if (*m > uint64_t(INT64_MAX)) {
    r.kind = Kind::unsigned_integer;
    r.unsigned_integer = *m;
  } else {
    r.kind = Kind::integer;
    r.integer = static_cast<int64_t>(*m);
  }
  return r;
}

CoreScalar floating(std::string_view s) {
  CoreScalar r;
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    r.kind = Kind::out_of_range;
    return r;
  }
  r.kind = Kind::floating;
  r.floating = v;
  return r;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool core_float_syntax(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  bool dot = i < s.size() && s[i] == '.';
  if (dot) {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

std::string describe(const CoreScalar& c, std::string_view text) {
  char buf[64];
  switch (c.kind) {
    case Kind::null: return "null";
    case Kind::boolean: return c.boolean ? "the boolean true" : "the boolean false";
    case Kind::integer: return "the integer " + std::to_string(c.integer);
    case Kind::unsigned_integer: return "the integer " + std::to_string(c.unsigned_integer);
    case Kind::floating:
      std::snprintf(buf, sizeof buf, "%.17g", c.floating);
      return std::string("the float ") + buf;
    case Kind::non_finite: return "the float " + std::string(text);
    case Kind::out_of_range: return "an out-of-range number";
    case Kind::string: break;
  }
  return "the string \"" + std::string(text) + "\"";
}

// YAML 1.1's timestamp type, as PyYAML resolves it (the spec's regexp, plus
// blanks before a numeric offset): [0-9]{4}-[0-9]{2}-[0-9]{2}, or
// [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?
// ([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?. The reading in words, or nullopt.
std::optional<std::string> yaml11_timestamp(std::string_view s) {
  size_t i = 0;
  auto run = [&](size_t min, size_t max) {  // min..max digits
    size_t n = 0;
    while (i < s.size() && n < max && s[i] >= '0' && s[i] <= '9') ++i, ++n;
    return n >= min;
  };
  auto eat = [&](char c) { return i < s.size() && s[i] == c ? (++i, true) : false; };
  auto blanks = [&] {
    size_t n = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i, ++n;
    return n;
  };
  if (!run(4, 4) || !eat('-')) return std::nullopt;
  const size_t month = i;
  if (!run(1, 2) || !eat('-')) return std::nullopt;
  const size_t day = i;
  if (!run(1, 2)) return std::nullopt;
  if (i == s.size()) {
    if (day - month != 3 || i - day != 2) return std::nullopt;  // a date alone has two-digit month and day
    return "the date " + std::string(s);
  }
  if (!eat('T') && !eat('t') && blanks() == 0) return std::nullopt;
  if (!run(1, 2) || !eat(':') || !run(2, 2) || !eat(':') || !run(2, 2)) return std::nullopt;
  if (eat('.')) run(0, s.size());
  const size_t blank = blanks();
  if (eat('Z')) {
  } else if (eat('-') || eat('+')) {
    if (!run(1, 2) || (eat(':') && !run(2, 2))) return std::nullopt;
  } else if (blank > 0) {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return "the timestamp " + std::string(s);
}

// The YAML 1.1 reading, in the words describe() uses.
std::string yaml11_reading(std::string_view s) {
  if (auto t = yaml11_timestamp(s)) return *t;
  if (one_of(s, {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"})) return "the boolean true";
  if (one_of(s, {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"})) return "the boolean false";
  if (one_of(s, {"", "~", "null", "Null", "NULL"})) return "null";
  if (s == "=") return "the value key (tag:yaml.org,2002:value)";
  if (s == "<<") return "a merge key";
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) negative = body[0] == '-', body.remove_prefix(1);
  auto as_int = [&](std::optional<uint64_t> m) { return describe(integer(negative, m), s); };
  if (body.size() > 2 && body.substr(0, 2) == "0b" && digits(body.substr(2), 2, true)) return as_int(magnitude(body.substr(2), 2));
  if (body.size() > 2 && body.substr(0, 2) == "0x" && digits(body.substr(2), 16, true)) return as_int(magnitude(body.substr(2), 16));
  if (body.size() > 1 && body[0] == '0' && digits(body.substr(1), 8, true)) return as_int(magnitude(body.substr(1), 8));
  if (body == "0" || (!body.empty() && body[0] >= '1' && body[0] <= '9' && digits(body, 10, true)))
    return as_int(magnitude(body, 10));
  // Sexagesimal: [1-9][0-9_]*(:[0-5]?[0-9])+ for integers, then \.[0-9_]* for floats.
  if (auto colon = body.find(':'); colon != std::string_view::npos && !body.empty() && body[0] >= '1' && body[0] <= '9') {
    std::string_view head = body.substr(0, colon), rest = body.substr(colon);
    std::string_view frac;
    if (auto dot = rest.find('.'); dot != std::string_view::npos) frac = rest.substr(dot + 1), rest = rest.substr(0, dot);
    bool ok = digits(head, 10, true) && (frac.empty() || digits(frac, 10, true) || frac.find_first_not_of('_') == std::string_view::npos);
    double value = 0;
    if (auto m = magnitude(head, 10)) value = double(*m);
    else ok = false;
    while (ok && !rest.empty()) {  // rest is (:[0-5]?[0-9])+
      size_t next = rest.find(':', 1);
      std::string_view part = rest.substr(1, next == std::string_view::npos ? std::string_view::npos : next - 1);
      ok = !part.empty() && part.size() <= 2 && digits(part, 10) && (part.size() == 1 || part[0] <= '5');
      if (ok) value = value * 60 + std::stoi(std::string(part));
      rest = next == std::string_view::npos ? std::string_view() : rest.substr(next);
    }
    if (ok) {
      bool is_float = s.find('.') != std::string_view::npos;
      if (!is_float && value <= 9.2e18) {
        CoreScalar c;
        c.kind = Kind::integer;
        c.integer = static_cast<int64_t>(value) * (negative ? -1 : 1);
        return describe(c, s);
      }
      std::string digits_only;
      for (char c : frac)
        if (c != '_') digits_only += c;
      CoreScalar c;
      c.kind = Kind::floating;
      c.floating = (value + (digits_only.empty() ? 0 : std::stod("0." + digits_only))) * (negative ? -1 : 1);
      return describe(c, s);
    }
  }
  // Floats: [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)? or \.[0-9][0-9_]*(...)?, .inf, .nan.
  if (one_of(body, {".inf", ".Inf", ".INF"}) || one_of(s, {".nan", ".NaN", ".NAN"})) return "the float " + std::string(s);
  {
    size_t i = 0, lead = 0;
    while (i < body.size() && ((body[i] >= '0' && body[i] <= '9') || (lead > 0 && body[i] == '_'))) ++i, ++lead;
    bool ok = i < body.size() && body[i] == '.' && (lead > 0 || (i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '9'));
    if (ok && lead == 0 && s.size() != body.size()) ok = false;  // a signed float needs a leading digit
    if (ok) {
      ++i;
      while (i < body.size() && ((body[i] >= '0' && body[i] <= '9') || body[i] == '_')) ++i;
      if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
        ++i;
        ok = i < body.size() && (body[i] == '-' || body[i] == '+');
        ++i;
        size_t exp = 0;
        while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++exp;
        ok = ok && exp > 0;
      }
      ok = ok && i == body.size();
    }
    if (ok) {
      std::string cleaned;
      for (char c : s)
        if (c != '_') cleaned += c;
      return describe(floating(cleaned), s);
    }
  }
  return describe(CoreScalar{}, s);
}

}  // namespace

CoreScalar resolve_core(std::string_view s) {
  CoreScalar r;
  // Most scalars are words: only these first characters can begin another type.
  if (!s.empty()) {
    const char c = s[0];
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == '~' || c == 't' || c == 'T' ||
          c == 'f' || c == 'F' || c == 'n' || c == 'N'))
      return r;
  }
  if (one_of(s, {"", "~", "null", "Null", "NULL"})) {
    r.kind = Kind::null;
    return r;
  }
  if (one_of(s, {"true", "True", "TRUE", "false", "False", "FALSE"})) {
    r.kind = Kind::boolean;
    r.boolean = s[0] == 't' || s[0] == 'T';
    return r;
  }
  if (one_of(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"})) {
    r.kind = Kind::non_finite;
    r.floating = s[s.size() - 2] == 'a' || s[s.size() - 2] == 'A' ? std::numeric_limits<double>::quiet_NaN()
                 : s[0] == '-'                                    ? -std::numeric_limits<double>::infinity()
                                                                  : std::numeric_limits<double>::infinity();
    return r;
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && digits(s.substr(2), 8)) return integer(false, magnitude(s.substr(2), 8));
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && digits(s.substr(2), 16)) return integer(false, magnitude(s.substr(2), 16));
  std::string_view body = s;
  const bool negative = !body.empty() && body[0] == '-';
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) body.remove_prefix(1);
  if (digits(body, 10)) return integer(negative, magnitude(body, 10));
  if (core_float_syntax(s)) return floating(s);
  return r;
}

std::optional<CoreScalar> resolve_tagged(std::string_view tag, std::string_view text) {
  if (tag == "str") return CoreScalar{};
  CoreScalar r = resolve_core(text);
  using K = Kind;
  if (tag == "null" && r.kind == K::null) return r;
  if (tag == "bool" && r.kind == K::boolean) return r;
  if (tag == "int" && (r.kind == K::integer || r.kind == K::unsigned_integer || r.kind == K::out_of_range)) return r;
  if (tag == "float") {
    if (r.kind == K::integer) return CoreScalar{K::floating, false, 0, 0, static_cast<double>(r.integer)};
    if (r.kind == K::unsigned_integer) return CoreScalar{K::floating, false, 0, 0, static_cast<double>(r.unsigned_integer)};
    if (r.kind == K::floating || r.kind == K::non_finite || r.kind == K::out_of_range) return r;
  }
  return std::nullopt;
}

std::optional<Readings> yaml11_differs(std::string_view text) {
  Readings r{describe(resolve_core(text), text), yaml11_reading(text)};
  if (r.yaml12 == r.yaml11) return std::nullopt;
  return r;
}

}  // namespace invar::artifact::yaml
