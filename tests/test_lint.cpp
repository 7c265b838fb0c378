// invar/lint.hpp: the assumption audit's rules, each with an exact finding,
// load errors as findings, and the bundled contracts' findings pinned.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "helpers.hpp"
#include "process.hpp"
#include "invar/lint.hpp"

namespace {

// "rule severity file:line:col pointer | message" per finding, paths relative to the source tree.
std::vector<std::string> findings(const std::vector<invar::Report>& reports) {
  std::vector<std::string> out;
  const std::string root = test::source("");
  for (const auto& r : reports)
    for (const auto& v : r.violations) {
      std::string file = r.artifact.rfind(root, 0) == 0 ? r.artifact.substr(root.size()) : r.artifact;
      out.push_back(v.invariant + " " + std::string(invar::to_string(v.severity)) + " " + file + ":" +
                    std::to_string(v.line) + ":" + std::to_string(v.column) + " " + v.pointer + " | " + v.message);
    }
  return out;
}

invar::Result<std::vector<invar::Report>> lint(const std::string& contract, std::vector<std::string> examples = {}) {
  invar::LintOptions options;
  for (auto& e : examples) options.examples.push_back(test::source(e));
  return invar::lint_contract(test::source(contract), options);
}

}  // namespace

TEST_CASE("lint: every rule's finding, located, with its fix", "[lint]") {
  auto reports = lint("tests/contracts/lint/audit.contract.json", {"tests/contracts/lint/audit.example.json"});
  REQUIRE(reports);
  REQUIRE(reports->size() == 2);  // the contract, then the schema file it names
  CHECK(reports->at(0).verdict == invar::Verdict::reject);  // error-level findings
  CHECK(reports->at(1).verdict == invar::Verdict::accept);  // warnings only
  CHECK(findings(*reports) == std::vector<std::string>{
      "lint.zero-headroom warn tests/contracts/lint/audit.contract.json:5:62 /invariants/0/max | count of $.routes[*] "
      "may reach max 100 (the consumer's limit) before anything rejects it",
      "lint.delta-without-baseline warn tests/contracts/lint/audit.contract.json:6:5 /invariants/1 | \"routes.size\" is "
      "skipped when there is no baseline (the first publish, a lost LKG), so the artifact is accepted unchecked",
      "lint.selects-nothing error tests/contracts/lint/audit.contract.json:7:39 /invariants/2/unique | \"hosts.unique\" "
      "selects nothing on the 1 example ($.rutes[*].host): a typo in the selector would make it pass vacuously",
      "lint.selects-nothing error tests/contracts/lint/audit.contract.json:8:62 /invariants/3/in | \"in\" of "
      "\"zones.known\" ($.zones[*].name) selects nothing on the 1 example: every reference would be reported missing",
      "lint.never-valid error tests/contracts/lint/audit.contract.json:9:57 /invariants/4/inline | this schema can "
      "never validate: no value satisfies /invariants/4/inline/allOf/1/not",
      "lint.no-freshness warn tests/contracts/lint/audit.contract.json:1:1  | no freshness or monotonic invariant on "
      "$.serial: an old artifact published again (a delayed writer, a replayed plan) would be accepted",
      "lint.unbounded-string warn tests/contracts/lint/audit.schema.json:16:17 /$defs/route/properties/note | the "
      "string at $.routes[*].note has no maxLength, pattern, enum, const or format: any text passes",
      "lint.unanchored-pattern warn tests/contracts/lint/audit.schema.json:14:48 /$defs/route/properties/host/pattern | "
      "pattern \"[a-z]+\\\\.example\" at $.routes[*].host is not anchored: JSON Schema patterns match anywhere, so a "
      "value only containing a match passes",
      "lint.unbounded-array warn tests/contracts/lint/audit.schema.json:8:15 /properties/owners | the array at $.owners "
      "has no bound: nothing rejects it when it grows past what its consumer allocates",
      "lint.regex-fallback warn tests/contracts/lint/audit.schema.json:15:48 /$defs/route/properties/zone/pattern | "
      "pattern \"^(?!z)[a-z]+$\" runs on the PCRE2 fallback (it uses lookahead (?!...)): a backtracking engine, "
      "stopped at regex_fallback_match_limit 1000000, and a string it cannot decide fails the check"});
  // Each finding carries its fix.
  for (const auto& r : *reports)
    for (const auto& v : r.violations) {
      REQUIRE(v.explain.size() == 1);
      CHECK(v.explain[0].rfind("fix: ", 0) == 0);
    }
  // A YAML example is read as a YAML artifact is: the same findings.
  auto yaml = lint("tests/contracts/lint/audit.contract.json", {"tests/contracts/lint/audit.example.yaml"});
  REQUIRE(yaml);
  CHECK(findings(*yaml) == findings(*reports));
  // Without examples, nothing is judged to select nothing.
  auto plain = lint("tests/contracts/lint/audit.contract.json");
  REQUIRE(plain);
  for (const auto& f : findings(*plain)) CHECK(f.rfind("lint.selects-nothing", 0) != 0);
}

TEST_CASE("lint: a contract that does not load yields every load error as a finding", "[lint]") {
  test::TempDir tmp;
  const std::string dir = tmp.path;
  std::string path = dir + "/two.contract.json";
  test::spit(path, "{\"contract\": \"t\",\n \"invarients\": [],\n \"schema_dialect\": \"draft-05\"}");
  auto reports = invar::lint_contract(path);
  REQUIRE(reports);
  REQUIRE(reports->size() == 1);
  CHECK(reports->at(0).verdict == invar::Verdict::reject);
  auto found = findings(*reports);
  REQUIRE(found.size() == 3);
  CHECK(found[0] == "lint.load error " + path + ":2:16 /invarients | unknown key \"invarients\" (did you mean \"invariants\"?) "
                    "(expected contract, description, schema_dialect, regex_fallback, resolve, unknown_keywords, artifact, invariants)");
  CHECK(found[1].rfind("lint.load error " + path + ":3:20 /schema_dialect | unknown JSON Schema dialect \"draft-05\"", 0) == 0);
  CHECK(found[2] == "lint.load error " + path + ":1:1 /invariants | \"invariants\" must be an array of invariants");
  // What cannot be read at all is an Error, not a finding.
  test::spit(path, "{\"contract\": ");
  auto broken = invar::lint_contract(path);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code == invar::ErrorCode::syntax);
  CHECK_FALSE(invar::lint_contract(dir + "/absent.json"));
  invar::LintOptions bad_example;
  bad_example.examples = {dir + "/absent.json"};
  CHECK_FALSE(invar::lint_contract(test::source("rules/dns-plan.contract.json"), bad_example));
}

TEST_CASE("lint: a contract limit above the one in force is a load finding naming what raises it", "[lint]") {
  // Regression (issue 28.23): it was silently lowered to the limit in force.
  test::TempDir tmp;
  std::string path = tmp / "big.contract.json";
  test::spit(path, "{\"contract\": \"t\",\n \"artifact\": {\"limits\": {\"max_bytes\": \"1GiB\"}},\n \"invariants\": []}");
  auto reports = invar::lint_contract(path);
  REQUIRE(reports);
  REQUIRE(reports->size() == 1);
  CHECK(reports->at(0).verdict == invar::Verdict::reject);
  CHECK(findings(*reports) == std::vector<std::string>{
      "lint.load error " + path + ":2:39 /artifact/limits/max_bytes | \"max_bytes\" 1073741824 is above the limit in "
      "force (268435456): a contract may only lower limits; raise it with invar check --max-artifact-bytes, or "
      "Options::limits.max_artifact_bytes"});
}

TEST_CASE("lint: the rules table names every rule once", "[lint]") {
  std::set<std::string_view> ids;
  for (const auto& rule : invar::lint_rules()) {
    CHECK(rule.id.rfind("lint.", 0) == 0);
    CHECK_FALSE(rule.summary.empty());
    CHECK(ids.insert(rule.id).second);
  }
  CHECK(ids.size() == 12);
}

// The bundled contracts, linted with their examples: their findings are
// pinned (tests/golden/lint-rules.txt; INVAR_UPDATE_GOLDEN=1 rewrites it).
TEST_CASE("lint: the bundled contracts' findings", "[lint]") {
  const std::pair<const char*, const char*> bundled[] = {
      {"rules/dns-plan.contract.json", "examples/aws-2025-dns/good.json"},
      {"rules/feature-file.contract.json", "examples/cloudflare-2025-features/good.json"},
      {"rules/service-policy.contract.json", "examples/google-2025-policy/good.json"},
      {"rules/waf-ruleset.contract.json", "examples/cloudflare-2019-waf/good.json"},
      {"rules/waf-ruleset-re2.contract.json", "examples/cloudflare-2019-waf/good.json"}};
  std::string actual;
  for (const auto& [contract, example] : bundled) {
    auto reports = lint(contract, {example});
    REQUIRE(reports);
    for (const auto& r : *reports) CHECK(r.verdict == invar::Verdict::accept);  // no error-level finding
    for (const auto& f : findings(*reports)) actual += f + "\n";
  }
  std::string golden = test::source("tests/golden/lint-rules.txt");
  if (std::getenv("INVAR_UPDATE_GOLDEN")) {
    test::spit(golden, actual);
    WARN("rewrote " << golden);
    return;
  }
  INFO("golden tests/golden/lint-rules.txt (INVAR_UPDATE_GOLDEN=1 rewrites it after a deliberate change)");
  CHECK(actual == test::slurp(golden));
}
