// The etcd backend (docs/fleet.md): the stream's state as keys under a
// prefix, the same sealed records as the directory backend (records.hpp),
// artifacts in chunks, and every decision one transaction fenced by the
// LKG key's mod_revision. Locks are not needed for correctness and are not
// taken: a gate that judged against an LKG that moved finds its transaction
// refused and judges again (src/gate/gate.cpp).
//
//   PREFIX/invar-state                     marker
//   PREFIX/streams/S/r/stream              stream record
//   PREFIX/streams/S/r/lkg, accepted, waivers, quarantine (the small records: one range reads them all)
//   PREFIX/streams/S/meta/objects/HEX      an artifact: size, chunk count, when written (sealed)
//   PREFIX/streams/S/objects/HEX/c/NNNNNN  its bytes, 768 KiB per chunk
//   PREFIX/streams/S/measures/HEX/...      its measures, the same way
//   PREFIX/streams/S/quarantined/HEX/...   a quarantined candidate, the same way
//   PREFIX/streams/S/journal/MS-RAND       one journal record (ordered by creation revision; MS is
//                                          the writer's clock, only used for the age limit)
//   BLOBS/S/KIND/HEX                       an object over max_artifact_bytes, when a blob
//                                          directory is given (its meta says "blob")
//
// Round trips matter more than bytes on this path (each is a request through
// etcd's gateway): a gate reads the small records and the journal's tail in
// one request, the LKG's proof (meta, chunk keys) and measures in a second,
// commits a small promotion with its chunks in one transaction, and prunes
// with one read. A large artifact's chunks go kChunkWriters at a time.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/digest.hpp"
#include "common/files.hpp"
#include "common/fault.hpp"
#include "common/text.hpp"
#include "store/deflate.hpp"
#include "store/etcd_client.hpp"
#include "store/store.hpp"

namespace invar::store {

namespace {

constexpr size_t kChunk = 768 << 10;  // raw bytes per chunk: base64 stays under etcd's 1.5 MiB request limit
// A promotion whose objects are at most this (raw) is one transaction with
// its commit; a larger one writes its chunks first (then the commit checks
// that they still exist). Under etcd's request limit (1.5 MiB of protobuf:
// raw bytes, base64 is only the gateway's JSON) and max-txn-ops (128).
constexpr size_t kInlineBytes = 1 << 20;
constexpr size_t kInlineOps = 32;
// Chunk writes of one large object in flight at once, each a transaction on
// its own connection: etcd batches concurrent proposals into its raft log,
// so four cost little more than one (bench/fleet-load, large).
constexpr size_t kChunkWriters = 4;
// Compares one transaction holds (etcd's default --max-txn-ops, which also
// bounds compares): an object's metas check that many chunks at most.
constexpr size_t kMaxTxnCompares = 128;
// Objects of at least this many bytes are stored deflated when that makes
// them smaller (deflate.hpp): their meta is then version
// kDeflatedObjectVersion, which an invar that cannot inflate refuses.
constexpr size_t kDeflateFrom = 64 << 10;
constexpr int kDeflatedObjectVersion = 2;
// A follower fetches the artifact the watch stream named with its read of
// the records (hint_artifact) up to this size; a larger one is read apart.
constexpr uint64_t kPrefetchMaxBytes = 256 << 10;

// An object's meta, of either version.
Result<nlohmann::json> unseal_object(std::string_view text, const std::string& where) {
  if (auto deflated = unseal(text, where, "invar-object", kDeflatedObjectVersion)) return deflated;
  return unseal(text, where, "invar-object");
}
// Objects leaving the retention (or quarantine) list that one commit deletes,
// oldest first: 4 operations each (2 for a quarantined one), so that a commit
// stays under etcd's 128 operations per transaction (--max-txn-ops) however
// far --keep is lowered. The rest are no longer named: collect() deletes them
// once past the grace period (the same gate's prune, or a later one).
constexpr size_t kMaxRetentionDeletes = 16;
// Journal records one decision's trim deletes at most (the next goes on).
constexpr uint64_t kMaxJournalTrim = 512;
// Updates of the quarantine list a gate tries when others change it meanwhile.
constexpr uint32_t kMaxQuarantineAttempts = 16;
// Journal records a gate reads (flap detection, pinned-since, totals): the
// newest ones; status and history read more (journal()'s budget / 4 KiB).
constexpr uint64_t kJournalTail = kGateJournalRead / 4096;
// Records always kept by the journal's age limit (a quiet stream keeps its story).
constexpr uint64_t kJournalKeepNewest = 64;

// Not a lock (decisions are fenced): the scope of a judgement's snapshot,
// which ends with it.
class SnapshotScope : public Lock {
 public:
  SnapshotScope(std::function<void()> end, uint64_t revision) : end_(std::move(end)), revision_(revision) {}
  ~SnapshotScope() override { end_(); }
  uint64_t revision() const override { return revision_; }

 private:
  std::function<void()> end_;
  uint64_t revision_;
};

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_hex() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

class EtcdStore : public Store {
  using Caller = std::pair<std::thread::id, std::string>;  // a thread, on a stream

 public:
  EtcdStore(EtcdEndpoints endpoints, const StoreOptions& options)
      : client_(endpoints, options), options_(options), endpoints_(std::move(endpoints)) {}
  ~EtcdStore() override { end_prepared(false); }
  EtcdStore(const EtcdStore&) = delete;
  EtcdStore& operator=(const EtcdStore&) = delete;

  // Takes the caller's snapshot of the stream (see fence()): one read. The
  // snapshot is this thread's alone: one Gate may judge on many threads.
  Result<std::unique_ptr<Lock>> lock(const std::string& stream, bool exclusive) override {
    const Caller who = caller(stream);
    uint64_t id = 0;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto it = snapshots_.find(who); it != snapshots_.end() && it->second.for_lock) {
        it->second.for_lock = false;  // once: a judgement again reads again
        id = it->second.id;
      }
    }
    if (!id) {
      auto taken = take_snapshot(stream, false, exclusive);  // readers (followers) need no journal
      if (!taken) return taken.error();
      id = *taken;
    }
    if (exclusive) {
      bool exists = false;
      {
        std::lock_guard<std::mutex> g(mutex_);
        auto it = snapshots_.find(who);
        exists = it != snapshots_.end() && it->second.records.count("stream");
      }
      if (!exists) {
        end_scope(who, id);
        return Error{ErrorCode::usage, "stream " + text::quoted(stream) + " does not exist in etcd", {}};
      }
    }
    return std::unique_ptr<Lock>(
        std::make_unique<SnapshotScope>([this, who, id] { end_scope(who, id); }, pinned(stream)));
  }

  // The stream's small records (r/): etcd's watch stream (src/store/etcd_watch.cpp).
  Wake wait_for_change(const std::string& stream, uint64_t revision, std::chrono::steady_clock::time_point deadline,
                       const std::function<bool()>& stop) override {
    if (!revision) return Wake::unsupported;  // no read to wait past
    std::optional<std::string> lkg;
    switch (client_.watch(rec(stream, ""), revision, deadline, stop, rec(stream, "lkg"), &lkg)) {
      case WatchEnd::changed:
        hint_artifact(stream, lkg);
        return Wake::change;
      case WatchEnd::stopped: return Wake::stop;
      case WatchEnd::timeout: break;
    }
    return Wake::timeout;
  }

  // The LKG record the watch stream carried names the artifact the read
  // that follows will most likely serve: that read (take_snapshot) fetches
  // it with the records, one request instead of two. Only a hint: the
  // snapshot's own LKG record decides, artifact() uses the prefetch only
  // for the digest it is asked for, and verifies it as it would a read.
  void hint_artifact(const std::string& stream, const std::optional<std::string>& lkg) {
    std::lock_guard<std::mutex> g(mutex_);
    hinted_.erase(caller(stream));
    if (!lkg) return;
    auto r = decode_lkg(*lkg, where(stream, "lkg"));
    if (r && r->stream == stream && r->bytes <= kPrefetchMaxBytes && valid_digest(r->digest))
      hinted_[caller(stream)] = r->digest;
  }

  Result<bool> has_location() override {
    auto marker = client_.get(client_.prefix() + "invar-state");
    if (!marker) return marker.error();
    if (!*marker) return false;
    auto j = unseal(marker.value()->value, where("invar-state"), "invar-state");
    if (!j) return j.error();
    return true;
  }

  Result<bool> has_stream(const std::string& stream) override {
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (known_.count(stream)) return true;  // invar never deletes a stream: one read per process
    }
    // The snapshot a lock() that follows uses (one read for both).
    if (auto taken = take_snapshot(stream, true); !taken) return taken.error();
    std::lock_guard<std::mutex> g(mutex_);
    return known_.count(stream) > 0;
  }

  // One transaction, fenced on the stream's record and its LKG being absent:
  // the stream, its first journal record and its seed (a large seed's
  // chunks are written first, and the commit checks that they still exist).
  Status init_stream(const StreamInfo& info, const JournalRecord* record, const Promotion* seed,
                     const std::string* rollout = nullptr) override {
    const std::string& stream = info.stream;
    forget_snapshot(stream);
    auto location = has_location();
    if (!location) return location.error();
    std::vector<TxnCompare> compares = {{rec(stream, "stream"), 0, false}, {rec(stream, "lkg"), 0, false}};
    PromotionPlan plan;
    if (seed) {
      auto p = promotion_ops(stream, seed->bytes, *seed->measures, seed->record, seed->keep, compares);
      if (!p) return p.error();
      plan = std::move(*p);
    }
    plan.ops.push_back({TxnOp::put, rec(stream, "stream"), encode_stream(info)});
    if (rollout) plan.ops.push_back({TxnOp::put, rec(stream, "rollout"), *rollout});
    if (!*location)
      plan.ops.push_back({TxnOp::put, client_.prefix() + "invar-state", seal(nlohmann::json::object(), "invar-state")});
    if (record) plan.ops.push_back({TxnOp::put, journal_key(stream, *record), encode_journal(*record)});
    auto done = client_.txn(compares, plan.ops);
    forget_snapshot(stream);
    if (!done) return done.error();
    if (!*done) {
      auto exists = client_.get(rec(stream, "stream"));
      if (!exists) return exists.error();
      if (!*exists)
        return state_error(where(stream, "objects"),
                           "the seed's chunks were collected before the commit; nothing was created");
      return Error{ErrorCode::usage, "stream " + text::quoted(stream) + " exists already in etcd", {}};
    }
    return std::nullopt;
  }

  Result<std::optional<StreamInfo>> stream_info(const std::string& stream) override {
    auto text = read(stream, "stream");
    if (!text) return text.error();
    if (!*text) return std::optional<StreamInfo>();
    auto info = decode_stream(**text, where(stream, "stream"));
    if (!info) return info.error();
    if (info->stream != stream) return state_error(where(stream, "stream"), "the stream record names another stream");
    return std::optional<StreamInfo>(std::move(info.value()));
  }

  Status set_stream_info(const StreamInfo& info) override {
    forget_snapshot(info.stream);
    return client_.put(rec(info.stream, "stream"), encode_stream(info));
  }

  Result<std::vector<std::string>> streams() override {
    std::string base = client_.prefix() + "streams/";
    auto keys = client_.range(base, 0, false, false, true);
    if (!keys) return keys.error();
    std::vector<std::string> out;
    for (const auto& kv : *keys) {
      std::string rest = kv.key.substr(base.size());
      size_t slash = rest.find('/');
      if (slash != std::string::npos && rest.substr(slash) == "/r/stream" && valid_stream_name(rest.substr(0, slash)))
        out.push_back(rest.substr(0, slash));
    }
    return out;
  }

  // The stream's small records and the journal's tail, read at one
  // revision by lock(): the fence is the LKG's mod_revision in it, and until
  // the stream's lock is released (or this caller writes) the records a
  // judgement reads come from it, and every other read (objects, the
  // journal past its tail) is made at its revision: a reader never mixes
  // records of one revision with objects of a later one.
  Result<Fence> fence(const std::string& stream) override {
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto it = snapshots_.find(caller(stream)); it != snapshots_.end()) {
        auto lkg = it->second.records.find("lkg");
        return Fence{lkg == it->second.records.end() ? 0 : lkg->second.mod_revision};
      }
    }
    if (auto taken = take_snapshot(stream); !taken) return taken.error();
    return fence(stream);
  }

  Result<std::optional<LkgRecord>> lkg(const std::string& stream) override {
    auto text = read(stream, "lkg");
    if (!text) return text.error();
    if (!*text) {
      auto list = accepted(stream);
      if (!list) return list.error();
      for (const auto& a : list.value())
        if (a.sequence >= 2)
          return state_error(where(stream, "lkg"), "is missing, but the retention list has promotion " +
                                                       std::to_string(a.sequence) +
                                                       ": the stream had an LKG and invar will not judge it as new");
      // Fail closed as the directory does: a journal that records an LKG means one existed.
      auto journal_tail = journal(stream, kGateJournalRead);
      if (!journal_tail) return journal_tail.error();
      for (const auto& r : journal_tail->records)
        if (!r.lkg_after.empty() || !r.lkg_before.empty())
          return state_error(where(stream, "lkg"), "is missing, but the journal records an LKG (" + r.lkg_after +
                                                       "): the stream had an LKG and invar will not judge it as new");
      return std::optional<LkgRecord>();
    }
    auto rec = decode_lkg(**text, where(stream, "lkg"));
    if (!rec) return rec.error();
    if (rec->stream != stream) return state_error(where(stream, "lkg"), "the LKG record names another stream");
    return std::optional<LkgRecord>(std::move(rec.value()));
  }

  // Reads the measures with the bytes (one request): a gate reads both.
  Result<std::string> artifact(const std::string& stream, const std::string& digest, uint64_t max_bytes) override {
    std::vector<RangeResult> prefetched;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto it = snapshots_.find(caller(stream)); it != snapshots_.end() && it->second.prefetched_digest == digest)
        prefetched = std::move(it->second.prefetched);  // once
    }
    if (!prefetched.empty()) {  // read with the snapshot; checked as a read is (no measures: a follower's)
      auto one = decode_objects(stream, digest, {{"objects", max_bytes, true}}, std::move(prefetched));
      if (!one) return one.error();
      return present(std::move((*one)[0]), stream, "objects", digest);
    }
    auto both = read_objects(stream, digest, {{"objects", max_bytes, true}, {"measures", kMaxStateFileBytes, false}});
    if (!both) return both.error();
    {
      std::lock_guard<std::mutex> g(mutex_);
      prefetched_measures_[caller(stream)] = {hex_of(digest), std::move((*both)[1])};
    }
    return present(std::move((*both)[0]), stream, "objects", digest);
  }

  // Proves the artifact from its sealed meta (present, `size` bytes, this
  // digest, every chunk there) in one read of keys, without its bytes: they
  // were hashed into the digest that names them when written, and every read
  // that serves them (artifact(): a pin, a watcher, status) verifies them
  // again. A blob is hashed. Its measures come with it (the gate reads them next).
  Status verify_artifact(const std::string& stream, const std::string& digest, uint64_t size) override {
    auto both = read_objects(stream, digest, {{"objects", size, true, true}, {"measures", kMaxStateFileBytes, false}});
    if (!both) return both.error();
    {
      std::lock_guard<std::mutex> g(mutex_);
      prefetched_measures_[caller(stream)] = {hex_of(digest), std::move((*both)[1])};
    }
    auto proved = present(std::move((*both)[0]), stream, "objects", digest);
    if (!proved) return proved.error();
    if (!proved->empty() && proved->size() != size)  // a blob, read and hashed
      return state_error(stream, "the stored LKG has " + std::to_string(proved->size()) + " bytes, its record says " +
                                     std::to_string(size));
    return std::nullopt;
  }

  Result<std::optional<invariants::Measures>> measures(const std::string& stream, const std::string& digest) override {
    Result<std::optional<std::string>> text = std::optional<std::string>();
    bool prefetched = false;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto it = prefetched_measures_.find(caller(stream));
          it != prefetched_measures_.end() && it->second.first == hex_of(digest)) {
        text = std::move(it->second.second);
        prefetched_measures_.erase(it);
        prefetched = true;
      }
    }
    if (!prefetched) {
      auto read = read_objects(stream, digest, {{"measures", kMaxStateFileBytes, false}});
      if (!read) return read.error();
      text = std::move((*read)[0]);
    }
    if (!text) return text.error();
    if (!*text) return std::optional<invariants::Measures>();
    auto m = decode_measures(**text, where(stream, "measures/" + hex_of(digest)), digest);
    if (!m) return m.error();
    return std::move(m.value());
  }

  Result<std::vector<Accepted>> accepted(const std::string& stream) override {
    auto text = read(stream, "accepted");
    if (!text) return text.error();
    if (!*text) return std::vector<Accepted>();
    return decode_accepted(**text, where(stream, "accepted"));
  }

  Result<std::vector<Waiver>> waivers(const std::string& stream) override {
    auto text = read(stream, "waivers");
    if (!text) return text.error();
    if (!*text) return std::vector<Waiver>();
    return decode_waivers(**text, where(stream, "waivers"));
  }

  // From the snapshot when there is one (the list and its revision read together).
  Result<Versioned> rollout_record(const std::string& stream) override { return small_record(stream, "rollout"); }
  Result<Versioned> control_record(const std::string& stream) override { return small_record(stream, "control"); }

  // A record of the stream from the caller's snapshot, when it has one.
  Result<Versioned> small_record(const std::string& stream, const std::string& name) {
    std::optional<KeyValue> kv;
    bool from_snapshot = false;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto snap = snapshots_.find(caller(stream)); snap != snapshots_.end()) {
        from_snapshot = true;
        if (auto it = snap->second.records.find(name); it != snap->second.records.end()) kv = it->second;
      }
    }
    if (!from_snapshot) {
      auto read = client_.get(rec(stream, name));
      if (!read) return read.error();
      kv = std::move(read.value());
    }
    if (!kv) return Versioned{};
    return Versioned{kv->value, kv->mod_revision};
  }

  // From the caller's snapshot when it holds exactly one (a judgement's:
  // its commit is fenced on the freeze's version), else one read.
  Result<Versioned> freeze_record() override {
    {
      std::lock_guard<std::mutex> g(mutex_);
      const auto id = std::this_thread::get_id();
      auto it = snapshots_.lower_bound({id, std::string()});
      const bool one = it != snapshots_.end() && it->first.first == id &&
                       (std::next(it) == snapshots_.end() || std::next(it)->first.first != id);
      if (one) {
        const auto& freeze = it->second.freeze;
        return freeze ? Versioned{freeze->value, freeze->mod_revision} : Versioned{};
      }
    }
    auto read = client_.get(freeze_key());
    if (!read) return read.error();
    if (!read.value()) return Versioned{};
    return Versioned{read.value()->value, read.value()->mod_revision};
  }

  // One transaction fenced on the key's mod_revision; decisions compare it
  // in their own transactions, so none judged under the old one commits.
  Result<uint64_t> set_freeze_record(const std::string& text, uint64_t version) override {
    std::vector<RangeResult> after;
    auto done = client_.txn({{freeze_key(), version, false}},
                            {{text.empty() ? TxnOp::remove_key : TxnOp::put, freeze_key(), text}}, {{freeze_key(), false}},
                            &after);
    if (!done) return done.error();
    if (!*done) return Error{ErrorCode::conflict, "the location's freeze changed meanwhile; nothing was written", {}};
    if (text.empty()) return uint64_t{0};
    if (after.empty() || after[0].kvs.empty()) return state_error(where("freeze"), "etcd did not return the freeze it wrote");
    return after[0].kvs.front().mod_revision;
  }

  Result<WaiverList> waiver_list(const std::string& stream) override {
    std::optional<KeyValue> kv;
    bool from_snapshot = false;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto snap = snapshots_.find(caller(stream)); snap != snapshots_.end()) {
        from_snapshot = true;
        if (auto it = snap->second.records.find("waivers"); it != snap->second.records.end()) kv = it->second;
      }
    }
    if (!from_snapshot) {
      auto read = client_.get(rec(stream, "waivers"));
      if (!read) return read.error();
      kv = std::move(read.value());
    }
    if (!kv) return WaiverList{};
    auto list = decode_waivers(kv->value, where(stream, "waivers"));
    if (!list) return list.error();
    return WaiverList{std::move(list.value()), kv->mod_revision};
  }

  Result<JournalRead> journal(const std::string& stream, uint64_t max_bytes) override {
    // The newest records, one per 4 KiB of the budget (a record is smaller).
    uint64_t limit = std::max<uint64_t>(1, max_bytes / 4096);
    std::vector<KeyValue> kvs;
    bool from_snapshot = false;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto it = snapshots_.find(caller(stream));
          it != snapshots_.end() && it->second.with_journal && limit <= kJournalTail) {
        kvs.assign(it->second.journal.begin(),
                   it->second.journal.begin() + std::min<size_t>(limit, it->second.journal.size()));
        from_snapshot = true;
      }
    }
    if (!from_snapshot) {
      auto read = client_.read({{key(stream, "journal/"), true, limit, true, true}}, pinned(stream));
      if (!read) return read.error();
      kvs = std::move(read->front().kvs);
    }
    JournalRead out;
    for (auto it = kvs.rbegin(); it != kvs.rend(); ++it) {
      auto rec = decode_journal(it->value, where(stream, it->key.substr(key(stream, "").size())));
      if (!rec) return rec.error();
      out.records.push_back(std::move(rec.value()));
    }
    return out;
  }

  Status promote(const std::string& stream, std::string_view bytes, const invariants::Measures& measures,
                 const LkgRecord& record, uint32_t keep) override {
    std::vector<TxnCompare> compares;
    auto plan = promotion_ops(stream, bytes, measures, record, keep, compares);
    forget_snapshot(stream);
    if (!plan) return plan.error();
    std::vector<RangeResult> metas;
    auto done = client_.txn(compares, plan->ops, metas_reads(stream), &metas);
    if (!done) return done.error();
    if (!*done) return state_error(where(stream, "objects"), "the artifact's chunks were collected before the commit");
    committed_promotion(stream, *plan, std::move(metas));
    return std::nullopt;
  }

  Status decide(const std::string& stream, const Fence& fence, const JournalRecord& record, const Promotion* promotion,
                bool& committed, const WaiverUse* waivers = nullptr, const ContractSwitch* switched = nullptr,
                const RolloutFence* rollout = nullptr) override {
    committed = false;
    std::vector<TxnCompare> compares = {{rec(stream, "lkg"), fence.version, false}};
    if (waivers) compares.push_back({rec(stream, "waivers"), waivers->version, false});
    if (rollout) {
      if (rollout->rollout_version) compares.push_back({rec(stream, "rollout"), *rollout->rollout_version, false});
      compares.push_back({rec(stream, "control"), rollout->control_version, false});
      compares.push_back({freeze_key(), rollout->freeze_version, false});
    }
    PromotionPlan plan;
    if (promotion) {  // the retention list as judged (the compare on the LKG covers it: they change together)
      auto p = promotion_ops(stream, promotion->bytes, *promotion->measures, promotion->record, promotion->keep, compares);
      if (!p) return p.error();
      plan = std::move(*p);
    }
    auto trim = trim_due(stream, promotion ? &promotion->record : nullptr);
    forget_snapshot(stream);  // what fence() read is stale once anything is written
    if (waivers && waivers->after) plan.ops.push_back({TxnOp::put, rec(stream, "waivers"), encode_waivers(*waivers->after)});
    if (switched) {
      plan.ops.push_back({TxnOp::put, rec(stream, "stream"), encode_stream(switched->info)});
      plan.ops.push_back({TxnOp::put, journal_key(stream, switched->record), encode_journal(switched->record)});
    }
    if (rollout && rollout->record) plan.ops.push_back({TxnOp::put, rec(stream, "rollout"), *rollout->record});
    if (rollout && rollout->control) plan.ops.push_back({TxnOp::put, rec(stream, "control"), *rollout->control});
    if (!record.event.empty())  // "": a rollout step that only observed health, not journaled
      plan.ops.push_back({TxnOp::put, journal_key(stream, record), encode_journal(record)});
    fault::point("etcd:objects-written");  // chunks written, the commit not yet
    std::vector<RangeResult> metas;
    auto done = client_.txn(compares, plan.ops, promotion ? metas_reads(stream) : std::vector<RangeRequest>{}, &metas);
    if (!done) return done.error();
    if (!*done) {
      auto now = client_.get(rec(stream, "lkg"));
      uint64_t lkg_now = now && now.value() ? now.value()->mod_revision : 0;
      if (waivers && lkg_now == fence.version)
        return Error{ErrorCode::conflict, "stream " + text::quoted(stream) + ": a waiver the decision used was revoked or "
                                          "used up while it was judged; nothing was written", {}};
      if (rollout && lkg_now == fence.version)
        return Error{ErrorCode::conflict, "stream " + text::quoted(stream) + ": its rollout state or the freeze changed "
                                          "while the decision was judged; nothing was written", {}};
      return fence_conflict(stream, fence, lkg_now);
    }
    committed = promotion != nullptr || (rollout && (rollout->record || rollout->control));
    if (promotion) committed_promotion(stream, plan, std::move(metas));
    if (trim) trim_journal(stream, *trim);
    return std::nullopt;
  }

  // A large artifact's chunks and meta, written while the gate stages its
  // publication (the promotion that follows checks its meta still exists);
  // one that fits in the commit's transaction waits for it. Measures are
  // written by the promotion (they depend on the contract it is judged under).
  Status stage(const std::string& stream, std::string_view bytes, const invariants::Measures&,
               const std::string& digest) override {
    if (bytes.size() + (16 << 10) <= kInlineBytes || bytes.size() > options_.max_artifact_bytes) return std::nullopt;
    auto ops = object_ops(stream, "objects", digest, bytes);
    if (!ops) return ops.error();
    if (auto e = write_objects(stream, {std::move(*ops)})) return e;
    std::lock_guard<std::mutex> g(mutex_);
    staged_[stream] = hex_of(digest);
    return std::nullopt;
  }

  // Deflates a large artifact on a thread while the gate judges it
  // (object_ops() takes the result when given the same bytes: the caller
  // keeps them valid and unchanged until prepare_done()). One at a time:
  // while another thread's is under way, the others deflate when they write.
  void prepare_object(std::string_view bytes) override {
    if (bytes.size() < kDeflateFrom || bytes.size() > options_.max_artifact_bytes) return;
    std::lock_guard<std::mutex> g(prepared_mutex_);
    if (prepared_for_.data()) return;
    try {
      prepared_thread_ = std::thread([this, bytes] { prepared_ = deflate_bytes(bytes); });
      prepared_for_ = bytes;
      prepared_by_ = std::this_thread::get_id();
    } catch (const std::system_error&) {
      // no thread: object_ops() deflates when it needs to
    }
  }

  // Ends this thread's prepare_object(), if any.
  void prepare_done() override { end_prepared(true); }

  // Collects objects outside the LKG and the retention list once they are
  // older than the grace period (a gate between writing its chunks and its
  // commit is younger; and its commit checks that they still exist). After
  // this process's promotion, what its commit deleted (the objects that left
  // the retention list) and the metas its commit read back: no request
  // unless there is an orphan to delete. Else one read (the records and the
  // metas). A stream without an LKG record is left alone: nothing says what to keep.
  Result<uint64_t> prune(const std::string& stream) override {
    std::optional<AfterCommit> after;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto it = after_commit_.find(caller(stream)); it != after_commit_.end()) {
        after = std::move(it->second);
        after_commit_.erase(it);
      }
    }
    if (after) {  // metas_reads(): objects, measures, the quarantine list, quarantined
      auto quarantine = decode_quarantine_kvs(after->metas[2]);
      if (!quarantine) return quarantine.error();
      auto orphans = collect(stream, named(&after->lkg, after->retained, *quarantine),
                             {after->metas[0], after->metas[1], after->metas[3]});
      if (!orphans) return orphans.error();
      return after->dropped + *orphans;
    }
    auto read = client_.read({{rec(stream, "")}, {meta_key(stream, "objects", "")}, {meta_key(stream, "measures", "")},
                              {meta_key(stream, "quarantined", "")}});
    if (!read) return read.error();
    std::optional<LkgRecord> current;
    std::vector<Accepted> list;
    std::vector<Quarantined> quarantine;
    std::vector<std::string> held;  // by the stream's stages
    for (const auto& kv : (*read)[0].kvs) {
      std::string name = kv.key.substr(rec(stream, "").size());
      if (name == "lkg") {
        auto r = decode_lkg(kv.value, "etcd:" + kv.key);
        if (!r) return r.error();
        current = std::move(r.value());
      } else if (name == "accepted") {
        auto r = decode_accepted(kv.value, "etcd:" + kv.key);
        if (!r) return r.error();
        list = std::move(r.value());
      } else if (name == "quarantine") {
        auto r = decode_quarantine(kv.value, "etcd:" + kv.key);
        if (!r) return r.error();
        quarantine = std::move(r.value());
      } else if (name == "rollout") {
        auto r = decode_rollout(kv.value, "etcd:" + kv.key);
        if (!r) return r.error();
        held = rollout_digests(*r);
      }
    }
    if (!current) {  // nothing says which stored artifacts to keep; the quarantine list says which candidates
      (*read)[1].kvs.clear();
      (*read)[2].kvs.clear();
    }
    Named keep = named(current ? &*current : nullptr, committed(list, current), quarantine);
    for (const auto& d : held) keep.accepted.insert(hex_of(d));
    keep.rollout_read = true;
    return collect(stream, keep, {std::move((*read)[1]), std::move((*read)[2]), std::move((*read)[3])});
  }

  // The objects collection keeps (hex): the LKG's and the retention list's
  // (with their measures), and the quarantined candidates the list names.
  struct Named {
    std::set<std::string> accepted, quarantined;
    bool rollout_read = false;  // `accepted` holds what the stages hold (else read when an object would go)
  };
  static Named named(const LkgRecord* lkg, const std::vector<Accepted>& retained,
                     const std::vector<Quarantined>& quarantine) {
    Named out;
    if (lkg) out.accepted.insert(hex_of(lkg->digest));
    for (const auto& a : retained) out.accepted.insert(hex_of(a.digest));
    for (const auto& q : quarantine) out.quarantined.insert(hex_of(q.digest));
    return out;
  }

  // Deletes the objects (metas in `metas`: objects, measures, quarantined)
  // that `keep` does not name, once past the grace period (a gate between
  // writing an object and committing the record that names it is younger).
  // Counts the artifacts (not their measures).
  Result<uint64_t> collect(const std::string& stream, Named keep, const std::vector<RangeResult>& metas) {
    uint64_t removed = 0;
    const char* kinds[] = {"objects", "measures", "quarantined"};
    for (size_t k = 0; k < 3 && k < metas.size(); ++k) {
      std::string metas_prefix = meta_key(stream, kinds[k], "");
      for (const auto& kv : metas[k].kvs) {
        std::string hex = kv.key.substr(metas_prefix.size());
        if ((k == 2 ? keep.quarantined : keep.accepted).count(hex)) continue;
        if (k != 2 && !keep.rollout_read) {  // an object a stage still holds is never collected
          auto held = held_by_rollout(*this, stream);
          if (!held) return held.error();
          for (const auto& d : *held) keep.accepted.insert(hex_of(d));
          keep.rollout_read = true;
          if (keep.accepted.count(hex)) continue;
        }
        auto meta = unseal_object(kv.value, kv.key);
        if (meta && wall_ms() - static_cast<int64_t>(etcd_number(*meta, "written_ms")) < options_.orphan_grace_ms) continue;
        if (auto e = remove_object(stream, kinds[k], hex, meta && etcd_flag(*meta, "blob"))) return *e;
        if (k != 1) ++removed;
      }
    }
    return removed;
  }

  // The quarantine list in a read of its key (empty when there is none).
  Result<std::vector<Quarantined>> decode_quarantine_kvs(const RangeResult& read) const {
    if (read.kvs.empty()) return std::vector<Quarantined>();
    return decode_quarantine(read.kvs.front().value, "etcd:" + read.kvs.front().key);
  }

  Status reserve(const std::string&, const JournalRecord&) override { return std::nullopt; }

  Status append(const std::string& stream, const JournalRecord& record) override {
    forget_snapshot(stream);
    return client_.put(journal_key(stream, record), encode_journal(record));
  }

  Result<std::optional<std::string>> repair_journal(const std::string&) override {
    return std::optional<std::string>();  // a record is one key: never torn
  }

  // Fenced on the key's mod_revision: two writers that read the same list
  // cannot both write it (the second finds a conflict and reads again).
  Result<uint64_t> set_waivers(const std::string& stream, const std::vector<Waiver>& waivers,
                               uint64_t version) override {
    forget_snapshot(stream);
    std::vector<RangeResult> after;
    auto done = client_.txn({{rec(stream, "waivers"), version, false}},
                            {{TxnOp::put, rec(stream, "waivers"), encode_waivers(waivers)}}, {{rec(stream, "waivers"), false}},
                            &after);
    if (!done) return done.error();
    if (!*done)
      return Error{ErrorCode::conflict, "stream " + text::quoted(stream) + ": its waivers changed meanwhile; nothing was written", {}};
    if (after.empty() || after[0].kvs.empty())
      return state_error(where(stream, "waivers"), "etcd did not return the waivers it wrote");
    return after[0].kvs.front().mod_revision;
  }

  // The list is updated by a transaction fenced on its mod_revision (racing
  // gates would otherwise overwrite each other's entries and strand their
  // objects), retried when another gate changed it meanwhile. The
  // candidate's object is written first; the commit checks it still exists.
  // Objects the update drops are deleted by it (kMaxRetentionDeletes) and
  // any other quarantined object the list does not name is collected after
  // it, once past the grace period.
  Status quarantine(const std::string& stream, std::string_view bytes, const Quarantined& entry,
                    uint32_t keep) override {
    forget_snapshot(stream);
    const std::string hex = hex_of(entry.digest);
    for (uint32_t attempt = 0; attempt < kMaxQuarantineAttempts; ++attempt) {
      auto now = client_.read({{rec(stream, "quarantine"), false}, {meta_key(stream, "quarantined", hex), false}});
      if (!now) return now.error();
      auto list = decode_quarantine_kvs((*now)[0]);
      if (!list) return list.error();
      if (keep > 0 && (*now)[1].kvs.empty()) {
        auto ops = object_ops(stream, "quarantined", entry.digest, bytes);
        if (!ops) return ops.error();
        if (auto e = write_objects(stream, {std::move(*ops)})) return e;
      }
      fault::point("etcd:quarantine-read");
      auto update = quarantine_update(stream, *list, entry, keep);
      const uint64_t list_revision = (*now)[0].kvs.empty() ? 0 : (*now)[0].kvs.front().mod_revision;
      std::vector<TxnCompare> compares = {{rec(stream, "quarantine"), list_revision, false}};
      if (keep > 0) compares.push_back({meta_key(stream, "quarantined", hex), 0, true});
      std::vector<RangeResult> metas;
      auto done = client_.txn(compares, update.ops, {{meta_key(stream, "quarantined", "")}}, &metas);
      if (!done) return done.error();
      if (!*done) continue;  // another gate changed the list (or collected the object): read it again
      remove_blobs(stream, "quarantined", update.deleted);
      // Best effort: the candidate is quarantined; a later prune collects what this could not.
      (void)collect(stream, named(nullptr, {}, update.entries), {{}, {}, std::move(metas.front())});
      return std::nullopt;
    }
    return Error{ErrorCode::conflict,
                 "the quarantine list of stream " + text::quoted(stream) + " changed under each of " +
                     std::to_string(kMaxQuarantineAttempts) + " updates (other gates are quarantining on it)",
                 {}};
  }

  Result<std::vector<Quarantined>> quarantined(const std::string& stream) override {
    auto text = read(stream, "quarantine");
    if (!text) return text.error();
    if (!*text) return std::vector<Quarantined>();
    return decode_quarantine(**text, where(stream, "quarantine"));
  }

  Result<std::string> quarantined_artifact(const std::string& stream, const std::string& digest,
                                           uint64_t max_bytes) override {
    return present(read_object(stream, "quarantined", digest, max_bytes), stream, "quarantined", digest);
  }

  Status check_outside(const std::string&) override { return std::nullopt; }

 private:
  // A small record of the stream (stream, lkg, accepted, waivers, quarantine).
  std::string rec(const std::string& stream, const std::string& name) const { return key(stream, "r/" + name); }
  std::string freeze_key() const { return client_.prefix() + "freeze"; }
  std::string key(const std::string& stream, const std::string& name) const {
    return client_.prefix() + "streams/" + stream + "/" + name;
  }
  std::string where(const std::string& name) const { return "etcd:" + client_.prefix() + name; }
  std::string where(const std::string& stream, const std::string& name) const { return "etcd:" + key(stream, name); }
  // Where an object's meta is: apart from its chunks, so that all metas are one small read.
  std::string meta_key(const std::string& stream, const std::string& kind, const std::string& hex) const {
    return key(stream, "meta/" + kind + "/" + hex);
  }
  static std::string hex_of(const std::string& digest) { return digest.size() > 7 ? digest.substr(7) : digest; }

  std::string journal_key(const std::string& stream, const JournalRecord& record) const {
    char ms[24];
    std::snprintf(ms, sizeof ms, "%020lld", static_cast<long long>(std::max<int64_t>(0, record.time_ms)));
    return key(stream, "journal/" + std::string(ms) + "-" + random_hex());
  }

  Result<std::optional<std::string>> read(const std::string& stream, const std::string& name) {
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto snap = snapshots_.find(caller(stream)); snap != snapshots_.end()) {
        auto it = snap->second.records.find(name);
        if (it == snap->second.records.end()) return std::optional<std::string>();  // the snapshot covers every record
        return std::optional<std::string>(it->second.value);
      }
    }
    auto kv = client_.get(rec(stream, name));
    if (!kv) return kv.error();
    if (!*kv) return std::optional<std::string>();
    return std::optional<std::string>(std::move(kv.value()->value));
  }

  // The puts that store `bytes` under kind/HEX: chunks, then the meta that says they are complete.
  Result<std::vector<TxnOp>> object_ops(const std::string& stream, const std::string& kind, const std::string& digest,
                                        std::string_view bytes) {
    nlohmann::json meta = {{"digest", digest}, {"bytes", bytes.size()}, {"written_ms", wall_ms()}};
    if (bytes.size() > options_.max_artifact_bytes) {
      if (options_.blobs_dir.empty())
        return Error{ErrorCode::limit,
                     "an artifact of " + std::to_string(bytes.size()) + " bytes is over the " +
                         std::to_string(options_.max_artifact_bytes) +
                         " bytes the etcd backend stores (StoreOptions::max_artifact_bytes, --etcd-max-artifact); "
                         "give a shared blob directory (--blobs DIR) to store larger ones",
                     {}};
      auto dir = blob_dir(stream, kind, true);
      if (!dir) return dir.error();
      if (auto e = (*dir)->write_atomic(hex_of(digest), bytes, "blob")) return *e;
      meta["chunks"] = 0;
      meta["blob"] = true;
      return std::vector<TxnOp>{{TxnOp::put, meta_key(stream, kind, hex_of(digest)), seal(meta, "invar-object")}};
    }
    std::vector<TxnOp> ops;
    std::string base = key(stream, kind + "/" + hex_of(digest) + "/");
    std::optional<std::string> deflated;
    if (bytes.size() >= kDeflateFrom) deflated = deflated_of(bytes);
    const std::string_view stored = deflated ? std::string_view(*deflated) : bytes;
    const size_t chunks = std::max<size_t>(1, (stored.size() + kChunk - 1) / kChunk);
    for (size_t i = 0; i < chunks; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "c/%06zu", i);
      size_t at = i * kChunk;
      ops.push_back({TxnOp::put, base + name, std::string(stored.substr(std::min(at, stored.size()), kChunk))});
    }
    meta["chunks"] = chunks;
    if (deflated) meta["deflated"] = deflated->size();
    ops.push_back({TxnOp::put, meta_key(stream, kind, hex_of(digest)),
                   deflated ? seal(meta, "invar-object", kDeflatedObjectVersion) : seal(meta, "invar-object")});
    return ops;
  }

  // Waits for prepare_object()'s thread and forgets it (only the preparing
  // thread's when `own`).
  void end_prepared(bool own) {
    std::lock_guard<std::mutex> g(prepared_mutex_);
    if (!prepared_for_.data() || (own && prepared_by_ != std::this_thread::get_id())) return;
    if (prepared_thread_.joinable()) prepared_thread_.join();
    prepared_for_ = {};
    prepared_.reset();
  }

  // `bytes` deflated: what prepare_object() made of the same bytes (the
  // same address and size, unchanged by its contract), else now.
  std::optional<std::string> deflated_of(std::string_view bytes) {
    {
      std::lock_guard<std::mutex> g(prepared_mutex_);
      if (prepared_for_.data() && bytes.data() == prepared_for_.data() && bytes.size() == prepared_for_.size()) {
        if (prepared_thread_.joinable()) prepared_thread_.join();
        return prepared_;
      }
    }
    return deflate_bytes(bytes);
  }

  // The quarantine list after `entry` is added (the same bytes move to the
  // end; the newest `keep` kept) and the ops that write it, deleting the
  // objects of dropped entries (oldest first, at most kMaxRetentionDeletes:
  // collect() takes the rest).
  struct QuarantineUpdate {
    std::vector<Quarantined> entries;
    std::vector<TxnOp> ops;
    std::vector<std::string> deleted;  // hex
  };
  QuarantineUpdate quarantine_update(const std::string& stream, const std::vector<Quarantined>& list,
                                     const Quarantined& entry, uint32_t keep) const {
    QuarantineUpdate out;
    for (const auto& q : list)
      if (q.digest != entry.digest) out.entries.push_back(q);
    out.entries.push_back(entry);
    size_t drop = out.entries.size() > keep ? out.entries.size() - keep : 0;
    for (size_t i = 0; i < drop && i < kMaxRetentionDeletes; ++i) {
      std::string hex = hex_of(out.entries[i].digest);
      out.deleted.push_back(hex);
      out.ops.push_back({TxnOp::remove_prefix, meta_key(stream, "quarantined", hex), ""});
      out.ops.push_back({TxnOp::remove_prefix, key(stream, "quarantined/" + hex + "/"), ""});
    }
    out.entries.erase(out.entries.begin(), out.entries.begin() + static_cast<std::ptrdiff_t>(drop));
    out.ops.push_back({TxnOp::put, rec(stream, "quarantine"), encode_quarantine(out.entries)});
    return out;
  }

  // The blobs of objects a commit deleted (a blob left behind is only space:
  // never read without its meta).
  void remove_blobs(const std::string& stream, const std::string& kind, const std::vector<std::string>& hexes) {
    if (options_.blobs_dir.empty() || hexes.empty()) return;
    if (auto dir = blob_dir(stream, kind, false); dir && *dir)
      for (const auto& hex : hexes) (*dir)->remove(hex);
  }

  // Puts `ops` in as few unconditional transactions as etcd's limits allow
  // (one commit each, instead of one per key). Their order is kept: an
  // object's meta, last, lands with or after its chunks.
  std::optional<Error> write_batched(const std::vector<TxnOp>& ops) {
    constexpr size_t kMaxOps = 64, kMaxBytes = 1 << 20;
    std::vector<TxnOp> batch;
    size_t bytes = 0;
    auto flush = [&]() -> std::optional<Error> {
      if (batch.empty()) return std::nullopt;
      auto done = client_.txn({}, batch);
      batch.clear();
      bytes = 0;
      if (!done) return done.error();
      return std::nullopt;
    };
    for (const auto& op : ops) {
      if (!batch.empty() && (batch.size() >= kMaxOps || bytes + op.value.size() > kMaxBytes))
        if (auto e = flush()) return e;
      bytes += op.value.size();
      batch.push_back(op);
    }
    return flush();
  }

  // Writes objects (each an object_ops() list: its chunks, then its meta):
  // in one transaction when they fit in one (a deflated plan often does);
  // else the chunks kChunkWriters requests at a time, then the metas in one
  // transaction that checks every chunk is there. A collection deletes an
  // object whole (meta and chunks, one transaction): one that ran meanwhile
  // leaves a chunk missing, the metas are not written, and no record can
  // name incomplete chunks (a commit checks the metas exist). Over
  // kMaxTxnCompares chunks (an object over 96 MiB) the metas' check is the
  // commit's alone, as before.
  std::optional<Error> write_objects(const std::string& stream, const std::vector<std::vector<TxnOp>>& objects) {
    std::vector<TxnOp> chunks, metas;
    std::vector<TxnCompare> there;
    size_t bytes = 0;
    for (const auto& ops : objects) {
      for (size_t i = 0; i + 1 < ops.size(); ++i) {
        chunks.push_back(ops[i]);
        there.push_back({ops[i].key, 0, true});
        bytes += ops[i].value.size();
      }
      if (!ops.empty()) metas.push_back(ops.back());
    }
    if (bytes + 4096 <= kInlineBytes && chunks.size() + metas.size() <= kInlineOps) {  // one request, atomic
      chunks.insert(chunks.end(), metas.begin(), metas.end());
      if (auto done = client_.txn({}, chunks); !done) return done.error();
      fault::point("etcd:chunks-written");
      return std::nullopt;
    }
    if (auto e = put_concurrently(chunks)) return e;
    fault::point("etcd:chunks-written");
    if (there.size() > kMaxTxnCompares) there.clear();
    auto done = client_.txn(there, metas);
    if (!done) return done.error();
    if (!*done)
      return state_error(where(stream, "objects"),
                         "the artifact's chunks were collected while they were written; nothing was committed");
    return std::nullopt;
  }

  // Unconditional puts in transactions of at most 64 operations and 1 MiB
  // (one 768 KiB chunk each), up to kChunkWriters of them in flight, each
  // on its own client (connection); the first error, once all have ended.
  std::optional<Error> put_concurrently(const std::vector<TxnOp>& ops) {
    std::vector<std::vector<TxnOp>> batches(1);
    size_t bytes = 0;
    for (const auto& op : ops) {
      if (!batches.back().empty() && (batches.back().size() >= 64 || bytes + op.value.size() > (1u << 20))) {
        batches.emplace_back();
        bytes = 0;
      }
      bytes += op.value.size();
      batches.back().push_back(op);
    }
    if (batches.back().empty()) batches.pop_back();
    std::atomic<size_t> next{0};
    std::mutex failed_mutex;
    std::optional<Error> failed;
    auto work = [&](EtcdClient& client) {
      for (size_t i; (i = next++) < batches.size();) {
        {
          std::lock_guard<std::mutex> g(failed_mutex);
          if (failed) return;
        }
        auto done = client.txn({}, batches[i]);
        if (!done) {
          std::lock_guard<std::mutex> g(failed_mutex);
          if (!failed) failed = done.error();
          return;
        }
        fault::point("etcd:chunk-written");  // some of an object's chunks written, not all
      }
    };
    auto helpers = borrow_writers(std::min(kChunkWriters, batches.size()) - (batches.empty() ? 0 : 1));
    std::vector<std::thread> threads;
    for (auto& helper : helpers) {
      try {
        threads.emplace_back(work, std::ref(*helper));
      } catch (const std::system_error&) {
        break;  // fewer in flight
      }
    }
    work(client_);
    for (auto& t : threads) t.join();
    std::lock_guard<std::mutex> g(mutex_);
    for (auto& helper : helpers) idle_writers_.push_back(std::move(helper));
    return failed;
  }

  // Clients (connections) for put_concurrently(): idle ones first, else new.
  std::vector<std::unique_ptr<EtcdClient>> borrow_writers(size_t n) {
    std::vector<std::unique_ptr<EtcdClient>> out;
    std::lock_guard<std::mutex> g(mutex_);
    while (out.size() < n && !idle_writers_.empty()) {
      out.push_back(std::move(idle_writers_.back()));
      idle_writers_.pop_back();
    }
    while (out.size() < n) out.push_back(std::make_unique<EtcdClient>(endpoints_, options_));
    return out;
  }

  // Whether stage() wrote the artifact `hex` of `stream` ahead (once).
  bool take_staged(const std::string& stream, const std::string& hex) {
    std::lock_guard<std::mutex> g(mutex_);
    auto it = staged_.find(stream);
    if (it == staged_.end() || it->second != hex) return false;
    staged_.erase(it);
    return true;
  }

  // The ops of a promotion's commit (the retention list and the LKG record),
  // preceded by its objects' puts when they are small enough to go in the
  // same transaction; else the objects are written now (content-addressed:
  // harmless if never committed) and `compares` gains the checks that they
  // still exist at the commit (not collected meanwhile).
  //
  // Objects that leave the retention list with this promotion are deleted
  // by the same transaction (their blobs after it), at most
  // kMaxRetentionDeletes of them: they are no longer named.
  struct PromotionPlan {
    std::vector<TxnOp> ops;
    LkgRecord lkg;
    std::vector<Accepted> retained;   // the retention list after it
    std::vector<std::string> dropped;  // hex of the objects it deletes
  };
  Result<PromotionPlan> promotion_ops(const std::string& stream, std::string_view bytes,
                                      const invariants::Measures& measures, const LkgRecord& record,
                                      uint32_t keep, std::vector<TxnCompare>& compares) {
    std::vector<std::vector<TxnOp>> objects;
    std::vector<std::string> kinds;
    const bool staged = take_staged(stream, hex_of(record.digest));
    if (staged) compares.push_back({meta_key(stream, "objects", hex_of(record.digest)), 0, true});
    size_t raw = 0, count = 0;
    for (auto [kind, data] : {std::pair<std::string, std::string_view>{"objects", bytes}, {"measures", {}}}) {
      if (kind == "objects" && staged) continue;
      std::string encoded = kind == "measures" ? encode_measures(record.digest, measures) : std::string();
      auto ops = object_ops(stream, kind, record.digest, kind == "measures" ? std::string_view(encoded) : data);
      if (!ops) return ops.error();
      for (const auto& op : *ops) raw += op.value.size();
      count += ops->size();
      objects.push_back(std::move(*ops));
      kinds.push_back(kind);
    }
    auto list = accepted(stream);
    if (!list) return list.error();
    std::vector<TxnOp> commit;
    if (raw <= kInlineBytes && count <= kInlineOps) {
      for (auto& ops : objects) commit.insert(commit.end(), std::make_move_iterator(ops.begin()), std::make_move_iterator(ops.end()));
    } else {
      if (auto e = write_objects(stream, objects)) return *e;
      for (const auto& kind : kinds) compares.push_back({meta_key(stream, kind, hex_of(record.digest)), 0, true});
    }
    PromotionPlan plan{std::move(commit), record, retained_after(list.value(), record, keep), {}};
    std::set<std::string> kept = {hex_of(record.digest)};
    for (const auto& a : plan.retained) kept.insert(hex_of(a.digest));
    for (const auto& a : list.value()) {  // oldest first
      std::string hex = hex_of(a.digest);
      if (!kept.insert(hex).second) continue;  // retained, or already dropped
      if (plan.dropped.size() == kMaxRetentionDeletes) break;
      plan.dropped.push_back(hex);
      for (const char* kind : {"objects", "measures"}) {
        plan.ops.push_back({TxnOp::remove_prefix, meta_key(stream, kind, hex), ""});
        plan.ops.push_back({TxnOp::remove_prefix, key(stream, std::string(kind) + "/" + hex + "/"), ""});
      }
    }
    plan.ops.push_back({TxnOp::put, rec(stream, "accepted"), encode_accepted(plan.retained)});
    plan.ops.push_back({TxnOp::put, rec(stream, "lkg"), encode_lkg(record)});
    return plan;
  }

  // Read back by a promotion's commit, for prune(): the metas of objects,
  // measures, the quarantine list and the quarantined metas.
  std::vector<RangeRequest> metas_reads(const std::string& stream) const {
    return {{meta_key(stream, "objects", "")},
            {meta_key(stream, "measures", "")},
            {rec(stream, "quarantine"), false},
            {meta_key(stream, "quarantined", "")}};
  }

  // After a promotion's commit: the dropped objects' blobs go, and prune()
  // gets what the commit read back.
  void committed_promotion(const std::string& stream, const PromotionPlan& plan, std::vector<RangeResult> metas) {
    for (const char* kind : {"objects", "measures"}) remove_blobs(stream, kind, plan.dropped);
    std::lock_guard<std::mutex> g(mutex_);
    after_commit_[caller(stream)] = AfterCommit{plan.lkg, plan.retained, std::move(metas), plan.dropped.size()};
  }

  // An object that must exist: its absence is corruption.
  Result<std::string> present(Result<std::optional<std::string>> read, const std::string& stream,
                              const std::string& kind, const std::string& digest) const {
    if (!read) return read.error();
    if (!*read) return state_error(where(stream, kind + "/" + hex_of(digest)), "the state refers to an artifact that is gone");
    return std::move(**read);
  }

  struct ObjectRead {
    std::string kind;
    uint64_t max_bytes;
    bool verify;
    bool proof = false;  // the meta and the chunks' keys, no bytes ("" out): exactly max_bytes, this digest
  };
  // Objects stored under one digest (the artifact, its measures), each
  // verified, in one request; nullopt for one that is not stored.
  Result<std::vector<std::optional<std::string>>> read_objects(const std::string& stream, const std::string& digest,
                                                               const std::vector<ObjectRead>& objects) {
    if (!valid_digest(digest)) return state_error(where(stream, objects.front().kind), "malformed artifact digest " + text::quoted(digest));
    auto read = client_.read(object_reads(stream, digest, objects), pinned(stream));
    if (!read) return read.error();
    return decode_objects(stream, digest, objects, std::move(read.value()));
  }

  // The reads of read_objects(): a meta and its chunks per object.
  std::vector<RangeRequest> object_reads(const std::string& stream, const std::string& digest,
                                         const std::vector<ObjectRead>& objects) const {
    std::vector<RangeRequest> reads;
    for (const auto& o : objects) {
      reads.push_back({meta_key(stream, o.kind, hex_of(digest)), false});
      reads.push_back({key(stream, o.kind + "/" + hex_of(digest) + "/c/"), true, 0, false, false, o.proof});
    }
    return reads;
  }

  // What object_reads() read, each object checked and verified.
  Result<std::vector<std::optional<std::string>>> decode_objects(const std::string& stream, const std::string& digest,
                                                                 const std::vector<ObjectRead>& objects,
                                                                 std::vector<RangeResult> read_results) {
    const auto* read = &read_results;
    if (read->size() != 2 * objects.size()) return state_error(stream, "etcd answered another number of reads");
    std::vector<std::optional<std::string>> out;
    for (size_t i = 0; i < objects.size(); ++i) {
      const auto& metas = (*read)[2 * i].kvs;
      const auto& parts = (*read)[2 * i + 1].kvs;
      if (metas.empty()) {
        out.emplace_back();
        continue;
      }
      std::string base = "etcd:" + key(stream, objects[i].kind + "/" + hex_of(digest) + "/");
      auto meta = unseal_object(metas.front().value, "etcd:" + metas.front().key);
      if (!meta) return meta.error();
      uint64_t size = etcd_number(*meta, "bytes"), chunks = etcd_number(*meta, "chunks");
      if (size > objects[i].max_bytes)
        return state_error(base, "the stored artifact is larger than its record says; invar will not use it");
      if (parts.size() != chunks)
        return state_error(base, "the artifact has " + std::to_string(parts.size()) + " chunks, its record says " +
                                     std::to_string(chunks));
      if (objects[i].proof && !etcd_flag(*meta, "blob")) {
        if (size != objects[i].max_bytes)
          return state_error(stream, "the stored LKG has " + std::to_string(size) + " bytes, its record says " +
                                         std::to_string(objects[i].max_bytes));
        if (etcd_text(*meta, "digest", "") != digest)
          return state_error(base, "the artifact's record names another digest (corrupted); invar will not use it");
        out.emplace_back(std::string());
        continue;
      }
      std::string bytes;
      if (etcd_flag(*meta, "blob")) {
        auto blob = read_blob(stream, objects[i].kind, hex_of(digest), size);
        if (!blob) return blob.error();
        bytes = std::move(*blob);
      } else {
        bytes.reserve(size);
        for (const auto& p : parts) bytes += p.value;
        if (meta->contains("deflated")) {
          std::string why;
          auto inflated = bytes.size() == etcd_number(*meta, "deflated") ? inflate_bytes(bytes, size, &why)
                                                                               : std::nullopt;
          if (!inflated)
            return state_error(base, why.empty() ? "the stored artifact does not match its SHA-256 (corrupted); invar "
                                                   "will not use it" : why);
          bytes = std::move(*inflated);
        }
      }
      if (bytes.size() != size || (objects[i].verify && digest::sha256(bytes) != digest))
        return state_error(base, "the stored artifact does not match its SHA-256 (corrupted); invar will not use it");
      out.push_back(std::move(bytes));
    }
    return out;
  }

  Result<std::optional<std::string>> read_object(const std::string& stream, const std::string& kind,
                                                 const std::string& digest, uint64_t max_bytes) {
    auto read = read_objects(stream, digest, {{kind, max_bytes, true}});
    if (!read) return read.error();
    return std::move((*read)[0]);
  }

  // The blob directory of a stream's objects of one kind (created when `create`).
  Result<std::optional<files::Dir>> blob_dir(const std::string& stream, const std::string& kind, bool create) const {
    auto root = files::Dir::open(options_.blobs_dir);
    if (!root) return root.error();
    auto s = root->sub(stream, create);
    if (!s || !*s) return s;
    return (*s)->sub(kind, create);
  }

  Result<std::string> read_blob(const std::string& stream, const std::string& kind, const std::string& hex,
                                uint64_t size) const {
    std::string path = options_.blobs_dir + "/" + stream + "/" + kind + "/" + hex;
    if (options_.blobs_dir.empty())
      return state_error(where(stream, kind + "/" + hex),
                         "the object is stored in a blob directory: give it (--blobs DIR, StoreOptions::blobs_dir)");
    auto dir = blob_dir(stream, kind, false);
    if (!dir) return dir.error();
    std::optional<std::string> bytes;
    if (*dir) {
      auto read = (*dir)->read(hex, size, "blob");
      if (!read) return read.error();
      bytes = std::move(*read);
    }
    if (!bytes) return state_error(path, "the blob its record names is gone");
    return std::move(*bytes);
  }

  // Deletes an object: its meta first (from then on a commit naming it is
  // refused, and a reader finds it gone), then its chunks, then its blob.
  Status remove_object(const std::string& stream, const std::string& kind, const std::string& hex, bool blob) {
    auto done = client_.txn({}, {{TxnOp::remove_prefix, meta_key(stream, kind, hex), ""},
                                 {TxnOp::remove_prefix, key(stream, kind + "/" + hex + "/"), ""}});
    if (!done) return done.error();
    if (blob && !options_.blobs_dir.empty()) {
      auto dir = blob_dir(stream, kind, false);
      if (dir && *dir) (*dir)->remove(hex);  // a blob left behind is only space: never read without its meta
    }
    return std::nullopt;
  }

  // The stream's small records, the journal's newest kJournalTail records
  // and the location's freeze, at one revision (one request): the caller's
  // snapshot, whose id it returns. Without `with_journal` (a reader's: a
  // follower's read after each change) no journal; journal() then reads at
  // its revision.
  Result<uint64_t> take_snapshot(const std::string& stream, bool for_lock = false, bool with_journal = true) {
    RangeRequest tail{key(stream, "journal/"), true, kJournalTail, true, true};
    RangeRequest oldest{key(stream, "journal/"), true, 1, false, false, true};  // by key: the earliest time
    Snapshot snap;
    std::vector<RangeRequest> reads = {{rec(stream, "")}, {freeze_key(), false}};
    if (with_journal) reads.insert(reads.end(), {tail, oldest});
    std::string hinted;  // a reader's read after a wake: the artifact the stream named, at the same revision
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto it = hinted_.find(caller(stream)); it != hinted_.end()) {
        if (!with_journal) hinted = it->second;
        hinted_.erase(it);
      }
    }
    const size_t records = reads.size();
    if (!hinted.empty()) {
      auto more = object_reads(stream, hinted, {{"objects", kPrefetchMaxBytes, true}});
      reads.insert(reads.end(), more.begin(), more.end());
    }
    auto read = client_.read(reads, 0, &snap.revision);
    if (!read) return read.error();
    if (!hinted.empty() && read->size() == records + 2) {
      snap.prefetched_digest = hinted;
      snap.prefetched.assign(std::make_move_iterator(read->begin() + records), std::make_move_iterator(read->end()));
    }
    if (!(*read)[1].kvs.empty()) snap.freeze = std::move((*read)[1].kvs.front());
    for (auto& kv : (*read)[0].kvs) snap.records[kv.key.substr(rec(stream, "").size())] = std::move(kv);
    if (with_journal) {
      snap.journal = std::move((*read)[2].kvs);
      snap.journal_count = (*read)[2].count;
      if (!(*read)[3].kvs.empty()) snap.oldest_journal_key = (*read)[3].kvs.front().key;
    }
    snap.with_journal = with_journal;
    snap.for_lock = for_lock;
    fault::point("etcd:snapshot-read");
    std::lock_guard<std::mutex> g(mutex_);
    snap.id = ++snapshot_ids_;
    if (snap.records.count("stream")) known_.insert(stream);
    uint64_t id = snap.id;
    snapshots_[caller(stream)] = std::move(snap);
    return id;
  }

  void forget_snapshot(const std::string& stream) {
    std::lock_guard<std::mutex> g(mutex_);
    snapshots_.erase(caller(stream));
  }

  // The end of a lock()'s scope: its snapshot (unless a later one replaced
  // it) and what its reads left for the calls that follow.
  void end_scope(const Caller& who, uint64_t id) {
    std::lock_guard<std::mutex> g(mutex_);
    if (auto it = snapshots_.find(who); it != snapshots_.end() && it->second.id == id) snapshots_.erase(it);
    prefetched_measures_.erase(who);
    after_commit_.erase(who);
  }

  // The revision the caller's reads are made at: its snapshot's (0: none, the current one).
  uint64_t pinned(const std::string& stream) {
    std::lock_guard<std::mutex> g(mutex_);
    auto it = snapshots_.find(caller(stream));
    return it == snapshots_.end() ? 0 : it->second.revision;
  }

  static Caller caller(const std::string& stream) { return {std::this_thread::get_id(), stream}; }

  // What a decision's commit is followed by when the journal is past a
  // limit: the record count the snapshot saw (with the decision's record)
  // and the time of the current LKG's accept (whose record is never trimmed).
  struct JournalTrim {
    uint64_t count = 0;
    std::optional<int64_t> lkg_accepted_ms;
  };

  // The journal's retention: at most the newest journal_keep_records
  // records, and none older than journal_keep_ms except the newest
  // kJournalKeepNewest. The snapshot a decision was judged on says whether
  // either limit may be passed (its count, and the earliest time a key
  // holds); if so, the decision's commit is followed by the trim. nullopt:
  // nothing to do. `promoted`: the LKG the decision commits.
  std::optional<JournalTrim> trim_due(const std::string& stream, const LkgRecord* promoted) {
    std::lock_guard<std::mutex> g(mutex_);
    auto it = snapshots_.find(caller(stream));
    if (it == snapshots_.end() || !it->second.with_journal) return std::nullopt;
    const Snapshot& snap = it->second;
    JournalTrim trim{snap.journal_count + 1, std::nullopt};  // with the decision's record
    bool due = trim.count > options_.journal_keep_records ||
               (trim.count > kJournalKeepNewest && !snap.oldest_journal_key.empty() &&
                journal_key_ms(stream, snap.oldest_journal_key) < wall_ms() - options_.journal_keep_ms);
    if (!due) return std::nullopt;
    if (promoted) {
      trim.lkg_accepted_ms = promoted->accepted_at_ms;
    } else if (auto lkg = snap.records.find("lkg"); lkg != snap.records.end()) {
      if (auto r = decode_lkg(lkg->second.value, "etcd:" + lkg->second.key)) trim.lkg_accepted_ms = r->accepted_at_ms;
    }
    return trim;
  }

  // The writer's time a journal key starts with (0 when it holds none).
  int64_t journal_key_ms(const std::string& stream, const std::string& journal_key) const {
    std::string name = journal_key.substr(std::min(journal_key.size(), key(stream, "journal/").size()));
    return std::strtoll(name.c_str(), nullptr, 10);
  }

  // Trims the journal in creation order (etcd's create_revision, which no
  // writer's clock moves): of the oldest records, those past the newest
  // journal_keep_records, and those past the newest kJournalKeepNewest that
  // their own time makes older than journal_keep_ms; never the record of the
  // current LKG's accept (its key holds the LKG's accepted_at_ms). At most
  // kMaxJournalTrim records, in transactions of a bounded size (best effort:
  // the next decision goes on).
  void trim_journal(const std::string& stream, const JournalTrim& trim) {
    const std::string base = key(stream, "journal/");
    const uint64_t newest = std::min<uint64_t>(kJournalKeepNewest, options_.journal_keep_records);  // never trimmed
    const uint64_t limit = std::min(kMaxJournalTrim, trim.count > newest ? trim.count - newest : 0);
    if (!limit) return;
    auto oldest = client_.read({{base, true, limit, true, false, true}});  // oldest first by creation, keys only
    if (!oldest) return;
    const uint64_t count = oldest->front().count;  // now: other gates may have trimmed meanwhile
    const uint64_t excess = count > options_.journal_keep_records ? count - options_.journal_keep_records : 0;
    const uint64_t past_newest = count > kJournalKeepNewest ? count - kJournalKeepNewest : 0;
    const int64_t cut = wall_ms() - options_.journal_keep_ms;
    std::vector<TxnOp> deletes;
    const auto& kvs = oldest->front().kvs;
    for (uint64_t i = 0; i < kvs.size(); ++i) {
      int64_t ms = journal_key_ms(stream, kvs[i].key);
      if (trim.lkg_accepted_ms && ms == *trim.lkg_accepted_ms) continue;  // the current LKG's accept
      if (i < excess || (i < past_newest && ms < cut)) deletes.push_back({TxnOp::remove_key, kvs[i].key, ""});
    }
    (void)write_batched(deletes);
  }

  EtcdClient client_;
  StoreOptions options_;
  EtcdEndpoints endpoints_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<EtcdClient>> idle_writers_;  // put_concurrently()'s helpers between calls
  std::map<std::string, std::string> staged_;             // stream -> the artifact stage() wrote (hex)
  std::set<std::string> known_;                                  // streams seen to exist
  std::mutex prepared_mutex_;               // prepare_object()'s deflate (joined under it)
  std::thread prepared_thread_;
  std::string_view prepared_for_;           // the caller's bytes, valid until prepare_done()
  std::thread::id prepared_by_;             // the thread that called prepare_object()
  std::optional<std::string> prepared_;     // deflate_bytes(prepared_for_), once joined
  struct Snapshot {
    std::map<std::string, KeyValue> records;  // record name -> key
    std::vector<KeyValue> journal;            // the newest kJournalTail records, newest first
    uint64_t journal_count = 0;               // records in the journal
    bool for_lock = false;                    // taken by has_stream() for the lock() that follows
    bool with_journal = true;                 // journal, journal_count and oldest_journal_key were read
    std::string oldest_journal_key;           // by key: the earliest writer's time
    uint64_t revision = 0;                    // etcd's revision it was read at
    std::optional<KeyValue> freeze;           // the location's freeze record, if any
    std::string prefetched_digest;            // read with it (hint_artifact): this artifact's meta and chunks
    std::vector<RangeResult> prefetched;
    uint64_t id = 0;
  };
  // Per caller (a thread and a stream), taken by lock(): never shared, so
  // that threads on one stream each judge against their own.
  std::map<Caller, Snapshot> snapshots_;
  uint64_t snapshot_ids_ = 0;
  std::map<Caller, std::string> hinted_;  // the digest the caller's next reader snapshot fetches (hint_artifact)
  std::map<Caller, std::pair<std::string, std::optional<std::string>>> prefetched_measures_;  // read with the LKG's bytes
  struct AfterCommit {
    LkgRecord lkg;
    std::vector<Accepted> retained;
    std::vector<RangeResult> metas;  // objects, measures: as the commit left them
    uint64_t dropped = 0;            // objects the commit deleted
  };
  std::map<Caller, AfterCommit> after_commit_;  // per caller, for prune()
};

}  // namespace

Result<std::unique_ptr<Store>> open_etcd_store(const std::string& url, const StoreOptions& options) {
  auto endpoints = parse_etcd_url(url);
  if (!endpoints) return endpoints.error();
  return std::unique_ptr<Store>(std::make_unique<EtcdStore>(std::move(*endpoints), options));
}

}  // namespace invar::store
