#include "regex/regex.hpp"

#include <cstdio>

namespace invar::regex {

std::unique_ptr<RE2> compile_re2(std::string_view pattern, int64_t max_mem, std::string& error) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(max_mem);
  options.set_never_capture(true);
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (re->ok()) return re;
  error = re->error();
  if (re->error_code() == RE2::ErrorPatternTooLarge)
    error = "pattern too large for regex_max_mem " + std::to_string(max_mem) + " bytes";
  return nullptr;
}

CompileOutcome compile(std::string_view pattern, Anchoring anchoring, int64_t max_mem) {
  CompileOutcome out;
  auto compiled = std::make_unique<Pattern>();
  compiled->anchoring_ = anchoring;
  compiled->sequence_ = Sequence::parse(pattern);
  if (compiled->sequence_ && anchoring == Anchoring::anywhere && !compiled->sequence_->can_match_anywhere())
    compiled->sequence_.reset();
  if (!compiled->sequence_) compiled->alternation_ = Alternation::parse(pattern);
  if (!compiled->sequence_ && !compiled->alternation_ && !(compiled->re_ = compile_re2(pattern, max_mem, out.error)))
    return out;
  out.pattern = std::move(compiled);
  return out;
}

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_u_escape(std::string_view p, size_t i, unsigned& code) {
  if (i + 6 > p.size() || p[i] != '\\' || p[i + 1] != 'u') return false;
  code = 0;
  for (size_t k = 2; k < 6; ++k) {
    int h = hex(p[i + k]);
    if (h < 0) return false;
    code = code * 16 + static_cast<unsigned>(h);
  }
  return true;
}

// ECMA's long Unicode property names, as RE2's short ones (General_Category).
const std::pair<std::string_view, std::string_view> kPropertyNames[] = {
    {"Letter", "L"},           {"Lowercase_Letter", "Ll"}, {"Uppercase_Letter", "Lu"}, {"Titlecase_Letter", "Lt"},
    {"Modifier_Letter", "Lm"}, {"Other_Letter", "Lo"},     {"Mark", "M"},              {"Number", "N"},
    {"Decimal_Number", "Nd"},  {"digit", "Nd"},            {"Letter_Number", "Nl"},    {"Other_Number", "No"},
    {"Punctuation", "P"},      {"punct", "P"},             {"Symbol", "S"},            {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"}, {"Separator", "Z"},         {"Space_Separator", "Zs"},  {"Other", "C"},
    {"Control", "Cc"},         {"Format", "Cf"},
};

}  // namespace

CompileOutcome compile_ecma(std::string_view pattern, int64_t max_mem) {
  std::string translated;
  translated.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    unsigned code;
    if (pattern[i] == '\\' && i + 2 < pattern.size() && (pattern[i + 1] == 'p' || pattern[i + 1] == 'P') &&
        pattern[i + 2] == '{') {
      size_t close = pattern.find('}', i);
      if (close != std::string_view::npos) {
        std::string_view name = pattern.substr(i + 3, close - i - 3);
        if (name.substr(0, 17) == "General_Category=") name.remove_prefix(17);
        else if (name.substr(0, 3) == "gc=") name.remove_prefix(3);
        for (auto [ecma, re2_name] : kPropertyNames)
          if (name == ecma) name = re2_name;
        translated += pattern.substr(i, 2);
        translated += '{';
        translated += name;
        translated += '}';
        i = close;
        continue;
      }
    }
    if (pattern[i] == '\\' && i + 1 < pattern.size() && pattern[i + 1] != 'u') {
      translated += pattern.substr(i, 2);
      ++i;
      continue;
    }
    if (read_u_escape(pattern, i, code)) {
      unsigned low;
      if (code >= 0xD800 && code <= 0xDBFF && read_u_escape(pattern, i + 6, low) && low >= 0xDC00 &&
          low <= 0xDFFF) {
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        i += 6;
      }
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\x{%x}", code);
      translated += buf;
      i += 5;
      continue;
    }
    translated += pattern[i];
  }
  return compile(translated, Anchoring::anywhere, max_mem);
}

std::string excerpt(std::string_view pattern, size_t max_chars) {
  if (pattern.size() <= max_chars) return std::string(pattern);
  return std::string(pattern.substr(0, max_chars)) + "...";
}

}  // namespace invar::regex
