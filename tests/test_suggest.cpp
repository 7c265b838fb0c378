// include/invar/suggest.hpp: contracts learned from history.
#include "invar/suggest.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

// Generation g of a DNS plan: `records` records named r0..rN, types cycling
// through A/AAAA/CNAME, each in one of three zones; published every 5 minutes.
std::string plan(int g, int records) {
  json recs = json::array();
  const char* types[] = {"A", "AAAA", "CNAME"};
  for (int i = 0; i < records; ++i)
    recs.push_back({{"name", "r" + std::to_string(i) + ".example"},
                    {"type", types[i % 3]},
                    {"zone", "zone" + std::to_string(i % 3) + ".example"},
                    {"ttl", 300}});
  json zones = json::array({{{"name", "zone0.example"}}, {{"name", "zone1.example"}}, {{"name", "zone2.example"}}});
  char at[32];
  std::snprintf(at, sizeof at, "2026-01-01T%02d:%02d:00Z", (5 * g) / 60, (5 * g) % 60);
  return json({{"generation", 100 + g}, {"generated_at", at}, {"zones", zones}, {"records", recs}}).dump();
}

// Six generations with 40, 44, 42, 48, 45, 46 records.
std::vector<invar::Sample> history() {
  std::vector<invar::Sample> out;
  int sizes[] = {40, 44, 42, 48, 45, 46};
  for (int g = 0; g < 6; ++g) out.push_back({"plan-" + std::to_string(g), plan(g, sizes[g]), std::nullopt});
  return out;
}

json invariant(const json& contract, const std::string& id) {
  for (const auto& inv : contract["invariants"])
    if (inv["id"] == id) return inv;
  return nullptr;
}

bool notes_contain(const invar::Suggestion& s, const std::string& text) {
  for (const auto& n : s.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

// Replays `samples` through `contract` as backtest does, each judged a
// minute after its generated_at; the first rejection's message, or "".
std::string replay(const std::string& contract_text, const std::vector<invar::Sample>& samples) {
  auto contract = invar::Contract::load_string(contract_text, ".", "suggested");
  REQUIRE(contract);
  std::optional<invar::Baseline> previous;
  for (const auto& s : samples) {
    invar::CheckContext context;
    auto at = invar::parse_time(json::parse(s.bytes)["generated_at"].get<std::string>());
    context.now = invar::Time::from_ms(at->ms() + 60'000);
    if (previous) context.baseline = &*previous;
    auto report = contract->check(s.bytes, context);
    if (report.verdict != invar::Verdict::accept) return s.label + ": " + report.violations.front().message;
    previous = std::move(invar::Baseline::measure(*contract, s.bytes).value());
  }
  return "";
}

}  // namespace

TEST_CASE("suggest: bounds, keys, references, enums and cadence from a series of plans, each with its evidence",
          "[suggest]") {
  auto s = invar::suggest(history());
  REQUIRE(s);
  CHECK(s->samples == 6);
  json c = json::parse(s->contract);
  CHECK(c["contract"] == "suggested");
  // count: observed 40..48, 50% headroom either way.
  json count = invariant(c, "records.count");
  CHECK(count["count"] == "$.records[*]");
  CHECK(count["min"] == 20);
  CHECK(count["max"] == 72);
  CHECK(count["why"] == "suggested from 6 artifacts: count min 40, p50 44, p90 48, max 48; max = observed max + 50.0% "
                        "headroom, min = observed min - 50.0% (at least 1: never empty)");
  // delta: the largest growth was 42 -> 48 (14.3%), the largest shrink 48 -> 45 (6.25%).
  json delta = invariant(c, "records.delta");
  CHECK(delta["delta"] == "count($.records[*])");
  CHECK(delta["max_increase"] == "29%");
  CHECK(delta["max_decrease"] == "13%");
  CHECK(invariant(c, "records.name.unique")["unique"] == "$.records[*].name");
  json churn = invariant(c, "records.name.churn");
  CHECK(churn["churn"] == "$.records[*].name");
  CHECK(churn["max_added"] == "29%");
  CHECK(churn["max_removed"] == "13%");
  json refs = invariant(c, "records.zone.refs");
  CHECK(refs["refs"] == "$.records[*].zone");
  CHECK(refs["in"] == "$.zones[*].name");
  json types = invariant(c, "records.type.values");
  CHECK(types["match"] == "$.records[*].type");
  CHECK(types["pattern"] == "A|AAAA|CNAME");
  CHECK(invariant(c, "records.zone.values").is_null());  // its refs says more
  json gen = invariant(c, "generation.monotonic");
  CHECK(gen["monotonic"] == "$.generation");
  CHECK(gen["strict"] == true);
  json fresh = invariant(c, "generated_at.fresh");
  CHECK(fresh["max_age"] == "15m");  // 3 x the 5-minute cadence
  CHECK(invariant(c, "records.ttl.values").is_null());  // integers are not enums
  for (const auto& inv : c["invariants"])
    CHECK(inv["why"].get<std::string>().rfind("suggested from 6 artifacts: ", 0) == 0);
  for (const auto& p : s->proposals) CHECK_FALSE(p.evidence.empty());
  CHECK(notes_contain(*s, "no churn for $.zones[*].name: no artifact before another had 10 keys or more"));

  // The history passes it; the incidents it exists for do not.
  auto samples = history();
  CHECK(replay(s->contract, samples) == "");
  samples.push_back({"empty", plan(6, 0), std::nullopt});
  CHECK_FALSE(replay(s->contract, samples).empty());
  samples.back() = {"tripled", plan(6, 138), std::nullopt};
  CHECK_FALSE(replay(s->contract, samples).empty());
}

TEST_CASE("suggest: fewer than two readable artifacts cannot be learned from, and says why", "[suggest]") {
  auto none = invar::suggest({});
  REQUIRE_FALSE(none);
  CHECK(none.error().code == invar::ErrorCode::usage);
  CHECK(none.error().message ==
        "suggest needs at least two readable artifacts to learn from (0 given): one artifact shows no change from one "
        "generation to the next, and no spread to size a bound from");
  auto one = invar::suggest({{"a", plan(0, 3), std::nullopt}, {"broken", "{\"records\": [", std::nullopt}});
  REQUIRE_FALSE(one);
  CHECK(one.error().message.find("(1 given, the others unreadable)") != std::string::npos);
  // A broken sample among good ones is skipped, and noted.
  auto samples = history();
  samples.insert(samples.begin() + 2, {"broken", "{\"records\": [", std::nullopt});
  auto s = invar::suggest(samples);
  REQUIRE(s);
  CHECK(s->samples == 6);
  CHECK(notes_contain(*s, "broken is not a readable artifact ("));
}

TEST_CASE("suggest: options are checked, and the profile is bounded", "[suggest]") {
  invar::SuggestOptions bad;
  bad.headroom = 1.5;
  CHECK(invar::suggest(history(), bad).error().message == "headroom must be in [0%, 100%)");
  bad = {};
  bad.quantile = 0;
  CHECK(invar::suggest(history(), bad).error().message == "the quantile must be in (0, 1]");
  invar::SuggestOptions few;
  few.max_fields = 3;
  auto s = invar::suggest(history(), few);
  REQUIRE(s);
  CHECK(notes_contain(*s, "more than 3 field paths: the rest were not profiled"));
  // A lower quantile is a tighter limit, still never below min_change_percent.
  invar::SuggestOptions tight;
  tight.quantile = 0.5;
  auto t = invar::suggest(history(), tight);
  REQUIRE(t);
  CHECK(invariant(json::parse(t->contract), "records.delta")["max_increase"] == "10%");  // p50 4.4%, at least 10%
  CHECK(notes_contain(*t, "at the chosen quantile, records.delta rejects 1 of the 6 artifacts (plan-3: "));
}

TEST_CASE("suggest: an existing contract is kept where it holds, widened where it rejects, its failures noted",
          "[suggest]") {
  std::string existing = R"j({"contract": "dns", "invariants": [
    {"id": "records.bounded", "count": "$.records[*]", "min": 1, "max": 45, "headroom": "10%"},
    {"id": "types", "match": "$.records[*].type", "pattern": "A|AAAA"},
    {"id": "gen", "monotonic": "$.generation", "strict": true}]})j";
  auto s = invar::suggest(history(), {}, existing, ".");
  REQUIRE(s);
  json c = json::parse(s->contract);
  CHECK(c["contract"] == "dns");
  json bounded = invariant(c, "records.bounded");
  CHECK(bounded["min"] == 1);   // never narrowed
  CHECK(bounded["max"] == 72);  // widened to what was seen, plus headroom
  CHECK_FALSE(bounded.contains("headroom"));
  bool amended = false;
  for (const auto& p : s->proposals) amended |= p.id == "records.bounded" && p.amends;
  CHECK(amended);
  CHECK(invariant(c, "types")["pattern"] == "A|AAAA");  // a pattern is not resized: noted instead
  CHECK(notes_contain(*s, "the contract's types rejects 6 of the 6 artifacts (plan-0: \"CNAME\" does not match"));
  CHECK(notes_contain(*s, "kept gen: it accepts all 6 artifacts"));
  CHECK(invariant(c, "generation.monotonic").is_null());  // the same invariant exists as gen
  CHECK(invariant(c, "records.type.values").is_null());
  CHECK_FALSE(invariant(c, "records.name.unique").is_null());  // new ones are added
  auto broken = invar::suggest(history(), {}, R"({"contract": "x"})", ".");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code == invar::ErrorCode::contract);
}
