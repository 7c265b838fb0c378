#include "common/dom.hpp"
#include "schema/value.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/text.hpp"
#include "schema/node.hpp"
#include "schema/number.hpp"

namespace invar::schema {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool is_number(const Value& v) { return (type_bits(v) & kNumber) != 0; }

namespace {

bool is_num(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

}  // namespace

bool equal(const Value& a, const nlohmann::json& b, const ExactNumbers* exact) {
  if (a.is_key) return b.is_string() && b.get_ref<const std::string&>() == a.key;
  element e = a.element;
  switch (e.type()) {
    case element_type::NULL_VALUE: return b.is_null();
    case element_type::BOOL: return b.is_boolean() && b.get<bool>() == e.get_bool().value_unsafe();
    case element_type::STRING: return b.is_string() && b.get_ref<const std::string&>() == invar::sj::string_of(e);
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return b.is_number() && numbers_equal(e, b, exact);
    case element_type::ARRAY: {
      if (!b.is_array()) return false;
      auto arr = invar::sj::array_of(e);
      if (arr.size() != b.size()) return false;
      size_t i = 0;
      for (auto child : arr)
        if (!equal(Value{child}, b[i++], exact)) return false;
      return true;
    }
    case element_type::OBJECT: {
      if (!b.is_object()) return false;
      auto obj = invar::sj::object_of(e);
      if (obj.size() != b.size()) return false;
      for (auto field : obj) {
        auto it = b.find(std::string(field.key));
        if (it == b.end() || !equal(Value{field.value}, *it, exact)) return false;
      }
      return true;
    }
  }
  return false;
}

bool equal(element a, element b) {
  auto ta = a.type(), tb = b.type();
  if (is_num(ta) && is_num(tb)) return numbers_equal(a, b);
  if (ta != tb) return false;
  switch (ta) {
    case element_type::NULL_VALUE: return true;
    case element_type::BOOL: return a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
    case element_type::STRING: return invar::sj::string_of(a) == invar::sj::string_of(b);
    case element_type::ARRAY: {
      auto x = invar::sj::array_of(a), y = invar::sj::array_of(b);
      if (x.size() != y.size()) return false;
      auto it = y.begin();
      for (auto child : x) {
        if (!equal(child, *it)) return false;
        ++it;
      }
      return true;
    }
    case element_type::OBJECT: {
      auto x = invar::sj::object_of(a), y = invar::sj::object_of(b);
      if (x.size() != y.size()) return false;
      for (auto field : x) {
        auto other = y.at_key(field.key);
        if (other.error() || !equal(field.value, other.value_unsafe())) return false;
      }
      return true;
    }
    default: return false;
  }
}

uint64_t hash(element v) {
  auto mix = [](uint64_t h, uint64_t x) {
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
  };
  switch (v.type()) {
    case element_type::NULL_VALUE: return 1;
    case element_type::BOOL: return v.get_bool().value_unsafe() ? 2 : 3;
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: {
      double d = number_of(Value{v});
      if (d == 0) d = 0;  // -0.0 == 0.0
      return mix(4, std::hash<double>()(d));
    }
    case element_type::STRING: return mix(5, std::hash<std::string_view>()(invar::sj::string_of(v)));
    case element_type::ARRAY: {
      uint64_t h = 6;
      for (auto child : invar::sj::array_of(v)) h = mix(h, hash(child));
      return h;
    }
    case element_type::OBJECT: {
      uint64_t h = 7;  // order-independent: sum of member hashes
      for (auto field : invar::sj::object_of(v))
        h += mix(std::hash<std::string_view>()(field.key), hash(field.value));
      return h;
    }
  }
  return 0;
}

std::string describe(const Value& v) {
  if (v.is_key) return "property name " + text::quoted(v.key);
  element e = v.element;
  switch (e.type()) {
    case element_type::NULL_VALUE: return "null";
    case element_type::BOOL: return e.get_bool().value_unsafe() ? "true" : "false";
    case element_type::INT64: return "integer " + std::to_string(e.get_int64().value_unsafe());
    case element_type::UINT64: return "integer " + std::to_string(e.get_uint64().value_unsafe());
    case element_type::DOUBLE: return "number " + simdjson::minify(e);
    case element_type::STRING: return "string " + text::quoted(invar::sj::string_of(e));
    case element_type::ARRAY: return "array of " + std::to_string(invar::sj::array_of(e).size());
    case element_type::OBJECT: return "object with " + std::to_string(invar::sj::object_of(e).size()) + " members";
  }
  return "value";
}

std::string type_names(uint8_t bits) {
  static const std::pair<uint8_t, const char*> names[] = {
      {kNull, "null"},     {kBoolean, "boolean"}, {kObject, "object"}, {kArray, "array"},
      {kNumber, "number"}, {kInteger, "integer"}, {kString, "string"}};
  std::string out;
  for (auto [bit, name] : names) {
    if (bits & bit) {
      if (!out.empty()) out += " or ";
      out += name;
    }
  }
  return out;
}

}  // namespace invar::schema
