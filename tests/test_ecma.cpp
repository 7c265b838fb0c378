// JSON Schema patterns are ECMA-262 with the u flag (regex/ecma.hpp). The
// differential test asks a real ECMA engine, node's RegExp (what ajv
// compiles), about a corpus of patterns covering every construct and
// strings drawn with a fixed seed: one node process answers them all, and
// invar must answer the same (and refuse exactly the patterns node refuses).
// Then the fallback: refused by default, PCRE2 when allowed, its limits
// failing closed, and lint, the CLI and the contract field.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/text.hpp"
#include "helpers.hpp"
#include "invar/lint.hpp"
#include "process.hpp"
#include "regex/ecma.hpp"
#include "regex/regex.hpp"
#include "schema/format.hpp"
#include "schema/schema.hpp"

using nlohmann::json;
using invar::regex::Match;
using Status = invar::regex::ecma::Translation::Status;

namespace {

// Patterns and, for some, strings worth asking beside the generated ones.
struct Case {
  std::string pattern;
  std::vector<std::string> strings;
};

const std::vector<Case>& corpus() {
  static const std::vector<Case> cases = {
      // Literals, escapes of characters, and the spellings of code points.
      {"abc", {"xabcx"}}, {"^abc$", {"abc\n"}}, {"\xc3\xa9"}, {"^\\u00e9$", {"\xc3\xa9"}}, {"\xf0\x9f\x90\xb2"},
      {"^\\ud83d\\udc32*$", {"\xf0\x9f\x90\xb2\xf0\x9f\x90\xb2", "\xf0\x9f\x90\x89"}}, {"^\\u{1F432}$"}, {"\\u{1f409}"},
      {"^\\u{0000000041}$", {"A"}}, {"\\uD83D"}, {"[\\uD83D]"}, {"^[^\\uD83D]$"}, {"^\\x41$", {"A"}}, {"\\x2e"},
      {"^\\cC$", {"\x03", "\\cC"}}, {"^\\cc$", {"\x03"}}, {"\\cJ"}, {"^\\0$", {std::string(1, '\0')}}, {"\\t"},
      {"\\n"}, {"\\v"}, {"\\f"}, {"\\r"}, {"^\\/$", {"/"}}, {"\\."}, {"\\$"}, {"\\^"}, {"\\\\"}, {"\\("}, {"\\)"},
      {"\\["}, {"\\]"}, {"\\{"}, {"\\}"}, {"\\|"}, {"\\*"}, {"\\+"}, {"\\?"}, {"a b"}, {"a-b"}, {"@#,"},
      // `.` and the class escapes.
      {"."}, {"^.$"}, {"a.c"}, {"^..$"}, {"^.+$"}, {"\\d"}, {"\\D"}, {"^\\d+$", {"42", "\xd9\xa0"}}, {"^\\D$"},
      {"\\w"}, {"\\W"}, {"^\\w+$"}, {"\\s"}, {"\\S"}, {"^\\s$"}, {"^\\S$"}, {"^\\s+$"}, {"\\wcole", {"l'ecole"}},
      {"\\bfoo\\b", {"a foo b", "afoo"}}, {"\\Ba\\B", {"bab"}}, {"a\\b"}, {"\\b"}, {"\\B"}, {"^\\b"},
      // Classes.
      {"[abc]"}, {"[^abc]"}, {"^[a-z]+$"}, {"^[a-zA-Z0-9._-]+$"}, {"[^]"}, {"^[^]$"}, {"[]"}, {"a[]"}, {"^[]*$"},
      {"^[\\s]$"}, {"^[^\\s]$"}, {"^[\\S]$"}, {"^[^\\S]$"}, {"[\\d\\s]"}, {"[^\\d\\s]"}, {"^[\\w-]+$"}, {"[\\-]"},
      {"[a\\-z]"}, {"[-a]"}, {"[a-]"}, {"[--/]"}, {"[\\b]", {"\b"}}, {"[\\0]"}, {"[\\cA-\\cZ]"}, {"[\\x41-\\x5A]"},
      {"[\\u0041-\\u005A]"}, {"[\\u{1F400}-\\u{1F4FF}]"}, {"[\xf0\x9f\x90\x89-\xf0\x9f\x90\xb2]"},
      {"[\\uD83D\\uDC32]"}, {"[\\uD800-\\uDFFF]"}, {"[^\\uD800-\\uDFFF]"}, {"[\\/]"}, {"[.]"}, {"[$^]"}, {"[\\^a]"},
      {"[a^]"}, {"[\\]]"}, {"[[]"}, {"[{}]"}, {"[|]"}, {"[(]"}, {"[\\u2028\\u2029]"}, {"[^\\n]"}, {"[\\W\\d]"},
      {"[^\\W\\d]"}, {"[\\D\\S]"},
      // Unicode properties.
      {"\\p{L}"}, {"\\p{Letter}"}, {"\\p{Letter}cole", {"l'\xc3\xa9" "cole", "L'\xc3\x89" "COLE"}}, {"^\\p{Lu}$"},
      {"^\\p{Ll}+$"}, {"\\p{Lowercase_Letter}"}, {"^\\p{digit}+$", {"42", "\xe0\xa7\xaa\xe0\xa7\xa8"}}, {"^\\p{Nd}$"},
      {"\\p{N}"}, {"\\p{P}"}, {"\\p{punct}"}, {"\\p{S}"}, {"\\p{Sc}"}, {"\\p{Sm}"}, {"\\p{Z}"}, {"\\p{Zs}"},
      {"\\p{Zl}"}, {"\\p{Zp}"}, {"\\p{Cc}"}, {"\\p{Cf}"}, {"\\p{Co}"}, {"\\p{C}"}, {"\\p{Other}"}, {"\\P{C}"},
      {"\\p{Cn}"}, {"\\P{Cn}"}, {"\\p{LC}"}, {"\\P{LC}"}, {"\\p{M}"}, {"\\p{Mn}"}, {"\\p{gc=Lu}"},
      {"\\p{General_Category=Letter}"}, {"\\p{Script=Greek}"}, {"\\p{sc=Latin}"}, {"\\P{sc=Greek}"}, {"\\p{Any}"},
      {"\\P{Any}"}, {"\\p{ASCII}"}, {"\\P{ASCII}"}, {"\\p{Assigned}"}, {"\\P{Assigned}"}, {"\\p{White_Space}"},
      {"\\p{space}"}, {"\\p{AHex}"}, {"^\\p{ASCII_Hex_Digit}+$"}, {"\\p{Join_Control}"}, {"\\p{RI}"},
      {"\\p{NChar}"}, {"\\p{Pat_WS}"}, {"\\p{Bidi_C}"}, {"[\\p{C}a]"}, {"[^\\p{Cn}]"}, {"[\\P{Assigned}x]"},
      {"^[\\p{L}]+$"}, {"[^\\p{L}]"}, {"[\\P{L}]"}, {"[^\\P{L}]"}, {"[\\p{Lu}\\d]"}, {"[\\s\\p{N}]"},
      {"[\\p{Cn}\\p{Lu}]"}, {"[^\\p{Lu}\\p{Ll}]"}, {"[^\\P{Cn}]"}, {"[^\\P{C}]"}, {"[\\s\\S]"}, {"[^\\s\\S]"},
      {"[^\\p{C}a]"}, {"[^\\p{Cn}\\p{Co}]"}, {"^[^\\w.-]+$"}, {"^[\\w.-]+$", {"a.b-c"}},
      // Properties RE2 has no table for: the fallback runs them.
      {"\\p{Alphabetic}"}, {"\\p{Lowercase}"}, {"\\p{sc=Grek}"}, {"\\p{scx=Arab}"}, {"\\p{Hex_Digit}"},
      {"\\p{Emoji}"},
      // Quantifiers.
      {"a*"}, {"a+"}, {"a?"}, {"^a{2}$", {"aa"}}, {"^a{2,}$", {"aaa"}}, {"^a{1,3}$"}, {"^a{0}$"}, {"a{0,1}b"},
      {"^(ab)+$", {"abab"}}, {"^(?:ab)*c$", {"ababc"}}, {"a*?"}, {"a+?b"}, {"^a{2,3}?$", {"aa"}}, {"^(a|b)*$"},
      {"^x{1000}$", {std::string(1000, 'x')}}, {"^(?:a{1,1000})$"}, {"^[a-z][a-z0-9_]{0,63}$", {"abc_1"}},
      {"^[A-Za-z0-9.-]+$"}, {"default", {"a default"}}, {"^plan-\\d+$", {"plan-12"}},
      // Groups and alternations.
      {"(a)"}, {"(?:a|b)c"}, {"^(?<year>\\d{4})-(?<month>\\d{2})$", {"2024-01", "2024-1"}}, {"(?<a>x)|y"}, {"()"},
      {"(|a)"}, {"a|"}, {"|"}, {"^(?:)$"}, {"((a))"}, {"(?<$x>a)"}, {"(?<\xc3\xa9>a)"}, {"(?<\\u0061b>a)"},
      {"A|AAAA|CNAME", {"AAAA"}}, {"^(A|AAAA|CNAME)$", {"AAAA", "CNAME"}}, {"^(?:GET|POST)", {"POSTED"}},
      {"a|b|c"}, {"^a|b$"}, {"^(a|b)$"}, {"(^a)"}, {"a$|^b"},
      // Anchors.
      {"^"}, {"$"}, {"^$", {""}}, {"abc$"}, {"a^"}, {"$a"},
      // Lookaround and backreferences: the fallback.
      {"(?=a)"}, {"^(?=.*\\d)(?=.*[a-z]).+$", {"a1", "11"}}, {"a(?!b)"}, {"(?<=a)b"}, {"(?<!a)b"},
      {"^(?!www\\.)[a-z.]+$", {"www.x", "wwx.y"}}, {"\\w+(?=\\.)"}, {"(?<=\\$)\\d+", {"$12"}}, {"(?=\\s)"},
      {"(?!.)"}, {"(?=.)"}, {"(a)\\1", {"aa"}}, {"^(\\w)\\1$", {"zz", "zy"}}, {"(?<q>['\"]).*\\k<q>", {"'a'", "'a\""}},
      {"^(a)?\\1$", {""}}, {"\\1(a)"}, {"\\k<n>(?<n>a)"}, {"^(?:(a)|b)\\1$", {"aa", "b"}},
      // Counts past RE2's limit: valid, refused as too large.
      {"a{1001}"}, {"a{0,5000}"},
      // Not ECMA-262 with the u flag: refused by both.
      {"("}, {")"}, {"["}, {"a{2,1}"}, {"{"}, {"}"}, {"]"}, {"a**"}, {"\\"}, {"\\a"}, {"\\-"}, {"\\c"}, {"\\c1"},
      {"\\01"}, {"\\8"}, {"(a)\\2"}, {"\\k<x>"}, {"\\k"}, {"(?<a>x)(?<a>y)"}, {"(?i)a"}, {"(?P<n>a)"}, {"\\A"},
      {"\\z"}, {"[[:alpha:]]"}, {"\\pL"}, {"\\p{Greek}"}, {"\\p{Foo}"}, {"\\p{L"}, {"\\p{gc=Foo}"},
      {"\\p{Script_Extensions}"}, {"\\p{}"}, {"[z-a]"}, {"[\\d-z]"}, {"[a-\\d]"}, {"(?=a)*"}, {"^*"}, {"\\b+"},
      {"\\u12"}, {"\\u{110000}"}, {"\\x1"}, {"(?<1a>x)"}, {"x{,5}"}, {"a{"}, {"a{1"}, {"[\\B]"}, {"[\\1]"}, {"(?"},
      {"(?<"}, {"(?<a"}, {"[\\c_]"}, {"[\\01]"}, {"a{2}{3}"}, {"a+??"}, {"(?<a>x)\\k<b>"}, {"\\p{L=Lu}"},
  };
  return cases;
}

// A fixed-seed generator: the same strings on every machine.
struct Lcg {
  uint64_t state;
  uint32_t next(uint32_t n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33) % n;
  }
};


// Characters chosen for where ECMA, RE2 and PCRE2 differ: line terminators,
// ECMA's white space (and what is not: U+0085, U+200B), non-ASCII digits and
// letters, astral characters, controls, private use, unassigned.
const char32_t kAlphabet[] = {
    'a', 'b', 'c', 'x', 'z', 'A', 'B', 'Z', 'e', 'w', '0', '1', '2', '9', '_', '-', '.', ' ', '/', '\\', '$', '^',
    '(', ')', '[', ']', '{', '}', '|', '?', '*', '+', ',', '\'', '"', '@', '#', '\t', '\n', '\r', 0x0B, 0x0C,
    0x00, 0x01, 0x03, 0x08, 0x7F, 0x85, 0xA0, 0xB7, 0xE9, 0xC9, 0x2028, 0x2029, 0xFEFF, 0x2003, 0x1680, 0x200B,
    0x2013, 0x200D, 0x3000, 0x3B1, 0x394, 0x660, 0x7C0, 0x9EA, 0xE000, 0x378, 0x10000, 0x1F432, 0x1F409, 0x1F1E6,
    0xFDD0, 0xFFFE, 0x24, 0x20AC, 0x2B, 0x301, 0x1C5};

// (RE2's, PCRE2's and node's Unicode tables are of different versions: the
// properties asked are ones these characters have in all of them. U+0301's
// Script_Extensions, for one, gained Greek and Latin after PCRE2 10.42.)

// `count` strings of up to 10 characters, half of them from the characters
// the pattern itself writes (so that some match).
std::vector<std::string> strings_for(const std::string& pattern, Lcg& rng, size_t count) {
  std::vector<char32_t> own;
  for (size_t i = 0; i < pattern.size();) {
    unsigned char b = static_cast<unsigned char>(pattern[i]);
    size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < len && i + k < pattern.size(); ++k) c = c << 6 | (pattern[i + k] & 0x3F);
    if (c != '\\') own.push_back(c);
    i += len;
  }
  std::vector<std::string> out;
  for (size_t n = 0; n < count; ++n) {
    std::string s;
    for (uint32_t length = rng.next(11), k = 0; k < length; ++k) {
      bool from_pattern = !own.empty() && rng.next(2) == 0;
      invar::text::append_utf8(s, from_pattern ? own[rng.next(static_cast<uint32_t>(own.size()))]
                                  : kAlphabet[rng.next(sizeof kAlphabet / sizeof kAlphabet[0])]);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string node_path() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && access((dir + "/node").c_str(), X_OK) == 0) return dir + "/node";
  return {};
}

// node, reading one JSON request a line ({"p": pattern, "s": [strings]}) and
// answering one a line: {"ok": true, "m": [booleans]} or {"ok": false}.
const char* const kNodeScript = R"J(
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(l => l.length);
const out = lines.map(l => {
  const q = JSON.parse(l);
  try {
    const re = new RegExp(q.p, "u");
    return JSON.stringify({ok: true, m: q.s.map(s => re.test(s))});
  } catch (e) {
    return JSON.stringify({ok: false, e: String(e.message)});
  }
});
process.stdout.write(out.join("\n") + "\n");
)J";

std::string run_node(const std::string& node, const std::string& input) {
  int out[2];
  if (pipe(out) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(input.c_str(), O_RDONLY);
    dup2(in, 0);
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execl(node.c_str(), "node", "-e", kNodeScript, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string answer = test::read_all(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return answer;
}

// V8 tries a search at every UTF-16 index, between the halves of a
// surrogate pair too, where its \B holds ("B\u{10000}B" matches /\B/u at 2);
// ECMA-262 searches from character to character (AdvanceStringIndex), as
// invar does.
bool v8_between_surrogates(const std::string& pattern, const std::string& s) {
  return pattern.find("\\B") != std::string::npos &&
         std::any_of(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xF8) == 0xF0; });
}

std::string escaped(const std::string& s) { return json(s).dump(-1, ' ', true); }

const char* answer(Match m) {
  switch (m) {
    case Match::yes: return "match";
    case Match::no: return "no match";
    default: return "undecided";
  }
}

}  // namespace

TEST_CASE("ECMA-262 patterns answer as node's RegExp with the u flag does", "[ecma][regex]") {
  const std::string node = node_path();
  if (node.empty()) {
    WARN("skipped: node is not installed (the differential test needs a real ECMA-262 engine)");
    return;
  }
  test::TempDir tmp;
  const std::string requests = tmp / "requests.jsonl";
  Lcg rng{20240531};
  std::vector<std::vector<std::string>> strings;
  {
    std::ofstream out(requests, std::ios::binary);
    for (const auto& c : corpus()) {
      auto s = strings_for(c.pattern, rng, 100);
      s.insert(s.end(), c.strings.begin(), c.strings.end());
      s.push_back("");
      out << json{{"p", c.pattern}, {"s", s}}.dump(-1, ' ', true) << "\n";
      strings.push_back(std::move(s));
    }
  }
  std::stringstream answers(run_node(node, requests));
  size_t compared = 0, mismatches = 0, fallback = 0;
  std::string listed;  // the first 30 mismatches
  auto mismatch = [&](const std::string& what) {
    if (++mismatches <= 30) listed += what + "\n";
  };
  for (size_t k = 0; k < corpus().size(); ++k) {
    const std::string& pattern = corpus()[k].pattern;
    std::string line;
    REQUIRE(std::getline(answers, line));
    json theirs = json::parse(line);
    auto t = invar::regex::ecma::translate(pattern);
    bool refused = t.status == Status::syntax_error;
    if (theirs["ok"] == refused) {
      mismatch("pattern " + escaped(pattern) + ": node " + (refused ? "accepts it" : "refuses it (" + theirs.value("e", "") + ")") +
               ", invar " + (refused ? "refuses it: " + t.message : "accepts it"));
      continue;
    }
    if (refused || t.status == Status::too_large) continue;
    auto compiled = invar::regex::compile_ecma(pattern, 8 << 20, /*allow_fallback=*/true);
    if (!compiled.pattern) {
      mismatch("pattern " + escaped(pattern) + ": node accepts it, invar does not compile it: " + compiled.error);
      continue;
    }
    fallback += compiled.pattern->fallback() != nullptr;
    CHECK((compiled.pattern->fallback() != nullptr) == (t.status == Status::unsupported));
    for (size_t i = 0; i < strings[k].size(); ++i) {
      ++compared;
      Match ours = compiled.pattern->match(strings[k][i]);
      bool node_matches = theirs["m"][i];
      if (node_matches && ours == Match::no && v8_between_surrogates(pattern, strings[k][i])) continue;
      if (ours != (node_matches ? Match::yes : Match::no))
        mismatch("pattern " + escaped(pattern) + " on " + escaped(strings[k][i]) + ": node " +
                 (node_matches ? "match" : "no match") + ", invar " + answer(ours) +
                 (compiled.pattern->fallback() ? " (PCRE2: " + t.pcre2 + ")" : " (RE2: " + t.re2 + ")"));
    }
  }
  INFO(compared << " answers compared over " << corpus().size() << " patterns (" << fallback << " on the fallback)");
  INFO(listed);
  CHECK(mismatches == 0);
  CHECK(compared > 10'000);
  CHECK(fallback >= 20);
}

TEST_CASE("ECMA-262 translation: what RE2 runs, what is refused and why, where", "[ecma][regex]") {
  using invar::regex::ecma::translate;
  CHECK(translate("^[a-z0-9_-]+$").re2 == "^[\\-0-9_a-z]+$");  // still a class sequence
  CHECK(translate("^(?:GET|POST)$").re2 == "^(?:GET|POST)$");   // still an alternation of literals
  CHECK(translate("a.b").re2 == "a[^\\x{a}\\x{d}\\x{2028}\\x{2029}]b");
  CHECK(translate("(?<year>\\d{4})").re2 == "(?:[0-9]{4})");
  CHECK(translate("a+?").re2 == "a+");  // laziness changes no answer to "is there a match"
  CHECK(translate("[^]").re2 == "[\\x{0}-\\x{10ffff}]");
  CHECK(translate("[]").re2 == "[^\\x{0}-\\x{10ffff}]");
  CHECK(translate("\\B").re2 == "^(?s:.)*?(?:\\B)");  // never between the bytes of one character
  auto look = translate("^(?!www\\.)[a-z.]+$");
  CHECK(look.status == Status::unsupported);
  CHECK(look.message == "lookahead (?!...)");
  CHECK(look.offset == 1);
  CHECK(look.pcre2 == "^(?!www\\.)[.a-z]+$");
  auto back = translate("(?<q>')\\k<q>");
  CHECK(back.status == Status::unsupported);
  CHECK(back.message == "the backreference \\k<q>");
  CHECK(back.pcre2 == "(')\\g{1}");
  auto bad = translate("ab{2,1}");
  CHECK(bad.status == Status::syntax_error);
  CHECK(bad.message == "numbers out of order in {} quantifier");
  CHECK(bad.offset == 2);
  auto big = translate("a{1001}");
  CHECK(big.status == Status::too_large);
  CHECK(big.message == "the repetition count in {1001} is over RE2's maximum of 1000");
  auto deep = translate(std::string(300, '(') + std::string(300, ')'));
  CHECK(deep.status == Status::too_large);
  CHECK(deep.message == "groups nested deeper than 200");
  std::string spaces;
  for (int k = 0; k < 100'000; ++k) spaces += "\\S";
  auto wide = translate(spaces);  // each \S a class of about 150 bytes
  CHECK(wide.status == Status::too_large);
  CHECK(wide.message == "its translation is over 8 MiB");
  // A syntax error anywhere wins over an unsupported construct before it.
  CHECK(translate("(?=a)\\q").status == Status::syntax_error);
  // Not UTF-8: refused, located.
  auto latin1 = translate("a\xe9");
  CHECK(latin1.status == Status::syntax_error);
  CHECK(latin1.offset == 1);
}

TEST_CASE("format regex: valid iff ECMA-262 with the u flag accepts it", "[ecma][schema]") {
  using invar::schema::check_format;
  CHECK(invar::schema::is_asserted_format("regex"));
  CHECK(check_format("regex", "([abc])+\\s+$"));
  CHECK(check_format("regex", "(a)(?<=a)b(?!c)\\1?"));  // lookaround and backreferences are ECMA-262
  CHECK(check_format("regex", "a{5000}"));
  CHECK_FALSE(check_format("regex", "^(abc]"));
  CHECK_FALSE(check_format("regex", "(?i)a"));
  CHECK_FALSE(check_format("regex", "\\p{Greek}"));
}

namespace {

invar::schema::CompileOptions fallback_options(invar::RegexFallback fallback) {
  invar::schema::CompileOptions o;
  o.regex_fallback = fallback;
  return o;
}

invar::Result<std::shared_ptr<const invar::schema::Validator>> schema(const std::string& text,
                                                                      invar::RegexFallback fallback) {
  return invar::schema::Validator::compile(json::parse(text), "http://invar.test/s.json", fallback_options(fallback));
}

}  // namespace

TEST_CASE("a pattern only a backtracking engine runs is refused by default, naming it and the opt-in", "[ecma][schema]") {
  auto refused = schema(R"J({"properties": {"host": {"pattern": "^(?!www\\.)[a-z.]+$"}}})J", invar::RegexFallback::none);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().where.pointer == "/properties/host/pattern");
  CHECK(refused.error().message ==
        "pattern \"^(?!www\\\\.)[a-z.]+$\" uses lookahead (?!...) (at offset 1), which no linear-time regex engine "
        "runs: refused by default; \"regex_fallback\": \"pcre2\" in the contract (--regex-fallback pcre2, "
        "Options::regex_fallback) runs it on PCRE2 under a match limit");
  auto key = schema(R"J({"patternProperties": {"^(\\w)\\1$": {}}})J", invar::RegexFallback::none);
  REQUIRE_FALSE(key);
  CHECK(key.error().where.pointer == "/patternProperties/^(\\w)\\1$");
  CHECK(key.error().message.find("the backreference \\1") != std::string::npos);
  auto invalid = schema(R"J({"pattern": "(?i)abc"})J", invar::RegexFallback::pcre2);
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().message ==
        "pattern \"(?i)abc\" is not a valid ECMA-262 regular expression: invalid group (at offset 0)");
  auto count = schema(R"J({"pattern": "^a{2000}$"})J", invar::RegexFallback::none);
  REQUIRE_FALSE(count);
  CHECK(count.error().message == "pattern \"^a{2000}$\" cannot run on RE2: the repetition count in {2000} is over "
                                 "RE2's maximum of 1000 (at offset 2)");
  auto lookbehind = schema(R"J({"pattern": "(?<=a+)b"})J", invar::RegexFallback::pcre2);
  REQUIRE_FALSE(lookbehind);  // PCRE2 10.42 wants lookbehind of a fixed length
  CHECK(lookbehind.error().message.rfind("pattern \"(?<=a+)b\" does not compile under PCRE2 (the regex fallback): ", 0) == 0);
}

TEST_CASE("the PCRE2 fallback: accepted when allowed, and an exceeded limit is never valid", "[ecma][schema]") {
  auto host = schema(R"J({"properties": {"host": {"pattern": "^(?!www\\.)[a-z.]+$"}}})J", invar::RegexFallback::pcre2);
  REQUIRE(host);
  REQUIRE(host.value()->fallback_patterns().size() == 1);
  CHECK(host.value()->fallback_patterns()[0].pointer == "/properties/host/pattern");
  CHECK(host.value()->fallback_patterns()[0].pattern == "^(?!www\\.)[a-z.]+$");
  auto good = test::parse(R"J({"host": "example.com"})J");
  auto www = test::parse(R"J({"host": "www.example.com"})J");
  CHECK(host.value()->validate(good.root).valid);
  CHECK_FALSE(host.value()->validate(www.root).valid);

  // (a+)+$ backtracks exponentially on "aaa...!": PCRE2 stops at its match
  // limit, and the value is invalid, however the schema wraps the pattern.
  const std::string attack = "\"" + std::string(40, 'a') + "!\"";
  auto doc = test::parse(attack);
  auto keyed = test::parse("{" + attack + ": 1}");
  for (const char* s : {R"J({"pattern": "^(?=a)(a+)+$"})J", R"J({"not": {"pattern": "^(?=a)(a+)+$"}})J",
                        R"J({"anyOf": [{"pattern": "^(?=a)(a+)+$"}, {"type": "string"}]})J",
                        R"J({"patternProperties": {"^(?=a)(a+)+$": true}})J",
                        R"J({"not": {"patternProperties": {"^(?=a)(a+)+$": false}}})J"}) {
    INFO(s);
    auto v = schema(s, invar::RegexFallback::pcre2);
    REQUIRE(v);
    auto& instance = std::string(s).find("patternProperties") != std::string::npos ? keyed : doc;
    auto outcome = v.value()->validate(instance.root);
    CHECK_FALSE(outcome.valid);
    CHECK(outcome.limit == "regex_fallback_match_limit 1000000 (pattern \"^(?=a)(a+)+$\")");
    std::vector<invar::schema::Issue> issues;
    CHECK_FALSE(v.value()->explain(instance.root, {}, issues, 10).valid);
  }
  // Through a contract: a reject naming the limit, and the contract field enables the fallback.
  auto contract = test::contract(R"J({"contract": "t", "regex_fallback": "pcre2", "invariants": [
      {"id": "names", "schema": "$.names[*]", "inline": {"pattern": "^(?=a)(a+)+$"}}]})J");
  REQUIRE(contract);
  auto report = contract->check("{\"names\": [\"aaa\", " + attack + "]}");
  CHECK(report.verdict == invar::Verdict::reject);
  REQUIRE(report.violations.size() == 1);
  CHECK(report.violations[0].pointer == "/names/1");
  CHECK(report.violations[0].message ==
        "schema evaluation stopped at the limit regex_fallback_match_limit 1000000 (pattern \"^(?=a)(a+)+$\")");
  CHECK(contract->check(R"J({"names": ["aaa", "a"]})J").verdict == invar::Verdict::accept);
  auto none = test::contract(R"J({"contract": "t", "regex_fallback": "none", "invariants": [
      {"id": "names", "schema": "$.names[*]", "inline": {"pattern": "^(?=a)"}}]})J");
  REQUIRE_FALSE(none);
  CHECK(none.error().where.pointer == "/invariants/0/inline/pattern");
  auto wrong = test::contract(R"J({"contract": "t", "regex_fallback": "yes", "invariants": [
      {"id": "n", "count": "$", "max": 1}]})J");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message == "\"regex_fallback\" must be \"none\" or \"pcre2\"");
}

TEST_CASE("lint lists every pattern that runs on the PCRE2 fallback, where it is written", "[ecma][lint]") {
  test::TempDir tmp;
  test::spit(tmp / "s.schema.json", R"J({"type": "object", "properties": {
  "id": {"type": "string", "maxLength": 8, "pattern": "^(\\w)\\1"}}})J");
  const std::string path = tmp / "c.contract.json";
  test::spit(path, R"J({"contract": "t", "regex_fallback": "pcre2", "invariants": [
  {"id": "file", "schema": "$", "file": "s.schema.json"},
  {"id": "inline", "schema": "$.host", "inline": {"type": "string", "maxLength": 9, "pattern": "^(?!www)"}}]})J");
  auto reports = invar::lint_contract(path);
  REQUIRE(reports);
  std::vector<std::string> found;
  for (const auto& r : *reports)
    for (const auto& v : r.violations)
      if (v.invariant == "lint.regex-fallback")
        found.push_back(r.artifact + ":" + std::to_string(v.line) + " " + v.pointer + " | " + v.message);
  CHECK(found == std::vector<std::string>{
      path + ":3 /invariants/1/inline/pattern | pattern \"^(?!www)\" runs on the PCRE2 fallback (it uses lookahead "
             "(?!...)): a backtracking engine, stopped at regex_fallback_match_limit 1000000, and a string it cannot "
             "decide fails the check",
      tmp / "s.schema.json" + ":2 /properties/id/pattern | pattern \"^(\\\\w)\\\\1\" runs on the PCRE2 fallback (it "
             "uses the backreference \\1): a backtracking engine, stopped at regex_fallback_match_limit 1000000, and "
             "a string it cannot decide fails the check"});
}

TEST_CASE("the CLI option --regex-fallback on check, lint and test, and the contract field", "[ecma][cli]") {
  test::TempDir tmp;
  test::spit(tmp / "s.schema.json", R"J({"pattern": "^(?!www\\.)"})J");
  test::spit(tmp / "good.json", R"J("example.com")J");
  test::spit(tmp / "www.json", R"J("www.example.com")J");
  auto refused = test::invar({"check", "--schema", tmp / "s.schema.json", tmp / "good.json"});
  CHECK(refused.exit == 3);
  CHECK(refused.out.find("uses lookahead (?!...)") != std::string::npos);
  CHECK(test::invar({"check", "--regex-fallback", "pcre2", "--schema", tmp / "s.schema.json", tmp / "good.json"}).exit == 0);
  CHECK(test::invar({"check", "--regex-fallback", "pcre2", "--schema", tmp / "s.schema.json", tmp / "www.json"}).exit == 1);
  auto bad = test::invar({"check", "--regex-fallback", "perl", "--schema", tmp / "s.schema.json", tmp / "good.json"});
  CHECK(bad.exit != 0);
  CHECK(bad.out.find("--regex-fallback") != std::string::npos);

  test::spit(tmp / "c.contract.json", R"J({"contract": "t", "invariants": [
    {"id": "host", "schema": "$", "file": "s.schema.json"}]})J");
  auto lint = test::invar({"lint", tmp / "c.contract.json"});
  CHECK(lint.exit == 1);  // a load error
  lint = test::invar({"lint", "--regex-fallback", "pcre2", tmp / "c.contract.json"});
  CHECK(lint.exit == 0);  // a warning
  CHECK(lint.out.find("lint.regex-fallback") != std::string::npos);

  test::spit(tmp / "c.test.json", R"J({"contract": "c.contract.json", "tests": [
    {"name": "plain", "artifact": "good.json", "expect": {"verdict": "accept"}},
    {"name": "www", "artifact": "www.json", "expect": {"verdict": "reject", "failing": ["host"]}}]})J");
  CHECK(test::invar({"test", tmp / "c.test.json"}).exit == 3);
  auto ran = test::invar({"test", "--regex-fallback", "pcre2", tmp / "c.test.json"});
  CHECK(ran.exit == 0);
  INFO(ran.out);

  // The contract field: no flag needed, and it wins over the flag.
  test::spit(tmp / "f.contract.json", R"J({"contract": "t", "regex_fallback": "pcre2", "invariants": [
    {"id": "host", "schema": "$", "file": "s.schema.json"}]})J");
  CHECK(test::invar({"check", "--contract", tmp / "f.contract.json", tmp / "good.json"}).exit == 0);
  CHECK(test::invar({"check", "--regex-fallback", "none", "--contract", tmp / "f.contract.json", tmp / "www.json"}).exit == 1);
}
