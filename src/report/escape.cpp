#include "report/escape.hpp"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>

namespace invar::report {

namespace {

// Length of the valid UTF-8 sequence at text[i] and its code point; 0 when invalid.
size_t sequence(std::string_view text, size_t i, uint32_t& cp) {
  auto b = [&](size_t k) -> uint32_t { return k < text.size() ? static_cast<unsigned char>(text[k]) : 0u; };
  auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  uint32_t c = b(i);
  if (c < 0x80) return cp = c, 1;
  if (c >= 0xC2 && c <= 0xDF && cont(i + 1)) return cp = ((c & 0x1F) << 6) | (b(i + 1) & 0x3F), 2;
  if (c >= 0xE0 && c <= 0xEF && cont(i + 1) && cont(i + 2)) {
    cp = ((c & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
    cp = ((c & 0x07) << 18) | ((b(i + 1) & 0x3F) << 12) | ((b(i + 2) & 0x3F) << 6) | (b(i + 3) & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    return 4;
  }
  return 0;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

}  // namespace

// Calls f(code point, its bytes) for each character of `text`; an invalid
// byte is U+FFFD (and its UTF-8 bytes).
template <class F>
void for_each_character(std::string_view text, F f) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t n = sequence(text, i, cp);
    if (n == 0) {
      f(0xFFFD, kReplacement);
      ++i;
    } else {
      f(cp, text.substr(i, n));
      i += n;
    }
  }
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_character(text, [&](uint32_t, std::string_view bytes) { out.append(bytes); });
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for_each_character(text, [&](uint32_t cp, std::string_view bytes) {
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;  // kept in attributes, where a literal tab is normalised away
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF) out += kReplacement;
        else out.append(bytes);
    }
  });
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for_each_character(text, [&](uint32_t cp, std::string_view bytes) {
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t':
      case '\n': out.append(bytes); break;
      default: {
        bool bidi = (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
        if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0xFFFE || cp == 0xFFFF || bidi) out += kReplacement;
        else out.append(bytes);
      }
    }
  });
  return out;
}

std::string path_uri(std::string_view path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p(path);
  std::string text(path);
  bool absolute = p.is_absolute();
  if (absolute) {
    fs::path cwd = fs::current_path(ec);
    if (!ec) {
      fs::path rel = p.lexically_relative(cwd);
      if (!rel.empty() && *rel.begin() != "..") {
        text = rel.generic_string();
        absolute = false;
      }
    }
  }
  std::string out = absolute ? "file://" : "";
  for (unsigned char c : text) {
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                c == '_' || c == '~' || c == '/';
    if (keep) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace invar::report
