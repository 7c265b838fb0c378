// YAML artifacts, read with libfyaml's event API straight into a simdjson
// tape (no libfyaml document tree, no JSON text in between), so that every
// invariant runs on YAML exactly as on JSON. The JSON data model of the YAML
// 1.2 core schema: mappings with string keys, sequences, scalars typed by the
// core schema. Refused, each with its line and column in the YAML source:
// syntax errors, a non-string key, a tag other than the core ones, .inf/.nan,
// out-of-range numbers, duplicate keys (unless allowed), merge keys (unless
// allowed), a second document (unless many are read), a stream of no document,
// and the limits of ReadLimits (depth, nodes, string bytes) plus
// max_alias_nodes for aliases. YamlOptions reads some of these instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "artifact/origin.hpp"
#include "artifact/reader.hpp"

namespace invar::artifact {

struct YamlOptions {
  bool many_documents = false;  // "$" is the array of the stream's documents
  bool merge_keys = false;      // "<<" merges mappings (YAML 1.1's merge key)
  bool consumer_yaml11 = false; // report plain scalars a YAML 1.1 parser reads otherwise
  bool allow_infinity = false;  // .inf and -.inf read as infinite doubles (.nan is always refused)
  bool keys_as_text = false;    // a scalar key that is not a string (1, true, ~) is the string of its text as written
  bool empty_as_null = false;   // a stream of no document (comments, blanks) is null, not refused
  bool untagged = false;        // a tag outside the core schema (!Ref, !!binary) is dropped: the node reads as untagged
  // A contract or schema file (schema/document.hpp), not an artifact: a
  // decimal integer past 64 bits is read, not refused, as a 'd' tape word
  // holding a NaN whose payload (kBigIntegerMask) indexes
  // YamlResult::big_integers (NaN is never data: .nan is refused; an alias
  // copies the word as any other); messages suggest no contract setting.
  bool document = false;
  // Nodes that alias expansion may add, all aliases together (they also count
  // against max_nodes): the billion-laughs file stops here, in bounded memory.
  uint64_t max_alias_nodes = 1'000'000;
  // Ambiguities kept (the rest only counted): the engine passes
  // Limits::max_report_violations, so a report stays bounded.
  size_t max_ambiguities = SIZE_MAX;
};

// A plain scalar a YAML 1.1 parser reads as something else (consumer_yaml11).
struct Ambiguity {
  std::string pointer;
  Location where;
  std::string text;     // the scalar as written
  std::string yaml12;   // what invar (YAML 1.2) reads, in words
  std::string yaml11;   // what a YAML 1.1 parser reads
};

struct YamlResult {
  DocumentHandle document;             // set on success
  std::optional<ReadProblem> problem;  // set on failure, located
  std::vector<Ambiguity> ambiguous;    // consumer_yaml11 only, at most max_ambiguities
  uint64_t ambiguous_total = 0;        // found, kept or not
  std::vector<std::string> big_integers;  // `document` only: those integers, as JSON number texts
};

inline constexpr uint64_t kBigIntegerNaN = 0x7FF8'0000'0000'0000ull;
inline constexpr uint64_t kBigIntegerMask = (uint64_t(1) << 51) - 1;

// Reads `bytes` (YAML, UTF-8, an optional byte order mark) under `limits`.
// Refuses by size before reading. Never throws on any input.
YamlResult read_yaml(std::string_view bytes, const ReadLimits& limits, const YamlOptions& options);

// Where each of `pointers` is in `bytes` (YAML that reads): one more read that
// notes the start of each value it is asked for. A value inside an alias's
// expansion is located at the alias.
std::unordered_map<std::string, Location> locate_all_yaml(std::string_view bytes, const ReadLimits& limits,
                                                          const YamlOptions& options,
                                                          const std::vector<std::string>& pointers);

class YamlOrigin : public Origin {
 public:
  YamlOrigin(ReadLimits limits, YamlOptions options) : limits_(limits), options_(options) {}
  std::string_view json_text() const override { return {}; }
  std::string_view expected() const override { return "one YAML document in the JSON data model"; }
  std::unordered_map<std::string, Location> locate_all(std::string_view bytes, const std::vector<std::string>& pointers,
                                                       uint32_t) const override {
    return locate_all_yaml(bytes, limits_, options_, pointers);
  }

 private:
  ReadLimits limits_;
  YamlOptions options_;
};

}  // namespace invar::artifact
