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
