// ECMA-262 regular expressions as JSON Schema means them: "pattern" and
// "patternProperties" are ECMA-262 with the "u" flag (code points, strict
// escapes), which is what ajv compiles. The pattern is parsed by ECMA's
// grammar and written again in RE2 syntax with ECMA's meaning (`.` stops at
// \r, U+2028 and U+2029; \s is ECMA's WhiteSpace and LineTerminator set;
// `[^]`, `[]`, \cX, \u{...}, named groups...). What ECMA allows and no
// linear-time engine runs (lookaround, backreferences), and the Unicode
// properties RE2 has no table for, are "unsupported": they are written for
// PCRE2 too, which runs them only when the caller opts in (regex.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace invar::regex::ecma {

// Groups nested deeper are refused (the parser recurses; RE2 and PCRE2 have
// nesting limits of their own).
inline constexpr int kMaxNesting = 200;
// RE2's largest repetition count; ECMA has none.
inline constexpr uint64_t kMaxRe2Repeat = 1000;
// The longest translation: `\S` or `.` are written as classes (up to about
// 150 bytes each), so a pattern's translation may be much longer than the
// pattern; past this it is refused (RE2's default 8 MiB budget could not
// hold its program anyway).
inline constexpr size_t kMaxTranslatedBytes = 8 << 20;

struct Translation {
  enum class Status {
    ok,            // `re2` runs it with ECMA's meaning
    syntax_error,  // not ECMA-262 (with the u flag): `message`, at `offset`
    unsupported,   // valid ECMA-262 that RE2 cannot run: `message` names the construct, at `offset`; `pcre2` can
    too_large,     // valid ECMA-262 past RE2's count limit, kMaxNesting or kMaxTranslatedBytes: `message`, at `offset`
  };
  Status status = Status::ok;
  std::string message;
  size_t offset = 0;  // in bytes, into the pattern
  std::string re2;    // when ok
  // When ok or unsupported: for PCRE2_UTF | PCRE2_DOLLAR_ENDONLY |
  // PCRE2_MATCH_UNSET_BACKREF, without UCP (\d, \w, \b stay ASCII).
  std::string pcre2;
};

// Parses `pattern` (UTF-8) as an ECMA-262 Pattern with the u flag. Syntax
// errors come first: a pattern both invalid and unsupported is invalid.
Translation translate(std::string_view pattern);

// Whether ECMA-262 (with the u flag) accepts `pattern`, lookaround and
// backreferences included (the "regex" format).
bool is_valid(std::string_view pattern);

}  // namespace invar::regex::ecma
