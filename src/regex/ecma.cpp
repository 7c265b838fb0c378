#include "regex/ecma.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "common/text.hpp"

namespace invar::regex::ecma {

namespace {

using Status = Translation::Status;
using Ranges = std::vector<std::pair<char32_t, char32_t>>;

constexpr char32_t kMaxCode = 0x10FFFF;
constexpr size_t npos = std::string_view::npos;

// ECMA's WhiteSpace and LineTerminator code points: what \s matches.
const Ranges kSpace = {{0x09, 0x0D},     {0x20, 0x20},     {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
                       {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
const Ranges kDigit = {{'0', '9'}};
const Ranges kWord = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
const Ranges kLineTerminator = {{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}};  // what `.` does not match

void normalize(Ranges& r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (auto [lo, hi] : r) {
    if (!out.empty() && lo <= out.back().second + 1) out.back().second = std::max(out.back().second, hi);
    else out.push_back({lo, hi});
  }
  r = std::move(out);
}

Ranges complement(Ranges r) {
  normalize(r);
  Ranges out;
  char32_t next = 0;
  for (auto [lo, hi] : r) {
    if (lo > next) out.push_back({next, lo - 1});
    next = hi + 1;
  }
  if (next <= kMaxCode) out.push_back({next, kMaxCode});
  return out;
}

// Surrogates are no UTF-8 text's code points (and PCRE2 refuses them).
Ranges without_surrogates(const Ranges& r) {
  Ranges out;
  for (auto [lo, hi] : r) {
    if (hi < 0xD800 || lo > 0xDFFF) {
      out.push_back({lo, hi});
      continue;
    }
    if (lo < 0xD800) out.push_back({lo, 0xD7FF});
    if (hi > 0xDFFF) out.push_back({0xE000, hi});
  }
  return out;
}

void hex(std::string& out, char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\x{%x}", static_cast<unsigned>(c));
  out += buf;
}

bool printable_ascii(char32_t c) { return c >= 0x20 && c < 0x7F; }

// A code point outside a class, spelled as Sequence and Alternation read it
// (letters, digits and punctuation as themselves, syntax characters escaped).
void literal(std::string& out, char32_t c) {
  if (!printable_ascii(c)) return hex(out, c);
  if (std::string_view("\\^$.|?*+()[]{}/").find(static_cast<char>(c)) != npos) out += '\\';
  out += static_cast<char>(c);
}

void class_char(std::string& out, char32_t c) {
  if (!printable_ascii(c)) return hex(out, c);
  if (std::string_view("\\]^-[").find(static_cast<char>(c)) != npos) out += '\\';
  out += static_cast<char>(c);
}

void class_ranges(std::string& out, const Ranges& ranges) {
  for (auto [lo, hi] : ranges) {
    class_char(out, lo);
    if (hi == lo) continue;
    if (hi > lo + 1) out += '-';
    class_char(out, hi);
  }
}

const char* const kNothing = "[^\\x{0}-\\x{10ffff}]";
const char* const kAnything = "[\\x{0}-\\x{10ffff}]";

// A Unicode property as the engines spell it: code point ranges invar
// writes out, or RE2's named classes (their union; its complement when
// `re2_negated`; none: RE2 has no table for it), and PCRE2's name.
struct Property {
  bool is_ranges = false;
  Ranges ranges;
  std::vector<std::string> re2;
  bool re2_negated = false;
  std::string pcre2;  // inside \p{...}
  bool pcre2_negated = false;

  void negate() {
    if (is_ranges) ranges = complement(std::move(ranges));
    re2_negated = !re2_negated;
    pcre2_negated = !pcre2_negated;
  }
  // A complement of several classes: RE2 writes it only as a class of its own.
  bool re2_compound() const { return re2_negated && re2.size() > 1; }
};

// General_Category values and their aliases (Unicode's PropertyValueAliases.txt) -> the short name.
const std::pair<std::string_view, std::string_view> kCategories[] = {
    {"C", "C"},   {"Other", "C"},   {"Cc", "Cc"}, {"Control", "Cc"}, {"cntrl", "Cc"}, {"Cf", "Cf"}, {"Format", "Cf"},
    {"Cn", "Cn"}, {"Unassigned", "Cn"}, {"Co", "Co"}, {"Private_Use", "Co"}, {"Cs", "Cs"}, {"Surrogate", "Cs"},
    {"L", "L"},   {"Letter", "L"},  {"LC", "LC"}, {"Cased_Letter", "LC"}, {"Ll", "Ll"}, {"Lowercase_Letter", "Ll"},
    {"Lm", "Lm"}, {"Modifier_Letter", "Lm"}, {"Lo", "Lo"}, {"Other_Letter", "Lo"}, {"Lt", "Lt"},
    {"Titlecase_Letter", "Lt"}, {"Lu", "Lu"}, {"Uppercase_Letter", "Lu"}, {"M", "M"}, {"Mark", "M"},
    {"Combining_Mark", "M"}, {"Mc", "Mc"}, {"Spacing_Mark", "Mc"}, {"Me", "Me"}, {"Enclosing_Mark", "Me"},
    {"Mn", "Mn"}, {"Nonspacing_Mark", "Mn"}, {"N", "N"}, {"Number", "N"}, {"Nd", "Nd"}, {"Decimal_Number", "Nd"},
    {"digit", "Nd"}, {"Nl", "Nl"}, {"Letter_Number", "Nl"}, {"No", "No"}, {"Other_Number", "No"}, {"P", "P"},
    {"Punctuation", "P"}, {"punct", "P"}, {"Pc", "Pc"}, {"Connector_Punctuation", "Pc"}, {"Pd", "Pd"},
    {"Dash_Punctuation", "Pd"}, {"Pe", "Pe"}, {"Close_Punctuation", "Pe"}, {"Pf", "Pf"}, {"Final_Punctuation", "Pf"},
    {"Pi", "Pi"}, {"Initial_Punctuation", "Pi"}, {"Po", "Po"}, {"Other_Punctuation", "Po"}, {"Ps", "Ps"},
    {"Open_Punctuation", "Ps"}, {"S", "S"}, {"Symbol", "S"}, {"Sc", "Sc"}, {"Currency_Symbol", "Sc"}, {"Sk", "Sk"},
    {"Modifier_Symbol", "Sk"}, {"Sm", "Sm"}, {"Math_Symbol", "Sm"}, {"So", "So"}, {"Other_Symbol", "So"},
    {"Z", "Z"},   {"Separator", "Z"}, {"Zl", "Zl"}, {"Line_Separator", "Zl"}, {"Zp", "Zp"},
    {"Paragraph_Separator", "Zp"}, {"Zs", "Zs"}, {"Space_Separator", "Zs"},
};

// ECMA-262's binary Unicode properties: name and alias.
const std::pair<std::string_view, std::string_view> kBinary[] = {
    {"ASCII", "ASCII"}, {"ASCII_Hex_Digit", "AHex"}, {"Alphabetic", "Alpha"}, {"Any", "Any"}, {"Assigned", "Assigned"},
    {"Bidi_Control", "Bidi_C"}, {"Bidi_Mirrored", "Bidi_M"}, {"Case_Ignorable", "CI"}, {"Cased", "Cased"},
    {"Changes_When_Casefolded", "CWCF"}, {"Changes_When_Casemapped", "CWCM"}, {"Changes_When_Lowercased", "CWL"},
    {"Changes_When_NFKC_Casefolded", "CWKCF"}, {"Changes_When_Titlecased", "CWT"},
    {"Changes_When_Uppercased", "CWU"}, {"Dash", "Dash"}, {"Default_Ignorable_Code_Point", "DI"},
    {"Deprecated", "Dep"}, {"Diacritic", "Dia"}, {"Emoji", "Emoji"}, {"Emoji_Component", "EComp"},
    {"Emoji_Modifier", "EMod"}, {"Emoji_Modifier_Base", "EBase"}, {"Emoji_Presentation", "EPres"},
    {"Extended_Pictographic", "ExtPict"}, {"Extender", "Ext"}, {"Grapheme_Base", "Gr_Base"},
    {"Grapheme_Extend", "Gr_Ext"}, {"Hex_Digit", "Hex"}, {"IDS_Binary_Operator", "IDSB"},
    {"IDS_Trinary_Operator", "IDST"}, {"ID_Continue", "IDC"}, {"ID_Start", "IDS"}, {"Ideographic", "Ideo"},
    {"Join_Control", "Join_C"}, {"Logical_Order_Exception", "LOE"}, {"Lowercase", "Lower"}, {"Math", "Math"},
    {"Noncharacter_Code_Point", "NChar"}, {"Pattern_Syntax", "Pat_Syn"}, {"Pattern_White_Space", "Pat_WS"},
    {"Quotation_Mark", "QMark"}, {"Radical", "Radical"}, {"Regional_Indicator", "RI"}, {"Sentence_Terminal", "STerm"},
    {"Soft_Dotted", "SD"}, {"Terminal_Punctuation", "Term"}, {"Unified_Ideograph", "UIdeo"}, {"Uppercase", "Upper"},
    {"Variation_Selector", "VS"}, {"White_Space", "space"}, {"XID_Continue", "XIDC"}, {"XID_Start", "XIDS"},
};

std::optional<std::string_view> category_of(std::string_view value) {
  for (auto [alias, name] : kCategories)
    if (value == alias) return name;
  return std::nullopt;
}

Property category(std::string_view name) {
  Property p;
  p.pcre2 = name;
  if (name == "C") p.re2 = {"L", "M", "N", "P", "S", "Z"}, p.re2_negated = true;  // RE2's C lacks Cn
  else if (name == "Cn") p.re2 = {"L", "M", "N", "P", "S", "Z", "C"}, p.re2_negated = true;
  else if (name == "LC") p.re2 = {"Lu", "Ll", "Lt"};
  else p.re2 = {std::string(name)};
  return p;
}

// The binary properties invar writes out as ranges (their code points are
// fixed by Unicode's stability policy or small); the others need PCRE2.
std::optional<Ranges> binary_ranges(std::string_view name) {
  if (name == "Any") return Ranges{{0, kMaxCode}};
  if (name == "ASCII") return Ranges{{0, 0x7F}};
  if (name == "ASCII_Hex_Digit") return Ranges{{'0', '9'}, {'A', 'F'}, {'a', 'f'}};
  if (name == "White_Space")
    return Ranges{{0x09, 0x0D},     {0x20, 0x20},     {0x85, 0x85},     {0xA0, 0xA0},     {0x1680, 0x1680},
                  {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}};
  if (name == "Pattern_White_Space")
    return Ranges{{0x09, 0x0D}, {0x20, 0x20}, {0x85, 0x85}, {0x200E, 0x200F}, {0x2028, 0x2029}};
  if (name == "Join_Control") return Ranges{{0x200C, 0x200D}};
  if (name == "Bidi_Control") return Ranges{{0x061C, 0x061C}, {0x200E, 0x200F}, {0x202A, 0x202E}, {0x2066, 0x2069}};
  if (name == "Regional_Indicator") return Ranges{{0x1F1E6, 0x1F1FF}};
  if (name == "Noncharacter_Code_Point") {
    Ranges r{{0xFDD0, 0xFDEF}};
    for (char32_t plane = 0; plane <= 0x10; ++plane) r.push_back({plane << 16 | 0xFFFE, plane << 16 | 0xFFFF});
    return r;
  }
  return std::nullopt;
}

std::optional<Property> binary(std::string_view written) {
  for (auto [name, alias] : kBinary) {
    if (written != name && written != alias) continue;
    Property p;
    if (auto r = binary_ranges(name)) {
      p.is_ranges = true;
      p.ranges = std::move(*r);
    } else if (name == "Assigned") {
      p.re2 = {"L", "M", "N", "P", "S", "Z", "C"};
      p.pcre2 = "Cn";
      p.pcre2_negated = true;
    } else {
      p.pcre2 = name;
    }
    return p;
  }
  return std::nullopt;
}

// Whether RE2 has the script `name` (it knows long names only: Greek, not Grek).
bool re2_knows_script(const std::string& name) {
  if (name == "Any" || category_of(name)) return false;  // RE2's own non-script names
  RE2::Options options;
  options.set_log_errors(false);
  return RE2("\\p{" + name + "}", options).ok();
}

bool property_chars(std::string_view s, bool digits) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (digits && c >= '0' && c <= '9');
  });
}

// The property `name=value` (or a lone name: value empty) names; nullopt
// when ECMA-262 knows none by that name.
std::optional<Property> property_named(std::string_view name, std::string_view value, bool lone) {
  if (lone) {
    if (auto gc = category_of(name)) return category(*gc);
    return binary(name);
  }
  if (name == "General_Category" || name == "gc") {
    if (auto gc = category_of(value)) return category(*gc);
    return std::nullopt;
  }
  bool script = name == "Script" || name == "sc";
  if (!script && name != "Script_Extensions" && name != "scx") return std::nullopt;
  Property p;
  p.pcre2 = std::string(script ? "sc:" : "scx:") + std::string(value);
  if (script && re2_knows_script(std::string(value))) p.re2 = {std::string(value)};
  return p;
}

bool hex_digit(char c, unsigned& v) {
  if (c >= '0' && c <= '9') v = static_cast<unsigned>(c - '0');
  else if (c >= 'a' && c <= 'f') v = static_cast<unsigned>(c - 'a' + 10);
  else if (c >= 'A' && c <= 'F') v = static_cast<unsigned>(c - 'A' + 10);
  else return false;
  return true;
}

bool ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool syntax_char(char c) { return std::string_view("^$\\.*+?()[]{}|/").find(c) != npos; }


// Identifier characters of a group name (ID_Start, ID_Continue), from the
// general categories they are made of, with the Other_ID_Start and
// Other_ID_Continue code points and without the Pattern_Syntax letter U+2E2F.
bool identifier_char(char32_t c, bool first) {
  if (c < 0x80) {
    char a = static_cast<char>(c);
    return ascii_letter(a) || a == '$' || a == '_' || (!first && a >= '0' && a <= '9');
  }
  if (!first && (c == 0x200C || c == 0x200D)) return true;
  if (c == 0x2E2F || (c >= 0xD800 && c <= 0xDFFF)) return false;
  static const RE2 kStart("[\\p{L}\\p{Nl}\\x{1885}\\x{1886}\\x{2118}\\x{212e}\\x{309b}\\x{309c}]");
  static const RE2 kContinue("[\\p{Mn}\\p{Mc}\\p{Nd}\\p{Pc}\\x{b7}\\x{387}\\x{1369}-\\x{1371}\\x{19da}]");
  std::string s;
  text::append_utf8(s, c);
  return RE2::FullMatch(s, kStart) || (!first && RE2::FullMatch(s, kContinue));
}

}  // namespace

// The parser: ECMA-262's Pattern grammar with the u flag, in one pass that
// writes both spellings. Stops at the first syntax error.
class Translator {
 public:
  explicit Translator(std::string_view p) : p_(p), n_(p.size()) {}

  Translation run() {
    count_groups();
    bool parsed = disjunction(0);
    if (parsed && i_ < n_) parsed = error("unmatched ')'", i_);  // the only thing a disjunction stops at
    Translation t;
    if (!parsed) {
      t.status = failure_;
      t.message = std::move(message_);
      t.offset = offset_;
      return t;
    }
    if (!unsupported_.empty()) {
      t.status = Status::unsupported;
      t.message = std::move(unsupported_);
      t.offset = unsupported_at_;
    } else if (!too_large_.empty()) {
      t.status = Status::too_large;
      t.message = std::move(too_large_);
      t.offset = too_large_at_;
    }
    // RE2 searches from every byte, and its \B holds between the bytes of
    // one character: a search from character to character keeps it off them.
    if (t.status == Status::ok) t.re2 = not_boundary_ ? "^(?s:.)*?(?:" + re2_ + ")" : std::move(re2_);
    if (t.status != Status::too_large) t.pcre2 = std::move(pcre2_);
    return t;
  }

 private:
  // A class in the making: code points, and properties RE2 or PCRE2 name.
  struct ClassSet {
    Ranges ranges;
    std::vector<Property> properties;
    void add(Property p) {
      if (p.is_ranges) ranges.insert(ranges.end(), p.ranges.begin(), p.ranges.end());
      else properties.push_back(std::move(p));
    }
  };
  // One member of a class: a code point, or a set (\d, \p{L}...).
  struct ClassAtom {
    bool is_set = false;
    char32_t code = 0;
    ClassSet set;
  };

  bool error(std::string what, size_t at) {
    failure_ = Status::syntax_error;
    message_ = std::move(what);
    offset_ = at;
    return false;
  }
  void unsupported(std::string what, size_t at) {
    if (unsupported_.empty()) unsupported_ = std::move(what), unsupported_at_ = at;
  }
  void both(std::string_view s) {
    re2_ += s;
    pcre2_ += s;
  }
  bool at(char c) const { return i_ < n_ && p_[i_] == c; }
  bool starts(std::string_view s) const { return p_.substr(i_, s.size()) == s; }

  // The code point at p_[i], advancing i; false on malformed UTF-8.
  bool decode(size_t& i, char32_t& c) const {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(p_[k]); };
    unsigned char b = byte(i);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n_) return false;
    c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < len; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return false;
      c = c << 6 | (byte(i + k) & 0x3F);
    }
    static const char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < kMin[len] || c > kMaxCode || (c >= 0xD800 && c <= 0xDFFF)) return false;
    i += len;
    return true;
  }

  // Capturing groups and their names, which backreferences may name before
  // the group (ECMA counts every left parenthesis of the whole pattern).
  void count_groups() {
    bool in_class = false;
    for (size_t i = 0; i < n_; ++i) {
      char c = p_[i];
      if (c == '\\') {
        ++i;
      } else if (in_class) {
        in_class = c != ']';
      } else if (c == '[') {
        in_class = true;
      } else if (c == '(' && p_.substr(i, 2) != "(?") {
        names_.emplace_back();
      } else if (c == '(' && p_.substr(i, 3) == "(?<" && i + 3 < n_ && p_[i + 3] != '=' && p_[i + 3] != '!') {
        size_t k = i + 2;
        std::string name;
        names_.push_back(group_name(k, name) ? name : std::string());
      }
    }
  }

  // <name> at p_[k] == '<', advancing k past '>'; false when malformed.
  bool group_name(size_t& k, std::string& name) const {
    ++k;
    for (bool first = true;; first = false) {
      if (k >= n_) return false;
      if (p_[k] == '>') return !first && (++k, true);
      char32_t c;
      if (p_[k] == '\\') {
        size_t at = k + 1;
        if (at >= n_ || p_[at] != 'u' || !unicode_escape(++at, c)) return false;
        k = at;
      } else if (!decode(k, c)) {
        return false;
      }
      if (!identifier_char(c, first)) return false;
      text::append_utf8(name, c);
    }
  }

  // The value of u{...}, uXXXX or a uXXXX\uXXXX surrogate pair, p_[k] just
  // past the 'u'; advances k. A lone surrogate is a code point of its own.
  bool unicode_escape(size_t& k, char32_t& c) const {
    unsigned v;
    if (k < n_ && p_[k] == '{') {
      size_t j = k + 1;
      c = 0;
      for (; j < n_ && hex_digit(p_[j], v); ++j)
        if ((c = c * 16 + v) > kMaxCode) return false;
      if (j == k + 1 || j >= n_ || p_[j] != '}') return false;
      k = j + 1;
      return true;
    }
    auto four = [&](size_t j, char32_t& out) {
      out = 0;
      if (j + 4 > n_) return false;
      for (size_t d = 0; d < 4; ++d) {
        if (!hex_digit(p_[j + d], v)) return false;
        out = out * 16 + v;
      }
      return true;
    };
    if (!four(k, c)) return false;
    k += 4;
    char32_t low;
    if (c >= 0xD800 && c <= 0xDBFF && p_.substr(k, 2) == "\\u" && four(k + 2, low) && low >= 0xDC00 && low <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
      k += 6;
    }
    return true;
  }

  bool disjunction(int depth) {
    if (depth > kMaxNesting) {
      failure_ = Status::too_large;
      message_ = "groups nested deeper than " + std::to_string(kMaxNesting);
      offset_ = i_;
      return false;
    }
    if (!alternative(depth)) return false;
    while (at('|')) {
      ++i_;
      both("|");
      if (!alternative(depth)) return false;
    }
    return true;
  }

  bool alternative(int depth) {
    while (i_ < n_ && p_[i_] != '|' && p_[i_] != ')') {
      if (!term(depth)) return false;
      if (re2_.size() > kMaxTranslatedBytes || pcre2_.size() > kMaxTranslatedBytes) {
        failure_ = Status::too_large;
        message_ = "its translation is over " + std::to_string(kMaxTranslatedBytes >> 20) + " MiB";
        offset_ = i_;
        return false;
      }
    }
    return true;
  }

  bool term(int depth) {
    size_t start = i_;
    if (at('^') || at('$')) {
      both(p_.substr(i_++, 1));
      return not_quantified();
    }
    if (starts("\\b") || starts("\\B")) {
      not_boundary_ |= p_[i_ + 1] == 'B';
      both(p_.substr(i_, 2));
      i_ += 2;
      return not_quantified();
    }
    for (std::string_view look : {"(?=", "(?!", "(?<=", "(?<!"}) {
      if (!starts(look)) continue;
      unsupported(std::string(look.size() == 3 ? "lookahead " : "lookbehind ") + std::string(look) + "...)", start);
      i_ += look.size();
      pcre2_ += look;
      if (!disjunction(depth + 1)) return false;
      if (!at(')')) return error("unterminated group", start);
      ++i_;
      both(")");
      return not_quantified();  // with the u flag, a lookahead is not quantifiable either
    }
    return atom(depth) && quantifier();
  }

  bool not_quantified() {
    if (at('*') || at('+') || at('?') || at('{')) return error("nothing to repeat", i_);
    return true;
  }

  // Decimal digits at p_[k], saturating; false when there are none.
  bool number(size_t& k, uint64_t& out) const {
    size_t start = k;
    out = 0;
    for (; k < n_ && p_[k] >= '0' && p_[k] <= '9'; ++k)
      out = std::min<uint64_t>(out * 10 + static_cast<uint64_t>(p_[k] - '0'), 1'000'000'000'000);
    return k > start;
  }

  // {n}, {n,} or {n,m} at p_[k] == '{'; advances k past '}'.
  bool braces(size_t& k, uint64_t& min, uint64_t& max, bool& bounded) const {
    ++k;
    if (!number(k, min)) return false;
    max = min;
    bounded = true;
    if (k < n_ && p_[k] == ',') {
      ++k;
      bounded = number(k, max);
    }
    if (k >= n_ || p_[k] != '}') return false;
    ++k;
    return true;
  }

  bool quantifier() {
    if (i_ >= n_) return true;
    size_t start = i_;
    char c = p_[i_];
    if (c == '*' || c == '+' || c == '?') {
      both(p_.substr(i_++, 1));
    } else if (c == '{') {
      uint64_t min, max;
      bool bounded;
      if (!braces(i_, min, max, bounded)) return error("incomplete quantifier", start);
      if (bounded && max < min) return error("numbers out of order in {} quantifier", start);
      if ((min > kMaxRe2Repeat || (bounded && max > kMaxRe2Repeat)) && too_large_.empty()) {
        too_large_ = "the repetition count in " + std::string(p_.substr(start, i_ - start)) + " is over RE2's maximum of " +
                     std::to_string(kMaxRe2Repeat);
        too_large_at_ = start;
      }
      both(p_.substr(start, i_ - start));
    } else {
      return true;
    }
    if (at('?')) {  // lazy: the same answer to "is there a match" (RE2 reads it greedy)
      ++i_;
      pcre2_ += '?';
    }
    return not_quantified();
  }

  bool atom(int depth) {
    size_t start = i_;
    char c = p_[i_];
    if (c == '.') {
      ++i_;
      ClassSet dot;
      dot.ranges = kLineTerminator;
      return emit_class(dot, true, start);
    }
    if (c == '(') return group(depth);
    if (c == '[') return char_class();
    if (c == '\\') return atom_escape();
    if (c == '*' || c == '+' || c == '?') return error("nothing to repeat", start);
    if (c == '{' || c == '}' || c == ']') return error("lone quantifier brackets", start);
    char32_t code;
    if (!decode(i_, code)) return error("not valid UTF-8", start);
    literal(re2_, code);
    literal(pcre2_, code);
    return true;
  }

  bool group(int depth) {
    size_t start = i_;
    if (starts("(?:")) {
      i_ += 3;
      both("(?:");
    } else if (starts("(?<")) {
      size_t k = i_ + 2;
      std::string name;
      if (!group_name(k, name)) return error("invalid capture group name", start);
      ++groups_seen_;
      if (std::find(names_.begin(), names_.end(), name) - names_.begin() + 1 != static_cast<ptrdiff_t>(groups_seen_))
        return error("duplicate capture group name", start);
      i_ = k;
      re2_ += "(?:";
      pcre2_ += '(';  // captures keep ECMA's numbers for \N and \k<name>
    } else if (starts("(?")) {
      return error("invalid group", start);
    } else {
      ++i_;
      ++groups_seen_;
      re2_ += "(?:";
      pcre2_ += '(';
    }
    if (!disjunction(depth + 1)) return false;
    if (!at(')')) return error("unterminated group", start);
    ++i_;
    both(")");
    return true;
  }

  bool char_class() {
    size_t start = i_++;
    bool negated = at('^');
    if (negated) ++i_;
    ClassSet set;
    while (!at(']')) {
      if (i_ >= n_) return error("unterminated character class", start);
      ClassAtom a;
      if (!class_atom(a)) return false;
      if (!at('-') || i_ + 1 >= n_ || p_[i_ + 1] == ']') {
        if (!a.is_set) {
          set.ranges.push_back({a.code, a.code});
          continue;
        }
        set.ranges.insert(set.ranges.end(), a.set.ranges.begin(), a.set.ranges.end());
        set.properties.insert(set.properties.end(), a.set.properties.begin(), a.set.properties.end());
        continue;
      }
      size_t dash = i_++;
      ClassAtom b;
      if (!class_atom(b)) return false;
      if (a.is_set || b.is_set)
        return error("invalid character class (a range between a class escape and a character)", dash);
      if (b.code < a.code) return error("range out of order in character class", dash);
      set.ranges.push_back({a.code, b.code});
    }
    ++i_;
    return emit_class(set, negated, start);
  }

  bool class_atom(ClassAtom& a) {
    size_t start = i_;
    if (!at('\\')) {
      if (!decode(i_, a.code)) return error("not valid UTF-8", start);
      return true;
    }
    if (++i_ >= n_) return error("\\ at end of pattern", start);
    char c = p_[i_];
    if (c == 'b') return ++i_, a.code = 0x08, true;
    if (c == '-') return ++i_, a.code = '-', true;
    if (std::string_view("dDsSwWpP").find(c) != npos) return a.is_set = true, class_escape(a.set, start);
    if (c == '0' && !(i_ + 1 < n_ && p_[i_ + 1] >= '0' && p_[i_ + 1] <= '9')) return ++i_, a.code = 0, true;
    if (c >= '0' && c <= '9') return error("invalid class escape", start);
    return character_escape(a.code, start);
  }

  // \d \D \s \S \w \W \p{..} \P{..}, p_[i_] at the letter.
  bool class_escape(ClassSet& set, size_t start) {
    char c = p_[i_];
    if (c == 'p' || c == 'P') {
      Property p;
      if (!property(p, start)) return false;
      set.add(std::move(p));
      return true;
    }
    ++i_;
    const Ranges& base = c == 'd' || c == 'D' ? kDigit : c == 's' || c == 'S' ? kSpace : kWord;
    bool upper = c >= 'A' && c <= 'Z';
    set.ranges = upper ? complement(base) : base;
    return true;
  }

  bool property(Property& out, size_t start) {
    bool negated = p_[i_] == 'P';
    ++i_;
    size_t close = at('{') ? p_.find('}', i_) : npos;
    if (close == npos) return error("invalid property name", start);
    std::string_view body = p_.substr(i_ + 1, close - i_ - 1);
    i_ = close + 1;
    size_t eq = body.find('=');
    std::string_view name = body.substr(0, eq), value = eq == npos ? body : body.substr(eq + 1);
    bool lone = eq == npos;
    if (!property_chars(lone ? value : name, lone) || (!lone && !property_chars(value, true)))
      return error("invalid property name", start);
    auto p = property_named(name, value, lone);
    if (!p) return error("invalid property name", start);
    if (!p->is_ranges && p->re2.empty())
      unsupported("the Unicode property " + std::string(p_.substr(start, i_ - start)) + ", which RE2 has no table for" +
                      (p->pcre2.rfind("sc:", 0) == 0 ? " (RE2 knows scripts by their long names, such as Greek)" : ""),
                  start);
    if (negated) p->negate();
    out = std::move(*p);
    return true;
  }

  // \f \n \r \t \v \cX \xHH \u... and escaped syntax characters (and '/'),
  // p_[i_] at the character after the backslash.
  bool character_escape(char32_t& code, size_t start) {
    char c = p_[i_];
    static const std::string_view kControl = "fnrtv";
    static const char32_t kControlCodes[] = {0x0C, 0x0A, 0x0D, 0x09, 0x0B};
    if (auto k = kControl.find(c); k != npos) return ++i_, code = kControlCodes[k], true;
    if (c == 'c') {
      if (i_ + 1 >= n_ || !ascii_letter(p_[i_ + 1])) return error("invalid unicode escape (\\c needs a letter)", start);
      code = static_cast<char32_t>(p_[i_ + 1] % 32);
      i_ += 2;
      return true;
    }
    if (c == 'x') {
      unsigned hi, lo;
      if (i_ + 2 >= n_ || !hex_digit(p_[i_ + 1], hi) || !hex_digit(p_[i_ + 2], lo))
        return error("invalid escape \\x (two hex digits must follow)", start);
      code = hi * 16 + lo;
      i_ += 3;
      return true;
    }
    if (c == 'u') {
      size_t k = i_ + 1;
      if (!unicode_escape(k, code)) return error("invalid Unicode escape", start);
      i_ = k;
      return true;
    }
    if (syntax_char(c)) return ++i_, code = static_cast<unsigned char>(c), true;
    size_t end = i_;
    char32_t ignored;
    if (!decode(end, ignored)) end = i_ + 1;
    return error("invalid escape \\" + std::string(p_.substr(i_, end - i_)) +
                     " (with the u flag only ^ $ \\ . * + ? ( ) [ ] { } | / are escaped, and - in a class)",
                 start);
  }

  // After '\' outside a class (\b and \B are terms).
  bool atom_escape() {
    size_t start = i_++;
    if (i_ >= n_) return error("\\ at end of pattern", start);
    char c = p_[i_];
    if (c >= '1' && c <= '9') {
      uint64_t group;
      number(i_, group);
      if (group > names_.size())
        return error("invalid escape (a backreference to a group the pattern does not have)", start);
      return backreference(group, start);
    }
    if (c == 'k') {
      size_t k = i_ + 1;
      std::string name;
      if (k >= n_ || p_[k] != '<' || !group_name(k, name)) return error("invalid named reference", start);
      auto it = std::find(names_.begin(), names_.end(), name);
      if (name.empty() || it == names_.end()) return error("invalid named capture referenced", start);
      i_ = k;
      return backreference(static_cast<uint64_t>(it - names_.begin()) + 1, start);
    }
    if (c == '0') {
      if (i_ + 1 < n_ && p_[i_ + 1] >= '0' && p_[i_ + 1] <= '9') return error("invalid decimal escape", start);
      ++i_;
      literal(re2_, 0);
      literal(pcre2_, 0);
      return true;
    }
    if (std::string_view("dDsSwWpP").find(c) != npos) {
      ClassSet set;
      return class_escape(set, start) && emit_class(set, false, start);
    }
    char32_t code;
    if (!character_escape(code, start)) return false;
    if (code >= 0xD800 && code <= 0xDFFF) {  // a lone surrogate: in no UTF-8 text
      both(kNothing);
      return true;
    }
    literal(re2_, code);
    literal(pcre2_, code);
    return true;
  }

  bool backreference(uint64_t group, size_t start) {
    unsupported("the backreference " + std::string(p_.substr(start, i_ - start)), start);
    pcre2_ += "\\g{" + std::to_string(group) + "}";
    re2_ += "(?:)";
    return true;
  }

  // Writes a class (negated: its complement) for both engines.
  bool emit_class(ClassSet& set, bool negated, size_t start) {
    Ranges ranges = set.ranges;
    normalize(ranges);
    ranges = without_surrogates(ranges);
    std::string pcre2;
    class_ranges(pcre2, ranges);
    for (const auto& p : set.properties)
      if (!p.pcre2.empty()) pcre2 += std::string(p.pcre2_negated ? "\\P{" : "\\p{") + p.pcre2 + "}";
    pcre2_ += pcre2.empty() ? (negated ? kAnything : kNothing) : "[" + std::string(negated ? "^" : "") + pcre2 + "]";
    return emit_re2_class(ranges, set.properties, negated, start);
  }

  bool emit_re2_class(const Ranges& ranges, const std::vector<Property>& properties, bool negated, size_t start) {
    std::string simple;  // what one RE2 class holds
    class_ranges(simple, ranges);
    std::vector<const Property*> compound;
    for (const auto& p : properties) {
      if (p.re2.empty()) continue;  // unsupported, noted already
      if (p.re2_compound()) {
        compound.push_back(&p);
        continue;
      }
      for (const auto& name : p.re2) simple += std::string(p.re2_negated ? "\\P{" : "\\p{") + name + "}";
    }
    auto names = [](const Property& p) {
      std::string out;
      for (const auto& name : p.re2) out += "\\p{" + name + "}";
      return out;
    };
    if (compound.empty()) {
      re2_ += simple.empty() ? (negated ? kAnything : kNothing) : "[" + std::string(negated ? "^" : "") + simple + "]";
    } else if (!negated) {  // the union of the class and each complement
      re2_ += "(?:";
      if (!simple.empty()) re2_ += "[" + simple + "]|";
      for (size_t k = 0; k < compound.size(); ++k) re2_ += (k ? "|[^" : "[^") + names(*compound[k]) + "]";
      re2_ += ")";
    } else if (simple.empty() && compound.size() == 1) {  // the complement of a complement
      re2_ += "[" + names(*compound[0]) + "]";
    } else {  // an intersection: RE2 has no class subtraction
      unsupported("a negated class holding \\p{C}, \\p{Cn} or \\P{Assigned} with other members, which RE2 cannot write",
                  start);
    }
    return true;
  }

  std::string_view p_;
  size_t i_ = 0, n_;
  std::string re2_, pcre2_;
  std::vector<std::string> names_;  // per capturing group, in order: its name or ""
  size_t groups_seen_ = 0;
  bool not_boundary_ = false;  // \B is used
  Status failure_ = Status::syntax_error;
  std::string message_;
  size_t offset_ = 0;
  std::string unsupported_, too_large_;
  size_t unsupported_at_ = 0, too_large_at_ = 0;
};

Translation translate(std::string_view pattern) { return Translator(pattern).run(); }

bool is_valid(std::string_view pattern) { return translate(pattern).status != Translation::Status::syntax_error; }

}  // namespace invar::regex::ecma
