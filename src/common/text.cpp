#include <algorithm>
#include "common/text.hpp"
#include "invar/invar.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace invar::text {

void append_pointer_token(std::string& pointer, std::string_view token) {
  pointer += '/';
  for (char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer += c;
    }
  }
}

void append_pointer_index(std::string& pointer, uint64_t index) {
  pointer += '/';
  pointer += std::to_string(index);
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Parses a non-negative decimal ("12", "1.5"), advancing `i`.
std::optional<double> parse_number(std::string_view s, size_t& i) {
  size_t start = i;
  double value = 0;
  while (i < s.size() && is_digit(s[i])) value = value * 10 + (s[i++] - '0');
  if (i < s.size() && s[i] == '.') {
    ++i;
    double scale = 0.1;
    size_t frac_start = i;
    while (i < s.size() && is_digit(s[i])) {
      value += (s[i++] - '0') * scale;
      scale /= 10;
    }
    if (i == frac_start) return std::nullopt;
  }
  if (i == start || value > 1e15) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  double total_ms = 0;
  while (i < s.size()) {
    auto n = parse_number(s, i);
    if (!n) return std::nullopt;
    size_t unit_start = i;
    while (i < s.size() && !is_digit(s[i]) && s[i] != '.') ++i;
    std::string_view unit = s.substr(unit_start, i - unit_start);
    double scale;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1e3;
    else if (unit == "m") scale = 60e3;
    else if (unit == "h") scale = 3600e3;
    else if (unit == "d") scale = 86400e3;
    else return std::nullopt;
    total_ms += *n * scale;
  }
  if (total_ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

std::optional<uint64_t> parse_bytes(std::string_view s) {
  size_t i = 0;
  auto n = parse_number(s, i);
  if (!n) return std::nullopt;
  std::string_view unit = s.substr(i);
  double scale;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "KiB") scale = 1024.0;
  else if (unit == "MiB") scale = 1024.0 * 1024;
  else if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
  else if (unit == "kB") scale = 1e3;
  else if (unit == "MB") scale = 1e6;
  else if (unit == "GB") scale = 1e9;
  else return std::nullopt;
  double bytes = *n * scale;
  if (bytes > 1e18) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::optional<Amount> parse_amount(std::string_view s) {
  size_t i = 0;
  auto n = parse_number(s, i);
  if (!n) return std::nullopt;
  if (i == s.size()) return Amount{*n, false, *n};
  if (i + 1 == s.size() && s[i] == '%') return Amount{*n / 100.0, true, *n};
  return std::nullopt;
}

namespace {

bool read_digits(std::string_view s, size_t pos, size_t count, int& out) {
  if (pos + count > s.size()) return false;
  out = 0;
  for (size_t k = 0; k < count; ++k) {
    if (!is_digit(s[pos + k])) return false;
    out = out * 10 + (s[pos + k] - '0');
  }
  return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

namespace {

// An RFC 3339 instant: whole seconds since the epoch (UTC), whether it is a
// leap second (23:59:60, after :59), and the fraction's digits.
struct Instant {
  int64_t seconds = 0;
  bool leap = false;
  std::string_view fraction;
};

std::optional<Instant> parse_instant(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (s.size() < 20) return std::nullopt;
  if (!read_digits(s, 0, 4, year) || s[4] != '-' || !read_digits(s, 5, 2, month) || s[7] != '-' ||
      !read_digits(s, 8, 2, day))
    return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  if (!read_digits(s, 11, 2, hour) || s[13] != ':' || !read_digits(s, 14, 2, minute) ||
      s[16] != ':' || !read_digits(s, 17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  size_t i = 19;
  Instant out;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return std::nullopt;
    out.fraction = s.substr(start, i - start);
  }
  if (i >= s.size()) return std::nullopt;
  int offset_minutes = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    if (!read_digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !read_digits(s, i + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  if (second == 60) {
    // A leap second is only valid at 23:59:60 UTC.
    int utc_minutes = ((hour * 60 + minute - offset_minutes) % 1440 + 1440) % 1440;
    if (utc_minutes != 23 * 60 + 59) return std::nullopt;
    second = 59;
    out.leap = true;
  }
  int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  out.seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return out;
}

std::string_view trim_zeros(std::string_view digits) {
  while (!digits.empty() && digits.back() == '0') digits.remove_suffix(1);
  return digits;
}

}  // namespace

std::optional<int64_t> parse_rfc3339(std::string_view s) {
  auto t = parse_instant(s);
  if (!t) return std::nullopt;
  int64_t millis = 0, scale = 100;
  for (size_t k = 0; k < t->fraction.size() && k < 3; ++k, scale /= 10) millis += (t->fraction[k] - '0') * scale;
  // A leap second counts as the last second of the minute, in milliseconds.
  return t->seconds * 1000 + millis;
}

std::optional<int> compare_rfc3339(std::string_view a, std::string_view b) {
  auto x = parse_instant(a), y = parse_instant(b);
  if (!x || !y) return std::nullopt;
  if (x->seconds != y->seconds) return x->seconds < y->seconds ? -1 : 1;
  if (x->leap != y->leap) return x->leap ? 1 : -1;
  auto fx = trim_zeros(x->fraction), fy = trim_zeros(y->fraction);
  return fx < fy ? -1 : (fx > fy ? 1 : 0);  // equal lengths padded with zeros order lexically
}

namespace {

// A JSON number as sign, significant digits (no leading or trailing zeros)
// and the decimal exponent E of 0.DIGITS x 10^E; zero has no digits.
struct Decimal {
  bool negative = false;
  std::string digits;
  int64_t exponent = 0;
};

std::optional<Decimal> parse_decimal(std::string_view s) {
  Decimal d;
  size_t i = 0;
  if (i < s.size() && s[i] == '-') {
    d.negative = true;
    ++i;
  }
  size_t int_start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  std::string_view integer = s.substr(int_start, i - int_start);
  if (integer.empty() || (integer.size() > 1 && integer[0] == '0')) return std::nullopt;
  std::string_view fraction;
  if (i < s.size() && s[i] == '.') {
    size_t f = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    fraction = s.substr(f, i - f);
    if (fraction.empty()) return std::nullopt;
  }
  int64_t exp = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    size_t e = i;
    while (i < s.size() && is_digit(s[i])) {
      if (exp < 1'000'000'000'000) exp = exp * 10 + (s[i] - '0');  // saturates: far past any digit count
      ++i;
    }
    if (i == e) return std::nullopt;
    if (neg) exp = -exp;
  }
  if (i != s.size()) return std::nullopt;
  std::string all = std::string(integer) + std::string(fraction);
  size_t lead = all.find_first_not_of('0');
  if (lead == std::string::npos) {  // zero, whatever its sign
    d.negative = false;
    return d;
  }
  d.exponent = static_cast<int64_t>(integer.size()) - static_cast<int64_t>(lead) + exp;
  d.digits = std::string(trim_zeros(std::string_view(all).substr(lead)));
  return d;
}

}  // namespace

std::optional<int> compare_numbers(std::string_view a, std::string_view b) {
  auto x = parse_decimal(a), y = parse_decimal(b);
  if (!x || !y) return std::nullopt;
  auto sign = [](const Decimal& d) { return d.digits.empty() ? 0 : (d.negative ? -1 : 1); };
  if (sign(*x) != sign(*y)) return sign(*x) < sign(*y) ? -1 : 1;
  if (sign(*x) == 0) return 0;
  int magnitude = 0;  // |x| vs |y|
  if (x->exponent != y->exponent) magnitude = x->exponent < y->exponent ? -1 : 1;
  else if (x->digits != y->digits) magnitude = x->digits < y->digits ? -1 : 1;
  return x->negative ? -magnitude : magnitude;
}

std::string format_rfc3339(int64_t epoch_ms) {
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  int64_t ms = epoch_ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  // civil_from_days (Howard Hinnant).
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[128];
  if (ms != 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                  static_cast<long long>(ms));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  }
  return buf;
}

std::string format_duration(int64_t ms) {
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  if (d) out += std::to_string(d) + "d";
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (sec || out.empty() || out == "-") out += std::to_string(sec) + "s";
  return out;
}

std::string closest(std::string_view word, const std::vector<std::string_view>& candidates) {
  if (word.empty() || word.size() > 64) return "";  // bounded work: at most 65 x 65 cells per candidate
  std::string_view best;
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;
  std::vector<std::vector<size_t>> d;
  for (std::string_view c : candidates) {
    if (c.size() > 64) continue;
    // Optimal string alignment: Levenshtein plus adjacent transpositions ("cuont").
    d.assign(word.size() + 1, std::vector<size_t>(c.size() + 1, 0));
    for (size_t i = 0; i <= word.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= c.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= word.size(); ++i)
      for (size_t j = 1; j <= c.size(); ++j) {
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (word[i - 1] == c[j - 1] ? 0 : 1)});
        if (i > 1 && j > 1 && word[i - 1] == c[j - 2] && word[i - 2] == c[j - 1])
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    if (d[word.size()][c.size()] < best_distance) {
      best_distance = d[word.size()][c.size()];
      best = c;
    }
  }
  return std::string(best);
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string c = closest(word, candidates);
  return c.empty() ? "" : " (did you mean " + quoted(c) + "?)";
}

std::string quoted(std::string_view s, size_t max_chars) {
  std::string out = "\"";
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80 && n++ == max_chars) {  // cut before a character, never inside one
      out += "...\"";
      return out;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [&](unsigned c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      hex(c);
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // A whole UTF-8 sequence, or escapes for its bytes.
      size_t n = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
      bool ok = n && i + n <= s.size();
      for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      if (ok && n == 3 && c == 0xE0) ok = static_cast<unsigned char>(s[i + 1]) >= 0xA0;
      if (ok && n == 3 && c == 0xED) ok = static_cast<unsigned char>(s[i + 1]) <= 0x9F;
      if (ok && n == 4 && c == 0xF0) ok = static_cast<unsigned char>(s[i + 1]) >= 0x90;
      if (ok && n == 4 && c == 0xF4) ok = static_cast<unsigned char>(s[i + 1]) <= 0x8F;
      if (!ok) {
        hex(c);
        ++i;
        continue;
      }
      const bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0;
      // U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR: line breaks to some readers.
      const bool separator = n == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                             (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8;
      if (c1 || separator) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c1 ? static_cast<unsigned>(static_cast<unsigned char>(s[i + 1]))
                                                      : 0x2000u + static_cast<unsigned char>(s[i + 2]) - 0x80u);
        out += buf;
      } else {
        out.append(s.substr(i, n));
      }
      i += n;
      continue;
    }
    ++i;
  }
  return out;
}

void append_utf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

std::string clip_utf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t n = max_bytes < 3 ? 0 : max_bytes - 3;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // s[n] starts the part cut off
  return std::string(s.substr(0, n)) + "...";
}

}  // namespace invar::text

std::string invar::closest_word(std::string_view word, const std::vector<std::string_view>& candidates) {
  return text::closest(word, candidates);
}
