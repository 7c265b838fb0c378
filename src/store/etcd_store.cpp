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
//   PREFIX/streams/S/journal/MS-RAND       one journal record (read in creation order)
//   BLOBS/S/KIND/HEX                       an object over max_artifact_bytes, when a blob
//                                          directory is given (its meta says "blob")
//
// Round trips matter more than bytes on this path (each is a request through
// etcd's gateway): a gate reads the small records and the journal's tail in
// one request, the LKG's bytes and measures in a second, commits a small
// promotion with its chunks in one transaction, and prunes with one read.
#include <unistd.h>

#include <chrono>
#include <functional>
#include <random>
#include <map>
#include <mutex>
#include <set>

#include "common/digest.hpp"
#include "common/files.hpp"
#include "common/fault.hpp"
#include "common/text.hpp"
#include "store/etcd_client.hpp"
#include "store/store.hpp"

namespace invar::store {

namespace {

constexpr size_t kChunk = 768 << 10;  // raw bytes per chunk: base64 stays under etcd's 1.5 MiB request limit
// A promotion whose objects are at most this (raw) is one transaction with
// its commit; a larger one writes its chunks first (then the commit checks
// that they still exist). Under etcd's request limit and max-txn-ops (128).
constexpr size_t kInlineBytes = 512 << 10;
constexpr size_t kInlineOps = 96;
// Journal records a gate reads (flap detection, pinned-since, totals): the
// newest ones; status and history read more (journal()'s budget / 4 KiB).
constexpr uint64_t kJournalTail = kGateJournalRead / 4096;
// Records always kept by the journal's age limit (a quiet stream keeps its story).
constexpr uint64_t kJournalKeepNewest = 64;

// Not a lock (decisions are fenced): the scope of a judgement's snapshot,
// which ends with it.
class SnapshotScope : public Lock {
 public:
  explicit SnapshotScope(std::function<void()> end) : end_(std::move(end)) {}
  ~SnapshotScope() override { end_(); }

 private:
  std::function<void()> end_;
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
 public:
  EtcdStore(EtcdEndpoints endpoints, const StoreOptions& options)
      : client_(std::move(endpoints), options), options_(options) {}

  // Takes the stream's snapshot (see fence()): one read.
  Result<std::unique_ptr<Lock>> lock(const std::string& stream, bool exclusive) override {
    bool reuse = false;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto it = snapshots_.find(stream); it != snapshots_.end() && it->second.for_lock) {
        it->second.for_lock = false;  // once: a judgement again reads again
        reuse = true;
      }
    }
    if (!reuse)
      if (auto e = take_snapshot(stream)) return *e;
    if (exclusive) {
      std::lock_guard<std::mutex> g(mutex_);
      if (!snapshots_[stream].records.count("stream")) {
        snapshots_.erase(stream);
        return Error{ErrorCode::usage, "stream " + text::quoted(stream) + " does not exist in etcd", {}};
      }
    }
    return std::unique_ptr<Lock>(std::make_unique<SnapshotScope>([this, stream] { forget_snapshot(stream); }));
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
    if (auto e = take_snapshot(stream, true)) return *e;
    std::lock_guard<std::mutex> g(mutex_);
    return known_.count(stream) > 0;
  }

  // One transaction, fenced on the stream's record and its LKG being absent:
  // the stream, its first journal record and its seed (a large seed's
  // chunks are written first, and the commit checks that they still exist).
  Status init_stream(const StreamInfo& info, const JournalRecord* record, const Promotion* seed) override {
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
  // the stream's lock is released (or this process writes) the records a
  // judgement reads come from it.
  Result<Fence> fence(const std::string& stream) override {
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto it = snapshots_.find(stream); it != snapshots_.end()) {
        auto lkg = it->second.records.find("lkg");
        return Fence{lkg == it->second.records.end() ? 0 : lkg->second.mod_revision};
      }
    }
    if (auto e = take_snapshot(stream)) return *e;
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
    auto both = read_objects(stream, digest, {{"objects", max_bytes, true}, {"measures", kMaxStateFileBytes, false}});
    if (!both) return both.error();
    {
      std::lock_guard<std::mutex> g(mutex_);
      prefetched_measures_ = {hex_of(digest), std::move((*both)[1])};
    }
    return present(std::move((*both)[0]), stream, "objects", digest);
  }

  Result<std::optional<invariants::Measures>> measures(const std::string& stream, const std::string& digest) override {
    Result<std::optional<std::string>> text = std::optional<std::string>();
    bool prefetched = false;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (prefetched_measures_.first == hex_of(digest)) {
        text = std::move(prefetched_measures_.second);
        prefetched_measures_ = {};
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
  Result<WaiverList> waiver_list(const std::string& stream) override {
    std::optional<KeyValue> kv;
    bool from_snapshot = false;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (auto snap = snapshots_.find(stream); snap != snapshots_.end()) {
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
      if (auto it = snapshots_.find(stream); it != snapshots_.end() && limit <= kJournalTail) {
        kvs.assign(it->second.journal.begin(),
                   it->second.journal.begin() + std::min<size_t>(limit, it->second.journal.size()));
        from_snapshot = true;
      }
    }
    if (!from_snapshot) {
      auto read = client_.range(key(stream, "journal/"), limit, true, true);
      if (!read) return read.error();
      kvs = std::move(*read);
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
                bool& committed, const WaiverUse* waivers = nullptr, const ContractSwitch* switched = nullptr) override {
    committed = false;
    std::vector<TxnCompare> compares = {{rec(stream, "lkg"), fence.version, false}};
    if (waivers) compares.push_back({rec(stream, "waivers"), waivers->version, false});
    PromotionPlan plan;
    if (promotion) {  // the retention list as judged (the compare on the LKG covers it: they change together)
      auto p = promotion_ops(stream, promotion->bytes, *promotion->measures, promotion->record, promotion->keep, compares);
      if (!p) return p.error();
      plan = std::move(*p);
    }
    auto trim = trim_due(stream);
    forget_snapshot(stream);  // what fence() read is stale once anything is written
    if (waivers && waivers->after) plan.ops.push_back({TxnOp::put, rec(stream, "waivers"), encode_waivers(*waivers->after)});
    if (switched) {
      plan.ops.push_back({TxnOp::put, rec(stream, "stream"), encode_stream(switched->info)});
      plan.ops.push_back({TxnOp::put, journal_key(stream, switched->record), encode_journal(switched->record)});
    }
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
      return fence_conflict(stream, fence, lkg_now);
    }
    committed = promotion != nullptr;
    if (promotion) committed_promotion(stream, plan, std::move(metas));
    if (trim) trim_journal(stream, *trim);
    return std::nullopt;
  }

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
      if (auto it = after_commit_.find(stream); it != after_commit_.end()) {
        after = std::move(it->second);
        after_commit_.erase(it);
      }
    }
    if (after) {
      auto orphans = collect(stream, after->lkg, after->retained, after->metas);
      if (!orphans) return orphans.error();
      return after->dropped + *orphans;
    }
    auto read = client_.read({{rec(stream, "")}, {meta_key(stream, "objects", "")}, {meta_key(stream, "measures", "")}});
    if (!read) return read.error();
    std::optional<LkgRecord> current;
    std::vector<Accepted> list;
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
      }
    }
    if (!current) return uint64_t{0};
    return collect(stream, *current, committed(list, current), {std::move((*read)[1]), std::move((*read)[2])});
  }

  // Deletes the objects (metas in `metas`: objects, measures) that neither
  // `lkg` nor `retained` names, once past the grace period.
  Result<uint64_t> collect(const std::string& stream, const LkgRecord& lkg, const std::vector<Accepted>& retained,
                           const std::vector<RangeResult>& metas) {
    uint64_t removed = 0;
    std::set<std::string> keep = {hex_of(lkg.digest)};
    for (const auto& a : retained) keep.insert(hex_of(a.digest));
    const char* kinds[] = {"objects", "measures"};
    for (size_t k = 0; k < 2 && k < metas.size(); ++k) {
      std::string metas_prefix = meta_key(stream, kinds[k], "");
      for (const auto& kv : metas[k].kvs) {
        std::string hex = kv.key.substr(metas_prefix.size());
        if (keep.count(hex)) continue;
        auto meta = unseal(kv.value, kv.key, "invar-object");
        if (meta && wall_ms() - meta->value("written_ms", int64_t{0}) < options_.orphan_grace_ms) continue;
        if (auto e = remove_object(stream, kinds[k], hex, meta && meta->value("blob", false))) return *e;
        if (k == 0) ++removed;
      }
    }
    return removed;
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

  Status quarantine(const std::string& stream, std::string_view bytes, const Quarantined& entry,
                    uint32_t keep) override {
    auto list = quarantined(stream);
    if (!list) return list.error();
    std::vector<Quarantined> entries;
    for (const auto& q : list.value())
      if (q.digest != entry.digest) entries.push_back(q);
    entries.push_back(entry);
    std::vector<std::string> dropped;
    while (entries.size() > keep) {
      dropped.push_back(entries.front().digest);
      entries.erase(entries.begin());
    }
    if (keep > 0) {
      auto ops = object_ops(stream, "quarantined", entry.digest, bytes);
      if (!ops) return ops.error();
      if (auto e = write_batched(*ops)) return e;
    }
    forget_snapshot(stream);
    if (auto e = client_.put(rec(stream, "quarantine"), encode_quarantine(entries))) return e;
    for (const auto& d : dropped)
      if (auto e = remove_object(stream, "quarantined", hex_of(d), true)) return e;
    return std::nullopt;
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
      if (auto snap = snapshots_.find(stream); snap != snapshots_.end()) {
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
    const size_t chunks = std::max<size_t>(1, (bytes.size() + kChunk - 1) / kChunk);
    for (size_t i = 0; i < chunks; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "c/%06zu", i);
      size_t at = i * kChunk;
      ops.push_back({TxnOp::put, base + name, std::string(bytes.substr(std::min(at, bytes.size()), kChunk))});
    }
    meta["chunks"] = chunks;
    ops.push_back({TxnOp::put, meta_key(stream, kind, hex_of(digest)), seal(meta, "invar-object")});
    return ops;
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

  // The ops of a promotion's commit (the retention list and the LKG record),
  // preceded by its objects' puts when they are small enough to go in the
  // same transaction; else the objects are written now (content-addressed:
  // harmless if never committed) and `compares` gains the checks that they
  // still exist at the commit (not collected meanwhile).
  //
  // Objects that leave the retention list with this promotion are deleted
  // by the same transaction (their blobs after it): they are no longer named.
  struct PromotionPlan {
    std::vector<TxnOp> ops;
    LkgRecord lkg;
    std::vector<Accepted> retained;   // the retention list after it
    std::vector<std::string> dropped;  // hex of the objects it deletes
  };
  Result<PromotionPlan> promotion_ops(const std::string& stream, std::string_view bytes,
                                      const invariants::Measures& measures, const LkgRecord& record,
                                      uint32_t keep, std::vector<TxnCompare>& compares) {
    std::vector<TxnOp> writes;
    size_t raw = 0;
    for (auto [kind, data] : {std::pair<std::string, std::string>{"objects", std::string(bytes)},
                              {"measures", encode_measures(record.digest, measures)}}) {
      auto ops = object_ops(stream, kind, record.digest, data);
      if (!ops) return ops.error();
      for (const auto& op : *ops) raw += op.value.size();
      writes.insert(writes.end(), ops->begin(), ops->end());
    }
    auto list = accepted(stream);
    if (!list) return list.error();
    std::vector<TxnOp> commit;
    if (raw <= kInlineBytes && writes.size() <= kInlineOps) {
      commit = std::move(writes);
    } else {
      if (auto e = write_batched(writes)) return *e;
      for (const char* kind : {"objects", "measures"}) compares.push_back({meta_key(stream, kind, hex_of(record.digest)), 0, true});
    }
    PromotionPlan plan{std::move(commit), record, retained_after(list.value(), record, keep), {}};
    std::set<std::string> named = {hex_of(record.digest)};
    for (const auto& a : plan.retained) named.insert(hex_of(a.digest));
    std::set<std::string> before;
    for (const auto& a : list.value()) before.insert(hex_of(a.digest));
    for (const auto& hex : before)
      if (!named.count(hex)) {
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

  // Read back by a promotion's commit, for prune().
  std::vector<RangeRequest> metas_reads(const std::string& stream) const {
    return {{meta_key(stream, "objects", "")}, {meta_key(stream, "measures", "")}};
  }

  // After a promotion's commit: the dropped objects' blobs go, and prune()
  // gets what the commit read back.
  void committed_promotion(const std::string& stream, const PromotionPlan& plan, std::vector<RangeResult> metas) {
    if (!options_.blobs_dir.empty())
      for (const auto& hex : plan.dropped)
        for (const char* kind : {"objects", "measures"})
          if (auto dir = blob_dir(stream, kind, false); dir && *dir) (*dir)->remove(hex);
    std::lock_guard<std::mutex> g(mutex_);
    after_commit_[stream] = AfterCommit{plan.lkg, plan.retained, std::move(metas), plan.dropped.size()};
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
  };
  // Objects stored under one digest (the artifact, its measures), each
  // verified, in one request; nullopt for one that is not stored.
  Result<std::vector<std::optional<std::string>>> read_objects(const std::string& stream, const std::string& digest,
                                                               const std::vector<ObjectRead>& objects) {
    if (!valid_digest(digest)) return state_error(where(stream, objects.front().kind), "malformed artifact digest " + text::quoted(digest));
    std::vector<RangeRequest> reads;
    for (const auto& o : objects) {
      reads.push_back({meta_key(stream, o.kind, hex_of(digest)), false});
      reads.push_back({key(stream, o.kind + "/" + hex_of(digest) + "/c/")});
    }
    auto read = client_.read(reads);
    if (!read) return read.error();
    std::vector<std::optional<std::string>> out;
    for (size_t i = 0; i < objects.size(); ++i) {
      const auto& metas = (*read)[2 * i].kvs;
      const auto& parts = (*read)[2 * i + 1].kvs;
      if (metas.empty()) {
        out.emplace_back();
        continue;
      }
      std::string base = "etcd:" + key(stream, objects[i].kind + "/" + hex_of(digest) + "/");
      auto meta = unseal(metas.front().value, "etcd:" + metas.front().key, "invar-object");
      if (!meta) return meta.error();
      uint64_t size = meta->value("bytes", uint64_t{0}), chunks = meta->value("chunks", uint64_t{0});
      if (size > objects[i].max_bytes)
        return state_error(base, "the stored artifact is larger than its record says; invar will not use it");
      if (parts.size() != chunks)
        return state_error(base, "the artifact has " + std::to_string(parts.size()) + " chunks, its record says " +
                                     std::to_string(chunks));
      std::string bytes;
      if (meta->value("blob", false)) {
        auto blob = read_blob(stream, objects[i].kind, hex_of(digest), size);
        if (!blob) return blob.error();
        bytes = std::move(*blob);
      } else {
        bytes.reserve(size);
        for (const auto& p : parts) bytes += p.value;
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

  // The stream's small records and the journal's newest kJournalTail
  // records, at one revision (one request).
  std::optional<Error> take_snapshot(const std::string& stream, bool for_lock = false) {
    RangeRequest tail{key(stream, "journal/"), true, kJournalTail, true, true};
    RangeRequest oldest{key(stream, "journal/"), true, 1, false, false, true};
    auto read = client_.read({{rec(stream, "")}, tail, oldest});
    if (!read) return read.error();
    Snapshot snap;
    for (auto& kv : (*read)[0].kvs) snap.records[kv.key.substr(rec(stream, "").size())] = std::move(kv);
    snap.journal = std::move((*read)[1].kvs);
    snap.journal_count = (*read)[1].count;
    if (!(*read)[2].kvs.empty()) snap.oldest_journal_key = (*read)[2].kvs.front().key;
    snap.for_lock = for_lock;
    std::lock_guard<std::mutex> g(mutex_);
    if (snap.records.count("stream")) known_.insert(stream);
    snapshots_[stream] = std::move(snap);
    return std::nullopt;
  }

  void forget_snapshot(const std::string& stream) {
    std::lock_guard<std::mutex> g(mutex_);
    snapshots_.erase(stream);
  }

  // The journal's retention: at most the newest journal_keep_records
  // records, and none older than journal_keep_ms except the newest
  // kJournalKeepNewest. The snapshot a decision was judged on says whether
  // either limit is passed (its count and oldest key, read with it); if so,
  // the decision's commit is followed by the trim. nullopt: nothing to do.
  std::optional<uint64_t> trim_due(const std::string& stream) {
    std::lock_guard<std::mutex> g(mutex_);
    auto it = snapshots_.find(stream);
    if (it == snapshots_.end()) return std::nullopt;
    const Snapshot& snap = it->second;
    uint64_t count = snap.journal_count + 1;  // with the decision's record
    if (count > options_.journal_keep_records) return count;
    if (count > kJournalKeepNewest && !snap.oldest_journal_key.empty() && snap.oldest_journal_key < age_cut(stream))
      return count;
    return std::nullopt;
  }

  // Journal keys before it are older than journal_keep_ms.
  std::string age_cut(const std::string& stream) const {
    char ms[24];
    std::snprintf(ms, sizeof ms, "%020lld", static_cast<long long>(std::max<int64_t>(0, wall_ms() - options_.journal_keep_ms)));
    return key(stream, "journal/") + ms;
  }

  // Keys sort by the record's time: each limit is one key, the trim one
  // delete (best effort: the next decision tries again).
  void trim_journal(const std::string& stream, uint64_t count) {
    const std::string base = key(stream, "journal/");
    std::vector<RangeRequest> reads = {{base, true, kJournalKeepNewest, false, true, true}};
    if (count > options_.journal_keep_records) reads.push_back({base, true, count - options_.journal_keep_records, false, false, true});
    auto keys = client_.read(reads);
    if (!keys) return;
    // Too old, but never one of the newest kJournalKeepNewest ...
    std::string cut = age_cut(stream);
    const auto& newest = (*keys)[0].kvs;
    cut = newest.size() < kJournalKeepNewest ? base : std::min(cut, newest.back().key);
    // ... and past the newest journal_keep_records in any case (cut after the last of the excess).
    if (keys->size() > 1 && !(*keys)[1].kvs.empty()) cut = std::max(cut, (*keys)[1].kvs.back().key + '\0');
    if (cut > base) client_.remove_range(base, cut);
  }

  EtcdClient client_;
  StoreOptions options_;
  std::mutex mutex_;
  std::set<std::string> known_;                                  // streams seen to exist
  struct Snapshot {
    std::map<std::string, KeyValue> records;  // record name -> key
    std::vector<KeyValue> journal;            // the newest kJournalTail records, newest first
    uint64_t journal_count = 0;               // records in the journal
    bool for_lock = false;                    // taken by has_stream() for the lock() that follows
    std::string oldest_journal_key;
  };
  std::map<std::string, Snapshot> snapshots_;  // per stream, taken by lock()
  std::pair<std::string, std::optional<std::string>> prefetched_measures_;  // read with the LKG's bytes
  struct AfterCommit {
    LkgRecord lkg;
    std::vector<Accepted> retained;
    std::vector<RangeResult> metas;  // objects, measures: as the commit left them
    uint64_t dropped = 0;            // objects the commit deleted
  };
  std::map<std::string, AfterCommit> after_commit_;  // per stream, for prune()
};

}  // namespace

Result<std::unique_ptr<Store>> open_etcd_store(const std::string& url, const StoreOptions& options) {
  auto endpoints = parse_etcd_url(url);
  if (!endpoints) return endpoints.error();
  return std::unique_ptr<Store>(std::make_unique<EtcdStore>(std::move(*endpoints), options));
}

}  // namespace invar::store
