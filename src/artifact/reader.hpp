// Strict artifact reading: the data plane. Artifacts are parsed with
// simdjson's DOM; anything two JSON readers could disagree on (duplicate keys,
// invalid UTF-8, trailing bytes, out-of-range numbers) is refused with a
// located reason. All limits are checked before the expensive work.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace invar::artifact {

// A ceiling on max_depth whatever the options say: value hashing and equality
// (uniqueItems, enum, const) recurse over the artifact's depth.
inline constexpr uint32_t kHardMaxDepth = 10'000;

struct ReadLimits {
  uint64_t max_bytes = 256ull << 20;
  uint32_t max_depth = 128;
  uint64_t max_nodes = 50'000'000;        // values (scalars, arrays, objects)
  uint64_t max_string_bytes = 16ull << 20; // one string or key
  bool allow_duplicate_keys = false;
};

// Why bytes were refused. `rule` is the violation id suffix: "size", "empty",
// "syntax", "utf8", "depth", "number", "duplicate-key", "nodes", "string".
struct ReadProblem {
  std::string rule;
  std::string message;
  std::string pointer;   // where in the document, when known
  uint64_t offset = 0;   // byte offset, when known (line/column derived from it)
  uint64_t line = 0;
  uint64_t column = 0;
};

// A parsed artifact. Owns the simdjson parser whose tape `root` points into.
struct Document {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  uint64_t values = 0;  // counted by the strict-reading scan
  // Built by a reader that enforced ReadLimits as it went (YAML's): scan()
  // has nothing left to find and returns at once.
  bool read_strictly = false;
};

// Parsers kept for the next parse. Parsing touches buffers of about 3.5x the
// artifact; touching them the first time costs a page fault per 4 KiB, most
// of a parse's time on a large file. A long-lived contract (a distributor's
// guard re-checking its config) keeps its last parsers (at most kKept), so
// later checks of a similar size take none. Thread-safe.
class DocumentPool {
 public:
  static constexpr size_t kKept = 2;
  std::unique_ptr<Document> take();
  void give(std::unique_ptr<Document> document);

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Document>> free_;
};

// Deletes a document, or gives it back to the pool it came from.
struct DocumentReturn {
  std::shared_ptr<DocumentPool> pool;
  void operator()(Document* document) const;
};
using DocumentHandle = std::unique_ptr<Document, DocumentReturn>;

struct ParseResult {
  DocumentHandle document;             // set on success
  std::optional<ReadProblem> problem;  // set on failure
};

// `padded`: the caller guarantees simdjson::SIMDJSON_PADDING readable bytes
// after `bytes` (see files::read_file), so they are parsed in place.
// `scan`: also run scan() (else the caller must, before trusting the document).
// `threads` > 1: a helper thread may fault in the parser's buffers ahead of
// it (inputs of kPrefaultMinBytes or more, when no pooled parser is large
// enough). `pool`: parse with one of its parsers when it has one, and give
// the document back to it when the handle is dropped.
ParseResult parse(std::string_view bytes, const ReadLimits& limits, bool padded = false, bool scan = true,
                  unsigned threads = 1, const std::shared_ptr<DocumentPool>& pool = nullptr);
inline constexpr size_t kPrefaultMinBytes = 8 << 20;

// Where a value is in the source bytes: byte offset and length (0 for a
// container: only its start), 1-based line and column (in characters:
// Unicode code points).
struct Location {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t line = 1;
  uint64_t column = 1;
};
Location line_column(std::string_view bytes, uint64_t offset);

// Where each of `pointers` is in `bytes` (a document that parses): one
// forward scan that stops once all are found (pointers absent from the
// document are absent from the result). For reporting violations: run only
// when there are some, never on the accept path. Lengths are not set.
std::unordered_map<std::string, Location> locate_all(std::string_view bytes, const std::vector<std::string>& pointers,
                                                     uint32_t max_depth);

// The value at JSON Pointer `pointer` in `bytes` (a document that parses),
// found by one forward scan that stops there; nullopt when absent. For
// reporting and exact number text only: linear in the bytes before it.
std::optional<Location> locate(std::string_view bytes, std::string_view pointer, uint32_t max_depth);

// An integer past the 64-bit range in a contract or schema document: where
// it is, and its text as written.
struct BigInteger {
  std::string pointer;
  uint64_t offset = 0;
  std::string text;
};

// Locates the first syntax error in `bytes` (only called after simdjson has
// refused them, to say where and why). Iterative: no recursion on depth.
// `duplicate_keys`: also a repeated key in an object (contracts and schemas,
// which are read with nlohmann; artifacts' duplicates are scan()'s).
// `big_integers`: integers of any size are read (documents), each past the
// 64-bit range noted there; null: refused (artifacts: simdjson cannot hold them).
std::optional<ReadProblem> locate_problem(std::string_view bytes, uint32_t max_depth, bool duplicate_keys = false,
                                          std::vector<BigInteger>* big_integers = nullptr);

// Walks the parsed document once, iteratively: the first object with a
// repeated key (unless allowed), the first string or key over
// max_string_bytes, or the value past max_nodes.
// `values` receives the number of values walked. A linear pass over the
// parser's tape decides; scan_elements() locates a problem it finds.
std::optional<ReadProblem> scan(const Document& doc, const ReadLimits& limits, uint64_t* values = nullptr);
// The same over the element API (slower; it knows where it is).
std::optional<ReadProblem> scan_elements(simdjson::dom::element root, const ReadLimits& limits,
                                         uint64_t* values = nullptr);

}  // namespace invar::artifact
