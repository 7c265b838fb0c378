// The on-call page (render_html) and what the journal keeps for it: user
// text escaped, thresholds drawn, rejects red, the state's banner, the point
// cap; decisions' messages bounded in the journal, and old journal lines
// (without the new fields) still read. The page in a browser: html_test.py.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "helpers.hpp"
#include "invar/gate.hpp"
#include "process.hpp"
#include "store/records.hpp"

using namespace invar;
using nlohmann::json;

namespace {

const int64_t kT0 = Time::parse("2026-12-01T11:00:00Z")->ms();
constexpr int64_t kMin = 60'000;

bool has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

JournalRecord decision(int i, const std::string& verdict, double rows) {
  JournalRecord r;
  r.event = "decision";
  r.time_ms = kT0 + i * 10 * kMin;
  r.stream = "features";
  r.verdict = verdict;
  r.candidate = "sha256:" + std::string(63, 'a') + std::to_string(i % 10);
  r.generation = std::to_string(40 + i);
  r.bytes = static_cast<uint64_t>(rows * 60);
  Observation count{"rows", "count", "count", rows, std::nullopt};
  count.min = 1;
  count.max = 200;
  Observation delta{"growth", "delta", "count", rows, 100.0};
  delta.ratio_min = 0.5;
  delta.ratio_max = 1.5;
  r.observations = {count, delta};
  if (verdict != "accept") {
    r.failed = {"rows"};
    r.messages = {"rows: " + std::to_string(static_cast<int>(rows)) + " records, above the maximum 200"};
  }
  return r;
}

StreamPage pinned_page() {
  StreamPage page;
  page.status.stream = "features";
  LkgRecord lkg;
  lkg.stream = "features";
  lkg.sequence = 3;
  lkg.digest = "sha256:" + std::string(64, 'a');
  lkg.generation = "42";
  lkg.accepted_at_ms = kT0 + 20 * kMin;
  lkg.contract = "bot-features";
  page.status.lkg = lkg;
  page.status.pinned_since_ms = kT0 + 30 * kMin;
  for (int i = 0; i < 3; ++i) page.journal.push_back(decision(i, "accept", 100));
  for (int i = 3; i < 5; ++i) page.journal.push_back(decision(i, "pin", 400));
  page.journal.back().messages.push_back("rows: <script>alert(\"x\")</script> & 'q'");
  Quarantined q{page.journal.back().candidate, 24000, page.journal.back().time_ms, "pin", {"rows"}};
  page.status.quarantined.push_back(q);
  return page;
}

}  // namespace

TEST_CASE("the on-call page escapes what the journal says", "[html]") {
  std::string html = render_html({pinned_page()}, "status <of> \"all\"", kT0 + 60 * kMin);
  CHECK(occurrences(html, "<script") == 0);
  CHECK(has(html, "rows: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"));
  CHECK(has(html, "<title>invar: status &lt;of&gt; &quot;all&quot;</title>"));
  // Self-contained: nothing fetched, no script allowed even if something slipped through.
  CHECK(occurrences(html, "<link") == 0);
  CHECK(occurrences(html, "http://") == 0);
  CHECK(occurrences(html, "https://") == 0);
  CHECK(has(html, "Content-Security-Policy\" content=\"default-src 'none'"));
  // The quarantined candidate shows its decision's messages.
  auto quarantine = html.find("class=\"quarantine\"");
  REQUIRE(quarantine != std::string::npos);
  CHECK(html.find("rows: 400 records, above the maximum 200", quarantine) < html.find("</table>", quarantine));
}

TEST_CASE("the on-call page draws thresholds and marks rejects red", "[html]") {
  std::string html = render_html({pinned_page()}, "t", kT0 + 60 * kMin);
  // Plots: bytes, the count, the delta's ratio, the generation.
  CHECK(occurrences(html, "<svg class=\"plot\"") == 4);
  CHECK(has(html, ">rows: count</text>"));
  CHECK(has(html, ">growth: count / baseline</text>"));
  // The count's min and max, the delta's ratio bounds: dashed lines, labelled.
  CHECK(occurrences(html, "<line class=\"threshold\"") == 4);
  CHECK(has(html, ">max 200</text>"));
  CHECK(has(html, ">min 1</text>"));
  CHECK(has(html, ">max ratio 1.5</text>"));
  CHECK(has(html, ">min ratio 0.5</text>"));
  // 2 pins on each of the 4 plots red, 3 accepts green.
  CHECK(occurrences(html, "class=\"point bad\"") == 8);
  CHECK(occurrences(html, "fill=\"#d32f2f\"") == 8);
  CHECK(occurrences(html, "class=\"point good\"") == 12);
  // The time axis is UTC: 11:00 to 11:40.
  CHECK(has(html, ">11:00</text>"));
  CHECK(has(html, ">11:40</text>"));
  CHECK(has(html, "time (UTC)"));
}

TEST_CASE("the on-call page's banner says pinned, halted, frozen or healthy", "[html]") {
  StreamPage page = pinned_page();
  std::string html = render_html({page}, "t", kT0 + 60 * kMin);
  CHECK(has(html, "<div class=\"banner pinned\">PINNED since 2026-12-01T11:30:00Z (30m"));
  CHECK_FALSE(has(html, "banner healthy"));

  page.status.pinned_since_ms.reset();
  html = render_html({page}, "t", kT0 + 60 * kMin);
  CHECK(has(html, "<div class=\"banner healthy\">healthy"));

  page.status.rollout = RolloutReport{};
  page.status.rollout->halted = Halt{"sha256:" + std::string(64, 'b'), "errors 5% > 1%", "rollout", "canary", kT0};
  page.status.rollout->frozen = Freeze{"release window", "oncall", kT0, 0};
  html = render_html({page}, "t", kT0 + 60 * kMin);
  CHECK(has(html, "<div class=\"banner halted\">HALTED since"));
  CHECK(has(html, "<div class=\"banner frozen\">FROZEN by oncall"));
  CHECK_FALSE(has(html, "banner healthy"));

  StreamPage empty;
  empty.status.stream = "new";
  CHECK(has(render_html({empty}, "t", kT0), "<div class=\"banner empty\">no LKG yet"));
}

TEST_CASE("the on-call page plots at most the last kHtmlMaxPoints decisions", "[html]") {
  StreamPage page;
  page.status.stream = "s";
  for (int i = 0; i < 600; ++i) page.journal.push_back(decision(i, i == 599 ? "reject" : "accept", 100 + i % 7));
  std::string html = render_html({page}, "t", kT0);
  CHECK(has(html, "500 decisions plotted (the last 500 of 600)"));
  // 4 plots of 500 points each.
  CHECK(occurrences(html, "<circle ") == 4 * kHtmlMaxPoints);
  CHECK(occurrences(html, "class=\"point bad\"") == 4);
  // The journal table lists `listed` records.
  CHECK(has(html, "the last 50 records"));
}

TEST_CASE("clip_utf8 cuts on a character boundary", "[html]") {
  CHECK(text::clip_utf8("abc", 3) == "abc");
  CHECK(text::clip_utf8("abcdef", 5) == "ab...");
  // "é" is 2 bytes: a cut inside it drops it whole.
  CHECK(text::clip_utf8("a\xC3\xA9\xC3\xA9xyz", 5) == "a...");
  CHECK(text::clip_utf8("a\xC3\xA9\xC3\xA9xyz", 6) == "a\xC3\xA9...");
  CHECK(text::clip_utf8("a\xC3\xA9\xC3\xA9xyz", 7) == "a\xC3\xA9...");
}

TEST_CASE("the journal keeps a decision's messages bounded", "[html][journal]") {
  test::TempDir tmp;
  auto store = StateStore::open_directory(tmp / "state");
  REQUIRE(store);
  auto contract = test::contract(R"({"contract": "c", "invariants": [
    {"id": "names", "match": "$.items[*]", "pattern": "^ok$"},
    {"id": "items", "count": "$.items[*]", "min": 1, "max": 1000}]})");
  REQUIRE(contract);
  GateOptions options;
  options.create_streams = true;
  Gate gate(*contract, *store, options);
  std::string items;
  for (int i = 0; i < 50; ++i) items += (i ? ",\"" : "\"") + std::string(400, 'x') + std::to_string(i) + "\"";
  std::string bad = "{\"items\": [" + items + "]}";
  SubmitOptions at;
  at.now = Time::from_ms(kT0);
  auto d = gate.submit("s", bad, at);
  REQUIRE(d);
  REQUIRE(d->action == Action::reject);
  auto journal = store->history("s");
  REQUIRE(journal);
  const JournalRecord& r = journal->back();
  REQUIRE(r.event == "decision");
  CHECK(r.messages.size() == kJournalMessages);
  CHECK(r.messages_omitted == 42);
  for (const auto& m : r.messages) {
    CHECK(m.size() <= kJournalMessageBytes);
    CHECK(m.rfind("names: ", 0) == 0);
  }
  CHECK(r.bytes == bad.size());
  // The count's observation, with its thresholds, on a reject too.
  REQUIRE(r.observations.size() == 1);
  CHECK(r.observations[0].invariant == "items");
  CHECK(r.observations[0].value == 50);
  CHECK(r.observations[0].min == 1);
  CHECK(r.observations[0].max == 1000);

  // history shows them: human indented under the decision, json as a list.
  auto human = test::invar({"history", "--state", tmp / "state", "s"});
  REQUIRE(human.exit == 0);
  CHECK(has(human.out, "failed: names"));
  CHECK(has(human.out, "  " + std::to_string(bad.size()) + " bytes\n    names: "));
  CHECK(has(human.out, "    ... and 42 more\n"));
  auto machine = test::invar({"history", "--state", tmp / "state", "s", "--format", "json"});
  REQUIRE(machine.exit == 0);
  json rec = json::parse(machine.out)["records"][0];
  CHECK(rec["messages"].size() == kJournalMessages);
  CHECK(rec["messages_omitted"] == 42);
  CHECK(rec["bytes"] == bad.size());
}

TEST_CASE("journal lines without the display fields, or with others of another shape, still read", "[html][journal]") {
  JournalRecord r = decision(1, "pin", 400);
  r.host = "h";
  r.pid = 1;
  r.contract = "c";
  r.contract_digest = "sha256:" + std::string(64, 'c');
  json full = store::to_json(r);
  REQUIRE(full.contains("messages"));
  REQUIRE(full.contains("observations"));
  auto round = store::decode_journal(store::encode_journal(r), "j");
  REQUIRE(round);
  CHECK(round->messages == r.messages);
  CHECK(round->bytes == r.bytes);
  REQUIRE(round->observations.size() == 2);
  CHECK(round->observations[1].ratio_max == 1.5);

  json old = full;  // a line of an older invar
  for (const char* k : {"messages", "messages_omitted", "bytes", "observations"}) old.erase(k);
  auto read = store::decode_journal(store::seal(old, "invar-journal"), "j");
  REQUIRE(read);
  CHECK(read->verdict == "pin");
  CHECK(read->failed == std::vector<std::string>{"rows"});
  CHECK(read->messages.empty());
  CHECK_FALSE(read->bytes);
  CHECK(read->observations.empty());

  json newer = full;  // a newer writer's shapes: left out, the record stands
  newer["messages"] = "one string";
  newer["bytes"] = -1;
  newer["observations"] = json::array({1, json::object({{"invariant", "rows"}, {"value", 3}, {"extra", true}})});
  newer["unknown_field"] = {1, 2};
  read = store::decode_journal(store::seal(newer, "invar-journal"), "j");
  REQUIRE(read);
  CHECK(read->verdict == "pin");
  CHECK(read->messages.empty());
  CHECK_FALSE(read->bytes);
  REQUIRE(read->observations.size() == 1);
  CHECK(read->observations[0].value == 3);

  json many = full;  // more than the bounds say: cut when read
  many["messages"] = std::vector<std::string>(20, std::string(1000, 'm'));
  many["messages_omitted"] = 5;
  many["observations"] = std::vector<json>(40, full["observations"][0]);
  read = store::decode_journal(store::seal(many, "invar-journal"), "j");
  REQUIRE(read);
  CHECK(read->messages.size() == kJournalMessages);
  CHECK(read->messages_omitted == 5 + 12);
  CHECK(read->messages[0].size() == kJournalMessageBytes);
  CHECK(read->observations.size() == kJournalObservations);
}

TEST_CASE("the on-call page shows each stage's LKG and the waivers in force", "[html]") {
  StreamPage page = pinned_page();
  page.status.rollout = RolloutReport{};
  page.status.rollout->policy = "web-rollout";
  StageReport canary;
  canary.name = "canary";
  canary.state = "baking";
  canary.detail = "bakes until 12:00";
  canary.lkg = StageHolding{"sha256:" + std::string(64, 'c'), 10, "43", 4, 1, kT0};
  StageReport everywhere;
  everywhere.name = "everywhere<&>";
  everywhere.state = "empty";
  page.status.rollout->stages = {canary, everywhere};
  Waiver w;
  w.invariant = "rows";
  w.reason = "CHG-1 <bulk import>";
  w.by = "oncall";
  w.id = "0123456789ab";
  w.expires_ms = kT0 + 60 * kMin;
  page.status.active_waivers.push_back(w);
  std::string html = render_html({page}, "t", kT0 + 60 * kMin);
  CHECK(has(html, "<h3>Stages (web-rollout)</h3>"));
  CHECK(has(html, "<td>canary</td><td>baking</td><td><code title=\"sha256:cccc"));
  CHECK(has(html, "<td>everywhere&lt;&amp;&gt;</td><td>empty</td><td>-</td>"));
  CHECK(has(html, "<td><code>0123456789ab</code></td><td>rows</td><td>every candidate</td>"));
  CHECK(has(html, "CHG-1 &lt;bulk import&gt;"));
}
