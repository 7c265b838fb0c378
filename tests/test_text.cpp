#include <catch2/catch.hpp>

#include "common/text.hpp"

using namespace invar::text;

TEST_CASE("durations", "[text]") {
  CHECK(parse_duration("10m")->count() == 600'000);
  CHECK(parse_duration("1h30m")->count() == 5'400'000);
  CHECK(parse_duration("250ms")->count() == 250);
  CHECK(parse_duration("1.5s")->count() == 1'500);
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("10"));
  CHECK_FALSE(parse_duration("-5m"));
  CHECK_FALSE(parse_duration("5 minutes"));
}

TEST_CASE("byte sizes and amounts", "[text]") {
  CHECK(*parse_bytes("16MiB") == 16ull << 20);
  CHECK(*parse_bytes("512") == 512);
  CHECK(*parse_bytes("1GiB") == 1ull << 30);
  CHECK_FALSE(parse_bytes("16 MB"));
  CHECK_FALSE(parse_bytes("lots"));
  auto pct = parse_amount("20%");
  REQUIRE(pct);
  CHECK(pct->percent);
  CHECK(pct->value == Approx(0.2));
  CHECK_FALSE(parse_amount("20%%"));
  CHECK_FALSE(parse_amount("%"));
}

TEST_CASE("RFC 3339 timestamps", "[text]") {
  CHECK(*parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(*parse_rfc3339("2025-11-18T11:20:00Z") == 1763464800000);
  CHECK(*parse_rfc3339("2025-11-18T12:20:00+01:00") == 1763464800000);
  CHECK(*parse_rfc3339("2025-11-18T11:20:00.250Z") == 1763464800250);
  CHECK(parse_rfc3339("2024-02-29T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2025-02-29T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2025-11-18 11:20"));
  CHECK_FALSE(parse_rfc3339("2025-13-01T00:00:00Z"));
  CHECK(parse_rfc3339("1998-12-31T23:59:60Z"));
  CHECK_FALSE(parse_rfc3339("1998-12-31T22:59:60Z"));
  CHECK(format_rfc3339(1763464800000) == "2025-11-18T11:20:00Z");
  CHECK(format_duration(9'540'000) == "2h39m");
}

TEST_CASE("JSON Pointer tokens and quoting", "[text]") {
  std::string p;
  append_pointer_token(p, "a/b~c");
  append_pointer_index(p, 3);
  CHECK(p == "/a~1b~0c/3");
  CHECK(quoted("a\"b\n") == "\"a\\\"b\\n\"");
  CHECK(quoted(std::string(100, 'x'), 5) == "\"xxxxx...\"");  // cut, and still closed
  CHECK(quoted("\xc3\xa9\xc3\xa9\xc3\xa9", 2) == "\"\xc3\xa9\xc3\xa9...\"");  // characters, not bytes
}

TEST_CASE("compare_numbers orders JSON number texts exactly", "[text]") {
  CHECK(compare_numbers("9007199254740992.0", "9007199254740993") == -1);
  CHECK(compare_numbers("0.3", "0.30000000000000001") == -1);
  CHECK(compare_numbers("1e2", "100.0") == 0);
  CHECK(compare_numbers("-0", "0.0e5") == 0);
  CHECK(compare_numbers("-1.5", "-1.25") == -1);
  CHECK(compare_numbers("-2", "1") == -1);
  CHECK(compare_numbers("123456789012345678901234567890", "123456789012345678901234567891") == -1);
  CHECK(compare_numbers("1E-999999999999999999999", "0") == 1);  // huge exponents saturate, never overflow
  CHECK(compare_numbers("1e400", "9.99e399") == 1);
  CHECK(compare_numbers("0.001", "1e-3") == 0);
  CHECK_FALSE(compare_numbers("01", "1"));
  CHECK_FALSE(compare_numbers("1.", "1"));
  CHECK_FALSE(compare_numbers("\"1\"", "1"));
}

TEST_CASE("compare_rfc3339 orders instants at full precision", "[text]") {
  CHECK(compare_rfc3339("2025-10-20T06:40:00.0001Z", "2025-10-20T06:40:00.0009Z") == -1);
  CHECK(compare_rfc3339("2025-10-20T06:40:00.5000Z", "2025-10-20T06:40:00.5Z") == 0);
  CHECK(compare_rfc3339("2025-10-20T07:40:00+01:00", "2025-10-20T06:40:00Z") == 0);
  CHECK(compare_rfc3339("1998-12-31T23:59:60.1Z", "1998-12-31T23:59:59.9Z") == 1);  // the leap second is later
  CHECK(compare_rfc3339("1998-12-31T23:59:60Z", "1999-01-01T00:00:00Z") == -1);
  CHECK_FALSE(compare_rfc3339("2025-10-20", "2025-10-20T06:40:00Z"));
}

TEST_CASE("printable escapes what could drive a terminal", "[text]") {
  CHECK(printable("plain text, ünïcode") == "plain text, ünïcode");
  CHECK(printable("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  CHECK(printable("\x1b[31mred") == "\\x1b[31mred");
  CHECK(printable("back\\slash") == "back\\\\slash");
  CHECK(printable("\xc2\x85next line") == "\\u0085next line");  // C1 NEL
  CHECK(printable("bad \xff byte") == "bad \\xff byte");
  CHECK(printable("\x7f") == "\\x7f");
  CHECK(printable("\xc2\x9b" "31m \xc2\x9d" "0;t\xc2\x9c") == "\\u009b31m \\u009d0;t\\u009c");  // C1 CSI, OSC, ST
  CHECK(printable("a\xe2\x80\xa8::error::x\xe2\x80\xa9") == "a\\u2028::error::x\\u2029");  // line, paragraph separators
  CHECK(printable("\xe2\x80\xa7\xe2\x80\xb0") == "\xe2\x80\xa7\xe2\x80\xb0");  // U+2027, U+2030 are text
}

TEST_CASE("closest: the candidate a typo meant, or none", "[text]") {
  using invar::text::closest;
  CHECK(closest("headrom", {"min", "max", "headroom"}) == "headroom");
  CHECK(closest("cuont", {"count", "unique"}) == "count");  // a transposition is one edit
  CHECK(closest("requried", {"required", "properties"}) == "required");
  CHECK(closest("minimun", {"minimum", "maximum"}) == "minimum");
  CHECK(closest("zzz", {"min", "max"}).empty());
  CHECK(closest("", {"a"}).empty());
  CHECK(closest(std::string(100, 'a'), {std::string(100, 'a')}).empty());  // bounded: long words get no guess
  CHECK(invar::text::did_you_mean("invarients", {"invariants"}) == " (did you mean \"invariants\"?)");
  CHECK(invar::text::did_you_mean("x", {"invariants"}).empty());
}
