// Strict artifact reading: every bad-input class is a located violation.
#include <catch2/catch.hpp>

#include "artifact/reader.hpp"

using invar::artifact::parse;
using invar::artifact::ReadLimits;

namespace {
invar::artifact::ReadProblem problem(const std::string& text, ReadLimits limits = {}) {
  auto r = parse(text, limits);
  REQUIRE_FALSE(r.document);
  REQUIRE(r.problem);
  return *r.problem;
}
}  // namespace

TEST_CASE("a valid document parses", "[artifact]") {
  auto r = parse(R"({"a": [1, 2, {"b": null}]})", {});
  REQUIRE(r.document);
  CHECK_FALSE(r.problem);
}

TEST_CASE("empty input", "[artifact]") {
  CHECK(problem("").rule == "empty");
  CHECK(problem("").message == "empty input");
  CHECK(problem("   \n").rule == "syntax");
}

TEST_CASE("truncated input is located", "[artifact]") {
  auto p = problem("{\n  \"a\": [1, 2,\n");
  CHECK(p.rule == "syntax");
  CHECK(p.message == "unexpected end of input, a value was expected");
  CHECK(p.line == 3);
  CHECK(p.pointer == "/a/2");
}

TEST_CASE("a located key is decoded in the pointer", "[artifact]") {
  auto p = problem(R"({"\u0041\ttab~/": [1, 2,)");
  CHECK(p.rule == "syntax");
  CHECK(p.pointer == "/A\ttab~0~1/2");
}

TEST_CASE("trailing garbage", "[artifact]") {
  auto p = problem("{\"a\": 1} x");
  CHECK(p.rule == "syntax");
  CHECK(p.message == "trailing content after the JSON value");
  CHECK(p.column == 10);
}

TEST_CASE("invalid UTF-8", "[artifact]") {
  auto p = problem("{\"name\": \"bot\xff\"}");
  CHECK(p.rule == "utf8");
  CHECK(p.message == "invalid UTF-8 byte sequence");
  CHECK(p.pointer == "/name");
  CHECK(problem("[\"\\ud800\"]").rule == "utf8");
  CHECK(problem("[\"\xed\xa0\x80\"]").rule == "utf8");  // an encoded surrogate
}

TEST_CASE("NaN-like tokens", "[artifact]") {
  CHECK(problem("[NaN]").message == "NaN is not a JSON value");
  CHECK(problem("{\"x\": Infinity}").message == "Infinity is not a JSON value");
  CHECK(problem("[01]").message == "leading zero in number");
}

TEST_CASE("numbers out of range", "[artifact]") {
  auto p = problem("{\"n\": 18446744073709551616}");
  CHECK(p.rule == "number");
  CHECK(p.message == "integer 18446744073709551616 is outside the 64-bit range");
  CHECK(problem("[1e400]").message == "number 1e400 is outside the double range");
}

TEST_CASE("duplicate keys are refused by default", "[artifact]") {
  auto p = problem(R"({"features": [{"name": "a", "name": "b"}]})");
  CHECK(p.rule == "duplicate-key");
  CHECK(p.message == "object has the key \"name\" more than once (readers disagree on which value wins)");
  CHECK(p.pointer == "/features/0");
  ReadLimits allow;
  allow.allow_duplicate_keys = true;
  CHECK(parse(R"({"a": 1, "a": 2})", allow).document);
}

TEST_CASE("depth limit, including 100,000 levels", "[artifact]") {
  ReadLimits limits;
  limits.max_depth = 4;
  auto p = problem("[[[[[1]]]]]", limits);
  CHECK(p.rule == "depth");
  CHECK(p.message == "nesting deeper than max_depth 4");
  std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  CHECK(problem(deep).rule == "depth");
}

TEST_CASE("size limit is checked before parsing", "[artifact]") {
  ReadLimits limits;
  limits.max_bytes = 8;
  auto p = problem("[1,2,3,4,5]", limits);
  CHECK(p.rule == "size");
  CHECK(p.message == "artifact is 11 bytes, over max_bytes 8");
}

TEST_CASE("max_depth never exceeds the hard ceiling", "[artifact]") {
  ReadLimits limits;
  limits.max_depth = 1'000'000;
  std::string deep = std::string(20'000, '[') + std::string(20'000, ']');
  auto p = problem(deep, limits);
  CHECK(p.rule == "depth");
  CHECK(p.message == "nesting deeper than max_depth 10000");
}

// The scan decides on simdjson's tape and locates on the element walk: both
// must agree on every document, clean or not, and on the number of values.
TEST_CASE("the tape scan agrees with the element walk", "[artifact]") {
  ReadLimits tight;
  tight.max_string_bytes = 3;
  tight.max_nodes = 6;
  ReadLimits lenient;
  lenient.allow_duplicate_keys = true;
  const std::vector<std::string> documents = {
      "1", "\"abc\"", "[]", "{}", "null", "[1, 2.5, -3, true, false, null, \"x\"]",
      R"({"a": [1, "x", {"b": null}], "c": 2.5})",
      R"({"a": 1, "a": 2})",
      R"({"a": {"x": 1, "y": 2}, "b": {"x": 1, "y": 2}})",          // same keys in sibling objects
      R"({"a": {"a": {"a": 1}}})",                                  // same key at each depth
      R"({"a": {"x": 1, "x": 2}, "b": 1})",                         // repeated deep inside
      R"({"a": {"x": 1}, "b": 1, "a": 2})",                         // repeated after a nested object
      R"([{"k": 1, "k": 2}])",
      R"({"k01":1,"k02":1,"k03":1,"k04":1,"k05":1,"k06":1,"k07":1,"k08":1,"k09":1,"k10":1,"k11":1,"k12":1,"k13":1,"k14":1,"k15":1,"k16":1,"k17":1})",
      R"({"k01":1,"k02":1,"k03":1,"k04":1,"k05":1,"k06":1,"k07":1,"k08":1,"k09":1,"k10":1,"k11":1,"k12":1,"k13":1,"k14":1,"k15":1,"k16":1,"k01":1})",
      R"({"long key": 1})", R"(["long value"])", R"([18446744073709551615, -9223372036854775808, 1e300])",
      R"([[[[[[[1]]]]]]])"};
  for (const auto& text : documents) {
    for (const ReadLimits& limits : {ReadLimits{}, tight, lenient}) {
      INFO(text << " max_string_bytes " << limits.max_string_bytes << " max_nodes " << limits.max_nodes);
      auto parsed = parse(text, limits, false, /*scan=*/false);
      REQUIRE(parsed.document);
      uint64_t by_tape = 0, by_elements = 0;
      auto tape = invar::artifact::scan(*parsed.document, limits, &by_tape);
      auto elements = invar::artifact::scan_elements(parsed.document->root, limits, &by_elements);
      CHECK(tape.has_value() == elements.has_value());
      if (tape && elements) {
        CHECK(tape->rule == elements->rule);
        CHECK(tape->pointer == elements->pointer);
      } else {
        CHECK(by_tape == by_elements);
      }
    }
  }
  uint64_t values = 0;
  auto parsed = parse(R"({"a": [1, "x", {"b": null}], "c": 2.5})", {}, false, false);
  REQUIRE_FALSE(invar::artifact::scan(*parsed.document, {}, &values));
  CHECK(values == 7);
}
