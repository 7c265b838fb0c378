#include "schema/number.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "common/text.hpp"

namespace invar::schema {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr double k2p53 = 9007199254740992.0;
constexpr double k2p63 = 9223372036854775808.0;
constexpr double k2p64 = 18446744073709551616.0;

// Integer `x` and double `d` are the same number.
bool same(int64_t x, double d) {
  return d >= -k2p63 && d < k2p63 && std::floor(d) == d && static_cast<int64_t>(d) == x;
}
bool same(uint64_t x, double d) { return d >= 0 && d < k2p64 && std::floor(d) == d && static_cast<uint64_t>(d) == x; }

// Integer `x` and double `d`, ordered exactly.
int order(int64_t x, double d) {
  if (d >= k2p63) return -1;
  if (d < -k2p63) return 1;
  const double whole = std::trunc(d);
  const auto i = static_cast<int64_t>(whole);
  if (x != i) return x < i ? -1 : 1;
  return (whole > d) - (whole < d);
}
int order(uint64_t x, double d) {
  if (d < 0) return 1;
  if (d >= k2p64) return -1;
  const double whole = std::trunc(d);
  const auto u = static_cast<uint64_t>(whole);
  if (x != u) return x < u ? -1 : 1;
  return (whole > d) - (whole < d);
}

// Decimal digits (a sign first, or not) as an int64 or uint64; nullopt past it.
std::optional<uint64_t> magnitude_of(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) {
    const auto d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

void dump_to(const nlohmann::json& j, const ExactNumbers& exact, std::string& out) {
  if (j.is_number_float())
    if (auto it = exact.find(&j); it != exact.end()) {
      out += it->second;
      return;
    }
  if (j.is_array()) {
    out += '[';
    for (size_t i = 0; i < j.size(); ++i) {
      if (i) out += ',';
      dump_to(j[i], exact, out);
    }
    out += ']';
  } else if (j.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      if (!first) out += ',';
      first = false;
      out += nlohmann::json(key).dump() + ':';
      dump_to(value, exact, out);
    }
    out += '}';
  } else {
    out += j.dump();
  }
}

}  // namespace

Bound Bound::of(double value, std::string text) {
  Bound b;
  b.value = value;
  if (text.empty()) return b;
  b.rounding = text::compare_numbers(exact_decimal(value), text).value_or(0);
  if (b.rounding == 0) return b;  // a double holds it (2^64)
  const bool negative = text[0] == '-';
  if (auto m = magnitude_of(std::string_view(text).substr(negative ? 1 : 0))) {
    if (!negative) b.uint64 = *m;
    if (!negative && *m <= uint64_t(INT64_MAX)) b.int64 = static_cast<int64_t>(*m);
    if (negative && *m <= uint64_t(INT64_MAX) + 1) b.int64 = static_cast<int64_t>(0 - *m);
  }
  b.exact = std::move(text);
  return b;
}

std::string Bound::text() const {
  if (!exact.empty()) return exact;
  // An integral bound reads as an integer ("minimum": 1 says 1, not 1.0).
  if (std::floor(value) == value && std::fabs(value) < 9007199254740992.0)
    return std::to_string(static_cast<int64_t>(value));
  return nlohmann::json(value).dump();
}

int compare(const Value& v, const Bound& b) {
  const element e = v.element;
  const bool past = !b.exact.empty() && !b.int64 && !b.uint64;  // past 64 bits
  switch (e.type()) {
    case element_type::INT64: {
      const int64_t x = e.get_int64().value_unsafe();
      if (b.exact.empty()) return order(x, b.value);
      if (b.int64) return (x > *b.int64) - (x < *b.int64);
      return past && b.exact[0] == '-' ? 1 : -1;  // else a uint64 past INT64_MAX
    }
    case element_type::UINT64: {
      const uint64_t x = e.get_uint64().value_unsafe();
      if (b.exact.empty()) return order(x, b.value);
      if (b.uint64) return (x > *b.uint64) - (x < *b.uint64);
      return past && b.exact[0] != '-' ? -1 : 1;  // else a negative int64
    }
    default: {
      const double d = e.get_double().value_unsafe();
      return b.exact.empty() || d != b.value ? (d > b.value) - (d < b.value) : b.rounding;
    }
  }
}

bool is_multiple(const Value& v, const Bound& m) {
  const element e = v.element;
  const auto t = e.type();
  const bool integer = t != element_type::DOUBLE;
  uint64_t magnitude = 0;
  if (t == element_type::UINT64) magnitude = e.get_uint64().value_unsafe();
  if (t == element_type::INT64) {
    const int64_t x = e.get_int64().value_unsafe();
    magnitude = x < 0 ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
  }
  if (!m.exact.empty()) {  // an integer divisor no double holds
    if (integer) return m.uint64 ? magnitude % *m.uint64 == 0 : magnitude == 0;
    // A nonzero double is no multiple of it: that integer's odd part has more
    // than 53 bits (or it is past the doubles), so would every multiple's.
    return e.get_double().value_unsafe() == 0;
  }
  const double dm = m.value;
  const bool integral = std::floor(dm) == dm;
  if (integer && integral) return dm < k2p64 ? magnitude % static_cast<uint64_t>(dm) == 0 : magnitude == 0;
  const double x = number_of(v);
  // Past 2^53 every double is an integer, and fmod is exact.
  if (!integer && integral && (std::fabs(x) > k2p53 || dm > k2p53)) return std::fmod(x, dm) == 0;
  const double q = x / dm;
  if (!std::isfinite(q)) return std::isfinite(x) && std::fmod(x, dm) == 0;  // the quotient overflows: the remainder says
  return std::fabs(q - std::nearbyint(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
}

bool numbers_equal(element a, const nlohmann::json& b, const ExactNumbers* exact) {
  const auto t = a.type();
  // An integer past 64 bits: no 64-bit integer, and only the double that is exactly it.
  if (exact && b.is_number_float())
    if (auto it = exact->find(&b); it != exact->end()) {
      const double d = t == element_type::DOUBLE ? a.get_double().value_unsafe() : 0;
      return std::isfinite(d) && std::fabs(d) >= k2p63 && text::compare_numbers(exact_decimal(d), it->second) == 0;
    }
  if (b.is_number_unsigned()) {
    const uint64_t y = b.get<uint64_t>();
    if (t == element_type::INT64) return a.get_int64().value_unsafe() >= 0 && uint64_t(a.get_int64().value_unsafe()) == y;
    if (t == element_type::UINT64) return a.get_uint64().value_unsafe() == y;
    return same(y, a.get_double().value_unsafe());
  }
  if (b.is_number_integer()) {
    const int64_t y = b.get<int64_t>();
    if (t == element_type::INT64) return a.get_int64().value_unsafe() == y;
    if (t == element_type::UINT64) return false;  // past INT64_MAX
    return same(y, a.get_double().value_unsafe());
  }
  const double y = b.get<double>();
  if (t == element_type::INT64) return same(a.get_int64().value_unsafe(), y);
  if (t == element_type::UINT64) return same(a.get_uint64().value_unsafe(), y);
  return a.get_double().value_unsafe() == y;
}

bool numbers_equal(element a, element b) {
  const auto ta = a.type(), tb = b.type();
  if (ta == element_type::DOUBLE && tb == element_type::DOUBLE)
    return a.get_double().value_unsafe() == b.get_double().value_unsafe();
  if (ta == element_type::DOUBLE || tb == element_type::DOUBLE) {
    const element i = ta == element_type::DOUBLE ? b : a;
    const double d = (ta == element_type::DOUBLE ? a : b).get_double().value_unsafe();
    return i.type() == element_type::INT64 ? same(i.get_int64().value_unsafe(), d) : same(i.get_uint64().value_unsafe(), d);
  }
  if (ta != tb) return false;  // INT64 holds only values outside UINT64's exclusive range, and vice versa
  return ta == element_type::INT64 ? a.get_int64().value_unsafe() == b.get_int64().value_unsafe()
                                   : a.get_uint64().value_unsafe() == b.get_uint64().value_unsafe();
}

std::string exact_decimal(double d) {
  if (d == 0 || !std::isfinite(d)) return "0";
  int e = 0;
  uint64_t mantissa = static_cast<uint64_t>(std::ldexp(std::frexp(std::fabs(d), &e), 53));
  e -= 53;  // |d| = mantissa * 2^e
  while (e < 0 && mantissa % 2 == 0) mantissa /= 2, ++e;
  // Base 10^9 limbs, least significant first: mantissa * 2^e, or mantissa * 5^-e (then -e decimals).
  std::vector<uint64_t> limbs;
  for (uint64_t m = mantissa; m; m /= 1'000'000'000) limbs.push_back(m % 1'000'000'000);
  auto multiply = [&](uint64_t factor) {
    uint64_t carry = 0;
    for (auto& limb : limbs) {
      const uint64_t x = limb * factor + carry;
      limb = x % 1'000'000'000;
      carry = x / 1'000'000'000;
    }
    for (; carry; carry /= 1'000'000'000) limbs.push_back(carry % 1'000'000'000);
  };
  const int decimals = e < 0 ? -e : 0;
  for (int left = e < 0 ? -e : e; left > 0;) {
    const int step = std::min(left, 13);  // 5^13 and 2^13: a limb times either fits 64 bits
    uint64_t factor = 1;
    for (int k = 0; k < step; ++k) factor *= e < 0 ? 5 : 2;
    multiply(factor);
    left -= step;
  }
  std::string digits = std::to_string(limbs.back());
  for (size_t i = limbs.size() - 1; i-- > 0;) {
    std::string part = std::to_string(limbs[i]);
    digits += std::string(9 - part.size(), '0') + part;
  }
  if (decimals > 0) {
    if (digits.size() <= size_t(decimals)) digits.insert(0, size_t(decimals) + 1 - digits.size(), '0');
    digits.insert(digits.size() - size_t(decimals), ".");
  }
  return (d < 0 ? "-" : "") + digits;
}

std::string dump(const nlohmann::json& j, const ExactNumbers* exact) {
  if (!exact || exact->empty()) return j.dump();
  std::string out;
  dump_to(j, *exact, out);
  return out;
}

}  // namespace invar::schema
