// URIs and IRIs (RFC 3986 appendix A, RFC 3987 section 2.2) and URI
// Templates (RFC 6570 section 2), straight from their ABNF.
#include "schema/format_internal.hpp"

namespace invar::schema::format {

namespace {

constexpr std::string_view kSubDelims = "!$&'()*+,;=";

bool unreserved(char c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

bool ucschar(char32_t c) {
  if (c >= 0xA0 && c <= 0xD7FF) return true;
  if ((c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFEF)) return true;
  // Planes 1 to 14 without each plane's last two code points, and without U+E0000-E0FFF.
  return c >= 0x10000 && c <= 0xEFFFD && (c & 0xFFFF) <= 0xFFFD && !(c >= 0xE0000 && c <= 0xE0FFF);
}

bool iprivate(char32_t c) {
  return (c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000 && c <= 0xFFFFD) || (c >= 0x100000 && c <= 0x10FFFD);
}

// pct-encoded at s[i] ("%" HEXDIG HEXDIG); moves past it.
bool pct_encoded(std::string_view s, size_t& i) {
  if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
  i += 3;
  return true;
}

// Every character of `part` is unreserved, pct-encoded, a sub-delim or in
// `extra`; for an IRI also a ucschar (an iprivate too where `private_use`).
bool chars(std::string_view part, std::string_view extra, bool iri, bool private_use = false) {
  for (size_t i = 0; i < part.size();) {
    char c = part[i];
    if (c == '%') {
      if (!pct_encoded(part, i)) return false;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      char32_t cp = 0;
      if (!iri || !next_code_point(part, i, cp) || !(ucschar(cp) || (private_use && iprivate(cp)))) return false;
    } else if (unreserved(c) || kSubDelims.find(c) != std::string_view::npos ||
               extra.find(c) != std::string_view::npos) {
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

// IP-literal's inside: IPv6address / IPvFuture.
bool ip_literal(std::string_view h) {
  if (h.empty() || (h[0] != 'v' && h[0] != 'V')) return ipv6(h);
  size_t i = 1;
  while (i < h.size() && is_hex(h[i])) ++i;
  if (i == 1 || i >= h.size() || h[i] != '.' || i + 1 == h.size()) return false;
  for (char c : h.substr(i + 1))
    if (!unreserved(c) && kSubDelims.find(c) == std::string_view::npos && c != ':') return false;
  return true;
}

// authority = [ userinfo "@" ] host [ ":" port ]
bool authority(std::string_view a, bool iri) {
  if (size_t at = a.find('@'); at != std::string_view::npos) {
    if (!chars(a.substr(0, at), ":", iri)) return false;
    a.remove_prefix(at + 1);
  }
  std::string_view port;
  if (!a.empty() && a[0] == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos || !ip_literal(a.substr(1, close - 1))) return false;
    std::string_view after = a.substr(close + 1);
    if (!after.empty() && after[0] != ':') return false;
    port = after.empty() ? after : after.substr(1);
  } else {
    size_t colon = a.find(':');
    if (!chars(a.substr(0, colon), "", iri)) return false;  // reg-name (an IPv4address is one too)
    port = colon == std::string_view::npos ? std::string_view() : a.substr(colon + 1);
  }
  for (char c : port)
    if (!is_digit(c)) return false;
  return true;
}

// RFC 6570 varspec: varname [ ":" max-length / "*" ].
bool varspec(std::string_view v) {
  size_t i = 0;
  bool after_dot = true;  // a varchar must come first and after each "."
  while (i < v.size() && v[i] != ':' && v[i] != '*') {
    char c = v[i];
    if (c == '.' && !after_dot) {
      after_dot = true;
      ++i;
      continue;
    }
    if (c == '%') {
      if (!pct_encoded(v, i)) return false;
    } else if (is_alpha(c) || is_digit(c) || c == '_') {
      ++i;
    } else {
      return false;
    }
    after_dot = false;
  }
  if (after_dot) return false;
  if (i == v.size()) return true;
  if (v[i] == '*') return i + 1 == v.size();
  std::string_view length = v.substr(i + 1);  // max-length = %x31-39 0*3DIGIT
  if (length.empty() || length.size() > 4 || length[0] == '0') return false;
  for (char c : length)
    if (!is_digit(c)) return false;
  return true;
}

// RFC 6570 expression, between the braces.
bool expression(std::string_view e) {
  // Level 2 and 3 operators; "=,!@|" are reserved for extensions no expansion defines.
  if (!e.empty() && std::string_view("+#./;?&").find(e[0]) != std::string_view::npos) e.remove_prefix(1);
  while (true) {
    size_t comma = e.find(',');
    if (!varspec(e.substr(0, comma))) return false;
    if (comma == std::string_view::npos) return true;
    e.remove_prefix(comma + 1);
  }
}

// RFC 6570 literals: any ucschar or iprivate, pct-encoded, and ASCII but
// CTL, SP, '"', '%', '<', '>', '\', '^', '`', '{', '|', '}'. The apostrophe,
// which the ABNF leaves out though no rule needs it, is allowed, as the
// JSON Schema suite expects.
bool literal(std::string_view s, size_t& i) {
  char c = s[i];
  if (c == '%') return pct_encoded(s, i);
  if (static_cast<unsigned char>(c) >= 0x80) {
    char32_t cp = 0;
    return next_code_point(s, i, cp) && (ucschar(cp) || iprivate(cp));
  }
  if (c <= ' ' || c == 0x7F || std::string_view("\"<>\\^`{|}").find(c) != std::string_view::npos) return false;
  ++i;
  return true;
}

}  // namespace

bool uri(std::string_view s, bool iri, bool reference) {
  size_t k = 0;  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  if (!s.empty() && is_alpha(s[0])) {
    k = 1;
    while (k < s.size() && (is_alpha(s[k]) || is_digit(s[k]) || s[k] == '+' || s[k] == '-' || s[k] == '.')) ++k;
  }
  bool scheme = k > 0 && k < s.size() && s[k] == ':';
  if (!scheme && !reference) return false;
  std::string_view rest = scheme ? s.substr(k + 1) : s;
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    if (!chars(rest.substr(hash + 1), ":@/?", iri)) return false;
    rest = rest.substr(0, hash);
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    if (!chars(rest.substr(q + 1), ":@/?", iri, true)) return false;
    rest = rest.substr(0, q);
  }
  std::string_view path = rest;
  if (rest.substr(0, 2) == "//") {
    size_t slash = rest.find('/', 2);
    if (!authority(rest.substr(2, slash == std::string_view::npos ? slash : slash - 2), iri)) return false;
    path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  } else if (!scheme && path.substr(0, path.find('/')).find(':') != std::string_view::npos) {
    return false;  // path-noscheme: a colon in the first segment would read as a scheme
  }
  return chars(path, ":@/", iri);
}

bool uri_template(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '{') {
      if (!literal(s, i)) return false;
      continue;
    }
    size_t close = s.find('}', i);
    if (close == std::string_view::npos || !expression(s.substr(i + 1, close - i - 1))) return false;
    i = close + 1;
  }
  return true;
}

}  // namespace invar::schema::format
