// Schema evaluation over simdjson DOM values. One evaluator serves both
// paths: with no issue sink it stops at the first failure (fast path); with
// one it keeps going and records located issues (diagnostics path).
#include "common/dom.hpp"
#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>

#include "common/parallel.hpp"
#include "common/text.hpp"
#include "schema/format.hpp"
#include "schema/node.hpp"
#include "schema/number.hpp"
#include "schema/schema.hpp"
#include "schema/value.hpp"

namespace invar::schema {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

// Locations already evaluated, for unevaluatedProperties/unevaluatedItems.
struct Evaluated {
  bool all_properties = false;
  std::vector<std::string_view> properties;
  bool all_items = false;
  uint64_t prefix = 0;
  std::vector<uint64_t> items;

  void merge(const Evaluated& o) {
    all_properties |= o.all_properties;
    properties.insert(properties.end(), o.properties.begin(), o.properties.end());
    all_items |= o.all_items;
    prefix = std::max(prefix, o.prefix);
    items.insert(items.end(), o.items.begin(), o.items.end());
  }
  bool has_property(std::string_view key) const {
    return all_properties || std::find(properties.begin(), properties.end(), key) != properties.end();
  }
  bool has_item(uint64_t i) const {
    return all_items || i < prefix || std::find(items.begin(), items.end(), i) != items.end();
  }
};

struct Context {
  const Registry& registry;
  uint64_t max_steps;
  uint32_t max_depth;
  uint64_t steps = 0;
  uint32_t depth = 0;
  std::string limit;
  std::vector<Issue>* issues = nullptr;
  size_t max_issues = 0;
  selector::Path path;  // kept only while issues are collected
  bool dynamic_scope = false;              // the registry has $dynamicAnchor: track the scope
  std::vector<const std::string*> scope;  // dynamic scope: resources entered
  parallel::Pool* pool = nullptr;          // set: the next long array may be split into its tasks
  uint64_t split_min_items = 0;
};

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Pushes a path segment for the lifetime of the guard, when issues are being
// collected (the fast path needs no locations).
struct PathGuard {
  selector::Path& path;
  bool active;
  PathGuard(Context& c, std::string_view key) : path(c.path), active(c.issues) {
    if (active) path.push_back({key, 0, false});
  }
  PathGuard(Context& c, uint64_t index) : path(c.path), active(c.issues) {
    if (active) path.push_back({{}, index, true});
  }
  ~PathGuard() {
    if (active) path.pop_back();
  }
};

// The index of `key` in a node's sorted `properties`, or -1.
ptrdiff_t find_property(const Node& n, std::string_view key) {
  const auto& props = n.properties;
  if (!n.property_slots.empty()) {  // one candidate by (size, first byte), compared once
    const int8_t k = n.property_slots[Node::property_slot(key)];
    if (k == Node::kNoProperty) return -1;
    if (k >= 0) return text::same(props[static_cast<size_t>(k)].first, key) ? k : -1;
  }
  if (props.size() <= 8) {  // a few names: compare sizes first, no ordering
    for (size_t k = 0; k < props.size(); ++k)
      if (text::same(props[k].first, key)) return static_cast<ptrdiff_t>(k);
    return -1;
  }
  auto it = std::lower_bound(props.begin(), props.end(), key,
                             [](const auto& p, std::string_view k) { return p.first < k; });
  return it != props.end() && it->first == key ? it - props.begin() : -1;
}

// Whether the code-point length of `s` is within [min, max], counting code
// points only when the byte size cannot decide (bytes / 4 <= code points <= bytes).
bool length_within(std::string_view s, uint64_t min, uint64_t max, size_t& length) {
  if (s.size() / 4 >= min && s.size() <= max) return true;
  length = code_points(s);
  return length >= min && length <= max;
}

// Switches the issue sink for the lifetime of the guard.
struct SinkGuard {
  Context& c;
  std::vector<Issue>* saved;
  SinkGuard(Context& ctx, std::vector<Issue>* sink) : c(ctx), saved(ctx.issues) { c.issues = sink; }
  ~SinkGuard() { c.issues = saved; }
};

class Evaluator {
 public:
  explicit Evaluator(Context& c)
      : c_(c), exact_numbers_(c.registry.exact_numbers.empty() ? nullptr : &c.registry.exact_numbers) {}

  bool eval(const Node& n, const Value& v, Evaluated* ev) {
    if (!c_.limit.empty()) return false;
    if (++c_.steps > c_.max_steps) {
      c_.limit = "max_eval_steps " + std::to_string(c_.max_steps);
      return false;
    }
    if (n.is_boolean) {
      if (!n.boolean_value) report(n, "", "no value is allowed here (the schema is false)", "nothing", describe(v));
      return n.boolean_value;
    }
    if (c_.depth >= c_.max_depth) {
      c_.limit = "max_schema_depth " + std::to_string(c_.max_depth);
      return false;
    }
    if (n.leaf && !c_.issues) return leaf_keywords(n, v);
    if (n.closed_object && !c_.issues && !ev && !c_.dynamic_scope && !v.is_key &&
        v.element.type() == element_type::OBJECT) {
      ++c_.depth;
      bool ok = closed_members(n, v);
      --c_.depth;
      return ok && c_.limit.empty();
    }
    // A schema that is only a $ref: go straight to its target (not when the
    // dynamic scope is tracked, where entering this resource matters).
    if (n.ref_only && !c_.dynamic_scope) {
      ++c_.depth;
      bool ok = eval(*n.ref, v, ev);
      --c_.depth;
      return ok;
    }
    ++c_.depth;
    bool entered = c_.dynamic_scope && (c_.scope.empty() || c_.scope.back() != n.resource);
    if (entered) c_.scope.push_back(n.resource);
    std::optional<Evaluated> local;  // constructed only when this node needs annotations
    Evaluated* mine = ev ? ev : (n.has_unevaluated ? &local.emplace() : nullptr);
    bool ok = keywords(n, v, mine);
    if (entered) c_.scope.pop_back();
    --c_.depth;
    return ok && c_.limit.empty();
  }

 private:
  // "0, 2 and 5" (branch indexes), the first kMaxListed of them.
  static std::string branch_list(const std::vector<size_t>& branches) {
    constexpr size_t kMaxListed = 8;
    std::string out;
    size_t listed = std::min(branches.size(), kMaxListed);
    for (size_t i = 0; i < listed; ++i)
      out += (i == 0 ? "" : i + 1 == listed && listed == branches.size() ? " and " : ", ") + std::to_string(branches[i]);
    if (listed < branches.size()) out += " and " + std::to_string(branches.size() - listed) + " more";
    return out;
  }

  void report(const Node& n, std::string_view keyword, std::string message, std::string expected = {},
              std::string actual = {}) {
    if (!c_.issues || c_.issues->size() >= c_.max_issues) return;
    Issue issue;
    issue.instance_pointer = selector::to_pointer(c_.path);
    issue.keyword_location = n.location;
    if (!keyword.empty()) text::append_pointer_token(issue.keyword_location, keyword);
    issue.message = std::move(message);
    issue.expected = std::move(expected);
    issue.actual = std::move(actual);
    c_.issues->push_back(std::move(issue));
  }

  // A pattern on the PCRE2 fallback ran out of a limit: no answer, so the
  // whole evaluation stops as invalid, as at any limit (a "not" around it
  // must not turn it into a pass).
  bool undecided(regex::Match m, const std::string& pattern) {
    c_.limit = regex::undecided_reason(m) + " (pattern " + text::quoted(pattern) + ")";
    return false;
  }

  // Evaluates `n` in place (same instance), merging annotations on success.
  bool in_place(const Node& n, const Value& v, Evaluated* mine) {
    if (!mine) return eval(n, v, nullptr);
    Evaluated sub;
    bool ok = eval(n, v, &sub);
    if (ok) mine->merge(sub);
    return ok;
  }

  // A quiet evaluation: no issues recorded (for if, not, contains).
  bool probe(const Node& n, const Value& v, Evaluated* ev) {
    SinkGuard quiet(c_, nullptr);
    return ev ? in_place(n, v, ev) : eval(n, v, nullptr);
  }

  // The keywords of a leaf node (Node::leaf) on the fast path: keywords()'s
  // checks in its order, with no issue to record and no call frame of its size.
  bool leaf_keywords(const Node& n, const Value& v) {
    const uint8_t bits = type_bits(v);
    if (n.types && !(n.types & bits)) return false;
    if (n.enum_values) {  // n.enum_strings: a leaf's enum is all strings
      if (!(bits & kString)) return false;
      std::string_view s = string_of(v);
      bool found = false;
      for (const auto& allowed : *n.enum_strings)
        if ((found = text::same(allowed, s))) break;
      if (!found) return false;
    }
    if (bits & kNumber) {
      if (beyond_double(v)) return keywords(n, v, nullptr) && c_.limit.empty();
      const double x = number_of(v);
      if ((n.minimum && x < n.minimum->value) || (n.maximum && x > n.maximum->value) ||
          (n.exclusive_minimum && x <= n.exclusive_minimum->value) ||
          (n.exclusive_maximum && x >= n.exclusive_maximum->value))
        return false;
    }
    if (bits & kString) {
      std::string_view s = string_of(v);
      size_t len = 0;
      if ((n.min_length || n.max_length) &&
          !length_within(s, n.min_length.value_or(0), n.max_length.value_or(UINT64_MAX), len))
        return false;
      if (n.pattern) {
        regex::Match m = n.pattern->match(s);
        if (m > regex::Match::yes) return undecided(m, n.pattern_text);
        if (m == regex::Match::no) return false;
      }
    }
    return true;
  }

  // The members of object `v` against a closed object schema (Node::closed_object)
  // on the fast path: object_keywords()' walk, with no issue to record.
  bool closed_members(const Node& n, const Value& v) {
    if (n.types && !(n.types & kObject)) return false;
    uint64_t seen = 0;
    for (auto field : invar::sj::object_of(v.element)) {
      ptrdiff_t k = find_property(n, field.key);
      if (k < 0) return false;  // additionalProperties: false
      if (k < 64) seen |= uint64_t(1) << k;
      if (!eval(*n.properties[static_cast<size_t>(k)].second, Value{field.value}, nullptr)) return false;
    }
    return (seen & n.required_mask) == n.required_mask;
  }

  [[gnu::noinline]] bool keywords(const Node& n, const Value& v, Evaluated* mine);
  bool object_keywords(const Node& n, const Value& v, Evaluated* mine);
  bool array_keywords(const Node& n, const Value& v, Evaluated* mine);
  bool branches(const Node& n, const Value& v, Evaluated* mine);
  bool items_in_parallel(const Node& items, simdjson::dom::array arr, uint64_t size);
  void best_branch(std::vector<std::vector<Issue>>& failed);

  Context& c_;
  const ExactNumbers* exact_numbers_;  // null when the schemas write no number past 64 bits
};

bool Evaluator::keywords(const Node& n, const Value& v, Evaluated* mine) {
  bool ok = true;
  auto fail = [&] {
    ok = false;
    return c_.issues == nullptr;  // fast path: stop at the first failure
  };
  if (n.ref && !in_place(*n.ref, v, mine) && fail()) return false;
  if (n.dynamic_ref) {
    const Node* target = n.dynamic_ref;
    if (!n.dynamic_anchor.empty()) {
      for (const std::string* resource : c_.scope) {
        auto it = c_.registry.dynamic_anchors.find(*resource + "#" + n.dynamic_anchor);
        if (it != c_.registry.dynamic_anchors.end()) {
          target = it->second;
          break;
        }
      }
    }
    if (!in_place(*target, v, mine) && fail()) return false;
  }

  uint8_t bits = type_bits(v);
  if (n.types && !(n.types & bits)) {
    report(n, "type", "expected " + type_names(n.types) + ", got " + describe(v), type_names(n.types),
           describe(v));
    if (fail()) return false;
  }
  if (n.enum_values) {
    bool found = false;
    if (n.enum_strings) {
      if (bits & kString) {
        std::string_view s = string_of(v);
        for (const auto& allowed : *n.enum_strings)
          if ((found = text::same(allowed, s))) break;
      }
    } else {
      for (const auto& allowed : *n.enum_values)
        if ((found = equal(v, allowed, exact_numbers_))) break;
    }
    if (!found) {
      std::string allowed = dump(*n.enum_values, exact_numbers_);
      if (allowed.size() > 120) {
        size_t cut = 117;  // on a character boundary
        while (cut > 0 && (static_cast<unsigned char>(allowed[cut]) & 0xC0) == 0x80) --cut;
        allowed = allowed.substr(0, cut) + "...";
      }
      report(n, "enum", "value is not one of the allowed values", "one of " + allowed, describe(v));
      if (fail()) return false;
    }
  }
  if (n.const_value && !equal(v, *n.const_value, exact_numbers_)) {
    report(n, "const", "value is not the required constant", dump(*n.const_value, exact_numbers_), describe(v));
    if (fail()) return false;
  }

  if (bits & kNumber) {
    auto bound = [&](const std::optional<Bound>& limit, bool violated, const char* kw, const char* op) {
      if (!limit || !violated) return false;
      report(n, kw, std::string("value must be ") + op + " " + limit->text(), std::string(op) + " " + limit->text(),
             describe(v));
      return fail();
    };
    if (!n.exact_bounds && !beyond_double(v)) {  // the fast path: doubles compare exactly
      const double x = number_of(v);
      if (bound(n.minimum, n.minimum && x < n.minimum->value, "minimum", ">=")) return false;
      if (bound(n.maximum, n.maximum && x > n.maximum->value, "maximum", "<=")) return false;
      if (bound(n.exclusive_minimum, n.exclusive_minimum && x <= n.exclusive_minimum->value, "exclusiveMinimum", ">"))
        return false;
      if (bound(n.exclusive_maximum, n.exclusive_maximum && x >= n.exclusive_maximum->value, "exclusiveMaximum", "<"))
        return false;
    } else {
      if (bound(n.minimum, n.minimum && compare(v, *n.minimum) < 0, "minimum", ">=")) return false;
      if (bound(n.maximum, n.maximum && compare(v, *n.maximum) > 0, "maximum", "<=")) return false;
      if (bound(n.exclusive_minimum, n.exclusive_minimum && compare(v, *n.exclusive_minimum) <= 0, "exclusiveMinimum", ">"))
        return false;
      if (bound(n.exclusive_maximum, n.exclusive_maximum && compare(v, *n.exclusive_maximum) >= 0, "exclusiveMaximum", "<"))
        return false;
    }
    if (n.multiple_of && !is_multiple(v, *n.multiple_of)) {
      report(n, "multipleOf", "value must be a multiple of " + n.multiple_of->text(),
             "multiple of " + n.multiple_of->text(), describe(v));
      if (fail()) return false;
    }
  }

  if (bits & kString) {
    std::string_view s = string_of(v);
    size_t len = 0;
    if ((n.min_length || n.max_length) && !length_within(s, n.min_length.value_or(0), n.max_length.value_or(UINT64_MAX), len)) {
      if (n.min_length && len < *n.min_length) {
        report(n, "minLength",
               len == 0 ? "string is empty" : "string is shorter than " + std::to_string(*n.min_length) + " characters",
               "length >= " + std::to_string(*n.min_length), "length " + std::to_string(len));
        if (fail()) return false;
      }
      if (n.max_length && len > *n.max_length) {
        report(n, "maxLength", "string is longer than " + std::to_string(*n.max_length) + " characters",
               "length <= " + std::to_string(*n.max_length), "length " + std::to_string(len));
        if (fail()) return false;
      }
    }
    if (n.pattern) {
      regex::Match m = n.pattern->match(s);
      if (m > regex::Match::yes) return undecided(m, n.pattern_text);
      if (m == regex::Match::no) {
        report(n, "pattern", "string does not match the pattern " + text::quoted(n.pattern_text),
               "matches " + text::quoted(n.pattern_text), describe(v));
        if (fail()) return false;
      }
    }
    if (n.format_assertion && !check_format(n.format, s)) {
      report(n, "format", "string is not a valid " + n.format, n.format, describe(v));
      if (fail()) return false;
    }
  }

  if ((bits & kObject) && n.has_object_keywords && !object_keywords(n, v, mine) && fail()) return false;
  if ((bits & kArray) && n.has_array_keywords && !array_keywords(n, v, mine) && fail()) return false;
  if (n.has_branches && !branches(n, v, mine) && fail()) return false;

  if (n.unevaluated_properties && (bits & kObject)) {
    for (auto field : invar::sj::object_of(v.element)) {
      if (mine->has_property(field.key)) continue;
      PathGuard at(c_, field.key);
      const Node& u = *n.unevaluated_properties;
      bool valid = u.is_boolean ? u.boolean_value : eval(u, Value{field.value}, nullptr);
      if (!valid) {
        if (u.is_boolean)
          report(n, "unevaluatedProperties", "property " + text::quoted(field.key) + " is not allowed (unevaluatedProperties)");
        if (fail()) return false;
      }
    }
    mine->all_properties = true;
  }
  if (n.unevaluated_items && (bits & kArray)) {
    uint64_t i = 0;
    for (auto child : invar::sj::array_of(v.element)) {
      if (!mine->has_item(i)) {
        PathGuard at(c_, i);
        if (!eval(*n.unevaluated_items, Value{child}, nullptr) && fail()) return false;
      }
      ++i;
    }
    mine->all_items = true;
  }
  return ok;
}

bool Evaluator::object_keywords(const Node& n, const Value& v, Evaluated* mine) {
  if (v.is_key) return true;
  bool ok = true;
  auto fail = [&] {
    ok = false;
    return c_.issues == nullptr;
  };
  auto obj = invar::sj::object_of(v.element);
  size_t size = obj.size();
  if (n.min_properties && size < *n.min_properties) {
    report(n, "minProperties", "object has fewer than " + std::to_string(*n.min_properties) + " members",
           ">= " + std::to_string(*n.min_properties), std::to_string(size));
    if (fail()) return false;
  }
  if (n.max_properties && size > *n.max_properties) {
    report(n, "maxProperties", "object has more than " + std::to_string(*n.max_properties) + " members",
           "<= " + std::to_string(*n.max_properties), std::to_string(size));
    if (fail()) return false;
  }
  bool per_member = !n.properties.empty() || !n.pattern_properties.empty() || n.additional_properties ||
                    n.property_names;
  // Fast path: `required` from the member walk, not one lookup per name.
  bool required_by_mask = !c_.issues && per_member && n.required_by_mask;
  for (const auto& name : n.required) {
    if (required_by_mask) break;
    if (obj.at_key(name).error()) {
      report(n, "required", "required property " + text::quoted(name) + " is missing", "property " + text::quoted(name),
             "absent");
      if (fail()) return false;
    }
  }
  for (const auto& [name, needed, keyword] : n.dependent_required) {
    if (obj.at_key(name).error()) continue;
    for (const auto& other : needed) {
      if (obj.at_key(other).error()) {
        report(n, keyword,
               "property " + text::quoted(other) + " is required when " + text::quoted(name) + " is present",
               "property " + text::quoted(other), "absent");
        if (fail()) return false;
      }
    }
  }
  for (const auto& [name, schema] : n.dependent_schemas) {
    if (obj.at_key(name).error()) continue;
    if (!in_place(*schema, v, mine) && fail()) return false;
  }
  if (!per_member) return ok;
  uint64_t seen = 0;  // bits of the properties present, for required_by_mask
  for (auto field : obj) {
    PathGuard at(c_, field.key);
    Value child{field.value};
    bool matched = false;
    if (ptrdiff_t k = find_property(n, field.key); k >= 0) {
      matched = true;
      if (k < 64) seen |= uint64_t(1) << k;
      if (!eval(*n.properties[static_cast<size_t>(k)].second, child, nullptr) && fail()) return false;
    }
    for (size_t k = 0; k < n.pattern_properties.size(); ++k) {
      const auto& [re, schema] = n.pattern_properties[k];
      regex::Match m = re->match(field.key);
      if (m > regex::Match::yes) return undecided(m, n.pattern_property_texts[k]);
      if (m == regex::Match::yes) {
        matched = true;
        if (!eval(*schema, child, nullptr) && fail()) return false;
      }
    }
    if (!matched && n.additional_properties) {
      const Node& extra = *n.additional_properties;
      if (extra.is_boolean && !extra.boolean_value) {
        report(n, "additionalProperties", "property " + text::quoted(field.key) + " is not allowed",
               "no property " + text::quoted(field.key), describe(child));
        if (fail()) return false;
      } else if (!eval(extra, child, nullptr) && fail()) {
        return false;
      }
    }
    if (mine && (matched || n.additional_properties)) mine->properties.push_back(field.key);
    if (n.property_names) {
      Value name = Value::of_key(field.key);
      if (!eval(*n.property_names, name, nullptr) && fail()) return false;
    }
  }
  if (required_by_mask && (seen & n.required_mask) != n.required_mask) return false;
  return ok;
}

bool Evaluator::array_keywords(const Node& n, const Value& v, Evaluated* mine) {
  bool ok = true;
  auto fail = [&] {
    ok = false;
    return c_.issues == nullptr;
  };
  auto arr = invar::sj::array_of(v.element);
  uint64_t size = arr.size();
  if (n.min_items && size < *n.min_items) {
    report(n, "minItems", "array has fewer than " + std::to_string(*n.min_items) + " items",
           ">= " + std::to_string(*n.min_items) + " items", std::to_string(size) + " items");
    if (fail()) return false;
  }
  if (n.max_items && size > *n.max_items) {
    report(n, "maxItems", "array has more than " + std::to_string(*n.max_items) + " items",
           "<= " + std::to_string(*n.max_items) + " items", std::to_string(size) + " items");
    if (fail()) return false;
  }
  uint64_t min_contains = n.min_contains.value_or(1);
  uint64_t matches = 0;
  bool count_all = mine || n.max_contains;
  uint64_t i = 0;
  // Fast path, a long array of items under one schema: split across threads.
  bool split = !c_.issues && c_.pool && c_.pool->threads() > 1 && size >= c_.split_min_items && n.items &&
               n.prefix_items.empty() && !n.contains && !mine;
  if (split && !items_in_parallel(*n.items, arr, size)) return false;
  for (auto item : arr) {
    if (split) break;
    PathGuard at(c_, i);
    Value child{item};
    if (i < n.prefix_items.size()) {
      if (!eval(*n.prefix_items[i], child, nullptr) && fail()) return false;
    } else if (n.items) {
      if (!eval(*n.items, child, nullptr) && fail()) return false;
    }
    if (n.contains && (count_all || matches < min_contains) && probe(*n.contains, child, nullptr)) {
      ++matches;
      if (mine) mine->items.push_back(i);
    }
    ++i;
  }
  if (mine) {
    mine->prefix = std::max<uint64_t>(mine->prefix, std::min<uint64_t>(size, n.prefix_items.size()));
    if (n.items) mine->all_items = true;
  }
  if (n.contains) {
    if (matches < min_contains) {
      report(n, "contains",
             std::to_string(matches) + " items match \"contains\", at least " + std::to_string(min_contains) + " expected",
             ">= " + std::to_string(min_contains) + " matching", std::to_string(matches) + " matching");
      if (fail()) return false;
    }
    if (n.max_contains && matches > *n.max_contains) {
      report(n, "maxContains",
             std::to_string(matches) + " items match \"contains\", at most " + std::to_string(*n.max_contains) + " allowed",
             "<= " + std::to_string(*n.max_contains) + " matching", std::to_string(matches) + " matching");
      if (fail()) return false;
    }
  }
  if (n.unique_items && size > 1) {
    std::vector<element> items(arr.begin(), arr.end());
    std::vector<std::pair<uint64_t, uint64_t>> hashed;  // (hash, index)
    hashed.reserve(items.size());
    for (uint64_t k = 0; k < items.size(); ++k) hashed.push_back({hash(items[k]), k});
    std::sort(hashed.begin(), hashed.end());
    for (size_t a = 0; a < hashed.size(); ++a) {
      for (size_t b = a + 1; b < hashed.size() && hashed[b].first == hashed[a].first; ++b) {
        auto [x, y] = std::minmax(hashed[a].second, hashed[b].second);
        if (equal(items[x], items[y])) {
          report(n, "uniqueItems",
                 "items " + std::to_string(x) + " and " + std::to_string(y) + " are equal", "unique items",
                 "item " + std::to_string(y) + " repeats item " + std::to_string(x));
          return false;
        }
      }
    }
  }
  return ok;
}

// Evaluates every item against `items` on the pool's threads. The workers
// share one cursor and take batches of kBatch items from it, so that no
// thread walks the array ahead of the others and a thread busy elsewhere
// (the reading scan) simply takes fewer. Each worker has its own context
// with the steps left; their sum is charged to this one. The first invalid
// item stops them all. No issues are collected (the fast path); no further
// splits nest.
bool Evaluator::items_in_parallel(const Node& items, simdjson::dom::array arr, uint64_t size) {
  constexpr uint64_t kBatch = 256;
  const size_t parts = std::min<uint64_t>(c_.pool->threads(), (size + kBatch - 1) / kBatch);
  const uint64_t left = c_.max_steps - std::min(c_.steps, c_.max_steps);
  std::vector<Context> workers;
  workers.reserve(parts);
  for (size_t k = 0; k < parts; ++k)
    workers.push_back(Context{c_.registry, left, c_.max_depth, 0, c_.depth, {}, nullptr, 0, {}, c_.dynamic_scope,
                              c_.scope, nullptr, 0});
  std::mutex cursor_mutex;
  auto cursor = arr.begin();
  const auto end = arr.end();
  std::atomic<bool> stop{false};
  std::vector<char> invalid(parts, 0);
  parallel::run(*c_.pool, parts, [&](size_t k) {
    Evaluator worker(workers[k]);
    while (!stop) {
      simdjson::dom::array::iterator from, to;
      {
        std::lock_guard<std::mutex> lock(cursor_mutex);
        from = cursor;
        for (uint64_t n = 0; n < kBatch && cursor != end; ++n) ++cursor;
        to = cursor;
      }
      if (from == to) return;
      for (auto it = from; it != to; ++it) {
        if (!worker.eval(items, Value{*it}, nullptr)) {
          invalid[k] = 1;
          stop = true;
          return;
        }
      }
    }
  });
  bool any_invalid = false;
  for (size_t k = 0; k < parts; ++k) {
    c_.steps += workers[k].steps;
    if (c_.limit.empty() && !workers[k].limit.empty())  // a worker's step limit is what was left: name the whole
      c_.limit = workers[k].limit.rfind("max_eval_steps", 0) == 0 ? "max_eval_steps " + std::to_string(c_.max_steps)
                                                                  : workers[k].limit;
    any_invalid |= invalid[k] != 0;
  }
  // All valid, but more steps in all than the budget: the one-thread verdict.
  if (!any_invalid && c_.limit.empty() && c_.steps > c_.max_steps)
    c_.limit = "max_eval_steps " + std::to_string(c_.max_steps);
  return !any_invalid && c_.limit.empty();
}

// Picks the failed branch that came closest: one that failed deeper in the
// instance and with fewer issues beats one that failed on the type at the top.
void Evaluator::best_branch(std::vector<std::vector<Issue>>& failed) {
  std::string here = selector::to_pointer(c_.path);
  auto score = [&](const std::vector<Issue>& issues) {
    size_t deepest = 0;
    bool shallow_type = false;
    for (const auto& i : issues) {
      deepest = std::max(deepest, i.instance_pointer.size());
      if (i.instance_pointer == here && i.keyword_location.size() >= 5 &&
          i.keyword_location.compare(i.keyword_location.size() - 5, 5, "/type") == 0)
        shallow_type = true;
    }
    return std::make_tuple(!shallow_type, deepest, -static_cast<long>(issues.size()));
  };
  const std::vector<Issue>* best = nullptr;
  for (const auto& f : failed)
    if (!f.empty() && (!best || score(f) > score(*best))) best = &f;
  if (!best) return;
  for (const auto& i : *best)
    if (c_.issues->size() < c_.max_issues) c_.issues->push_back(i);
}

bool Evaluator::branches(const Node& n, const Value& v, Evaluated* mine) {
  bool ok = true;
  auto fail = [&] {
    ok = false;
    return c_.issues == nullptr;
  };
  for (const Node* s : n.all_of)
    if (!in_place(*s, v, mine) && fail()) return false;

  auto run_branches = [&](const std::vector<const Node*>& list, bool stop_at_first, std::vector<size_t>& valid,
                          std::vector<std::vector<Issue>>& failed) {
    for (size_t k = 0; k < list.size(); ++k) {
      std::vector<Issue> issues;
      bool r;
      {
        SinkGuard sink(c_, c_.issues ? &issues : nullptr);
        r = in_place(*list[k], v, mine);
      }
      if (r) {
        valid.push_back(k);
        if (stop_at_first) return;
      } else if (c_.issues) {
        failed.push_back(std::move(issues));
      }
    }
  };
  if (!n.any_of.empty()) {
    std::vector<size_t> valid;
    std::vector<std::vector<Issue>> failed;
    run_branches(n.any_of, !mine, valid, failed);
    if (valid.empty()) {
      size_t before = c_.issues ? c_.issues->size() : 0;
      if (c_.issues) best_branch(failed);
      if (c_.issues && c_.issues->size() == before)
        report(n, "anyOf", "value matches none of the anyOf branches");
      if (fail()) return false;
    }
  }
  if (!n.one_of.empty()) {
    std::vector<size_t> valid;
    std::vector<std::vector<Issue>> failed;
    run_branches(n.one_of, false, valid, failed);
    if (valid.empty()) {
      size_t before = c_.issues ? c_.issues->size() : 0;
      if (c_.issues) best_branch(failed);
      if (c_.issues && c_.issues->size() == before)
        report(n, "oneOf", "value matches none of the oneOf branches");
      if (fail()) return false;
    } else if (valid.size() > 1) {
      report(n, "oneOf",
             "value matches " + std::to_string(valid.size()) + " oneOf branches (" + branch_list(valid) +
                 "), exactly one expected",
             "exactly 1 branch", std::to_string(valid.size()) + " branches");
      if (fail()) return false;
    }
  }
  if (n.not_schema && probe(*n.not_schema, v, nullptr)) {
    report(n, "not", "value must not match the schema under \"not\"");
    if (fail()) return false;
  }
  if (n.if_schema) {
    if (probe(*n.if_schema, v, mine)) {
      if (n.then_schema && !in_place(*n.then_schema, v, mine) && fail()) return false;
    } else if (n.else_schema && !in_place(*n.else_schema, v, mine) && fail()) {
      return false;
    }
  }
  return ok;
}

Outcome run(const Registry& registry, const Node* root, uint32_t start_depth, element instance,
            const selector::Path& base, std::vector<Issue>* issues, size_t max_issues, const Budget& budget) {
  Context c{registry, budget.max_steps, budget.max_depth, 0, 0, {}, nullptr, 0, {}, !registry.dynamic_anchors.empty(), {},
            issues ? nullptr : budget.pool, std::max<uint64_t>(2, budget.split_min_items)};
  c.issues = issues;
  c.max_issues = max_issues;
  c.path = base;
  c.depth = start_depth;
  Evaluator evaluator(c);
  Outcome out;
  out.valid = evaluator.eval(*root, Value{instance}, nullptr);
  out.limit = c.limit;
  out.steps = c.steps;
  return out;
}

}  // namespace

Outcome Validator::validate(element instance, const Budget& budget) const {
  return run(*registry_, root_, start_depth_, instance, {}, nullptr, 0, budget);
}

Outcome Validator::validate_items(simdjson::dom::array array, const Budget& budget) const {
  Context c{*registry_, budget.max_steps, budget.max_depth, 0, start_depth_, {}, nullptr, 0, {},
            !registry_->dynamic_anchors.empty(), {}, nullptr, 2};
  Evaluator evaluator(c);
  Outcome out;
  for (element e : array)
    if (!evaluator.eval(*root_, Value{e}, nullptr)) {
      out.valid = false;
      break;
    }
  out.limit = c.limit;
  out.steps = c.steps;
  return out;
}

Outcome Validator::explain(element instance, const selector::Path& base, std::vector<Issue>& issues,
                           size_t max_issues, const Budget& budget) const {
  return run(*registry_, root_, start_depth_, instance, base, &issues, max_issues, budget);
}

}  // namespace invar::schema
