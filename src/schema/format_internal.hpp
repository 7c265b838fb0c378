// Pieces shared by the "format" checks (format.cpp, format_uri.cpp,
// format_host.cpp). Every check reads its string once, left to right, and
// refuses any byte sequence that is not UTF-8.
#pragma once

#include <cstddef>
#include <string_view>

namespace invar::schema::format {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Decodes the code point at s[i] and moves i past it; false on a byte
// sequence that is not UTF-8 (overlong, surrogate, past U+10FFFF, cut short).
inline bool next_code_point(std::string_view s, size_t& i, char32_t& cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  if (b < 0x80) return cp = b, ++i, true;
  size_t n = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
  if (n == 0 || b > 0xF4 || i + n >= s.size()) return false;
  cp = b & (0x3F >> n);
  for (size_t k = 1; k <= n; ++k) {
    unsigned char c = byte(i + k);
    if ((c & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += n + 1;
  return true;
}

// RFC 3339 and friends (format.cpp).
bool ipv4(std::string_view s);
bool ipv6(std::string_view s);

// RFC 1123 host names with A-labels checked as IDNA2008 (format_host.cpp).
bool hostname(std::string_view s);
// IDNA2008 (RFC 5890-5893) internationalized host names; `normalize` lets a
// label not in NFC be normalized first (as idn-email's domain may be).
bool idn_hostname(std::string_view s, bool normalize = false);
// RFC 5321 Mailbox, or with RFC 6531's UTF-8 local part and U-label domain.
bool email(std::string_view s, bool international);

// RFC 3986 URI / URI-reference, RFC 3987 IRI / IRI-reference (format_uri.cpp).
bool uri(std::string_view s, bool iri, bool reference);
// RFC 6570 URI Template, up to level 4.
bool uri_template(std::string_view s);

}  // namespace invar::schema::format
