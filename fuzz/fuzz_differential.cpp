// (f) The fast verdict path and the diagnostics path of the schema engine
// must agree: valid exactly when explain() finds no issue (unless a budget
// ran out). Input: [flags] schema \0 instance.
#include "fuzz.hpp"
#include "schema_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  static simdjson::dom::parser parser;
  fuzz::Input in(data, size);
  uint8_t flags = in.byte();
  std::string_view schema_text = in.part();
  std::string instance(in.rest());
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
  return 0;
}
