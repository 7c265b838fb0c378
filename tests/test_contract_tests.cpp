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
