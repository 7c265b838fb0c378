#include "schema/format.hpp"

#include "schema/format_internal.hpp"
#include "regex/ecma.hpp"

namespace invar::schema {

namespace format {

namespace {

// Reads exactly `n` ASCII digits at s[i] as a number.
bool digits(std::string_view s, size_t& i, size_t n, int& out) {
  if (i + n > s.size()) return false;
  out = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!is_digit(s[i + k])) return false;
    out = out * 10 + (s[i + k] - '0');
  }
  i += n;
  return true;
}

bool expect(std::string_view s, size_t& i, char c) {
  if (i >= s.size() || s[i] != c) return false;
  ++i;
  return true;
}

// RFC 3339 full-date at s[i].
bool full_date(std::string_view s, size_t& i) {
  int year = 0, month = 0, day = 0;
  if (!digits(s, i, 4, year) || !expect(s, i, '-') || !digits(s, i, 2, month) || !expect(s, i, '-') ||
      !digits(s, i, 2, day))
    return false;
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

// RFC 3339 full-time at s[i] to the end: a second of 60 only at 23:59 UTC.
bool full_time(std::string_view s, size_t i) {
  int hour = 0, minute = 0, second = 0;
  if (!digits(s, i, 2, hour) || !expect(s, i, ':') || !digits(s, i, 2, minute) || !expect(s, i, ':') ||
      !digits(s, i, 2, second))
    return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  int offset = 0;  // minutes east of UTC
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int sign = s[i++] == '+' ? 1 : -1, oh = 0, om = 0;
    if (!digits(s, i, 2, oh) || !expect(s, i, ':') || !digits(s, i, 2, om) || oh > 23 || om > 59) return false;
    offset = sign * (oh * 60 + om);
  } else {
    return false;
  }
  if (i != s.size()) return false;
  int utc = ((hour * 60 + minute - offset) % 1440 + 1440) % 1440;
  return second < 60 || utc == 23 * 60 + 59;
}

bool date(std::string_view s) {
  size_t i = 0;
  return full_date(s, i) && i == s.size();
}

bool time(std::string_view s) { return full_time(s, 0); }

bool date_time(std::string_view s) {
  size_t i = 0;
  if (!full_date(s, i) || i >= s.size() || (s[i] != 'T' && s[i] != 't')) return false;
  return full_time(s, i + 1);
}

// RFC 3339 appendix A: each designator group runs in order without gaps
// (Y then M then D; H then M then S); weeks stand alone.
bool duration(std::string_view s) {
  size_t i = 0;
  if (!expect(s, i, 'P') || i == s.size()) return false;
  auto group = [&](std::string_view units) {
    size_t next = 0;  // index in `units` the next designator may start at
    bool any = false;
    while (i < s.size() && is_digit(s[i])) {
      while (i < s.size() && is_digit(s[i])) ++i;
      if (i == s.size()) return false;
      size_t at = units.find(s[i]);
      if (at == std::string_view::npos || at < next || (any && at != next)) return false;
      next = at + 1;
      any = true;
      ++i;
    }
    return any;
  };
  if (s[i] != 'T') {
    size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i > start && i + 1 == s.size() && s[i] == 'W') return true;
    i = start;
    if (!group("YMD")) return false;
  }
  if (i == s.size()) return true;
  return expect(s, i, 'T') && group("HMS") && i == s.size();
}

bool uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

// RFC 6901: "" or "/"-prefixed reference tokens, "~" only as "~0" or "~1".
bool json_pointer(std::string_view s) {
  if (!s.empty() && s[0] != '/') return false;
  size_t i = 0;
  char32_t cp = 0;
  while (i < s.size()) {
    if (s[i] == '~' && (i + 1 == s.size() || (s[i + 1] != '0' && s[i + 1] != '1'))) return false;
    if (!next_code_point(s, i, cp)) return false;
  }
  return true;
}

bool non_negative_integer(std::string_view s, size_t& i) {
  size_t start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i > start && (i - start == 1 || s[start] != '0');
}

// draft-bhutton-relative-json-pointer-00 (the index manipulation is its
// addition to draft-handrews-relative-json-pointer-01, which it contains).
bool relative_json_pointer(std::string_view s) {
  size_t i = 0;
  if (!non_negative_integer(s, i)) return false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-') && !non_negative_integer(s, ++i)) return false;
  if (i + 1 == s.size() && s[i] == '#') return true;
  return json_pointer(s.substr(i));
}

}  // namespace

bool ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int value = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
    size_t len = i - start;
    if (len == 0 || value > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// RFC 4291 section 2.2 text form: eight groups of 1-4 hex digits, one "::"
// for a run of zero groups, the last two may be a dotted IPv4 address.
bool ipv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  int groups = 0;
  bool compressed = false;
  size_t i = 0;
  if (s[0] == ':') {
    if (s[1] != ':') return false;
    compressed = true;
    i = 2;
  }
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && is_hex(s[i]) && i - start < 5) ++i;
    if (i < s.size() && s[i] == '.') {  // the IPv4 tail
      if (groups > 6 || !ipv4(s.substr(start))) return false;
      groups += 2;
      break;
    }
    if (i == start || i - start > 4) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':' || ++i == s.size()) return false;
    if (s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

}  // namespace format

bool is_asserted_format(std::string_view f) {
  return f == "date-time" || f == "date" || f == "time" || f == "duration" || f == "email" || f == "idn-email" ||
         f == "hostname" || f == "idn-hostname" || f == "ipv4" || f == "ipv6" || f == "uri" || f == "uri-reference" ||
         f == "iri" || f == "iri-reference" || f == "uri-template" || f == "json-pointer" ||
         f == "relative-json-pointer" || f == "uuid" || f == "regex";
}

bool check_format(std::string_view f, std::string_view v) {
  using namespace format;
  if (f == "regex") return regex::ecma::is_valid(v);  // ECMA-262 with the u flag, as "pattern" (regex/ecma.hpp)
  if (f == "date-time") return date_time(v);
  if (f == "date") return date(v);
  if (f == "time") return time(v);
  if (f == "duration") return duration(v);
  if (f == "email") return email(v, false);
  if (f == "idn-email") return email(v, true);
  if (f == "hostname") return hostname(v);
  if (f == "idn-hostname") return idn_hostname(v);
  if (f == "ipv4") return ipv4(v);
  if (f == "ipv6") return ipv6(v);
  if (f == "uri") return uri(v, false, false);
  if (f == "uri-reference") return uri(v, false, true);
  if (f == "iri") return uri(v, true, false);
  if (f == "iri-reference") return uri(v, true, true);
  if (f == "uri-template") return uri_template(v);
  if (f == "json-pointer") return json_pointer(v);
  if (f == "relative-json-pointer") return relative_json_pointer(v);
  if (f == "uuid") return uuid(v);
  return true;
}

}  // namespace invar::schema
