// Numbers of any size in schemas (schema/number.hpp, schema/document.hpp):
// minimum, maximum, their exclusive forms, multipleOf, const and enum compare
// exactly with the int64, uint64 or double an instance holds.
#include <catch2/catch.hpp>

#include <filesystem>

#include "helpers.hpp"
#include "process.hpp"
#include "schema/document.hpp"
#include "schema/number.hpp"
#include "schema/schema.hpp"

using namespace invar::schema;

namespace {

constexpr const char* kUri = "http://invar.test/numbers.json";

// `schema` read as invar reads a schema file (its exact numbers kept), compiled.
std::shared_ptr<const Validator> compile(const std::string& schema, const std::string& path = "numbers.json") {
  NumberTexts numbers;
  auto doc = read_document(schema, path, &numbers);
  if (!doc) FAIL(doc.error().to_string());
  CompileOptions options;
  options.numbers[kUri] = numbers;
  auto v = Validator::compile(*doc, kUri, options);
  if (!v) FAIL(v.error().message);
  return v.value();
}

// Valid on the fast path; the diagnostics path agrees.
bool valid(const Validator& v, const std::string& instance) {
  auto doc = test::parse(instance);
  std::vector<Issue> issues;
  const bool fast = v.validate(doc.root).valid;
  const bool explained = v.explain(doc.root, {}, issues, 10).valid;
  CHECK(fast == explained);
  CHECK(fast == issues.empty());
  return fast;
}

std::string first_issue(const Validator& v, const std::string& instance) {
  auto doc = test::parse(instance);
  std::vector<Issue> issues;
  v.explain(doc.root, {}, issues, 10);
  return issues.empty() ? "" : issues[0].message + " | " + issues[0].expected;
}

}  // namespace

TEST_CASE("numbers: bounds past 64 bits load and judge exactly", "[numbers]") {
  auto below = compile(R"({"exclusiveMaximum": 18446744073709551617})");
  CHECK(valid(*below, "18446744073709551616.0"));  // the double 2^64, below 2^64 + 1
  CHECK(valid(*below, "18446744073709551615"));
  CHECK_FALSE(valid(*below, "18446744073709555712.0"));  // the next double, 2^64 + 4096
  CHECK(first_issue(*below, "1e30") == "value must be < 18446744073709551617 | < 18446744073709551617");

  auto max = compile(R"({"maximum": 18446744073709551615})");  // a uint64 no double holds
  CHECK(valid(*max, "18446744073709551615"));
  CHECK(valid(*max, "18446744073709551614"));
  CHECK_FALSE(valid(*max, "18446744073709551616.0"));  // 2^64: the double nearest the bound, but above it
  CHECK(first_issue(*max, "18446744073709551616.0") == "value must be <= 18446744073709551615 | <= 18446744073709551615");

  auto min = compile(R"({"minimum": -9223372036854775809})");
  CHECK(valid(*min, "-9223372036854775808"));
  CHECK(valid(*min, "-9223372036854775808.0"));
  CHECK_FALSE(valid(*min, "-9223372036854777856.0"));  // -2^63 - 2048
  auto above = compile(R"({"exclusiveMinimum": -18446744073709551616})");
  CHECK(valid(*above, "-9223372036854775808"));
  CHECK_FALSE(valid(*above, "-18446744073709551616.0"));

  // Past the doubles: nlohmann cannot parse such a number; invar keeps its text.
  const std::string huge = "1" + std::string(400, '0');
  auto far = compile(R"({"maximum": )" + huge + R"(, "exclusiveMinimum": -)" + huge + "}");
  CHECK(valid(*far, "1e308"));
  CHECK(valid(*far, "-1.7976931348623157e308"));
  CHECK(first_issue(*compile(R"({"minimum": )" + huge + "}"), "1e308").find("value must be >= 1000000") == 0);
}

TEST_CASE("numbers: a 64-bit integer instance past 2^53 is compared exactly, not as a double", "[numbers]") {
  auto max = compile(R"({"maximum": 9007199254740992})");  // 2^53: a double holds it
  CHECK(valid(*max, "9007199254740992"));
  CHECK_FALSE(valid(*max, "9007199254740993"));  // the same double, a larger integer
  auto odd = compile(R"({"minimum": 9007199254740993})");  // an int64 no double holds
  CHECK_FALSE(valid(*odd, "9007199254740992.0"));
  CHECK(valid(*odd, "9007199254740993"));
  // The fast path is unchanged for ordinary numbers, fractions included:
  // a bound with a fraction is the double nearest it, as the instance's is.
  auto tenth = compile(R"({"exclusiveMaximum": 0.1, "minimum": -1.5})");
  CHECK_FALSE(valid(*tenth, "0.1"));
  CHECK(valid(*tenth, "0.09999999999999999"));
  CHECK(valid(*tenth, "-1.5"));
  CHECK_FALSE(valid(*tenth, "-2"));
}

TEST_CASE("numbers: multipleOf with big values", "[numbers]") {
  auto two64 = compile(R"({"multipleOf": 18446744073709551616})");  // 2^64, a double
  CHECK_FALSE(valid(*two64, "18446744073709551615"));
  CHECK(valid(*two64, "0"));
  CHECK(valid(*two64, "36893488147419103232.0"));       // 2^65
  CHECK_FALSE(valid(*two64, "18446744073709555712.0"));  // 2^64 + 4096: no tolerance for integers
  auto odd = compile(R"({"multipleOf": 18446744073709551617})");  // 2^64 + 1: no double is a multiple
  CHECK(valid(*odd, "0"));
  CHECK_FALSE(valid(*odd, "36893488147419103232.0"));
  CHECK_FALSE(valid(*odd, "18446744073709551615"));
  CHECK(first_issue(*odd, "5") == "value must be a multiple of 18446744073709551617 | multiple of 18446744073709551617");
  auto u64 = compile(R"({"multipleOf": 9007199254740993})");  // 2^53 + 1, a uint64
  CHECK(valid(*u64, "18014398509481986"));
  CHECK_FALSE(valid(*u64, "18014398509481984"));
  auto big_divisor = compile(R"({"multipleOf": 4294967296})");
  CHECK(valid(*big_divisor, "18446744069414584320"));  // (2^32 - 1) * 2^32, a uint64
  CHECK_FALSE(valid(*big_divisor, "18446744069414584321"));
  // Fractional divisors keep their tolerance for decimals, and overflow no more.
  CHECK(valid(*compile(R"({"multipleOf": 0.0001})"), "0.0075"));
  CHECK(valid(*compile(R"({"multipleOf": 0.5})"), "1e308"));
}

TEST_CASE("numbers: const and enum holding big integers equal only that number", "[numbers]") {
  auto c = compile(R"({"const": 18446744073709551616})");
  CHECK_FALSE(valid(*c, "18446744073709551615"));
  CHECK(valid(*c, "18446744073709551616.0"));  // exactly 2^64
  auto plus_one = compile(R"({"const": 18446744073709551617})");
  CHECK_FALSE(valid(*plus_one, "18446744073709551616.0"));
  CHECK(first_issue(*plus_one, "1") == "value is not the required constant | 18446744073709551617");
  auto e = compile(R"({"enum": [18446744073709551617, "x", {"n": [-18446744073709551617]}]})");
  CHECK_FALSE(valid(*e, "18446744073709551616.0"));
  CHECK(valid(*e, R"("x")"));
  CHECK_FALSE(valid(*e, R"({"n": [-18446744073709551616.0]})"));
  CHECK(first_issue(*e, "2").find("one of [18446744073709551617,\"x\",{\"n\":[-18446744073709551617]}]") !=
        std::string::npos);
  // 64-bit integers and doubles compare exactly too.
  auto i = compile(R"({"enum": [9007199254740993]})");
  CHECK_FALSE(valid(*i, "9007199254740992.0"));
  CHECK(valid(*i, "9007199254740993"));
  auto d = compile(R"({"const": 9007199254740992.0})");
  CHECK_FALSE(valid(*d, "9007199254740993"));
  CHECK(valid(*d, "9007199254740992"));
  auto unique = compile(R"({"uniqueItems": true})");
  CHECK(valid(*unique, "[9007199254740993, 9007199254740992.0]"));
  CHECK_FALSE(valid(*unique, "[9007199254740992, 9007199254740992.0]"));
}

TEST_CASE("numbers: counts past 2^64 saturate, and schemas in YAML keep their big numbers", "[numbers]") {
  auto long_string = compile(R"({"minLength": 18446744073709551616, "maxItems": 1)" + std::string(400, '0') + "}");
  CHECK_FALSE(valid(*long_string, R"("abc")"));
  CHECK(valid(*long_string, "[1, 2, 3]"));
  auto yaml = compile("maximum: 18446744073709551615\nexclusiveMinimum: -18446744073709551617\n", "numbers.yaml");
  CHECK(valid(*yaml, "18446744073709551615"));
  CHECK_FALSE(valid(*yaml, "18446744073709551616.0"));
  CHECK(valid(*yaml, "-18446744073709551616.0"));
  auto yaml_const = compile("const: +018446744073709551616\n", "numbers.yaml");
  CHECK(valid(*yaml_const, "18446744073709551616.0"));
  CHECK_FALSE(valid(*yaml_const, "18446744073709551615"));
  auto yaml_enum = compile("enum: [&big 18446744073709551617, *big]\n", "numbers.yaml");  // aliases keep the text
  CHECK_FALSE(valid(*yaml_enum, "18446744073709551616.0"));
  NumberTexts numbers;
  auto doc = read_document("enum: [&big 18446744073709551617, *big]\n", "numbers.yaml", &numbers);
  REQUIRE(doc);
  CHECK(numbers == NumberTexts{{"/enum/0", "18446744073709551617"}, {"/enum/1", "18446744073709551617"}});
  CHECK(read_document("x: 0x1FFFFFFFFFFFFFFFFF\n", "n.yaml").error().message ==
        "\"0x1FFFFFFFFFFFFFFFFF\" is out of range for a 64-bit integer or a double");
  CHECK(read_document(R"({"x": 1e400})", "n.json").error().message == "number 1e400 is outside the double range");
}

TEST_CASE("numbers: artifacts keep refusing integers past 64 bits", "[numbers]") {
  auto c = test::contract(R"({"contract": "n", "invariants": [{"id": "n", "schema": "$", "inline":
      {"properties": {"n": {"exclusiveMaximum": 18446744073709551617, "minimum": -18446744073709551617}}}}]})");
  REQUIRE(c);
  CHECK(c->check(R"({"n": 18446744073709551616.0})").verdict == invar::Verdict::accept);
  CHECK(c->check(R"({"n": 18446744073709555712.0})").verdict == invar::Verdict::reject);
  auto refused = c->check(R"({"n": 18446744073709551616})");
  CHECK(refused.verdict == invar::Verdict::reject);
  REQUIRE(refused.violations.size() == 1);
  CHECK(refused.violations[0].invariant == "artifact.number");
  CHECK(refused.violations[0].message == "integer 18446744073709551616 is outside the 64-bit range");
  // A contract's own numbers past 64 bits are read, and refused where a count is expected.
  auto count = test::contract(R"({"contract": "n", "invariants": [{"id": "c", "count": "$[*]", "max": 18446744073709551616}]})");
  REQUIRE(!count);
  CHECK(count.error().where.pointer == "/invariants/0/max");
  CHECK(count.error().message == "\"max\" must be a non-negative integer");
}

TEST_CASE("numbers: schema files and the files they refer to keep their big numbers", "[numbers]") {
  test::TempDir tmp;
  test::spit(tmp / "s.json", R"({"properties": {"a": {"$ref": "bound.yaml"}, "b": {"$ref": "bound.json#/$defs/b"}}})");
  test::spit(tmp / "bound.yaml", "exclusiveMaximum: 18446744073709551617\n");
  test::spit(tmp / "bound.json", R"({"$defs": {"b": {"maximum": 18446744073709551615}}})");
  auto c = invar::Contract::from_schema_file(tmp / "s.json");
  REQUIRE(c);
  CHECK(c->check(R"({"a": 18446744073709551616.0, "b": 18446744073709551615})").verdict == invar::Verdict::accept);
  auto r = c->check(R"({"a": 1, "b": 18446744073709551616.0})");
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].message == "value must be <= 18446744073709551615");
}
