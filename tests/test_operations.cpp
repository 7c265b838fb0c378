// The gate's operational edges (issue 12): evidence kept in a quarantine and
// retrieved with `invar show`, and metrics for monitoring, validated by
// Prometheus's own promtool.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "gate_fixture.hpp"
#include "process.hpp"
#include "promtool.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using test::Fixture;
using test::contains;

namespace {

// Regular files in `dir`.
size_t files_in(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) n += e.is_regular_file();
  return n;
}

std::string digest_of(const std::string& gate_json) { return json::parse(gate_json)["candidate"]; }


// The value of the sample `name{labels}` in a metrics file ("" when absent).
std::string sample(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  size_t start = at + series.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

}  // namespace

TEST_CASE("12.3 quarantine: the last N rejected candidates are kept, listed and retrievable", "[operations][gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  std::vector<std::string> bad;  // three distinct rejected candidates (no items)
  for (int g = 2; g <= 4; ++g) {
    auto r = f.gate(f.artifact(g, 0), {"--quarantine", "2", "--format", "json"});
    INFO(r.out);
    REQUIRE(r.exit == 2);
    REQUIRE(json::parse(r.out)["quarantined"] == true);
    bad.push_back(digest_of(r.out));
  }
  // Only the newest two are kept, on disk and in the status.
  CHECK(files_in(f.stream_file("quarantine")) == 2);
  auto quarantine = f.status()["quarantine"];
  REQUIRE(quarantine.size() == 2);
  CHECK(quarantine[0]["digest"] == bad[1]);
  CHECK(quarantine[1]["digest"] == bad[2]);
  CHECK(quarantine[1]["verdict"] == "pin");
  CHECK(quarantine[1]["failed"] == json::array({"items"}));
  // History marks the decisions whose candidate can still be retrieved.
  auto journal = f.journal();
  REQUIRE(journal.size() == 4);
  CHECK_FALSE(journal[1].contains("quarantined"));
  CHECK(journal[2]["quarantined"] == true);
  CHECK(journal[3]["quarantined"] == true);
  auto human = test::invar({"history", "--state", f.state, "s"});
  auto size = [&](int g) { return "  " + std::to_string(test::slurp(f.artifact(g, 0)).size()) + " bytes\n"; };
  CHECK(contains(human.out, bad[2].substr(0, 19) + "  generation 4  failed: items  [quarantined]" + size(4)));
  CHECK(contains(human.out, bad[0].substr(0, 19) + "  generation 2  failed: items" + size(2)));
  // `show` prints the bytes exactly, by full digest or by a prefix.
  auto shown = test::invar({"show", "--state", f.state, "--stream", "s", bad[2]});
  CHECK(shown.exit == 0);
  CHECK(shown.out == test::slurp(f.artifact(4, 0)));
  shown = test::invar({"show", "--state", f.state, "--stream", "s", bad[1].substr(7, 12)});
  CHECK(shown.exit == 0);
  CHECK(shown.out == test::slurp(f.artifact(3, 0)));
  // ... and the LKG too; the oldest rejected one is gone.
  CHECK(test::invar({"show", "--state", f.state, "--stream", "s", f.status()["lkg"]["digest"]}).out ==
        test::slurp(f.artifact(1)));
  auto gone = test::invar({"show", "--state", f.state, "--stream", "s", bad[0]});
  CHECK(gone.exit == 3);
  CHECK(contains(gone.out, "stream \"s\" keeps no artifact " + bad[0]));
}

TEST_CASE("12.3 quarantine: the same bytes rejected again are kept once, 0 keeps nothing", "[operations][gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  REQUIRE(f.gate(f.artifact(2, 0)).exit == 2);
  REQUIRE(f.gate(f.artifact(2, 0)).exit == 2);
  CHECK(f.status()["quarantine"].size() == 1);
  auto r = f.gate(f.artifact(3, 0), {"--quarantine", "0", "--format", "json"});
  REQUIRE(r.exit == 2);
  CHECK(json::parse(r.out)["quarantined"] == false);
  CHECK(f.status()["quarantine"].size() == 1);  // what was kept stays
  CHECK(files_in(f.stream_file("quarantine")) == 1);
  // A stream with no LKG rejects, and keeps the evidence too.
  Fixture g;
  REQUIRE(g.gate(g.artifact(1, 0)).exit == 1);
  CHECK(g.status()["quarantine"].size() == 1);
  CHECK(g.gate(g.artifact(1), {"--quarantine", "1001"}).exit == 3);
}

TEST_CASE("12.3 quarantine: a quarantine that cannot be written loses no decision", "[operations][gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  // Something that is not a directory where the quarantine goes.
  test::spit(f.stream_file("quarantine"), "not a directory");
  auto r = f.gate(f.artifact(2, 0));
  INFO(r.out);
  CHECK(r.exit == 2);  // the pin stands, and the LKG was published
  CHECK(contains(r.out, "warning: the rejected candidate could not be quarantined"));
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  CHECK(f.journal().back()["verdict"] == "pin");
}

TEST_CASE("12.3 show: bad digests, unknown streams and locations are exit 3 with a reason", "[operations]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  auto show = [&](const std::string& state, const std::string& stream, const std::string& digest) {
    return test::invar({"show", "--state", state, "--stream", stream, digest});
  };
  auto r = show(f.state, "s", "xyz");
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "\"xyz\" is not a digest: give sha256:HEX or at least 8 of its lowercase hex digits"));
  CHECK(show(f.state, "s", "0123").exit == 3);  // too short to name one artifact
  r = show(f.state, "nope", "01234567");
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "stream \"nope\" does not exist"));
  r = show(f.tmp / "missing", "s", "01234567");
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "there is no invar state at this location"));
  CHECK(test::invar({"show", "--state", f.state, "--stream", "s"}).exit == 3);  // no digest
}

TEST_CASE("12.5 metrics: a gate writes Prometheus metrics promtool accepts, counters that survive rotation",
          "[operations][metrics]") {
  Fixture f;
  std::string metrics = f.tmp / "invar-s.prom";
  const std::vector<std::string> flags = {"--metrics", metrics, "--journal-rotate", "600B"};
  auto at = [](const char* time) { return std::vector<std::string>{"--now", time}; };
  auto gate = [&](const std::string& artifact, const char* time) {
    auto extra = flags;
    for (const auto& a : at(time)) extra.push_back(a);
    return f.gate(artifact, extra);
  };
  REQUIRE(gate(f.artifact(1, 3), "2026-01-01T00:00:00Z").exit == 0);
  REQUIRE(gate(f.artifact(2, 0), "2026-01-01T00:01:00Z").exit == 2);
  REQUIRE(gate(f.artifact(3, 0), "2026-01-01T00:02:00Z").exit == 2);
  REQUIRE(gate(f.artifact(4, 5), "2026-01-01T00:10:00Z").exit == 0);
  REQUIRE(gate(f.artifact(4, 5), "2026-01-01T00:11:00Z").exit == 0);  // unchanged
  REQUIRE(gate(f.artifact(5, 0), "2026-01-01T00:12:00Z").exit == 2);
  REQUIRE(fs::exists(f.stream_file("journal.1.jsonl")));  // the journal was rotated meanwhile
  std::string text = test::slurp(metrics);
  test::require_promtool_accepts(metrics);
  CHECK(sample(text, "invar_decisions_total{stream=\"s\",verdict=\"accept\"}") == "2");
  CHECK(sample(text, "invar_decisions_total{stream=\"s\",verdict=\"pin\"}") == "3");
  CHECK(sample(text, "invar_decisions_total{stream=\"s\",verdict=\"unchanged\"}") == "1");
  CHECK(sample(text, "invar_decisions_total{stream=\"s\",verdict=\"reject\"}") == "0");
  CHECK(sample(text, "invar_lkg_sequence{stream=\"s\"}") == "2");
  CHECK(sample(text, "invar_lkg_age_seconds{stream=\"s\"}") == "120");
  CHECK(sample(text, "invar_pinned{stream=\"s\"}") == "1");
  CHECK(sample(text, "invar_pinned_seconds{stream=\"s\"}") == "0");
  CHECK(sample(text, "invar_last_decision_timestamp_seconds{stream=\"s\"}") == "1767226320");
  CHECK(sample(text, "invar_invariant_violations{stream=\"s\",invariant=\"items\",kind=\"count\"}") == "1");
  CHECK(sample(text, "invar_measure{stream=\"s\",invariant=\"items\",kind=\"count\",measure=\"count\"}") == "0");
  CHECK(sample(text, "invar_measure{stream=\"s\",invariant=\"gen\",kind=\"monotonic\",measure=\"value\"}") == "5");
  CHECK(contains(text, "\ninvar_check_duration_seconds{stream=\"s\"} "));

  // status: every stream, from the state alone.
  std::string all = f.tmp / "all.prom";
  auto st = test::invar({"status", "--state", f.state, "--metrics", all, "--now", "2026-01-01T01:12:00Z"});
  INFO(st.out);
  REQUIRE(st.exit == 2);  // pinned
  test::require_promtool_accepts(all);
  std::string status_text = test::slurp(all);
  CHECK(sample(status_text, "invar_pinned_seconds{stream=\"s\"}") == "3600");
  CHECK(sample(status_text, "invar_decisions_total{stream=\"s\",verdict=\"pin\"}") == "3");
  CHECK(sample(status_text, "invar_quarantined_candidates{stream=\"s\"}") == "3");
}

TEST_CASE("12.5 metrics: a delta invariant exports the LKG's measure and the change ratio", "[operations][metrics]") {
  Fixture f;
  test::spit(f.contract, R"j({"contract": "growth", "invariants": [
    {"id": "gen", "monotonic": "$.generation", "strict": true},
    {"id": "growth", "delta": "count($.items[*])", "max_increase": "50%"},
    {"id": "age", "freshness": "$.at", "max_age": "1h"}]})j");
  test::spit(f.tmp / "a.json", R"({"generation": 1, "at": "2026-01-01T00:00:00Z", "items": [1, 2, 3, 4]})");
  test::spit(f.tmp / "b.json", R"({"generation": 2, "at": "2026-01-01T00:00:00Z", "items": [1, 2, 3, 4, 5]})");
  std::string metrics = f.tmp / "m.prom";
  REQUIRE(f.gate(f.tmp / "a.json", {"--now", "2026-01-01T00:00:30Z"}).exit == 0);
  REQUIRE(f.gate(f.tmp / "b.json", {"--now", "2026-01-01T00:05:00Z", "--metrics", metrics}).exit == 0);
  test::require_promtool_accepts(metrics);
  std::string text = test::slurp(metrics);
  CHECK(sample(text, "invar_measure{stream=\"s\",invariant=\"growth\",kind=\"delta\",measure=\"count\"}") == "5");
  CHECK(sample(text, "invar_measure_baseline{stream=\"s\",invariant=\"growth\",kind=\"delta\",measure=\"count\"}") ==
        "4");
  CHECK(sample(text, "invar_measure_change_ratio{stream=\"s\",invariant=\"growth\",kind=\"delta\",measure=\"count\"}") ==
        "0.25");
  CHECK(sample(text, "invar_measure{stream=\"s\",invariant=\"age\",kind=\"freshness\",measure=\"age_seconds\"}") ==
        "300");
}

TEST_CASE("12.5 metrics: a metrics file that cannot be written is a warning, the decision stands",
          "[operations][metrics]") {
  Fixture f;
  auto r = f.gate(f.artifact(1), {"--metrics", f.tmp / "no-such-dir/m.prom"});
  INFO(r.out);
  CHECK(r.exit == 0);
  CHECK(contains(r.out, "invar: warning: the metrics were not written: "));
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  CHECK(f.status()["lkg"]["sequence"] == 1);
  r = f.gate(f.artifact(2, 0), {"--metrics", f.tmp.path.string()});  // a directory
  CHECK(r.exit == 2);
  CHECK(contains(r.out, "invar: warning: the metrics were not written: "));
  // A dry run takes no decision to describe.
  r = f.gate(f.artifact(3), {"--dry-run", "--metrics", f.tmp / "m.prom"});
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "--metrics describes decisions taken; a dry run takes none"));
  CHECK_FALSE(fs::exists(f.tmp / "m.prom"));
}

TEST_CASE("12.6 suggest: learned from a stream's history, the suggestion's backtest accepts all of it",
          "[operations][suggest]") {
  Fixture f;
  int items[] = {20, 22, 21, 24, 23, 25};
  for (int g = 1; g <= 6; ++g) {
    char now[32];
    std::snprintf(now, sizeof now, "2026-01-01T00:%02d:00Z", 5 * g);
    REQUIRE(f.gate(f.artifact(g, items[g - 1]), {"--now", now, "--keep", "50"}).exit == 0);
  }
  std::string suggested = f.tmp / "suggested.contract.json";
  auto r = test::invar({"suggest", "--state", f.state, "--stream", "s", "--name", "learned", "--out", suggested});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  CHECK(contains(r.out, "suggest: learned from 6 artifacts; replaying them through the suggestion accepts them all"));
  json contract = json::parse(test::slurp(suggested));
  CHECK(contract["contract"] == "learned");
  std::vector<std::string> ids;
  for (const auto& inv : contract["invariants"]) ids.push_back(inv["id"]);
  CHECK(ids == std::vector<std::string>{"items.count", "items.delta", "artifact.bytes.delta", "generation.monotonic",
                                        "items.unique", "items.churn"});
  auto backtest = test::invar({"backtest", "--state", f.state, "--stream", "s", "--contract", suggested});
  INFO(backtest.out);
  CHECK(backtest.exit == 0);
  CHECK(contains(backtest.out, "backtest: 6 stored accepted artifacts replayed through learned: 0 would flip"));
  // What it learned rejects a candidate twice the size it ever was.
  auto doubled = test::invar({"gate", "--contract", suggested, "--stream", "s", "--state", f.state, "--out", f.out,
                         "--contract-change", f.artifact(7, 50)});
  CHECK(doubled.exit == 2);
  CHECK(contains(doubled.out, "x items.count [count] at " + f.artifact(7, 50) + ":1:28 /items: count of $.items[*] is 50, over max 38 by 12"));
  CHECK(contains(doubled.out, "x items.delta [delta] at " + f.artifact(7, 50) + ":1:28 /items: count($.items[*]) grew from 25 to 50"));
  // JSON: proposals with their evidence, and the contract.
  auto j = test::invar({"suggest", "--state", f.state, "--stream", "s", "--format", "json"});
  REQUIRE(j.exit == 0);
  json doc = json::parse(j.out);
  CHECK(doc["samples"] == 6);
  CHECK(doc["proposals"][0]["evidence"].get<std::string>().rfind("count min 20, ", 0) == 0);
  CHECK(doc["contract"]["invariants"].size() == doc["proposals"].size());
}

TEST_CASE("12.6 suggest: an accept under a waiver is not learned from", "[operations][suggest]") {
  Fixture f;
  int items[] = {20, 22, 21};
  for (int g = 1; g <= 3; ++g) {
    char now[32];
    std::snprintf(now, sizeof now, "2026-01-01T00:%02d:00Z", 5 * g);
    REQUIRE(f.gate(f.artifact(g, items[g - 1]), {"--now", now, "--keep", "50"}).exit == 0);
  }
  // An older generation, twice the size, let through by a waiver of "gen".
  auto waived = f.gate(f.artifact(2, 44), {"--now", "2026-01-01T00:20:00Z", "--keep", "50", "--waive", "gen", "--reason",
                                           "a rollback on purpose", "--expires", "1h"});
  INFO(waived.out);
  REQUIRE(waived.exit == 0);
  auto r = test::invar({"suggest", "--state", f.state, "--stream", "s", "--format", "json"});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  json doc = json::parse(r.out.substr(r.out.find('{')));
  CHECK(doc["samples"] == 3);  // not 4: the waived accept is left out
  CHECK(doc["proposals"][0]["evidence"].get<std::string>().rfind("count min 20, p50 21, p90 22, max 22;", 0) == 0);
}

TEST_CASE("12.6 suggest: one artifact, no stream, no samples, both sources: exit 3 saying why", "[operations][suggest]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  auto r = test::invar({"suggest", "--state", f.state, "--stream", "s"});
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "suggest needs at least two readable artifacts to learn from (1 given)"));
  r = test::invar({"suggest", "--state", f.state, "--stream", "nope"});
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "stream \"nope\" does not exist"));
  r = test::invar({"suggest"});
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "suggest learns from a stream (--state DIR --stream S) or from sample files"));
  CHECK(test::invar({"suggest", "--state", f.state, "--stream", "s", f.artifact(1)}).exit == 3);
  CHECK(test::invar({"suggest", f.tmp / "missing.json", f.artifact(1)}).exit == 3);
  CHECK(test::invar({"suggest", "--headroom", "lots", f.artifact(1), f.artifact(2)}).exit == 3);
  CHECK(test::invar({"suggest", "--quantile", "0", f.artifact(1), f.artifact(2)}).exit == 3);
}

TEST_CASE("12.5 metrics: any invariant id is a valid label value (escaped)", "[operations][metrics]") {
  Fixture f;
  test::spit(f.contract, "{\"contract\": \"esc\", \"invariants\": [{\"id\": \"a\\\"b\\\\c\\nd\", \"count\": \"$.items[*]\", "
                         "\"max\": 0}]}");
  std::string metrics = f.tmp / "m.prom";
  REQUIRE(f.gate(f.artifact(1), {"--metrics", metrics}).exit == 1);
  test::require_promtool_accepts(metrics);
  CHECK(sample(test::slurp(metrics), "invar_invariant_violations{stream=\"s\",invariant=\"a\\\"b\\\\c\\nd\",kind=\"count\"}") ==
        "1");
}

TEST_CASE("13.3 status --repair: a torn journal line and orphaned objects are repaired and journaled",
          "[operations][gate]") {
  Fixture f;
  f.init();
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  std::string stream = f.state + "/streams/s";
  // What interrupted writers leave: half a journal line, an object no record names.
  {
    std::FILE* j = std::fopen((stream + "/journal.jsonl").c_str(), "a");
    REQUIRE(j);
    std::fputs("{\"format\": \"invar-jour", j);
    std::fclose(j);
  }
  std::string orphan = stream + "/objects/" + std::string(64, 'a') + ".json";
  test::spit(orphan, "{}");
  size_t objects = files_in(stream + "/objects");
  auto r = test::invar({"status", "--state", f.state, "s", "--repair"});
  INFO(r.out);
  CHECK(r.exit == 0);
  CHECK(contains(r.out, "invar: repaired s: an incomplete journal record (a write cut short by a full disk or a crash) was moved to "));
  CHECK(contains(r.out, "invar: repaired s: collected 1 stored object(s) outside the LKG and the retention list"));
  CHECK_FALSE(fs::exists(orphan));
  CHECK(files_in(stream + "/objects") == objects - 1);
  auto history = json::parse(test::invar({"history", "--state", f.state, "s", "--format", "json"}).out);
  int repairs = 0;
  for (const auto& rec : history["records"]) repairs += rec["event"] == "repair";
  CHECK(repairs == 2);
  // Nothing left to repair: nothing said, nothing journaled.
  auto again = test::invar({"status", "--state", f.state, "s", "--repair"});
  CHECK(again.exit == 0);
  CHECK_FALSE(contains(again.out, "repaired"));
  CHECK(test::invar({"status", "--state", f.state, "nope", "--repair"}).exit == 3);
}

namespace {

// `invar waive` on the fixture's stream at `now`, with `extra` arguments.
test::Run waive(Fixture& f, const std::string& now, std::vector<std::string> extra) {
  std::vector<std::string> args = {"waive", "--contract", f.contract, "--stream", "s", "--state", f.state, "--now", now,
                                   "--by", "oncall"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::invar(args);
}

json waivers_of(Fixture& f, const std::string& now) {
  auto r = test::invar({"waivers", "--state", f.state, "--stream", "s", "--now", now, "--format", "json"});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  return json::parse(r.out)["waivers"];
}

std::string active_metric(Fixture& f, const std::string& now) {
  std::string path = f.tmp / "waivers.prom";
  auto st = test::invar({"status", "--state", f.state, "--metrics", path, "--now", now});
  INFO(st.out);
  REQUIRE(st.exit == test::status_exit(f.status()));
  test::require_promtool_accepts(path);
  return sample(test::slurp(path), "invar_waivers_active{stream=\"s\"}");
}

}  // namespace

TEST_CASE("28.22 waivers: one scoped to a generation lets that rollback through once, never a delayed older plan",
          "[operations][gate][waivers]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1005), {"--now", "2026-01-01T00:00:00Z"}).exit == 0);
  auto w = waive(f, "2026-01-01T00:01:00Z",
                 {"gen", "--for-generation", "1003", "--reason", "rollback to 1003", "--expires", "1h", "--format", "json"});
  INFO(w.out);
  REQUIRE(w.exit == 0);
  json waiver = json::parse(w.out)["waiver"];
  CHECK(waiver["for_generation"] == "1003");
  CHECK(active_metric(f, "2026-01-01T00:01:30Z") == "1");
  // The delayed serial-1000 plan is not waived: the stale-plan race stays closed.
  auto stale = f.gate(f.artifact(1000), {"--now", "2026-01-01T00:02:00Z"});
  INFO(stale.out);
  CHECK(stale.exit == 2);
  CHECK(contains(stale.out, "x gen [monotonic]"));
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1005)));
  // The rollback is.
  auto rollback = f.gate(f.artifact(1003), {"--now", "2026-01-01T00:03:00Z", "--format", "json"});
  INFO(rollback.out);
  REQUIRE(rollback.exit == 0);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1003)));
  std::string used_by = json::parse(rollback.out)["candidate"];
  // Used once: another candidate of generation 1003, and the old plan again, are not waived.
  CHECK(f.gate(f.artifact(1003, 2), {"--now", "2026-01-01T00:04:00Z"}).exit == 2);
  CHECK(f.gate(f.artifact(1000), {"--now", "2026-01-01T00:05:00Z"}).exit == 2);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1003)));
  json listed = waivers_of(f, "2026-01-01T00:06:00Z");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["id"] == waiver["id"]);
  CHECK(listed[0]["state"] == "used");
  CHECK(listed[0]["used_by"] == used_by);
  CHECK(listed[0]["by"] == "oncall");
  CHECK(listed[0]["expires_at"] == "2026-01-01T01:01:00Z");
  CHECK(f.status()["waivers"].empty());
  CHECK(active_metric(f, "2026-01-01T00:06:00Z") == "0");
  auto human = test::invar({"waivers", "--state", f.state, "--stream", "s", "--now", "2026-01-01T00:06:00Z"});
  CHECK(contains(human.out, waiver["id"].get<std::string>() + "  used     gen for generation 1003 (once)"));
}

TEST_CASE("28.22 waivers: --for names one candidate by its digest or a prefix of one the stream keeps",
          "[operations][gate][waivers]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1005), {"--now", "2026-01-01T00:00:00Z"}).exit == 0);
  auto first = f.gate(f.artifact(1003), {"--now", "2026-01-01T00:01:00Z", "--format", "json"});
  REQUIRE(first.exit == 2);  // pinned, and quarantined
  std::string digest = digest_of(first.out);
  auto both = waive(f, "2026-01-01T00:02:00Z", {"gen", "--for", digest, "--for-generation", "1003", "--reason", "x",
                                                "--expires", "1h"});
  CHECK(both.exit == 3);
  CHECK(contains(both.out, "give --for DIGEST or --for-generation N, not both"));
  auto short_prefix = waive(f, "2026-01-01T00:02:00Z", {"gen", "--for", digest.substr(7, 8), "--reason", "x", "--expires", "1h"});
  CHECK(short_prefix.exit == 3);
  CHECK(contains(short_prefix.out, "give its 64 hex digits, or at least 12"));
  auto unknown = waive(f, "2026-01-01T00:02:00Z", {"gen", "--for", "0123456789ab", "--reason", "x", "--expires", "1h"});
  CHECK(unknown.exit == 3);
  CHECK(contains(unknown.out, "no candidate the stream keeps (LKG, retained, quarantined) starts with 0123456789ab"));
  CHECK(waivers_of(f, "2026-01-01T00:02:00Z").empty());  // nothing was recorded
  auto w = waive(f, "2026-01-01T00:02:00Z",
                 {"gen", "--for", digest.substr(7, 12), "--reason", "rollback", "--expires", "1h", "--format", "json"});
  INFO(w.out);
  REQUIRE(w.exit == 0);
  CHECK(json::parse(w.out)["waiver"]["for_candidate"] == digest);
  CHECK(f.gate(f.artifact(1000), {"--now", "2026-01-01T00:03:00Z"}).exit == 2);
  auto r = f.gate(f.artifact(1003), {"--now", "2026-01-01T00:04:00Z"});
  INFO(r.out);
  CHECK(r.exit == 0);
  CHECK(contains(r.out, "for this candidate, once"));
  CHECK(waivers_of(f, "2026-01-01T00:05:00Z")[0]["state"] == "used");
}

TEST_CASE("28.22 waivers: invar waive --revoke ends one, journaled, and the next gate is not waived",
          "[operations][gate][waivers]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1005), {"--now", "2026-01-01T00:00:00Z"}).exit == 0);
  auto w = waive(f, "2026-01-01T00:01:00Z", {"gen", "--reason", "freeze", "--expires", "2h", "--format", "json"});
  REQUIRE(w.exit == 0);
  std::string id = json::parse(w.out)["waiver"]["id"];
  CHECK(id.size() == 12);
  json listed = waivers_of(f, "2026-01-01T00:02:00Z");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["state"] == "active");
  CHECK(active_metric(f, "2026-01-01T00:02:00Z") == "1");
  auto nope = test::invar({"waive", "--state", f.state, "--stream", "s", "--revoke", "000000000000", "--reason", "done",
                           "--by", "oncall"});
  CHECK(nope.exit == 3);
  CHECK(contains(nope.out, "has no waiver \"000000000000\""));
  auto no_reason = test::invar({"waive", "--state", f.state, "--stream", "s", "--revoke", id, "--reason", " ", "--by", "oncall"});
  CHECK(no_reason.exit == 3);
  auto revoked = test::invar({"waive", "--state", f.state, "--stream", "s", "--revoke", id, "--reason", "freeze over",
                              "--by", "oncall", "--now", "2026-01-01T00:03:00Z"});
  INFO(revoked.out);
  REQUIRE(revoked.exit == 0);
  CHECK(contains(revoked.out, "revoked waiver " + id));
  CHECK(waivers_of(f, "2026-01-01T00:04:00Z").empty());
  CHECK(active_metric(f, "2026-01-01T00:04:00Z") == "0");
  CHECK(f.gate(f.artifact(1000), {"--now", "2026-01-01T00:05:00Z"}).exit == 2);
  auto h = test::invar({"history", "--state", f.state, "s"});
  CHECK(contains(h.out, "revoke  waiver " + id + " of gen: revoked by oncall: freeze over"));
}
#ifdef INVAR_TEST_FAULTS
TEST_CASE("28.14 metrics: a writer paused after its decision never moves a counter back", "[operations][metrics]") {
  Fixture f;
  std::string metrics = f.tmp / "invar-s.prom";
  auto gate = [&](int generation) { return f.gate(f.artifact(generation), {"--metrics", metrics}); };
  REQUIRE(gate(1).exit == 0);
  REQUIRE(gate(2).exit == 0);
  auto accepts = [&] { return sample(test::slurp(metrics), "invar_decisions_total{stream=\"s\",verdict=\"accept\"}"); };
  auto sequence = [&] { return sample(test::slurp(metrics), "invar_lkg_sequence{stream=\"s\"}"); };
  // Stops `args` (a gate, or status) after it has read or changed the state, before its metrics.
  auto stopped = [&](const std::vector<std::string>& args) {
    auto paused = test::invar_paused_at("metrics:locking", args);
    REQUIRE(paused.stopped);
    return std::pair<pid_t, int>{paused.pid, paused.out};
  };
  auto resume = [](std::pair<pid_t, int> p) {
    kill(p.first, SIGCONT);
    std::string out = test::read_all(p.second);
    int status = 0;
    waitpid(p.first, &status, 0);
    INFO(out);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // the decision stands
    CHECK(contains(out, "holds a later decision's"));
  };
  // A gate: its decision (accept 3) committed, its metrics not yet written.
  auto paused = stopped({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--out", f.out,
                         "--metrics", metrics, f.artifact(3)});
  REQUIRE(gate(4).exit == 0);  // accept 4, sequence 4
  CHECK(accepts() == "4");
  resume(paused);
  CHECK(accepts() == "4");  // invar 0.2 wrote 3: Prometheus read a counter reset
  CHECK(sequence() == "4");
  test::require_promtool_accepts(metrics);
  // status --metrics reads the state, then a gate decides before it writes.
  auto status = stopped({"status", "--state", f.state, "--metrics", metrics});
  REQUIRE(gate(5).exit == 0);
  resume(status);
  CHECK(accepts() == "5");
  CHECK(sequence() == "5");
  test::require_promtool_accepts(metrics);
}
#endif
