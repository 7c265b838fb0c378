// The public C++ API of include/invar/gate.hpp: Gate, StateStore, Guard,
// TypedGuard; and Options (severity overrides, clock) of invar.hpp.
#include <catch2/catch.hpp>

#include <thread>

#include "common/digest.hpp"
#include "helpers.hpp"
#include "invar/gate.hpp"
#include "process.hpp"

namespace {

invar::Contract features() {
  auto c = invar::Contract::load_file(test::source("rules/feature-file.contract.json"));
  REQUIRE(c);
  return *c;
}
std::string good() { return test::slurp(test::source("examples/cloudflare-2025-features/good.json")); }
std::string bad() { return test::slurp(test::source("examples/cloudflare-2025-features/bad.json")); }

}  // namespace

TEST_CASE("Gate: submit decides and the caller publishes Decision::artifact", "[api]") {
  test::TempDir tmp;
  auto store = invar::StateStore::open_directory(tmp / "state");
  REQUIRE(store);
  invar::Gate gate(features(), *store);
  CHECK(!gate.submit("bot", good()));  // streams are created on purpose
  invar::InitOptions init;
  init.by = "test";
  REQUIRE(gate.init("bot", init));
  auto first = gate.submit("bot", good());
  REQUIRE(first);
  CHECK(first->action == invar::Action::accept);
  REQUIRE(first->artifact);
  CHECK(*first->artifact == good());
  auto second = gate.submit("bot", bad());
  REQUIRE(second);
  CHECK(second->action == invar::Action::pin);
  CHECK(*second->artifact == good());
  CHECK(second->lkg_before->digest == first->lkg_after->digest);
  auto lkg = store->lkg_artifact("bot");
  REQUIRE(lkg);
  CHECK(lkg.value() == good());
  auto history = store->history("bot");
  REQUIRE(history);
  CHECK(history->size() == 3);  // init, accept, accept
  CHECK(history->front().event == "init");
  auto status = store->status("bot", 0);
  REQUIRE(status);
  CHECK(status->lkg->sequence == 1);
  // The consumer's own check is part of the verdict.
  invar::SubmitOptions options;
  options.consumer_check = [](std::string_view) { return std::optional<std::string>("feature 7 has an unknown type"); };
  auto refused = gate.submit("bot", good(), options);
  REQUIRE(refused);
  CHECK(refused->action == invar::Action::pin);
  REQUIRE(!refused->report.violations.empty());
  CHECK(refused->report.violations.back().message == "the consumer cannot use the artifact: feature 7 has an unknown type");
}

TEST_CASE("Guard: in memory, never without a config once it had one", "[api]") {
  invar::Guard guard(features());
  auto u = guard.update(bad());
  CHECK(u.decision.action == invar::Action::reject);
  CHECK(!u.artifact);
  u = guard.update(good());
  CHECK(u.decision.action == invar::Action::accept);
  REQUIRE(u.artifact);
  CHECK(*u.artifact == good());
  for (const std::string& candidate : {bad(), std::string("{"), std::string(), std::string("\xff\xfe")}) {
    u = guard.update(candidate);
    CHECK(u.decision.action == invar::Action::pin);
    REQUIRE(u.artifact);
    CHECK(*u.artifact == good());
  }
  // The delta family compares with the artifact in service.
  std::string grown = good();
  grown.replace(grown.find("\"features\": ["), 13, "\"features\": [" + std::string("{\"name\": \"x\", \"type\": \"int\", \"database\": \"default\"},"));
  u = guard.update(grown);
  CHECK(u.decision.action == invar::Action::accept);
  CHECK(u.decision.report.invariants.back().outcome == invar::Outcome::pass);
}

TEST_CASE("Guard: seed() gives a require_baseline guard its first artifact", "[api]") {
  // Regression (issue 28.24): with require_baseline (what `invar lint`
  // recommends) an in-memory Guard rejected every update forever.
  auto contract = test::contract(R"j({"contract": "g", "invariants": [
    {"id": "n", "count": "$.items[*]", "min": 1},
    {"id": "growth", "delta": "count($.items[*])", "max_increase": "50%", "require_baseline": true}]})j");
  REQUIRE(contract);
  const std::string four = R"({"items": [1, 2, 3, 4]})", five = R"({"items": [1, 2, 3, 4, 5]})";
  const std::string ten = R"({"items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]})";
  invar::Guard unseeded(*contract);
  for (int i = 0; i < 3; ++i) CHECK(unseeded.update(four).decision.action == invar::Action::reject);
  // A seed is judged by the stateless invariants only: one that fails them changes nothing.
  auto refused = unseeded.seed(R"({"items": []})");
  REQUIRE(refused);
  CHECK(refused->action == invar::Action::reject);
  CHECK(!unseeded.current());
  // After rejects, a seed still starts the guard; it is then the baseline.
  auto seeded = unseeded.seed(four);
  REQUIRE(seeded);
  CHECK(seeded->action == invar::Action::accept);
  CHECK(seeded->report.invariants.back().outcome == invar::Outcome::skipped);
  REQUIRE(unseeded.current());
  CHECK(*unseeded.current() == four);
  auto grown = unseeded.update(ten);  // +150% against the seed
  CHECK(grown.decision.action == invar::Action::pin);
  CHECK(*grown.artifact == four);
  CHECK(unseeded.update(five).decision.action == invar::Action::accept);
  // A seed is a first artifact only.
  auto again = unseeded.seed(four);
  REQUIRE(!again);
  CHECK(again.error().code == invar::ErrorCode::usage);
  CHECK(again.error().message == "the guard serves an artifact already: a seed is only its first one");
  // TypedGuard: the parse step runs first; bytes it refuses are not seeded.
  invar::TypedGuard<size_t> typed(invar::Guard(*contract), [](std::string_view bytes) -> invar::Result<size_t> {
    if (bytes.find("5") != std::string_view::npos) return invar::Error{invar::ErrorCode::usage, "no fives", {}};
    return bytes.size();
  });
  CHECK(!typed.seed(five));
  CHECK(!typed.current());
  auto t = typed.seed(four);
  REQUIRE(t);
  CHECK(t->action == invar::Action::accept);
  REQUIRE(typed.current());
  CHECK(*typed.current() == four.size());
  // A persistent guard serves its stream: seed it with Gate::init.
  test::TempDir tmp;
  auto store = invar::StateStore::open_directory(tmp / "state");
  REQUIRE(store);
  invar::InitOptions init;
  init.by = "test";
  REQUIRE(invar::Gate(*contract, *store).init("s", init));
  auto persistent = invar::Guard::persistent(*contract, *store, "s");
  REQUIRE(persistent);
  auto refused_persistent = persistent->seed(four);
  REQUIRE(!refused_persistent);
  CHECK(refused_persistent.error().code == invar::ErrorCode::usage);
}

TEST_CASE("Guard: flapping is reported by an in-memory guard too", "[api]") {
  invar::Guard guard(features());
  invar::Guard::Update u;
  auto at = [](int minute) { return invar::parse_time("2025-11-18T11:" + std::to_string(10 + minute) + ":00Z"); };
  for (int i = 0; i < 4; ++i) u = guard.update(i % 2 ? bad() : good(), {}, at(i));
  CHECK(u.decision.action == invar::Action::pin);
  CHECK(u.decision.flapping);
  CHECK(u.decision.flap_history.size() == 4);
  CHECK(u.decision.pinned_since_ms);
}

TEST_CASE("Guard: flapping clears after the accepts in a row asked for", "[api]") {
  auto at = [](int minute) { return invar::parse_time("2025-11-18T11:" + std::to_string(10 + minute) + ":00Z"); };
  for (uint32_t clear_after : {0u, 2u}) {
    INFO("clear_after " << clear_after);
    invar::GateOptions options;
    options.flap.clear_after = clear_after;
    invar::Guard guard(features(), options);
    invar::Guard::Update u;
    for (int i = 0; i < 4; ++i) u = guard.update(i % 2 ? bad() : good(), {}, at(i));
    CHECK(u.decision.flapping);
    u = guard.update(good(), {}, at(4));
    CHECK(u.decision.flapping);  // one good decision: not yet settled
    u = guard.update(good(), {}, at(5));
    CHECK(u.decision.flapping == (clear_after == 0));  // two in a row: settled, when asked; else the window decides
  }
}

TEST_CASE("TypedGuard: a parse failure in the consumer is a pin, not a crash", "[api]") {
  struct Config {
    size_t features = 0;
  };
  invar::TypedGuard<Config> guard(invar::Guard(features()), [](std::string_view bytes) -> invar::Result<Config> {
    if (bytes.find("\"feat_007\"") == std::string_view::npos)
      return invar::Error{invar::ErrorCode::usage, "feat_007 is missing", {}};
    Config c;
    for (size_t at = 0; (at = bytes.find("\"name\"", at)) != std::string_view::npos; ++at) ++c.features;
    return c;
  });
  auto u = guard.update(good());
  CHECK(u.decision.action == invar::Action::accept);
  REQUIRE(u.value);
  CHECK(u.value->features == 60);
  std::string without = good();
  without.replace(without.find("\"feat_007\""), 10, "\"feat_777\"");
  u = guard.update(without);
  CHECK(u.decision.action == invar::Action::pin);
  REQUIRE(u.value);
  CHECK(u.value->features == 60);
  CHECK(u.decision.report.violations.back().invariant == "consumer.check");
  CHECK(u.decision.report.violations.back().message == "the consumer cannot use the artifact: feat_007 is missing");
}

TEST_CASE("Guard: persistent guards share the stream with gates and survive restarts", "[api]") {
  test::TempDir tmp;
  auto store = invar::StateStore::open_directory(tmp / "state");
  REQUIRE(store);
  CHECK(!invar::Guard::persistent(features(), *store, "bot"));  // no such stream: fail closed
  invar::InitOptions init;
  init.by = "test";
  REQUIRE(invar::Gate(features(), *store).init("bot", init));
  {
    auto guard = invar::Guard::persistent(features(), *store, "bot");
    REQUIRE(guard);
    CHECK(!guard->current());
    CHECK(guard->update(good()).decision.action == invar::Action::accept);
  }
  auto restarted = invar::Guard::persistent(features(), *store, "bot");
  REQUIRE(restarted);
  REQUIRE(restarted->current());
  CHECK(*restarted->current() == good());
  auto u = restarted->update(bad());
  CHECK(u.decision.action == invar::Action::pin);
  CHECK(*u.artifact == good());
  // A corrupted store cannot be judged: the guard keeps serving and says so.
  test::spit(tmp / "state/streams/bot/lkg.json", "{}");
  u = restarted->update(good());
  CHECK(u.decision.action == invar::Action::pin);
  CHECK(*u.artifact == good());
  REQUIRE(!u.decision.warnings.empty());
  CHECK(u.decision.warnings[0].find("the gate could not judge:") == 0);
  CHECK(!invar::Guard::persistent(features(), *store, "bot"));
}

TEST_CASE("Guard: concurrent updates from 8 threads leave a consistent artifact", "[api][threads]") {
  invar::Guard guard(features());
  std::string g = good(), b = bad();
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto u = guard.update((t + i) % 2 ? b : g);
        if (u.artifact && *u.artifact != g) ++wrong;
        if (auto c = guard.current(); c && *c != g) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
  REQUIRE(guard.current());
  CHECK(*guard.current() == g);
}

TEST_CASE("Options: severity overrides and the clock", "[api]") {
  invar::Options options;
  options.severity["features.unique"] = invar::Severity::warn;
  options.severity["features.default-db"] = invar::Severity::warn;
  options.severity["features.bounded"] = invar::Severity::warn;
  auto lenient = invar::Contract::load_file(test::source("rules/feature-file.contract.json"), options);
  REQUIRE(lenient);
  CHECK(lenient->check(bad()).verdict == invar::Verdict::accept);
  options.severity["nope"] = invar::Severity::warn;
  auto unknown = invar::Contract::load_file(test::source("rules/feature-file.contract.json"), options);
  REQUIRE(!unknown);
  CHECK(unknown.error().message == "a severity override names \"nope\", which is not an invariant of this contract");

  invar::Options clocked;
  clocked.clock = [] { return *invar::parse_time("2025-10-20T06:45:00Z"); };
  auto dns = invar::Contract::load_file(test::source("rules/dns-plan.contract.json"), clocked);
  REQUIRE(dns);
  auto plan = test::slurp(test::source("examples/aws-2025-dns/good.json"));
  CHECK(dns->check(plan).verdict == invar::Verdict::accept);  // fresh at 06:45, stale by the system clock
  invar::CheckContext later;
  later.now = invar::parse_time("2025-10-20T07:45:00Z");
  CHECK(dns->check(plan, later).verdict == invar::Verdict::reject);  // an explicit now wins
}

// Options::threads: invariants side by side, the reading scan alongside and
// the schema's long array split; the report must be the one-thread report.
// Options::map_files: check_file() on a mapped file, the same again.
TEST_CASE("Options::threads and map_files leave the report unchanged", "[api][threads]") {
  std::string plan = R"({"endpoint": "ddb.example", "generation": 7, "generated_at": "2025-10-20T06:40:00Z",
                         "plans": [{"id": "p1"}], "records": [)";
  for (int i = 0; i < 20'000; ++i) {
    std::string targets = i == 4'321 ? "" : R"("10.0.0.1", "10.0.0.2")";
    std::string plan_id = i == 15'000 ? "p9" : "p1";
    std::string type = i == 19'999 ? "MX" : "A";
    plan += (i ? "," : "") + std::string(R"({"name": "r)") + std::to_string(i) + R"(.ddb.example", "type": ")" + type +
            R"(", "ttl": 60, "plan": ")" + plan_id + R"(", "targets": [)" + targets + "]}";
  }
  plan += "]}";
  REQUIRE(plan.size() > invar::kParallelMinBytes);
  invar::CheckContext ctx;
  ctx.now = invar::parse_time("2025-10-20T06:45:00Z");
  std::string reports[3];
  for (unsigned threads : {1u, 4u}) {
    invar::Options options;
    options.threads = threads;
    auto c = invar::Contract::load_file(test::source("rules/dns-plan.contract.json"), options);
    REQUIRE(c);
    auto r = c->check(plan, ctx);
    CHECK(r.verdict == invar::Verdict::reject);
    reports[threads == 1 ? 0 : 1] = invar::render_json({r});
  }
  CHECK(reports[1] == reports[0]);
  CHECK(reports[0].find("/records/4321") != std::string::npos);   // records.nonempty
  CHECK(reports[0].find("/records/15000/plan") != std::string::npos);  // records.plans-exist
  CHECK(reports[0].find("/records/19999/type") != std::string::npos);  // the schema's enum

  test::TempDir tmp;
  std::string path = tmp / "plan.json";
  test::spit(path, plan);
  invar::Options options;
  options.threads = 2;
  options.map_files = true;
  auto c = invar::Contract::load_file(test::source("rules/dns-plan.contract.json"), options);
  REQUIRE(c);
  auto r = c->check_file(path, ctx);
  REQUIRE(r);
  r->artifact.clear();
  reports[2] = invar::render_json({*r});
  CHECK(reports[2] == reports[0]);
}

// Options::reuse_parsers: a contract checks with the parsers of its earlier
// checks; nothing of an earlier artifact may show through in a later report.
TEST_CASE("parsers kept between checks never change a report", "[api][reuse]") {
  const std::string contract = R"({"contract": "t", "invariants": [
      {"id": "n", "count": "$.items[*]", "min": 1, "max": 3}, {"id": "u", "unique": "$.items[*]"},
      {"id": "s", "match": "$.items[*]", "pattern": "[a-z]+"}]})";
  invar::Options fresh_options;
  fresh_options.reuse_parsers = false;
  auto reused = invar::Contract::load_string(contract, ".", "t");
  auto fresh = invar::Contract::load_string(contract, ".", "t", fresh_options);
  REQUIRE(reused);
  REQUIRE(fresh);
  std::string big = R"({"items": [)";
  for (int i = 0; i < 5000; ++i) big += (i ? ", \"" : "\"") + std::string(i % 7 + 1, 'a' + i % 26) + "\"";
  big += "]}";
  const std::vector<std::string> artifacts = {big, R"({"items": ["a", "b"]})", R"({"items": ["a", "a", "B"]})",
                                              R"({"items": [)", R"({"items": ["x"], "items": []})", "{}",
                                              R"({"items": ["q"]})", big + " ", R"({"items": ["z", "y"]})"};
  for (int round = 0; round < 2; ++round)
    for (const auto& artifact : artifacts) {
      INFO("round " << round << ", artifact of " << artifact.size() << " bytes");
      CHECK(invar::render_json({reused->check(artifact)}) == invar::render_json({fresh->check(artifact)}));
    }
}

TEST_CASE("Gate: a WaiverRequest scoped to one candidate waives it once, and StateStore lists and revokes waivers",
          "[api][waivers]") {
  test::TempDir tmp;
  auto store = invar::StateStore::open_directory(tmp / "state");
  REQUIRE(store);
  auto contract = invar::Contract::load_string(R"j({"contract": "serial", "invariants": [
    {"id": "serial", "monotonic": "$.serial", "strict": true}]})j", ".", "serial");
  REQUIRE(contract);
  invar::Gate gate(*contract, *store);
  invar::InitOptions init;
  init.by = "test";
  REQUIRE(gate.init("dns", init));
  auto plan = [](int serial) { return "{\"serial\": " + std::to_string(serial) + "}"; };
  REQUIRE(gate.submit("dns", plan(1005))->action == invar::Action::accept);
  auto scoped = gate.waive("dns", invar::WaiverRequest{"serial", "rollback to 1003", 3'600'000, "oncall", "", "1003"});
  REQUIRE(scoped);
  CHECK(scoped->for_generation == "1003");
  CHECK(gate.submit("dns", plan(1000))->action == invar::Action::pin);  // a delayed older plan
  CHECK(gate.submit("dns", plan(1003))->action == invar::Action::accept);
  CHECK(gate.submit("dns", plan(1002))->action == invar::Action::pin);  // used once
  // Scoped to the candidate being submitted, by its digest.
  invar::SubmitOptions options;
  options.waive.push_back({"serial", "replay 1001", 3'600'000, "oncall", invar::digest::sha256(plan(1001)), ""});
  auto replay = gate.submit("dns", plan(1001), options);
  REQUIRE(replay);
  CHECK(replay->action == invar::Action::accept);
  auto listed = store->waivers("dns");
  REQUIRE(listed);
  REQUIRE(listed->size() == 2);
  CHECK(listed->at(0).used_by == invar::digest::sha256(plan(1003)));
  CHECK(listed->at(1).used_by == invar::digest::sha256(plan(1001)));
  // A stream-wide one, revoked.
  auto wide = gate.waive("dns", invar::WaiverRequest{"serial", "freeze", 3'600'000, "oncall"});
  REQUIRE(wide);
  CHECK(store->status("dns", invar::Time::now().ms())->active_waivers.size() == 1);
  REQUIRE(store->revoke_waiver("dns", wide->id, "oncall", "freeze over", invar::Time::now().ms()));
  CHECK(store->status("dns", invar::Time::now().ms())->active_waivers.empty());
  CHECK(gate.submit("dns", plan(900))->action == invar::Action::pin);
  CHECK_FALSE(store->revoke_waiver("dns", wide->id, "oncall", "again", invar::Time::now().ms()));
}
