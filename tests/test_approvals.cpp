// Two-person waivers (issue 33, item 5): a stream created with
// `--approvals 2` applies a waiver only once a second person approved it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "etcd_cluster.hpp"
#include "gate_fixture.hpp"
#include "invar/gate.hpp"
#include "invar/invar.hpp"
#include "store/records.hpp"
#include "process.hpp"

using nlohmann::json;
using test::contains;
using test::Fixture;

namespace {

// Creates the fixture's stream "s" needing `approvals` people per waiver.
void init_with(Fixture& f, const std::string& approvals) {
  auto r = test::invar({"init", "--state", f.state, "--stream", "s", "--contract", f.contract, "--by", "test",
                        "--approvals", approvals});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  f.created = f.state;
}

test::Run waive(Fixture& f, const std::string& now, const std::string& by, std::vector<std::string> extra) {
  std::vector<std::string> args = {"waive", "--contract", f.contract, "--stream", "s", "--state", f.state, "--now", now,
                                   "--by", by};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::invar(args);
}

test::Run approve(Fixture& f, const std::string& now, const std::string& id, const std::string& by,
                  std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"waive", "--state", f.state, "--stream", "s", "--now", now, "--approve", id, "--by", by};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::invar(args);
}

std::string waiver_id(const test::Run& r) {
  INFO(r.out);
  REQUIRE(r.exit == 0);
  return json::parse(r.out)["waiver"]["id"];
}

json waivers_of(Fixture& f, const std::string& now) {
  auto r = test::invar({"waivers", "--state", f.state, "--stream", "s", "--now", now, "--format", "json"});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  return json::parse(r.out)["waivers"];
}

std::vector<std::string> events(Fixture& f) {
  auto r = test::invar({"history", "--state", f.state, "s", "--format", "json", "--limit", "1000"});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  std::vector<std::string> out;
  json parsed = json::parse(r.out);
  for (const auto& rec : parsed["records"]) out.push_back(rec["event"].get<std::string>());
  return out;
}

// One person's waiver, then a second person's approval, on the fixture's
// state (a directory or an etcd prefix).
void one_then_two(Fixture& f) {
  init_with(f, "2");
  REQUIRE(f.gate(f.artifact(1005), {"--now", "2026-01-01T00:00:00Z"}).exit == 0);
  auto w = waive(f, "2026-01-01T00:01:00Z", "alice", {"gen", "--reason", "rollback", "--expires", "2h", "--format", "json"});
  std::string id = waiver_id(w);
  CHECK(json::parse(w.out)["waiver"]["approvals"] == 2);
  auto human = waive(f, "2026-01-01T00:01:00Z", "alice", {"items", "--reason", "x", "--expires", "1h"});
  CHECK(contains(human.out, "pending approval: not in force until a second person runs `invar waive --approve"));

  // Alone it waives nothing: pinned as without a waiver, and the decision says why.
  auto pinned = f.gate(f.artifact(1000), {"--now", "2026-01-01T00:02:00Z"});
  INFO(pinned.out);
  CHECK(pinned.exit == 2);
  CHECK(contains(pinned.out, "waiver " + id + " for gen awaits a second approver"));
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1005)));
  json listed = waivers_of(f, "2026-01-01T00:03:00Z");
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["state"] == "awaiting-approval");
  CHECK(listed[0]["approved_by"] == "");
  auto list_human = test::invar({"waivers", "--state", f.state, "--stream", "s", "--now", "2026-01-01T00:03:00Z"});
  CHECK(contains(list_human.out, id + "  awaiting-approval"));
  CHECK(contains(list_human.out, "pending approval: needs a second approver"));
  auto quiet = test::invar({"waivers", "--state", f.state, "--stream", "s", "--now", "2026-01-01T00:03:00Z", "-q"});
  CHECK(quiet.out.empty());  // none in force
  auto status = test::invar({"status", "--state", f.state, "s", "--format", "json", "--now", "2026-01-01T00:03:00Z"});
  INFO(status.out);
  json st = json::parse(status.out)["streams"][0];
  CHECK(st["waivers"].empty());
  CHECK(st["waivers_awaiting_approval"].size() == 2);
  auto status_human = test::invar({"status", "--state", f.state, "s", "--now", "2026-01-01T00:03:00Z"});
  CHECK(contains(status_human.out, "waiver " + id + ": gen until 2026-01-01T02:01:00Z by alice: rollback  (pending approval: not in force)"));
  // The on-call page and the metrics show what awaits a second person.
  auto page = test::invar({"status", "--state", f.state, "s", "--now", "2026-01-01T00:03:00Z", "--html", "-"});
  CHECK(contains(page.out, "<h3>Waivers awaiting approval</h3>"));
  CHECK(contains(page.out, "<code>" + id + "</code>"));
  CHECK(contains(page.out, "waivers in force: none"));
  std::string metrics_file = f.tmp / "status.prom";
  test::invar({"status", "--state", f.state, "s", "--now", "2026-01-01T00:03:00Z", "--metrics", metrics_file});
  std::string metrics = test::slurp(metrics_file);
  CHECK(contains(metrics, "invar_waivers_awaiting_approval{stream=\"s\"} 2"));
  CHECK(contains(metrics, "invar_waivers_active{stream=\"s\"} 0"));

  // The same person cannot approve it.
  auto self = approve(f, "2026-01-01T00:04:00Z", id, "alice");
  CHECK(self.exit == 3);
  CHECK(contains(self.out, "a second, different person must approve it"));

  auto ok = approve(f, "2026-01-01T00:05:00Z", id, "bob", {"--reason", "checked the plan"});
  INFO(ok.out);
  REQUIRE(ok.exit == 0);
  CHECK(contains(ok.out, "approved waiver " + id));
  auto again = approve(f, "2026-01-01T00:06:00Z", id, "carol");
  CHECK(again.exit == 3);
  CHECK(contains(again.out, "approved already, by \"bob\""));
  listed = waivers_of(f, "2026-01-01T00:06:00Z");
  CHECK(listed[0]["state"] == "active");
  CHECK(listed[0]["approved_by"] == "bob");

  auto waived = f.gate(f.artifact(1000), {"--now", "2026-01-01T00:07:00Z"});
  INFO(waived.out);
  CHECK(waived.exit == 0);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1000)));
  CHECK(contains(waived.out, "waived by alice, approved by bob until"));

  // Both are journaled, with who approved and why.
  auto e = events(f);
  CHECK(std::count(e.begin(), e.end(), "waiver") == 2);
  CHECK(std::count(e.begin(), e.end(), "approve") == 1);
  auto history = test::invar({"history", "--state", f.state, "s"});
  CHECK(contains(history.out, "approve waiver " + id + " of gen: approved by bob: checked the plan"));
}

}  // namespace

TEST_CASE("approvals 2: one person's waiver does not let a failing candidate through, a second person's approval does",
          "[gate][waiver]") {
  Fixture f;
  one_then_two(f);
}

TEST_CASE("approvals 2 on etcd: one person's waiver waives nothing until a second approves it", "[fleet][waiver]") {
  auto* etcd = test::shared_etcd();
  if (!etcd) {
    if (test::etcd_installed()) FAIL("the etcd cluster did not answer");
    WARN("etcd is not installed: skipped");
    return;
  }
  Fixture f;
  f.state = etcd->url(test::fresh_prefix("approvals"));
  one_then_two(f);
}

TEST_CASE("approvals 2: approving an unknown, revoked or expired waiver is refused, and on a one-person stream",
          "[gate][waiver]") {
  Fixture f;
  init_with(f, "2");
  REQUIRE(f.gate(f.artifact(1005), {"--now", "2026-01-01T00:00:00Z"}).exit == 0);
  auto unknown = approve(f, "2026-01-01T00:01:00Z", "000000000000", "bob");
  CHECK(unknown.exit == 3);
  CHECK(contains(unknown.out, "has no waiver \"000000000000\""));

  std::string revoked = waiver_id(waive(f, "2026-01-01T00:01:00Z", "alice",
                                        {"gen", "--reason", "r", "--expires", "1h", "--format", "json"}));
  REQUIRE(test::invar({"waive", "--state", f.state, "--stream", "s", "--revoke", revoked, "--reason", "no",
                       "--by", "alice", "--now", "2026-01-01T00:02:00Z"})
              .exit == 0);
  auto after_revoke = approve(f, "2026-01-01T00:03:00Z", revoked, "bob");
  CHECK(after_revoke.exit == 3);
  CHECK(contains(after_revoke.out, "has no waiver"));

  std::string expiring = waiver_id(waive(f, "2026-01-01T00:04:00Z", "alice",
                                         {"items", "--reason", "r", "--expires", "1h", "--format", "json"}));
  auto late = approve(f, "2026-01-01T01:05:00Z", expiring, "bob");
  CHECK(late.exit == 3);
  CHECK(contains(late.out, "expired at 2026-01-01T01:04:00Z"));
  auto e = events(f);
  CHECK(std::count(e.begin(), e.end(), "approve") == 0);

  Fixture plain;  // created without --approvals: waivers as before, nothing to approve
  REQUIRE(plain.gate(plain.artifact(1005), {"--now", "2026-01-01T00:00:00Z"}).exit == 0);
  auto w = waive(plain, "2026-01-01T00:01:00Z", "alice", {"gen", "--reason", "r", "--expires", "1h", "--format", "json"});
  std::string id = waiver_id(w);
  CHECK_FALSE(json::parse(w.out)["waiver"].contains("approvals"));
  auto needless = approve(plain, "2026-01-01T00:02:00Z", id, "bob");
  CHECK(needless.exit == 3);
  CHECK(contains(needless.out, "needs no approval"));
  CHECK(plain.gate(plain.artifact(1000), {"--now", "2026-01-01T00:03:00Z"}).exit == 0);
  CHECK(test::invar({"init", "--state", plain.tmp / "other", "--stream", "s", "--contract", plain.contract, "--by", "t",
                     "--approvals", "3"})
            .exit == 3);
}

TEST_CASE("approvals 2: a scoped waiver approved is used once, and a gate's own --waive only records it",
          "[gate][waiver]") {
  Fixture f;
  init_with(f, "2");
  REQUIRE(f.gate(f.artifact(1005), {"--now", "2026-01-01T00:00:00Z"}).exit == 0);
  // The gate's --waive: recorded, awaiting approval, and this candidate is not let through.
  auto own = f.gate(f.artifact(1003), {"--now", "2026-01-01T00:01:00Z", "--waive", "gen", "--for-generation", "1003",
                                       "--reason", "rollback to 1003", "--expires", "1h", "--by", "alice"});
  INFO(own.out);
  CHECK(own.exit == 2);
  CHECK(contains(own.out, "is recorded awaiting a second approver (this stream needs two people)"));
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1005)));
  json listed = waivers_of(f, "2026-01-01T00:02:00Z");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["state"] == "awaiting-approval");
  std::string id = listed[0]["id"];
  REQUIRE(approve(f, "2026-01-01T00:03:00Z", id, "bob", {"-q"}).out.empty());
  auto rollback = f.gate(f.artifact(1003), {"--now", "2026-01-01T00:04:00Z"});
  INFO(rollback.out);
  CHECK(rollback.exit == 0);
  CHECK(contains(rollback.out, "for this candidate, once"));
  CHECK(waivers_of(f, "2026-01-01T00:05:00Z")[0]["state"] == "used");
  CHECK(f.gate(f.artifact(1003, 2), {"--now", "2026-01-01T00:06:00Z"}).exit == 2);  // used once
}

TEST_CASE("approvals 2 through the C++ API: InitOptions::approvals and StateStore::approve_waiver",
          "[gate][waiver][api]") {
  test::TempDir tmp;
  auto store = invar::StateStore::open_directory(tmp / "state");
  REQUIRE(store);
  auto contract = invar::Contract::load_string(R"j({"contract": "serial", "invariants": [
    {"id": "serial", "monotonic": "$.serial", "strict": true}]})j", ".", "serial");
  REQUIRE(contract);
  invar::Gate gate(*contract, *store);
  invar::InitOptions init;
  init.by = "test";
  init.approvals = 2;
  REQUIRE(gate.init("dns", init));
  auto plan = [](int serial) { return "{\"serial\": " + std::to_string(serial) + "}"; };
  REQUIRE(gate.submit("dns", plan(1005))->action == invar::Action::accept);
  auto w = gate.waive("dns", invar::WaiverRequest{"serial", "rollback", 3'600'000, "alice"});
  REQUIRE(w);
  CHECK(w->approvals == 2);
  CHECK(w->approved_by.empty());
  auto pinned = gate.submit("dns", plan(1000));
  REQUIRE(pinned);
  CHECK(pinned->action == invar::Action::pin);
  CHECK(std::any_of(pinned->warnings.begin(), pinned->warnings.end(),
                    [&](const std::string& s) { return contains(s, "waiver " + w->id + " for serial awaits a second approver"); }));
  int64_t t = invar::Time::now().ms();
  CHECK(store->status("dns", t)->awaiting_approval.size() == 1);
  auto self = store->approve_waiver("dns", w->id, "alice", "", t);
  REQUIRE_FALSE(self);
  CHECK(self.error().code == invar::ErrorCode::usage);
  auto approved = store->approve_waiver("dns", w->id, "bob", "ok", t);
  REQUIRE(approved);
  CHECK(approved->approved_by == "bob");
  CHECK(approved->approved_ms == t);
  CHECK(store->status("dns", t)->active_waivers.size() == 1);
  CHECK(store->status("dns", t)->awaiting_approval.empty());
  CHECK(gate.submit("dns", plan(1000))->action == invar::Action::accept);
  invar::InitOptions three = init;
  three.approvals = 3;
  CHECK_FALSE(gate.init("other", three));
}

TEST_CASE("approvals in the records: a stream record without it reads as 1, and older invar refuses two-person records",
          "[gate][waiver][store]") {
  invar::StreamInfo info{"s", "race", "sha256:" + std::string(64, 'a'), 1, "test"};
  std::string one = invar::store::encode_stream(info);
  CHECK(one.find("approvals") == std::string::npos);  // as an older invar wrote it
  CHECK(json::parse(one)["version"] == 1);
  auto read_one = invar::store::decode_stream(one, "stream.json");
  REQUIRE(read_one);
  CHECK(read_one->approvals == 1);
  info.approvals = 2;
  std::string two = invar::store::encode_stream(info);
  CHECK(json::parse(two)["version"] == invar::store::kApprovalStreamVersion);  // an older invar refuses it
  auto read_two = invar::store::decode_stream(two, "stream.json");
  REQUIRE(read_two);
  CHECK(read_two->approvals == 2);

  invar::Waiver w{"gen", "why", "alice", 1, 2};
  CHECK(json::parse(invar::store::encode_waivers({w}))["version"] == 1);
  w.approvals = 2;
  std::string pending = invar::store::encode_waivers({w});
  CHECK(json::parse(pending)["version"] == invar::store::kApprovalWaiversVersion);
  w.approved_by = "bob";
  w.approved_ms = 2;
  auto back = invar::store::decode_waivers(invar::store::encode_waivers({w}), "waivers.json");
  REQUIRE(back);
  REQUIRE(back->size() == 1);
  CHECK(back->at(0).approvals == 2);
  CHECK(back->at(0).approved_by == "bob");
  CHECK(back->at(0).approved_ms == 2);
}
