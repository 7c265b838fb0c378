// (f) The fast verdict path and the diagnostics path of the schema engine
// must agree: valid exactly when explain() finds no issue (unless a budget
// ran out). Input: [flags] schema \0 instance.
#include "engine/plan.hpp"
#include "fuzz.hpp"
#include "schema/schema.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  static simdjson::dom::parser parser;
  fuzz::Input in(data, size);
  uint8_t flags = in.byte();
  auto doc = invar::contract::parse_json(in.part(), "fuzz.schema.json");
  if (!doc) return 0;
  std::string instance(in.rest());
  auto element = parser.parse(instance);
  if (element.error()) return 0;
  invar::schema::CompileOptions options;
  options.default_draft = flags & 1 ? invar::schema::Draft::draft7 : invar::schema::Draft::draft2020_12;
  options.format_assertion = flags & 2;
  auto validator = invar::schema::Validator::compile(*doc, "file:///fuzz/fuzz.schema.json", options);
  if (!validator) return 0;
  invar::schema::Budget budget;
  budget.max_steps = 200'000;
  budget.max_depth = 64;
  auto fast = validator.value()->validate(element.value(), budget);
  std::vector<invar::schema::Issue> issues;
  invar::selector::Path base;
  auto slow = validator.value()->explain(element.value(), base, issues, 1000, budget);
  if (!fast.limit.empty() || !slow.limit.empty()) return 0;
  if (fast.valid != slow.valid) __builtin_trap();
  if (fast.valid != issues.empty()) __builtin_trap();
  return 0;
}
