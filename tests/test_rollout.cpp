// Staged rollouts (include/invar/rollout.hpp, the Rollout class of
// include/invar/gate.hpp) on the directory and memory backends, with an
// injected clock and injected health: bake time, promotion one stage per
// step, superseding, reverts on failed and unknown health, vetoes, halts,
// freezes, and followers of each stage. The real Prometheus and the CLI are
// in test_rollout_e2e.cpp; etcd in test_fleet.cpp.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include "invar/gate.hpp"
#include "invar/rollout.hpp"
#include "etcd_cluster.hpp"
#include "process.hpp"

using namespace invar;

namespace {

// No upper bound on the feature count: the gap that let the 2025 file through.
const char* kContract = R"j({"contract": "features", "invariants": [
  {"id": "gen", "monotonic": "$.generation"},
  {"id": "features", "count": "$.features[*]", "min": 1}]})j";

const char* kPolicy = R"j({"rollout": "features", "unknown_limit": "15m", "stages": [
  {"name": "canary", "bake": "10m",
   "health": [{"id": "errors", "prometheus": {"url": "http://127.0.0.1:1", "query": "errors{stage=\"$stage\"}",
               "max": 0.01}}]},
  {"name": "region-1", "bake": "30m",
   "health": [{"id": "errors", "prometheus": {"url": "http://127.0.0.1:1", "query": "errors{stage=\"$stage\"}",
               "max": 0.01}}]},
  {"name": "global"}]})j";

constexpr int64_t kT0 = 1'800'000'000'000;  // 2027-01-15
constexpr int64_t kMinute = 60'000;

std::string artifact(int generation, int features = 2) {
  std::string list;
  for (int i = 0; i < features; ++i) list += (i ? "," : "") + std::to_string(i);
  return "{\"generation\": " + std::to_string(generation) + ", \"features\": [" + list + "]}";
}

std::string digest_of(const std::string& bytes);

// A stream with stages over a store, health decided by the test per stage.
struct Staged {
  test::TempDir tmp;
  StateStore store;
  Contract contract;
  Gate gate;
  Rollout rollout;
  std::map<std::string, HealthResult::State> health;  // by stage; default healthy
  std::map<std::string, double> value;
  int evaluations = 0;

  // `location`: "" for a directory in a temporary dir, else a state location (etcd).
  explicit Staged(const std::string& stream = "features", const std::string& policy = kPolicy,
                  const std::string& location = "")
      : store(StateStore::open(location.empty() ? tmp / "state" : location).value()),
        contract(Contract::load_string(kContract, ".", "features.contract.json").value()),
        gate(contract, store),
        rollout(store) {
    InitOptions init;
    init.seed = seed_bytes;
    init.reason = "the file in service";
    init.by = "test";
    init.now = Time::from_ms(kT0 - 60 * kMinute);
    init.rollout = parse_rollout(policy, "test.rollout.json").value();
    auto d = gate.init(stream, init);
    REQUIRE(d);
    REQUIRE(d.value());
    REQUIRE(d.value()->action == Action::accept);
  }

  std::string seed_bytes = artifact(1);

  Rollout::Options at(int64_t ms) {
    Rollout::Options o;
    o.now = Time::from_ms(ms);
    o.by = "test";
    o.reason = "test";
    o.evaluate = [this](const HealthCheck& check, const HealthContext& c) {
      ++evaluations;
      auto it = health.find(c.stage);
      HealthResult r{check.id, it == health.end() ? HealthResult::State::healthy : it->second, value[c.stage],
                     "errors=" + std::to_string(value[c.stage])};
      return r;
    };
    return o;
  }

  Decision admit(const std::string& bytes, int64_t ms, const std::string& stream = "features") {
    SubmitOptions o;
    o.now = Time::from_ms(ms);
    auto d = gate.submit(stream, bytes, o);
    INFO((d ? std::string() : d.error().to_string()));
    REQUIRE(d);
    return std::move(d.value());
  }

  RolloutReport step(int64_t ms, const std::string& stream = "features") {
    auto r = rollout.step(stream, at(ms));
    INFO((r ? std::string() : r.error().to_string()));
    REQUIRE(r);
    return std::move(r.value());
  }

  // The digest each stage holds ("" when empty), by name.
  std::map<std::string, std::string> holdings(const std::string& stream = "features") {
    auto r = rollout.status(stream, kT0);
    REQUIRE(r);
    std::map<std::string, std::string> out;
    for (const auto& s : r->stages) out[s.name] = s.lkg ? s.lkg->digest : "";
    return out;
  }
};

// The backends a scenario runs on: the directory, and etcd when installed.
std::vector<std::string> locations(const std::string& name) {
  std::vector<std::string> out = {""};
  if (auto* etcd = test::shared_etcd()) out.push_back(etcd->url(test::fresh_prefix(name)));
  else if (std::getenv("CI")) FAIL("etcd is not installed (scripts/install-deps installs etcd-server)");
  return out;
}

std::string digest_of(const std::string& bytes) {
  // The gate's digest of `bytes`, as a decision reports it.
  auto contract = Contract::load_string(kContract, ".", "features.contract.json").value();
  Guard guard(contract);
  return guard.update(bytes).decision.candidate;
}

}  // namespace

TEST_CASE("rollout: an accepted candidate enters the first stage only, bake time decides each step",
          "[rollout]") {
  Staged s;
  const std::string g1 = digest_of(artifact(1)), g2 = digest_of(artifact(2));
  auto d = s.admit(artifact(2), kT0);
  REQUIRE(d.action == Action::accept);
  CHECK(s.holdings() == std::map<std::string, std::string>{{"canary", g2}, {"region-1", g1}, {"global", g1}});

  auto r = s.step(kT0 + 5 * kMinute);  // baked 5 of 10 minutes: nothing moves
  CHECK_FALSE(r.changed());
  CHECK(r.stages[0].state == "baking");
  CHECK_THAT(r.stages[0].detail, Catch::Contains("bake 5m"));
  CHECK(r.stages[0].next_ms == kT0 + 10 * kMinute);
  CHECK(s.holdings()["region-1"] == g1);

  r = s.step(kT0 + 10 * kMinute);  // baked: one stage, not two
  REQUIRE(r.actions.size() == 1);
  CHECK_THAT(r.actions[0], Catch::Contains("from canary to region-1"));
  CHECK(s.holdings() == std::map<std::string, std::string>{{"canary", g2}, {"region-1", g2}, {"global", g1}});

  r = s.step(kT0 + 11 * kMinute);  // region-1 bakes 30 minutes from its entry
  CHECK_FALSE(r.changed());
  CHECK(s.holdings()["global"] == g1);
  r = s.step(kT0 + 40 * kMinute);
  REQUIRE(r.actions.size() == 1);
  CHECK_THAT(r.actions[0], Catch::Contains("from region-1 to global"));
  CHECK(s.holdings()["global"] == g2);

  auto history = s.store.history("features").value();
  int promotions = 0;
  for (const auto& rec : history) promotions += rec.event == "promote";
  CHECK(promotions == 2);
}

TEST_CASE("rollout: the 2025 feature file is contained in canary and reverted on its health", "[rollout]") {
  auto location = GENERATE_COPY(from_range(locations("contained")));
  INFO("state: " << (location.empty() ? "a directory" : location));
  Staged s("features", kPolicy, location);
  const std::string good = digest_of(artifact(1)), doubled = digest_of(artifact(2, 400));
  auto d = s.admit(artifact(2, 400), kT0);  // the contract does not bound the count: accepted
  REQUIRE(d.action == Action::accept);
  s.step(kT0 + kMinute);  // healthy so far
  s.health["canary"] = HealthResult::State::unhealthy;
  s.value["canary"] = 0.37;
  auto r = s.step(kT0 + 2 * kMinute);
  REQUIRE(r.changed());
  CHECK_THAT(r.actions[0], Catch::StartsWith("reverted " + doubled.substr(0, 19)));
  CHECK_THAT(r.actions[0], Catch::Contains("errors=0.37"));
  CHECK(s.holdings() == std::map<std::string, std::string>{{"canary", good}, {"region-1", good}, {"global", good}});
  REQUIRE(r.halted);
  CHECK(r.halted->digest == doubled);
  CHECK(r.halted->stage == "canary");

  // Quarantined with the evidence; the stream's LKG is the good file again.
  auto q = s.store.quarantine("features").value();
  REQUIRE(q.size() == 1);
  CHECK(q.back().digest == doubled);
  CHECK(q.back().verdict == "revert");
  CHECK(q.back().failed == std::vector<std::string>{"errors"});
  CHECK_THAT(q.back().reason, Catch::Contains("0.37"));
  CHECK(s.store.lkg("features").value()->digest == good);

  // Halted: gates pin (even a good candidate) and rollouts hold, until resumed.
  s.health.clear();
  auto pinned = s.admit(artifact(3), kT0 + 3 * kMinute);
  CHECK(pinned.action == Action::pin);
  CHECK(pinned.report.verdict == Verdict::reject);
  CHECK(pinned.report.violations.back().invariant == "rollout.stopped");
  CHECK(*pinned.artifact == artifact(1));
  auto held = s.step(kT0 + 60 * kMinute);
  CHECK_FALSE(held.changed());
  CHECK_THAT(held.stopped, Catch::Contains("halted"));
  // The doubled file is refused by digest even after the resume.
  auto resumed = s.rollout.resume("features", s.at(kT0 + 61 * kMinute));
  REQUIRE(resumed);
  CHECK_FALSE(resumed->halted);
  auto again = s.admit(artifact(2, 400), kT0 + 62 * kMinute);
  CHECK(again.action == Action::pin);
  CHECK(again.report.violations.back().invariant == "rollout.vetoed");
  CHECK(s.admit(artifact(3), kT0 + 63 * kMinute).action == Action::accept);
}

TEST_CASE("rollout: a check's \"for\" needs healthy evaluations over the whole window", "[rollout]") {
  const char* policy = R"j({"rollout": "f", "stages": [
    {"name": "canary", "health": [{"id": "e", "prometheus": {"url": "http://127.0.0.1:1", "query": "q", "max": 1,
                                                           "for": "2m"}}]},
    {"name": "global"}]})j";
  Staged s("features", policy);
  s.admit(artifact(2), kT0);
  CHECK_FALSE(s.step(kT0).changed());                  // healthy since now
  CHECK_FALSE(s.step(kT0 + kMinute).changed());        // 1m of 2m
  s.health["canary"] = HealthResult::State::unknown;   // an unknown evaluation restarts the window
  CHECK_FALSE(s.step(kT0 + 90'000).changed());
  s.health.clear();
  CHECK_FALSE(s.step(kT0 + 2 * kMinute).changed());
  CHECK_FALSE(s.step(kT0 + 3 * kMinute).changed());
  CHECK(s.step(kT0 + 4 * kMinute).changed());          // healthy on every evaluation for 2m
}

TEST_CASE("rollout: superseding generations never move a stage back", "[rollout]") {
  Staged s;
  std::map<std::string, uint64_t> last_sequence, last_accepted;
  auto observe = [&] {
    auto r = s.rollout.status("features", kT0).value();
    for (const auto& st : r.stages) {
      if (!st.lkg) continue;
      CHECK(st.lkg->sequence >= last_sequence[st.name]);
      CHECK(st.lkg->accepted_sequence >= last_accepted[st.name]);
      last_sequence[st.name] = st.lkg->sequence;
      last_accepted[st.name] = st.lkg->accepted_sequence;
    }
  };
  int64_t t = kT0;
  s.admit(artifact(5), t);
  observe();
  s.step(t += 10 * kMinute);  // 5 -> region-1
  observe();
  s.admit(artifact(6), t += kMinute);
  observe();
  s.step(t += 5 * kMinute);   // 6 bakes in canary; 5 bakes in region-1
  observe();
  s.admit(artifact(7), t += kMinute);  // 7 supersedes 6 before it baked
  observe();
  for (int i = 0; i < 12; ++i) {
    s.step(t += 10 * kMinute);
    observe();
  }
  const std::string g6 = digest_of(artifact(6)), g7 = digest_of(artifact(7));
  CHECK(s.holdings() == std::map<std::string, std::string>{{"canary", g7}, {"region-1", g7}, {"global", g7}});
  auto history = s.store.history("features").value();
  for (const auto& rec : history)
    if (rec.event == "promote") CHECK(rec.candidate != g6);  // superseded in canary, never promoted
}

TEST_CASE("rollout: unknown health holds, then reverts after the limit", "[rollout]") {
  Staged s;
  const std::string g1 = digest_of(artifact(1));
  s.admit(artifact(2), kT0);
  s.health["canary"] = HealthResult::State::unknown;
  auto r = s.step(kT0 + 20 * kMinute);  // baked, but unknown: holds
  CHECK_FALSE(r.changed());
  CHECK(r.stages[0].state == "holding");
  CHECK_THAT(r.stages[0].detail, Catch::Contains("unknown since"));
  CHECK(s.holdings()["region-1"] == g1);
  r = s.step(kT0 + 34 * kMinute);  // 14 of 15 minutes
  CHECK_FALSE(r.changed());
  r = s.step(kT0 + 35 * kMinute);
  REQUIRE(r.changed());
  CHECK_THAT(r.actions[0], Catch::Contains("could not be evaluated for 15m"));
  CHECK(s.holdings()["canary"] == g1);
}

TEST_CASE("rollout: a veto of an artifact in every stage reverts each stage and followers publish the previous one",
          "[rollout]") {
  auto location = GENERATE_COPY(from_range(locations("veto")));
  INFO("state: " << (location.empty() ? "a directory" : location));
  Staged s("features", kPolicy, location);
  const std::string g1 = digest_of(artifact(1)), g2 = digest_of(artifact(2));
  s.admit(artifact(2), kT0);
  s.step(kT0 + 10 * kMinute);
  s.step(kT0 + 40 * kMinute);
  REQUIRE(s.holdings()["global"] == g2);
  std::map<std::string, Follower> followers;
  for (const char* stage : {"canary", "region-1", "global"}) {
    Follower f(s.store, "features", 0, stage);
    auto c = f.poll();
    REQUIRE(c);
    REQUIRE(c.value());
    CHECK(c.value()->lkg.digest == g2);
    f.served(c.value()->lkg.sequence);
    followers.emplace(stage, std::move(f));
  }
  Follower last(s.store, "features");  // no stage: the last one
  REQUIRE(last.poll().value()->lkg.digest == g2);

  auto options = s.at(kT0 + 50 * kMinute);
  options.reason = "consumers crash on load";
  auto r = s.rollout.veto("features", g2.substr(7, 12), options);
  REQUIRE(r);
  CHECK(s.holdings() == std::map<std::string, std::string>{{"canary", g1}, {"region-1", g1}, {"global", g1}});
  for (auto& [stage, f] : followers) {
    auto c = f.poll();
    REQUIRE(c);
    REQUIRE(c.value());  // a revert is a new sequence of the stage: followers publish it
    CHECK(c.value()->lkg.digest == g1);
    CHECK(*c.value()->artifact == artifact(1));
  }
  auto refused = s.admit(artifact(2), kT0 + 51 * kMinute);
  CHECK(refused.action == Action::pin);
  auto history = s.store.history("features").value();
  REQUIRE(history.size() >= 2);
  const JournalRecord& vetoed = history[history.size() - 2];  // then the pin
  CHECK(vetoed.event == "veto");
  CHECK(vetoed.candidate == g2);
  CHECK_THAT(vetoed.detail, Catch::Contains("consumers crash on load"));

  // Veto needs a reason and an actor; an unknown digest is refused.
  auto bad = s.at(kT0);
  bad.reason.clear();
  CHECK_FALSE(s.rollout.veto("features", g2, bad));
  CHECK(s.rollout.veto("features", "deadbeefdeadbeef", s.at(kT0)).error().code == ErrorCode::usage);
}

TEST_CASE("rollout: a freeze of every stream pins gates and holds rollouts until thawed", "[rollout]") {
  auto location = GENERATE_COPY(from_range(locations("freeze")));
  INFO("state: " << (location.empty() ? "a directory" : location));
  Staged s("features", kPolicy, location);
  InitOptions other;
  const std::string first = artifact(1);
  other.seed = first;
  other.reason = "seed";
  other.by = "test";
  other.now = Time::from_ms(kT0);
  REQUIRE(s.gate.init("plain", other));  // a stream without stages
  s.admit(artifact(2), kT0);
  auto frozen = s.rollout.freeze("", 0, s.at(kT0 + kMinute));
  REQUIRE(frozen);
  CHECK(s.admit(artifact(3), kT0 + 2 * kMinute, "plain").action == Action::pin);
  CHECK(s.admit(artifact(3), kT0 + 2 * kMinute).action == Action::pin);
  auto held = s.step(kT0 + 60 * kMinute);
  CHECK_FALSE(held.changed());
  CHECK_THAT(held.stopped, Catch::Contains("every stream is frozen"));
  CHECK(s.evaluations == 0);  // a freeze evaluates and pushes nothing
  auto journal = s.store.history("plain").value();
  CHECK(std::any_of(journal.begin(), journal.end(), [](const auto& r) {  // journaled in every stream
    return r.event == "freeze" && r.detail.find("every stream frozen by test") != std::string::npos;
  }));
  REQUIRE(s.rollout.thaw("", s.at(kT0 + 61 * kMinute)));
  CHECK(s.admit(artifact(3), kT0 + 62 * kMinute, "plain").action == Action::accept);
  CHECK(s.step(kT0 + 62 * kMinute).changed());  // canary's 2 baked long ago: region-1

  // A stream's own freeze, with an expiry.
  REQUIRE(s.rollout.freeze("features", kT0 + 90 * kMinute, s.at(kT0 + 63 * kMinute)));
  CHECK(s.admit(artifact(4), kT0 + 64 * kMinute).action == Action::pin);
  CHECK(s.admit(artifact(4), kT0 + 91 * kMinute).action == Action::accept);  // expired
}

TEST_CASE("rollout: stages can be changed deliberately, a stream without stages refuses a step", "[rollout]") {
  Staged s;
  const std::string g1 = digest_of(artifact(1));
  auto none = s.rollout.step("nope", s.at(kT0));
  CHECK_FALSE(none);
  const char* two = R"j({"rollout": "features", "stages": [{"name": "canary"}, {"name": "eu"}, {"name": "global"}]})j";
  auto options = s.at(kT0);
  options.reason = "";
  CHECK_FALSE(s.rollout.set("features", parse_rollout(two, "two").value(), options));  // a reason is required
  auto r = s.rollout.set("features", parse_rollout(two, "two").value(), s.at(kT0));
  REQUIRE(r);
  CHECK(s.holdings() == std::map<std::string, std::string>{{"canary", g1}, {"eu", g1}, {"global", g1}});
  auto history = s.store.history("features").value();
  CHECK(history.back().event == "rollout");

  // A stream without stages gets its first ones: every stage holds its LKG,
  // and a follower of the last stage goes on serving it.
  InitOptions plain;
  const std::string first = artifact(1);
  plain.seed = first;
  plain.reason = "seed";
  plain.by = "test";
  REQUIRE(s.gate.init("plain", plain));
  Follower everyone(s.store, "plain");
  auto served = everyone.poll();
  REQUIRE(served);
  REQUIRE(served.value());
  everyone.served(served.value()->lkg.sequence);
  REQUIRE(s.rollout.set("plain", parse_rollout(two, "two").value(), s.at(kT0)));
  CHECK(s.holdings("plain") == std::map<std::string, std::string>{{"canary", g1}, {"eu", g1}, {"global", g1}});
  auto after = everyone.poll();
  REQUIRE(after);
  if (after.value()) CHECK(*after.value()->artifact == first);
}

TEST_CASE("rollout: exec health checks run only when the caller allows commands from the state", "[rollout]") {
  const char* policy = R"j({"rollout": "f", "stages": [
    {"name": "canary", "health": [{"id": "smoke", "exec": ["sh", "-c", "test \"$INVAR_STAGE\" = canary"]}]},
    {"name": "global"}]})j";
  Staged s("features", policy);
  s.admit(artifact(2), kT0);
  auto options = s.at(kT0 + kMinute);
  options.evaluate = nullptr;  // the real checks
  auto refused = s.rollout.step("features", options);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::usage);
  CHECK_THAT(refused.error().message, Catch::Contains("--allow-exec"));
  options.allow_exec = true;
  auto ran = s.rollout.step("features", options);
  REQUIRE(ran);
  CHECK(ran->changed());  // the command saw its stage, exited 0: healthy
  CHECK(s.holdings()["global"] == digest_of(artifact(2)));
}
