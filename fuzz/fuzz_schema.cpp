// (c) JSON Schema bytes compiled (any of the five dialects) and evaluated, on the
// fast and the diagnostics path, on fixed instances. Input: [flags] schema.
#include "fuzz.hpp"
#include "schema_input.hpp"

namespace {

const std::vector<std::string>& instance_texts() {
  static const std::vector<std::string> texts = {
      "null", "true", "0", "-1.5e3", "\"\"", "\"2025-10-20T06:40:00Z\"", "[]", "[1, \"a\", null, [2], {\"b\": 3}]",
      "{}", R"({"a": 1, "b": [true, false], "c": {"d": "e"}, "": 0})",
      // past what a double holds: the exact comparisons (schema/number.hpp)
      "[18446744073709551615, -9223372036854775808, 9007199254740993, 18446744073709551616.0, 1e308, 5e-324]",
      fuzz::slurp(fuzz::source("examples/aws-2025-dns/good.json"))};
  return texts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  static simdjson::dom::parser parser;
  fuzz::Input in(data, size);
  uint8_t flags = in.byte();
  auto validator = fuzz::compile_schema(in.rest(), flags);
  if (!validator) return 0;
  invar::schema::Budget budget;
  budget.max_steps = 200'000;
  for (const auto& text : instance_texts()) {
    auto element = parser.parse(text);
    if (element.error()) __builtin_trap();
    auto fast = validator->validate(element.value(), budget);
    std::vector<invar::schema::Issue> issues;
    invar::selector::Path base;
    validator->explain(element.value(), base, issues, 100, budget);
    (void)fast;
  }
  return 0;
}
