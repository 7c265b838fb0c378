// Internal: what the schema evaluator needs to know about an instance value.
// An instance is a simdjson DOM element, or an object key being checked by
// propertyNames (a string that is not itself a DOM element).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace invar::schema {

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

uint8_t type_bits(const Value& v);  // TypeBit flags (integral doubles also kInteger)
bool is_number(const Value& v);
double number_of(const Value& v);
std::string_view string_of(const Value& v);

bool equal(const Value& a, const nlohmann::json& b);
bool equal(simdjson::dom::element a, simdjson::dom::element b);
// Structural hash; equal values hash equally (1 and 1.0 included).
uint64_t hash(simdjson::dom::element v);

// For messages: "integer 5", "string \"abc\"", "object", "array of 3".
std::string describe(const Value& v);
std::string type_names(uint8_t bits);

}  // namespace invar::schema
