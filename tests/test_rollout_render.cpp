// Rollout reports rendered for people and machines: every field shown,
// user text escaped and bounded, nothing read as healthy or promoted when
// nothing was evaluated or done, JSON that satisfies
// schemas/rollout-report.schema.json; and status, history and metrics of
// a staged stream driven through real steps.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "gate/gate.hpp"
#include "helpers.hpp"
#include "invar/gate.hpp"
#include "process.hpp"
#include "promtool.hpp"
#include "rollout/rollout.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

using namespace invar;
using nlohmann::json;

namespace {

const int64_t kT0 = Time::parse("2026-12-01T00:00:00Z")->ms();
constexpr int64_t kMin = 60'000;
const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');
const std::string kDigestC = "sha256:" + std::string(64, 'c');

// Whether `text` satisfies the rollout report schema (the failures, when not).
void require_schema(const std::string& text) {
  static auto schema = Contract::from_schema_file(test::source("schemas/rollout-report.schema.json"));
  REQUIRE(schema);
  auto r = schema->check(text);
  INFO(text);
  INFO(render_human(r));
  REQUIRE(r.verdict == Verdict::accept);
}

StageHolding holding(const std::string& digest, uint64_t accepted, uint64_t sequence, int64_t since) {
  return StageHolding{digest, 1234, "g" + std::to_string(accepted), accepted, sequence, since};
}

// Three stages: canary baking a new artifact (a check healthy, not yet for
// long enough), region-1 holding on an unknown check, global settled.
RolloutReport three_stages() {
  RolloutReport r;
  r.stream = "web";
  r.policy = "web-rollout";
  StageReport canary{"canary", holding(kDigestC, 3, 7, kT0 - 5 * kMin), "baking", "bake 5m left", kT0 + 5 * kMin, {}};
  canary.health.push_back({"errors", kDigestC, "healthy", 0.002, "0.002 <= 0.01", kT0, kT0 - 2 * kMin, 0});
  StageReport region{"region-1", holding(kDigestB, 2, 6, kT0 - 40 * kMin), "holding", "latency unknown", 0, {}};
  std::string long_detail = "prometheus at http://p:9090: \x1b[31mconnection refused\n" + std::string(600, 'x');
  region.health.push_back({"latency", kDigestB, "unknown", std::nullopt, long_detail, kT0, 0, kT0 - 3 * kMin});
  StageReport global{"global", holding(kDigestA, 1, 5, kT0 - 24 * 60 * kMin), "settled", "", 0, {}};
  r.stages = {canary, region, global};
  return r;
}


bool has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

const char* kContract = R"({"contract": "web", "invariants": [{"id": "gen", "monotonic": "$.generation", "strict": true}]})";
const char* kPolicy = R"({"rollout": "web-rollout", "stages": [
  {"name": "canary", "bake": "10m", "health": [{"id": "errors", "exec": ["./errors"]}]},
  {"name": "region-1", "bake": "30m", "health": [{"id": "latency", "exec": ["./latency"]}]},
  {"name": "global"}]})";

std::string artifact(int generation) { return "{\"generation\": " + std::to_string(generation) + "}"; }

HealthResult answer(const HealthCheck& check, HealthResult::State state, const std::string& detail) {
  return HealthResult{check.id, state, 1.0, detail};
}

}  // namespace

TEST_CASE("rollout report: each stage, its holding, state, next step and checks", "[rollout-render]") {
  RolloutReport r = three_stages();
  r.actions.push_back("promoted sha256:cccccccccccc from canary to region-1");
  std::string h = render_rollout_human(r, kT0);
  INFO(h);
  CHECK(has(h, "stream web: rollout \"web-rollout\", 3 stages\n"));
  CHECK(has(h, "  stage canary: sha256:cccccccccccc (stage sequence 7, generation g3, since 2026-11-30T23:55:00Z, 5m ago)\n"
               "    baking: bake 5m left\n"
               "    next step at 2026-12-01T00:05:00Z (in 5m)\n"
               "    check errors: healthy, value 0.002, at 2026-12-01T00:00:00Z (0ms ago), healthy since "
               "2026-11-30T23:58:00Z: 0.002 <= 0.01\n"));
  CHECK(has(h, "  stage region-1: sha256:bbbbbbbbbbbb (stage sequence 6"));
  CHECK(has(h, "    holding: latency unknown\n"));
  CHECK(has(h, "    check latency: unknown, at 2026-12-01T00:00:00Z (0ms ago), unknown since 2026-11-30T23:57:00Z: "
               "prometheus at http://p:9090: \\x1b[31mconnection refused\\n"));
  CHECK(has(h, "  stage global: sha256:aaaaaaaaaaaa (stage sequence 5, generation g1, since 2026-11-30T00:00:00Z, 1d"));
  CHECK(has(h, "    settled (nothing in flight)\n"));
  CHECK(has(h, "  promoted sha256:cccccccccccc from canary to region-1\n"));
  // The server's text is escaped (no raw escape or line break) and bounded.
  CHECK_FALSE(has(h, "\x1b"));
  CHECK_FALSE(has(h, std::string(300, 'x')));
  CHECK(has(h, "xxx...\n"));
  CHECK_FALSE(has(h, "HALTED"));
  CHECK_FALSE(has(h, "FROZEN"));

  std::string j = render_rollout_json(r, kT0);
  require_schema(j);
  json d = json::parse(j);
  CHECK(d["version"] == 1);
  CHECK(d["rollout"] == "web-rollout");
  REQUIRE(d["stages"].size() == 3);
  CHECK(d["stages"][0]["lkg"] == json{{"digest", kDigestC}, {"bytes", 1234}, {"generation", "g3"},
                                      {"accepted_sequence", 3}, {"sequence", 7}, {"since", "2026-11-30T23:55:00Z"}});
  CHECK(d["stages"][0]["next"] == "2026-12-01T00:05:00Z");
  CHECK(d["stages"][0]["health"][0] == json{{"id", "errors"}, {"digest", kDigestC}, {"state", "healthy"},
                                            {"value", 0.002}, {"detail", "0.002 <= 0.01"},
                                            {"at", "2026-12-01T00:00:00Z"}, {"healthy_since", "2026-11-30T23:58:00Z"},
                                            {"unknown_since", nullptr}});
  CHECK(d["stages"][1]["health"][0]["value"].is_null());
  CHECK(d["stages"][1]["health"][0]["detail"].get<std::string>().size() > 600);  // machines get it whole
  CHECK(d["stages"][2]["next"].is_null());
  CHECK(d["actions"].size() == 1);
  CHECK(d["halted"].is_null());
  CHECK(d["frozen"].is_null());
  CHECK(d["location_frozen"].is_null());
}

TEST_CASE("rollout report: halted, frozen, vetoed, warnings", "[rollout-render]") {
  RolloutReport r = three_stages();
  r.actions.push_back("reverted sha256:cccccccccccc (canary -> sha256:bbbbbbbbbbbb): health check \"errors\" failed");
  r.halted = Halt{kDigestC, "health check \"errors\" in stage \"canary\" failed: 0.2 > 0.01", "rollout", "canary",
                  kT0 - kMin};
  r.frozen = Freeze{"change freeze\x07 for the holidays", "alice", kT0 - 60 * kMin, kT0 + 60 * kMin};
  r.location_frozen = Freeze{"old incident", "bob", kT0 - 120 * kMin, kT0 - 60 * kMin};  // expired
  r.stopped = "the stream is frozen by alice ...";
  r.vetoed = {kDigestC};
  r.warnings = {"the reverted artifact could not be quarantined (disk full)"};
  std::string h = render_rollout_human(r, kT0);
  INFO(h);
  CHECK(has(h, "  reverted sha256:cccccccccccc (canary -> sha256:bbbbbbbbbbbb): health check \"errors\" failed\n"));
  CHECK(has(h, "  HALTED since 2026-11-30T23:59:00Z (1m ago) by rollout in stage canary: reverted sha256:cccccccccccc: "
               "health check \"errors\" in stage \"canary\" failed: 0.2 > 0.01\n"));
  CHECK(has(h, "`invar resume --stream web --reason ...`"));
  CHECK(has(h, "  FROZEN (this stream) by alice since 2026-11-30T23:00:00Z until 2026-12-01T01:00:00Z: change "
               "freeze\\x07 for the holidays; nothing is admitted or promoted (`invar thaw` lifts it)\n"));
  CHECK(has(h, "  freeze of every stream of the location expired by bob"));
  CHECK_FALSE(has(h, "FROZEN (every stream"));
  CHECK_FALSE(has(h, "STOPPED"));  // the halt and the freeze say why
  CHECK(has(h, "  vetoed (refused by gates, never promoted): sha256:cccccccccccc\n"));
  CHECK(has(h, "  warning: the reverted artifact could not be quarantined (disk full)\n"));

  std::string j = render_rollout_json(r, kT0);
  require_schema(j);
  json d = json::parse(j);
  CHECK(d["halted"] == json{{"digest", kDigestC}, {"reason", r.halted->reason}, {"by", "rollout"}, {"stage", "canary"},
                            {"at", "2026-11-30T23:59:00Z"}});
  CHECK(d["frozen"]["active"] == true);
  CHECK(d["frozen"]["expires"] == "2026-12-01T01:00:00Z");
  CHECK(d["location_frozen"]["active"] == false);
  CHECK(d["vetoed"] == json{kDigestC});
  CHECK(d["stopped"] == r.stopped);
}

TEST_CASE("rollout report: nothing reads as healthy or promoted when nothing was evaluated or done",
          "[rollout-render]") {
  RolloutReport r;
  r.stream = "web";
  r.policy = "p";
  StageReport baking{"canary", holding(kDigestB, 2, 2, kT0), "baking", "", 0, {}};
  // A check's last state was of the artifact before (the stage's new one was never evaluated).
  baking.health.push_back({"errors", kDigestA, "healthy", 0.0, "0 <= 1", kT0 - kMin, kT0 - 10 * kMin, 0});
  StageReport unreported{"region-1", holding(kDigestA, 1, 1, kT0), "", "", 0, {}};
  unreported.health.push_back({"latency", kDigestA, "", std::nullopt, "", 0, 0, 0});
  StageReport odd{"global", std::nullopt, "bogus", "", 0, {}};
  odd.health.push_back({"x", kDigestA, "fine", std::nullopt, "", kT0, 0, 0});
  r.stages = {baking, unreported, odd};
  std::string h = render_rollout_human(r, kT0);
  INFO(h);
  CHECK(has(h, "    baking (no health check evaluated yet)\n"));
  CHECK(has(h, "    check errors: healthy, value 0, at 2026-11-30T23:59:00Z (1m ago), healthy since "
               "2026-11-30T23:50:00Z [of sha256:aaaaaaaaaaaa, not what the stage holds]: 0 <= 1\n"));
  CHECK(has(h, "    state unknown (not reported)\n"));
  CHECK(has(h, "    check latency: not evaluated, never evaluated\n"));
  CHECK(has(h, "  stage global: holds nothing\n    state unknown (bogus)\n"));
  CHECK(has(h, "    check x: unknown (fine), at"));
  CHECK_FALSE(has(h, "promoted"));
  std::string j = render_rollout_json(r, kT0);
  require_schema(j);
  json d = json::parse(j);
  CHECK(d["stages"][1]["state"] == "unknown");
  CHECK(d["stages"][1]["health"][0]["state"] == "unknown");
  CHECK(d["stages"][1]["health"][0]["at"].is_null());
  CHECK(d["stages"][2]["state"] == "unknown");
  CHECK(d["stages"][2]["lkg"].is_null());
  CHECK(d["stages"][2]["health"][0]["state"] == "unknown");
}

TEST_CASE("rollout report: a stream without stages", "[rollout-render]") {
  RolloutReport r;
  r.stream = "plain";
  r.vetoed = {kDigestA};
  std::string h = render_rollout_human(r, kT0);
  CHECK(h == "stream plain: no stages (one implicit stage: the LKG)\n"
             "  vetoed (refused by gates, never promoted): sha256:aaaaaaaaaaaa\n");
  std::string j = render_rollout_json(r, kT0);
  require_schema(j);
  CHECK(json::parse(j)["stages"] == json::array());
  CHECK(json::parse(j)["rollout"] == "");
}

TEST_CASE("rollout report: a freeze of every stream", "[rollout-render]") {
  RolloutReport r;
  r.location_frozen = Freeze{"datacenter move", "ops", kT0, 0};
  r.actions.push_back("froze every stream: datacenter move");
  std::string h = render_rollout_human(r, kT0);
  CHECK(h == "every stream of the location\n"
             "  froze every stream: datacenter move\n"
             "  FROZEN (every stream of the location) by ops since 2026-12-01T00:00:00Z until thawed: datacenter move; "
             "nothing is admitted or promoted (`invar thaw` lifts it)\n");
  std::string j = render_rollout_json(r, kT0);
  require_schema(j);
  CHECK(json::parse(j)["location_frozen"]["expires"].is_null());
}

TEST_CASE("rollout report: a real report of a stream created with stages (memory store)", "[rollout-render]") {
  auto policy = parse_rollout(kPolicy, "web.rollout.json");
  REQUIRE(policy);
  auto store = store::open_mem_store();
  std::string seed = artifact(1);
  invariants::Measures none;
  LkgRecord first{"web", 1, digest::sha256(seed), seed.size(), "1", kT0, "web", "sha256:c"};
  store::Promotion promotion{seed, &none, first, 10};
  JournalRecord rec = gate::journal_record("init", "web", kT0);
  rec.verdict = "seed";
  rec.candidate = rec.lkg_after = first.digest;
  rec.lkg_sequence = 1;
  std::string record = rollout::initial_record("web", *policy, &first);
  REQUIRE_FALSE(store->init_stream({"web", "web", "sha256:c", kT0, "test"}, &rec, &promotion, &record));
  auto r = rollout::report(*store, "web", kT0 + kMin);
  REQUIRE(r);
  CHECK(r->policy == "web-rollout");
  REQUIRE(r->stages.size() == 3);
  for (const auto& s : r->stages) {
    CHECK(s.state == "settled");
    REQUIRE(s.lkg);
    CHECK(s.lkg->digest == first.digest);
  }
  std::string h = render_rollout_human(*r, kT0 + kMin);
  INFO(h);
  CHECK(has(h, "stream web: rollout \"web-rollout\", 3 stages\n  stage canary: " + first.digest.substr(0, 19) +
                   " (stage sequence 1, generation 1, since 2026-12-01T00:00:00Z, 1m ago)\n"
                   "    settled (nothing in flight)\n"));
  require_schema(render_rollout_json(*r, kT0 + kMin));
}

TEST_CASE("rollout status, history and metrics follow real steps (directory store)", "[rollout-render]") {
  test::TempDir tmp;
  auto store = StateStore::open_directory(tmp / "state");
  REQUIRE(store);
  auto contract = test::contract(kContract);
  REQUIRE(contract);
  auto policy = parse_rollout(kPolicy, "web.rollout.json");
  REQUIRE(policy);
  Gate gate(*contract, *store);
  InitOptions init;
  std::string seed = artifact(1);
  init.seed = seed;
  init.reason = "first";
  init.by = "test";
  init.now = Time::from_ms(kT0);
  init.rollout = *policy;
  auto created = gate.init("web", init);
  REQUIRE(created);
  // A stream without stages has no rollout in its status.
  InitOptions bare;
  bare.by = "test";
  bare.now = Time::from_ms(kT0);
  REQUIRE(gate.init("plain", bare));
  auto plain = store->status("plain", kT0);
  REQUIRE(plain);
  CHECK_FALSE(plain->rollout);
  CHECK_FALSE(has(render_status_human(*plain, kT0), "stage"));

  SubmitOptions at;
  at.now = Time::from_ms(kT0 + 2 * kMin);
  auto accepted = gate.submit("web", artifact(2), at);
  REQUIRE(accepted);
  REQUIRE(accepted->action == Action::accept);
  const std::string second = accepted->candidate;

  // In flight in the canary, nothing evaluated: baking, and nothing says healthy.
  auto st = store->status("web", kT0 + 3 * kMin);
  REQUIRE(st);
  REQUIRE(st->rollout);
  CHECK(st->rollout->stages[0].state == "baking");
  std::string human = render_status_human(*st, kT0 + 3 * kMin);
  INFO(human);
  CHECK(has(human, "  rollout \"web-rollout\", 3 stages\n  stage canary: " + second.substr(0, 19)));
  CHECK(has(human, "    baking (no health check evaluated yet)\n"));
  CHECK_FALSE(has(human, "healthy"));

  Rollout rollout(*store);
  Rollout::Options step;
  step.now = Time::from_ms(kT0 + 13 * kMin);
  step.evaluate = [](const HealthCheck& c, const HealthContext&) {
    return answer(c, HealthResult::State::healthy, "exit 0");
  };
  // Evaluated healthy while baking; baked since: in flight until a step moves it on, never "settled".
  Rollout::Options early = step;
  early.now = Time::from_ms(kT0 + 5 * kMin);
  auto waiting = rollout.step("web", early);
  REQUIRE(waiting);
  CHECK(waiting->actions.empty());
  CHECK(waiting->stages[0].state == "baking");
  CHECK(has(render_rollout_human(*waiting, kT0 + 5 * kMin), "    baking: bake 7m left\n"
                                                            "    next step at 2026-12-01T00:12:00Z (in 7m)\n"));
  st = store->status("web", kT0 + 12 * kMin + 30'000);
  if (!st) FAIL(st.error().to_string());
  REQUIRE(st->rollout);
  human = render_status_human(*st, kT0 + 12 * kMin + 30'000);
  CHECK(has(human, "    baking: baked and healthy as last evaluated: the next step evaluates it again and moves it on\n"
                   "    check errors: healthy, value 1, at 2026-12-01T00:05:00Z (7m30s ago), healthy since "
                   "2026-12-01T00:05:00Z: exit 0\n"));
  CHECK(has(render_metrics({*st}, kT0 + 12 * kMin + 30'000), "invar_stage_in_flight{stream=\"web\",stage=\"canary\"} 1\n"));

  auto promoted = rollout.step("web", step);
  REQUIRE(promoted);
  REQUIRE(promoted->actions.size() == 1);
  std::string shown = render_rollout_human(*promoted, kT0 + 13 * kMin);
  CHECK(has(shown, "  promoted " + second.substr(0, 19) + " from canary to region-1\n"));
  require_schema(render_rollout_json(*promoted, kT0 + 13 * kMin));

  // The check in region-1 fails: the artifact is taken back from every stage, the stream halts.
  step.now = Time::from_ms(kT0 + 20 * kMin);
  step.evaluate = [](const HealthCheck& c, const HealthContext&) {
    return answer(c, HealthResult::State::unhealthy, "exit 1: p99 \x1b[2J 900ms");
  };
  auto reverted = rollout.step("web", step);
  REQUIRE(reverted);
  REQUIRE(reverted->halted);
  shown = render_rollout_human(*reverted, kT0 + 20 * kMin);
  INFO(shown);
  CHECK(has(shown, "  reverted " + second.substr(0, 19)));
  CHECK(has(shown, "  HALTED since 2026-12-01T00:20:00Z (0ms ago) by rollout in stage region-1: reverted " +
                       second.substr(0, 19)));
  CHECK_FALSE(has(shown, "\x1b"));
  require_schema(render_rollout_json(*reverted, kT0 + 20 * kMin));

  Rollout::Options freeze;
  freeze.now = Time::from_ms(kT0 + 21 * kMin);
  freeze.by = "alice";
  freeze.reason = "investigating";
  REQUIRE(rollout.freeze("web", 0, freeze));

  int64_t now = kT0 + 22 * kMin;
  st = store->status("web", now);
  REQUIRE(st);
  REQUIRE(st->rollout);
  CHECK(st->reverts_total == 1);
  human = render_status_human(*st, now);
  CHECK(has(human, "  HALTED since 2026-12-01T00:20:00Z (2m ago) by rollout in stage region-1"));
  CHECK(has(human, "  FROZEN (this stream) by alice since 2026-12-01T00:21:00Z until thawed: investigating"));
  CHECK(has(human, "  vetoed (refused by gates, never promoted): " + second.substr(0, 19)));

  std::string status_json = render_status_json({*st, *plain}, {}, now);
  json parsed = json::parse(status_json);
  CHECK(parsed["streams"][1]["rollout"].is_null());
  require_schema(parsed["streams"][0]["rollout"].dump());
  CHECK(parsed["streams"][0]["rollout"]["frozen"]["active"] == true);
  CHECK(parsed["streams"][0]["rollout"]["halted"]["stage"] == "region-1");

  // History: each rollout event readable.
  auto records = store->history("web");
  REQUIRE(records);
  std::string history = render_history_human(*records, 100);
  INFO(history);
  CHECK(has(history, "2026-12-01T00:13:00Z  promote " + second.substr(0, 19) + " to region-1\n"));
  CHECK(has(history, "2026-12-01T00:20:00Z  revert  " + second.substr(0, 19) +
                         "  (health check \"latency\" in stage \"region-1\" failed: exit 1: p99 \\x1b[2J 900ms"));
  CHECK(has(history, "2026-12-01T00:21:00Z  freeze  frozen by alice: investigating\n"));
  CHECK_FALSE(has(history, "\x1b"));

  // Metrics: stages, halt, freeze, reverts; promtool accepts them.
  std::string metrics = render_metrics({*st, *plain}, now);
  INFO(metrics);
  CHECK(has(metrics, "invar_stream_halted{stream=\"web\"} 1\n"));
  CHECK(has(metrics, "invar_stream_halted{stream=\"plain\"} 0\n"));
  CHECK(has(metrics, "invar_stream_frozen{stream=\"web\"} 1\n"));
  CHECK(has(metrics, "invar_stream_frozen{stream=\"plain\"} 0\n"));
  CHECK(has(metrics, "invar_rollout_reverts_total{stream=\"web\"} 1\n"));
  CHECK(has(metrics, "invar_rollout_reverts_total{stream=\"plain\"} 0\n"));
  CHECK(has(metrics, "invar_stage_in_flight{stream=\"web\",stage=\"canary\"} 0\n"));
  CHECK(has(metrics, "invar_stage_seconds{stream=\"web\",stage=\"canary\"} 120\n"));  // the new LKG since the revert
  CHECK(has(metrics, "invar_stage_seconds{stream=\"web\",stage=\"global\"} 1320\n"));
  CHECK(has(metrics, "invar_stage_lkg_sequence{stream=\"web\",stage=\"region-1\"}"));
  CHECK_FALSE(has(metrics, "stream=\"plain\",stage="));
  std::string path = tmp / "rollout.prom";
  test::spit(path, metrics);
  test::require_promtool_accepts(path);
}

TEST_CASE("history: rollout events read as what happened, escaped", "[rollout-render]") {
  auto record = [](const char* event, const std::string& candidate, const std::string& stage, const std::string& detail) {
    JournalRecord r = gate::journal_record(event, "web", kT0);
    r.candidate = candidate;
    r.stage = stage;
    r.detail = detail;
    return r;
  };
  std::vector<JournalRecord> records = {
      record("rollout", "", "", "stages set to canary -> global (rollout web, sha256:0123; were (none)) by alice: go"),
      record("promote", kDigestB, "global",
             "promoted sha256:bbbbbbbbbbbb from canary to global; promoted sha256:cccccccccccc from a to b"),
      record("veto", kDigestB, "", "vetoed by bob: bad\x1b[0m; reverted: canary -> sha256:aaaaaaaaaaaa"),
      record("resume", kDigestB, "", "resumed by bob: fixed"),
      record("freeze", "", "", "frozen by carol: holidays"),
      record("thaw", "", "", "thawed by carol: back"),
  };
  std::string h = render_history_human(records, 100);
  CHECK(h == "2026-12-01T00:00:00Z  thaw    thawed by carol: back\n"
             "2026-12-01T00:00:00Z  freeze  frozen by carol: holidays\n"
             "2026-12-01T00:00:00Z  resume  sha256:bbbbbbbbbbbb  (resumed by bob: fixed)\n"
             "2026-12-01T00:00:00Z  veto    sha256:bbbbbbbbbbbb  (vetoed by bob: bad\\x1b[0m; reverted: canary -> "
             "sha256:aaaaaaaaaaaa)\n"
             "2026-12-01T00:00:00Z  promote sha256:bbbbbbbbbbbb to global  (also: promoted sha256:cccccccccccc from a "
             "to b)\n"
             "2026-12-01T00:00:00Z  rollout  stages set to canary -> global (rollout web, sha256:0123; were (none)) by "
             "alice: go\n");
}
