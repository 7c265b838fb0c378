// `invar test`: contract unit tests. Cases that pass and fail (each failure
// says what was expected and what happened), exit codes, located errors in
// test files, and the JUnit output parsed as XML.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "process.hpp"

using nlohmann::json;
using test::contains;

namespace {

struct Suite {
  test::TempDir tmp;
  Suite() {
    test::spit(tmp / "c.contract.json", R"({"contract": "items", "invariants": [
      {"id": "items.count", "count": "$.items[*]", "min": 1, "max": 3},
      {"id": "items.unique", "unique": "$.items[*]"}]})");
    test::spit(tmp / "two.json", R"({"items": [1, 2]})");
  }
  std::string file(const std::string& name, const std::string& text) {
    test::spit(tmp / name, text);
    return tmp / name;
  }
};

}  // namespace

TEST_CASE("invar test: every case passes: exit 0 and a PASS line each", "[test-command]") {
  Suite s;
  auto t = s.file("ok.test.json", R"({"contract": "c.contract.json", "tests": [
    {"name": "two items", "artifact": "two.json", "expect": {"verdict": "accept", "failing": []}},
    {"name": "too many, twice", "inline": {"items": [1, 1, 2, 3]},
     "expect": {"verdict": "reject", "failing": ["items.count", "items.unique"], "violations": {"items.count": 1, "items.unique": 1}}}]})");
  auto r = test::invar({"test", t});
  INFO(r.out);
  CHECK(r.exit == 0);
  CHECK(contains(r.out, "PASS " + t + ": two items\n"));
  CHECK(contains(r.out, "PASS " + t + ": too many, twice\n"));
  CHECK(contains(r.out, "invar test: 2 passed, 0 failed (1 file)\n"));
  // A directory: its *.test.json files.
  CHECK(test::invar({"test", s.tmp.path.string()}).exit == 0);
}

TEST_CASE("invar test: a failing case is exit 1 and says what was expected and what happened", "[test-command]") {
  Suite s;
  auto t = s.file("bad.test.json", R"({"contract": "c.contract.json", "tests": [
    {"name": "wrong verdict", "artifact": "two.json", "expect": {"verdict": "reject"}},
    {"name": "wrong set", "inline": {"items": []}, "expect": {"verdict": "reject", "failing": ["items.unique"]}},
    {"name": "wrong count", "inline": {"items": [1, 1, 1]}, "expect": {"verdict": "reject", "violations": {"items.unique": 2}}}]})");
  auto r = test::invar({"test", t});
  INFO(r.out);
  CHECK(r.exit == 1);
  CHECK(contains(r.out, "FAIL " + t + ": wrong verdict\n    expected verdict reject, got accept\n"));
  CHECK(contains(r.out, "FAIL " + t + ": wrong set\n    expected failing [items.unique], got [items.count]\n"));
  CHECK(contains(r.out, "FAIL " + t + ": wrong count\n    expected 2 violation(s) of items.unique, got 1\n"));
  CHECK(contains(r.out, "invar test: 0 passed, 3 failed (1 file)\n"));
  auto j = test::invar({"test", "--format", "json", t});
  CHECK(j.exit == 1);
  auto doc = json::parse(j.out);
  CHECK(doc["failed"] == 3);
  CHECK(doc["files"][0]["cases"][1]["failing"] == json::array({"items.count"}));
  auto junit = test::invar({"test", "--format", "junit", t});
  test::spit(s.tmp / "junit.xml", junit.out);
  std::string check = "python3 -c 'import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); "
                      "assert r.get(\"failures\") == \"3\", r.attrib' '" + (s.tmp / "junit.xml") + "'";
  CHECK(std::system(check.c_str()) == 0);
}

TEST_CASE("invar test: a test file that cannot be used is exit 3 with its location", "[test-command]") {
  Suite s;
  auto run = [&](const std::string& text) { return test::invar({"test", s.file("x.test.json", text)}); };
  auto unknown = run("{\"contract\": \"c.contract.json\", \"tests\": [\n  {\"name\": \"a\", \"artifact\": \"two.json\", \"expct\": {}}]}");
  CHECK(unknown.exit == 3);
  CHECK(contains(unknown.out, s.tmp / "x.test.json:2:50: /tests/0/expct: unknown key \"expct\" (known: name, description, "
                                       "artifact, inline, baseline, baseline_inline, now, expect)"));
  auto missing = run(R"({"contract": "c.contract.json", "tests": [{"name": "a", "artifact": "nope.json", "expect": {"verdict": "accept"}}]})");
  CHECK(missing.exit == 3);
  CHECK(contains(missing.out, "/tests/0/artifact: no such file: " + (s.tmp / "nope.json")));
  auto both = run(R"({"contract": "c.contract.json", "tests": [{"name": "a", "artifact": "two.json", "inline": 1, "expect": {"verdict": "accept"}}]})");
  CHECK(both.exit == 3);
  CHECK(contains(both.out, "give exactly one of \"artifact\""));
  auto verdict = run(R"({"contract": "c.contract.json", "tests": [{"name": "a", "inline": 1, "expect": {"verdict": "pass"}}]})");
  CHECK(verdict.exit == 3);
  CHECK(contains(verdict.out, "/tests/0/expect: \"verdict\": \"accept\" or \"reject\" is required"));
  auto syntax = run("{\"contract\": \"c.contract.json\",\n \"tests\": [}");
  CHECK(syntax.exit == 3);
  CHECK(contains(syntax.out, s.tmp / "x.test.json:2:"));
  auto contract = run(R"({"contract": "none.json", "tests": [{"name": "a", "inline": 1, "expect": {"verdict": "accept"}}]})");
  CHECK(contract.exit == 3);
  CHECK(test::invar({"test", s.tmp / "absent.test.json"}).exit == 3);
  CHECK(test::invar({"test", "--format", "tap", s.tmp / "x.test.json"}).exit == 3);  // not a format of invar test
}

TEST_CASE("invar test: names, ids, keys and paths are escaped in the human output", "[test-command]") {
  Suite s;
  // ESC CSI, C1 CSI (U+009B), OSC, U+2028, and line breaks followed by a workflow command.
  const std::string hostile = "\x1b[2J\xc2\x9b" "31m\x1b]8;;http://x\x07\xe2\x80\xa8\n::error::forged";
  json t = {{"contract", "c.contract.json"},
            {"tests", json::array({{{"name", "case " + hostile},
                                    {"inline", {{"items", json::array({hostile, hostile})}}},
                                    {"expect", {{"verdict", "accept"}, {"failing", json::array({"id " + hostile})}}}}})}};
  auto r = test::invar({"test", s.file("hostile.test.json", t.dump())});
  INFO(r.out);
  CHECK(r.exit == 1);
  CHECK_FALSE(contains(r.out, "\x1b"));
  CHECK_FALSE(contains(r.out, "\x07"));
  CHECK_FALSE(contains(r.out, "\xc2\x9b"));
  CHECK_FALSE(contains(r.out, "\xe2\x80\xa8"));
  CHECK_FALSE(contains(r.out, "\n::"));
  CHECK(contains(r.out, ": case \\x1b[2J\\u009b31m\\x1b]8;;http://x\\x07\\u2028\\n::error::forged\n"));
  // A duplicate name (an error message on stderr) is escaped too.
  t["tests"].push_back(t["tests"][0]);
  auto dup = test::invar({"test", s.file("dup.test.json", t.dump())});
  CHECK(dup.exit == 3);
  CHECK_FALSE(contains(dup.out, "\x1b"));
  CHECK_FALSE(contains(dup.out, "\n::"));
}

TEST_CASE("invar test: standard input can be read by one case only", "[test-command]") {
  Suite s;
  // Two readers of "-": the second would judge an empty artifact, and a case expecting a reject would pass.
  auto t = s.file("stdin.test.json", R"({"contract": "c.contract.json", "tests": [
    {"name": "first", "artifact": "-", "expect": {"verdict": "reject"}},
    {"name": "second", "artifact": "-", "expect": {"verdict": "reject"}}]})");
  auto r = test::invar({"test", t});
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "/tests/1/artifact: \"-\" (standard input) can be read by one case only"));
  // Across files of one run too.
  auto one = s.file("one.test.json", R"({"contract": "c.contract.json", "tests": [
    {"name": "first", "artifact": "-", "expect": {"verdict": "reject"}}]})");
  auto two = s.file("two.test.json", R"({"contract": "c.contract.json", "tests": [
    {"name": "again", "artifact": "-", "expect": {"verdict": "reject"}}]})");
  CHECK(test::invar({"test", one, two}).exit == 3);
}

TEST_CASE("invar test: paths stay in the test file's directory unless --allow-outside", "[test-command]") {
  Suite s;
  test::TempDir outside;
  test::spit(outside / "secret.json", R"({"items": ["TOKEN-0123", "TOKEN-0123"]})");
  std::filesystem::create_directory(s.tmp / "sub");
  std::filesystem::create_symlink(outside / "secret.json", s.tmp / "link.json");
  test::spit(s.tmp / "sub/two.json", R"({"items": [1, 2]})");
  auto run = [&](const std::string& field, const std::string& path, bool allow = false) {
    json t = {{"contract", "c.contract.json"},
              {"tests", json::array({{{"name", "reads"}, {field, path}, {"expect", {{"verdict", "accept"}}}}})}};
    if (field == "baseline") t["tests"][0]["inline"] = {{"items", {1}}};
    std::vector<std::string> args = {"test", s.file("p.test.json", t.dump())};
    if (allow) args.insert(args.begin() + 1, "--allow-outside");
    return test::invar(args);
  };
  for (const auto& [field, path] : std::vector<std::pair<std::string, std::string>>{
           {"artifact", outside / "secret.json"},
           {"artifact", "../" + outside.path.filename().string() + "/secret.json"},
           {"artifact", "link.json"},
           {"baseline", outside / "secret.json"},
           {"baseline", "sub/../../" + outside.path.filename().string() + "/secret.json"}}) {
    INFO(field << ": " << path);
    auto r = run(field, path);
    INFO(r.out);
    CHECK(r.exit == 3);
    CHECK(contains(r.out, "/tests/0/" + field + ": \"" + path + "\""));
    CHECK(contains(r.out, "--allow-outside lifts this"));
    CHECK_FALSE(contains(r.out, "TOKEN-0123"));
  }
  // The contract too.
  auto contract = s.file("q.test.json", R"({"contract": ")" + outside / "c.json" +
                                            R"(", "tests": [{"name": "a", "inline": 1, "expect": {"verdict": "accept"}}]})");
  CHECK(contains(test::invar({"test", contract}).out, "/contract: "));
  // Inside (also through "..") is fine; --allow-outside reads elsewhere, as before.
  CHECK(run("artifact", "sub/../sub/two.json").exit == 0);
  auto allowed = run("artifact", outside / "secret.json", true);
  CHECK(allowed.exit == 1);
  CHECK(contains(allowed.out, "FAIL "));
}
