// YAML artifacts (artifact/yaml.hpp): the JSON data model of the YAML 1.2
// core schema, every problem and violation located in the YAML source, and
// the scalars a YAML 1.1 consumer would read otherwise.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "artifact/yaml.hpp"
#include "artifact/yaml_scalar.hpp"
#include "helpers.hpp"
#include "process.hpp"

namespace {

// The data `yaml` reads to, as minified JSON, or "refused RULE L:C MESSAGE".
std::string read_as(const std::string& yaml, invar::artifact::YamlOptions options = {},
                 invar::artifact::ReadLimits limits = {}) {
  auto r = invar::artifact::read_yaml(yaml, limits, options);
  if (r.problem)
    return "refused " + r.problem->rule + " " + std::to_string(r.problem->line) + ":" +
           std::to_string(r.problem->column) + " " + r.problem->message;
  return simdjson::minify(r.document->root);
}

const char* kContract = R"({"contract": "plan", "artifact": {"format": "yaml"}, "invariants": [
  {"id": "names", "unique": "$.records[*].name"},
  {"id": "targets", "each": "$.records[*]", "count": "@.targets[*]", "min": 1},
  {"id": "shape", "schema": "$.records[*]", "inline": {"type": "object", "required": ["name"],
                                                      "properties": {"ttl": {"type": "integer", "minimum": 1}}}}]})";

invar::Report check(const std::string& bytes, const char* contract = kContract) {
  auto c = test::contract(contract);
  REQUIRE(c);
  return c->check(bytes);
}

std::string located(const invar::Violation& v) {
  return v.invariant + " " + std::to_string(v.line) + ":" + std::to_string(v.column) + " " + v.pointer + " " + v.message;
}

}  // namespace

TEST_CASE("yaml: the core schema types plain scalars, and only plain ones", "[yaml]") {
  CHECK(read_as("a: 1\nb: -2\nc: 0o17\nd: 0x1F\ne: 1.5\nf: 1e3\ng: true\nh: False\ni: ~\nj: null\nk:\nl: hello\n") ==
        R"({"a":1,"b":-2,"c":15,"d":31,"e":1.5,"f":1000.0,"g":true,"h":false,"i":null,"j":null,"k":null,"l":"hello"})");
  CHECK(read_as("a: '1'\nb: \"true\"\nc: |\n  x\n  y\nd: no\ne: 0777\nf: 1_000\n") ==
        R"({"a":"1","b":"true","c":"x\ny\n","d":"no","e":777,"f":"1_000"})");
  CHECK(read_as("- !!str 12\n- !!int \"3\"\n- !!float 2\n- ! 5\n") == R"(["12",3,2.0,"5"])");
  CHECK(read_as("18446744073709551615") == "18446744073709551615");
  CHECK(read_as("x: 18446744073709551616") == "refused number 1:4 \"18446744073709551616\" is out of range for a 64-bit integer or a double");
  CHECK(read_as("x: .inf") == "refused number 1:4 \".inf\" is not a finite number (JSON has no .inf or .nan; to read "
                              "infinities, set \"yaml\": {\"infinity\": \"allow\"})");
  invar::artifact::YamlOptions infinity;
  infinity.allow_infinity = true;
  auto infinite = invar::artifact::read_yaml("[.inf, -.Inf, !!float +.INF, 1.5]", {}, infinity);
  REQUIRE(infinite.document);
  CHECK(infinite.document->root.at(0).get_double().value() == std::numeric_limits<double>::infinity());
  CHECK(infinite.document->root.at(1).get_double().value() == -std::numeric_limits<double>::infinity());
  CHECK(infinite.document->root.at(2).get_double().value() == std::numeric_limits<double>::infinity());
  for (const char* nan : {"x: .nan", "x: !!float .NaN"})
    CHECK(read_as(nan, infinity).rfind("refused number 1:", 0) == 0);
  CHECK(read_as("x: .nan", infinity) == "refused number 1:4 \".nan\" is not a number (NaN), refused always: it fails no "
                                       "comparison, so no invariant could judge it");
  CHECK(read_as("x: !!binary aGk=") ==
        "refused tag 1:13 tag tag:yaml.org,2002:binary on \"aGk=\" is not one invar reads (the core schema's !!str, "
        "!!int, !!float, !!bool, !!null); to read such nodes as if untagged, set \"yaml\": {\"tags\": \"untagged\"}");
  CHECK(read_as("x: !!int abc").rfind("refused tag 1:", 0) == 0);
  CHECK(read_as("x: !foo |\n  two\n  lines\n") ==
        "refused tag 2:1 tag !foo on \"two\\nlines\\n\" is not one invar reads (the core schema's !!str, !!int, "
        "!!float, !!bool, !!null); to read such nodes as if untagged, set \"yaml\": {\"tags\": \"untagged\"}");  // a message is one line
  CHECK(read_as("x: !local {a: 1}").rfind("refused tag 1:", 0) == 0);
}

TEST_CASE("yaml: keys are strings, once each", "[yaml]") {
  CHECK(read_as("1: a") == "refused key 1:1 the key \"1\" is not a string in YAML 1.2 (JSON keys are strings: quote it; "
                           "to read such keys as their text, set \"yaml\": {\"keys\": \"text\"})");
  CHECK(read_as("'1': a\n\"true\": b") == R"({"1":"a","true":"b"})");
  CHECK(read_as("? [a, b]\n: c").rfind("refused key 1:3 a sequence used as a key", 0) == 0);
  CHECK(read_as("a: 1\nb:\n  c: 2\n  c: 3\n") == "refused duplicate-key 4:3 duplicate key \"c\" (first at line 3, column 3)");
  auto r = invar::artifact::read_yaml("a: 1\nb:\n  c: 2\n  c: 3\n", {}, {});
  CHECK(r.problem->pointer == "/b/c");
  invar::artifact::ReadLimits allow;
  allow.allow_duplicate_keys = true;
  CHECK(read_as("a: 1\na: 2\n", {}, allow) == R"({"a":1,"a":2})");
  // A large mapping is indexed, and its strings outgrow their first buffer:
  // the duplicate is found all the same.
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "k" + std::to_string(i) + ": v\n";
  CHECK(read_as(big + "k42: x\n") == "refused duplicate-key 2001:1 duplicate key \"k42\" (first at line 43, column 1)");
  CHECK(read_as(big + "k2000: x\n").rfind("{\"k0\":\"v\",", 0) == 0);
}

TEST_CASE("yaml: anchors and aliases expand, under a budget", "[yaml]") {
  CHECK(read_as("base: &b {x: 1, y: [2, 3]}\ncopy: *b\nname: &n web\n*n : again\n") ==
        R"({"base":{"x":1,"y":[2,3]},"copy":{"x":1,"y":[2,3]},"name":"web","web":"again"})");
  CHECK(read_as("a: *nope").rfind("refused alias 1:4 alias *nope names no anchor", 0) == 0);
  // The billion laughs: nine levels of ten aliases each, 10^9 values once expanded.
  std::string bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, char(c - 1));
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += (i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  auto started = std::chrono::steady_clock::now();
  auto refused = read_as(bomb);
  CHECK(refused.rfind("refused aliases ", 0) == 0);
  CHECK(refused.find("more than max_alias_nodes (1000000) values") != std::string::npos);
  INFO("bounded: it stops after about a million values, well within the test's time");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
  invar::artifact::ReadLimits few;
  few.max_nodes = 20;
  CHECK(read_as("a: &a [1, 2, 3, 4, 5, 6, 7, 8]\nb: *a\nc: *a\n", {}, few) ==
        "refused nodes 3:4 more than max_nodes (20) values, aliases expanded");
  invar::artifact::ReadLimits shallow;
  shallow.max_depth = 3;
  CHECK(read_as("a: &a [[1]]\nb: [*a]\n", {}, shallow) == "refused depth 2:5 alias *a nests deeper than max_depth (3)");
}

TEST_CASE("yaml: merge keys are refused unless the contract allows them", "[yaml]") {
  const std::string doc = "base: &b {x: 1, y: 2}\nmore: &m {z: 3, x: 9}\nsite:\n  <<: [*b, *m]\n  y: 5\n  w: 6\n";
  CHECK(read_as(doc) ==
        "refused merge-key 4:3 a merge key (<<) is refused: to merge, set \"yaml\": {\"merge_keys\": \"allow\"} in the "
        "contract; for a key named <<, quote it");
  invar::artifact::YamlOptions merge;
  merge.merge_keys = true;
  CHECK(read_as(doc, merge) == R"({"base":{"x":1,"y":2},"more":{"z":3,"x":9},"site":{"y":5,"w":6,"x":1,"z":3}})");
  CHECK(read_as("b: &b {x: 1}\nc:\n  <<: *b\n  x: 2\nd: *b\n", merge) == R"({"b":{"x":1},"c":{"x":2},"d":{"x":1}})");
  CHECK(read_as("c:\n  <<: 5\n", merge).rfind("refused merge-key", 0) == 0);
  CHECK(read_as("'<<': 1\n") == R"({"<<":1})");
}

TEST_CASE("yaml: two merge keys in one mapping are a duplicate key", "[yaml]") {
  // Regression (issue 28.20): invar took the first's values, PyYAML the second's.
  invar::artifact::YamlOptions merge;
  merge.merge_keys = true;
  const std::string two = "a: &a {x: 1}\nb: &b {x: 2}\nc:\n  <<: *a\n  y: 0\n  <<: *b\n";
  const std::string refused =
      "refused duplicate-key 6:3 duplicate merge key << (first at line 4, column 3): YAML 1.1 parsers let the last "
      "one's values win; merge several mappings with one: <<: [*a, *b]";
  CHECK(read_as(two, merge) == refused);
  invar::artifact::ReadLimits allow;
  allow.allow_duplicate_keys = true;
  CHECK(read_as(two, merge, allow) == refused);  // whatever duplicate_keys says
  auto r = invar::artifact::read_yaml(two, {}, merge);
  REQUIRE(r.problem);
  CHECK(r.problem->pointer == "/c/<<");
  // In flow style, and nested; one "<<" per mapping stays readable.
  CHECK(read_as("a: &a {x: 1}\nc: {<<: *a, <<: *a}\n", merge).rfind("refused duplicate-key 2:13 duplicate merge key", 0) == 0);
  CHECK(read_as("a: &a {x: 1}\nc: {<<: *a, d: {<<: *a}}\n", merge) == R"({"a":{"x":1},"c":{"d":{"x":1},"x":1}})");
  // Through the engine: a located artifact.duplicate-key violation.
  auto report = check(two, R"({"contract": "c", "artifact": {"format": "yaml", "yaml": {"merge_keys": "allow"}},
                               "invariants": [{"id": "some", "count": "$.*", "min": 1}]})");
  CHECK(report.verdict == invar::Verdict::reject);
  REQUIRE(report.violations.size() == 1);
  CHECK(located(report.violations[0]).rfind("artifact.duplicate-key 6:3 /c/<< duplicate merge key <<", 0) == 0);
}

TEST_CASE("yaml: one document, or the array of them all", "[yaml]") {
  CHECK(read_as("a: 1\n---\nb: 2\n") ==
        "refused documents 2:1 a second YAML document (the contract reads one; set \"documents\": \"many\" to read "
        "them all)");
  invar::artifact::YamlOptions many;
  many.many_documents = true;
  CHECK(read_as("a: 1\n---\nb: 2\n", many) == R"([{"a":1},{"b":2}])");
  CHECK(read_as("", many) == "[]");
  CHECK(read_as("# only a comment\n") == "refused empty 0:0 the artifact holds no YAML document (to read such a file "
                                         "as null, set \"yaml\": {\"empty\": \"null\"})");
  CHECK(read_as("--- &a x\n--- *a\n", many).rfind("refused alias", 0) == 0);  // anchors end with their document
}

TEST_CASE("yaml: bad input is refused with its line and column, in bounded time", "[yaml]") {
  CHECK(read_as("a: 1\n\tb: 2\n").rfind("refused syntax 2:", 0) == 0);        // a tab in indentation
  CHECK(read_as("{a: [1, 2\n").rfind("refused syntax ", 0) == 0);             // an unterminated flow mapping
  // libfyaml 0.7.12 cannot free a parser that refused this (its parser is kept, not freed).
  for (int i = 0; i < 3; ++i)
    CHECK(read_as("? a:\t- b\n").find(" cannot use tab for indentation of block entry") != std::string::npos);
  CHECK(read_as(">\n  oooof \n \n  \tar\n\n  baz\n") == R"("oooof \n\tar\n\nbaz\n")");  // not libfyaml's NULs after it
  CHECK(read_as("- {locati") == "refused syntax 1:10 missing comma in flow mapping");  // at the end, not past it
  CHECK(read_as("a: \"x\xff\"\n") == "refused utf8 1:6 invalid UTF-8 (YAML artifacts are read as UTF-8)");
  CHECK(read_as("}\xC2") == "refused utf8 1:2 invalid UTF-8 (YAML artifacts are read as UTF-8)");
  CHECK(read_as("\xEF\xBB\xBF" "a: 1\n") == R"({"a":1})");                    // a byte order mark
  CHECK(read_as(std::string("a: x\n\0b: y\n", 11)) == "refused syntax 2:1 a control character (U+0000) that YAML does not allow");
  CHECK(read_as("a: \"\xC2\x80\"\n") == "refused syntax 1:5 a control character (U+0080) that YAML does not allow");
  CHECK(read_as("a: \"\xC2\x85\xC3\xA9\"\n") == "{\"a\":\"\xC2\x85\xC3\xA9\"}");  // NEL is allowed
  CHECK(read_as(std::string(100'000, '[') + std::string(100'000, ']')) ==
        "refused depth 1:129 nesting deeper than max_depth (128)");
  invar::artifact::ReadLimits small;
  small.max_string_bytes = 4;
  CHECK(read_as("a: hello\n", {}, small) == "refused string 1:4 a string of 5 bytes, over max_string_bytes (4)");
  small.max_bytes = 3;
  CHECK(read_as("a: hello\n", {}, small) == "refused size 0:0 artifact is 9 bytes, over max_bytes 3");
}

TEST_CASE("yaml: a file of many batches reads whole, its problems located wherever they are", "[yaml]") {
  // Enough events for many batches, and every kind of scalar text: verbatim
  // (not copied), escaped, folded, single-quoted, block.
  std::string yaml = "defaults: &d {ttl: 30, note: 'it''s'}\nrecords:\n";
  for (int i = 0; i < 6000; ++i) {
    const std::string n = std::to_string(i);
    yaml += "- name: \"r" + n + ".example\"\n  plain: a#" + n + " # comment\n  escaped: \"tab\\there " + n +
            "\"\n  folded: one\n    two " + n + "\n  quoted: 'x''" + n + "'\n  block: |\n    line " + n +
            "\n  base: *d\n  flow: [" + n + ", \"" + n + "\", {k: v}]\n";
  }
  const std::string read = read_as(yaml);
  REQUIRE(read.rfind("refused", 0) == std::string::npos);
  CHECK(read.find(R"({"name":"r5999.example","plain":"a#5999","escaped":"tab\there 5999",)"
                        R"("folded":"one two 5999","quoted":"x'5999","block":"line 5999\n",)"
                        R"("base":{"ttl":30,"note":"it's"},"flow":[5999,"5999",{"k":"v"}]})") != std::string::npos);
  // A problem at the end, at the start, and two libfyaml reports.
  CHECK(read_as(yaml + "- name: x\n  name: y\n") ==
        "refused duplicate-key 60004:3 duplicate key \"name\" (first at line 60003, column 3)");
  CHECK(read_as("x: *nowhere\n" + yaml) == "refused alias 1:4 alias *nowhere names no anchor before it");
  CHECK(read_as(yaml + "- [unclosed\n") == "refused syntax 60004:1 flow sequence without a closing bracket");
  CHECK(read_as(yaml.substr(0, yaml.size() / 2) + "\t- tab: indented\n" + yaml) ==
        "refused syntax 30234:2 tab character may not be used as indentation");
}

TEST_CASE("yaml: a 1 GB scalar is refused by its size before it is read", "[yaml]") {
  test::TempDir tmp;
  const auto path = tmp / "huge.yaml";
  {
    std::ofstream out(path);
    out << "a: ";
  }
  std::filesystem::resize_file(path, (1ull << 30) + 3);  // sparse: no gigabyte is written
  auto c = test::contract(kContract);
  REQUIRE(c);
  auto r = c->check_file(path);
  REQUIRE(r);
  CHECK(r->verdict == invar::Verdict::reject);
  CHECK(r->violations.front().invariant == "artifact.size");
  CHECK(r->violations.front().message.find("refused before reading") != std::string::npos);
}

TEST_CASE("yaml: violations are located in the YAML source, in every output", "[yaml]") {
  const std::string plan =
      "records:\n"
      "  - name: a\n"
      "    ttl: 5\n"
      "    targets: [1.1.1.1]\n"
      "  - name: b\n"
      "    ttl: 0\n"
      "    targets: []\n"
      "  - name: a\n"
      "    targets: [2.2.2.2]\n";
  auto r = check(plan);
  CHECK(r.verdict == invar::Verdict::reject);
  REQUIRE(r.violations.size() == 3);
  CHECK(located(r.violations[0]) == "names 8:11 /records/2/name \"a\" appears 2 times (/records/0/name, /records/2/name)");
  CHECK(located(r.violations[1]) == "targets 5:5 /records/1 count of @.targets[*] is 0, below min 1");
  CHECK(located(r.violations[2]).rfind("shape 6:10 /records/1/ttl ", 0) == 0);
  test::TempDir tmp;
  test::spit(tmp / "c.json", kContract);
  test::spit(tmp / "plan.yaml", plan);
  for (const char* format : {"human", "json", "sarif", "github", "junit"}) {
    auto cli = test::invar({"check", "--format", format, "--contract", tmp / "c.json", tmp / "plan.yaml"});
    INFO(format << ": " << cli.out);
    CHECK(cli.exit == 1);
    const bool located_line = cli.out.find("8") != std::string::npos && cli.out.find("11") != std::string::npos;
    CHECK(located_line);
  }
  auto human = test::invar({"check", "--contract", tmp / "c.json", tmp / "plan.yaml"});
  CHECK(human.out.find("plan.yaml:8:11 /records/2/name") != std::string::npos);
  // Inside an alias's expansion: located at the alias.
  auto aliased = check("t: &t []\nrecords:\n  - name: a\n    targets: [x]\n  - name: b\n    targets: *t\n");
  REQUIRE(aliased.violations.size() == 1);
  CHECK(located(aliased.violations[0]) == "targets 5:5 /records/1 count of @.targets[*] is 0, below min 1");
}

TEST_CASE("yaml: for a YAML 1.1 consumer, every scalar it reads otherwise is a violation", "[yaml]") {
  const char* contract = R"({"contract": "c", "artifact": {"format": "yaml", "yaml": {"consumer": "yaml1.1"}},
                             "invariants": [{"id": "some", "count": "$.*", "min": 1}]})";
  auto r = check("country: no\nmode: 0777\nport: \"22\"\nat: 1:20\nsize: 1e3\nnice: 1_000\nok: yes\non: true\nplain: x\n",
                 contract);
  CHECK(r.verdict == invar::Verdict::reject);
  std::vector<std::string> got;
  for (const auto& v : r.violations) got.push_back(located(v));
  CHECK(got == std::vector<std::string>{
      "artifact.ambiguous_scalar 1:10 /country \"no\" is the string \"no\" in YAML 1.2 but the boolean false to a "
      "YAML 1.1 parser (the contract's consumer): quote it, or write what both read alike",
      "artifact.ambiguous_scalar 2:7 /mode \"0777\" is the integer 777 in YAML 1.2 but the integer 511 to a YAML 1.1 "
      "parser (the contract's consumer): quote it, or write what both read alike",
      "artifact.ambiguous_scalar 4:5 /at \"1:20\" is the string \"1:20\" in YAML 1.2 but the integer 80 to a YAML "
      "1.1 parser (the contract's consumer): quote it, or write what both read alike",
      "artifact.ambiguous_scalar 5:7 /size \"1e3\" is the float 1000 in YAML 1.2 but the string \"1e3\" to a YAML "
      "1.1 parser (the contract's consumer): quote it, or write what both read alike",
      "artifact.ambiguous_scalar 6:7 /nice \"1_000\" is the string \"1_000\" in YAML 1.2 but the integer 1000 to a "
      "YAML 1.1 parser (the contract's consumer): quote it, or write what both read alike",
      "artifact.ambiguous_scalar 7:5 /ok \"yes\" is the string \"yes\" in YAML 1.2 but the boolean true to a YAML 1.1 "
      "parser (the contract's consumer): quote it, or write what both read alike",
      "artifact.ambiguous_scalar 8:1 /on \"on\" is the string \"on\" in YAML 1.2 but the boolean true to a YAML 1.1 "
      "parser (the contract's consumer): quote it, or write what both read alike"});
  // A YAML 1.2 consumer (the default) reads as invar does: no violation.
  CHECK(check("country: no\n", R"({"contract": "c", "artifact": {"format": "yaml"},
                                   "invariants": [{"id": "some", "count": "$.*", "min": 1}]})")
            .verdict == invar::Verdict::accept);
  // A report stays bounded: the first max_report_violations are listed, the rest counted.
  std::string many = "- [";
  for (int i = 0; i < 1500; ++i) many += i ? ", no" : "no";
  auto bounded = check(many + "]\n", R"({"contract": "c", "artifact": {"format": "yaml", "yaml": {"consumer": "yaml1.1"}},
                                         "invariants": [{"id": "some", "count": "$[*]", "min": 1}]})");
  REQUIRE(bounded.violations.size() == 1000);
  CHECK(bounded.violations.back().explain ==
        std::vector<std::string>{"and 500 more ambiguous scalars, not listed (max_report_violations)"});
  using invar::artifact::yaml::yaml11_differs;
  for (const char* same : {"true", "false", "null", "~", "12", "-3", "1.5", "0", "0x1F", ".inf", "hello", "1.0e+3", "-0.5"})
    CHECK_FALSE(yaml11_differs(same));
  for (const char* differs : {"y", "N", "off", "0o17", "0b101", "1:20:30", "1.0e3", "+12:30.5", "=", "<<", "010"})
    CHECK(yaml11_differs(differs));
}

TEST_CASE("yaml: for a YAML 1.1 consumer, timestamps are ambiguous scalars", "[yaml]") {
  // Regression (issue 28.19): they passed a `type: string` schema; PyYAML reads a date.
  const char* contract = R"({"contract": "c", "artifact": {"format": "yaml", "yaml": {"consumer": "yaml1.1"}},
                             "invariants": [{"id": "s", "schema": "$.*", "inline": {"type": "string"}}]})";
  auto r = check("released: 2001-12-14\ngenerated_at: 2025-10-20 06:49:00Z\nquoted: '2001-12-14'\n", contract);
  CHECK(r.verdict == invar::Verdict::reject);
  std::vector<std::string> got;
  for (const auto& v : r.violations) got.push_back(located(v));
  CHECK(got == std::vector<std::string>{
      "artifact.ambiguous_scalar 1:11 /released \"2001-12-14\" is the string \"2001-12-14\" in YAML 1.2 but the date "
      "2001-12-14 to a YAML 1.1 parser (the contract's consumer): quote it, or write what both read alike",
      "artifact.ambiguous_scalar 2:15 /generated_at \"2025-10-20 06:49:00Z\" is the string \"2025-10-20 06:49:00Z\" in "
      "YAML 1.2 but the timestamp 2025-10-20 06:49:00Z to a YAML 1.1 parser (the contract's consumer): quote it, or "
      "write what both read alike"});
  // Every form of the YAML 1.1 timestamp regexp (and PyYAML's blanks before an offset).
  using invar::artifact::yaml::yaml11_differs;
  for (const char* stamp : {"2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43Z", "2001-12-14 21:59:43.10 -5",
                            "2001-12-15 2:59:43.10", "2002-12-14 21:59:43.", "2001-1-5T1:02:03", "2001-12-14\t21:59:43 Z",
                            "2001-12-14 21:59:43+5:30", "2001-12-14   21:59:43.123456789+05", "2001-13-45"}) {
    INFO(stamp);
    auto d = yaml11_differs(stamp);
    REQUIRE(d);
    CHECK((d->yaml11.rfind("the date ", 0) == 0 || d->yaml11.rfind("the timestamp ", 0) == 0));
  }
  for (const char* text : {"2001-1-5", "2001-12-14 ", "01-12-14", "2001-12-14T21:59", "2001-12-14T21:59:4",
                           "2001-12-14T21:59:43+", "2001-12-14T21:59:43+123", "2001-12-14T21:59:43+05:3",
                           "2001-12-14T21:59:43 x", "2001-12-14x", "12001-12-14", "2001-12-14T21:59:43ZZ"}) {
    INFO(text);
    CHECK_FALSE(yaml11_differs(text));
  }
}

TEST_CASE("yaml: the contract says the format, the documents and the consumer", "[yaml]") {
  auto wrong = test::contract(R"({"contract": "c", "artifact": {"documents": "many"}, "invariants": []})");
  REQUIRE(!wrong);
  CHECK(wrong.error().message == "\"documents\" and \"yaml\" apply to YAML artifacts: add \"format\": \"yaml\"");
  auto consumer = test::contract(R"({"contract": "c", "artifact": {"format": "yaml", "yaml": {"consumer": "1.1"}}, "invariants": []})");
  REQUIRE(!consumer);
  CHECK(consumer.error().message == "\"consumer\" must be \"yaml1.2\" or \"yaml1.1\" (the YAML version its parser reads)");
  auto many = check("a: 1\n---\na: 2\n", R"({"contract": "c", "artifact": {"format": "yaml", "documents": "many"},
                                              "invariants": [{"id": "two", "count": "$[*]", "min": 2, "max": 2}]})");
  CHECK(many.verdict == invar::Verdict::accept);
  // Infinities, when allowed, are numbers above every bound.
  const char* infinite = R"({"contract": "c", "artifact": {"format": "yaml", "yaml": {"infinity": "allow"}},
      "invariants": [{"id": "ttl", "schema": "$", "inline": {"type": "object", "properties": {"ttl": {"type": "number", "maximum": 86400}}}}]})";
  CHECK(check("ttl: 60\n", infinite).verdict == invar::Verdict::accept);
  auto over = check("ttl: .inf\n", infinite);
  CHECK(over.verdict == invar::Verdict::reject);
  REQUIRE(!over.violations.empty());
  CHECK(located(over.violations.front()).rfind("ttl 1:6 /ttl ", 0) == 0);
  CHECK(check("ttl: .inf\n").violations.front().invariant == "artifact.number");
  auto bad = test::contract(R"({"contract": "c", "artifact": {"format": "yaml", "yaml": {"infinity": true}}, "invariants": []})");
  REQUIRE(!bad);
  CHECK(bad.error().message == "\"infinity\" must be \"refuse\" or \"allow\"");
  // The format from the call or the file's extension; a JSON contract given YAML says how to read it.
  test::TempDir tmp;
  test::spit(tmp / "a.yml", "items: [1, 2]\n");
  test::spit(tmp / "a.txt", "items: [1, 2]\n");
  auto plain = test::contract(R"({"contract": "p", "invariants": [{"id": "two", "count": "$.items[*]", "min": 2}]})");
  REQUIRE(plain);
  CHECK(plain->check_file(tmp / "a.yml")->verdict == invar::Verdict::accept);
  auto as_json = plain->check_file(tmp / "a.txt");
  CHECK(located(as_json->violations.front()) ==
        "artifact.syntax 1:1  expected a JSON value (this looks like YAML: the contract reads JSON; set \"artifact\": "
        "{\"format\": \"yaml\"} in the contract, or pass --input-format yaml)");
  invar::CheckContext ctx;
  ctx.format = invar::ArtifactFormat::yaml;
  CHECK(plain->check_file(tmp / "a.txt", ctx)->verdict == invar::Verdict::accept);
  test::spit(tmp / "s.json", R"({"type": "object", "required": ["items"]})");
  auto cli = test::invar({"check", "--quiet", "--input-format", "yaml", "--schema", tmp / "s.json", tmp / "a.txt"});
  INFO(cli.out);
  CHECK(cli.exit == 0);
  CHECK(test::invar({"check", "--quiet", "--schema", tmp / "s.json", tmp / "a.txt"}).exit == 1);
}

TEST_CASE("yaml: a baseline file is read as its artifact is, by the contract or the extension", "[yaml]") {
  test::TempDir tmp;
  test::spit(tmp / "old.yaml", "- id: a\n- id: b\n- id: c\n");
  test::spit(tmp / "new.yaml", "- id: c\n");
  auto c = test::contract(R"({"contract": "p", "invariants": [
      {"id": "churn", "churn": "$[*].id", "max_removed": "50%", "min_existing": 1}]})");
  REQUIRE(c);
  auto baseline = invar::Baseline::measure_file(*c, tmp / "old.yaml");
  REQUIRE(baseline);
  invar::CheckContext ctx;
  ctx.baseline = &*baseline;
  auto r = c->check_file(tmp / "new.yaml", ctx);
  REQUIRE(r);
  REQUIRE(r->violations.size() == 1);
  CHECK(r->violations[0].message.find("2 of the baseline's 3 keys at $[*].id were removed") != std::string::npos);
  CHECK(r->violations[0].explain == std::vector<std::string>{"removed: \"a\", \"b\""});  // named from the YAML baseline
}

TEST_CASE("yaml: the gate publishes the bytes as they came and compares them with the LKG", "[yaml]") {
  test::TempDir tmp;
  test::spit(tmp / "c.json", R"({"contract": "g", "artifact": {"format": "yaml"}, "invariants": [
      {"id": "ids", "unique": "$[*].id"},
      {"id": "churn", "churn": "$[*].id", "max_removed": "50%", "min_existing": 1}]})");
  const std::string first_bytes = "# first\n- id: a\n- {id: b}   # flow\n";
  test::spit(tmp / "1.yaml", first_bytes);
  test::spit(tmp / "2.yaml", "- id: c\n");
  auto gate = [&](const std::string& file, bool create) {
    std::vector<std::string> args = {"gate", "--contract", tmp / "c.json", "--stream", "s", "--state", tmp / "state",
                                     "--out", tmp / "out.yaml", tmp / file};
    if (create) args.insert(args.begin() + 1, "--create");
    return test::invar(args);
  };
  auto accepted = gate("1.yaml", true);
  INFO(accepted.out);
  CHECK(accepted.exit == 0);
  CHECK(test::slurp(tmp / "out.yaml") == first_bytes);
  auto pinned = gate("2.yaml", false);
  INFO(pinned.out);
  CHECK(pinned.exit == 2);
  CHECK(pinned.out.find("2 of the baseline's 2 keys at $[*].id were removed") != std::string::npos);
  CHECK(test::slurp(tmp / "out.yaml") == first_bytes);
}

TEST_CASE("yaml: a key that is not a string is refused, or read as its text as written", "[yaml]") {
  invar::artifact::YamlOptions text;
  text.keys_as_text = true;
  CHECK(read_as("~: a\n1.0: b\n0x1F: c\ntrue: d\nnull: e\n-0: f\n!!int 7: g\n.inf: h\n", text) ==
        R"({"~":"a","1.0":"b","0x1F":"c","true":"d","null":"e","-0":"f","7":"g",".inf":"h"})");
  CHECK(read_as("? \n: empty\n", text) == R"({"":"empty"})");
  CHECK(read_as("18446744073709551616: big\n", text) == R"({"18446744073709551616":"big"})");
  CHECK(read_as("a: &n 5\n*n : b\n", text) == R"({"a":5,"5":"b"})");  // an alias to a number, as a key
  CHECK(read_as("1: a\n'1': b\n", text) == "refused duplicate-key 2:1 duplicate key \"1\" (first at line 1, column 1)");
  CHECK(read_as("? [a, b]\n: c", text).rfind("refused key 1:3 a sequence used as a key", 0) == 0);  // still
  CHECK(read_as("? {a: 1}\n: c", text).rfind("refused key 1:3 a mapping used as a key", 0) == 0);
  CHECK(read_as("a: &m {x: 1}\n*m : c\n", text).rfind("refused key 2:1 alias *m used as a key names a value that is not a string", 0) == 0);
  // Through a contract: refused, located, unless "keys": "text".
  const char* refuse = R"({"contract": "k", "artifact": {"format": "yaml"},
                           "invariants": [{"id": "codes", "count": "$.codes.*", "min": 2}]})";
  auto refused = check("codes:\n  200: ok\n  404: missing\n", refuse);
  REQUIRE(refused.violations.size() == 1);
  CHECK(located(refused.violations[0]).rfind("artifact.key 2:3 /codes the key \"200\" is not a string", 0) == 0);
  const char* keys = R"({"contract": "k", "artifact": {"format": "yaml", "yaml": {"keys": "text"}},
                         "invariants": [{"id": "codes", "count": "$.codes.*", "min": 2},
                                        {"id": "ok", "schema": "$.codes", "inline": {"required": ["200", "404"]}}]})";
  CHECK(check("codes:\n  200: ok\n  404: missing\n", keys).verdict == invar::Verdict::accept);
  auto bad = test::contract(R"({"contract": "k", "artifact": {"format": "yaml", "yaml": {"keys": "string"}}, "invariants": []})");
  REQUIRE(!bad);
  CHECK(bad.error().to_string() == "test.contract.json:1:67: /artifact/yaml/keys: \"keys\" must be \"refuse\" or \"text\" "
                                   "(a key that is a number, a boolean or null read as its text as written)");
}

TEST_CASE("yaml: a file of no document is refused, or read as null", "[yaml]") {
  invar::artifact::YamlOptions empty;
  empty.empty_as_null = true;
  CHECK(read_as("# only a comment\n\n   \n", empty) == "null");
  CHECK(read_as("", empty) == "null");
  CHECK(read_as("a: 1\n", empty) == R"({"a":1})");
  CHECK(read_as("---\n", empty) == "null");  // an empty document is null whatever the option
  empty.many_documents = true;
  CHECK(read_as("", empty) == "[]");  // many documents: none is the empty array
  const char* nullable = R"({"contract": "e", "artifact": {"format": "yaml", "yaml": {"empty": "null"}},
                             "invariants": [{"id": "object", "schema": "$", "inline": {"type": "object"}}]})";
  auto judged = check("# nothing yet\n", nullable);
  REQUIRE(judged.violations.size() == 1);
  CHECK(located(judged.violations[0]) == "object 1:1  expected object, got null");
  auto refused = check("# nothing yet\n");
  REQUIRE(refused.violations.size() == 1);
  CHECK(refused.violations[0].invariant == "artifact.empty");
}

TEST_CASE("yaml: tags outside the core schema are refused, or dropped", "[yaml]") {
  const std::string template_ =
      "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n"
      "      BucketName: !Sub '${AWS::StackName}-logs'\n      Arn: !GetAtt Bucket.Arn\n      Env: !Ref Env\n"
      "      Count: !Ref 3\n      Pick: !If [cond, a, b]\n      Macro: !Transform {Name: x}\n      Data: !!binary aGk=\n";
  CHECK(read_as(template_) == "refused tag 5:24 tag !Sub on \"${AWS::StackName}-logs\" is not one invar reads (the core "
                              "schema's !!str, !!int, !!float, !!bool, !!null); to read such nodes as if untagged, set "
                              "\"yaml\": {\"tags\": \"untagged\"}");
  invar::artifact::YamlOptions untagged;
  untagged.untagged = true;
  CHECK(read_as(template_, untagged) ==
        R"({"Resources":{"Bucket":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":"${AWS::StackName}-logs",)"
        R"("Arn":"Bucket.Arn","Env":"Env","Count":3,"Pick":["cond","a","b"],"Macro":{"Name":"x"},"Data":"aGk="}}}})");
  CHECK(read_as("x: !If [a]\n") == "refused tag 1:8 tag !If on a sequence is not one invar reads (!!map, !!seq); to read "
                                   "such nodes as if untagged, set \"yaml\": {\"tags\": \"untagged\"}");
  // The core schema's own tags still say what they say.
  CHECK(read_as("x: !!int abc", untagged).rfind("refused tag 1:", 0) == 0);
  CHECK(read_as("x: !!map [a]", untagged).rfind("refused tag 1:10 tag tag:yaml.org,2002:map on a sequence", 0) == 0);
  CHECK(read_as("x: !!str 12\ny: !Ref \"12\"\n", untagged) == R"({"x":"12","y":"12"})");
  test::TempDir tmp;
  test::spit(tmp / "stack.yaml", template_);
  auto c = test::contract(R"({"contract": "cfn", "artifact": {"format": "yaml", "yaml": {"tags": "untagged"}},
      "invariants": [{"id": "count", "schema": "$.Resources.Bucket.Properties.Count", "inline": {"type": "integer"}}]})");
  REQUIRE(c);
  CHECK(c->check_file(tmp / "stack.yaml")->verdict == invar::Verdict::accept);
}

TEST_CASE("yaml: invar check --schema takes the YAML reading options a contract has", "[yaml][cli]") {
  test::TempDir tmp;
  test::spit(tmp / "s.json", R"({"type": "object"})");
  test::spit(tmp / "keys.yaml", "200: ok\n");
  test::spit(tmp / "empty.yaml", "# nothing\n");
  test::spit(tmp / "tags.yaml", "a: !Ref b\n");
  test::spit(tmp / "merge.yaml", "b: &b {x: 1}\nc:\n  <<: *b\n");
  test::spit(tmp / "many.yaml", "a: 1\n---\nb: 2\n");
  test::spit(tmp / "keys.txt", "200: ok\n");
  test::spit(tmp / "a.json", "{}");
  auto check = [&](std::vector<std::string> flags, const std::string& file) {
    std::vector<std::string> args = {"check", "--quiet", "--schema", tmp / "s.json"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(tmp / file);
    return test::invar(args);
  };
  for (const auto& [file, flags] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"keys.yaml", {"--yaml-keys", "text"}},
           {"tags.yaml", {"--yaml-tags", "untagged"}},
           {"merge.yaml", {"--yaml-merge-keys"}}}) {
    INFO(file);
    CHECK(check({}, file).exit == 1);
    auto read = check(flags, file);
    INFO(read.out);
    CHECK(read.exit == 0);
  }
  CHECK(check({}, "empty.yaml").exit == 1);
  CHECK(check({"--yaml-empty", "null"}, "empty.yaml").exit == 1);  // null is no object
  CHECK(test::invar({"check", "--schema", tmp / "s.json", "--yaml-empty", "null", tmp / "empty.yaml"})
            .out.find("expected object, got null") != std::string::npos);
  // --documents many: the schema judges each document (a JSON file is one).
  CHECK(check({"--documents", "many"}, "many.yaml").exit == 0);
  test::spit(tmp / "many-bad.yaml", "a: 1\n---\n- 2\n");
  auto bad = check({"--documents", "many"}, "many-bad.yaml");
  CHECK(bad.exit == 1);
  CHECK(check({"--documents", "many"}, "a.json").exit == 0);
  CHECK(test::invar({"check", "--schema", tmp / "s.json", "--documents", "one", tmp / "many.yaml"})
            .out.find("a second YAML document") != std::string::npos);
  CHECK(check({"--yaml-keys", "text", "--input-format", "yaml"}, "keys.txt").exit == 0);
  // A YAML option applies to the artifacts read as YAML: a JSON one beside them reads as JSON.
  test::spit(tmp / "dup.json", R"({"a": 1, "a": 2})");
  auto json = test::invar({"check", "--schema", tmp / "s.json", "--yaml-keys", "text", tmp / "dup.json"});
  CHECK(json.exit == 1);
  CHECK(json.out.find("more than once") != std::string::npos);
  // With a format that is not YAML, or with a contract, it is a usage error.
  CHECK(check({"--yaml-tags", "untagged", "--input-format", "json"}, "tags.yaml").exit == 3);
  test::spit(tmp / "c.json", R"({"contract": "c", "artifact": {"format": "yaml"}, "invariants": [{"id": "a", "count": "$.*", "min": 1}]})");
  auto contract = test::invar({"check", "--contract", tmp / "c.json", "--yaml-merge-keys", tmp / "merge.yaml"});
  CHECK(contract.exit == 3);
  CHECK(contract.out.find("--yaml-merge-keys applies with --schema") != std::string::npos);
  CHECK(check({"--yaml-keys", "texts"}, "keys.yaml").exit != 0);
}

TEST_CASE("yaml: contracts and schemas written in YAML load and judge like their JSON twins", "[yaml]") {
  test::TempDir tmp;
  test::spit(tmp / "c.json", R"({"contract": "sites", "artifact": {"schema": "site.json"}, "invariants": [
      {"id": "names", "unique": "$.sites[*].name"},
      {"id": "ports", "schema": "$.sites[*]", "file": "port.json"},
      {"id": "few", "count": "$.sites[*]", "max": 2, "why": "three is a crowd"}]})");
  test::spit(tmp / "c.yaml",
             "# the same contract, in YAML\ncontract: sites\nartifact:\n  schema: site.yaml\ninvariants:\n"
             "  - id: names\n    unique: $.sites[*].name\n  - id: ports\n    schema: $.sites[*]\n    file: port.yaml\n"
             "  - id: few\n    count: $.sites[*]\n    max: 2\n    why: three is a crowd\n");
  test::spit(tmp / "site.json", R"({"type": "object", "required": ["sites"]})");
  test::spit(tmp / "site.yaml", "type: object\nrequired: [sites]\n");
  test::spit(tmp / "port.json", R"({"properties": {"port": {"type": "integer", "maximum": 18446744073709551615}}})");
  test::spit(tmp / "port.yaml", "properties:\n  port:\n    type: integer\n    maximum: 18446744073709551615\n");
  auto json = invar::Contract::load_file(tmp / "c.json");
  auto yaml = invar::Contract::load_file(tmp / "c.yaml");
  REQUIRE(json);
  REQUIRE(yaml);
  for (const char* artifact : {R"({"sites": [{"name": "a", "port": 18446744073709551615}]})",
                               R"({"sites": [{"name": "a", "port": 18446744073709551616.0}, {"name": "a"}, {"name": "b"}]})",
                               R"({"nothing": []})"}) {
    INFO(artifact);
    auto a = json->check(artifact), b = yaml->check(artifact);
    CHECK(a.verdict == b.verdict);
    REQUIRE(a.violations.size() == b.violations.size());
    for (size_t i = 0; i < a.violations.size(); ++i) CHECK(located(a.violations[i]) == located(b.violations[i]));
  }
  CHECK(yaml->check(R"({"sites": [{"name": "a", "port": 18446744073709551616.0}]})").violations.at(0).message ==
        "value must be <= 18446744073709551615");
  // A schema alone, and through the CLI.
  test::spit(tmp / "a.json", R"({"sites": [{"name": "a", "port": 80}]})");
  auto schema = invar::Contract::from_schema_file(tmp / "site.yaml");
  REQUIRE(schema);
  CHECK(schema->check("[]").verdict == invar::Verdict::reject);
  CHECK(test::invar({"check", "--quiet", "--contract", tmp / "c.yaml", tmp / "a.json"}).exit == 0);
  CHECK(test::invar({"check", "--quiet", "--schema", tmp / "port.yaml", tmp / "a.json"}).exit == 0);
}

TEST_CASE("yaml: a YAML contract's or schema's problems are located in its YAML", "[yaml]") {
  test::TempDir tmp;
  test::spit(tmp / "dup.yaml", "contract: c\ninvariants:\n  - id: a\n    count: $.x[*]\n    max: 1\n    max: 2\n");
  auto dup = invar::Contract::load_file(tmp / "dup.yaml");
  REQUIRE(!dup);
  CHECK(dup.error().code == invar::ErrorCode::syntax);
  CHECK(dup.error().to_string() ==
        tmp / "dup.yaml" + ":6:5: /invariants/0/max: duplicate key \"max\" (first at line 5, column 5)");
  test::spit(tmp / "typo.yaml", "contract: c\ninvariants:\n  - id: a\n    count: $.x[*]\n    maxx: 1\n");
  auto typo = invar::Contract::load_file(tmp / "typo.yaml");
  REQUIRE(!typo);
  CHECK(typo.error().to_string().rfind(tmp / "typo.yaml" + ":5:11: /invariants/0/maxx: unknown key \"maxx\"", 0) == 0);
  test::spit(tmp / "missing.yaml", "contract: c\ninvariants:\n  - id: a\n    count: $.x[*]\n");
  auto missing = invar::Contract::load_file(tmp / "missing.yaml");
  REQUIRE(!missing);
  CHECK(missing.error().to_string().rfind(tmp / "missing.yaml" + ":3:5: /invariants/0: a count invariant needs", 0) == 0);
  test::spit(tmp / "s.yaml", "properties:\n  port:\n    type: integr\n");
  auto schema = invar::Contract::from_schema_file(tmp / "s.yaml");
  REQUIRE(!schema);
  CHECK(schema.error().to_string() == tmp / "s.yaml" + ":3:11: /properties/port/type: unknown type \"integr\"");
  test::spit(tmp / "tag.yaml", "contract: c\ninvariants: !Ref list\n");
  auto tag = invar::Contract::load_file(tmp / "tag.yaml");
  REQUIRE(!tag);
  CHECK(tag.error().to_string() == tmp / "tag.yaml" + ":2:18: /invariants: tag !Ref on \"list\" is not one invar reads "
                                                      "(the core schema's !!str, !!int, !!float, !!bool, !!null)");
  test::spit(tmp / "empty.yaml", "# nothing\n");
  CHECK(invar::Contract::load_file(tmp / "empty.yaml").error().message == "the file holds no YAML document");
  auto cli = test::invar({"check", "--contract", tmp / "dup.yaml", tmp / "dup.yaml"});
  CHECK(cli.exit == 3);
  CHECK(cli.out.find("dup.yaml:6:5: /invariants/0/max: duplicate key \"max\"") != std::string::npos);
}
