// Internal: what the schema evaluator needs to know about an instance value.
// An instance is a simdjson DOM element, or an object key being checked by
// propertyNames (a string that is not itself a DOM element).
#pragma once

#include <simdjson.h>

#include "common/dom.hpp"

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

namespace invar::schema {

enum TypeBit : uint8_t {
  kNull = 1, kBoolean = 2, kObject = 4, kArray = 8, kNumber = 16, kInteger = 32, kString = 64
};

struct Value {
  Value(simdjson::dom::element e) : element(e) {}
  static Value of_key(std::string_view k) {
    Value v{simdjson::dom::element()};
    v.key = k;
    v.is_key = true;
    return v;
  }

  simdjson::dom::element element;
  std::string_view key;  // the string, when is_key
  bool is_key = false;
};

// TypeBit flags (integral doubles also kInteger). Inline: called for every value.
inline uint8_t type_bits(const Value& v) {
  using simdjson::dom::element_type;
  if (v.is_key) return kString;
  switch (v.element.type()) {
    case element_type::NULL_VALUE: return kNull;
    case element_type::BOOL: return kBoolean;
    case element_type::OBJECT: return kObject;
    case element_type::ARRAY: return kArray;
    case element_type::STRING: return kString;
    case element_type::INT64:
    case element_type::UINT64: return kNumber | kInteger;
    case element_type::DOUBLE: {
      double d = v.element.get_double().value_unsafe();
      return std::isfinite(d) && std::floor(d) == d ? (kNumber | kInteger) : kNumber;
    }
  }
  return 0;
}
bool is_number(const Value& v);
// Inline: called for every number and string evaluated.
inline double number_of(const Value& v) {
  using simdjson::dom::element_type;
  switch (v.element.type()) {
    case element_type::INT64: return static_cast<double>(v.element.get_int64().value_unsafe());
    case element_type::UINT64: return static_cast<double>(v.element.get_uint64().value_unsafe());
    default: return v.element.get_double().value_unsafe();
  }
}
inline std::string_view string_of(const Value& v) { return v.is_key ? v.key : invar::sj::string_of(v.element); }

// Numbers compare by their exact values; `exact` holds the texts of the
// document's numbers nlohmann::json holds only approximately (number.hpp).
bool equal(const Value& a, const nlohmann::json& b,
           const std::unordered_map<const nlohmann::json*, std::string>* exact = nullptr);
bool equal(simdjson::dom::element a, simdjson::dom::element b);
// Structural hash; equal values hash equally (1 and 1.0 included).
uint64_t hash(simdjson::dom::element v);

// For messages: "integer 5", "string \"abc\"", "object", "array of 3".
std::string describe(const Value& v);
std::string type_names(uint8_t bits);

}  // namespace invar::schema
