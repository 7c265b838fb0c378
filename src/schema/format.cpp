#include "schema/format.hpp"

#include <arpa/inet.h>

#include <string>

#include "common/text.hpp"
#include "regex/ecma.hpp"

namespace invar::schema {

namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) value = value * 10 + (s[i++] - '0');
    size_t len = i - start;
    if (len == 0 || value > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

bool ipv6(std::string_view s) {
  if (s.empty() || s.size() > 45 || s.find('\0') != std::string_view::npos) return false;
  for (char c : s)
    if (!(is_hex(c) || c == ':' || c == '.')) return false;
  std::string copy(s);
  unsigned char buf[16];
  return inet_pton(AF_INET6, copy.c_str(), buf) == 1;
}

bool hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

}  // namespace

bool is_asserted_format(std::string_view f) {
  if (f == "regex") return true;  // ECMA-262 with the u flag, as "pattern" (regex/ecma.hpp)
  return f == "date-time" || f == "ipv4" || f == "ipv6" || f == "hostname" || f == "uuid";
}

bool check_format(std::string_view f, std::string_view v) {
  if (f == "regex") return regex::ecma::is_valid(v);
  if (f == "date-time") return text::parse_rfc3339(v).has_value();
  if (f == "ipv4") return ipv4(v);
  if (f == "ipv6") return ipv6(v);
  if (f == "hostname") return hostname(v);
  if (f == "uuid") return uuid(v);
  return true;
}

}  // namespace invar::schema
