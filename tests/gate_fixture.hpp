// A gate stream in a temporary directory, driven through the CLI: the
// fixture of the gate's tests (test_gate.cpp, test_hardening.cpp).
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "process.hpp"

namespace test {

// What `invar status` exits with for one stream of its JSON output (the
// probe's contract, docs/gate.md): 2 when it serves its LKG instead of new
// artifacts (pinned) or its rollout stopped (halted, frozen), else 0.
inline int status_exit(const nlohmann::json& stream) {
  const auto& rollout = stream["rollout"];
  auto in_force = [](const nlohmann::json& freeze) { return freeze.is_object() && freeze["active"] == true; };
  bool stopped = rollout.is_object() &&
                 (!rollout["halted"].is_null() || in_force(rollout["frozen"]) || in_force(rollout["location_frozen"]));
  return !stream["pinned_since"].is_null() || stopped ? 2 : 0;
}

inline const char* kRaceContract = R"j({"contract": "race", "invariants": [
  {"id": "gen", "monotonic": "$.generation", "strict": true},
  {"id": "items", "count": "$.items[*]", "min": 1, "max": 100}]})j";

// A stream fixture: a contract and numbered artifacts in a temp dir.
struct Fixture {
  test::TempDir tmp;
  std::string contract = tmp / "race.contract.json";
  std::string state = tmp / "state";
  std::string out = tmp / "publish.json";

  Fixture() { test::spit(contract, kRaceContract); }

  std::string artifact(int generation, int items = 1) {
    std::string path = tmp / ("g" + std::to_string(generation) + "-" + std::to_string(items) + ".json");
    if (!std::filesystem::exists(path)) {
      std::string list;
      for (int i = 0; i < items; ++i) list += (i ? "," : "") + std::to_string(i);
      test::spit(path, "{\"generation\": " + std::to_string(generation) + ", \"items\": [" + list + "]}\n");
    }
    return path;
  }

  // Creates the stream "s" (once; gates refuse streams that were not created).
  std::string created;  // the state the stream was created in
  void init() {
    if (created == state) return;
    created = state;
    auto r = test::invar({"init", "--state", state, "--stream", "s", "--contract", contract, "--by", "test"});
    INFO(r.out);
    REQUIRE(r.exit == 0);
  }

  test::Run gate(const std::string& artifact, std::vector<std::string> extra = {},
                 const std::vector<std::string>& env = {}) {
    init();
    std::vector<std::string> args = {"gate", "--contract", contract, "--stream", "s", "--state", state, "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(artifact);
    return test::invar(args, env);
  }

  nlohmann::json status() {
    auto r = test::invar({"status", "--state", state, "s", "--format", "json"});
    INFO(r.out);
    auto stream = nlohmann::json::parse(r.out)["streams"][0];
    REQUIRE(r.exit == status_exit(stream));
    return stream;
  }

  // Decisions, oldest first.
  std::vector<nlohmann::json> journal() {
    auto r = test::invar({"history", "--state", state, "s", "--format", "json", "--limit", "100000"});
    INFO(r.out);
    REQUIRE(r.exit == 0);
    std::vector<nlohmann::json> out;
    nlohmann::json parsed = nlohmann::json::parse(r.out);
    for (const auto& rec : parsed["records"])
      if (rec["event"] == "decision") out.push_back(rec);
    std::reverse(out.begin(), out.end());
    return out;
  }

  std::string stream_file(const std::string& name) { return state + "/streams/s/" + name; }
};


}  // namespace test
