// The real consumers that `trial` invariants run (tests/consumers/), run
// directly: each loads the good artifact of its outage and exits 0, and fails
// on the bad one as the consumer did in production (a panic, a crash, CPU).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "process.hpp"

namespace {

struct Ended {
  int exit = -1;    // the exit code, or -1 when killed by a signal
  int signal = 0;   // the signal that killed it
  std::string out;  // stdout and stderr, interleaved
  double cpu = 0;   // user + system seconds (wait4's rusage)
};

// Runs `argv` (no shell), its output into a pipe; SIGALRM ends it after 60 s
// (a hang is a result, not a stuck test).
Ended run(const std::vector<std::string>& argv) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    alarm(60);  // survives exec
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  Ended e;
  e.out = test::read_all(fds[0]);
  int status = 0;
  rusage usage{};
  REQUIRE(wait4(pid, &status, 0, &usage) == pid);
  if (WIFEXITED(status)) e.exit = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
  e.cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
          static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return e;
}

// The number a line "pcre2 steps: N" of `out` gives (-1 when absent).
long long steps(const std::string& out) {
  const auto at = out.find("pcre2 steps: ");
  return at == std::string::npos ? -1 : std::stoll(out.substr(at + 13));
}

}  // namespace

TEST_CASE("consumers: Cloudflare 2025's feature loader panics above 200 features", "[consumers]") {
  auto good = run({INVAR_CONSUMER_FEATURE_LOADER, "--check", test::source("examples/cloudflare-2025-features/good.json")});
  CHECK(good.exit == 0);
  CHECK(good.out == "loaded 60 features\n");
  auto bad = run({INVAR_CONSUMER_FEATURE_LOADER, "--check", test::source("examples/cloudflare-2025-features/bad.json")});
  CHECK(bad.signal == SIGABRT);
  CHECK(bad.out == "panic: too many features: 212 > 200\n");
  // Input it cannot read is an error, not a panic.
  auto missing = run({INVAR_CONSUMER_FEATURE_LOADER, test::source("examples/cloudflare-2025-features/none.json")});
  CHECK(missing.exit == 2);
  CHECK(test::contains(missing.out, "cannot read"));
  auto other = run({INVAR_CONSUMER_FEATURE_LOADER, test::source("examples/cloudflare-2019-waf/good.json")});
  CHECK(other.exit == 2);
  CHECK(test::contains(other.out, "is not a feature file"));
}

TEST_CASE("consumers: CrowdStrike 2024's interpreter reads a 21st field it was never given", "[consumers]") {
  // The good file already has 21 fields in one entry, a wildcard in the 21st (never read): only a
  // criterion there makes the interpreter read past its 20 input values.
  auto good = run({INVAR_CONSUMER_FIELDS_READER, "--check", test::source("tests/consumers/data/channel-291-good.json")});
  CHECK(good.exit == 0);
  CHECK(good.out == "evaluated 3 entries, 3 matched\n");
  auto bad = run({INVAR_CONSUMER_FIELDS_READER, "--check", test::source("tests/consumers/data/channel-291-bad.json")});
  CHECK(bad.signal == SIGSEGV);
  auto missing = run({INVAR_CONSUMER_FIELDS_READER, test::source("tests/consumers/data/none.json")});
  CHECK(missing.exit == 2);
}

TEST_CASE("consumers: Cloudflare 2019's WAF burns CPU on the backtracking rule", "[consumers]") {
  const std::string waf = INVAR_CONSUMER_WAF_PCRE2;
  const std::string benign = test::source("tests/consumers/samples/benign.txt"),
                    trigger = test::source("tests/consumers/samples/trigger-2019.txt");
  const std::string previous = test::source("examples/cloudflare-2019-waf/good.json"),
                    rule2019 = test::source("examples/cloudflare-2019-waf/backtracking.json");

  // The work, counted (PCRE2's auto-callouts): deterministic for a PCRE2 version.
  auto good_steps = run({waf, "--steps", previous, benign, trigger});
  auto bad_steps = run({waf, "--steps", rule2019, benign, trigger});
  REQUIRE(good_steps.exit == 0);
  REQUIRE(bad_steps.exit == 0);
  INFO(good_steps.out << bad_steps.out);
  CHECK(steps(good_steps.out) > 0);
  CHECK(steps(bad_steps.out) > 10'000'000);
  CHECK(steps(bad_steps.out) > 10'000 * steps(good_steps.out));
  // The rule matches: the WAF works, it is only slow (in 2019, every core at 100%).
  CHECK(test::contains(bad_steps.out, "rule 100173 matched " + trigger));

  // The CPU without counting, as a trial's compare.cpu measures it: not a timing assertion (CPU
  // time, not wall time, and a generous ratio): the measured ratio is in the hundreds.
  auto good = run({waf, previous, benign, trigger});
  auto bad = run({waf, rule2019, benign, trigger});
  REQUIRE(good.exit == 0);
  REQUIRE(bad.exit == 0);
  INFO("CPU: previous rule set " << good.cpu << " s, the 2019 rule " << bad.cpu << " s");
  CHECK(bad.cpu > 0.1);
  CHECK(bad.cpu > 20 * good.cpu);
  // The 2019 rule costs nothing on a request that does not trigger it.
  auto quiet = run({waf, "--steps", rule2019, benign});
  CHECK(quiet.exit == 0);
  CHECK(steps(quiet.out) < 10'000);
}

TEST_CASE("consumers: the WAF refuses a rule set it cannot compile", "[consumers]") {
  test::TempDir dir;
  test::spit(dir / "broken.json", R"({"rules": [{"id": "1", "expression": "(unclosed"}]})");
  auto broken = run({INVAR_CONSUMER_WAF_PCRE2, dir / "broken.json", test::source("tests/consumers/samples/benign.txt")});
  CHECK(broken.exit == 2);
  CHECK(test::contains(broken.out, "rule 1 does not compile at offset 9"));
}
