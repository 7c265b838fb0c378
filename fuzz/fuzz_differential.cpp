// (f) Fast paths and the slower paths that locate must agree: the schema
// engine's validate() is valid exactly when explain() finds no issue (unless
// a budget ran out), also when it splits arrays across threads; the reading
// scan over simdjson's tape finds a problem exactly when the element walk
// does. Input: [flags] schema \0 instance.
#include "artifact/reader.hpp"
#include "common/parallel.hpp"
#include "fuzz.hpp"
#include "schema_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  static simdjson::dom::parser parser;
  fuzz::Input in(data, size);
  uint8_t flags = in.byte();
  std::string_view schema_text = in.part();
  std::string instance(in.rest());
  invar::artifact::ReadLimits limits;
  limits.max_string_bytes = flags & 32 ? 4 : limits.max_string_bytes;
  limits.max_nodes = flags & 64 ? 16 : limits.max_nodes;
  limits.allow_duplicate_keys = flags & 128;
  if (auto read = invar::artifact::parse(instance, limits, false, /*scan=*/false); read.document) {
    uint64_t by_tape = 0, by_elements = 0;
    auto tape = invar::artifact::scan(*read.document, limits, &by_tape);
    auto elements = invar::artifact::scan_elements(read.document->root, limits, &by_elements);
    if (tape.has_value() != elements.has_value()) __builtin_trap();
    if (!tape && by_tape != by_elements) __builtin_trap();
  }
  auto element = parser.parse(instance);
  if (element.error()) return 0;
  auto validator = fuzz::compile_schema(schema_text, flags);
  if (!validator) return 0;
  invar::schema::Budget budget;
  budget.max_steps = 200'000;
  budget.max_depth = 64;
  auto fast = validator->validate(element.value(), budget);
  std::vector<invar::schema::Issue> issues;
  invar::selector::Path base;
  auto slow = validator->explain(element.value(), base, issues, 1000, budget);
  if (!fast.limit.empty() || !slow.limit.empty()) return 0;
  if (fast.valid != slow.valid) __builtin_trap();
  if (fast.valid != issues.empty()) __builtin_trap();
  static invar::parallel::Pool pool(2);
  budget.pool = &pool;
  budget.split_min_items = 2;
  auto split = validator->validate(element.value(), budget);
  if (split.limit.empty() && split.valid != fast.valid) __builtin_trap();
  return 0;
}
