// Every budget ends in a clear verdict naming the limit: never a crash, a
// hang or unbounded memory. (Size and depth are in test_artifact.cpp and the
// CLI test: a 2 GiB sparse file, 100,000 levels of nesting.)
#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "schema/schema.hpp"

namespace {

invar::Report check(const std::string& contract, const std::string& artifact, const invar::Options& options = {}) {
  auto c = invar::Contract::load_string(contract, test::source("rules"), "test.contract.json", options);
  if (!c) FAIL(c.error().to_string());
  return c->check(artifact);
}

const invar::Violation& only(const invar::Report& r) {
  REQUIRE(r.violations.size() == 1);
  return r.violations[0];
}

}  // namespace

TEST_CASE("budgets: max_nodes and max_string_bytes", "[budgets]") {
  std::string contract = R"j({"contract": "t", "artifact": {"limits": {"max_nodes": 5, "max_string_bytes": 8}},
    "invariants": [{"id": "n", "count": "$[*]", "min": 0}]})j";
  CHECK(check(contract, "[1, 2, 3, 4]").verdict == invar::Verdict::accept);  // 5 values with the array
  auto nodes = check(contract, "[1, 2, 3, 4, 5]");
  CHECK(nodes.verdict == invar::Verdict::reject);
  CHECK(only(nodes).invariant == "artifact.nodes");
  CHECK(only(nodes).message == "more than max_nodes 5 values");
  auto str = check(contract, R"(["12345678", "123456789"])");
  CHECK(only(str).invariant == "artifact.string");
  CHECK(only(str).message == "a string of 9 bytes, over max_string_bytes 8");
  CHECK(only(str).pointer == "/1");
  auto key = check(contract, R"([{"123456789": 1}])");
  CHECK(only(key).message == "a key of 9 bytes, over max_string_bytes 8");
  CHECK(only(key).pointer == "/0");
}

TEST_CASE("budgets: max_selector_matches", "[budgets]") {
  invar::Options options;
  options.limits.max_selector_matches = 3;
  std::string contract = R"j({"contract": "t", "invariants": [{"id": "u", "unique": "$[*]"}]})j";
  CHECK(check(contract, "[1, 2, 3]", options).verdict == invar::Verdict::accept);
  auto over = check(contract, "[1, 2, 3, 4]", options);
  CHECK(over.verdict == invar::Verdict::reject);
  CHECK(only(over).message == "$[*] selects more than max_selector_matches 3 nodes; the invariant was not evaluated");
}

TEST_CASE("budgets: a 1 MB regex literal, in a contract and in an artifact", "[budgets]") {
  std::string literal(1 << 20, 'a');
  auto c = invar::Contract::load_string(
      R"({"contract": "t", "invariants": [{"id": "m", "match": "$.x", "pattern": ")" + literal + R"("}]})",
      test::source("rules"), "big.contract.json");
  REQUIRE(!c);
  CHECK(c.error().code == invar::ErrorCode::regex);
  CHECK(c.error().message.find("does not compile under RE2: pattern too large") != std::string::npos);
  auto r = check(R"j({"contract": "t", "invariants": [{"id": "r", "regex_safe": "$.rules[*]"}]})j",
                 R"({"rules": [")" + literal + R"("]})");
  CHECK(r.verdict == invar::Verdict::reject);
  CHECK(only(r).message.find("does not compile under RE2: pattern too large") != std::string::npos);
}

TEST_CASE("budgets: a billion-laughs schema ends at max_eval_steps", "[budgets]") {
  // Each level refers to the next one ten times: 10^9 evaluations if unbounded.
  std::string defs;
  for (int level = 0; level < 9; ++level) {
    std::string next = "#/$defs/l" + std::to_string(level + 1);
    std::string refs;
    for (int k = 0; k < 10; ++k) refs += std::string(k ? "," : "") + R"({"$ref": ")" + next + R"("})";
    defs += "\"l" + std::to_string(level) + "\": {\"allOf\": [" + refs + "]},";
  }
  defs += R"("l9": {"type": "number"})";
  std::string contract = R"({"contract": "t", "invariants": [{"id": "s", "schema": "$", "inline": {"$defs": {)" + defs +
                         R"(}, "$ref": "#/$defs/l0"}}]})";
  invar::Options options;
  options.limits.max_eval_steps = 100'000;
  auto r = check(contract, "1", options);
  CHECK(r.verdict == invar::Verdict::reject);
  CHECK(only(r).message == "schema evaluation stopped at the limit max_eval_steps 100000");
}

TEST_CASE("budgets: a huge enum and a $ref cycle load and end", "[budgets]") {
  std::string values;
  for (int i = 0; i < 100'000; ++i) values += (i ? "," : "") + std::to_string(i);
  std::string contract = R"({"contract": "t", "invariants": [{"id": "s", "schema": "$[*]", "inline": {"enum": [)" +
                         values + "]}}]}";
  CHECK(check(contract, "[0, 99999]").verdict == invar::Verdict::accept);
  CHECK(check(contract, "[100000]").verdict == invar::Verdict::reject);
  auto cycle = check(R"j({"contract": "t", "invariants": [{"id": "s", "schema": "$", "inline":
      {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}}]})j",
                     "1");
  CHECK(cycle.verdict == invar::Verdict::reject);
  CHECK(only(cycle).message == "schema evaluation stopped at the limit max_schema_depth 256");
}

TEST_CASE("budgets: 10,000 invariants load, check and report", "[budgets]") {
  std::string invariants;
  for (int i = 0; i < 10'000; ++i)
    invariants += std::string(i ? "," : "") + R"({"id": "c)" + std::to_string(i) + R"(", "count": "$.a[?@ > )" +
                  std::to_string(i % 10) + R"(]", "max": 5})";
  std::string contract = R"({"contract": "t", "invariants": [)" + invariants + "]}";
  auto r = check(contract, "[]");
  CHECK(r.verdict == invar::Verdict::accept);
  CHECK(r.invariants.size() == 10'000);
  auto over = check(contract, R"({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]})");
  CHECK(over.verdict == invar::Verdict::reject);
  // "$.a[?@ > k]" selects 10 - k values: over max 5 for k < 5.
  uint64_t failed = 0;
  for (const auto& inv : over.invariants) failed += inv.outcome == invar::Outcome::fail;
  CHECK(failed == 5'000);
}

TEST_CASE("budgets: a metaschema loop and a dialect chain end in a clear error", "[budgets][dialect]") {
  using nlohmann::json;
  invar::schema::CompileOptions options;
  // Two registered metaschemas that name each other: no dialect is reached.
  options.preloaded["http://invar.test/a"] = json::parse(R"({"$schema": "http://invar.test/b"})");
  options.preloaded["http://invar.test/b"] = json::parse(R"({"$schema": "http://invar.test/a"})");
  auto loop = invar::schema::Validator::compile(json::parse(R"({"$schema": "http://invar.test/a"})"),
                                                "http://invar.test/s.json", options);
  REQUIRE_FALSE(loop);
  CHECK(loop.error().message.rfind("unknown \"$schema\" \"http://invar.test/a\": invar evaluates draft-04", 0) == 0);
  // A chain of custom metaschemas that ends at an official one is that dialect.
  options.preloaded["http://invar.test/c"] = json::parse(R"({"$schema": "http://json-schema.org/draft-04/schema#"})");
  options.preloaded["http://invar.test/d"] = json::parse(R"({"$schema": "http://invar.test/c"})");
  auto chain = invar::schema::Validator::compile(
      json::parse(R"({"$schema": "http://invar.test/d", "maximum": 1, "exclusiveMaximum": true})"),
      "http://invar.test/s.json", options);
  REQUIRE(chain);
  auto doc = test::parse("1");
  CHECK_FALSE(chain.value()->validate(doc.root).valid);
  // A $ref loop through the official metaschemas and back ends at the depth budget, not in a crash.
  auto meta = invar::schema::Validator::compile(
      json::parse(R"({"$defs": {"x": {"$ref": "#/$defs/y"}, "y": {"allOf": [{"$ref": "https://json-schema.org/draft/2020-12/schema"}, {"$ref": "#/$defs/x"}]}}, "$ref": "#/$defs/x"})"),
      "http://invar.test/s.json", {});
  REQUIRE(meta);
  auto schema_doc = test::parse(R"({"type": "object"})");
  auto outcome = meta.value()->validate(schema_doc.root);
  CHECK_FALSE(outcome.valid);
  CHECK(outcome.limit == "max_schema_depth 256");
}
