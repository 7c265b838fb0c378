// The monotonicity-delta family against a baseline: exact boundaries,
// messages, skipping without a baseline, require_baseline.
#include <catch2/catch.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "helpers.hpp"
#include "store/records.hpp"

namespace {

// Checks `candidate` with `baseline` (nullptr: none) under one invariant.
invar::Report check(const std::string& invariant, const std::string& candidate, const char* baseline) {
  auto c = test::contract(std::string(R"({"contract": "t", "invariants": [)") + invariant + "]}");
  if (!c) FAIL(c.error().to_string());
  invar::CheckContext ctx;
  std::optional<invar::Baseline> b;
  if (baseline) {
    auto measured = invar::Baseline::measure(*c, baseline);
    if (!measured) FAIL(measured.error().to_string());
    b = std::move(measured.value());
    ctx.baseline = &*b;
  }
  return c->check(candidate, ctx);
}

std::string items(int n) {
  std::string out = R"({"f": [)";
  for (int i = 0; i < n; ++i) out += (i ? "," : "") + std::to_string(i);
  return out + "]}";
}

invar::Outcome outcome(const invar::Report& r) { return r.invariants.at(0).outcome; }

}  // namespace

TEST_CASE("delta: max_increase 100% accepts an exact doubling and rejects one more", "[delta]") {
  std::string inv = R"j({"id": "g", "delta": "count($.f[*])", "max_increase": "100%"})j";
  auto base = items(100);
  CHECK(check(inv, items(200), base.c_str()).verdict == invar::Verdict::accept);
  auto over = check(inv, items(201), base.c_str());
  CHECK(over.verdict == invar::Verdict::reject);
  REQUIRE(over.violations.size() == 1);
  const auto& v = over.violations[0];
  CHECK(v.message == "count($.f[*]) grew from 100 to 201 (+101, +101.0%), over max_increase 100%");
  CHECK(v.expected == "<= 200 (baseline 100 + 100%)");
  CHECK(v.actual == "201");
  CHECK(v.baseline == "100");
  CHECK(v.pointer == "/f");
  CHECK(v.family == "monotonicity-delta");
}

TEST_CASE("delta: percentages are exact at awkward fractions", "[delta]") {
  // 30% of 1000 is 300 exactly, whatever 0.3 is in binary.
  std::string inv = R"j({"id": "g", "delta": "count($.f[*])", "max_decrease": "30%"})j";
  auto base = items(1000);
  CHECK(check(inv, items(700), base.c_str()).verdict == invar::Verdict::accept);
  auto under = check(inv, items(699), base.c_str());
  REQUIRE(under.violations.size() == 1);
  CHECK(under.violations[0].message == "count($.f[*]) shrank from 1000 to 699 (-301, -30.1%), over max_decrease 30%");
  CHECK(under.violations[0].expected == ">= 700 (baseline 1000 - 30%)");
}

TEST_CASE("delta: absolute limits, sum and bytes", "[delta]") {
  CHECK(check(R"j({"id": "g", "delta": "count($.f[*])", "max_increase": 2})j", items(5), items(3).c_str()).verdict ==
        invar::Verdict::accept);
  CHECK(check(R"j({"id": "g", "delta": "count($.f[*])", "max_increase": "2"})j", items(6), items(3).c_str()).verdict ==
        invar::Verdict::reject);
  auto sum = check(R"j({"id": "s", "delta": "sum($.w[*])", "max_increase": "10%"})j", R"({"w": [50, 61]})",
                   R"({"w": [50, 50]})");
  REQUIRE(sum.violations.size() == 1);
  CHECK(sum.violations[0].message == "sum($.w[*]) grew from 100 to 111 (+11, +11.0%), over max_increase 10%");
  CHECK(check(R"j({"id": "b", "delta": "bytes", "max_decrease": "50%"})j", "[1]", "[1,      2]").verdict ==
        invar::Verdict::reject);
  CHECK(check(R"j({"id": "b", "delta": "bytes", "max_decrease": "50%"})j", "[1,2]", "[1, 2]").verdict ==
        invar::Verdict::accept);
}

TEST_CASE("delta: growth from zero is never within a percentage", "[delta]") {
  auto r = check(R"j({"id": "g", "delta": "count($.f[*])", "max_increase": "50%"})j", items(1), items(0).c_str());
  CHECK(r.verdict == invar::Verdict::reject);
}

TEST_CASE("without a baseline the family is skipped, or fails with require_baseline", "[delta]") {
  auto skipped = check(R"j({"id": "g", "delta": "count($.f[*])", "max_increase": "50%"})j", items(3), nullptr);
  CHECK(skipped.verdict == invar::Verdict::accept);
  CHECK(outcome(skipped) == invar::Outcome::skipped);
  CHECK(skipped.invariants[0].note == "no baseline (the stream has no LKG yet, or check ran without --baseline)");
  auto required = check(R"j({"id": "g", "delta": "count($.f[*])", "max_increase": "50%", "require_baseline": true})j",
                        items(3), nullptr);
  CHECK(required.verdict == invar::Verdict::reject);
  REQUIRE(required.violations.size() == 1);
  CHECK(required.violations[0].message == "no baseline to compare with, and require_baseline is true");
}

TEST_CASE("churn: added, removed and changed keys as a share of the baseline's", "[delta]") {
  std::string inv = R"j({"id": "c", "churn": "$.r[*].name", "max_removed": "30%", "max_changed": "30%", "min_existing": 10})j";
  auto plan = [](int from, int to, int changed_until = 0) {
    std::string out = R"({"r": [)";
    for (int i = from; i < to; ++i)
      out += (i > from ? "," : "") + std::string(R"({"name": "n)") + std::to_string(i) + R"(", "t": ")" +
             (i < changed_until ? "new" : "old") + "\"}";
    return out + "]}";
  };
  auto base = plan(0, 10);
  CHECK(check(inv, plan(3, 10), base.c_str()).verdict == invar::Verdict::accept);  // 3 of 10 removed: 30%
  auto removed = check(inv, plan(4, 10), base.c_str());
  REQUIRE(removed.violations.size() == 1);
  CHECK(removed.violations[0].message ==
        "4 of the baseline's 10 keys at $.r[*].name were removed (40.0%), over max_removed 30%");
  CHECK(removed.violations[0].explain == std::vector<std::string>{"removed: \"n0\", \"n1\", \"n2\", \"n3\""});
  CHECK(check(inv, plan(0, 10, 3), base.c_str()).verdict == invar::Verdict::accept);
  auto changed = check(inv, plan(0, 10, 4), base.c_str());
  REQUIRE(changed.violations.size() == 1);
  CHECK(changed.violations[0].message ==
        "4 of the baseline's 10 keys at $.r[*].name were changed (40.0%), over max_changed 30%");
  // Below min_existing the stream is too small to judge by shares.
  auto small = check(inv, plan(0, 1), plan(0, 9).c_str());
  CHECK(small.verdict == invar::Verdict::accept);
  CHECK(small.invariants[0].note == "the baseline has 9 keys, fewer than min_existing 10");
}

TEST_CASE("churn: member order does not count as a change", "[delta]") {
  std::string inv = R"j({"id": "c", "churn": "$.r[*].name", "max_changed": 0, "min_existing": 1})j";
  CHECK(check(inv, R"({"r": [{"t": {"b": 1, "a": 2}, "name": "n0"}]})", R"({"r": [{"name": "n0", "t": {"a": 2, "b": 1}}]})")
            .verdict == invar::Verdict::accept);
  CHECK(check(inv, R"({"r": [{"t": {"b": 1, "a": 3}, "name": "n0"}]})", R"({"r": [{"name": "n0", "t": {"a": 2, "b": 1}}]})")
            .verdict == invar::Verdict::reject);
}

TEST_CASE("monotonic: numbers and timestamps, strict or not", "[delta]") {
  std::string strict = R"j({"id": "m", "monotonic": "$.g", "strict": true})j";
  CHECK(check(strict, R"({"g": 42})", R"({"g": 41})").verdict == invar::Verdict::accept);
  auto equal = check(strict, R"({"g": 41})", R"({"g": 41})");
  REQUIRE(equal.violations.size() == 1);
  CHECK(equal.violations[0].message == "41 equals the baseline's 41 (strict: it must increase)");
  CHECK(equal.violations[0].pointer == "/g");
  CHECK(check(R"j({"id": "m", "monotonic": "$.g"})j", R"({"g": 41})", R"({"g": 41})").verdict == invar::Verdict::accept);
  auto older = check(strict, R"({"g": 40})", R"({"g": 41})");
  REQUIRE(older.violations.size() == 1);
  CHECK(older.violations[0].message == "40 is older than the baseline's 41 (strict: it must increase)");
  CHECK(older.violations[0].expected == "> 41");
  // Integers beyond 2^53 compare exactly.
  CHECK(check(strict, R"({"g": 9007199254740993})", R"({"g": 9007199254740992})").verdict == invar::Verdict::accept);
  // RFC 3339 timestamps compare as instants, whatever their offsets.
  CHECK(check(strict, R"({"g": "2025-10-20T08:00:00+02:00"})", R"({"g": "2025-10-20T05:59:59Z"})").verdict ==
        invar::Verdict::accept);
  CHECK(check(strict, R"({"g": "2025-10-20T08:00:00+02:00"})", R"({"g": "2025-10-20T06:00:00Z"})").verdict ==
        invar::Verdict::reject);
  auto mixed = check(strict, R"({"g": "2025-10-20T06:00:00Z"})", R"({"g": 3})");
  REQUIRE(mixed.violations.size() == 1);
  CHECK(mixed.violations[0].message == "\"2025-10-20T06:00:00Z\" cannot be compared with the baseline's 3");
  auto missing = check(strict, R"({"h": 1})", R"({"g": 3})");
  REQUIRE(missing.violations.size() == 1);
  CHECK(missing.violations[0].message == "$.g selects 0 values; monotonic needs exactly one");
  auto text = check(strict, R"({"g": "soon"})", nullptr);
  REQUIRE(text.violations.size() == 1);
  CHECK(text.violations[0].message == "\"soon\" is neither a number nor an RFC 3339 timestamp");
}

TEST_CASE("immutable: changed, added and removed values", "[delta]") {
  std::string inv = R"j({"id": "i", "immutable": "$.zone"})j";
  CHECK(check(inv, R"({"zone": {"b": 1, "a": 2}, "x": 1})", R"({"zone": {"a": 2, "b": 1}, "x": 2})").verdict ==
        invar::Verdict::accept);
  auto changed = check(inv, R"({"zone": "eu"})", R"({"zone": "us"})");
  REQUIRE(changed.violations.size() == 1);
  CHECK(changed.violations[0].message == "value changed from \"us\" to \"eu\"");
  CHECK(changed.violations[0].baseline == "\"us\"");
  auto removed = check(inv, R"({})", R"({"zone": "us"})");
  REQUIRE(removed.violations.size() == 1);
  CHECK(removed.violations[0].message == "value \"us\" was removed");
  auto added = check(inv, R"({"zone": "us"})", R"({})");
  REQUIRE(added.violations.size() == 1);
  CHECK(added.violations[0].message == "value \"us\" was added; the baseline has none here");
}

TEST_CASE("an unreadable baseline is an error, not a verdict", "[delta]") {
  auto c = test::contract(R"j({"contract": "t", "invariants": [{"id": "g", "delta": "bytes", "max_increase": 1}]})j");
  REQUIRE(c);
  auto b = invar::Baseline::measure(*c, "{\"a\": ", "old.json");
  REQUIRE(!b);
  CHECK(b.error().to_string() == "old.json: /a: baseline is not a readable artifact: unexpected end of input, a value was expected");
}

TEST_CASE("count: max 200 accepts 200 and rejects 201", "[delta][boundaries]") {
  std::string inv = R"j({"id": "n", "count": "$.f[*]", "max": 200})j";
  CHECK(check(inv, items(200), nullptr).verdict == invar::Verdict::accept);
  auto over = check(inv, items(201), nullptr);
  REQUIRE(over.violations.size() == 1);
  CHECK(over.violations[0].message == "count of $.f[*] is 201, over max 200 by 1");
  std::string min = R"j({"id": "n", "count": "$.f[*]", "min": 10})j";
  CHECK(check(min, items(10), nullptr).verdict == invar::Verdict::accept);
  CHECK(check(min, items(9), nullptr).verdict == invar::Verdict::reject);
}

TEST_CASE("churn measures: about 8 bytes a key when stored, read back exactly, refused when damaged", "[delta][state]") {
  invar::invariants::Measures measures;
  auto& churn = measures["keys"];
  churn.definition = "churn $.r[*].name";
  for (uint64_t i = 0; i < 100000; ++i)  // spread as key hashes are
    churn.keys.push_back({(i * 0x9E3779B97F4A7C15ull) >> (64 - invar::invariants::kChurnKeyBits),
                          static_cast<uint32_t>(i * 2654435761u) & 0xffffff});
  std::sort(churn.keys.begin(), churn.keys.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  measures["gen"].definition = "monotonic $.generation";
  measures["gen"].present = true;
  measures["gen"].value_text = "7";
  const std::string digest = invar::digest::sha256("artifact");
  std::string stored = invar::store::encode_measures(digest, measures);
  CHECK(stored.size() < 100000 * 17 / 2);
  auto back = invar::store::decode_measures(stored, "m", digest);
  REQUIRE(back);
  REQUIRE(back.value());
  CHECK(back.value()->at("keys").keys == churn.keys);
  CHECK(back.value()->at("gen").value_text == "7");
  CHECK(!invar::store::decode_measures(stored, "m", invar::digest::sha256("another")));

  std::string flipped = stored;
  flipped[flipped.size() - 10] ^= 1;
  auto damaged = invar::store::decode_measures(flipped, "m", digest);
  REQUIRE(!damaged);
  CHECK(damaged.error().to_string() ==
        "m: /payload: the measures payload does not match its SHA-256 (corrupted); invar will not use it");
  auto cut = invar::store::decode_measures(stored.substr(0, stored.size() - 1), "m", digest);
  REQUIRE(!cut);
  CHECK(cut.error().to_string() == "m: /payload: the measures payload is truncated; invar will not use it");

  // A version 1 record (keys as JSON texts) is measured again, not refused.
  nlohmann::json v1 = {{"artifact", digest}, {"measures", nlohmann::json::object()}};
  auto legacy = invar::store::decode_measures(invar::store::seal(v1, "invar-measures", 1) + "\n", "m", digest);
  REQUIRE(legacy);
  CHECK(!legacy.value());
}

TEST_CASE("churn names removed keys from the baseline artifact, in its order", "[delta]") {
  std::string inv = R"j({"id": "c", "churn": "$.r[*].name", "max_removed": 1, "max_added": 1, "min_existing": 1})j";
  auto plan = [](std::vector<std::string> names) {
    std::string out = R"({"r": [)";
    for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + std::string(R"({"name": ")") + names[i] + "\"}";
    return out + "]}";
  };
  auto base = plan({"z", "y", "x", "a", "b"});
  auto r = check(inv, plan({"a", "b", "new1", "new2"}), base.c_str());
  REQUIRE(r.violations.size() == 2);
  CHECK(r.violations[0].explain == std::vector<std::string>{"added: \"new1\", \"new2\""});
  CHECK(r.violations[1].explain == std::vector<std::string>{"removed: \"z\", \"y\", \"x\""});
}
