// include/invar/report.hpp: the format registry, each format's exact output
// (golden files in tests/golden/, one report with every outcome and content
// that tries to break each syntax), SARIF validated against the official
// schema, JUnit parsed as XML, and violations located by line and column.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "invar/invar.h"
#include "invar/report.hpp"
#include "process.hpp"

using nlohmann::json;
using test::contains;

namespace {

// Text that tries to break every format: XML's "]]>" and markup, control
// characters, invalid UTF-8, GitHub's escapes (% CR LF : ,), TAP's '#'.
const std::string kNasty = "a]]>b <x> & \"q\" 'a' \x01\x1f tab\there %25 50% # not a directive\r\nline2 \xff\xfe end";

invar::Report nasty_report() {
  invar::Report r;
  r.contract = "demo<contract>";
  r.artifact = "configs/a b.json";
  r.verdict = invar::Verdict::reject;
  using invar::Outcome;
  using invar::Severity;
  r.invariants = {{"ok.one", "count", Severity::error, Outcome::pass, 0, ""},
                  {"bad:id,1", "match", Severity::error, Outcome::fail, 3, ""},
                  {"warn.size", "count", Severity::warn, Outcome::fail, 1, ""},
                  {"delta.growth", "delta", Severity::error, Outcome::skipped, 0, "no baseline"},
                  {"waived.count", "count", Severity::error, Outcome::waived, 1, "waived by ops until 2026-12-03T00:00:00Z: " + kNasty}};
  invar::Violation v;
  v.invariant = "bad:id,1";
  v.kind = "match";
  v.family = "schema";
  v.message = "value does not match: " + kNasty;
  v.pointer = "/rules/0/expr";
  v.line = 12;
  v.column = 7;
  v.expected = "matches \"^[a-z]+$\"";
  v.actual = kNasty;
  v.why = "the consumer compiles every rule";
  r.violations.push_back(v);
  v.pointer = "/rules/4/expr";
  v.line = 40;
  v.column = 3;
  v.message = "second";
  r.violations.push_back(v);
  invar::Violation w;
  w.invariant = "warn.size";
  w.kind = "count";
  w.family = "cardinality";
  w.severity = Severity::warn;
  w.message = "count is 90, near max 100";
  w.pointer = "";
  r.violations.push_back(w);
  invar::Violation x = w;
  x.invariant = "waived.count";
  x.severity = Severity::error;
  x.message = "count is 101, over max 100";
  x.line = 1;
  x.column = 1;
  r.violations.push_back(x);
  invar::Violation s;
  s.invariant = "artifact.duplicate-key";
  s.kind = "artifact";
  s.family = "artifact";
  s.message = "duplicate key \"a\"";
  s.pointer = "/a";
  s.line = 3;
  s.column = 5;
  r.violations.push_back(s);
  return r;
}

std::string golden_path(const std::string& name) { return test::source("tests/golden/" + name); }

// Compares with the golden file; INVAR_UPDATE_GOLDEN=1 rewrites it instead.
void check_golden(const std::string& name, const std::string& actual) {
  if (std::getenv("INVAR_UPDATE_GOLDEN")) {
    test::spit(golden_path(name), actual);
    WARN("rewrote " << golden_path(name));
    return;
  }
  INFO("golden " << name << " (INVAR_UPDATE_GOLDEN=1 rewrites it after a deliberate change)");
  CHECK(actual == test::slurp(golden_path(name)));
}

// python3 with the jsonschema module, or the reason the check cannot run.
bool have_python_jsonschema() { return std::system("python3 -c 'import jsonschema' >/dev/null 2>&1") == 0; }

void require_valid_sarif(const std::string& path) {
  std::string schema = test::source("../shared/sarif/sarif-schema-2.1.0.json");
  if (!std::filesystem::exists(schema)) {
    WARN("../shared/sarif/sarif-schema-2.1.0.json is absent: SARIF output was not validated");
    return;
  }
  // Two validators of the official (draft-04) schema: invar's own engine, and
  // python-jsonschema's, so that a shared misreading of the schema is unlikely.
  auto own = invar::Contract::from_schema_file(schema);
  REQUIRE(own);
  auto verdict = own->check_file(path);
  REQUIRE(verdict);
  INFO(invar::render_human(*verdict));
  REQUIRE(verdict->verdict == invar::Verdict::accept);
  if (!have_python_jsonschema()) {
    if (std::getenv("CI")) FAIL("python3-jsonschema is not installed (scripts/install-deps installs it)");
    WARN("python3-jsonschema is not installed: SARIF output was not validated");
    return;
  }
  std::string out = path + ".validation";
  std::string command = "python3 -c 'import json, sys, jsonschema; "
                        "schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2])); "
                        "jsonschema.Draft4Validator.check_schema(schema); "
                        "errors = list(jsonschema.Draft4Validator(schema).iter_errors(doc)); "
                        "[print(e.json_path if hasattr(e, \"json_path\") else list(e.path), e.message) for e in errors]; "
                        "sys.exit(1 if errors else 0)' '" + schema + "' '" + path + "' > '" + out + "' 2>&1";
  int rc = std::system(command.c_str());
  INFO(test::slurp(out));
  REQUIRE(rc == 0);
}

void require_well_formed_xml(const std::string& path) {
  std::string out = path + ".parse";
  std::string command = "python3 -c 'import sys, xml.etree.ElementTree as ET; root = ET.parse(sys.argv[1]).getroot(); "
                        "assert root.tag == \"testsuites\", root.tag' '" + path + "' > '" + out + "' 2>&1";
  int rc = std::system(command.c_str());
  INFO(test::slurp(out));
  REQUIRE(rc == 0);
}

}  // namespace

TEST_CASE("report formats: one registry names them, finds them and lists them", "[report]") {
  std::vector<std::string> names;
  for (const auto& f : invar::report_formats()) {
    names.emplace_back(f.name);
    CHECK_FALSE(f.help.empty());
    CHECK(f.render != nullptr);
  }
  CHECK(names == std::vector<std::string>{"human", "json", "sarif", "junit", "github", "tap"});
  CHECK(invar::report_format_names() == "human, json, sarif, junit, github, tap");
  REQUIRE(invar::find_report_format("sarif"));
  CHECK(invar::find_report_format("sarif")->name == "sarif");
  CHECK(invar::find_report_format("SARIF") == nullptr);
  CHECK(invar::find_report_format("") == nullptr);
  auto r = test::invar({"check", "--contract", test::source("rules/feature-file.contract.json"), "--format", "xml",
                        test::source("examples/cloudflare-2025-features/good.json")});
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "--format: xml not in {human,json,sarif,junit,github,tap}"));
}

TEST_CASE("report formats: each format's exact output for every outcome and hostile content", "[report]") {
  const auto report = nasty_report();
  for (const auto& f : invar::report_formats()) {
    INFO(f.name);
    check_golden("nasty." + std::string(f.name), f.render({report, report}, {}));
  }
}

TEST_CASE("report formats: SARIF validates against the official 2.1.0 schema, also with hostile content", "[report]") {
  test::TempDir tmp;
  std::string path = tmp / "nasty.sarif";
  test::spit(path, invar::render_sarif({nasty_report()}));
  require_valid_sarif(path);
  auto sarif = json::parse(test::slurp(path));
  const auto& run = sarif["runs"][0];
  CHECK(run["tool"]["driver"]["name"] == "invar");
  CHECK(run["columnKind"] == "unicodeCodePoints");
  CHECK(run["invocations"][0]["executionSuccessful"] == true);
  // One rule per invariant, results pointing at them, located, levels by severity.
  CHECK(run["tool"]["driver"]["rules"].size() == 6);  // 5 invariants and artifact.duplicate-key
  const auto& first = run["results"][0];
  CHECK(first["ruleId"] == "bad:id,1");
  CHECK(run["tool"]["driver"]["rules"][first["ruleIndex"].get<size_t>()]["id"] == "bad:id,1");
  CHECK(first["level"] == "error");
  CHECK(first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "configs/a%20b.json");
  CHECK(first["locations"][0]["physicalLocation"]["region"]["startLine"] == 12);
  CHECK(first["locations"][0]["physicalLocation"]["region"]["startColumn"] == 7);
  CHECK(run["results"][2]["level"] == "warning");
  CHECK_FALSE(run["results"][2]["locations"][0]["physicalLocation"].contains("region"));  // no line known
  CHECK(run["results"][3]["suppressions"][0]["kind"] == "external");  // waived
  // From the CLI, on the bundled incident: validates too.
  auto r = test::invar({"check", "--contract", test::source("rules/feature-file.contract.json"), "--format", "sarif",
                        test::source("examples/cloudflare-2025-features/bad.json")});
  CHECK(r.exit == 1);
  test::spit(tmp / "cli.sarif", r.out);
  require_valid_sarif(tmp / "cli.sarif");
}

TEST_CASE("report formats: JUnit is well-formed XML whatever the content, one testsuite per artifact", "[report]") {
  test::TempDir tmp;
  std::string path = tmp / "nasty.xml";
  test::spit(path, invar::render_junit({nasty_report(), nasty_report()}));
  require_well_formed_xml(path);
  std::string xml = test::slurp(path);
  CHECK_FALSE(contains(xml, "]]>"));
  CHECK_FALSE(contains(xml, "\x01"));
  CHECK(contains(xml, "<testsuites name=\"invar\" tests=\"12\" failures=\"4\" errors=\"0\" skipped=\"4\">"));
  auto r = test::invar({"check", "--contract", test::source("rules/feature-file.contract.json"), "--format", "junit",
                        test::source("examples/cloudflare-2025-features/good.json"),
                        test::source("examples/cloudflare-2025-features/bad.json")});
  CHECK(r.exit == 1);
  test::spit(tmp / "cli.xml", r.out);
  require_well_formed_xml(tmp / "cli.xml");
  CHECK(contains(r.out, "... and 56 more"));  // 106 violations, 50 listed
}

TEST_CASE("report formats: GitHub commands escape %, CR, LF in messages and : , in properties", "[report]") {
  std::string out = invar::render_github({nasty_report()});
  CHECK(contains(out, "::error file=configs/a b.json,line=12,col=7,title=bad%3Aid%2C1 [match]::at /rules/0/expr: "));
  CHECK(contains(out, "%2525 50%25"));
  CHECK(contains(out, "%0D%0Aline2"));
  CHECK(contains(out, "::warning file=configs/a b.json,title=warn.size [count]::count is 90, near max 100"));
  CHECK(contains(out, "::notice file=configs/a b.json,line=1,col=1,title=waived.count [count] (waived)::"));
  // Every line is one command or the summary: no raw CR or LF inside a command.
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  CHECK(lines == 6);
  CHECK_FALSE(contains(out, "\r"));
  CHECK_FALSE(contains(out, "\x01"));
}

TEST_CASE("report formats: violations are located by line and column (characters) in the artifact", "[report]") {
  test::TempDir tmp;
  test::spit(tmp / "s.json", R"({"properties": {"b": {"items": {"type": "integer"}}}})");
  test::spit(tmp / "a.json", "{\n  \"n\xc3\xa9v\": \"\xc3\xa9\", \"b\": [1, \"x\"]\n}\n");
  auto r = test::invar({"check", "--schema", tmp / "s.json", "--format", "json", tmp / "a.json"});
  REQUIRE(r.exit == 1);
  auto v = json::parse(r.out)["reports"][0]["violations"][0];
  CHECK(v["pointer"] == "/b/1");
  CHECK(v["line"] == 2);
  CHECK(v["column"] == 24);  // 26 in bytes: two characters before it take two bytes each
  auto human = test::invar({"check", "--schema", tmp / "s.json", tmp / "a.json"});
  CHECK(contains(human.out, tmp / "a.json:2:24 /b/1: "));
  // A reading problem is located too.
  test::spit(tmp / "broken.json", "{\n  \"a\": 1,,\n}");
  auto broken = test::invar({"check", "--schema", tmp / "s.json", "--format", "github", tmp / "broken.json"});
  CHECK(broken.exit == 1);
  CHECK(contains(broken.out, "::error file=" + tmp / "broken.json" + ",line=2,col="));
  // An accepted artifact has no violations to locate; nothing else changes.
  test::spit(tmp / "ok.json", R"({"b": [1, 2]})");
  CHECK(test::invar({"check", "--schema", tmp / "s.json", "--format", "sarif", tmp / "ok.json"}).exit == 0);
}

TEST_CASE("report formats: the gate renders its candidate's report in the CI formats", "[report]") {
  test::TempDir tmp;
  std::string contract = test::source("rules/feature-file.contract.json");
  std::string state = tmp / "state";
  REQUIRE(test::invar({"init", "--state", state, "--stream", "bot", "--contract", contract, "--by", "t"}).exit == 0);
  auto r = test::invar({"gate", "--state", state, "--stream", "bot", "--contract", contract, "--out", tmp / "out.json",
                        "--format", "sarif", test::source("examples/cloudflare-2025-features/bad.json")});
  CHECK(r.exit == 1);  // no LKG yet: reject
  test::spit(tmp / "gate.sarif", r.out);
  require_valid_sarif(tmp / "gate.sarif");
  auto tap = test::invar({"gate", "--state", state, "--stream", "bot", "--contract", contract, "--out", tmp / "out.json",
                          "--format", "tap", test::source("examples/cloudflare-2025-features/good.json")});
  CHECK(tap.exit == 0);
  CHECK(contains(tap.out, "TAP version 13\n1..5\nok 1 - "));
  CHECK_FALSE(contains(tap.out, "not ok"));
}

TEST_CASE("report formats: the C ABI renders any format and locates violations", "[report][capi]") {
  std::string bad = test::slurp(test::source("examples/cloudflare-2025-features/bad.json"));
  invar_contract* c = nullptr;
  REQUIRE(invar_contract_load(test::source("rules/feature-file.contract.json").c_str(), &c) == INVAR_OK);
  invar_report* r = nullptr;
  REQUIRE(invar_check(c, bad.data(), bad.size(), nullptr, 0, 0, &r) == INVAR_OK);
  char* junit = invar_report_render(r, "junit");
  REQUIRE(junit);
  CHECK(contains(junit, "<testsuites name=\"invar\""));
  invar_string_free(junit);
  CHECK(invar_report_render(r, "yaml") == nullptr);
  CHECK(std::string(invar_last_error()) ==
        "invar_report_render: unknown format \"yaml\" (valid: human, json, sarif, junit, github, tap)");
  uint64_t line = 0, column = 0;
  REQUIRE(invar_report_violation_location(r, 0, &line, &column) == INVAR_OK);
  CHECK(line == 4);
  CHECK(column == 15);
  CHECK(invar_report_violation_location(r, 100000, &line, &column) == INVAR_E_ARGUMENT);
  invar_report_free(r);
  invar_contract_free(c);
}

namespace {

// `invar ARGS...` with its stdout alone (stderr discarded): what a pipeline reads.
test::Run invar_stdout(const std::vector<std::string>& args) {
  return test::run({"/bin/sh", "-c", "exec \"$@\" 2>/dev/null", "sh", INVAR_CLI}, args);
}

void require_valid_report_json(const std::string& text) {
  auto schema = invar::Contract::from_schema_file(test::source("schemas/report.schema.json"));
  REQUIRE(schema);
  auto verdict = schema->check(text);
  INFO(invar::render_human(verdict));
  REQUIRE(verdict.verdict == invar::Verdict::accept);
}

// What each format must say when nothing (or not everything) was judged.
// `judged`: an artifact was judged (and may say ACCEPT for itself) before the error.
void require_states_error(const std::string& format, const test::Run& r, const test::TempDir& tmp, bool judged = false) {
  INFO(format << ":\n" << r.out);
  CHECK(r.exit == 3);
  if (!judged) CHECK_FALSE(contains(r.out, "ACCEPT"));
  if (format == "json") {
    auto doc = json::parse(r.out);  // one document: a second would not parse
    CHECK(doc["verdict"] == "error");
    CHECK_FALSE(doc["error"]["message"].get<std::string>().empty());
    require_valid_report_json(r.out);
  } else if (format == "sarif") {
    test::spit(tmp / "error.sarif", r.out);
    require_valid_sarif(tmp / "error.sarif");
    auto invocation = json::parse(r.out)["runs"][0]["invocations"][0];
    CHECK(invocation["executionSuccessful"] == false);
    CHECK(invocation["toolExecutionNotifications"][0]["level"] == "error");
    CHECK_FALSE(invocation["toolExecutionNotifications"][0]["message"]["text"].get<std::string>().empty());
  } else if (format == "junit") {
    test::spit(tmp / "error.xml", r.out);
    require_well_formed_xml(tmp / "error.xml");
    CHECK(contains(r.out, "<error message=\""));
    CHECK_FALSE(contains(r.out, "errors=\"0\" skipped=\"0\">\n</testsuites>"));
    CHECK_FALSE(contains(r.out, "<testsuites name=\"invar\" tests=\"0\""));
  } else if (format == "tap") {
    CHECK(contains(r.out, "\nnot ok "));
    CHECK(contains(r.out, "\nBail out! invar cannot judge: "));
    CHECK_FALSE(contains(r.out, "1..0\n"));
  } else if (format == "github") {
    CHECK((r.out.rfind("::error ", 0) == 0 || contains(r.out, "\n::error ")));
    CHECK(contains(r.out, "title=invar cannot judge::"));
  }
}

}  // namespace

TEST_CASE("report formats: exit 3 states the error in every format, never accept", "[report]") {
  test::TempDir tmp;
  const std::string good = test::source("examples/cloudflare-2025-features/good.json");
  const std::string contract = test::source("rules/feature-file.contract.json");
  const std::string broken = test::source("tests/contracts/unknown-kind.json");
  for (const auto& f : invar::report_formats()) {
    const std::string format(f.name);
    SECTION("check, a broken contract: " + format) {
      require_states_error(format, invar_stdout({"check", "--format", format, "--contract", broken, good}), tmp);
    }
    SECTION("check, a missing artifact: " + format) {
      require_states_error(format, invar_stdout({"check", "--format", format, "--contract", contract, tmp / "absent.json"}),
                           tmp);
    }
    SECTION("check, a judged artifact and a missing one: " + format) {
      auto r = invar_stdout({"check", "--format", format, "--contract", contract, good, tmp / "absent.json"});
      require_states_error(format, r, tmp, true);
      if (format == "json") CHECK(json::parse(r.out)["reports"].size() == 1);
    }
  }
  SECTION("check, a missing baseline, a bad flag") {
    require_states_error("json", invar_stdout({"check", "--format", "json", "--contract", contract, "--baseline",
                                               tmp / "absent.json", good}), tmp);
    require_states_error("tap", invar_stdout({"check", "--format", "tap", "--contract", contract, "-", "-"}), tmp);
  }
  SECTION("gate, a broken contract: SARIF") {
    require_states_error("sarif", invar_stdout({"gate", "--state", tmp / "state", "--stream", "s", "--contract", broken,
                                                "--out", tmp / "out.json", "--format", "sarif", good}), tmp);
  }
  SECTION("gate, a missing candidate: TAP, GitHub") {
    REQUIRE(test::invar({"init", "--state", tmp / "state", "--stream", "s", "--contract", contract, "--by", "t"}).exit == 0);
    for (std::string format : {"tap", "github", "junit"})
      require_states_error(format, invar_stdout({"gate", "--state", tmp / "state", "--stream", "s", "--contract", contract,
                                                 "--out", tmp / "out.json", "--format", format, tmp / "absent.json"}), tmp);
  }
  SECTION("lint, an unreadable contract: JUnit, JSON") {
    require_states_error("junit", invar_stdout({"lint", "--format", "junit", tmp / "absent.contract.json"}), tmp);
    auto r = invar_stdout({"lint", "--format", "json", contract, tmp / "absent.contract.json"});
    require_states_error("json", r, tmp, true);
    CHECK(json::parse(r.out)["reports"].size() >= 1);  // the readable contract's findings are kept
  }
  SECTION("test, a missing test file: JSON, JUnit") {
    require_states_error("json", invar_stdout({"test", "--format", "json", tmp / "absent.test.json"}), tmp);
    require_states_error("junit", invar_stdout({"test", "--format", "junit", tmp / "absent.test.json"}), tmp);
  }
}

TEST_CASE("report formats: a SARIF run that judged everything says executionSuccessful: true", "[report]") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check", "--format", "sarif", "--contract", test::source("rules/feature-file.contract.json"),
            test::source("examples/cloudflare-2025-features/bad.json")},
           {"lint", "--format", "sarif", test::source("rules/feature-file.contract.json")}}) {
    auto r = invar_stdout(args);
    INFO(r.out);
    CHECK(r.exit != 3);
    auto invocations = json::parse(r.out)["runs"][0]["invocations"];
    REQUIRE(invocations.size() == 1);
    CHECK(invocations[0]["executionSuccessful"] == true);
    CHECK_FALSE(invocations[0].contains("toolExecutionNotifications"));
  }
}

TEST_CASE("report formats: the human report escapes C0, C1, OSC and line separators in keys and values", "[report]") {
  // ESC CSI, C1 CSI (U+009B), OSC (ESC ] ... BEL, and C1 OSC U+009D ... ST U+009C), U+2028, a leading ::error.
  const std::string hostile = "\x1b[2J \xc2\x9b" "31m \x1b]8;;http://x\x07link \xc2\x9d" "0;title\xc2\x9c \xe2\x80\xa8::error::forged";
  invar::Report r;
  r.contract = "c";
  r.artifact = "a.json";
  r.verdict = invar::Verdict::reject;
  r.invariants = {{"k", "match", invar::Severity::error, invar::Outcome::fail, 1, ""},
                  {"s", "delta", invar::Severity::error, invar::Outcome::skipped, 0, hostile}};
  invar::Violation v;
  v.invariant = "k";
  v.kind = "match";
  v.message = "key " + hostile + " value " + hostile;
  v.pointer = "/" + hostile;
  v.line = 1;
  v.column = 1;
  v.expected = hostile;
  v.actual = "\n::error::" + hostile;
  v.baseline = hostile;
  v.explain = {"::error::" + hostile};
  r.violations.push_back(v);
  std::string out = invar::render_human(r);
  INFO(out);
  CHECK_FALSE(contains(out, "\x1b"));
  CHECK_FALSE(contains(out, "\x07"));
  for (std::string c1 : {"\xc2\x9b", "\xc2\x9c", "\xc2\x9d"}) CHECK_FALSE(contains(out, c1));
  CHECK_FALSE(contains(out, "\xe2\x80\xa8"));
  CHECK_FALSE(contains(out, "\n::"));
  CHECK(contains(out, "\\x1b[2J \\u009b31m"));
  CHECK(contains(out, "\\u2028::error::forged"));
  // From the CLI: a key and a value of an artifact.
  test::TempDir tmp;
  test::spit(tmp / "s.json", R"({"additionalProperties": {"type": "integer"}})");
  nlohmann::json artifact = {{hostile, hostile}};
  test::spit(tmp / "a.json", artifact.dump());
  auto cli = test::invar({"check", "--schema", tmp / "s.json", tmp / "a.json"});
  INFO(cli.out);
  CHECK(cli.exit == 1);
  CHECK_FALSE(contains(cli.out, "\x1b"));
  CHECK_FALSE(contains(cli.out, "\xc2\x9b"));
  CHECK_FALSE(contains(cli.out, "\xe2\x80\xa8"));
  CHECK_FALSE(contains(cli.out, "\n::"));
  CHECK(contains(cli.out, "\\u009b31m"));
}

TEST_CASE("report formats: each format's exact output of errors with hostile content", "[report]") {
  invar::Error error{invar::ErrorCode::io, "cannot read: " + kNasty, {"configs/a b.json", "/x", 3, 4}};
  error.also.push_back({invar::ErrorCode::contract, "second: " + kNasty, {}});
  for (const auto& f : invar::report_formats()) {
    INFO(f.name);
    REQUIRE(f.render_errors != nullptr);
    const std::string out = invar::render_reports(f, {nasty_report()}, {error});
    check_golden("error." + std::string(f.name), out);
    // Without errors: render() itself.
    CHECK(invar::render_reports(f, {nasty_report()}, {}) == f.render({nasty_report()}, {}));
    // A streaming format: the report, then the errors alone, is the same output.
    if (f.streams) CHECK(f.render({nasty_report()}, {}) + invar::render_reports(f, {}, {error}) == out);
  }
  test::TempDir tmp;
  test::spit(tmp / "error.sarif", invar::render_reports(*invar::find_report_format("sarif"), {nasty_report()}, {error}));
  require_valid_sarif(tmp / "error.sarif");
  test::spit(tmp / "error.xml", invar::render_reports(*invar::find_report_format("junit"), {nasty_report()}, {error}));
  require_well_formed_xml(tmp / "error.xml");
  require_valid_report_json(invar::render_reports(*invar::find_report_format("json"), {nasty_report()}, {error}));
}
