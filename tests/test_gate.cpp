// invar gate, end to end through the CLI: decisions and what is published,
// fail-closed errors, dry runs, waivers, backtests, corrupted state, eight
// racing gates, and gates killed at every step of a promotion.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "gate_fixture.hpp"
#include "helpers.hpp"
#include "store/records.hpp"
#include "process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using test::Fixture;
using test::kRaceContract;

namespace {

// Rewrites a sealed record with another format version and a valid checksum,
// as another invar would write it. For measures, the header line is
// resealed and the binary payload after it kept.
std::string with_version(const std::string& text, int version) {
  size_t line = text.find('\n');
  std::string rest = line == std::string::npos ? "" : text.substr(line + 1);
  json j = json::parse(text.substr(0, line));
  j["version"] = version;
  j.erase("checksum");
  j["checksum"] = invar::digest::sha256(j.dump(-1, ' ', false, json::error_handler_t::replace));
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n" + rest;
}

}  // namespace

TEST_CASE("gate: reject without an LKG, accept, pin, and what is published", "[gate]") {
  Fixture f;
  auto empty = f.gate(f.artifact(1, 0));
  CHECK(empty.exit == 1);
  CHECK(empty.out.find("gate: reject: the candidate is rejected and there is no LKG to publish") != std::string::npos);
  CHECK(!fs::exists(f.out));

  auto first = f.gate(f.artifact(1));
  CHECK(first.exit == 0);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  CHECK(first.out.find("- gen [monotonic] skipped: no baseline") != std::string::npos);

  auto older = f.gate(f.artifact(1, 2));
  INFO(older.out);
  CHECK(older.exit == 2);
  CHECK(older.out.find("x gen [monotonic] at " + f.artifact(1, 2) +
                       ":1:16 /generation: 1 equals the baseline's 1 (strict: it must increase)") != std::string::npos);
  CHECK(older.out.find("gate: pin: the candidate sha256:") != std::string::npos);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));

  CHECK(f.gate(f.artifact(2)).exit == 0);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(2)));
  json st = f.status();
  CHECK(st["lkg"]["generation"] == "2");
  CHECK(st["lkg"]["sequence"] == 2);
  CHECK(st["lkg"]["digest"] == invar::digest::sha256(test::slurp(f.artifact(2))));
  CHECK(f.journal().size() == 4);
}

TEST_CASE("gate: an unreadable or oversized candidate is pinned, not a crash", "[gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  std::string garbage = f.tmp / "garbage.json";
  test::spit(garbage, "{\"generation\": 2, \"items\": [1,");
  auto r = f.gate(garbage);
  CHECK(r.exit == 2);
  CHECK(r.out.find("x artifact.syntax [artifact]") != std::string::npos);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  auto j = f.journal();
  REQUIRE(j.size() == 2);
  CHECK(j[1]["failed"] == json::array({"artifact.syntax"}));

  // Over the contract's max_bytes: refused before reading, and pinned.
  test::spit(f.contract, R"j({"contract": "small", "artifact": {"limits": {"max_bytes": 64}},
    "invariants": [{"id": "gen", "monotonic": "$.generation", "strict": true}]})j");
  r = f.gate(f.artifact(3, 40), {"--contract-change"});
  CHECK(r.exit == 2);
  CHECK(r.out.find("x artifact.size [artifact]") != std::string::npos);
  CHECK(r.out.find("bytes, over the limit of 64 bytes (refused before reading)") != std::string::npos);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  CHECK(f.journal().back()["candidate"] == "");
}

TEST_CASE("gate: fails closed (exit 3, nothing published) when it cannot judge", "[gate]") {
  Fixture f;
  std::string bad_contract = f.tmp / "bad.contract.json";
  test::spit(bad_contract, R"({"contract": "x", "invariants": [{"id": "a", "monotonic": 3}]})");
  auto r = test::invar({"gate", "--contract", bad_contract, "--stream", "s", "--state", f.state, "--out", f.out,
                        f.artifact(1)});
  CHECK(r.exit == 3);
  CHECK(!fs::exists(f.out));
  CHECK(!fs::exists(f.state));

  r = f.gate(f.tmp / "missing.json");
  CHECK(r.exit == 3);
  CHECK(r.out.find("cannot read artifact: No such file or directory") != std::string::npos);
  CHECK(!fs::exists(f.out));

  r = test::invar({"gate", "--contract", f.contract, "--stream", "../etc", "--state", f.state, "--out", f.out,
                   f.artifact(1)});
  CHECK(r.exit == 3);
  CHECK(r.out.find("invar: error: stream name \"../etc\" must be 1-128 characters of A-Z a-z 0-9 . _ - (not "
                   "starting with . or -)") != std::string::npos);

  r = test::invar({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, f.artifact(1)});
  CHECK(r.exit == 3);
  CHECK(r.out.find("invar: error: gate needs --out PUBLISH (the file to publish), or --dry-run") != std::string::npos);

  test::spit(f.tmp / "file-not-dir", "x");
  r = test::invar({"gate", "--contract", f.contract, "--stream", "s", "--state", f.tmp / "file-not-dir", "--out",
                   f.out, f.artifact(1)});
  CHECK(r.exit == 3);
  CHECK(r.out.find("the state path exists and is not a directory") != std::string::npos);
  CHECK(!fs::exists(f.out));
}

TEST_CASE("gate --dry-run changes no state and publishes nothing", "[gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  std::string lkg = test::slurp(f.stream_file("lkg.json"));
  std::string journal = test::slurp(f.stream_file("journal.jsonl"));
  std::string published = test::slurp(f.out);
  auto r = test::invar({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--dry-run",
                        f.artifact(2)});
  CHECK(r.exit == 0);
  CHECK(r.out.find("gate (dry run, nothing written): accept") != std::string::npos);
  r = test::invar({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--dry-run", "--out", f.out,
                   f.artifact(1, 2)});
  CHECK(r.exit == 2);
  CHECK(test::slurp(f.stream_file("lkg.json")) == lkg);
  CHECK(test::slurp(f.stream_file("journal.jsonl")) == journal);
  CHECK(test::slurp(f.out) == published);
}

TEST_CASE("waivers: refused without reason or expiry, one id at a time, expiring", "[gate]") {
  Fixture f;
  test::spit(f.contract, R"j({"contract": "w", "invariants": [
    {"id": "gen", "monotonic": "$.generation", "strict": true},
    {"id": "items", "count": "$.items[*]", "min": 1, "waivable": false}]})j");
  REQUIRE(f.gate(f.artifact(5), {"--now", "2025-01-01T00:00:00Z"}).exit == 0);
  auto waive = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"waive", "--contract", f.contract, "--stream", "s", "--state", f.state,
                                     "--now", "2025-01-01T00:01:00Z"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::invar(args);
  };
  auto r = waive({"--reason", "  ", "--expires", "1h", "gen"});
  CHECK(r.exit == 3);
  CHECK(r.out.find("invar: error: a waiver needs a --reason saying why") != std::string::npos);
  r = waive({"--reason", "x", "--expires", "31d", "gen"});
  CHECK(r.out.find("invar: error: a waiver lasts at most 30d; renew it if it must stay") != std::string::npos);
  r = waive({"--reason", "x", "--expires", "soon", "gen"});
  CHECK(r.out.find("invar: error: --expires \"soon\" is not a duration such as \"30m\" or \"2h\"") != std::string::npos);
  r = waive({"--reason", "x", "gen"});
  CHECK(r.exit == 3);  // --expires is required
  r = waive({"--reason", "x", "--expires", "1h", "nope"});
  CHECK(r.out.find("invar: error: no invariant \"nope\" in contract \"w\" (ids: gen, items)") != std::string::npos);
  r = waive({"--reason", "x", "--expires", "1h", "items"});
  CHECK(r.out.find("invar: error: invariant \"items\" is declared \"waivable\": false and cannot be waived") !=
        std::string::npos);

  // A waiver for "gen" does not cover "items": it is never contract-wide.
  r = f.gate(f.artifact(4, 0), {"--now", "2025-01-01T00:02:00Z", "--waive", "gen", "--reason", "rollback to 4",
                                "--expires", "30m"});
  CHECK(r.exit == 2);
  CHECK(r.out.find("~ gen [monotonic, waived]") != std::string::npos);
  CHECK(r.out.find("waived by ") != std::string::npos);
  r = f.gate(f.artifact(4), {"--now", "2025-01-01T00:03:00Z"});
  CHECK(r.exit == 0);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(4)));
  // 30 minutes later the waiver no longer applies.
  r = f.gate(f.artifact(3), {"--now", "2025-01-01T00:33:00Z"});
  CHECK(r.exit == 2);
  auto h = test::invar({"history", "--state", f.state, "s"});
  CHECK(h.out.find("waiver  gen until 2025-01-01T00:32:00Z by ") != std::string::npos);
  CHECK(h.out.find(": rollback to 4") != std::string::npos);
  // --stream, as every other command takes it, reads the same journal.
  CHECK(test::invar({"history", "--state", f.state, "--stream", "s"}).out == h.out);
  r = f.gate(f.artifact(6), {"--reason", "x"});
  CHECK(r.exit == 3);
  CHECK(r.out.find("--reason and --expires go with --waive ID") != std::string::npos);
}

TEST_CASE("status exits as a probe: 0 healthy, 2 pinned, halted or frozen, 3 unreadable", "[gate]") {
  Fixture f;
  auto status = [&](std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"status", "--state", f.state};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = test::invar(args);
    INFO(r.out);
    return r.exit;
  };
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--state", f.state});
    auto r = test::invar(args);
    INFO(r.out);
    REQUIRE(r.exit == 0);
  };
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  CHECK(status() == 0);
  CHECK(status({"s"}) == 0);
  run({"freeze", "--stream", "s", "--reason", "change freeze"});
  CHECK(status() == 2);
  run({"thaw", "--stream", "s", "--reason", "over"});
  CHECK(status() == 0);
  run({"freeze", "--all", "--reason", "holiday"});
  CHECK(status({"s"}) == 2);
  run({"thaw", "--all", "--reason", "over"});
  CHECK(status({"s"}) == 0);
  REQUIRE(f.gate(f.artifact(2)).exit == 0);
  run({"veto", "--stream", "s", "--reason", "consumers crash", invar::digest::sha256_hex(test::slurp(f.artifact(2))).substr(0, 12)});
  CHECK(status() == 2);  // halted
  run({"resume", "--stream", "s", "--reason", "fixed"});
  CHECK(status() == 0);
  REQUIRE(f.gate(f.artifact(0)).exit == 2);  // an older generation: pinned
  CHECK(status() == 2);
  REQUIRE(f.gate(f.artifact(5)).exit == 0);  // an accept ends the pin
  CHECK(status() == 0);
  // Unreadable state wins over everything: 3, even when another stream is fine.
  auto init = test::invar({"init", "--state", f.state, "--stream", "t", "--contract", f.contract, "--by", "test"});
  REQUIRE(init.exit == 0);
  test::spit(f.stream_file("lkg.json"), "{not json");
  CHECK(status() == 3);
  CHECK(status({"s"}) == 3);
  CHECK(status({"t"}) == 0);
  CHECK(status({"nope"}) == 3);
}

TEST_CASE("status warns when pinned too long", "[gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(2), {"--now", "2025-01-01T00:00:00Z"}).exit == 0);
  REQUIRE(f.gate(f.artifact(1), {"--now", "2025-01-01T00:10:00Z"}).exit == 2);
  REQUIRE(f.gate(f.artifact(1), {"--now", "2025-01-01T00:20:00Z"}).exit == 2);
  auto r = test::invar({"status", "--state", f.state, "--now", "2025-01-01T02:00:00Z", "--pinned-warn", "1h"});
  CHECK(r.exit == 2);  // a probe: pinned needs a person
  CHECK(r.out.find("PINNED since 2025-01-01T00:10:00Z") != std::string::npos);
  CHECK(r.out.find("warning: pinned to the LKG for 1h50m") != std::string::npos);
  auto gate = f.gate(f.artifact(1), {"--now", "2025-01-01T02:00:00Z", "--pinned-warn", "1h"});
  CHECK(gate.out.find("warning: the stream has been pinned to its LKG for 1h50m") != std::string::npos);
}

TEST_CASE("backtest lists the stored artifacts a new contract would reject", "[gate]") {
  Fixture f;
  for (int g = 1; g <= 4; ++g) REQUIRE(f.gate(f.artifact(g, g * 10)).exit == 0);
  auto same = test::invar({"backtest", "--contract", f.contract, "--stream", "s", "--state", f.state});
  CHECK(same.exit == 0);
  CHECK(same.out.find("backtest: 4 stored accepted artifacts replayed through race: 0 would flip") != std::string::npos);
  std::string stricter = f.tmp / "stricter.contract.json";
  test::spit(stricter, R"j({"contract": "stricter", "invariants": [
    {"id": "items", "count": "$.items[*]", "max": 25},
    {"id": "growth", "delta": "count($.items[*])", "max_increase": "60%"}]})j");
  auto r = test::invar({"backtest", "--contract", stricter, "--stream", "s", "--state", f.state});
  INFO(r.out);
  CHECK(r.exit == 1);
  CHECK(r.out.find("sequence 2 generation 2  accepted") != std::string::npos);
  CHECK(r.out.find("WOULD FLIP to reject (growth)") != std::string::npos);      // 10 -> 20
  CHECK(r.out.find("WOULD FLIP to reject (items)") != std::string::npos);       // 30 -> 40: +33%, but over 25
  CHECK(r.out.find("backtest: 4 stored accepted artifacts replayed through stricter: 3 would flip") != std::string::npos);
  // Retention keeps the last N and never the LKG out of them.
  REQUIRE(f.gate(f.artifact(5, 50), {"--keep", "2"}).exit == 0);
  r = test::invar({"backtest", "--contract", f.contract, "--stream", "s", "--state", f.state});
  CHECK(r.out.find("backtest: 2 stored accepted artifacts") != std::string::npos);
  size_t objects = 0;
  for (const auto& e : fs::directory_iterator(f.stream_file("objects"))) objects += e.path().extension() == ".json";
  CHECK(objects == 4);  // two artifacts and their measures
  CHECK(f.status()["retained"] == 2);
  // The LKG's own bytes again (a pipeline retry) are "unchanged": published, nothing promoted.
  test::spit(f.contract, R"j({"contract": "any", "invariants": [{"id": "items", "count": "$.items[*]", "min": 1}]})j");
  auto retry = f.gate(f.artifact(5, 50), {"--keep", "2", "--contract-change"});
  INFO(retry.out);
  REQUIRE(retry.exit == 0);
  CHECK(retry.out.find("gate: unchanged: the candidate is the LKG sha256:") != std::string::npos);
  CHECK(f.status()["retained"] == 2);
  CHECK(f.status()["lkg"]["sequence"] == 5);
  CHECK(f.journal().back()["verdict"] == "unchanged");
}

TEST_CASE("a corrupted state file is reported (exit 3) and the LKG is not replaced", "[gate][state]") {
  Fixture pristine;
  REQUIRE(pristine.gate(pristine.artifact(1)).exit == 0);
  REQUIRE(pristine.gate(pristine.artifact(2)).exit == 0);
  REQUIRE(test::invar({"waive", "--contract", pristine.contract, "--stream", "s", "--state", pristine.state,
                       "--reason", "test", "--expires", "1h", "gen"})
              .exit == 0);
  std::string lkg_hex = invar::digest::sha256_hex(test::slurp(pristine.artifact(2)));
  struct Target {
    std::string file;
    bool sealed;
  };
  std::vector<Target> targets = {{"invar-state.json", true},
                                 {"streams/s/lkg.json", true},
                                 {"streams/s/accepted.json", true},
                                 {"streams/s/waivers.json", true},
                                 {"streams/s/journal.jsonl", true},
                                 {"streams/s/objects/" + lkg_hex + ".json", false},
                                 {"streams/s/objects/" + lkg_hex + ".measures.json", true}};
  for (const auto& target : targets) {
    for (std::string mode : {"truncate", "flip", "version"}) {
      if (mode == "version" && !target.sealed) continue;
      INFO(target.file << " " << mode);
      Fixture f;
      fs::remove_all(f.state);
      fs::copy(pristine.state, f.state, fs::copy_options::recursive);
      f.created = f.state;  // the copy has the stream
      std::string path = f.state + "/" + target.file;
      std::string bytes = test::slurp(path);
      if (mode == "truncate") {
        bytes.resize(bytes.size() / 2);
      } else if (mode == "flip") {
        bytes[bytes.size() / 2] ^= 0x04;
      } else if (target.file.find("journal") != std::string::npos) {
        size_t last = bytes.rfind('\n', bytes.size() - 2) + 1;
        bytes = bytes.substr(0, last) + with_version(bytes.substr(last), 2);
      } else if (target.file.ends_with(".measures.json")) {
        bytes = with_version(bytes, invar::store::kMeasuresVersion + 1);
      } else if (target.file.ends_with("waivers.json")) {
        bytes = with_version(bytes, invar::store::kApprovalWaiversVersion + 1);
      } else {
        bytes = with_version(bytes, 2);
      }
      test::spit(path, bytes);
      std::string lkg_before = test::slurp(f.stream_file("lkg.json"));
      if (target.file == "streams/s/journal.jsonl" && mode == "truncate") {
        // A journal cut mid-record looks like an append torn by a full disk:
        // the gate moves the torn bytes aside, journals the repair and goes on.
        CHECK(test::invar({"status", "--state", f.state, "s"}).out.find("incomplete record") != std::string::npos);
        auto r = f.gate(f.artifact(3));
        INFO(r.out);
        CHECK(r.exit == 0);
        CHECK(r.out.find("repaired: an incomplete journal record") != std::string::npos);
        bool aside = false;
        for (const auto& e : fs::directory_iterator(f.state + "/streams/s"))
          aside |= e.path().filename().string().rfind("journal.torn-", 0) == 0;
        CHECK(aside);
        auto h = test::invar({"history", "--state", f.state, "s"});
        CHECK(h.exit == 0);
        CHECK(h.out.find("repair") != std::string::npos);
        continue;
      }
      auto r = f.gate(f.artifact(3));
      INFO(r.out);
      CHECK(r.exit == 3);
      CHECK(r.out.find(fs::path(target.file).filename().string()) != std::string::npos);
      if (mode == "version")
        CHECK(r.out.find(target.file.ends_with(".measures.json") ? "format version 3, but this invar reads version 2"
                         : target.file.ends_with("waivers.json") ? "format version 4, but this invar reads version 3"
                                                                 : "format version 2, but this invar reads version 1") !=
              std::string::npos);
      CHECK(!fs::exists(f.out));
      CHECK(test::slurp(f.stream_file("lkg.json")) == lkg_before);
      CHECK(test::invar({"status", "--state", f.state, "s"}).exit == 3);
    }
  }
  // An older retained artifact is not what a gate compares with or publishes: the gate goes on,
  // while status and backtest, which read it, report it.
  Fixture f;
  fs::remove_all(f.state);
  fs::copy(pristine.state, f.state, fs::copy_options::recursive);
  f.created = f.state;
  std::string old = f.stream_file("objects/" + invar::digest::sha256_hex(test::slurp(pristine.artifact(1))) + ".json");
  test::spit(old, "{}");
  auto status = test::invar({"status", "--state", f.state, "s"});
  CHECK(status.exit == 3);
  CHECK(status.out.find("the stored artifact does not match its SHA-256 (corrupted); invar will not use it") !=
        std::string::npos);
  CHECK(test::invar({"backtest", "--contract", f.contract, "--stream", "s", "--state", f.state}).exit == 3);
  CHECK(f.gate(f.artifact(3)).exit == 0);
}

TEST_CASE("eight racing gates: the highest generation wins, nothing lost or inverted", "[gate][race]") {
  constexpr int kWorkers = 8, kPerWorker = 6, kRounds = 4;
  size_t pins = 0;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    Fixture f;
    f.init();  // before the workers race
    const int top = kWorkers * kPerWorker;
    for (int g = 1; g <= top; ++g) f.artifact(g);
    std::vector<pid_t> workers;
    for (int w = 0; w < kWorkers; ++w) {
      pid_t pid = fork();
      if (pid == 0) {
        // Worker w gates generations w+1, w+1+8, ... in a shuffled order.
        std::vector<int> mine;
        for (int g = w + 1; g <= top; g += kWorkers) mine.push_back(g);
        std::mt19937 rng(static_cast<unsigned>(round * 100 + w));
        std::shuffle(mine.begin(), mine.end(), rng);
        int unexpected = 0;
        for (int g : mine) {
          auto r = f.gate(f.artifact(g));
          if (r.exit != 0 && r.exit != 2) ++unexpected;
        }
        _exit(unexpected);
      }
      workers.push_back(pid);
    }
    for (pid_t pid : workers) {
      int status = 0;
      waitpid(pid, &status, 0);
      CHECK(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);  // every gate accepted or pinned
    }
    auto journal = f.journal();
    CHECK(journal.size() == static_cast<size_t>(top));  // one record per decision
    std::string lkg;
    long last_generation = 0;
    for (const auto& d : journal) {
      CHECK(d["lkg_before"] == lkg);  // nothing promoted behind the journal's back
      if (d["verdict"] == "accept") {
        long g = std::stol(d["generation"].get<std::string>());
        CHECK(g > last_generation);  // never inverted
        last_generation = g;
        lkg = d["candidate"];
      } else {
        CHECK(d["verdict"] == "pin");
        ++pins;
        CHECK(std::stol(d["generation"].get<std::string>()) <= last_generation);
      }
      CHECK(d["lkg_after"] == lkg);
    }
    json st = f.status();
    CHECK(st["lkg"]["generation"] == std::to_string(top));
    CHECK(test::slurp(f.out) == test::slurp(f.artifact(top)));  // the last publication is the LKG
  }
  CHECK(pins > 0);  // older generations did arrive after newer ones
}

#ifdef INVAR_TEST_FAULTS
TEST_CASE("a gate killed at any step of a promotion leaves the old or the new LKG, whole", "[gate][crash]") {
  // Fault points in promotion order; from "promote:lkg:renamed" on, the new LKG is committed.
  const std::vector<std::string> points = {
      "promote:object:half-written",   "promote:object:written",   "promote:object:renamed",
      "promote:measures:half-written", "promote:measures:written", "promote:measures:renamed",
      "promote:accepted:written",      "promote:accepted:renamed", "promote:lkg:half-written",
      "promote:lkg:written",           "promote:lkg:renamed",      "promote:committed",
      "gate:promoted"};
  const size_t first_committed = 10;
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  std::mt19937 rng(20251020);
  int generation = 1;
  for (int i = 0; i < 60; ++i) {
    size_t k = i < static_cast<int>(points.size()) ? i : rng() % points.size();
    INFO("iteration " << i << " at " << points[k]);
    std::string published = test::slurp(f.out);
    int next = generation + 1;
    auto r = f.gate(f.artifact(next), {}, {"INVAR_FAULT=" + points[k]});
    REQUIRE(r.signal == SIGKILL);
    CHECK(test::slurp(f.out) == published);  // PUBLISH is replaced only after the journal
    json st = f.status();                    // verifies every checksum and digest
    int expected = k >= first_committed ? next : generation;
    CHECK(st["lkg"]["generation"] == std::to_string(expected));
    CHECK(st["lkg"]["digest"] == invar::digest::sha256(test::slurp(f.artifact(expected))));
    generation = expected;
    // The state stays usable: the next gate judges against that LKG.
    REQUIRE(f.gate(f.artifact(generation + 1)).exit == 0);
    generation += 1;
  }
  // And killed at random moments, without a named point.
  for (int i = 0; i < 40; ++i) {
    int next = generation + 1;
    auto r = test::invar_killed_after({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--out",
                                       f.out, f.artifact(next)},
                                      static_cast<unsigned>(rng() % 6000));
    json st = f.status();
    std::string g = st["lkg"]["generation"];
    INFO("random kill " << i << ", exit " << r.exit << ", signal " << r.signal);
    CHECK((g == std::to_string(generation) || g == std::to_string(next)));
    if (r.exit == 0) CHECK(g == std::to_string(next));
    generation = std::stoi(g);
  }
}
#endif

TEST_CASE("gate: churn names the keys the LKG had, read back from the stored LKG, and a version 1 measures record is measured again",
          "[gate][state]") {
  test::Fixture f;
  test::spit(f.contract, R"j({"contract": "race", "invariants": [
    {"id": "gen", "monotonic": "$.generation", "strict": true},
    {"id": "names", "churn": "$.r[*].name", "max_removed": 1, "min_existing": 1}]})j");
  auto plan = [&](int generation, std::vector<std::string> names) {
    std::string list;
    for (size_t i = 0; i < names.size(); ++i) list += (i ? "," : "") + std::string(R"({"name": ")") + names[i] + "\"}";
    std::string path = f.tmp / ("p" + std::to_string(generation) + ".json");
    test::spit(path, "{\"generation\": " + std::to_string(generation) + ", \"r\": [" + list + "]}\n");
    return path;
  };
  REQUIRE(f.gate(plan(1, {"zeta", "eta", "theta", "alpha"})).exit == 0);
  auto pinned = f.gate(plan(2, {"alpha", "beta"}));
  INFO(pinned.out);
  CHECK(pinned.exit == 2);  // pin
  CHECK(pinned.out.find("removed: \"zeta\", \"eta\", \"theta\"") != std::string::npos);

  // The LKG's measures as version 1 wrote them: the gate measures the LKG again.
  std::string lkg_hex = invar::digest::sha256_hex(test::slurp(f.tmp / "p1.json"));
  json v1 = {{"artifact", "sha256:" + lkg_hex}, {"measures", json::object()}};
  test::spit(f.stream_file("objects/" + lkg_hex + ".measures.json"), invar::store::seal(v1, "invar-measures", 1) + "\n");
  auto again = f.gate(plan(3, {"alpha", "beta"}));
  INFO(again.out);
  CHECK(again.exit == 2);
  CHECK(again.out.find("3 of the baseline's 4 keys at $.r[*].name were removed") != std::string::npos);
  CHECK(f.gate(plan(4, {"zeta", "eta", "theta", "alpha", "beta"})).exit == 0);
}

TEST_CASE("every command takes -q, and leaves out what it says for people", "[gate][cli]") {
  auto help = test::invar({"--help"});
  auto list = help.out.substr(help.out.find("Subcommands:"));
  std::istringstream lines(list.substr(0, list.find("Exit codes:")));
  std::string line;
  size_t commands = 0;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    if (line.size() < 3 || line[2] == ' ') continue;
    std::string name = line.substr(2, line.find(' ', 2) - 2);
    ++commands;
    INFO(name);
    CHECK(test::contains(test::invar({name, "--help"}).out, "-q,--quiet"));
  }
  CHECK(commands >= 18);

  Fixture f;
  auto init = test::invar({"init", "-q", "--state", f.state, "--stream", "s", "--contract", f.contract, "--by", "t",
                           "--reason", "seed", f.artifact(1)});
  f.created = f.state;
  CHECK(init.exit == 0);
  CHECK(std::count(init.out.begin(), init.out.end(), '\n') == 1);  // the init line, no report
  CHECK(test::contains(init.out, "init: stream s created"));
  auto status = test::invar({"status", "-q", "--state", f.state});
  CHECK(status.exit == 0);
  CHECK(test::contains(status.out, "s: healthy; LKG sha256:"));
  CHECK(std::count(status.out.begin(), status.out.end(), '\n') == 1);
  auto waive = test::invar({"waive", "-q", "--state", f.state, "--stream", "s", "--contract", f.contract, "--reason",
                            "r", "--expires", "1h", "items"});
  REQUIRE(waive.exit == 0);
  REQUIRE(waive.out.size() == 13);  // the waiver's id (12 hex digits) and a newline
  CHECK(test::invar({"waivers", "-q", "--state", f.state, "--stream", "s"}).out == waive.out);
  auto freeze = test::invar({"freeze", "-q", "--state", f.state, "--stream", "s", "--reason", "holiday", "--by", "tester"});
  CHECK(freeze.exit == 0);
  CHECK(freeze.out == "s: frozen by tester: holiday\n");  // what it changed, one line
  auto frozen = test::invar({"status", "-q", "--state", f.state, "s"});
  CHECK(frozen.exit == 2);
  CHECK(test::contains(frozen.out, "s: FROZEN: holiday; LKG"));
  CHECK(test::invar({"thaw", "-q", "--state", f.state, "--stream", "s", "--reason", "over"}).exit == 0);
  auto backtest = test::invar({"backtest", "-q", "--state", f.state, "--stream", "s", "--contract", f.contract});
  CHECK(backtest.out == "backtest: 1 stored accepted artifact replayed through race: 0 would flip\n");
  auto watch = test::invar({"watch", "-q", "--once", "--state", f.state, "--stream", "s", "--out", f.tmp / "w.json"});
  CHECK(watch.exit == 0);
  CHECK(watch.out.empty());
  CHECK(test::slurp(f.tmp / "w.json") == test::slurp(f.artifact(1)));
  REQUIRE(f.gate(f.artifact(0)).exit == 2);  // an older generation: pinned, with a message
  auto history = test::invar({"history", "--state", f.state, "s"});
  CHECK(test::contains(history.out, "\n    gen: "));  // the decision's message, indented
  auto terse = test::invar({"history", "-q", "--state", f.state, "s"});
  CHECK(terse.exit == 0);
  CHECK_FALSE(test::contains(terse.out, "\n    "));
  CHECK(std::count(terse.out.begin(), terse.out.end(), '\n') ==
        std::count(history.out.begin(), history.out.end(), '\n') - 1);
  auto shown = test::invar({"show", "-q", "--state", f.state, "--stream", "s",
                            invar::digest::sha256_hex(test::slurp(f.artifact(1))).substr(0, 12)});
  CHECK(shown.out == test::slurp(f.artifact(1)));
}
