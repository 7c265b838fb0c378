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

// The numbers of a document that nlohmann::json holds only as a nearby
// double (integers past 64 bits), by JSON Pointer: their exact texts, as
// read_document (schema/document.hpp) finds them.
using NumberTexts = std::map<std::string, std::string>;

// What a keyword the schema's draft does not define is.
enum class KeywordPolicy { error, warn, ignore };

// One schema document known by the URI of its "$id" (a local copy of a
// remote schema: --resolve).
struct SchemaSource {
  std::string file;  // where it was read, for messages
  nlohmann::json document;
  NumberTexts numbers;  // its integers past 64 bits
};

// Local copies of remote schemas by the URI of their "$id" (draft-04: "id"),
// normalized and without a fragment. Several files may claim one URI: a
// reference to it is then an error naming them.
struct SchemaIndex {
  std::map<std::string, std::vector<SchemaSource>> by_id;
  std::vector<std::string> paths;  // what was given (files, directories), for messages
};

// Something compiling noticed that does not stop it (an unknown keyword
// under KeywordPolicy::warn).
struct Warning {
  std::string file;     // document file (or URI)
  std::string pointer;  // JSON Pointer within it
  std::string message;
};

// Warnings kept per compile; past this they are counted in one more.
inline constexpr size_t kMaxWarnings = 100;

struct CompileOptions {
  // The dialect of a schema whose root has no "$schema". A "$schema" must be
  // one of the dialects' URIs, or the URI of a registered (preloaded)
  // metaschema whose own "$schema" is one: anything else is an error.
  Draft default_draft = kDefaultDraft;
  bool format_assertion = false;
  // A keyword the draft does not define, in the schema's own documents (the
  // root and files beside it): an error by default (a typo such as
  // "requried" would otherwise make the schema accept what it meant to
  // refuse); in documents from `resolved` (third-party copies): a warning.
  // Annotations of known vocabularies (is_annotation_keyword) are neither.
  KeywordPolicy unknown_keywords = KeywordPolicy::error;
  KeywordPolicy resolved_unknown_keywords = KeywordPolicy::warn;
  bool allow_unknown_keywords = false;  // true: KeywordPolicy::ignore for every document
  // Local copies of remote schemas, looked up by URI after `preloaded` and
  // the bundled metaschemas. Never the network.
  std::shared_ptr<const SchemaIndex> resolved;
  // ECMA-262 patterns RE2 cannot run (lookaround, backreferences): a compile
  // error, or (pcre2) run on the PCRE2 fallback (regex/fallback.hpp).
  RegexFallback regex_fallback = RegexFallback::none;
  int64_t regex_max_mem = 8 << 20;
  uint64_t max_document_bytes = 4ull << 20;  // for schema files loaded by $ref
  // Documents known by URI before compiling (tests register the suite's remotes).
  std::map<std::string, nlohmann::json> preloaded;
  // Directory whose files (and subfolders) may be loaded by relative $ref;
  // empty: no file access.
  std::string file_root;
  // Exact numbers of the document compiled and of preloaded ones, by their
  // URI (as given to compile() or preloaded): compared exactly (number.hpp).
  std::map<std::string, NumberTexts> numbers;
};

// A pattern compiled for the PCRE2 fallback (CompileOptions::regex_fallback):
// where it is (the document's file or URI, a JSON Pointer into it) and its text.
struct FallbackPattern {
  std::string file;
  std::string pointer;
  std::string pattern;
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

class Validator : public std::enable_shared_from_this<Validator> {
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

  // For reading an object's array member in batches (engine/stream.cpp).
  // When the root schema sees the value of member `name` only through
  // properties/<name> = {"type": ..., "items": S, "minItems": .., "maxItems": ..}
  // (no applicator, const, enum, pattern or unevaluated keyword at the root,
  // no dynamic reference in the schema), the split: then `root` against the
  // object with an empty array for `name`, the element count against the
  // bounds, and `items` against each element decide exactly what this schema
  // decides. Else nullopt. `name` "": the root itself is the array (NDJSON's
  // records), with only type, items, minItems and maxItems (and annotations).
  struct MemberSplit {
    std::shared_ptr<const Validator> root;   // this schema, less the member's minItems/maxItems
    std::shared_ptr<const Validator> items;  // S, evaluated at the depth it has under the root
    uint64_t min_items = 0;
    std::optional<uint64_t> max_items;
  };
  std::optional<MemberSplit> split_member(std::string_view name) const;

  // What compiling noticed (unknown keywords under KeywordPolicy::warn), in
  // document order, at most kMaxWarnings (then one that counts the rest).
  const std::vector<Warning>& warnings() const { return warnings_; }
  // The members split_member() splits, in the schema's order.
  std::vector<std::string> splittable_members() const;

  // The patterns that run on the PCRE2 fallback, in the order compiled.
  const std::vector<FallbackPattern>& fallback_patterns() const;

 private:
  Validator();
  std::shared_ptr<Registry> registry_;  // shared with split_member's items validator
  const Node* root_ = nullptr;
  uint32_t start_depth_ = 0;  // the depth root_ has under the schema's root
  std::string uri_;           // what compile() was given, for split_member's root
  std::shared_ptr<const CompileOptions> options_;
  std::vector<Warning> warnings_;
};

}  // namespace invar::schema
