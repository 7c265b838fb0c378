// Internal: the numbers of schema keywords (minimum, maximum, their exclusive
// forms, multipleOf, const, enum) compared exactly with instance numbers.
// An instance number is what simdjson holds: an int64, a uint64 or a double
// (the double nearest the artifact's text). A keyword's number is the one
// its document writes when that is an integer (of any size), else the double
// nearest it, as the artifact's own numbers are read.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "schema/value.hpp"

namespace invar::schema {

// Numbers in the registry's documents that nlohmann::json holds only as a
// nearby double (integers past 64 bits), by address: their exact texts.
using ExactNumbers = std::unordered_map<const nlohmann::json*, std::string>;

// The value of a number keyword. `value` is what the fast path compares;
// `exact` is set when no double is that number: an integer written past 2^53
// that a double does not hold (9007199254740993, 18446744073709551615,
// anything past 64 bits), as a JSON number text. The rest is derived from
// it once, so that comparing an instance takes no decimal arithmetic.
struct Bound {
  double value = 0;
  std::string exact;
  int rounding = 0;               // with `exact`: the sign of value - exact
  std::optional<int64_t> int64;   // `exact` as an int64, when it is one
  std::optional<uint64_t> uint64; // `exact` as a uint64, when it is one

  // `value`, and `text` (an integer as written; "" when none) unless it is `value` exactly.
  static Bound of(double value, std::string text);
  std::string text() const;  // for messages
};

// An integer instance a double does not hold exactly (past 2^53): the fast
// path's double comparison could be wrong for it.
inline bool beyond_double(const Value& v) {
  constexpr uint64_t kExact = uint64_t(1) << 53;
  switch (v.element.type()) {
    case simdjson::dom::element_type::INT64: {
      const int64_t x = v.element.get_int64().value_unsafe();
      return x > int64_t(kExact) || x < -int64_t(kExact);
    }
    case simdjson::dom::element_type::UINT64: return true;  // simdjson's UINT64 holds only values past INT64_MAX
    default: return false;
  }
}

// Orders instance number `v` and `b` exactly: -1, 0 or 1. Without decimal
// arithmetic: a double instance other than b.value is on the same side of
// the exact number as of b.value (which is the double nearest it).
int compare(const Value& v, const Bound& b);

// Whether instance number `v` is a multiple of `m`: exactly when `m` is an
// integer; a fractional divisor (0.01) allows for the rounding of decimals
// to doubles, as before (a relative 1e-9).
bool is_multiple(const Value& v, const Bound& m);

// Whether instance number `a` equals the document's number `b` (`exact`
// holds the texts of the document's numbers past 64 bits, or is null).
bool numbers_equal(simdjson::dom::element a, const nlohmann::json& b, const ExactNumbers* exact);
// The same for two instance numbers.
bool numbers_equal(simdjson::dom::element a, simdjson::dom::element b);

// The exact decimal value of finite `d` as a JSON number text
// ("0.1000000000000000055511151231257827021181583404541015625").
std::string exact_decimal(double d);

// `j` as JSON text, its numbers past 64 bits as written (for messages).
std::string dump(const nlohmann::json& j, const ExactNumbers* exact);

}  // namespace invar::schema
