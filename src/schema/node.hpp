// Internal: the compiled form of one (sub)schema, and the registry that owns
// every node and the documents they came from.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "regex/regex.hpp"
#include "schema/number.hpp"
#include "schema/schema.hpp"
#include "schema/value.hpp"

namespace invar::schema {

struct Node {
  std::string location;         // keyword location of this schema, for messages
  const std::string* resource;  // base URI of the enclosing resource (dynamic scope)
  bool is_boolean = false;
  bool boolean_value = true;

  uint8_t types = 0;  // 0: no "type" keyword
  const nlohmann::json* enum_values = nullptr;
  std::optional<std::vector<std::string>> enum_strings;  // when every enum value is a string
  const nlohmann::json* const_value = nullptr;

  std::optional<Bound> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  bool exact_bounds = false;  // one of them has an exact text: not the fast double comparison
  std::optional<uint64_t> min_length, max_length;
  std::unique_ptr<regex::Pattern> pattern;
  std::string pattern_text;
  std::string format;  // asserted only when format_assertion is set
  bool format_assertion = false;

  // Objects.
  std::vector<std::pair<std::string, const Node*>> properties;  // sorted by name
  // Lookup of `properties` by property_slot(name): the one index with that
  // slot, kNoProperty or kSlotShared (then search). Empty: no properties.
  std::vector<int8_t> property_slots;
  static constexpr int8_t kNoProperty = -1, kSlotShared = -2;
  static size_t property_slot(std::string_view name) {
    return (name.size() & 15) << 4 | (name.empty() ? 0 : static_cast<unsigned char>(name[0]) & 15);
  }
  std::vector<std::pair<std::unique_ptr<regex::Pattern>, const Node*>> pattern_properties;
  std::vector<std::string> pattern_property_texts;
  const Node* additional_properties = nullptr;
  const Node* property_names = nullptr;
  std::vector<std::string> required;
  // When every required name is one of the first 64 `properties`: their
  // bits, so the fast path checks `required` during the member walk.
  bool required_by_mask = false;
  uint64_t required_mask = 0;
  struct DependentRequired {
    std::string name;                 // when this property is present,
    std::vector<std::string> needed;  // these must be
    const char* keyword;              // "dependentRequired", or draft-07's "dependencies"
  };
  std::vector<DependentRequired> dependent_required;
  std::vector<std::pair<std::string, const Node*>> dependent_schemas;
  std::optional<uint64_t> min_properties, max_properties;
  const Node* unevaluated_properties = nullptr;

  // Arrays.
  std::vector<const Node*> prefix_items;
  const Node* items = nullptr;  // for indexes past prefix_items
  const Node* contains = nullptr;
  std::optional<uint64_t> min_contains, max_contains;
  std::optional<uint64_t> min_items, max_items;
  bool unique_items = false;
  const Node* unevaluated_items = nullptr;

  // Applicators in place.
  std::vector<const Node*> all_of, any_of, one_of;
  const Node* not_schema = nullptr;
  const Node* if_schema = nullptr;
  const Node* then_schema = nullptr;
  const Node* else_schema = nullptr;
  const Node* ref = nullptr;
  bool ref_only = false;  // nothing but $ref (and annotations): the target decides
  const Node* dynamic_ref = nullptr;  // static target of $dynamicRef
  std::string dynamic_anchor;         // non-empty: resolve $dynamicRef in the dynamic scope

  // Which groups of keywords are present, so evaluation skips the others.
  bool has_branches = false;         // allOf anyOf oneOf not if
  bool has_object_keywords = false;  // properties ... maxProperties
  bool has_array_keywords = false;   // prefixItems items contains minItems maxItems uniqueItems

  // Whether evaluating this node must collect evaluated-location annotations
  // (it, or a schema it applies in place, has unevaluated*).
  bool has_unevaluated = false;

  // Only type, string enum, double bounds, lengths and pattern: the fast path
  // checks them inline (Compiler::run sets it once every $ref is resolved).
  bool leaf = false;
  // An object schema of `properties`, `required` (by mask) and
  // `additionalProperties: false` only (with `type`, and keywords for other
  // types): the fast path walks an object's members without keywords().
  bool closed_object = false;
};

// Everything compiled from one root schema.
class Registry {
 public:
  std::deque<Node> nodes;
  std::deque<nlohmann::json> documents;          // owned copies, stable addresses
  std::set<std::string> resource_names;          // interned base URIs
  std::map<std::string, const nlohmann::json*> index;   // absolute URI -> schema JSON
  std::map<std::string, const Node*> dynamic_anchors;   // "resource#name" -> node
  std::vector<FallbackPattern> fallback_patterns;       // the patterns on the PCRE2 fallback
  ExactNumbers exact_numbers;                           // numbers past 64 bits in `documents`
  bool format_assertion = false;
};

}  // namespace invar::schema
