#include <catch2/catch.hpp>

#include "regex/backtracking.hpp"
#include "regex/regex.hpp"

using invar::regex::find_superlinear;

TEST_CASE("RE2 compilation with a memory budget", "[regex]") {
  CHECK(invar::regex::compile("^[a-z]+$", 1 << 20).re);
  auto backref = invar::regex::compile("(a)\\1", 1 << 20);
  CHECK_FALSE(backref.re);
  CHECK(backref.error == "invalid escape sequence: \\1");
  auto lookahead = invar::regex::compile("a(?=b)", 1 << 20);
  CHECK(lookahead.error == "invalid perl operator: (?=");
  auto big = invar::regex::compile("(?:abcdefghij){1000}", 64 << 10);
  CHECK_FALSE(big.re);
  CHECK(big.error == "pattern too large for regex_max_mem 65536 bytes");
}

TEST_CASE("ECMA patterns are translated for RE2", "[regex]") {
  CHECK(invar::regex::compile_ecma("^\\p{Letter}+$", 1 << 20).re);
  auto u = invar::regex::compile_ecma("^\\u00e9$", 1 << 20);
  REQUIRE(u.re);
  CHECK(RE2::FullMatch("\xc3\xa9", *u.re));
}

TEST_CASE("super-linear shapes for backtracking engines", "[regex]") {
  auto nested = find_superlinear("^(a+)+$");
  REQUIRE(nested);
  CHECK(nested->sub_pattern == "(a+)+");
  CHECK(nested->reason.rfind("nested unbounded quantifiers", 0) == 0);

  auto cloudflare = find_superlinear(".*(?:.*=.*)");
  REQUIRE(cloudflare);
  CHECK(cloudflare->sub_pattern == ".* followed by .*");
  CHECK(cloudflare->reason.rfind("adjacent unbounded quantifiers", 0) == 0);

  CHECK(find_superlinear("(\\w+\\s?)*$"));
  CHECK(find_superlinear("\\d+\\d*x"));
  CHECK(find_superlinear("(x+x+)+y"));
}

TEST_CASE("linear patterns are not flagged", "[regex]") {
  for (const char* p : {"^[a-z]+$", "^[^=]*=.*$", "(?i)union\\s+select", "(ab+)*c", "^(a|b)*$", "[a-z]+@[a-z]+\\.com",
                        "^\\d{1,3}(\\.\\d{1,3}){3}$", "x*y*", ".*=.*"})
    CHECK_FALSE(find_superlinear(p));
}

TEST_CASE("unparseable patterns fail closed", "[regex]") {
  auto f = find_superlinear("(a");
  REQUIRE(f);
  CHECK(f->reason.find("could not be analysed") != std::string::npos);
  std::string deep = std::string(300, '(') + "a" + std::string(300, ')');
  CHECK(find_superlinear(deep));
}
