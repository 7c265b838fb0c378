// Small parsers and formatters shared by every layer: JSON Pointer tokens,
// durations, byte sizes, percentages and RFC 3339 timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invar::text {

// Appends "/" + token with "~" -> "~0" and "/" -> "~1" (RFC 6901).
void append_pointer_token(std::string& pointer, std::string_view token);
void append_pointer_index(std::string& pointer, uint64_t index);

// "250ms", "30s", "10m", "2h", "7d" (also concatenated: "1h30m"). Negative or
// empty values and unknown units are refused.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);

// "16MiB", "512KiB", "1GiB", "100kB", "42B" or a bare number of bytes.
std::optional<uint64_t> parse_bytes(std::string_view s);

// A limit written as "20%" (a fraction) or as an absolute count "40".
struct Amount {
  double value = 0;     // the fraction for a percentage ("30%" -> 0.3)
  bool percent = false;
  double written = 0;   // the number as written ("30%" -> 30), for exact comparisons
};
std::optional<Amount> parse_amount(std::string_view s);

// RFC 3339 date-time ("2025-11-18T11:20:00Z", offsets, fractional seconds).
// Returns milliseconds since the Unix epoch. Validates field ranges
// (including leap years; a leap second "60" is accepted only at 23:59 UTC).
std::optional<int64_t> parse_rfc3339(std::string_view s);

// Orders two RFC 3339 date-times as instants at full precision (any number
// of fractional digits; offsets applied; a leap second after :59).
// nullopt when either is malformed.
std::optional<int> compare_rfc3339(std::string_view a, std::string_view b);

// Orders two JSON number texts by the decimals they write, exactly (any
// length, any exponent): -1, 0 or 1; nullopt when either is not a JSON number.
std::optional<int> compare_numbers(std::string_view a, std::string_view b);

// Formats milliseconds since the epoch as "YYYY-MM-DDTHH:MM:SS[.mmm]Z".
std::string format_rfc3339(int64_t epoch_ms);

// "2h03m", "45s", "1.5s" style rendering of a duration for messages.
std::string format_duration(int64_t ms);

// Quotes and escapes a string for messages: "a\"b". Past `max_chars`
// characters it is cut, and still closed: "abc...".
std::string quoted(std::string_view s, size_t max_chars = 80);

// `s` whole when it has at most `max_bytes` bytes (>= 3), else cut on a UTF-8
// character boundary and ended with "...", `max_bytes` bytes at most.
std::string clip_utf8(std::string_view s, size_t max_bytes);

// Appends code point `code` (at most 0x10FFFF, not a surrogate) as UTF-8.
void append_utf8(std::string& out, uint32_t code);

// The candidate closest to `word` by edit distance (Levenshtein), when it is
// close enough to be the word meant (at most a third of its length, and at
// least 1 edit); "" otherwise. For "did you mean" hints.
std::string closest(std::string_view word, const std::vector<std::string_view>& candidates);
// " (did you mean \"X\"?)" for closest(), or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

// `s` made safe to print on a terminal: control characters (C0, DEL, C1),
// U+2028/U+2029, backslashes and bytes that are not UTF-8 are written as
// escapes ("\n", "\x1b", "\u0085", "\u2028"), so user-supplied text cannot
// move the cursor, forge lines or recolour output. The one escaping of every
// human output (reports, gate, status, invar test, errors on stderr).
std::string printable(std::string_view s);

// a == b, inline: for the short keys and enum values compared per value,
// where a call to memcmp costs more than the comparison.
inline bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace invar::text
