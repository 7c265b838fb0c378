// The schema engine beyond the official suite: locations, best match,
// formats, file references, budgets.
#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "engine/plan.hpp"
#include "common/parallel.hpp"
#include "schema/schema.hpp"

using namespace invar::schema;
using nlohmann::json;

namespace {
std::shared_ptr<const Validator> compile(const std::string& schema, CompileOptions options = {}) {
  auto v = Validator::compile(json::parse(schema), "http://invar.test/s.json", options);
  if (!v) FAIL(v.error().message);
  return v.value();
}
std::vector<Issue> issues(const Validator& v, const std::string& instance) {
  auto doc = test::parse(instance);
  std::vector<Issue> out;
  v.explain(doc.root, {}, out, 100);
  return out;
}
}  // namespace

TEST_CASE("issues carry instance and keyword locations", "[schema]") {
  auto v = compile(R"({"properties": {"features": {"items": {"$ref": "#/$defs/f"}}},
                       "$defs": {"f": {"required": ["name"], "properties": {"name": {"minLength": 1}}}}})");
  auto found = issues(*v, R"({"features": [{"name": "ok"}, {"name": ""}, {}]})");
  REQUIRE(found.size() == 2);
  CHECK(found[0].instance_pointer == "/features/1/name");
  CHECK(found[0].keyword_location == "http://invar.test/s.json#/$defs/f/properties/name/minLength");
  CHECK(found[0].message == "string is empty");
  CHECK(found[1].instance_pointer == "/features/2");
  CHECK(found[1].message == "required property \"name\" is missing");
}

TEST_CASE("anyOf reports the closest branch, not every branch", "[schema]") {
  auto v = compile(R"({"anyOf": [{"type": "string"},
                                  {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}]})");
  auto found = issues(*v, R"({"id": "x"})");
  REQUIRE(found.size() == 1);
  CHECK(found[0].instance_pointer == "/id");
  CHECK(found[0].message == "expected integer, got string \"x\"");
  CHECK(issues(*v, R"("fine")").empty());
}

TEST_CASE("oneOf with two matches says which", "[schema]") {
  auto v = compile(R"({"oneOf": [{"minimum": 0}, {"maximum": 10}]})");
  auto found = issues(*v, "5");
  REQUIRE(found.size() == 1);
  CHECK(found[0].message == "value matches 2 oneOf branches (0 and 1), exactly one expected");
}

TEST_CASE("format is an annotation unless asserted", "[schema]") {
  std::string schema = R"({"properties": {"at": {"format": "date-time"}, "ip": {"format": "ipv4"},
                           "host": {"format": "hostname"}, "id": {"format": "uuid"}, "v6": {"format": "ipv6"}}})";
  auto lax = compile(schema);
  CompileOptions strict_options;
  strict_options.format_assertion = true;
  auto strict = compile(schema, strict_options);
  std::string bad = R"({"at": "yesterday", "ip": "300.1.1.1", "host": "-bad-", "id": "123", "v6": "1:::2"})";
  std::string good = R"({"at": "2025-11-18T11:20:00Z", "ip": "10.0.0.1", "host": "api.example.com",
                         "id": "123e4567-e89b-12d3-a456-426614174000", "v6": "2001:db8::1"})";
  CHECK(issues(*lax, bad).empty());
  CHECK(issues(*strict, bad).size() == 5);
  CHECK(issues(*strict, good).empty());
}

TEST_CASE("a pattern only a backtracking engine runs is a schema error by default, never skipped", "[schema]") {
  auto v = Validator::compile(json::parse(R"({"properties": {"a": {"pattern": "(?<=x)y"}}})"), "http://invar.test/s.json", {});
  REQUIRE_FALSE(v);
  CHECK(v.error().where.pointer == "/properties/a/pattern");
  CHECK(v.error().message.rfind("pattern \"(?<=x)y\" uses lookbehind (?<=...) (at offset 0), which no linear-time", 0) == 0);
}

TEST_CASE("a subschema that is not a schema is a located error (found by fuzz_schema)", "[schema]") {
  for (const char* text : {R"({"properties": {"": ""}})", R"({"$defs": {"a": []}, "$ref": "#/$defs/a"})"}) {
    INFO(text);
    auto v = Validator::compile(json::parse(text), "http://invar.test/s.json", {});
    REQUIRE_FALSE(v);
    CHECK(v.error().message == "a schema must be an object or a boolean");
  }
  auto v = Validator::compile(json::parse(R"({"properties": {"a": "x"}})"), "http://invar.test/s.json", {});
  REQUIRE_FALSE(v);
  CHECK(v.error().where.pointer == "/properties/a");
}

TEST_CASE("unresolvable references are compile errors", "[schema]") {
  auto v = Validator::compile(json::parse(R"({"$ref": "#/$defs/missing"})"), "http://invar.test/s.json", {});
  REQUIRE_FALSE(v);
  CHECK(v.error().where.pointer == "/$ref");
  CHECK(v.error().message.rfind("cannot resolve $ref \"http://invar.test/s.json#/$defs/missing\"", 0) == 0);
}

TEST_CASE("a $ref cycle ends at the depth budget", "[schema]") {
  auto v = compile(R"({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})");
  auto doc = test::parse("1");
  auto out = v->validate(doc.root);
  CHECK_FALSE(out.valid);
  CHECK(out.limit == "max_schema_depth 256");
}

TEST_CASE("the step budget bounds evaluation", "[schema]") {
  auto v = compile(R"({"items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}})");
  auto doc = test::parse("[1,2,3,4,5,6,7,8,9,10]");
  Budget tight;
  tight.max_steps = 10;
  auto out = v->validate(doc.root, tight);
  CHECK_FALSE(out.valid);
  CHECK(out.limit == "max_eval_steps 10");
  CHECK(v->validate(doc.root).valid);
}

TEST_CASE("draft-07 is chosen by $schema", "[schema]") {
  // In draft-07, items as an array is a tuple and $ref hides its siblings.
  auto v = compile(R"({"$schema": "http://json-schema.org/draft-07/schema#",
                       "items": [{"type": "integer"}], "additionalItems": false})");
  CHECK(issues(*v, "[1]").empty());
  CHECK(issues(*v, "[1, 2]").size() == 1);
}

TEST_CASE("$ref reaches sibling schema files, never outside their folder", "[schema]") {
  invar::Options options;
  auto v = invar::contract::load_schema_file(test::source("tests/schemas/record.schema.json"), options);
  REQUIRE(v);
  auto found = issues(*v.value(), R"({"name": ""})");
  REQUIRE(found.size() == 1);
  CHECK(found[0].keyword_location == "common.schema.json#/$defs/name/minLength");
  auto escape = invar::contract::load_schema_file(test::source("tests/schemas/escape.schema.json"), options);
  REQUIRE_FALSE(escape);
  CHECK(escape.error().message.rfind("cannot resolve $ref", 0) == 0);
}

// validate() with threads splits a long array's items into slices: the
// verdict is the one-thread verdict wherever the failing item is, and the
// step budget is shared, not multiplied.
TEST_CASE("items split across threads keep the verdict and the budget", "[schema]") {
  auto v = compile(R"({"type": "array", "items": {"type": "object", "required": ["id"],
                       "properties": {"id": {"type": "integer", "minimum": 0}}}})");
  const int n = 10'000;
  auto array_with_bad_item_at = [&](int bad) {
    std::string text = "[";
    for (int i = 0; i < n; ++i) text += (i ? "," : "") + std::string(i == bad ? R"({"id": -1})" : R"({"id": 1})");
    return text + "]";
  };
  invar::parallel::Pool pool(4);
  Budget split;
  split.pool = &pool;
  split.split_min_items = 16;
  for (int bad : {-1, 0, 1, 2'499, 2'500, 5'000, 7'777, n - 1}) {
    INFO("bad item at " << bad);
    auto doc = test::parse(array_with_bad_item_at(bad));
    auto one = v->validate(doc.root);
    auto many = v->validate(doc.root, split);
    CHECK(one.valid == (bad < 0));
    CHECK(many.valid == one.valid);
    CHECK(many.limit.empty());
  }
  // Each item costs a few steps: 10,000 items do not fit in 5,000 steps,
  // split or not.
  auto doc = test::parse(array_with_bad_item_at(-1));
  Budget small = split;
  small.max_steps = 5'000;
  auto out = v->validate(doc.root, small);
  CHECK_FALSE(out.valid);
  CHECK(out.limit == "max_eval_steps 5000");
}

TEST_CASE("a keyword the draft does not define is refused, with the keyword meant, and x- annotations pass", "[schema]") {
  auto v = Validator::compile(json::parse(R"({"type": "object", "properties": {"a": {"minimun": 1}}})"),
                              "http://invar.test/s.json", {});
  REQUIRE_FALSE(v);
  CHECK(v.error().where.pointer == "/properties/a/minimun");
  CHECK(v.error().message.rfind("unknown keyword \"minimun\" (did you mean \"minimum\"?) in a 2020-12 schema: ", 0) == 0);
  // draft-07 knows additionalItems but not prefixItems.
  auto d7 = Validator::compile(json::parse(R"({"$schema": "http://json-schema.org/draft-07/schema#", "prefixItems": []})"),
                               "http://invar.test/s.json", {});
  REQUIRE_FALSE(d7);
  CHECK(d7.error().message.rfind("unknown keyword \"prefixItems\" in a draft-07 schema", 0) == 0);
  // Annotations of one's own, and property names that look like keywords, are fine.
  compile(R"({"x-owner": "dns-team", "properties": {"requried": {"type": "string"}}, "title": "t"})");
  // The specification's behaviour, on request.
  CompileOptions ignore;
  ignore.allow_unknown_keywords = true;
  auto lax = compile(R"({"type": "object", "requried": ["a"]})", ignore);
  auto doc = test::parse("{}");
  CHECK(lax->validate(doc.root).valid);  // ignored: "a" is not required
}

TEST_CASE("each dialect is chosen by $schema, and a default dialect covers schemas without one", "[schema][dialect]") {
  // draft-04: exclusiveMaximum is a boolean that makes maximum exclusive.
  auto d4 = compile(R"({"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 10, "exclusiveMaximum": true})");
  CHECK(issues(*d4, "9").empty());
  REQUIRE(issues(*d4, "10").size() == 1);
  CHECK(issues(*d4, "10")[0].message == "value must be < 10");
  // The same schema without "$schema" is a 2020-12 schema: a boolean is an error that names draft-04.
  auto as2020 = Validator::compile(json::parse(R"({"maximum": 10, "exclusiveMaximum": true})"), "http://invar.test/s.json", {});
  REQUIRE_FALSE(as2020);
  CHECK(as2020.error().message ==
        "\"exclusiveMaximum\" must be a number (a boolean here is draft-04's form: declare \"$schema\" or choose the "
        "dialect draft-04)");
  CompileOptions draft4;
  draft4.default_draft = Draft::draft4;
  CHECK(issues(*compile(R"({"maximum": 10, "exclusiveMaximum": true})", draft4), "10").size() == 1);
  // draft-06 has no if/then/else: refused as unknown, ignored when allowed (never evaluated).
  auto d6 = Validator::compile(json::parse(R"({"$schema": "http://json-schema.org/draft-06/schema#", "if": true, "then": false})"),
                               "http://invar.test/s.json", {});
  REQUIRE_FALSE(d6);
  CHECK(d6.error().message.rfind("unknown keyword \"if\" in a draft-06 schema", 0) == 0);
  CompileOptions lax;
  lax.allow_unknown_keywords = true;
  CHECK(issues(*compile(R"({"$schema": "http://json-schema.org/draft-06/schema#", "if": true, "then": false})", lax), "1").empty());
  // 2019-09: items as an array is a tuple (2020-12 says prefixItems).
  auto d2019 = compile(R"({"$schema": "https://json-schema.org/draft/2019-09/schema",
                           "items": [{"type": "integer"}], "additionalItems": false})");
  CHECK(issues(*d2019, "[1]").empty());
  CHECK(issues(*d2019, "[1, 2]").size() == 1);
}

TEST_CASE("an unknown $schema is an error naming the dialects", "[schema][dialect]") {
  auto v = Validator::compile(json::parse(R"({"$schema": "http://json-schema.org/draft-05/schema#"})"),
                              "http://invar.test/s.json", {});
  REQUIRE_FALSE(v);
  CHECK(v.error().where.pointer == "/$schema");
  CHECK(v.error().message ==
        "unknown \"$schema\" \"http://json-schema.org/draft-05/schema#\": invar evaluates draft-04 "
        "\"http://json-schema.org/draft-04/schema\", draft-06 \"http://json-schema.org/draft-06/schema\", draft-07 "
        "\"http://json-schema.org/draft-07/schema\", 2019-09 \"https://json-schema.org/draft/2019-09/schema\", 2020-12 "
        "\"https://json-schema.org/draft/2020-12/schema\" (a custom metaschema must be registered beforehand and "
        "declare one of these)");
  auto not_string = Validator::compile(json::parse(R"({"$schema": 7})"), "http://invar.test/s.json", {});
  REQUIRE_FALSE(not_string);
  CHECK(not_string.error().message == "\"$schema\" must be a URI (a string)");
}

TEST_CASE("the official metaschemas are bundled: $ref to them works offline", "[schema][dialect]") {
  // A schema that says "my value is a draft-07 schema".
  auto v = compile(R"({"$ref": "http://json-schema.org/draft-07/schema#"})");
  auto fine = test::parse(R"({"type": "string", "minLength": 1})");
  CHECK(v->validate(fine.root).valid);
  auto broken = issues(*v, R"({"type": "strin"})");
  REQUIRE_FALSE(broken.empty());
  CHECK(broken[0].instance_pointer == "/type");
  for (const char* uri : {"http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-06/schema#",
                          "https://json-schema.org/draft/2019-09/schema", "https://json-schema.org/draft/2020-12/schema"}) {
    auto meta = compile(std::string(R"({"$ref": ")") + uri + "\"}");
    CHECK(meta->validate(fine.root).valid);
    auto bad = test::parse(R"({"minLength": -1})");
    CHECK_FALSE(meta->validate(bad.root).valid);
  }
}

TEST_CASE("a $ref chain through the five dialects evaluates each schema under its own", "[schema][dialect]") {
  invar::Options options;
  auto v = invar::contract::load_schema_file(test::source("tests/schemas/dialects/root.schema.json"), options);
  REQUIRE(v);
  CHECK(issues(*v.value(), R"({"legacy": 9, "modern": 9, "tuple": ["a"]})").empty());
  CHECK(issues(*v.value(), R"({"tuple": [7]})").empty());  // draft-07's if: not a string, no then
  auto chain = issues(*v.value(), R"({"tuple": ["c", 1]})");
  REQUIRE(chain.size() == 2);  // 2019-09's additionalItems, draft-06's enum behind $ref
  CHECK(chain[0].keyword_location == "constant.schema.json#/definitions/ok/enum");
  CHECK(chain[1].keyword_location == "tuple.schema.json#/additionalItems");
  auto found = issues(*v.value(), R"({"legacy": 10, "modern": 10})");
  REQUIRE(found.size() == 2);
  CHECK(found[0].keyword_location == "legacy.schema.json#/exclusiveMaximum");
  CHECK(found[1].keyword_location == "root.schema.json#/properties/modern/exclusiveMaximum");
}

TEST_CASE("metaschema_of validates a schema file against its dialect's metaschema", "[schema][dialect]") {
  auto good = invar::Contract::metaschema_of(test::source("tests/schemas/dialects/legacy.schema.json"));
  REQUIRE(good);
  auto report = good->check_file(test::source("tests/schemas/dialects/legacy.schema.json"));
  REQUIRE(report);
  CHECK(report->verdict == invar::Verdict::accept);
  // The unknown-dialect default is refused before anything is read.
  invar::Options wrong;
  wrong.default_dialect = "draft-05";
  auto refused = invar::Contract::from_schema_file(test::source("tests/schemas/dialects/legacy.schema.json"), wrong);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "unknown JSON Schema dialect \"draft-05\" (supported: draft-04, draft-06, draft-07, 2019-09, 2020-12)");
}

TEST_CASE("split_member: only a root that sees the member through type, items and bounds splits", "[schema]") {
  auto split = [](const std::string& schema) { return compile(schema)->split_member("records"); };
  auto s = split(R"({"type": "object", "required": ["records"], "additionalProperties": false,
      "properties": {"records": {"type": "array", "minItems": 2, "maxItems": 5, "items": {"$ref": "#/$defs/r"}},
                     "n": {"type": "integer"}},
      "$defs": {"r": {"type": "object", "required": ["id"]}}})");
  REQUIRE(s);
  CHECK(s->min_items == 2);
  CHECK(s->max_items == std::optional<uint64_t>(5));
  // The items validator judges one element; the root, the object with the member emptied.
  auto element = test::parse(R"({"id": 1})");
  auto no_id = test::parse(R"({"name": 1})");
  CHECK(s->items->validate(element.root).valid);
  CHECK_FALSE(s->items->validate(no_id.root).valid);
  auto skeleton = test::parse(R"({"records": [], "n": 3})");
  CHECK(s->root->validate(skeleton.root).valid);  // minItems is the count's to check, not the skeleton's
  CHECK_FALSE(compile(R"({"properties": {"records": {"minItems": 2, "items": true}}})")->validate(skeleton.root).valid);

  CHECK(split(R"({"properties": {"records": {"items": {"type": "object"}}}})"));
  CHECK_FALSE(split(R"({"properties": {"other": {"items": true}}})"));
  CHECK_FALSE(split(R"({"properties": {"records": {"type": "array"}}})"));                        // no items
  CHECK_FALSE(split(R"({"properties": {"records": {"items": true, "uniqueItems": true}}})"));    // looks across
  CHECK_FALSE(split(R"({"properties": {"records": {"items": true, "contains": {}}}})"));
  CHECK_FALSE(split(R"({"properties": {"records": {"items": true}}, "allOf": [{}]})"));          // an applicator
  CHECK_FALSE(split(R"({"properties": {"records": {"items": true}}, "const": {}})"));
  CHECK_FALSE(split(R"({"properties": {"records": {"items": true}}, "unevaluatedProperties": false})"));
  CHECK_FALSE(split(R"({"properties": {"records": {"items": true}}, "patternProperties": {"^r": {}}})"));
  CHECK_FALSE(split(R"({"$schema": "http://json-schema.org/draft-07/schema#",
                        "properties": {"records": {"items": [{"type": "string"}]}}})"));           // a tuple
  CHECK_FALSE(split(R"({"properties": {"records": {"items": {"$dynamicRef": "#meta"}}},
                        "$dynamicAnchor": "meta"})"));
}

// Leaf schemas (type, string enum, bounds, lengths, pattern) and closed
// object schemas take a fast path in validate(); explain() the general one. On valid instances
// both walk the same schemas: the same verdicts and step counts, so budgets
// hold at the same number of steps.
TEST_CASE("the leaf and closed-object fast paths keep verdicts and step counts", "[schema]") {
  auto v = compile(R"({"type": "array", "items": {"$ref": "#/$defs/record"}, "$defs": {
      "name": {"type": "string", "minLength": 1, "maxLength": 12, "pattern": "^[a-z.]+$"},
      "record": {"type": "object", "required": ["name", "type"], "additionalProperties": false, "properties": {
        "name": {"$ref": "#/$defs/name"}, "type": {"enum": ["A", "AAAA"]},
        "ttl": {"type": "integer", "minimum": 0, "maximum": 86400},
        "weight": {"exclusiveMinimum": -1, "exclusiveMaximum": 10}}}}})");
  auto valid = R"([{"name": "a.b", "type": "A", "ttl": 0, "weight": 9.5},
                   {"name": "abcdefghijkl", "type": "AAAA", "ttl": 86400, "weight": "any"},
                   {"name": "x", "type": "A", "ttl": 1e3, "weight": -0.5}])";
  auto doc = test::parse(valid);
  auto fast = v->validate(doc.root);
  std::vector<Issue> none;
  auto general = v->explain(doc.root, {}, none, 100);
  CHECK(fast.valid);
  CHECK(none.empty());
  CHECK(fast.steps == general.steps);
  Budget exact;
  exact.max_steps = fast.steps;
  CHECK(v->validate(doc.root, exact).valid);
  exact.max_steps = fast.steps - 1;
  auto over = v->validate(doc.root, exact);
  CHECK_FALSE(over.valid);
  CHECK(over.limit == "max_eval_steps " + std::to_string(fast.steps - 1));
  for (const char* bad : {R"([{"name": "", "type": "A"}])", R"([{"name": "abcdefghijklm", "type": "A"}])",
                          R"([{"name": "A", "type": "A"}])", R"([{"name": 1, "type": "A"}])",
                          R"([{"name": "a", "type": "MX"}])", R"([{"name": "a", "type": 1}])",
                          R"([{"name": "a", "type": "A", "ttl": -1}])", R"([{"name": "a", "type": "A", "ttl": 86401}])",
                          R"([{"name": "a", "type": "A", "ttl": 1.5}])",
                          R"([{"name": "a", "type": "A", "ttl": 9007199254740993}])",
                          R"([{"name": "a", "type": "A", "weight": 10}])", R"([{"name": "a", "type": "A", "weight": -1}])",
                          R"([{"name": "a", "type": "A", "extra": 1}])", R"([{"name": "a"}])", R"([[]])"}) {
    INFO(bad);
    auto bad_doc = test::parse(bad);
    CHECK_FALSE(v->validate(bad_doc.root).valid);
    CHECK_FALSE(issues(*v, bad).empty());
  }
}

// Members are looked up by (name size, first byte) before the name: names
// sharing that slot, sizes 16 apart, the empty name and unknown names in a
// known name's slot are told apart on both paths.
TEST_CASE("property lookup by slot finds exactly the named properties", "[schema]") {
  auto v = compile(R"({"additionalProperties": false, "properties": {
      "ab": {"type": "integer"}, "ac": {"type": "string"}, "": {"type": "null"}, "q": {"type": "boolean"},
      "qabcdefghijklmnop": {"type": "array"}, "zz": {"type": "object"}}})");
  for (auto [text, valid] : std::vector<std::pair<const char*, bool>>{
           {R"({"ab": 1, "ac": "x", "": null, "q": true, "qabcdefghijklmnop": [], "zz": {}})", true},
           {R"({"ab": "x"})", false}, {R"({"ac": 1})", false}, {R"({"": 0})", false}, {R"({"q": []})", false},
           {R"({"qabcdefghijklmnop": true})", false}, {R"({"ad": 1})", false}, {R"({"a": 1})", false},
           {R"({"zy": {}})", false}, {R"({"r": true})", false}, {R"({"abc": 1})", false}}) {
    INFO(text);
    auto doc = test::parse(text);
    CHECK(v->validate(doc.root).valid == valid);
    CHECK(issues(*v, text).empty() == valid);
  }
}
