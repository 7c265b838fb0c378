// The Store conformance suite (src/store/store.hpp): every backend passes
// the same cases. A backend added later (etcd) joins `backends()`.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <thread>

#include "common/digest.hpp"
#include "gate/gate.hpp"
#include "etcd_cluster.hpp"
#include "process.hpp"
#include "store/store.hpp"

using namespace invar;
using store::Status;

namespace {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<store::Store>(const std::string& dir)> open;
};

std::vector<Backend> backends() {
  std::vector<Backend> out = {{"directory",
                               [](const std::string& dir) { return std::move(store::open_fs_store(dir, {}).value()); }},
                              {"memory", [](const std::string&) { return store::open_mem_store(); }}};
  if (auto* etcd = test::shared_etcd())
    out.push_back({"etcd", [etcd](const std::string&) {
                     StoreOptions options;
                     options.orphan_grace_ms = 0;  // collected at once, as the other backends do
                     return std::move(store::open_etcd_store(etcd->url(test::fresh_prefix("store")), options).value());
                   }});
  else if (std::getenv("CI"))
    FAIL("etcd is not installed (scripts/install-deps installs etcd-server): the etcd backend was not tested");
  else
    WARN("etcd is not installed: the conformance suite ran on the directory and memory backends only");
  return out;
}

LkgRecord lkg_record(const std::string& stream, uint64_t sequence, const std::string& bytes) {
  return {stream, sequence, digest::sha256(bytes), bytes.size(), std::to_string(sequence), 1000 * int64_t(sequence),
          "c", "sha256:" + std::string(64, '0')};
}

// A fresh store whose stream "a" is created and locked for writing (the
// lock is released first when this goes out of scope).
struct Locked {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::Lock> lock;
};
Locked created_and_locked(const Backend& backend, const std::string& dir) {
  Locked out{backend.open(dir), nullptr};
  REQUIRE_FALSE(out.store->create_stream({"a", "c", "sha256:x", 5, "me"}));
  auto lock = out.store->lock("a", true);
  REQUIRE(lock);
  out.lock = std::move(lock.value());
  return out;
}

JournalRecord decision(const std::string& stream, const std::string& verdict, int64_t at) {
  JournalRecord r;
  r.event = "decision";
  r.time_ms = at;
  r.stream = stream;
  r.host = "h";
  r.pid = 1;
  r.verdict = verdict;
  r.totals = {1, 0, 0, 0};
  return r;
}

}  // namespace

TEST_CASE("store conformance: streams exist only once created, and say for which contract", "[store]") {
  for (const auto& backend : backends()) {
    INFO(backend.name);
    test::TempDir tmp;
    auto s = backend.open(tmp / "state");
    CHECK_FALSE(s->has_location().value());
    CHECK_FALSE(s->has_stream("a").value());
    CHECK(s->lock("a", false));        // readers of nothing find nothing
    auto exclusive = s->lock("a", true);  // writers need a stream
    REQUIRE_FALSE(exclusive);
    CHECK(exclusive.error().code == ErrorCode::usage);
    REQUIRE_FALSE(s->create_stream({"b", "c", "sha256:x", 5, "me"}));
    REQUIRE_FALSE(s->create_stream({"a", "c", "sha256:x", 5, "me"}));
    auto again = s->create_stream({"a", "c", "sha256:x", 5, "me"});
    REQUIRE(again);
    CHECK(again->code == ErrorCode::usage);
    CHECK(s->has_location().value());
    CHECK(s->has_stream("a").value());
    CHECK(s->streams().value() == std::vector<std::string>{"a", "b"});
    auto info = s->stream_info("a");
    REQUIRE(info);
    REQUIRE(info.value());
    CHECK(info.value()->created_by == "me");
    CHECK(s->lkg("a").value() == std::nullopt);
    CHECK(s->accepted("a").value().empty());
    CHECK(s->journal("a").value().records.empty());
  }
}

TEST_CASE("store conformance: promotion, retention and pruning keep the LKG and the last N", "[store]") {
  for (const auto& backend : backends()) {
    INFO(backend.name);
    test::TempDir tmp;
    auto [s, lock] = created_and_locked(backend, tmp / "state");
    std::vector<std::string> bytes = {"{\"g\": 1}", "{\"g\": 2}", "{\"g\": 3}"};
    for (uint64_t i = 0; i < bytes.size(); ++i) {
      invariants::Measures m;
      m["n"].definition = "delta count($.x)";
      m["n"].number = static_cast<double>(i);
      REQUIRE_FALSE(s->promote("a", bytes[i], m, lkg_record("a", i + 1, bytes[i]), 2));
      auto removed = s->prune("a");
      REQUIRE(removed);
      CHECK(removed.value() == (i == 2 ? 1u : 0u));  // the first, once two newer are kept
    }
    CHECK(s->prune("a").value() == 0);
    auto lkg = s->lkg("a").value();
    REQUIRE(lkg);
    CHECK(lkg->sequence == 3);
    CHECK(lkg->digest == digest::sha256(bytes[2]));
    CHECK(s->artifact("a", lkg->digest, 100).value() == bytes[2]);
    CHECK(s->measures("a", lkg->digest).value().value().at("n").number == 2);
    auto list = s->accepted("a").value();
    REQUIRE(list.size() == 2);
    CHECK(list[0].sequence == 2);
    CHECK(list[1].sequence == 3);
    CHECK(s->artifact("a", digest::sha256(bytes[1]), 100));  // retained
    auto pruned = s->artifact("a", digest::sha256(bytes[0]), 100);
    REQUIRE_FALSE(pruned);  // outside the retention list: gone
    CHECK(pruned.error().code == ErrorCode::state);
    auto small = s->artifact("a", lkg->digest, 3);  // larger than the caller allows
    REQUIRE_FALSE(small);
    CHECK(small.error().code == ErrorCode::state);
    // verify_artifact checks what artifact() checks, without returning the bytes.
    CHECK_FALSE(s->verify_artifact("a", lkg->digest, bytes[2].size()));
    auto wrong_size = s->verify_artifact("a", lkg->digest, bytes[2].size() - 1);
    REQUIRE(wrong_size);
    CHECK(wrong_size->code == ErrorCode::state);
    auto gone = s->verify_artifact("a", digest::sha256(bytes[0]), bytes[0].size());
    REQUIRE(gone);
    CHECK(gone->code == ErrorCode::state);
    // An entry past the LKG's sequence belongs to an uncommitted promotion.
    std::vector<Accepted> with_leftover = list;
    with_leftover.push_back({"sha256:" + std::string(64, 'f'), "9", 9, 4});
    CHECK(store::committed(with_leftover, lkg).size() == 2);
  }
}

TEST_CASE("store conformance: a staged artifact is promoted, or collected when no promotion follows", "[store]") {
  for (const auto& backend : backends()) {
    INFO(backend.name);
    test::TempDir tmp;
    auto [s, lock] = created_and_locked(backend, tmp / "state");
    invariants::Measures m;
    m["n"].definition = "delta count($.x)";
    std::string first = "{\"g\": 1}", second = "{\"g\": 2}", dropped = "{\"g\": 3}";
    REQUIRE_FALSE(s->stage("a", first, m, digest::sha256(first)));
    REQUIRE_FALSE(s->promote("a", first, m, lkg_record("a", 1, first), 2));
    CHECK(s->artifact("a", digest::sha256(first), 100).value() == first);
    REQUIRE_FALSE(s->stage("a", dropped, m, digest::sha256(dropped)));  // judged, then not promoted
    REQUIRE_FALSE(s->promote("a", second, m, lkg_record("a", 2, second), 2));  // promote writes what was not staged
    CHECK(s->artifact("a", digest::sha256(second), 100).value() == second);
    CHECK(s->measures("a", digest::sha256(second)).value());
    REQUIRE(s->prune("a"));
    CHECK_FALSE(s->artifact("a", digest::sha256(dropped), 100));
    CHECK(s->artifact("a", digest::sha256(first), 100));
    // Staged, collected before any promotion (another gate's prune), then promoted: written again.
    REQUIRE_FALSE(s->stage("a", dropped, m, digest::sha256(dropped)));
    REQUIRE(s->prune("a"));
    REQUIRE_FALSE(s->promote("a", dropped, m, lkg_record("a", 3, dropped), 2));
    CHECK(s->artifact("a", digest::sha256(dropped), 100).value() == dropped);
    CHECK(s->measures("a", digest::sha256(dropped)).value());
  }
}

namespace {

// A plan-like artifact of about `size` bytes (compressible: deflated on etcd).
std::string large_plan(size_t size, char variant) {
  std::string out = "{\"g\": 1, \"records\": [";
  for (size_t i = 0; out.size() < size; ++i)
    out += "{\"name\": \"host" + std::to_string(i) + ".example.com.\", \"v\": \"" + std::string(1, variant) + "\"},";
  out.back() = ']';
  return out + "}";
}

}  // namespace

TEST_CASE("store conformance: an artifact prepared beside the judgement is stored as the bytes promoted", "[store]") {
  for (const auto& backend : backends()) {
    INFO(backend.name);
    test::TempDir tmp;
    auto [s, lock] = created_and_locked(backend, tmp / "state");
    invariants::Measures m;
    // Staged (over the inline limit) and inline, each prepared first.
    std::string staged = large_plan(1200 << 10, 'a'), inline_one = large_plan(200 << 10, 'b');
    s->prepare_object(staged);
    REQUIRE_FALSE(s->stage("a", staged, m, digest::sha256(staged)));
    REQUIRE_FALSE(s->promote("a", staged, m, lkg_record("a", 1, staged), 4));
    s->prepare_done();
    CHECK(s->artifact("a", digest::sha256(staged), staged.size()).value() == staged);
    s->prepare_object(inline_one);
    REQUIRE_FALSE(s->promote("a", inline_one, m, lkg_record("a", 2, inline_one), 4));
    s->prepare_done();
    CHECK(s->artifact("a", digest::sha256(inline_one), inline_one.size()).value() == inline_one);
    // Other bytes of the same size promoted meanwhile are stored as they are, not as the prepared ones.
    std::string prepared = large_plan(300 << 10, 'c'), other = prepared;
    other[other.size() / 2] = other[other.size() / 2] == '1' ? '2' : '1';
    s->prepare_object(prepared);
    REQUIRE_FALSE(s->promote("a", other, m, lkg_record("a", 3, other), 4));
    s->prepare_done();
    CHECK(s->artifact("a", digest::sha256(other), other.size()).value() == other);
    // Bytes changed after prepare_done() are stored as they are then.
    s->prepare_object(prepared);
    s->prepare_done();
    prepared[prepared.size() / 3] = prepared[prepared.size() / 3] == '1' ? '2' : '1';
    REQUIRE_FALSE(s->promote("a", prepared, m, lkg_record("a", 4, prepared), 4));
    CHECK(s->artifact("a", digest::sha256(prepared), prepared.size()).value() == prepared);
    s->prepare_object(prepared);  // judged, never promoted
    s->prepare_done();
  }
}

TEST_CASE("store conformance: journal, waivers and quarantine read back as written", "[store]") {
  for (const auto& backend : backends()) {
    INFO(backend.name);
    test::TempDir tmp;
    auto [s, lock] = created_and_locked(backend, tmp / "state");
    for (int i = 0; i < 3; ++i) {
      auto r = decision("a", i == 1 ? "pin" : "accept", 100 + i);
      REQUIRE_FALSE(s->reserve("a", r));
      REQUIRE_FALSE(s->append("a", r));
    }
    auto journal = s->journal("a").value();
    REQUIRE(journal.records.size() == 3);
    CHECK(journal.records[1].verdict == "pin");
    CHECK(journal.records[2].time_ms == 102);
    CHECK(journal.records[2].totals == std::vector<uint64_t>{1, 0, 0, 0});
    CHECK(journal.torn_bytes == 0);
    CHECK_FALSE(s->repair_journal("a").value());

    std::vector<Waiver> waivers = {{"n", "why", "me", 1, 2}, {"m", "because", "you", 3, 4}};
    waivers[1].for_generation = "7";
    REQUIRE(s->set_waivers("a", waivers, s->waiver_list("a").value().version));
    auto read = s->waivers("a").value();
    REQUIRE(read.size() == 2);
    CHECK(read[1].reason == "because");
    CHECK(read[1].for_generation == "7");
    CHECK(read[0].id.size() == 12);
    CHECK(read[0].id == store::waiver_id(read[0]));
    // Fenced: a writer that read the list before another changed it writes nothing.
    auto listed = s->waiver_list("a").value();
    CHECK(listed.waivers.size() == 2);
    REQUIRE(s->set_waivers("a", {waivers[0]}, listed.version));
    auto stale = s->set_waivers("a", waivers, listed.version);
    if (backend.name == "etcd") {
      REQUIRE_FALSE(stale);
      CHECK(stale.error().code == ErrorCode::conflict);
      CHECK(s->waivers("a").value().size() == 1);
    }

    std::vector<std::string> bad = {"[1]", "[2]", "[3]"};
    for (size_t i = 0; i < bad.size(); ++i)
      REQUIRE_FALSE(s->quarantine("a", bad[i], {digest::sha256(bad[i]), bad[i].size(), int64_t(i), "pin", {"n"}}, 2));
    REQUIRE_FALSE(s->quarantine("a", bad[2], {digest::sha256(bad[2]), bad[2].size(), 9, "pin", {"n"}}, 2));  // again
    auto q = s->quarantined("a").value();
    REQUIRE(q.size() == 2);
    CHECK(q[0].digest == digest::sha256(bad[1]));
    CHECK(q[1].time_ms == 9);
    CHECK(s->quarantined_artifact("a", digest::sha256(bad[2]), 100).value() == bad[2]);
    CHECK_FALSE(s->quarantined_artifact("a", digest::sha256(bad[0]), 100));
  }
}

TEST_CASE("store conformance: a decision is written only while the LKG is at its fence", "[store]") {
  for (const auto& backend : backends()) {
    INFO(backend.name);
    test::TempDir tmp;
    auto [s, lock] = created_and_locked(backend, tmp / "state");
    auto before = s->fence("a");
    REQUIRE(before);
    invariants::Measures none;
    std::string first = "{\"g\": 1}", second = "{\"g\": 2}";
    store::Promotion p1{first, &none, lkg_record("a", 1, first), 10};
    bool committed = false;
    REQUIRE_FALSE(s->decide("a", *before, decision("a", "accept", 1), &p1, committed));
    CHECK(committed);
    // A decision judged against the old fence is refused, and writes nothing.
    store::Promotion p2{second, &none, lkg_record("a", 2, second), 10};
    auto refused = s->decide("a", *before, decision("a", "accept", 2), &p2, committed);
    REQUIRE(refused);
    CHECK(refused->code == ErrorCode::conflict);
    CHECK_FALSE(committed);
    CHECK(s->lkg("a").value()->sequence == 1);
    CHECK(s->journal("a").value().records.size() == 1);
    auto pin = s->decide("a", *before, decision("a", "pin", 3), nullptr, committed);  // pins are fenced too
    REQUIRE(pin);
    CHECK(pin->code == ErrorCode::conflict);
    auto now = s->fence("a");
    REQUIRE(now);
    CHECK(now->version != before->version);
    REQUIRE_FALSE(s->decide("a", *now, decision("a", "accept", 4), &p2, committed));
    CHECK(s->lkg("a").value()->digest == digest::sha256(second));
    CHECK(s->journal("a").value().records.size() == 2);
  }
}

TEST_CASE("store conformance: a stream is created with its seed and first record as one unit, only if absent",
          "[store]") {
  for (const auto& backend : backends()) {
    INFO(backend.name);
    test::TempDir tmp;
    auto s = backend.open(tmp / "state");
    invariants::Measures none;
    std::string seed = "{\"g\": 1}", other = "{\"g\": 2}";
    JournalRecord init = decision("a", "seed", 1);
    init.event = "init";
    init.lkg_sequence = 1;
    store::Promotion p{seed, &none, lkg_record("a", 1, seed), 1};
    REQUIRE_FALSE(s->init_stream({"a", "c", "sha256:x", 5, "me"}, &init, &p));
    CHECK(s->stream_info("a").value().value().created_by == "me");
    CHECK(s->lkg("a").value().value().digest == digest::sha256(seed));
    CHECK(s->artifact("a", digest::sha256(seed), 100).value() == seed);
    CHECK(s->accepted("a").value().size() == 1);
    auto journal = s->journal("a").value().records;
    REQUIRE(journal.size() == 1);
    CHECK(journal[0].event == "init");
    CHECK(journal[0].lkg_sequence == 1);
    {  // a gate promotes the next one
      auto lock = s->lock("a", true);
      REQUIRE(lock);
      auto fence = s->fence("a");
      REQUIRE(fence);
      store::Promotion next{other, &none, lkg_record("a", 2, other), 10};
      bool committed = false;
      REQUIRE_FALSE(s->decide("a", *fence, decision("a", "accept", 2), &next, committed));
    }
    // Another init of the same stream changes nothing.
    auto again = s->init_stream({"a", "c2", "sha256:y", 6, "you"}, &init, &p);
    REQUIRE(again);
    CHECK(again->code == ErrorCode::usage);
    CHECK(s->stream_info("a").value().value().created_by == "me");
    CHECK(s->lkg("a").value().value().digest == digest::sha256(other));
    CHECK(s->journal("a").value().records.size() == 2);
    CHECK(s->streams().value() == std::vector<std::string>{"a"});
  }
}

TEST_CASE("store conformance: a contract switch is written with its decision, never by a refused one", "[store]") {
  for (const auto& backend : backends()) {
    INFO(backend.name);
    test::TempDir tmp;
    auto [s, lock] = created_and_locked(backend, tmp / "state");
    auto before = s->fence("a");
    REQUIRE(before);
    invariants::Measures none;
    std::string first = "{\"g\": 1}";
    store::Promotion p1{first, &none, lkg_record("a", 1, first), 10};
    bool committed = false;
    REQUIRE_FALSE(s->decide("a", *before, decision("a", "accept", 1), &p1, committed));
    JournalRecord note = decision("a", "", 2);
    note.event = "contract-change";
    note.detail = "from c to d";
    store::ContractSwitch to_d{{"a", "d", "sha256:d", 5, "me"}, note};
    auto refused = s->decide("a", *before, decision("a", "pin", 2), nullptr, committed, nullptr, &to_d);  // a stale fence
    REQUIRE(refused);
    CHECK(refused->code == ErrorCode::conflict);
    CHECK(s->stream_info("a").value().value().contract == "c");
    CHECK(s->journal("a").value().records.size() == 1);
    auto now = s->fence("a");
    REQUIRE(now);
    REQUIRE_FALSE(s->decide("a", *now, decision("a", "pin", 3), nullptr, committed, nullptr, &to_d));
    CHECK(s->stream_info("a").value().value().contract == "d");
    auto journal = s->journal("a").value().records;
    REQUIRE(journal.size() == 3);
    auto is_switch = [](const JournalRecord& r) { return r.event == "contract-change"; };
    CHECK(std::count_if(journal.begin(), journal.end(), is_switch) == 1);
  }
}

namespace {

// A store on which another gate promotes `intruder` just before this
// gate's first write: the race a lock cannot prevent across hosts.
class RacingStore : public store::Store {
 public:
  explicit RacingStore(std::unique_ptr<store::Store> inner) : inner_(std::move(inner)) {}
  int refused = 0;
  void arm(std::string intruder) { intruder_ = std::move(intruder); }

  Status decide(const std::string& stream, const store::Fence& fence, const JournalRecord& record,
                const store::Promotion* promotion, bool& committed, const store::WaiverUse* waivers = nullptr,
                const store::ContractSwitch* switched = nullptr, const store::RolloutFence* rollout = nullptr) override {
    if (!intruder_.empty()) {
      auto lkg = inner_->lkg(stream).value();
      uint64_t next = lkg ? lkg->sequence + 1 : 1;
      invariants::Measures none;
      REQUIRE_FALSE(inner_->promote(stream, intruder_, none, lkg_record(stream, next, intruder_), 10));
      intruder_.clear();
    }
    auto e = inner_->decide(stream, fence, record, promotion, committed, waivers, switched, rollout);
    refused += e && e->code == ErrorCode::conflict;
    return e;
  }
  Result<store::Versioned> rollout_record(const std::string& s) override { return inner_->rollout_record(s); }
  Result<store::Versioned> control_record(const std::string& s) override { return inner_->control_record(s); }
  Result<store::Versioned> freeze_record() override { return inner_->freeze_record(); }
  Result<uint64_t> set_freeze_record(const std::string& t, uint64_t v) override {
    return inner_->set_freeze_record(t, v);
  }

  Result<std::unique_ptr<store::Lock>> lock(const std::string& s, bool x) override { return inner_->lock(s, x); }
  Result<bool> has_location() override { return inner_->has_location(); }
  Result<bool> has_stream(const std::string& s) override { return inner_->has_stream(s); }
  Status init_stream(const StreamInfo& i, const JournalRecord* r, const store::Promotion* p,
                     const std::string* rollout = nullptr) override {
    return inner_->init_stream(i, r, p, rollout);
  }
  Result<std::optional<StreamInfo>> stream_info(const std::string& s) override { return inner_->stream_info(s); }
  Status set_stream_info(const StreamInfo& i) override { return inner_->set_stream_info(i); }
  Result<std::vector<std::string>> streams() override { return inner_->streams(); }
  Result<store::Fence> fence(const std::string& s) override { return inner_->fence(s); }
  Result<std::optional<LkgRecord>> lkg(const std::string& s) override { return inner_->lkg(s); }
  Result<std::string> artifact(const std::string& s, const std::string& d, uint64_t m) override {
    return inner_->artifact(s, d, m);
  }
  Result<std::optional<invariants::Measures>> measures(const std::string& s, const std::string& d) override {
    return inner_->measures(s, d);
  }
  Result<std::vector<Accepted>> accepted(const std::string& s) override { return inner_->accepted(s); }
  Result<std::vector<Waiver>> waivers(const std::string& s) override { return inner_->waivers(s); }
  Result<store::JournalRead> journal(const std::string& s, uint64_t m) override { return inner_->journal(s, m); }
  Status promote(const std::string& s, std::string_view b, const invariants::Measures& m, const LkgRecord& r,
                 uint32_t k) override {
    return inner_->promote(s, b, m, r, k);
  }
  Result<uint64_t> prune(const std::string& s) override { return inner_->prune(s); }
  Status reserve(const std::string& s, const JournalRecord& r) override { return inner_->reserve(s, r); }
  Status append(const std::string& s, const JournalRecord& r) override { return inner_->append(s, r); }
  Result<std::optional<std::string>> repair_journal(const std::string& s) override { return inner_->repair_journal(s); }
  Result<store::WaiverList> waiver_list(const std::string& s) override { return inner_->waiver_list(s); }
  Result<uint64_t> set_waivers(const std::string& s, const std::vector<Waiver>& w, uint64_t v) override {
    return inner_->set_waivers(s, w, v);
  }
  Status quarantine(const std::string& s, std::string_view b, const Quarantined& q, uint32_t k) override {
    return inner_->quarantine(s, b, q, k);
  }
  Result<std::vector<Quarantined>> quarantined(const std::string& s) override { return inner_->quarantined(s); }
  Result<std::string> quarantined_artifact(const std::string& s, const std::string& d, uint64_t m) override {
    return inner_->quarantined_artifact(s, d, m);
  }
  Status check_outside(const std::string& p) override { return inner_->check_outside(p); }

 private:
  std::unique_ptr<store::Store> inner_;
  std::string intruder_;
};

}  // namespace

TEST_CASE("fencing: a decision whose write is refused is judged again, an older generation ends in pin",
          "[store][gate]") {
  auto contract = Contract::load_string(R"j({"contract": "race", "invariants": [
    {"id": "gen", "monotonic": "$.generation", "strict": true}]})j", ".", "race");
  REQUIRE(contract);
  std::string g1 = R"({"generation": 1})", g2 = R"({"generation": 2})", g3 = R"({"generation": 3})";
  RacingStore racing(store::open_mem_store());
  GateOptions options;
  options.create_streams = true;
  REQUIRE(gate::submit(*contract, racing, "s", g1, options, {}).value().action == Action::accept);
  // g3 is promoted by "another gate" after this one judged g2 against g1.
  racing.arm(g3);
  auto d = gate::submit(*contract, racing, "s", g2, options, {});
  REQUIRE(d);
  CHECK(racing.refused == 1);
  CHECK(d->action == Action::pin);
  REQUIRE(d->artifact);
  CHECK(*d->artifact == g3);  // the LKG in service, never g2
  CHECK(racing.lkg("s").value()->digest == digest::sha256(g3));
  auto journal = racing.journal("s", store::kMaxJournalRead).value().records;
  REQUIRE_FALSE(journal.empty());
  CHECK(journal.back().verdict == "pin");
  CHECK(journal.back().detail == "judged 2 times: 1 write(s) refused because another writer changed the stream meanwhile (fenced)");
}

TEST_CASE("etcd store: a lock's reads come from its own snapshot, whatever another thread of the process writes",
          "[store][fleet]") {
  auto* etcd = test::shared_etcd();
  if (!etcd) {
    WARN("etcd is not installed: skipped");
    return;
  }
  auto s = std::move(store::open_etcd_store(etcd->url(test::fresh_prefix("threads")), {}).value());
  REQUIRE_FALSE(s->create_stream({"a", "c", "sha256:x", 5, "me"}));
  invariants::Measures none;
  std::string first = "{\"g\": 1}", second = "{\"g\": 2}";
  // No Catch2 assertion off the main thread: what failed, or "".
  auto promote = [&](const std::string& bytes, uint64_t sequence) -> std::string {
    auto lock = s->lock("a", true);
    if (!lock) return lock.error().to_string();
    auto fence = s->fence("a");
    if (!fence) return fence.error().to_string();
    store::Promotion p{bytes, &none, lkg_record("a", sequence, bytes), 10};
    bool committed = false;
    auto e = s->decide("a", *fence, decision("a", "accept", int64_t(sequence)), &p, committed);
    return e ? e->to_string() : "";
  };
  REQUIRE(promote(first, 1) == "");
  auto lock = s->lock("a", true);
  REQUIRE(lock);
  auto fence = s->fence("a");
  REQUIRE(fence);
  CHECK(s->lkg("a").value()->digest == digest::sha256(first));
  std::string other_failed;
  std::thread other([&] { other_failed = promote(second, 2); });  // another thread of the same Gate decides meanwhile
  other.join();
  REQUIRE(other_failed == "");
  // This judgement still sees the LKG it is fenced on, and its bytes at that revision ...
  auto lkg = s->lkg("a").value();
  REQUIRE(lkg);
  CHECK(lkg->digest == digest::sha256(first));
  CHECK(s->fence("a").value().version == fence->version);
  CHECK(s->artifact("a", lkg->digest, 100).value() == first);
  // ... and its write is refused: the LKG moved.
  bool committed = false;
  auto refused = s->decide("a", *fence, decision("a", "pin", 3), nullptr, committed);
  REQUIRE(refused);
  CHECK(refused->code == ErrorCode::conflict);
  lock.value().reset();
  auto after = s->lock("a", false);
  REQUIRE(after);
  CHECK(s->lkg("a").value()->digest == digest::sha256(second));
}
