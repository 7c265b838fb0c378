// Staged rollouts end to end: the CLI, Debian's Prometheus scraping an
// exporter the test controls, watchers of each stage. Clocks are injected
// (--now); only Prometheus's own scrapes are waited for (bounded).
#include <catch2/catch.hpp>

#include <signal.h>

#include <nlohmann/json.hpp>
#include <string>

#include "gate_fixture.hpp"
#include "common/digest.hpp"
#include "common/text.hpp"
#include "process.hpp"
#include "prometheus.hpp"

using nlohmann::json;
using test::contains;

namespace {

// No bound on the feature count: the gap that let the 2025 file through.
const char* kContract = R"j({"contract": "features", "invariants": [
  {"id": "gen", "monotonic": "$.generation"},
  {"id": "features", "count": "$.features[*]", "min": 1}]})j";

constexpr int64_t kT0 = 1'800'000'000'000;
constexpr int64_t kMinute = 60'000;

std::string at(int64_t ms) { return invar::text::format_rfc3339(ms); }

struct Stream {
  test::TempDir tmp;
  std::string contract = tmp / "features.contract.json";
  std::string rollout = tmp / "features.rollout.json";
  std::string state = tmp / "state";
  std::string out = tmp / "published.json";

  Stream(const std::string& prometheus_url, const std::string& unknown_limit = "10m") {
    test::spit(contract, kContract);
    test::spit(rollout, R"j({"rollout": "features", "unknown_limit": ")j" + unknown_limit + R"j(", "stages": [
      {"name": "canary", "bake": "10m", "health": [{"id": "errors", "prometheus": {"url": ")j" + prometheus_url +
                            R"j(", "query": "max(proxy_errors{stage=\"$stage\"})", "max": 0.5}}]},
      {"name": "region-1", "bake": "30m"},
      {"name": "global"}]})j");
    auto r = test::invar({"init", "--state", state, "--stream", "features", "--contract", contract, "--by", "test",
                          "--rollout", rollout, artifact(1), "--reason", "in service", "--now", at(kT0 - 60 * kMinute)});
    INFO(r.out);
    REQUIRE(r.exit == 0);
  }

  std::string artifact(int generation, int features = 2) {
    std::string path = tmp / ("g" + std::to_string(generation) + "-" + std::to_string(features) + ".json");
    std::string list;
    for (int i = 0; i < features; ++i) list += (i ? "," : "") + std::to_string(i);
    test::spit(path, "{\"generation\": " + std::to_string(generation) + ", \"features\": [" + list + "]}\n");
    return path;
  }

  test::Run gate(const std::string& file, int64_t ms) {
    return test::invar({"gate", "--contract", contract, "--stream", "features", "--state", state, "--out", out, "--now",
                        at(ms), file});
  }

  test::Run step(int64_t ms) {
    return test::invar({"rollout", "--state", state, "--stream", "features", "--now", at(ms), "--format", "json"});
  }

  json status() {
    auto r = test::invar({"status", "--state", state, "features", "--format", "json", "--now", at(kT0)});
    INFO(r.out);
    auto stream = json::parse(r.out)["streams"][0];
    REQUIRE(r.exit == test::status_exit(stream));
    return stream;
  }

  // What each stage holds, by name.
  std::map<std::string, std::string> holdings() {
    std::map<std::string, std::string> out;
    json now = status();
    for (const auto& s : now["rollout"]["stages"]) out[s["name"]] = s["lkg"].is_null() ? "" : s["lkg"]["digest"];
    return out;
  }

  std::string served(const std::string& stage) {
    std::string file = tmp / ("served-" + stage + ".json");
    auto r = test::invar({"watch", "--state", state, "--stream", "features", "--stage", stage, "--out", file, "--once"});
    INFO(r.out);
    REQUIRE(r.exit == 0);
    return test::slurp(file);
  }
};

std::string digest_of_file(const std::string& path) { return invar::digest::sha256(test::slurp(path)); }

}  // namespace

TEST_CASE("rollout e2e: the 2025 feature file is contained in canary by its error rate", "[rollout][e2e]") {
  test::TestExporter exporter;
  exporter.set("proxy_errors{stage=\"canary\"}", 0);
  exporter.set("proxy_errors{stage=\"region-1\"}", 0);
  auto prometheus = test::PrometheusServer::start_or_skip(exporter.port());
  if (!prometheus) return;
  REQUIRE(prometheus->wait_for_value("max(proxy_errors{stage=\"canary\"})", 0));
  Stream s(prometheus->url());
  const std::string good = s.artifact(1), doubled = s.artifact(2, 400);

  auto admitted = s.gate(doubled, kT0);  // nothing in the contract bounds the count
  INFO(admitted.out);
  REQUIRE(admitted.exit == 0);
  CHECK(s.served("canary") == test::slurp(doubled));
  CHECK(s.served("region-1") == test::slurp(good));

  auto healthy = s.step(kT0 + kMinute);
  INFO(healthy.out);
  REQUIRE(healthy.exit == 0);
  json report = json::parse(healthy.out);
  CHECK(report["stages"][0]["state"] == "baking");
  CHECK(report["stages"][0]["health"][0]["state"] == "healthy");

  exporter.set("proxy_errors{stage=\"canary\"}", 0.73);  // the proxies of the canary ring start failing
  REQUIRE(prometheus->wait_for_value("max(proxy_errors{stage=\"canary\"})", 0.73));
  auto reverted = s.step(kT0 + 2 * kMinute);
  INFO(reverted.out);
  CHECK(reverted.exit == 1);
  report = json::parse(reverted.out);
  REQUIRE(report["actions"].size() == 1);
  CHECK(contains(report["actions"][0], "reverted " + digest_of_file(doubled).substr(0, 19)));
  CHECK(contains(report["actions"][0], "0.73"));
  CHECK(report["halted"]["digest"] == digest_of_file(doubled));

  // region-1 and global never received it; canary is back on the good file.
  CHECK(s.holdings() == std::map<std::string, std::string>{{"canary", digest_of_file(good)},
                                                           {"region-1", digest_of_file(good)},
                                                           {"global", digest_of_file(good)}});
  CHECK(s.served("canary") == test::slurp(good));
  auto history = test::invar({"history", "--state", s.state, "features", "--format", "json"});
  CHECK_FALSE(contains(history.out, "\"event\": \"promote\""));
  // Quarantined with the metric's value as evidence.
  json status = s.status();
  REQUIRE(status["quarantine"].size() == 1);
  CHECK(status["quarantine"][0]["digest"] == digest_of_file(doubled));
  CHECK(status["quarantine"][0]["verdict"] == "revert");
  auto shown = test::invar({"show", "--state", s.state, "--stream", "features", digest_of_file(doubled)});
  CHECK(shown.out == test::slurp(doubled));
  // Halted until resumed: a good candidate pins, a step holds.
  exporter.set("proxy_errors{stage=\"canary\"}", 0);
  auto pinned = s.gate(s.artifact(3), kT0 + 3 * kMinute);
  CHECK(pinned.exit == 2);
  CHECK(contains(pinned.out, "halted"));
  CHECK(s.step(kT0 + 4 * kMinute).exit == 0);
  auto resumed = test::invar({"resume", "--state", s.state, "--stream", "features", "--reason", "bound added",
                              "--by", "oncall", "--now", at(kT0 + 5 * kMinute)});
  INFO(resumed.out);
  REQUIRE(resumed.exit == 0);
  CHECK(s.gate(doubled, kT0 + 6 * kMinute).exit == 2);  // refused by digest
  CHECK(s.gate(s.artifact(3), kT0 + 6 * kMinute).exit == 0);
}

TEST_CASE("rollout e2e: unknown health holds, an empty result holds, and a stopped Prometheus reverts after the limit",
          "[rollout][e2e]") {
  test::TestExporter exporter;
  exporter.set("proxy_errors{stage=\"region-1\"}", 0);  // nothing for canary yet: an empty result
  auto prometheus = test::PrometheusServer::start_or_skip(exporter.port());
  if (!prometheus) return;
  REQUIRE(prometheus->wait_for_value("max(proxy_errors{stage=\"region-1\"})", 0));
  Stream s(prometheus->url(), "20m");
  const std::string good = s.artifact(1), next = s.artifact(2);
  REQUIRE(s.gate(next, kT0).exit == 0);

  auto empty = s.step(kT0 + 15 * kMinute);  // baked, but the query returns nothing: holds
  INFO(empty.out);
  REQUIRE(empty.exit == 0);
  json report = json::parse(empty.out);
  CHECK(report["actions"].empty());
  CHECK(report["stages"][0]["state"] == "holding");
  CHECK(report["stages"][0]["health"][0]["state"] == "unknown");
  CHECK(s.holdings()["region-1"] == digest_of_file(good));

  exporter.set("proxy_errors{stage=\"canary\"}", 0);
  REQUIRE(prometheus->wait_for_value("max(proxy_errors{stage=\"canary\"})", 0));
  prometheus.reset();  // Prometheus stops mid-rollout
  auto unreachable = s.step(kT0 + 16 * kMinute);
  INFO(unreachable.out);
  REQUIRE(unreachable.exit == 0);
  report = json::parse(unreachable.out);
  CHECK(report["actions"].empty());
  CHECK(report["stages"][0]["health"][0]["state"] == "unknown");
  CHECK(s.holdings()["region-1"] == digest_of_file(good));

  auto reverted = s.step(kT0 + 35 * kMinute);  // unknown since 15m: the 20m limit is reached
  INFO(reverted.out);
  CHECK(reverted.exit == 1);
  report = json::parse(reverted.out);
  REQUIRE(report["actions"].size() == 1);
  CHECK(contains(report["actions"][0], "could not be evaluated for 20m"));
  CHECK(s.holdings()["canary"] == digest_of_file(good));
}

TEST_CASE("rollout e2e: bake time on the CLI clock, one stage per step, and a freeze of every stream",
          "[rollout][e2e]") {
  test::TestExporter exporter;
  exporter.set("proxy_errors{stage=\"canary\"}", 0);
  auto prometheus = test::PrometheusServer::start_or_skip(exporter.port());
  if (!prometheus) return;
  REQUIRE(prometheus->wait_for_value("max(proxy_errors{stage=\"canary\"})", 0));
  Stream s(prometheus->url());
  const std::string next = s.artifact(2);
  REQUIRE(s.gate(next, kT0).exit == 0);
  CHECK(json::parse(s.step(kT0 + 9 * kMinute).out)["actions"].empty());  // 1m of bake left
  auto promoted = json::parse(s.step(kT0 + 10 * kMinute).out);
  REQUIRE(promoted["actions"].size() == 1);
  CHECK(contains(promoted["actions"][0], "from canary to region-1"));
  CHECK(s.served("region-1") == test::slurp(next));
  CHECK(s.served("global") != test::slurp(next));

  auto frozen = test::invar({"freeze", "--state", s.state, "--all", "--reason", "incident 42", "--by", "oncall", "--now",
                             at(kT0 + 11 * kMinute)});
  INFO(frozen.out);
  REQUIRE(frozen.exit == 0);
  auto held = json::parse(s.step(kT0 + 60 * kMinute).out);
  CHECK(held["actions"].empty());
  CHECK(contains(held["stopped"], "every stream is frozen"));
  CHECK(s.gate(s.artifact(3), kT0 + 61 * kMinute).exit == 2);
  CHECK(s.status()["rollout"]["location_frozen"]["reason"] == "incident 42");
  auto metrics = test::invar({"status", "--state", s.state, "--metrics", s.tmp / "m.prom", "--now", at(kT0)});
  CHECK(contains(test::slurp(s.tmp / "m.prom"), "invar_stream_frozen{stream=\"features\"} 1"));
  REQUIRE(test::invar({"thaw", "--state", s.state, "--all", "--reason", "over", "--by", "oncall"}).exit == 0);
  auto moved = json::parse(s.step(kT0 + 62 * kMinute).out);
  REQUIRE(moved["actions"].size() == 1);
  CHECK(contains(moved["actions"][0], "from region-1 to global"));
  CHECK(test::invar({"freeze", "--state", s.state, "--reason", "x", "--by", "o"}).exit == 3);  // neither --stream nor --all
  // A follower whose last step could not run ends with 3.
  auto lost = test::invar({"rollout", "--state", s.state, "--stream", "nope", "--follow", "--interval", "10ms",
                           "--steps", "2"});
  CHECK(lost.exit == 3);
  CHECK(contains(lost.out, "(retrying)"));
}

#ifdef INVAR_TEST_FAULTS
TEST_CASE("rollout e2e: a veto cut short on the directory leaves the LKG vetoed, refused until a step finishes it",
          "[rollout][e2e]") {
  test::TempDir tmp;
  const std::string contract = tmp / "c.json", rollout = tmp / "r.json", state = tmp / "state", out = tmp / "out.json";
  test::spit(contract, kContract);
  test::spit(rollout, R"({"rollout": "r", "stages": [{"name": "canary"}, {"name": "global"}]})");
  auto file = [&](int generation) {
    std::string path = tmp / ("g" + std::to_string(generation) + ".json");
    test::spit(path, "{\"generation\": " + std::to_string(generation) + ", \"features\": [1]}");
    return path;
  };
  REQUIRE(test::invar({"init", "--state", state, "--stream", "s", "--contract", contract, "--by", "t", "--rollout",
                       rollout, file(1), "--reason", "seed"}).exit == 0);
  auto gate = [&](int generation) {
    return test::invar({"gate", "--contract", contract, "--stream", "s", "--state", state, "--out", out, file(generation)});
  };
  REQUIRE(gate(2).exit == 0);
  REQUIRE(test::invar({"rollout", "--state", state, "--stream", "s"}).exit == 0);  // 2 in both stages
  const std::string bad = invar::digest::sha256(test::slurp(file(2)));
  // Killed after the rollout record (both stages back on 1, 2 vetoed), before the LKG.
  auto cut = test::invar({"veto", "--state", state, "--stream", "s", bad, "--reason", "crash", "--by", "oncall"},
                         {"INVAR_FAULT=rollout:renamed"});
  REQUIRE(cut.signal == SIGKILL);
  auto refused = gate(3);
  CHECK(refused.exit == 3);
  CHECK(contains(refused.out, "was vetoed and its revert did not finish"));
  auto canary = test::invar({"watch", "--state", state, "--stream", "s", "--stage", "canary", "--out", tmp / "c.out",
                             "--once"});
  CHECK(canary.exit == 3);  // the vetoed bytes are never served
  auto finished = test::invar({"rollout", "--state", state, "--stream", "s"});
  INFO(finished.out);
  CHECK(finished.exit == 1);  // it reverted the first stage
  CHECK(test::invar({"watch", "--state", state, "--stream", "s", "--stage", "canary", "--out", tmp / "c.out",
                     "--once"}).exit == 0);
  CHECK(test::slurp(tmp / "c.out") == test::slurp(file(1)));
  CHECK(gate(2).exit == 2);  // vetoed, and the stream is halted
}
#endif
