// Contract loading: every contract-error class is located, with an exact message.
#include <catch2/catch.hpp>

#include "helpers.hpp"

namespace {
std::string error_of(const std::string& text) {
  auto c = test::contract(text);
  REQUIRE_FALSE(c);
  return c.error().to_string();
}
// The same without the line and column (the message is what these tests pin;
// "load errors are located" pins the locations).
std::string message_of(const std::string& text) {
  auto c = test::contract(text);
  REQUIRE_FALSE(c);
  invar::Error e = c.error();
  e.where.line = e.where.column = 0;
  return e.to_string();
}
const char* kHead = R"({"contract": "t", "invariants": [)";
std::string with(const std::string& invariant) { return kHead + invariant + "]}"; }
}  // namespace

TEST_CASE("the bundled contracts load", "[contract]") {
  for (const char* name : {"feature-file", "dns-plan", "waf-ruleset", "waf-ruleset-re2", "service-policy"}) {
    auto c = invar::Contract::load_file(test::source(std::string("rules/") + name + ".contract.json"));
    INFO(name << ": " << (c ? "" : c.error().to_string()));
    CHECK(c);
  }
}

TEST_CASE("syntax errors are located by line and column", "[contract]") {
  CHECK(error_of("{\"contract\": \"t\",\n \"invariants\": [}") ==
        "test.contract.json:2:17: /invariants/0: expected a JSON value");
}

// nlohmann keeps the last of repeated keys; a contract (or schema) that says
// two things at once is refused, as a repeated key in an artifact is.
TEST_CASE("repeated keys are refused, escaped spellings included", "[contract]") {
  CHECK(error_of("{\"contract\": \"t\",\n \"invariants\": [{\"id\": \"a\", \"count\": \"$.x[*]\", \"max\": 1, \"max\": 100}]}") ==
        "test.contract.json:2:58: /invariants/0: object has the key \"max\" more than once (readers disagree on which value "
        "wins)");
  CHECK(error_of(R"({"contract": "t", "invariants": [], "\u0063ontract": "u"})") ==
        "test.contract.json:1:37: object has the key \"contract\" more than once (readers disagree on which value wins)");
  CHECK(error_of(R"({"contract": "t", "invariants": [{"id": "s", "schema": "$", "inline": {"type": "object", "type": "array"}}]})") ==
        "test.contract.json:1:90: /invariants/0/inline: object has the key \"type\" more than once (readers disagree on "
        "which value wins)");
}

TEST_CASE("load errors are located by line and column, and suggest the key meant", "[contract]") {
  // A missing key is located at the object that lacks it.
  CHECK(error_of("{\"contract\": \"t\",\n \"invariants\": [\n  {\"id\": \"a\", \"count\": \"$\"}]}") ==
        "test.contract.json:3:3: /invariants/0: a count invariant needs \"min\", \"max\" or both");
  CHECK(error_of("{\"invariants\": [{\"id\": \"a\", \"count\": \"$\", \"max\": 1}]}") ==
        "test.contract.json:1:1: /contract: \"contract\" must be a non-empty string naming the contract");
  CHECK(error_of("{\"contract\": \"t\",\n \"invarients\": []}") ==
        "test.contract.json:2:16: /invarients: unknown key \"invarients\" (did you mean \"invariants\"?) (expected "
        "contract, description, schema_dialect, regex_fallback, resolve, unknown_keywords, artifact, invariants)");
  CHECK(error_of(with("{\"id\": \"a\", \"count\": \"$.x[*]\", \"max\": 10,\n  \"headrom\": \"10%\"}")) ==
        "test.contract.json:2:14: /invariants/0/headrom: unknown key \"headrom\" for a count invariant (did you mean "
        "\"headroom\"?)");
  CHECK(message_of(with(R"({"id": "a", "cuont": "$.x[*]"})")) ==
        "test.contract.json: /invariants/0/cuont: unknown invariant kind \"cuont\" (did you mean \"count\"?) (known: "
        "schema, match, not_match, regex_safe, refs, count, unique, freshness, delta, churn, monotonic, immutable, trial)");
  CHECK(message_of(with(R"({"id": "a", "count": "$.x[*]", "max": 1, "severity": "eror"})")) ==
        "test.contract.json: /invariants/0/severity: \"severity\" must be \"error\" or \"warn\" (did you mean \"error\"?)");
  // Nothing close enough: no guess.
  CHECK(message_of(with(R"({"id": "a", "count": "$.x[*]", "max": 1, "zzz": 2})")) ==
        "test.contract.json: /invariants/0/zzz: unknown key \"zzz\" for a count invariant");
}

TEST_CASE("every load error at once, each located, in order", "[contract]") {
  auto c = test::contract("{\"contract\": \"t\", \"extra\": 1, \"invariants\": [\n"
                          "  {\"id\": \"a\", \"count\": \"$.x[*]\", \"max\": 1, \"headrom\": 1},\n"
                          "  {\"id\": \"ok\", \"count\": \"$.x[*]\", \"max\": 1},\n"
                          "  {\"id\": \"b\", \"cuont\": \"$.x[*]\"},\n"
                          "  {\"id\": \"ok\", \"count\": \"$.x[*]\", \"max\": 2}]}");
  REQUIRE_FALSE(c);
  const invar::Error& e = c.error();
  CHECK(e.to_string() == "test.contract.json:1:28: /extra: unknown key \"extra\" (expected contract, description, "
                         "schema_dialect, regex_fallback, resolve, unknown_keywords, artifact, invariants)");
  REQUIRE(e.also.size() == 3);
  CHECK(e.also[0].to_string() == "test.contract.json:2:55: /invariants/0/headrom: unknown key \"headrom\" for a count "
                                 "invariant (did you mean \"headroom\"?)");
  CHECK(e.also[1].to_string().rfind("test.contract.json:4:24: /invariants/2/cuont: unknown invariant kind \"cuont\" (did "
                                    "you mean \"count\"?)", 0) == 0);
  CHECK(e.also[2].to_string() == "test.contract.json:5:10: /invariants/3/id: duplicate invariant id \"ok\"");
  // Bounded: a contract with a thousand bad invariants reports twenty.
  std::string many = kHead;
  for (int i = 0; i < 1000; ++i) many += std::string(i ? "," : "") + "{\"id\": \"i" + std::to_string(i) + "\", \"cuont\": 1}";
  auto bad = test::contract(many + "]}");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().also.size() == 19);
}

TEST_CASE("unknown keys", "[contract]") {
  CHECK(message_of(R"({"contract": "t", "invariants": [], "extra": 1})") ==
        "test.contract.json: /extra: unknown key \"extra\" (expected contract, description, schema_dialect, "
        "regex_fallback, resolve, unknown_keywords, artifact, invariants)");
  CHECK(message_of(with(R"({"id": "a", "count": "$.x[*]", "max": 1, "maximum": 2})")) ==
        "test.contract.json: /invariants/0/maximum: unknown key \"maximum\" for a count invariant");
  CHECK(message_of(R"({"contract": "t", "artifact": {"limits": {"max_values": 1}}, "invariants": []})") ==
        "test.contract.json: /artifact/limits/max_values: unknown limit \"max_values\" (expected max_bytes, max_depth, "
        "max_nodes, max_string_bytes, max_alias_nodes)");
  CHECK(message_of(R"({"contract": "t", "artifact": {"format": "yaml", "yaml": {"merge": "allow"}}, "invariants": []})") ==
        "test.contract.json: /artifact/yaml/merge: unknown key \"merge\" (expected consumer, merge_keys, infinity, keys, empty, tags)");
}

TEST_CASE("unknown and unsupported kinds", "[contract]") {
  CHECK(message_of(with(R"({"id": "a", "cardinality": "$.x"})")) ==
        "test.contract.json: /invariants/0/cardinality: unknown invariant kind \"cardinality\" (known: schema, match, "
        "not_match, regex_safe, refs, count, unique, freshness, delta, churn, monotonic, immutable, trial)");
  CHECK(message_of(with(R"({"id": "a", "count": "$.x[*]", "unique": "$.x[*]", "max": 1})")) ==
        "test.contract.json: /invariants/0/unique: invariant \"a\" has two kinds: \"count\" and \"unique\"");
  CHECK(message_of(with(R"({"id": "a", "why": "no kind"})")) ==
        "test.contract.json: /invariants/0: invariant \"a\" has no kind (such as \"count\" or \"match\")");
}

TEST_CASE("delta-family parameters", "[contract]") {
  CHECK(message_of(with(R"j({"id": "a", "delta": "length($.x)", "max_increase": "50%"})j")) ==
        "test.contract.json: /invariants/0/delta: a delta measure is \"count(SELECTOR)\", \"sum(SELECTOR)\" or "
        "\"bytes\", not \"length($.x)\"");
  CHECK(message_of(with(R"j({"id": "a", "delta": "count($..x)", "max_increase": "50%"})j")) ==
        "test.contract.json: /invariants/0/delta: selector \"$..x\" at column 2: descendant segment '..' is outside "
        "the supported subset");
  CHECK(message_of(with(R"j({"id": "a", "delta": "bytes"})j")) ==
        "test.contract.json: /invariants/0: a delta invariant needs \"max_increase\", \"max_decrease\" or both");
  CHECK(message_of(with(R"j({"id": "a", "delta": "bytes", "max_increase": "lots"})j")) ==
        "test.contract.json: /invariants/0/max_increase: \"max_increase\" must be a percentage such as \"30%\" or a number");
  CHECK(message_of(with(R"j({"id": "a", "churn": "$.r[*].name", "min_existing": 10})j")) ==
        "test.contract.json: /invariants/0: a churn invariant needs at least one of \"max_added\", \"max_removed\", "
        "\"max_changed\"");
  CHECK(message_of(with(R"j({"id": "a", "each": "$.r[*]", "monotonic": "@.g"})j")) ==
        "test.contract.json: /invariants/0/each: \"each\" is not supported for a monotonic invariant: it measures the "
        "whole artifact against the baseline");
  CHECK(message_of(with(R"j({"id": "a", "monotonic": "$.g", "strict": "yes"})j")) ==
        "test.contract.json: /invariants/0/strict: \"strict\" must be true or false");
  CHECK(message_of(with(R"j({"id": "a", "immutable": "$.g", "waivable": 0})j")) ==
        "test.contract.json: /invariants/0/waivable: \"waivable\" must be true or false");
  CHECK(message_of(with(R"j({"id": "a", "count": "$.g", "max": 1, "require_baseline": true})j")) ==
        "test.contract.json: /invariants/0/require_baseline: unknown key \"require_baseline\" for a count invariant");
}

TEST_CASE("ids are required and unique", "[contract]") {
  CHECK(message_of(with(R"({"count": "$.x[*]", "max": 1})")) ==
        "test.contract.json: /invariants/0/id: every invariant needs a non-empty string \"id\"");
  CHECK(message_of(with(R"({"id": "a", "unique": "$.x[*]"}, {"id": "a", "unique": "$.y[*]"})")) ==
        "test.contract.json: /invariants/1/id: duplicate invariant id \"a\"");
}

TEST_CASE("bad selectors", "[contract]") {
  CHECK(message_of(with(R"({"id": "a", "unique": "$..name"})")) ==
        "test.contract.json: /invariants/0/unique: selector \"$..name\" at column 2: descendant segment '..' is "
        "outside the supported subset");
  CHECK(message_of(with(R"({"id": "a", "each": "$.r[*]", "count": "$.t[*]", "min": 1})")) ==
        "test.contract.json: /invariants/0/count: inside \"each\", selectors are relative: start with '@' instead of '$'");
}

TEST_CASE("bad regexes", "[contract]") {
  CHECK(message_of(with(R"({"id": "a", "match": "$.x", "pattern": "(a"})")) ==
        "test.contract.json: /invariants/0/pattern: pattern \"(a\" does not compile under RE2: missing ): (a");
  CHECK(message_of(with(R"({"id": "a", "match": "$.x", "pattern": "(\\w)\\1"})")) ==
        "test.contract.json: /invariants/0/pattern: pattern \"(\\\\w)\\\\1\" does not compile under RE2: invalid escape "
        "sequence: \\1");
}

TEST_CASE("bad durations and percentages", "[contract]") {
  CHECK(message_of(with(R"({"id": "a", "freshness": "$.t", "max_age": "10 minutes"})")) ==
        "test.contract.json: /invariants/0/max_age: \"max_age\" must be a duration such as \"10m\", \"30s\", \"2h\" or \"1d\"");
  CHECK(message_of(with(R"({"id": "a", "count": "$.x[*]", "max": 200, "headroom": "120%"})")) ==
        "test.contract.json: /invariants/0/headroom: \"headroom\" must be a percentage below 100% such as \"20%\", or a count");
  CHECK(message_of(with(R"({"id": "a", "count": "$.x[*]", "max": 200, "headroom": "lots"})")) ==
        "test.contract.json: /invariants/0/headroom: \"headroom\" must be a percentage below 100% such as \"20%\", or a count");
  CHECK(message_of(R"({"contract": "t", "artifact": {"limits": {"max_bytes": "16 megs"}}, "invariants": []})") ==
        "test.contract.json: /artifact/limits/max_bytes: \"max_bytes\" must be a size such as \"16MiB\" or a number of bytes");
}

TEST_CASE("a contract limit above the one in force is a load error, not ignored", "[contract]") {
  // Regression (issue 28.23): a max_bytes above --max-artifact-bytes (256MiB by
  // default) was silently lowered to it; docs/limits.md says contracts only lower limits.
  auto limits = [](const std::string& l) {
    return R"({"contract": "t", "artifact": {"format": "yaml", "limits": {)" + l +
           R"(}}, "invariants": [{"id": "a", "count": "$.x", "max": 1}]})";
  };
  CHECK(message_of(limits(R"("max_bytes": "512MiB")")) ==
        "test.contract.json: /artifact/limits/max_bytes: \"max_bytes\" 536870912 is above the limit in force "
        "(268435456): a contract may only lower limits; raise it with invar check --max-artifact-bytes, or "
        "Options::limits.max_artifact_bytes");
  CHECK(message_of(limits(R"("max_nodes": 50000001)")) ==
        "test.contract.json: /artifact/limits/max_nodes: \"max_nodes\" 50000001 is above the limit in force "
        "(50000000): a contract may only lower limits; raise it with invar check --max-nodes, or "
        "Options::limits.max_nodes");
  CHECK(message_of(limits(R"("max_depth": 129)")) ==
        "test.contract.json: /artifact/limits/max_depth: \"max_depth\" 129 is above the limit in force (128): a "
        "contract may only lower limits; raise it with Options::limits.max_depth (no CLI option)");
  CHECK(message_of(limits(R"("max_string_bytes": "32MiB")")) ==
        "test.contract.json: /artifact/limits/max_string_bytes: \"max_string_bytes\" 33554432 is above the limit in "
        "force (16777216): a contract may only lower limits; raise it with Options::limits.max_string_bytes (no CLI "
        "option)");
  CHECK(message_of(limits(R"("max_alias_nodes": 1000001)")) ==
        "test.contract.json: /artifact/limits/max_alias_nodes: \"max_alias_nodes\" 1000001 is above the limit in "
        "force (1000000): a contract may only lower limits; this one is fixed");
  // Equal or lower loads; and the limit in force is the caller's.
  CHECK(test::contract(limits(R"("max_bytes": "256MiB", "max_nodes": 50000000, "max_depth": 128)")));
  invar::Options raised;
  raised.limits.max_artifact_bytes = 1ull << 30;
  CHECK(invar::Contract::load_string(limits(R"("max_bytes": "512MiB")"), ".", "t.json", raised));
  invar::Options lowered;
  lowered.limits.max_artifact_bytes = 1 << 20;
  auto refused = invar::Contract::load_string(limits(R"("max_bytes": "16MiB")"), ".", "t.json", lowered);
  REQUIRE(!refused);
  CHECK(refused.error().message ==
        "\"max_bytes\" 16777216 is above the limit in force (1048576): a contract may only lower limits; raise it "
        "with invar check --max-artifact-bytes, or Options::limits.max_artifact_bytes");
}

TEST_CASE("a missing schema file", "[contract]") {
  CHECK(message_of(R"({"contract": "t", "artifact": {"schema": "nope.schema.json"}, "invariants": []})") ==
        "test.contract.json: /artifact/schema: schema file \"nope.schema.json\": cannot read schema: No such file or directory");
}

TEST_CASE("an inline schema error points into the contract", "[contract]") {
  CHECK(message_of(with(R"({"id": "a", "schema": "$", "inline": {"properties": {"x": {"type": "text"}}}})")) ==
        "test.contract.json: /invariants/0/inline/properties/x/type: unknown type \"text\"");
}

TEST_CASE("a contract needs invariants", "[contract]") {
  CHECK(message_of(R"({"contract": "t", "invariants": []})") ==
        "test.contract.json: /invariants: a contract needs at least one invariant");
  CHECK(message_of(R"({"invariants": []})") ==
        "test.contract.json: /contract: \"contract\" must be a non-empty string naming the contract");
}

TEST_CASE("schema_dialect names the dialect of the contract's schemas without $schema", "[contract][dialect]") {
  const std::string draft4 = R"({"contract": "t", "schema_dialect": "draft-04", "invariants": [
      {"id": "n", "schema": "$.n", "inline": {"maximum": 10, "exclusiveMaximum": true}}]})";
  auto c = test::contract(draft4);
  REQUIRE(c);
  CHECK(c->check(R"({"n": 9})").verdict == invar::Verdict::accept);
  CHECK(c->check(R"({"n": 10})").verdict == invar::Verdict::reject);
  // The contract's key wins over Options::default_dialect.
  invar::Options options;
  options.default_dialect = "draft-07";  // would refuse the boolean exclusiveMaximum
  CHECK(invar::Contract::load_string(draft4, ".", "t.contract.json", options));
  CHECK(error_of(R"({"contract": "t", "schema_dialect": "draft-4", "invariants": [{"id": "n", "count": "$", "max": 1}]})") ==
        "test.contract.json:1:37: /schema_dialect: unknown JSON Schema dialect \"draft-4\" (did you mean \"draft-04\"?) "
        "(supported: draft-04, draft-06, draft-07, 2019-09, 2020-12)");
}
