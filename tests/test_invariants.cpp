// Invariant kinds: verdicts, locations and messages on small artifacts.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "common/text.hpp"
#include "helpers.hpp"

namespace {
int64_t now_ms(const char* t) { return *invar::text::parse_rfc3339(t); }

invar::Report check(const std::string& invariants, const std::string& artifact, const char* now = nullptr) {
  auto c = test::contract(std::string(R"({"contract": "t", "invariants": [)") + invariants + "]}");
  if (!c) FAIL(c.error().to_string());
  invar::CheckContext ctx;
  if (now) ctx.now = std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms(now)));
  return c->check(artifact, ctx);
}
}  // namespace

TEST_CASE("count: min, max and headroom", "[invariants]") {
  std::string inv = R"({"id": "n", "count": "$.f[*]", "min": 1, "max": 10, "headroom": "20%", "why": "ten slots"})";
  CHECK(check(inv, R"({"f": [1, 2, 3]})").verdict == invar::Verdict::accept);
  auto over = check(inv, R"({"f": [1, 2, 3, 4, 5, 6, 7, 8, 9]})");
  CHECK(over.verdict == invar::Verdict::reject);
  REQUIRE(over.violations.size() == 1);
  CHECK(over.violations[0].message == "count of $.f[*] is 9, over the headroom limit 8 by 1");
  CHECK(over.violations[0].expected == "<= 8 (max 10 less 20% headroom)");
  CHECK(over.violations[0].pointer == "/f");
  CHECK(over.violations[0].why == "ten slots");
  auto empty = check(inv, R"({"f": []})");
  REQUIRE(empty.violations.size() == 1);
  CHECK(empty.violations[0].message == "count of $.f[*] is 0, below min 1");
}

TEST_CASE("count explains which values dominate the excess", "[invariants]") {
  auto r = check(R"({"id": "n", "count": "$.f[*]", "max": 3})",
                 R"({"f": [{"db": "default", "n": "a"}, {"db": "default", "n": "b"}, {"db": "r0", "n": "a"}, {"db": "r0", "n": "b"}]})");
  REQUIRE(r.violations.size() == 1);
  REQUIRE_FALSE(r.violations[0].explain.empty());
  CHECK(r.violations[0].explain[0] == "db: \"default\" x2, \"r0\" x2");
}

TEST_CASE("count per element with each", "[invariants]") {
  auto r = check(R"({"id": "t", "each": "$.records[*]", "count": "@.targets[*]", "min": 1})",
                 R"({"records": [{"targets": ["a"]}, {"targets": []}, {}]})");
  REQUIRE(r.violations.size() == 2);
  CHECK(r.violations[0].pointer == "/records/1");
  CHECK(r.violations[1].pointer == "/records/2");
  CHECK(r.violations[0].message == "count of @.targets[*] is 0, below min 1");
}

TEST_CASE("unique names the repeated value and where", "[invariants]") {
  auto r = check(R"({"id": "u", "unique": "$.f[*].name"})",
                 R"({"f": [{"name": "bot_score"}, {"name": "x"}, {"name": "bot_score"}, {"name": 1}, {"name": "1"}]})");
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].message == "\"bot_score\" appears 2 times (/f/0/name, /f/2/name)");
  CHECK(r.violations[0].pointer == "/f/2/name");
}

TEST_CASE("match and not_match are full matches, empty selections are vacuous", "[invariants]") {
  std::string inv = R"({"id": "db", "match": "$.f[*].database", "pattern": "default"})";
  CHECK(check(inv, R"({"f": [{"database": "default"}]})").verdict == invar::Verdict::accept);
  auto r = check(inv, R"({"f": [{"database": "default_r0"}, {"database": 7}]})");
  REQUIRE(r.violations.size() == 2);
  CHECK(r.violations[0].message == "\"default_r0\" does not match \"default\"");
  CHECK(r.violations[1].message == "expected a string to match against \"default\"");
  CHECK(check(inv, R"({"f": []})").verdict == invar::Verdict::accept);
  auto nm = check(R"({"id": "no-admin", "not_match": "$.users[*]", "pattern": "admin.*"})", R"({"users": ["bob", "admin1"]})");
  REQUIRE(nm.violations.size() == 1);
  CHECK(nm.violations[0].pointer == "/users/1");
}

TEST_CASE("a ReDoS-shaped pattern on a 100 KB string gets a verdict", "[invariants]") {
  std::string artifact = "{\"s\": \"" + std::string(100'000, 'a') + "!\"}";
  auto r = check(R"({"id": "redos", "match": "$.s", "pattern": "^(a+)+$"})", artifact);
  CHECK(r.verdict == invar::Verdict::reject);
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].pointer == "/s");
  auto ok = check(R"({"id": "redos", "match": "$.s", "pattern": "^(a+)+!$"})", artifact);
  CHECK(ok.verdict == invar::Verdict::accept);
}

TEST_CASE("regex_safe for RE2 and backtracking consumers", "[invariants]") {
  std::string artifact = R"j({"rules": ["^[a-z]+$", ".*(?:.*=.*)", "(\\w+)=\\1"]})j";
  auto re2 = check(R"({"id": "rx", "regex_safe": "$.rules[*]"})", artifact);
  REQUIRE(re2.violations.size() == 1);
  CHECK(re2.violations[0].pointer == "/rules/2");
  CHECK(re2.violations[0].message == "regex \"(\\\\w+)=\\\\1\" does not compile under RE2: invalid escape sequence: \\1");
  auto bt = check(R"({"id": "rx", "regex_safe": "$.rules[*]", "consumer": "backtracking"})", artifact);
  REQUIRE(bt.violations.size() == 2);
  CHECK(bt.violations[0].pointer == "/rules/1");
  CHECK(bt.violations[0].actual == "polynomial, degree 3");
  CHECK(bt.violations[0].message ==
        "regex \".*(?:.*=.*)\" is super-linear on a backtracking engine (polynomial, degree 3) in \".*\": the loop can "
        "take over input that the search for a start tried, so each start position costs time linear in the input; "
        "attack: \"\" + \"a\" x n + \"\"");
  // Past the analysis budgets: a violation, or a warning when the contract says so.
  std::string big = R"({"rules": [")" + std::string(600, '(') + "a" + std::string(600, ')') + R"("]})";
  auto unproven = check(R"({"id": "rx", "regex_safe": "$.rules[*]", "consumer": "backtracking"})", big);
  CHECK(unproven.verdict == invar::Verdict::reject);
  auto warned = check(R"({"id": "rx", "regex_safe": "$.rules[*]", "consumer": "backtracking", "unproven": "warn"})", big);
  CHECK(warned.verdict == invar::Verdict::accept);
  REQUIRE(warned.violations.size() == 1);
  CHECK(warned.violations[0].severity == invar::Severity::warn);
  CHECK(warned.violations[0].actual == "unproven");
  auto size = check(R"({"id": "rx", "regex_safe": "$.rules[*]", "max_program_size": 5})", R"({"rules": ["[a-z]{10}"]})");
  REQUIRE(size.violations.size() == 1);
  CHECK(size.violations[0].message.find("over max_program_size 5") != std::string::npos);
}

TEST_CASE("refs: every value occurs among the targets", "[invariants]") {
  auto r = check(R"({"id": "r", "refs": "$.records[*].plan", "in": "$.plans[*].id"})",
                 R"({"plans": [{"id": "p1"}], "records": [{"plan": "p1"}, {"plan": "p2"}]})");
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].pointer == "/records/1/plan");
  CHECK(r.violations[0].message == "\"p2\" does not occur among the values at $.plans[*].id");
}

TEST_CASE("freshness against an injected clock", "[invariants]") {
  std::string inv = R"({"id": "fresh", "freshness": "$.at", "max_age": "10m", "max_skew": "30s"})";
  const char* now = "2025-10-20T06:50:00Z";
  CHECK(check(inv, R"({"at": "2025-10-20T06:45:00Z"})", now).verdict == invar::Verdict::accept);
  CHECK(check(inv, R"({"at": 1760942700})", now).verdict == invar::Verdict::accept);  // epoch seconds
  auto old = check(inv, R"({"at": "2025-10-20T06:30:00Z"})", now);
  REQUIRE(old.violations.size() == 1);
  CHECK(old.violations[0].message == "timestamp 2025-10-20T06:30:00Z is 20m old, over max_age 10m");
  auto future = check(inv, R"({"at": "2025-10-20T06:55:00Z"})", now);
  REQUIRE(future.violations.size() == 1);
  CHECK(future.violations[0].message == "timestamp 2025-10-20T06:55:00Z is 5m in the future, over max_skew 30s");
  auto missing = check(inv, R"({})", now);
  REQUIRE(missing.violations.size() == 1);
  CHECK(missing.violations[0].message == "no timestamp at $.at");
  auto garbage = check(inv, R"({"at": "yesterday"})", now);
  CHECK(garbage.violations[0].message == "\"yesterday\" is not an RFC 3339 date-time or an epoch time in seconds");
}

TEST_CASE("warn severity reports without rejecting", "[invariants]") {
  auto r = check(R"({"id": "n", "count": "$.f[*]", "max": 1, "severity": "warn"})", R"({"f": [1, 2]})");
  CHECK(r.verdict == invar::Verdict::accept);
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].severity == invar::Severity::warn);
}

TEST_CASE("unreadable artifacts are rejected with every invariant skipped", "[invariants]") {
  auto r = check(R"({"id": "n", "count": "$.f[*]", "max": 1})", R"({"f": [1, 2)");
  CHECK(r.verdict == invar::Verdict::reject);
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].invariant == "artifact.syntax");
  CHECK(r.violations[0].actual == "line 1, column 12");
  CHECK(r.invariants[0].outcome == invar::Outcome::skipped);
}

TEST_CASE("a contract is safe to check from many threads", "[invariants]") {
  auto c = invar::Contract::load_file(test::source("rules/feature-file.contract.json"));
  REQUIRE(c);
  std::string bad = R"({"version": 1, "features": [{"name": "a", "type": "int", "database": "r0"}, {"name": "a", "type": "int", "database": "default"}]})";
  std::vector<std::thread> threads;
  std::atomic<int> rejects{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) rejects += c->check(bad).verdict == invar::Verdict::reject;
    });
  for (auto& t : threads) t.join();
  CHECK(rejects == 400);
}

TEST_CASE("unique with a composite key names the repeated tuple", "[invariants][key]") {
  const char* routes = R"({"routes": [{"host": "api", "path": "/v1"}, {"host": "api", "path": "/v2"},
                                      {"host": "www", "path": "/v1"}, {"host": "api", "path": "/v1"},
                                      {"host": "api"}, {"host": "api", "path": null}, {"host": "api"}]})";
  auto r = check(R"({"id": "u", "unique": "$.routes[*]", "key": ["@.host", "@.path"]})", routes);
  REQUIRE(r.violations.size() == 2);
  CHECK(r.violations[0].message == R"(("api", "/v1") appears 2 times (/routes/0, /routes/3))");
  CHECK(r.violations[0].pointer == "/routes/3");
  CHECK(r.violations[0].expected == "each (@.host, @.path) once");
  // A missing component is "absent": two records without a path repeat; null is a value of its own.
  CHECK(r.violations[1].message == R"(("api", absent) appears 2 times (/routes/4, /routes/6))");
  CHECK(check(R"({"id": "u", "unique": "$.routes[*]", "key": ["@.host", "@.path"]})",
              R"({"routes": [{"host": "a", "path": "/"}, {"host": "a", "path": "/x"}, {"host": "b", "path": "/"}]})")
            .verdict == invar::Verdict::accept);
}

TEST_CASE("refs with a composite key compares tuples, in_key names the other side", "[invariants][key]") {
  const char* doc = R"({"zones": [{"zone": "a", "name": "x"}, {"zone": "b", "name": "y"}],
                        "routes": [{"z": "a", "n": "x"}, {"z": "b", "n": "x"}]})";
  auto r = check(R"({"id": "r", "refs": "$.routes[*]", "key": ["@.z", "@.n"], "in": "$.zones[*]",
                     "in_key": ["@.zone", "@.name"]})", doc);
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].message == R"(("b", "x") does not occur among (@.zone, @.name) of $.zones[*])");
  CHECK(r.violations[0].pointer == "/routes/1");
  // An absent component never resolves, not even to a target lacking it too.
  auto absent = check(R"({"id": "r", "refs": "$.routes[*]", "key": ["@.z", "@.n"], "in": "$.zones[*]",
                          "in_key": ["@.zone", "@.name"]})",
                      R"({"zones": [{"zone": "a"}], "routes": [{"z": "a"}]})");
  REQUIRE(absent.violations.size() == 1);
  CHECK(absent.violations[0].message == R"(("a", absent) does not occur among (@.zone, @.name) of $.zones[*])");
  auto c = test::contract(R"({"contract": "t", "invariants": [{"id": "r", "refs": "$.a[*]", "in": "$.b[*]",
                              "key": ["@.x"], "in_key": ["@.y", "@.z"]}]})");
  REQUIRE_FALSE(c);
  CHECK(c.error().message == "\"in_key\" has 2 selectors and \"key\" 1: a tuple is compared with a tuple of the same length");
}

TEST_CASE("filters select what an invariant judges", "[invariants][filter]") {
  const char* doc = R"({"routes": [{"host": "a", "weight": 0}, {"host": "b", "weight": 5}, {"host": "b", "weight": 1}]})";
  auto r = check(R"({"id": "live", "count": "$.routes[?@.weight > 0]", "max": 1})", doc);
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].message == "count of $.routes[?@.weight > 0] is 2, over max 1 by 1");
  auto u = check(R"({"id": "u", "unique": "$.routes[?@.weight > 0].host"})", doc);
  REQUIRE(u.violations.size() == 1);
  CHECK(u.violations[0].message == "\"b\" appears 2 times (/routes/1/host, /routes/2/host)");
  CHECK(check(R"({"id": "m", "match": "$.routes[?@.weight == 0].host", "pattern": "a"})", doc).verdict ==
        invar::Verdict::accept);
}
