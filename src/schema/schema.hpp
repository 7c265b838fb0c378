// JSON Schema (draft-04, -06, -07, 2019-09, 2020-12) compiled once into an immutable
// tree of nodes, then evaluated against simdjson DOM values.
//
// Two evaluation paths share one evaluator: validate() is the fast boolean
// path (stops at the first failure); explain() collects located issues and,
// for anyOf/oneOf, reports the branch that came closest instead of a flood.
#pragma once

#include <simdjson.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "invar/invar.hpp"
#include "schema/dialect.hpp"
#include "selector/jsonpath.hpp"

namespace invar::parallel {
class Pool;
}

namespace invar::schema {

// Nesting limit for contract and schema documents (the control plane).
inline constexpr uint32_t kMaxDocumentDepth = 128;

struct CompileOptions {
  // The dialect of a schema whose root has no "$schema". A "$schema" must be
  // one of the dialects' URIs, or the URI of a registered (preloaded)
  // metaschema whose own "$schema" is one: anything else is an error.
  Draft default_draft = kDefaultDraft;
  bool format_assertion = false;
  // A keyword the draft does not define is an error (a typo such as
  // "requried" would otherwise make the schema accept what it meant to
  // refuse). true: ignored, as the specification says. "x-" prefixed
  // annotations are always allowed.
  bool allow_unknown_keywords = false;
  int64_t regex_max_mem = 8 << 20;
  uint64_t max_document_bytes = 4ull << 20;  // for schema files loaded by $ref
  // Documents known by URI before compiling (tests register the suite's remotes).
  std::map<std::string, nlohmann::json> preloaded;
  // Directory whose files (and subfolders) may be loaded by relative $ref;
  // empty: no file access.
  std::string file_root;
};

struct Issue {
  std::string instance_pointer;  // JSON Pointer into the instance
  std::string keyword_location;  // e.g. "feature.schema.json#/properties/name/minLength"
  std::string message;
  std::string expected;
  std::string actual;
};

struct Budget {
  uint32_t max_depth = 256;
  uint64_t max_steps = 50'000'000;
  parallel::Pool* pool = nullptr;   // set: validate() may split a long array's items into its tasks
  uint64_t split_min_items = 4096;  // the shortest array split (shorter: not worth a task)
};

struct Outcome {
  bool valid = true;
  std::string limit;  // set when a budget ran out: the limit's name and value
  uint64_t steps = 0; // evaluation steps taken (charged to Budget::max_steps)
};

struct Node;
class Registry;

class Validator {
 public:
  ~Validator();
  Validator(Validator&&) noexcept;

  // `document` is the root schema; `uri` its retrieval URI (a file:// URI
  // for files). Errors carry a JSON Pointer into the schema document.
  static Result<std::shared_ptr<const Validator>> compile(const nlohmann::json& document,
                                                          const std::string& uri,
                                                          const CompileOptions& options);

  // Fast path: true when valid. Thread-safe.
  Outcome validate(simdjson::dom::element instance, const Budget& budget = {}) const;

  // validate() of each element of `array`, in order, as one evaluation:
  // stops at the first invalid one; steps add up. Thread-safe.
  Outcome validate_items(simdjson::dom::array array, const Budget& budget = {}) const;

  // Diagnostics path: appends issues (at most `max_issues`); `base` is the
  // instance's location in the artifact. Thread-safe.
  Outcome explain(simdjson::dom::element instance, const selector::Path& base,
                  std::vector<Issue>& issues, size_t max_issues, const Budget& budget = {}) const;

  // For reading an object's array member in batches (engine/stream.cpp): when
  // the root schema sees the value of member `name` only through
  // properties/<name> = {"type": ..., "items": S} (no applicator, const, enum,
  // pattern or unevaluated keyword at the root, no dynamic reference in the
  // schema), the validator of S, evaluated at the depth it has under the root;
  // then the root validated against the object with an empty array for `name`,
  // plus S against each item, decides exactly what the root decides. Else null.
  std::shared_ptr<const Validator> items_of_member(std::string_view name) const;
  // The members items_of_member() splits, in the schema's order.
  std::vector<std::string> splittable_members() const;

 private:
  Validator();
  std::shared_ptr<Registry> registry_;  // shared with items_of_member's validators
  const Node* root_ = nullptr;
  uint32_t start_depth_ = 0;  // the depth root_ has under the schema's root
};

}  // namespace invar::schema
