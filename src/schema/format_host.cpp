// Host names and e-mail addresses. IDNA2008's per-label rules (the derived
// property table of RFC 5892, CONTEXTJ and CONTEXTO, NFC, leading combining
// marks, hyphens, Punycode both ways) are libidn2's idn2_register_u8; the
// Bidi rule of RFC 5893 is applied here to the whole name (libidn2 checks it
// per label, without rule 4 and without the LTR labels of a Bidi domain name),
// with libunistring's Bidi classes.
#include <idn2.h>
#include <unictype.h>

#include <cstdint>
#include <cstring>
#include <iterator>

#include "schema/format_internal.hpp"

namespace invar::schema::format {

namespace {

// The DNS limits on the ASCII form (RFC 1035 section 2.3.4, RFC 1123).
constexpr size_t kMaxName = 253;
constexpr size_t kMaxLabel = 63;

// A name's code points, label by label (A-labels decoded). A code point
// takes at least one octet of the ASCII form, so kMaxName bounds them.
struct Labels {
  char32_t cps[kMaxName + 1];
  size_t size = 0;
  uint16_t ends[kMaxName / 2 + 2];
  size_t count = 0;
  bool push(char32_t cp) {
    if (size == kMaxName) return false;
    cps[size++] = cp;
    return true;
  }
};

bool ldh(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabel || label.front() == '-' || label.back() == '-') return false;
  for (char c : label)
    if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
  return true;
}

bool has_ace_prefix(std::string_view label) {
  return label.size() >= 4 && (label[0] | 0x20) == 'x' && (label[1] | 0x20) == 'n' && label[2] == '-' &&
         label[3] == '-';
}

// An LDH label that is an A-label: it must decode to a valid U-label that
// encodes back to it (DNS compares it case-insensitively). Its code points
// replace the label's in `out`, from `from` on.
bool a_label(std::string_view label, Labels& out, size_t from) {
  char lower[kMaxLabel + 1];
  for (size_t k = 0; k < label.size(); ++k) lower[k] = static_cast<char>(label[k] | (is_alpha(label[k]) ? 0x20 : 0));
  lower[label.size()] = '\0';
  if (idn2_register_u8(nullptr, reinterpret_cast<const uint8_t*>(lower), nullptr, 0) != IDN2_OK) return false;
  uint32_t* decoded = nullptr;
  if (idn2_to_unicode_8z4z(lower, &decoded, 0) != IDN2_OK || decoded == nullptr) return false;
  out.size = from;
  bool fits = true;
  for (const uint32_t* p = decoded; *p && fits; ++p) fits = out.push(*p);
  idn2_free(decoded);
  return fits;
}

// A label with a non-ASCII code point: a U-label. Returns its A-label's length, 0 if invalid.
size_t u_label(std::string_view label, size_t code_points, bool normalize) {
  if (code_points > kMaxLabel) return 0;
  char text[kMaxLabel * 4 + 1];
  std::memcpy(text, label.data(), label.size());
  text[label.size()] = '\0';
  uint8_t* ace = nullptr;
  int rc = idn2_register_u8(reinterpret_cast<const uint8_t*>(text), nullptr, &ace, normalize ? IDN2_NFC_INPUT : 0);
  size_t length = rc == IDN2_OK && ace ? std::strlen(reinterpret_cast<const char*>(ace)) : 0;
  idn2_free(ace);
  return length <= kMaxLabel ? length : 0;
}

// RFC 5893 section 2, rules 1-6, on one label of a Bidi domain name.
bool bidi_label(const char32_t* p, size_t n) {
  int first = uc_bidi_category(p[0]);
  bool rtl = first == UC_BIDI_R || first == UC_BIDI_AL;
  if (!rtl && first != UC_BIDI_L) return false;
  bool en = false, an = false;
  int last = first;  // the last class that is not NSM
  for (size_t k = 0; k < n; ++k) {
    int c = uc_bidi_category(p[k]);
    bool common = c == UC_BIDI_EN || c == UC_BIDI_ES || c == UC_BIDI_CS || c == UC_BIDI_ET || c == UC_BIDI_ON ||
                  c == UC_BIDI_BN || c == UC_BIDI_NSM;
    bool allowed = common || (rtl ? c == UC_BIDI_R || c == UC_BIDI_AL || c == UC_BIDI_AN : c == UC_BIDI_L);
    if (!allowed) return false;
    en |= c == UC_BIDI_EN;
    an |= c == UC_BIDI_AN;
    if (c != UC_BIDI_NSM) last = c;
  }
  if (!rtl) return last == UC_BIDI_L || last == UC_BIDI_EN;
  return !(en && an) && (last == UC_BIDI_R || last == UC_BIDI_AL || last == UC_BIDI_EN || last == UC_BIDI_AN);
}

// A name with a right-to-left label is a Bidi domain name: then every label must pass.
bool bidi(const Labels& labels) {
  bool rtl = false;
  for (size_t k = 0; k < labels.size && !rtl; ++k) {
    int c = uc_bidi_category(labels.cps[k]);
    rtl = c == UC_BIDI_R || c == UC_BIDI_AL || c == UC_BIDI_AN;
  }
  for (size_t l = 0, start = 0; rtl && l < labels.count; start = labels.ends[l++])
    if (!bidi_label(labels.cps + start, labels.ends[l] - start)) return false;
  return true;
}

bool is_separator(char32_t cp, bool idn) {
  // RFC 3490 section 3.1's full stops, as idn-hostname allows them.
  return cp == '.' || (idn && (cp == 0x3002 || cp == 0xFF0E || cp == 0xFF61));
}

// A host name, each label LDH or (idn) a U-label; A-labels are checked in both.
bool name(std::string_view s, bool idn, bool normalize) {
  if (s.empty() || s.size() > kMaxName * 4) return false;
  Labels labels;
  size_t ascii_length = 0;  // of the whole name in ASCII form
  size_t i = 0, start = 0, from = 0;
  bool ascii = true;
  while (true) {
    size_t end = i;
    char32_t cp = 0;
    bool last = i == s.size();
    if (!last && !next_code_point(s, i, cp)) return false;
    if (!last && !is_separator(cp, idn)) {
      // ASCII in a U-label is LDH too (RFC 5892's PVALID), and no NUL reaches libidn2.
      if (cp >= 0x80 ? !idn : !(is_alpha(static_cast<char>(cp)) || is_digit(static_cast<char>(cp)) || cp == '-'))
        return false;
      ascii = ascii && cp < 0x80;
      if (!labels.push(cp)) return false;
      continue;
    }
    std::string_view label = s.substr(start, end - start);
    if (label.empty()) return false;
    if (ascii) {
      if (!ldh(label) || (has_ace_prefix(label) && !a_label(label, labels, from))) return false;
      ascii_length += label.size();
    } else {
      size_t ace = u_label(label, labels.size - from, normalize);
      if (ace == 0) return false;
      ascii_length += ace;
    }
    if (labels.count == std::size(labels.ends)) return false;
    labels.ends[labels.count++] = static_cast<uint16_t>(labels.size);
    if (last) break;
    start = i;
    from = labels.size;
    ascii = true;
    ++ascii_length;
  }
  return ascii_length <= kMaxName && bidi(labels);
}

// RFC 5321 Local-part: Dot-string or Quoted-string; RFC 6531 adds UTF-8.
bool local_part(std::string_view s, size_t& i, bool international) {
  char32_t cp = 0;
  auto non_ascii = [&] { return international && next_code_point(s, i, cp); };
  if (i < s.size() && s[i] == '"') {
    for (++i; i < s.size() && s[i] != '"';) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '\\') {
        if (i + 1 == s.size() || s[i + 1] < 32 || s[i + 1] > 126) return false;
        i += 2;
      } else if (c >= 0x80) {
        if (!non_ascii()) return false;
      } else if (c < 32 || c == 127) {
        return false;
      } else {
        ++i;
      }
    }
    return i < s.size() && s[i++] == '"';
  }
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  size_t atom = 0;  // length of the current atom
  while (i < s.size() && s[i] != '@') {
    char c = s[i];
    if (c == '.') {
      if (atom == 0) return false;
      atom = 0;
      ++i;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      if (!non_ascii()) return false;
    } else if (is_alpha(c) || is_digit(c) || kSpecials.find(c) != std::string_view::npos) {
      ++i;
    } else {
      return false;
    }
    ++atom;
  }
  return atom > 0;
}

}  // namespace

bool hostname(std::string_view s) { return name(s, false, false); }

bool idn_hostname(std::string_view s, bool normalize) { return name(s, true, normalize); }

bool email(std::string_view s, bool international) {
  size_t i = 0;
  if (!local_part(s, i, international) || i > 64 || i >= s.size() || s[i] != '@') return false;
  std::string_view domain = s.substr(i + 1);
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    std::string_view literal = domain.substr(1, domain.size() - 2);
    bool tagged = literal.size() >= 5 && (literal[0] | 0x20) == 'i' && (literal[1] | 0x20) == 'p' &&
                  (literal[2] | 0x20) == 'v' && literal[3] == '6' && literal[4] == ':';
    if (tagged) return ipv6(literal.substr(5));  // other General-address-literal tags are not registered
    return ipv4(literal);
  }
  // A domain label not in NFC is normalized first, as lookup does (RFC 5891 section 5.2).
  return international ? idn_hostname(domain, true) : hostname(domain);
}

}  // namespace invar::schema::format
