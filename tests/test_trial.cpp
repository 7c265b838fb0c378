// The `trial` invariant (issue 30): the consumers of tests/consumers/ run by
// `invar check --trial` and `invar gate` on the outages' own files, in
// Debian's bubblewrap. The runner itself is tested in test_trial_runner.cpp.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "helpers.hpp"
#include "process.hpp"
#include "trial/runner.hpp"

using nlohmann::json;
using test::contains;

namespace {

bool sandbox_or_warn() {
  if (auto why = invar::trial::sandbox_unavailable()) {
    if (std::getenv("CI")) FAIL("the trial sandbox cannot run here: " << *why);
    WARN("the trial sandbox cannot run here (" << *why << "): trial tests skipped");
    return false;
  }
  return true;
}

std::string contract_with(test::TempDir& tmp, const std::string& invariants) {
  std::string path = tmp / "c.contract.json";
  test::spit(path, R"({"contract": "c", "invariants": [)" + invariants + "]}");
  return path;
}

std::string str(const std::string& s) { return json(s).dump(); }

}  // namespace

TEST_CASE("trial: the 2025 feature file aborts the real loader though the contract had no count rule", "[trial]") {
  if (!sandbox_or_warn()) return;
  test::TempDir tmp;
  std::string contract = contract_with(
      tmp, R"({"id": "features", "count": "$.features[*]", "min": 1},
              {"id": "loader", "trial": [)" + str(INVAR_CONSUMER_FEATURE_LOADER) + R"(, "--check", "{artifact}"],
               "timeout": "10s", "memory": "256MiB", "cpu": "5s"})");
  const std::string good = test::source("examples/cloudflare-2025-features/good.json");
  const std::string bad = test::source("examples/cloudflare-2025-features/bad.json");
  auto ok = test::invar({"check", "--contract", contract, "--trial", good, "--format", "json"});
  INFO(ok.out);
  CHECK(ok.exit == 0);
  json report = json::parse(ok.out);
  CHECK(contains(report.dump(), "the consumer accepted it"));

  auto doubled = test::invar({"check", "--contract", contract, "--trial", bad});
  INFO(doubled.out);
  CHECK(doubled.exit == 1);
  CHECK(contains(doubled.out, "SIGABRT"));
  CHECK(contains(doubled.out, "panic: too many features: 212 > 200"));

  // Without --trial it is not run (and says so): the contract alone accepts the doubled file.
  auto unrun = test::invar({"check", "--contract", contract, bad});
  CHECK(unrun.exit == 0);
  CHECK(contains(unrun.out, "a trial runs only where commands are allowed"));
  // invar test never runs it either: test cases of a contract are data, not commands.
}

TEST_CASE("trial: a channel file with a 21st input field crashes the interpreter that reads 20", "[trial]") {
  if (!sandbox_or_warn()) return;
  test::TempDir tmp;
  std::string contract = contract_with(
      tmp, R"({"id": "interpreter", "trial": [)" + str(INVAR_CONSUMER_FIELDS_READER) + R"(, "{artifact}"]})");
  CHECK(test::invar({"check", "--contract", contract, "--trial",
                     test::source("tests/consumers/data/channel-291-good.json")}).exit == 0);
  auto bad = test::invar({"check", "--contract", contract, "--trial",
                          test::source("tests/consumers/data/channel-291-bad.json")});
  INFO(bad.out);
  CHECK(bad.exit == 1);
  CHECK(contains(bad.out, "SIGSEGV"));
}

TEST_CASE("trial: the 2019 WAF rule costs far more CPU than the previous rule set on sample requests", "[trial]") {
  if (!sandbox_or_warn()) return;
  test::TempDir tmp;
  std::string contract = contract_with(
      tmp, R"({"id": "waf", "trial": [)" + str(INVAR_CONSUMER_WAF_PCRE2) + R"(, "{artifact}"],
               "inputs": )" + str(test::source("tests/consumers/samples/*.txt")) + R"(,
               "compare": {"cpu": "5x"}, "timeout": "60s", "cpu": "30s"})");
  const std::string previous = test::source("examples/cloudflare-2019-waf/good.json");
  const std::string bad = test::source("examples/cloudflare-2019-waf/backtracking.json");
  auto same = test::invar({"check", "--contract", contract, "--trial", "--baseline", previous, previous});
  INFO(same.out);
  CHECK(same.exit == 0);
  auto slow = test::invar({"check", "--contract", contract, "--trial", "--baseline", previous, bad});
  INFO(slow.out);
  CHECK(slow.exit == 1);
  CHECK(contains(slow.out, "the consumer's CPU time on the candidate is"));
  CHECK(contains(slow.out, "at most 5x allowed"));
  // Without a baseline there is nothing to compare with: the run itself passes.
  auto alone = test::invar({"check", "--contract", contract, "--trial", bad, "--format", "json"});
  CHECK(alone.exit == 0);
  CHECK(contains(alone.out, "no baseline to compare its cost with"));
}

TEST_CASE("trial: a gate runs its trials and pins, and no sandbox is a violation unless the contract says none",
          "[trial]") {
  if (!sandbox_or_warn()) return;
  test::TempDir tmp;
  const std::string loader = str(INVAR_CONSUMER_FEATURE_LOADER);
  std::string contract = contract_with(
      tmp, R"({"id": "features", "count": "$.features[*]", "min": 1},
              {"id": "loader", "trial": [)" + loader + R"(, "{artifact}"]})");
  const std::string good = test::source("examples/cloudflare-2025-features/good.json");
  const std::string bad = test::source("examples/cloudflare-2025-features/bad.json");
  const std::string state = tmp / "state", out = tmp / "out.json";
  REQUIRE(test::invar({"init", "--state", state, "--stream", "f", "--contract", contract, "--by", "t"}).exit == 0);
  auto gate = [&](const std::string& file, const std::vector<std::string>& env = {}) {
    return test::invar({"gate", "--contract", contract, "--stream", "f", "--state", state, "--out", out, file}, env);
  };
  CHECK(gate(good).exit == 0);
  auto pinned = gate(bad);
  INFO(pinned.out);
  CHECK(pinned.exit == 2);
  CHECK(contains(pinned.out, "SIGABRT"));
  CHECK(test::slurp(out) == test::slurp(good));

  // A PATH without bwrap: the trial refuses (fail closed), naming what is missing.
  const std::string other = tmp / "good-again.json";  // not the LKG's bytes (a retry runs no trial)
  test::spit(other, test::slurp(good) + "\n");
  auto refused = gate(other, {"PATH=/nonexistent"});
  INFO(refused.out);
  CHECK(refused.exit != 0);
  CHECK(contains(refused.out, "bwrap is not installed"));
  std::string unsandboxed = contract_with(
      tmp, R"({"id": "features", "count": "$.features[*]", "min": 1},
              {"id": "loader", "trial": [)" + loader + R"(, "{artifact}"], "sandbox": "none"})");
  CHECK(test::invar({"check", "--contract", unsandboxed, "--trial", good}, {"PATH=/nonexistent"}).exit == 0);
}

TEST_CASE("trial: a trial's definition is validated like any invariant", "[trial]") {
  auto load = [](const std::string& inv) {
    return test::contract(R"({"contract": "c", "invariants": [)" + inv + "]}");
  };
  CHECK(load(R"({"id": "t", "trial": ["/bin/true"]})"));
  auto shell = load(R"({"id": "t", "trial": "/bin/true --check"})");
  REQUIRE_FALSE(shell);
  CHECK(contains(shell.error().message, "array"));
  CHECK(shell.error().where.pointer == "/invariants/0/trial");
  auto ratio = load(R"({"id": "t", "trial": ["/bin/true"], "compare": {"cpu": "fast"}})");
  REQUIRE_FALSE(ratio);
  CHECK(ratio.error().where.pointer == "/invariants/0/compare/cpu");
  auto sandbox = load(R"({"id": "t", "trial": ["/bin/true"], "sandbox": "off"})");
  REQUIRE_FALSE(sandbox);
  CHECK(contains(sandbox.error().message, "\"none\" (said explicitly)"));
  auto typo = load(R"({"id": "t", "trial": ["/bin/true"], "timout": "1s"})");
  REQUIRE_FALSE(typo);
  CHECK(contains(typo.error().message, "did you mean \"timeout\""));
  auto inputs = load(R"({"id": "t", "trial": ["/bin/true"], "inputs": "/nonexistent/*.txt"})");
  REQUIRE_FALSE(inputs);
  CHECK(contains(inputs.error().message, "no file matches"));
}

TEST_CASE("trial: trials run side by side within a total budget, and the journal keeps what the consumer did",
          "[trial]") {
  if (!sandbox_or_warn()) return;
  test::TempDir tmp;
  const std::string loader = str(INVAR_CONSUMER_FEATURE_LOADER);
  std::string contract = contract_with(
      tmp, R"({"id": "features", "count": "$.features[*]", "min": 1},
              {"id": "one", "trial": [)" + loader + R"(, "{artifact}"]},
              {"id": "two", "trial": [)" + loader + R"(, "{artifact}"]},
              {"id": "slow", "trial": ["/bin/sleep", "5"], "sandbox": "none"})");
  const std::string good = test::source("examples/cloudflare-2025-features/good.json");
  // One at a time and 300 ms for all: what cannot start in time is a violation, never a pass.
  auto cut = test::invar({"check", "--contract", contract, "--trial", "--trial-jobs", "1", "--trial-budget", "300ms",
                          good, "--format", "json"});
  INFO(cut.out);
  CHECK(cut.exit == 1);
  CHECK((contains(cut.out, "was used up") || contains(cut.out, "timed out")));

  // A gate's decision record keeps what the consumer did.
  std::string plain = contract_with(
      tmp, R"({"id": "features", "count": "$.features[*]", "min": 1},
              {"id": "loader", "trial": [)" + loader + R"(, "{artifact}"]})");
  const std::string state = tmp / "state";
  REQUIRE(test::invar({"init", "--state", state, "--stream", "f", "--contract", plain, "--by", "t"}).exit == 0);
  auto rejected = test::invar({"gate", "--contract", plain, "--stream", "f", "--state", state, "--out", tmp / "o.json",
                               test::source("examples/cloudflare-2025-features/bad.json")});
  CHECK(rejected.exit == 1);
  auto history = test::invar({"history", "--state", state, "f", "--format", "json"});
  CHECK(contains(history.out, "trial loader: the consumer"));
  CHECK(contains(history.out, "SIGABRT"));

  // invar test never runs a trial: a contract's test cases are data, not commands.
  std::string marker = tmp / "ran";
  std::string spy = contract_with(tmp, R"({"id": "spy", "trial": ["/bin/touch", )" + str(marker) + R"(], "sandbox": "none"})");
  test::spit(tmp / "c.tests.json", R"({"cases": []})");
  test::invar({"test", tmp / "c.contract.json"});
  test::invar({"lint", tmp / "c.contract.json"});
  CHECK_FALSE(std::filesystem::exists(marker));
  CHECK(test::invar({"check", "--contract", spy, "--trial", good}).exit == 0);
  CHECK(std::filesystem::exists(marker));  // the same contract, allowed
}
