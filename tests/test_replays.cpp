// Incident replays (examples/replays/*.replay.json): each step runs
// `invar gate` (or `invar gate --waive`) and checks the exit code, the
// decision, the failed and waived invariants, flapping, and the bytes
// written to PUBLISH.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "gate_fixture.hpp"
#include "helpers.hpp"
#include "process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A DNS plan of records r<first>..r<last> (one target each), for churn replays.
std::string generate_plan(const json& g) {
  int first = g["first"], last = g["last"];
  int generation = g["generation"];
  std::string out = "{\"endpoint\": \"ddb.example.com\", \"generation\": " + std::to_string(generation) +
                    ", \"generated_at\": \"" + g["generated_at"].get<std::string>() +
                    "\", \"plans\": [{\"id\": \"plan-" + std::to_string(generation) + "\"}], \"records\": [\n";
  for (int i = first; i <= last; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "r%04d", i);
    out += std::string(i > first ? ",\n" : "") + "{\"name\": \"" + name + ".ddb.example.com\", \"type\": \"A\", " +
           "\"ttl\": 5, \"plan\": \"plan-" + std::to_string(generation) + "\", \"targets\": [\"10.0." +
           std::to_string(i / 256) + "." + std::to_string(i % 256) + "\"]}";
  }
  return out + "\n]}\n";
}

std::vector<std::string> strings(const json& j) {
  std::vector<std::string> out;
  for (const auto& s : j) out.push_back(s.get<std::string>());
  return out;
}

void replay(const fs::path& file) {
  INFO("replay " << file.filename().string());
  json spec = json::parse(test::slurp(file));
  fs::path dir = file.parent_path();
  test::TempDir tmp;
  std::string state = tmp / "state", out = tmp / "publish.json";
  std::string contract = (dir / spec["contract"].get<std::string>()).string();
  std::map<std::string, std::string> named;  // generated artifacts by name -> path
  auto artifact_path = [&](const std::string& ref) {
    return named.count(ref) ? named[ref] : (dir / ref).string();
  };
  size_t decisions = 0, waivers = 0;
  // Streams are created on purpose (invar init), then gated.
  auto init = test::invar({"init", "--contract", contract, "--stream", spec["stream"], "--state", state, "--by", "replay"});
  INFO(init.out);
  REQUIRE(init.exit == 0);
  for (size_t i = 0; i < spec["steps"].size(); ++i) {
    const json& step = spec["steps"][i];
    const json& expect = step["expect"];
    INFO("step " << i);
    std::string before = fs::exists(out) ? test::slurp(out) : "<absent>";
    test::Run r;
    if (step.contains("waive")) {
      const json& w = step["waive"];
      r = test::invar({"waive", "--contract", contract, "--stream", spec["stream"], "--state", state, "--now",
                       step["now"], "--reason", w["reason"], "--expires", w["expires"], w["id"]});
      waivers += r.exit == 0;
    } else {
      std::string path;
      if (step.contains("generate")) {
        path = tmp / (step["name"].get<std::string>() + ".json");
        test::spit(path, generate_plan(step["generate"]));
      } else {
        path = artifact_path(step["artifact"]);
      }
      if (step.contains("name")) named[step["name"]] = path;
      r = test::invar({"gate", "--contract", contract, "--stream", spec["stream"], "--state", state, "--out", out,
                       "--now", step["now"], "--format", "json", path});
      ++decisions;
    }
    INFO(r.out);
    REQUIRE(r.exit == expect["exit"].get<int>());
    if (expect.contains("message")) CHECK(r.out.find(expect["message"].get<std::string>()) != std::string::npos);
    if (expect.contains("decision")) {
      json d = json::parse(r.out);
      static auto decision_schema = invar::Contract::from_schema_file(test::source("schemas/decision.schema.json"));
      REQUIRE(decision_schema);
      auto valid = decision_schema->check(r.out);
      INFO(invar::render_human(valid));
      CHECK(valid.verdict == invar::Verdict::accept);
      CHECK(d["decision"] == expect["decision"]);
      std::vector<std::string> failed, waived;
      for (const auto& inv : d["report"]["invariants"]) {
        if (inv["outcome"] == "fail" && inv["severity"] == "error") failed.push_back(inv["id"]);
        if (inv["outcome"] == "waived") waived.push_back(inv["id"]);
      }
      if (expect.contains("failed")) CHECK(failed == strings(expect["failed"]));
      if (expect.contains("waived")) CHECK(waived == strings(expect["waived"]));
      if (expect.contains("flapping")) CHECK(d["flapping"] == expect["flapping"]);
    }
    if (expect.contains("publish")) {
      if (expect["publish"].is_null()) CHECK(!fs::exists(out));
      else CHECK(test::slurp(out) == test::slurp(artifact_path(expect["publish"])));
    } else if (expect["exit"] == 3) {
      CHECK((fs::exists(out) ? test::slurp(out) : "<absent>") == before);
    }
  }
  // One journal record per decision and per recorded waiver.
  auto h = test::invar({"history", "--state", state, spec["stream"], "--format", "json", "--limit", "1000"});
  REQUIRE(h.exit == 0);
  json records = json::parse(h.out)["records"];
  size_t seen_decisions = 0, seen_waivers = 0;
  for (const auto& rec : records)
    if (rec["event"] != "init") (rec["event"] == "decision" ? seen_decisions : seen_waivers)++;
  CHECK(seen_decisions == decisions);
  CHECK(seen_waivers == waivers);
  // status exits as a probe: 2 while the stream serves its LKG (pinned), else 0.
  auto st = test::invar({"status", "--state", state, "--format", "json"});
  INFO(st.out);
  json streams = json::parse(st.out)["streams"];
  REQUIRE(streams.size() == 1);
  CHECK(st.exit == test::status_exit(streams[0]));
}

}  // namespace

TEST_CASE("incident replays: feature file flapping", "[replay]") {
  replay(test::source("examples/replays/feature-flapping.replay.json"));
}
TEST_CASE("incident replays: an older DNS plan after a newer one", "[replay]") {
  replay(test::source("examples/replays/dns-older-generation.replay.json"));
}
TEST_CASE("incident replays: an empty record set, not waivable", "[replay]") {
  replay(test::source("examples/replays/dns-empty-records.replay.json"));
}
TEST_CASE("incident replays: a stale plan", "[replay]") {
  replay(test::source("examples/replays/dns-stale-plan.replay.json"));
}
TEST_CASE("incident replays: 40% churn, a waiver, its expiry", "[replay]") {
  replay(test::source("examples/replays/dns-churn-waiver.replay.json"));
}
