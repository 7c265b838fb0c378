// JSON Schema "format" assertions (schema/format.hpp) beyond the official
// suite's optional/format cases: the corners of each RFC, IDNA2008's
// contextual and Bidi rules, invalid UTF-8 and long inputs.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "helpers.hpp"
#include "schema/format.hpp"
#include "schema/schema.hpp"

using invar::schema::check_format;

namespace {

const std::vector<std::string> kFormats = {
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4",
    "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uri-template", "json-pointer",
    "relative-json-pointer", "uuid"};

void valid(const std::string& format, const std::vector<std::string>& values) {
  for (const auto& v : values) {
    INFO(format << " " << v);
    CHECK(check_format(format, v));
  }
}

void invalid(const std::string& format, const std::vector<std::string>& values) {
  for (const auto& v : values) {
    INFO(format << " " << v);
    CHECK_FALSE(check_format(format, v));
  }
}

std::string hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += "0123456789abcdef"[c >> 4], out += "0123456789abcdef"[c & 15];
  return out;
}

}  // namespace

TEST_CASE("date and date-time: Feb 29 only in leap years, leap seconds only at 23:59 UTC", "[format]") {
  valid("date", {"2024-02-29", "2000-02-29", "0000-02-29", "1600-02-29", "9999-12-31", "0001-01-01"});
  invalid("date", {"2023-02-29", "1900-02-29", "2100-02-29", "2024-02-30", "2024-04-31", "2024-13-01", "2024-00-10",
                   "2024-01-00", "2024-1-01", "24-01-01", "2024-01-01T00:00:00Z", "2024/01/01", ""});
  valid("date-time", {"2016-12-31T23:59:60Z", "2016-12-31T23:59:60.999Z", "2017-01-01T00:59:60+01:00",
                      "2016-12-31T15:59:60-08:00", "2024-02-29t12:00:00z", "2024-02-29T12:00:00.000000000001+14:00"});
  invalid("date-time", {"2016-12-31T23:58:60Z", "2016-12-31T23:59:60+00:01", "2016-12-31T23:59:61Z",
                        "2023-02-29T12:00:00Z", "2024-02-29 12:00:00Z", "2024-02-29T12:00:00", "2024-02-29T12:00:00.Z",
                        "2024-02-29T12:00Z", "2024-02-29T12:00:00+0100", "2024-02-29T12:00:00+01:00:00"});
  valid("time", {"23:59:60Z", "12:59:60-11:00", "00:29:60+00:30", "00:00:00-00:00", "13:59:60+14:00"});
  invalid("time", {"23:59:60-00:01", "12:59:60Z", "24:00:00Z", "12:00:00", "12:00:00+24:00", "12:00:00+00:60",
                   "1:00:00Z", "12:00:00ZZ"});
}

TEST_CASE("duration: RFC 3339 appendix A designators in order, weeks alone", "[format]") {
  valid("duration", {"P1Y", "P1Y2M", "P1Y2M3D", "P1M2D", "P3D", "PT1H", "PT1H2M", "PT1H2M3S", "PT2M3S", "PT3S",
                     "P1DT1S", "P1YT1H", "P52W", "P0W", "P00000000000000000000000000001D"});
  invalid("duration", {"P", "PT", "P1YT", "P1Y3D", "PT1H3S", "P1W1D", "P1WT1H", "P1D1Y", "PT1S1M", "P1H", "PT1D",
                       "P1.5D", "P-1D", "1D", "P1D ", "p1D", "P1d", "PW", "P1YW"});
}

TEST_CASE("ipv4 and ipv6: dotted quads strictly, IPv6 with an embedded IPv4 tail", "[format]") {
  valid("ipv4", {"0.0.0.0", "255.255.255.255", "10.0.0.1"});
  invalid("ipv4", {"256.0.0.1", "01.0.0.1", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4 ", "1.2.3.04", "0x1.2.3.4"});
  valid("ipv6", {"::", "::1", "1::", "::ffff:10.0.0.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4",
                 "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "FFFF:ffff:0:0:0:0:0:1", "1:2:3:4:5::255.255.255.255"});
  invalid("ipv6", {":::", "1::2::3", "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5:6:7:8:9", "1:2:3:4::5:6:7:8", "1.2.3.4::",
                   "::ffff:1.2.3", "::ffff:1.2.3.04", "::ffff:1.2.3.4:5", "1:2:3:4:5:6:7", "12345::", ":1::", "1::2:",
                   "::g", "fe80::1%eth0", "[::1]", "::1/128", "1:2:3:4:5:6:7:8:1.2.3.4", std::string("::1\0", 4),
                   "1111:2222:3333:4444:5555:6666:255.255.255.2555"});
}

TEST_CASE("uri and uri-reference: RFC 3986, percent-encoding, IP literals, ports", "[format]") {
  valid("uri", {"http://a/b%C3%A9%2F", "http://[v7.abc:def]/", "http://[V1F.x]", "http://a:/", "http://a:8080/p?q#f",
                "urn:isbn:0451450523", "a+b-c.d:x", "file:///etc/hosts", "http://u:p@h/", "s:?#", "s:/a//b",
                "http://[::ffff:1.2.3.4]/", "http://%41/", "mailto:a@b?subject=x%20y"});
  invalid("uri", {"http://a/%zz", "http://a/%4", "http://a/%", "http://[v7.]/", "http://[v.a]/", "http://[1::2::3]/",
                  "http://a:8x/", "http://a b/", "http://a/\x7f", "http://a/#f#g", "http://[::1", "-a:b", "a_b:c",
                  "//a/b", "a", "http://a/\xC3\xA9", "http://h/p|q"});
  valid("uri-reference", {"", "a", "./a:b", "a/b:c", "?q", "#", "//", "//h:1/p", "../../x", "a:b", "%41"});
  invalid("uri-reference", {"a:b c", "1:b", "a%zz", "//h:p/", "[::1]", "#a#", "\\a", "//a@b@c/"});
}

TEST_CASE("iri and iri-reference: UTF-8 ucschar, iprivate only in the query", "[format]") {
  valid("iri", {"http://例え.テスト/パス?q=値#断片", "http://h/\xF0\x9F\x98\x80", "http://h/?\xEE\x80\x80",
                "http://bücher.example/", "http://h/%C3%A9"});
  invalid("iri", {"http://h/\xEE\x80\x80", "http://h/#\xEE\x80\x80", "http://h/\xEF\xBF\xBE", "http://h/\xC2\x85",
                  "http://h/\xC3", "http://h/\xC0\xAF", "http://h/\xED\xA0\x80", "http://h/\xF4\x90\x80\x80",
                  "http://h/\xF3\xA0\x80\x81", "пример"});
  valid("iri-reference", {"пример", "/путь", "#фрагмент", ""});
  invalid("uri", {"http://例え.テスト/"});
  invalid("uri-reference", {"/путь"});
}

TEST_CASE("uri-template: RFC 6570 level 4 syntax", "[format]") {
  valid("uri-template", {"", "{+path}/here", "{#x,hello,y}", "{?x,y}{&z}", "{var:30}", "{/list*,path:4}", "{;x,y}",
                         "{.dom*}", "{a_b.c%41}", "x{a}y{b}z", "%7B", "\xE2\x82\xAC{a}"});
  invalid("uri-template", {"{", "}", "{a}}", "{{a}", "{a", "{=a}", "{,a}", "{!a}", "{@a}", "{|a}", "{a:}", "{a:10000}",
                           "{a*:1}", "{a.}", "{.a.}", "{a b}", "%", "%4", "a\"b", "a<b", "a\\b", "{%4}",
                           "\xEE\x80"});
}

TEST_CASE("json-pointer and relative-json-pointer", "[format]") {
  valid("json-pointer", {"", "/", "//", "/a~0b~1c", "/ü", std::string("/\0", 2)});
  invalid("json-pointer", {"a", "#/a", "/~", "/~2", "/a~", "/\xC3"});
  valid("relative-json-pointer", {"0", "0#", "1/a", "0+1/a", "2-1#", "10/", "0+10"});
  invalid("relative-json-pointer", {"", "#", "00", "0+", "0+01", "0-", "+1", "0##", "0#/a", "0/~", "1 "});
}

TEST_CASE("uuid: the 8-4-4-4-12 hex shape, any version and variant", "[format]") {
  valid("uuid", {"123e4567-e89b-12d3-a456-426614174000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"});
  invalid("uuid", {"123e4567e89b12d3a456426614174000", "{123e4567-e89b-12d3-a456-426614174000}",
                   "123e4567-e89b-12d3-a456-42661417400g", "123e4567-e89b-12d3-a456-4266141740000"});
}

TEST_CASE("hostname: RFC 1123 labels, A-labels checked as IDNA2008", "[format]") {
  std::string label63(63, 'a');
  std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'a');
  REQUIRE(name253.size() == 253);
  valid("hostname", {"a", "1a", "a-b", "ab--cd.example", "xn--bcher-kva.example", "XN--BCHER-KVA.example",
                     label63 + ".com", name253, "xn--mgbh0fb.xn--kgbechtv"});
  invalid("hostname", {"", ".", "a.", ".a", "a..b", "-a", "a-", "a_b", "a b", label63 + "a.com", name253 + "a",
                       "bücher.example", "xn--", "xn--a", "xn--bcher-kva-", "xn--abc", "a.xn--ls8h-", "a\n",
                       "1a.xn--mgbh0fb", "例え。テスト"});
}

TEST_CASE("idn-hostname: U-labels, full stops, CONTEXTJ, CONTEXTO and the Bidi rule", "[format]") {
  valid("idn-hostname", {"bücher.example", "例え。テスト", "例え．テスト", "例え｡テスト", "xn--bcher-kva.example",
                         "مثال.إختبار", "مثال1", "a.مثال", "ab--cd",
                         "\xE0\xA4\x95\xE0\xA5\x8D\xE2\x80\x8D\xE0\xA4\xB7",  // ZWJ after a virama
                         "l\xC2\xB7l"});                                       // MIDDLE DOT between two l
  invalid("idn-hostname", {"Bücher.example",  // uppercase is DISALLOWED in a U-label
                           "bu\xCC\x88" "cher",  // not NFC
                           "\xE0\xA4\x95\xE2\x80\x8D\xE0\xA4\xB7",  // ZWJ without a virama
                           "a\xC2\xB7l", "-bücher", "bücher-", "bü--cher", "1.مثال", "1a.مثال", "מ1٠",
                           std::string(60, 'a') + "ü", "bü\x01", std::string("b\xC3\xBC\0x", 5), "bü_", "a。",
                           "。a", "a。。b", "\xC3"});
}

TEST_CASE("email and idn-email: RFC 5321 Mailbox and RFC 6531", "[format]") {
  std::string local64(64, 'a');
  valid("email", {"a@b", "a.b+c@example.com", "\"a b\"@example.com", "\"a\\\"b\"@example.com", "a@[1.2.3.4]",
                  "a@[IPv6:::1]", "a@[ipv6:2001:db8::1]", "a@xn--bcher-kva.example", local64 + "@x.com", "#!$%&'*+-/=?^_`{|}~@x"});
  invalid("email", {"a", "@b", "a@", "a.@b", ".a@b", "a..b@c", "a b@c", "a@b@c", "a@[1.2.3]", "a@[x:y]", "a@[IPv6:1.2.3.4]",
                    "a@b_c", "a@bücher.example", "ü@example.com", "\"ü\"@example.com", local64 + "a@x.com",
                    "\"a\"b@c", "\"a@c", "a@[1.2.3.4", "\"\\\x01\"@c"});
  valid("idn-email", {"ü@example.com", "\"ü\"@example.com", "a@bücher.example", "a@bu\xCC\x88" "cher.example",
                      "用户@例子.广告"});
  invalid("idn-email", {"a@Bücher.example", "\xC3@example.com", "a@b\xC3", "a＠example.com", "a@-b.c"});
}

TEST_CASE("no format accepts invalid UTF-8 and every check survives any bytes", "[format]") {
  const std::vector<std::string> broken = {"\x80", "\xC3", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                           "\xF8\x88\x80\x80\x80", "\xFF", "\xE2\x82"};
  for (const auto& f : kFormats)
    for (const auto& b : broken) {
      INFO(f << " " << hex(b));
      CHECK_FALSE(check_format(f, "/a" + b));
      CHECK_FALSE(check_format(f, "0/" + b));
      CHECK_FALSE(check_format(f, "a@b" + b));
      CHECK_FALSE(check_format(f, "http://h/" + b));
    }
  uint64_t state = 31;  // a fixed sequence: deterministic, and run under the sanitizers by the asan preset
  for (int round = 0; round < 4000; ++round) {
    std::string s;
    size_t n = state % 40;
    for (size_t k = 0; k < n; ++k) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      static const char alphabet[] = "aZ09-.:/@[]{}%~#?+*\"\\";
      s += (state >> 60) < 12 ? alphabet[(state >> 33) % (sizeof alphabet - 1)] : static_cast<char>(state >> 40);
    }
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    for (const auto& f : kFormats) (void)check_format(f, s);
  }
}

TEST_CASE("long inputs are read once: megabyte strings", "[format]") {
  const size_t n = 1 << 20;
  std::string as(n, 'a');
  valid("json-pointer", {"/" + as});
  valid("relative-json-pointer", {"0/" + as});
  valid("uri", {"http://h/" + as, "http://" + as + "/"});
  valid("iri", {"http://h/" + std::string(n / 2, 'a') + std::string("\xC3\xA9")});
  valid("duration", {"P" + std::string(n, '9') + "D"});
  valid("date-time", {"2024-01-01T00:00:00." + std::string(n, '0') + "Z"});
  std::string braces;
  for (size_t k = 0; k < n / 4; ++k) braces += "{a}";
  valid("uri-template", {braces});
  invalid("uri-template", {"{" + as, std::string(n, '{')});
  invalid("hostname", {as, std::string(n, '.'), "a." + as});
  invalid("idn-hostname", {as, std::string(n / 2, 'a') + "ü"});
  invalid("email", {as + "@b", "a@" + as, std::string(n, '"')});
  invalid("ipv6", {std::string(n, ':')});
  invalid("uuid", {as});
}

TEST_CASE("format assertion through a schema: every asserted name, others stay annotations", "[format]") {
  for (const auto& f : kFormats) CHECK(invar::schema::is_asserted_format(f));
  CHECK_FALSE(invar::schema::is_asserted_format("color"));
  CHECK(check_format("color", "not checked"));
  nlohmann::json schema = {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}};
  nlohmann::json properties;
  for (const auto& f : kFormats) properties[f] = {{"format", f}};
  properties["color"] = {{"format", "color"}};
  schema["properties"] = properties;
  invar::schema::CompileOptions options;
  options.format_assertion = true;
  auto strict = invar::schema::Validator::compile(schema, "http://invar.test/f.json", options);
  auto lax = invar::schema::Validator::compile(schema, "http://invar.test/f.json", {});
  REQUIRE(strict);
  REQUIRE(lax);
  nlohmann::json bad;
  for (const auto& f : kFormats) bad[f] = "\x01 not valid";
  bad["color"] = "\x01";
  auto doc = test::parse(bad.dump());
  std::vector<invar::schema::Issue> issues;
  strict.value()->explain(doc.root, {}, issues, 100);
  CHECK(issues.size() == kFormats.size());
  CHECK(lax.value()->validate(doc.root).valid);
  CHECK_FALSE(strict.value()->validate(doc.root).valid);
}
