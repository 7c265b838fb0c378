// The C ABI (include/invar/invar.h): status codes and messages for bad
// arguments, verdicts and violations, gates and guards, no exceptions.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "helpers.hpp"
#include "invar/invar.h"
#include "process.hpp"

namespace {

std::string feature_contract() { return test::source("rules/feature-file.contract.json"); }

invar_contract* load(const std::string& path) {
  invar_contract* c = nullptr;
  REQUIRE(invar_contract_load(path.c_str(), &c) == INVAR_OK);
  REQUIRE(c != nullptr);
  return c;
}

}  // namespace

TEST_CASE("C ABI: invalid arguments are status codes, never crashes", "[capi]") {
  invar_contract* c = nullptr;
  CHECK(invar_contract_load(nullptr, &c) == INVAR_E_ARGUMENT);
  CHECK(std::string(invar_last_error()) == "invar_contract_load: path is NULL");
  CHECK(invar_contract_load("x", nullptr) == INVAR_E_ARGUMENT);
  CHECK(invar_contract_load("/nonexistent/c.json", &c) == INVAR_E_IO);
  CHECK(c == nullptr);
  CHECK(std::string(invar_last_error()) == "/nonexistent/c.json: cannot read contract: No such file or directory");
  const char* bad = R"({"contract": "x", "invariants": [{"id": "a", "frobnicate": "$"}]})";
  CHECK(invar_contract_load_string(bad, std::strlen(bad), nullptr, &c) == INVAR_E_CONTRACT);
  CHECK(std::string(invar_last_error()).find("unknown invariant kind \"frobnicate\"") != std::string::npos);
  CHECK(invar_contract_load_string("{", 1, nullptr, &c) == INVAR_E_CONTRACT);
  CHECK(invar_contract_load_string(nullptr, 5, nullptr, &c) == INVAR_E_ARGUMENT);

  invar_report* r = nullptr;
  CHECK(invar_check(nullptr, "{}", 2, nullptr, 0, 0, &r) == INVAR_E_ARGUMENT);
  CHECK(r == nullptr);
  invar_gate* g = nullptr;
  CHECK(invar_gate_open(nullptr, "/tmp", &g) == INVAR_E_ARGUMENT);
  CHECK(invar_gate_submit(nullptr, "s", "{}", 2, 0, &r) == INVAR_E_ARGUMENT);
  invar_guard* guard = nullptr;
  CHECK(invar_guard_new(nullptr, nullptr, nullptr, &guard) == INVAR_E_ARGUMENT);
  CHECK(invar_guard_update(nullptr, "{}", 2, 0, &r) == INVAR_E_ARGUMENT);
  const char* bytes = "x";
  size_t len = 7;
  CHECK(invar_guard_current(nullptr, &bytes, &len) == INVAR_E_ARGUMENT);
  CHECK(bytes == nullptr);
  CHECK(len == 0);
  CHECK(invar_report_verdict(nullptr) == INVAR_REJECT);
  CHECK(invar_report_violation_count(nullptr) == 0);
  CHECK(invar_report_json(nullptr) == nullptr);
  invar_violation v;
  CHECK(invar_report_violation(nullptr, 0, &v) == INVAR_E_ARGUMENT);
  // Freeing NULL is a no-op.
  invar_contract_free(nullptr);
  invar_report_free(nullptr);
  invar_gate_free(nullptr);
  invar_guard_free(nullptr);
  invar_string_free(nullptr);
}

TEST_CASE("C ABI: check gives verdicts and violations, garbage bytes are a reject", "[capi]") {
  invar_contract* c = load(feature_contract());
  std::string good = test::slurp(test::source("examples/cloudflare-2025-features/good.json"));
  std::string bad = test::slurp(test::source("examples/cloudflare-2025-features/bad.json"));
  invar_report* r = nullptr;
  REQUIRE(invar_check(c, good.data(), good.size(), nullptr, 0, 0, &r) == INVAR_OK);
  CHECK(invar_report_verdict(r) == INVAR_ACCEPT);
  CHECK(invar_report_violation_count(r) == 0);
  invar_report_free(r);

  REQUIRE(invar_check(c, bad.data(), bad.size(), good.data(), good.size(), 0, &r) == INVAR_OK);
  CHECK(invar_report_verdict(r) == INVAR_REJECT);
  REQUIRE(invar_report_violation_count(r) > 3);
  invar_violation v;
  REQUIRE(invar_report_violation(r, 0, &v) == INVAR_OK);
  CHECK(std::string(v.invariant) == "features.bounded");
  CHECK(std::string(v.message) == "count of $.features[*] is 212, over the headroom limit 160 by 52");
  CHECK(std::string(v.pointer) == "/features");
  CHECK(invar_report_violation(r, 100000, &v) == INVAR_E_ARGUMENT);
  char* json = invar_report_json(r);
  REQUIRE(json);
  CHECK(std::string(json).find("\"baseline\": \"60\"") != std::string::npos);
  invar_string_free(json);
  char* text = invar_report_text(r);
  REQUIRE(text);
  CHECK(std::string(text).find("REJECT") != std::string::npos);
  invar_string_free(text);
  invar_report_free(r);

  const char garbage[] = "\xff\xfe{[[\0nul";
  REQUIRE(invar_check(c, garbage, sizeof garbage - 1, nullptr, 0, 0, &r) == INVAR_OK);
  CHECK(invar_report_verdict(r) == INVAR_REJECT);
  REQUIRE(invar_report_violation(r, 0, &v) == INVAR_OK);
  CHECK(std::string(v.family) == "artifact");
  invar_report_free(r);
  // A length over the contract's max_bytes is refused before a byte is read.
  REQUIRE(invar_check(c, "x", SIZE_MAX, nullptr, 0, 0, &r) == INVAR_OK);
  REQUIRE(invar_report_violation(r, 0, &v) == INVAR_OK);
  CHECK(std::string(v.invariant) == "artifact.size");
  invar_report_free(r);
  invar_contract* huge = nullptr;
  CHECK(invar_contract_load_string("{", SIZE_MAX, nullptr, &huge) == INVAR_E_LIMIT);
  // An unreadable baseline is an error, not a verdict.
  CHECK(invar_check(c, good.data(), good.size(), "{", 1, 0, &r) == INVAR_E_IO);
  CHECK(r == nullptr);
  invar_contract_free(c);
}

TEST_CASE("C ABI: gates publish the candidate or the LKG", "[capi]") {
  test::TempDir tmp;
  invar_contract* c = load(feature_contract());
  invar_gate* g = nullptr;
  REQUIRE(invar_gate_open(c, (tmp / "state").c_str(), &g) == INVAR_OK);
  std::string good = test::slurp(test::source("examples/cloudflare-2025-features/good.json"));
  std::string bad = test::slurp(test::source("examples/cloudflare-2025-features/bad.json"));
  invar_report* r = nullptr;
  CHECK(invar_gate_submit(g, "../x", good.data(), good.size(), 0, &r) == INVAR_E_USAGE);
  // Streams are created on purpose.
  CHECK(invar_gate_submit(g, "bot", good.data(), good.size(), 0, &r) == INVAR_E_USAGE);
  CHECK(std::string(invar_last_error()).find("invar init") != std::string::npos);
  CHECK(invar_gate_init(g, "bot", bad.data(), bad.size(), "seed", "test", &r) == INVAR_OK);
  CHECK(invar_report_verdict(r) == INVAR_REJECT);  // a seed that fails its contract creates nothing
  invar_report_free(r);
  REQUIRE(invar_gate_init(g, "bot", nullptr, 0, nullptr, "test", nullptr) == INVAR_OK);
  CHECK(invar_gate_init(g, "bot", nullptr, 0, nullptr, "test", nullptr) == INVAR_E_USAGE);  // exists
  REQUIRE(invar_gate_submit(g, "bot", good.data(), good.size(), 0, &r) == INVAR_OK);
  CHECK(invar_report_verdict(r) == INVAR_ACCEPT);
  invar_report_free(r);
  REQUIRE(invar_gate_submit(g, "bot", bad.data(), bad.size(), 0, &r) == INVAR_OK);
  CHECK(invar_report_verdict(r) == INVAR_PIN);
  const char* bytes = nullptr;
  size_t len = 0;
  REQUIRE(invar_report_artifact(r, &bytes, &len) == INVAR_OK);
  CHECK(std::string(bytes, len) == good);
  char* json = invar_report_json(r);
  CHECK(std::string(json).find("\"decision\": \"pin\"") != std::string::npos);
  invar_string_free(json);
  invar_report_free(r);
  // A corrupted state is INVAR_E_STATE.
  test::spit(tmp / "state/streams/bot/lkg.json", "{}");
  CHECK(invar_gate_submit(g, "bot", good.data(), good.size(), 0, &r) == INVAR_E_STATE);
  CHECK(std::string(invar_last_error()).find("lkg.json") != std::string::npos);
  invar_gate_free(g);
  invar_contract_free(c);
}

TEST_CASE("C ABI: a guard keeps serving through bad updates, persistent or not", "[capi]") {
  test::TempDir tmp;
  invar_contract* c = load(feature_contract());
  std::string good = test::slurp(test::source("examples/cloudflare-2025-features/good.json"));
  std::string bad = test::slurp(test::source("examples/cloudflare-2025-features/bad.json"));
  invar_gate* creator = nullptr;
  REQUIRE(invar_gate_open(c, (tmp / "state").c_str(), &creator) == INVAR_OK);
  REQUIRE(invar_gate_init(creator, "bot", nullptr, 0, nullptr, "test", nullptr) == INVAR_OK);
  invar_gate_free(creator);
  for (bool persistent : {false, true}) {
    INFO("persistent " << persistent);
    invar_guard* guard = nullptr;
    REQUIRE(invar_guard_new(c, persistent ? (tmp / "state").c_str() : nullptr, persistent ? "bot" : nullptr, &guard) ==
            INVAR_OK);
    const char* bytes = nullptr;
    size_t len = 0;
    invar_report* d = nullptr;
    REQUIRE(invar_guard_update(guard, bad.data(), bad.size(), 0, &d) == INVAR_OK);
    CHECK(invar_report_verdict(d) == INVAR_REJECT);
    invar_report_free(d);
    REQUIRE(invar_guard_current(guard, &bytes, &len) == INVAR_OK);
    CHECK(bytes == nullptr);
    REQUIRE(invar_guard_update(guard, good.data(), good.size(), 0, nullptr) == INVAR_OK);
    REQUIRE(invar_guard_update(guard, bad.data(), bad.size(), 0, &d) == INVAR_OK);
    CHECK(invar_report_verdict(d) == INVAR_PIN);
    invar_report_free(d);
    REQUIRE(invar_guard_update(guard, "", 0, 0, &d) == INVAR_OK);
    CHECK(invar_report_verdict(d) == INVAR_PIN);
    invar_report_free(d);
    REQUIRE(invar_guard_current(guard, &bytes, &len) == INVAR_OK);
    CHECK(std::string(bytes, len) == good);
    invar_guard_free(guard);
  }
  // A restarted persistent consumer starts with the stored LKG.
  invar_guard* again = nullptr;
  REQUIRE(invar_guard_new(c, (tmp / "state").c_str(), "bot", &again) == INVAR_OK);
  const char* bytes = nullptr;
  size_t len = 0;
  REQUIRE(invar_guard_current(again, &bytes, &len) == INVAR_OK);
  CHECK(std::string(bytes, len) == good);
  invar_guard_free(again);
  invar_guard* half = nullptr;
  CHECK(invar_guard_new(c, (tmp / "state").c_str(), nullptr, &half) == INVAR_E_ARGUMENT);
  invar_contract_free(c);
}

TEST_CASE("C ABI: a persistent guard follows what gates promote in its stream", "[capi]") {
  test::TempDir tmp;
  invar_contract* c = load(feature_contract());
  std::string good = test::slurp(test::source("examples/cloudflare-2025-features/good.json"));
  std::string bad = test::slurp(test::source("examples/cloudflare-2025-features/bad.json"));
  invar_gate* gate = nullptr;
  REQUIRE(invar_gate_open(c, (tmp / "state").c_str(), &gate) == INVAR_OK);
  REQUIRE(invar_gate_init(gate, "bot", nullptr, 0, nullptr, "test", nullptr) == INVAR_OK);
  invar_guard* follower = nullptr;
  REQUIRE(invar_guard_new(c, (tmp / "state").c_str(), "bot", &follower) == INVAR_OK);
  int changed = -1;
  REQUIRE(invar_guard_refresh(follower, &changed) == INVAR_OK);
  CHECK(changed == 0);  // nothing promoted yet
  invar_report* d = nullptr;
  REQUIRE(invar_gate_submit(gate, "bot", good.data(), good.size(), 0, &d) == INVAR_OK);
  REQUIRE(invar_report_verdict(d) == INVAR_ACCEPT);
  invar_report_free(d);
  REQUIRE(invar_guard_refresh(follower, &changed) == INVAR_OK);
  CHECK(changed == 1);
  const char* bytes = nullptr;
  size_t len = 0;
  REQUIRE(invar_guard_current(follower, &bytes, &len) == INVAR_OK);
  CHECK(std::string(bytes, len) == good);
  // A pinned candidate changes nothing a follower serves.
  REQUIRE(invar_gate_submit(gate, "bot", bad.data(), bad.size(), 0, &d) == INVAR_OK);
  CHECK(invar_report_verdict(d) == INVAR_PIN);
  invar_report_free(d);
  REQUIRE(invar_guard_refresh(follower, &changed) == INVAR_OK);
  CHECK(changed == 0);
  REQUIRE(invar_guard_current(follower, &bytes, &len) == INVAR_OK);
  CHECK(std::string(bytes, len) == good);
  CHECK(invar_guard_refresh(nullptr, &changed) == INVAR_E_ARGUMENT);
  // An in-memory guard has nothing to follow.
  invar_guard* alone = nullptr;
  REQUIRE(invar_guard_new(c, nullptr, nullptr, &alone) == INVAR_OK);
  REQUIRE(invar_guard_refresh(alone, &changed) == INVAR_OK);
  CHECK(changed == 0);
  invar_guard_free(alone);
  invar_guard_free(follower);
  invar_gate_free(gate);
  invar_contract_free(c);
}

TEST_CASE("C ABI: invar_guard_current's bytes outlive a refresh until the next update", "[capi]") {
  // Regression (issue 28.18): invar_guard_refresh freed the bytes an earlier
  // invar_guard_current returned (ASan: heap-use-after-free), though invar.h
  // promises them until the next invar_guard_update or invar_guard_free.
  test::TempDir tmp;
  invar_contract* c = load(feature_contract());
  const std::string first = test::slurp(test::source("examples/cloudflare-2025-features/good.json"));
  auto version = [&](const char* v) {
    std::string bytes = first;
    const std::string old = "\"version\": 41";
    const size_t at = bytes.find(old);
    REQUIRE(at != std::string::npos);
    return bytes.replace(at, old.size(), std::string("\"version\": ") + v);
  };
  const std::string second = version("42"), third = version("43");
  invar_gate* gate = nullptr;
  REQUIRE(invar_gate_open(c, (tmp / "state").c_str(), &gate) == INVAR_OK);
  REQUIRE(invar_gate_init(gate, "bot", nullptr, 0, nullptr, "test", nullptr) == INVAR_OK);
  auto promote = [&](const std::string& bytes) {
    invar_report* d = nullptr;
    REQUIRE(invar_gate_submit(gate, "bot", bytes.data(), bytes.size(), 0, &d) == INVAR_OK);
    REQUIRE(invar_report_verdict(d) == INVAR_ACCEPT);
    invar_report_free(d);
  };
  promote(first);
  invar_guard* follower = nullptr;
  REQUIRE(invar_guard_new(c, (tmp / "state").c_str(), "bot", &follower) == INVAR_OK);
  const char* held = nullptr;
  size_t held_len = 0;
  REQUIRE(invar_guard_current(follower, &held, &held_len) == INVAR_OK);
  REQUIRE(std::string(held, held_len) == first);
  int changed = 0;
  promote(second);
  REQUIRE(invar_guard_refresh(follower, &changed) == INVAR_OK);
  REQUIRE(changed == 1);
  const char* held2 = nullptr;
  size_t held2_len = 0;
  REQUIRE(invar_guard_current(follower, &held2, &held2_len) == INVAR_OK);
  promote(third);
  REQUIRE(invar_guard_refresh(follower, &changed) == INVAR_OK);
  REQUIRE(changed == 1);
  // Both earlier pointers still hold what they held.
  CHECK(std::string(held, held_len) == first);
  CHECK(std::string(held2, held2_len) == second);
  const char* now = nullptr;
  size_t now_len = 0;
  REQUIRE(invar_guard_current(follower, &now, &now_len) == INVAR_OK);
  CHECK(std::string(now, now_len) == third);
  // Released on request (a follower that never updates): the one in service stays.
  REQUIRE(invar_guard_release_replaced(follower) == INVAR_OK);
  CHECK(invar_guard_release_replaced(nullptr) == INVAR_E_ARGUMENT);
  REQUIRE(invar_guard_current(follower, &now, &now_len) == INVAR_OK);
  CHECK(std::string(now, now_len) == third);
  invar_guard_free(follower);
  invar_gate_free(gate);
  invar_contract_free(c);
}

TEST_CASE("C ABI: invar_guard_seed starts a guard whose contract requires a baseline", "[capi]") {
  // Regression (issue 28.24): such a guard rejected every update forever.
  const char* text = R"j({"contract": "g", "invariants": [{"id": "n", "count": "$.items[*]", "min": 1},
    {"id": "growth", "delta": "count($.items[*])", "max_increase": "50%", "require_baseline": true}]})j";
  invar_contract* c = nullptr;
  REQUIRE(invar_contract_load_string(text, std::strlen(text), nullptr, &c) == INVAR_OK);
  invar_guard* guard = nullptr;
  REQUIRE(invar_guard_new(c, nullptr, nullptr, &guard) == INVAR_OK);
  const std::string four = R"({"items": [1, 2, 3, 4]})", five = R"({"items": [1, 2, 3, 4, 5]})";
  invar_report* d = nullptr;
  REQUIRE(invar_guard_update(guard, four.data(), four.size(), 0, &d) == INVAR_OK);
  CHECK(invar_report_verdict(d) == INVAR_REJECT);  // no baseline
  invar_report_free(d);
  REQUIRE(invar_guard_seed(guard, "{\"items\": []}", 13, 0, &d) == INVAR_OK);
  CHECK(invar_report_verdict(d) == INVAR_REJECT);  // fails `n`: nothing changed
  invar_report_free(d);
  REQUIRE(invar_guard_seed(guard, four.data(), four.size(), 0, &d) == INVAR_OK);
  CHECK(invar_report_verdict(d) == INVAR_ACCEPT);
  invar_report_free(d);
  const char* bytes = nullptr;
  size_t len = 0;
  REQUIRE(invar_guard_current(guard, &bytes, &len) == INVAR_OK);
  CHECK(std::string(bytes, len) == four);
  REQUIRE(invar_guard_update(guard, five.data(), five.size(), 0, &d) == INVAR_OK);
  CHECK(invar_report_verdict(d) == INVAR_ACCEPT);
  invar_report_free(d);
  CHECK(invar_guard_seed(guard, four.data(), four.size(), 0, nullptr) == INVAR_E_USAGE);
  CHECK(std::string(invar_last_error()) == "the guard serves an artifact already: a seed is only its first one");
  CHECK(invar_guard_seed(nullptr, four.data(), four.size(), 0, nullptr) == INVAR_E_ARGUMENT);
  CHECK(invar_guard_seed(guard, nullptr, 3, 0, nullptr) == INVAR_E_ARGUMENT);
  invar_guard_free(guard);
  invar_contract_free(c);
}

TEST_CASE("C ABI: one contract checked from 8 threads gives identical reports", "[capi][threads]") {
  invar_contract* c = load(feature_contract());
  std::string bad = test::slurp(test::source("examples/cloudflare-2025-features/bad.json"));
  std::vector<std::string> results(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        invar_report* r = nullptr;
        if (invar_check(c, bad.data(), bad.size(), nullptr, 0, 1, &r) != INVAR_OK) return;
        char* json = invar_report_json(r);
        results[t] = json;
        invar_string_free(json);
        invar_report_free(r);
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& r : results) CHECK(r == results[0]);
  CHECK(results[0].find("\"verdict\": \"reject\"") != std::string::npos);
  invar_contract_free(c);
}

TEST_CASE("C ABI: four threads updating one guard race on nothing", "[capi][threads]") {
  // Regression (issue 11.1): invar_guard_update assigned the guard's current
  // artifact outside its mutex: heap corruption within a few thousand updates.
  const char* contract_text = R"({"contract": "g", "invariants": [{"id": "n", "count": "$.items[*]", "min": 1}]})";
  invar_contract* c = nullptr;
  REQUIRE(invar_contract_load_string(contract_text, std::strlen(contract_text), nullptr, &c) == INVAR_OK);
  invar_guard* guard = nullptr;
  REQUIRE(invar_guard_new(c, nullptr, nullptr, &guard) == INVAR_OK);
  const std::string good = R"({"items": [1]})", other = R"({"items": [1, 2]})", bad = R"({"items": []})";
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const std::string& bytes = (i + t) % 3 == 0 ? good : ((i + t) % 3 == 1 ? other : bad);
        if (invar_guard_update(guard, bytes.data(), bytes.size(), 0, nullptr) != INVAR_OK) ++failures;
        const char* current = nullptr;
        size_t len = 0;
        if (invar_guard_current(guard, &current, &len) != INVAR_OK) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  const char* bytes = nullptr;
  size_t len = 0;
  REQUIRE(invar_guard_current(guard, &bytes, &len) == INVAR_OK);
  std::string current(bytes, len);
  CHECK((current == good || current == other));  // never the rejected one
  invar_guard_free(guard);
  invar_contract_free(c);
}

TEST_CASE("C ABI: a clock outside the years 0001-9999 and a baseline length without bytes are refused",
          "[capi]") {
  // Regression (issue 11.10 and 11.12): now_ms = INT64_MAX wrapped to 1969;
  // baseline = NULL with baseline_len 5 was taken as "no baseline".
  invar_contract* c = load(feature_contract());
  std::string good = test::slurp(test::source("examples/cloudflare-2025-features/good.json"));
  invar_report* r = nullptr;
  CHECK(invar_check(c, good.data(), good.size(), nullptr, 5, 0, &r) == INVAR_E_ARGUMENT);
  CHECK(std::string(invar_last_error()) == "invar_check: baseline is NULL but baseline_len is not 0");
  CHECK(r == nullptr);
  CHECK(invar_check(c, good.data(), good.size(), nullptr, 0, INT64_MAX, &r) == INVAR_E_ARGUMENT);
  CHECK(std::string(invar_last_error()) == "invar_check: now_ms is outside the years 0001-9999");
  CHECK(invar_check(c, good.data(), good.size(), nullptr, 0, INT64_MIN, &r) == INVAR_E_ARGUMENT);
  test::TempDir tmp;
  invar_gate* gate = nullptr;
  REQUIRE(invar_gate_open(c, (tmp / "state").c_str(), &gate) == INVAR_OK);
  CHECK(invar_gate_submit(gate, "s", good.data(), good.size(), INT64_MAX, &r) == INVAR_E_ARGUMENT);
  CHECK(!std::filesystem::exists(tmp / "state"));  // refused before anything was written
  REQUIRE(invar_gate_init(gate, "s", nullptr, 0, nullptr, "test", nullptr) == INVAR_OK);
  // The last millisecond of 9999 is a clock.
  REQUIRE(invar_gate_submit(gate, "s", good.data(), good.size(), 253402300799999, &r) == INVAR_OK);
  CHECK(invar_report_verdict(r) == INVAR_ACCEPT);
  invar_report_free(r);
  invar_gate_free(gate);
  invar_guard* guard = nullptr;
  REQUIRE(invar_guard_new(c, nullptr, nullptr, &guard) == INVAR_OK);
  CHECK(invar_guard_update(guard, good.data(), good.size(), INT64_MAX, nullptr) == INVAR_E_ARGUMENT);
  invar_guard_free(guard);
  invar_contract_free(c);
}

TEST_CASE("C ABI: a stream with stages, a rollout step, a veto, and guards of each stage", "[capi][rollout]") {
  test::TempDir tmp;
  const std::string state = tmp / "state", rollout = tmp / "r.rollout.json";
  test::spit(rollout, R"({"rollout": "r", "stages": [{"name": "canary"}, {"name": "global"}]})");
  const char* contract_text = R"({"contract": "c", "invariants": [{"id": "n", "count": "$.items[*]", "min": 1}]})";
  invar_contract* c = nullptr;
  REQUIRE(invar_contract_load_string(contract_text, std::strlen(contract_text), nullptr, &c) == INVAR_OK);
  invar_gate* gate = nullptr;
  REQUIRE(invar_gate_open(c, state.c_str(), &gate) == INVAR_OK);
  const std::string first = R"({"items": [1]})", second = R"({"items": [1, 2]})";
  CHECK(invar_gate_init_staged(gate, "s", first.data(), first.size(), "seed", "test", nullptr, nullptr) ==
        INVAR_E_ARGUMENT);
  REQUIRE(invar_gate_init_staged(gate, "s", first.data(), first.size(), "seed", "test", rollout.c_str(), nullptr) ==
          INVAR_OK);
  invar_guard *canary = nullptr, *global = nullptr;
  REQUIRE(invar_guard_new_staged(c, state.c_str(), "s", "canary", &canary) == INVAR_OK);
  REQUIRE(invar_guard_new_staged(c, state.c_str(), "s", nullptr, &global) == INVAR_OK);
  invar_guard* nowhere = nullptr;
  CHECK(invar_guard_new_staged(c, state.c_str(), "s", "eu", &nowhere) == INVAR_E_USAGE);
  CHECK(std::string(invar_last_error()).find("no stage \"eu\"") != std::string::npos);

  invar_report* d = nullptr;
  REQUIRE(invar_gate_submit(gate, "s", second.data(), second.size(), 0, &d) == INVAR_OK);
  CHECK(invar_report_verdict(d) == INVAR_ACCEPT);
  invar_report_free(d);
  auto serves = [](invar_guard* g) {
    int changed = 0;
    REQUIRE(invar_guard_refresh(g, &changed) == INVAR_OK);
    const char* bytes = nullptr;
    size_t len = 0;
    REQUIRE(invar_guard_current(g, &bytes, &len) == INVAR_OK);
    return std::string(bytes, len);
  };
  CHECK(serves(canary) == second);
  CHECK(serves(global) == first);  // not promoted yet
  char* json = nullptr;
  REQUIRE(invar_rollout_step(state.c_str(), "s", 0, &json) == INVAR_OK);
  REQUIRE(json != nullptr);
  CHECK(std::string(json).find("from canary to global") != std::string::npos);
  invar_string_free(json);
  CHECK(serves(global) == second);

  CHECK(invar_rollout_veto(state.c_str(), "s", "sha256:00", "r", "me", 0, nullptr) == INVAR_E_USAGE);
  CHECK(invar_rollout_veto(state.c_str(), "s", nullptr, "r", "me", 0, nullptr) == INVAR_E_USAGE);
  // The second artifact's digest, from the accepted decision's JSON.
  REQUIRE(invar_gate_submit(gate, "s", second.data(), second.size(), 0, &d) == INVAR_OK);  // unchanged: a retry
  char* decision = invar_report_json(d);
  std::string text = decision;
  invar_string_free(decision);
  invar_report_free(d);
  auto at = text.find("\"candidate\": \"sha256:");
  REQUIRE(at != std::string::npos);
  std::string digest = text.substr(at + 14, 71);
  REQUIRE(invar_rollout_veto(state.c_str(), "s", digest.c_str(), "crashes", "me", 0, nullptr) == INVAR_OK);
  CHECK(serves(canary) == first);
  CHECK(serves(global) == first);
  invar_guard_free(canary);
  invar_guard_free(global);
  invar_gate_free(gate);
  invar_contract_free(c);
}

TEST_CASE("C ABI: invar_check_trials runs the contract trials, and invar_check never does", "[capi][trial]") {
  const std::string loader = INVAR_CONSUMER_FEATURE_LOADER;
  const std::string text = R"({"contract": "c", "invariants": [{"id": "n", "count": "$.features[*]", "min": 1},
    {"id": "loader", "trial": [")" + loader + R"(", "{artifact}"], "sandbox": "none"}]})";
  invar_contract* c = nullptr;
  REQUIRE(invar_contract_load_string(text.data(), text.size(), nullptr, &c) == INVAR_OK);
  const std::string bad = test::slurp(test::source("examples/cloudflare-2025-features/bad.json"));
  invar_report* r = nullptr;
  REQUIRE(invar_check(c, bad.data(), bad.size(), nullptr, 0, 0, &r) == INVAR_OK);
  CHECK(invar_report_verdict(r) == INVAR_ACCEPT);  // the contract alone has no bound
  invar_report_free(r);
  REQUIRE(invar_check_trials(c, bad.data(), bad.size(), nullptr, 0, 0, &r) == INVAR_OK);
  CHECK(invar_report_verdict(r) == INVAR_REJECT);
  char* json = invar_report_json(r);
  CHECK(std::string(json).find("SIGABRT") != std::string::npos);
  invar_string_free(json);
  invar_report_free(r);
  CHECK(invar_check_trials(c, nullptr, 3, nullptr, 0, 0, &r) == INVAR_E_ARGUMENT);
  invar_contract_free(c);
}
