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
#include <unistd.h>

#include <chrono>
#include <functional>
#include <random>
#include <map>
#include <mutex>
#include <set>

#include "common/digest.hpp"
#include "common/fault.hpp"
#include "common/text.hpp"
#include "store/etcd_client.hpp"
#include "store/store.hpp"

namespace invar::store {

namespace {

constexpr size_t kChunk = 768 << 10;  // raw bytes per chunk: base64 stays under etcd's 1.5 MiB request limit

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

  Result<std::unique_ptr<Lock>> lock(const std::string& stream, bool exclusive) override {
    if (exclusive) {
      auto exists = has_stream(stream);
      if (!exists) return exists.error();
      if (!*exists) return Error{ErrorCode::usage, "stream " + text::quoted(stream) + " does not exist in etcd", {}};
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
    auto s = client_.get(rec(stream, "stream"));
    if (!s) return s.error();
    if (s->has_value()) {
      std::lock_guard<std::mutex> g(mutex_);
      known_.insert(stream);
    }
    return s->has_value();
  }

  Status create_stream(const StreamInfo& info) override {
    auto location = has_location();
    if (!location) return location.error();
    std::vector<TxnOp> ops = {{TxnOp::put, rec(info.stream, "stream"), encode_stream(info)}};
    if (!*location) ops.push_back({TxnOp::put, client_.prefix() + "invar-state", seal(nlohmann::json::object(), "invar-state")});
    auto done = client_.txn({{rec(info.stream, "stream"), 0, false}}, ops);
    if (!done) return done.error();
    if (!*done) return Error{ErrorCode::usage, "stream " + text::quoted(info.stream) + " exists already in etcd", {}};
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

  // One read of the stream's small records, at one revision: the fence is
  // the LKG's mod_revision in it, and until the stream's lock is released
  // (or this process writes) the records a judgement reads come from it.
  Result<Fence> fence(const std::string& stream) override {
    auto kvs = client_.range(rec(stream, ""));
    if (!kvs) return kvs.error();
    Snapshot snap;
    for (auto& kv : *kvs) snap[kv.key.substr(rec(stream, "").size())] = std::move(kv);
    uint64_t version = snap.count("lkg") ? snap["lkg"].mod_revision : 0;
    std::lock_guard<std::mutex> g(mutex_);
    snapshots_[stream] = std::move(snap);
    return Fence{version};
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

  Result<std::string> artifact(const std::string& stream, const std::string& digest, uint64_t max_bytes) override {
    return present(read_object(stream, "objects", digest, max_bytes), stream, "objects", digest);
  }

  Result<std::optional<invariants::Measures>> measures(const std::string& stream, const std::string& digest) override {
    auto text = read_object(stream, "measures", digest, kMaxStateFileBytes, false);
    if (!text) return text.error();
    if (!*text) return std::optional<invariants::Measures>();
    auto m = decode_measures(**text, where(stream, "measures/" + hex_of(digest)), digest);
    if (!m) return m.error();
    return std::optional<invariants::Measures>(std::move(m.value()));
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

  Result<JournalRead> journal(const std::string& stream, uint64_t max_bytes) override {
    // Newest first, at most as many records as the budget would hold.
    uint64_t limit = std::max<uint64_t>(1, max_bytes / 256);
    auto kvs = client_.range(key(stream, "journal/"), limit, true, true);
    if (!kvs) return kvs.error();
    JournalRead out;
    for (auto it = kvs->rbegin(); it != kvs->rend(); ++it) {
      auto rec = decode_journal(it->value, where(stream, it->key.substr(key(stream, "").size())));
      if (!rec) return rec.error();
      out.records.push_back(std::move(rec.value()));
    }
    return out;
  }

  Status promote(const std::string& stream, std::string_view bytes, const invariants::Measures& measures,
                 const LkgRecord& record, uint32_t keep) override {
    forget_snapshot(stream);
    auto ops = promotion_ops(stream, bytes, measures, record, keep);
    if (!ops) return ops.error();
    auto done = client_.txn(object_compares(stream, record.digest), *ops);
    if (!done) return done.error();
    if (!*done) return state_error(where(stream, "objects"), "the artifact's chunks were collected before the commit");
    return std::nullopt;
  }

  Status decide(const std::string& stream, const Fence& fence, const JournalRecord& record, const Promotion* promotion,
                bool& committed) override {
    committed = false;
    forget_snapshot(stream);  // what fence() read is stale once anything is written
    std::vector<TxnCompare> compares = {{rec(stream, "lkg"), fence.version, false}};
    std::vector<TxnOp> ops;
    if (promotion) {
      auto p = promotion_ops(stream, promotion->bytes, *promotion->measures, promotion->record, promotion->keep);
      if (!p) return p.error();
      ops = std::move(*p);
      for (auto& c : object_compares(stream, promotion->record.digest)) compares.push_back(std::move(c));
    }
    ops.push_back({TxnOp::put, journal_key(stream, record), encode_journal(record)});
    fault::point("etcd:objects-written");  // chunks written, the commit not yet
    auto done = client_.txn(compares, ops);
    if (!done) return done.error();
    if (!*done) {
      auto now = client_.get(rec(stream, "lkg"));
      return fence_conflict(stream, fence, now && now.value() ? now.value()->mod_revision : 0);
    }
    committed = promotion != nullptr;
    trim_journal(stream);
    return std::nullopt;
  }

  // Collects objects outside the LKG and the retention list once they are
  // older than the grace period (a gate between writing its chunks and its
  // commit is younger; and its commit checks that they still exist).
  Status prune(const std::string& stream) override {
    auto current = lkg(stream);
    if (!current) return current.error();
    auto list = accepted(stream);
    if (!list) return list.error();
    std::set<std::string> keep;
    if (current.value()) keep.insert(hex_of(current.value()->digest));
    for (const auto& a : committed(list.value(), current.value())) keep.insert(hex_of(a.digest));
    for (const char* kind : {"objects", "measures"}) {
      // The metas alone, in one read (never the chunks' bytes).
      std::string metas_prefix = meta_key(stream, kind, "");
      auto metas = client_.range(metas_prefix);
      if (!metas) return metas.error();
      for (const auto& kv : *metas) {
        std::string hex = kv.key.substr(metas_prefix.size());
        if (keep.count(hex)) continue;
        auto meta = unseal(kv.value, kv.key, "invar-object");
        if (meta && wall_ms() - meta->value("written_ms", int64_t{0}) < options_.orphan_grace_ms) continue;
        // The meta first: from then on a commit naming it is refused, and a reader finds it gone.
        auto done = client_.txn({}, {{TxnOp::remove_prefix, kv.key, ""},
                                     {TxnOp::remove_prefix, key(stream, std::string(kind) + "/" + hex + "/"), ""}});
        if (!done) return done.error();
      }
    }
    return std::nullopt;
  }

  Status reserve(const std::string&, const JournalRecord&) override { return std::nullopt; }

  Status append(const std::string& stream, const JournalRecord& record) override {
    if (auto e = client_.put(journal_key(stream, record), encode_journal(record))) return e;
    trim_journal(stream);
    return std::nullopt;
  }

  Result<std::optional<std::string>> repair_journal(const std::string&) override {
    return std::optional<std::string>();  // a record is one key: never torn
  }

  Status set_waivers(const std::string& stream, const std::vector<Waiver>& waivers) override {
    forget_snapshot(stream);
    return client_.put(rec(stream, "waivers"), encode_waivers(waivers));
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
      if (auto e = client_.txn({}, {{TxnOp::remove_prefix, meta_key(stream, "quarantined", hex_of(d)), ""},
                                    {TxnOp::remove_prefix, key(stream, "quarantined/" + hex_of(d) + "/"), ""}});
          !e)
        return e.error();
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
        auto it = snap->second.find(name);
        if (it == snap->second.end()) return std::optional<std::string>();  // the snapshot covers every record
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
    if (bytes.size() > options_.max_artifact_bytes)
      return Error{ErrorCode::limit,
                   "an artifact of " + std::to_string(bytes.size()) + " bytes is over the " +
                       std::to_string(options_.max_artifact_bytes) +
                       " bytes the etcd backend stores (StoreOptions::max_artifact_bytes, --etcd-max-artifact)",
                   {}};
    std::vector<TxnOp> ops;
    std::string base = key(stream, kind + "/" + hex_of(digest) + "/");
    const size_t chunks = std::max<size_t>(1, (bytes.size() + kChunk - 1) / kChunk);
    for (size_t i = 0; i < chunks; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "c/%06zu", i);
      size_t at = i * kChunk;
      ops.push_back({TxnOp::put, base + name, std::string(bytes.substr(std::min(at, bytes.size()), kChunk))});
    }
    nlohmann::json meta = {{"digest", digest}, {"bytes", bytes.size()}, {"chunks", chunks}, {"written_ms", wall_ms()}};
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

  // The compares a promotion needs: its objects still exist (not collected).
  std::vector<TxnCompare> object_compares(const std::string& stream, const std::string& digest) const {
    return {{meta_key(stream, "objects", hex_of(digest)), 0, true},
            {meta_key(stream, "measures", hex_of(digest)), 0, true}};
  }

  // Writes the artifact's chunks and measures now (content-addressed: harmless
  // if never committed), and returns the puts of the commit itself.
  Result<std::vector<TxnOp>> promotion_ops(const std::string& stream, std::string_view bytes,
                                           const invariants::Measures& measures, const LkgRecord& record,
                                           uint32_t keep) {
    std::vector<TxnOp> writes;
    for (auto [kind, data] : {std::pair<std::string, std::string>{"objects", std::string(bytes)},
                              {"measures", encode_measures(record.digest, measures)}}) {
      auto ops = object_ops(stream, kind, record.digest, data);
      if (!ops) return ops.error();
      writes.insert(writes.end(), ops->begin(), ops->end());
    }
    if (auto e = write_batched(writes)) return *e;
    auto list = accepted(stream);
    if (!list) return list.error();
    return std::vector<TxnOp>{{TxnOp::put, rec(stream, "accepted"), encode_accepted(retained_after(list.value(), record, keep))},
                              {TxnOp::put, rec(stream, "lkg"), encode_lkg(record)}};
  }

  // An object that must exist: its absence is corruption.
  Result<std::string> present(Result<std::optional<std::string>> read, const std::string& stream,
                              const std::string& kind, const std::string& digest) const {
    if (!read) return read.error();
    if (!*read) return state_error(where(stream, kind + "/" + hex_of(digest)), "the state refers to an artifact that is gone");
    return std::move(**read);
  }

  // The object's bytes, verified; nullopt when it is not stored.
  Result<std::optional<std::string>> read_object(const std::string& stream, const std::string& kind,
                                                 const std::string& digest, uint64_t max_bytes, bool verify = true) {
    if (!valid_digest(digest)) return state_error(where(stream, kind), "malformed artifact digest " + text::quoted(digest));
    std::string base = key(stream, kind + "/" + hex_of(digest) + "/");
    auto meta_kv = client_.get(meta_key(stream, kind, hex_of(digest)));
    if (!meta_kv) return meta_kv.error();
    if (!*meta_kv) return std::optional<std::string>();
    auto meta = unseal(meta_kv.value()->value, "etcd:" + meta_key(stream, kind, hex_of(digest)), "invar-object");
    if (!meta) return meta.error();
    uint64_t size = meta->value("bytes", uint64_t{0}), chunks = meta->value("chunks", uint64_t{0});
    if (size > max_bytes)
      return state_error("etcd:" + base, "the stored artifact is larger than its record says; invar will not use it");
    auto parts = client_.range(base + "c/");
    if (!parts) return parts.error();
    if (parts->size() != chunks)
      return state_error("etcd:" + base, "the artifact has " + std::to_string(parts->size()) + " chunks, its record says " +
                                             std::to_string(chunks));
    std::string out;
    out.reserve(size);
    for (const auto& p : *parts) out += p.value;
    if (out.size() != size || (verify && digest::sha256(out) != digest))
      return state_error("etcd:" + base, "the stored artifact does not match its SHA-256 (corrupted); invar will not use it");
    return std::optional<std::string>(std::move(out));
  }

  void forget_snapshot(const std::string& stream) {
    std::lock_guard<std::mutex> g(mutex_);
    snapshots_.erase(stream);
  }

  // Keeps about the newest journal_keep_records records of the stream (best
  // effort, checked on one decision in 16: a count is a request).
  void trim_journal(const std::string& stream) {
    if (random_hex()[0] != '0') return;
    auto n = client_.count(key(stream, "journal/"));
    if (!n || *n <= options_.journal_keep_records) return;
    auto oldest = client_.range(key(stream, "journal/"), *n - options_.journal_keep_records, true, false, true);
    if (!oldest) return;
    for (const auto& kv : *oldest) client_.remove_prefix(kv.key);
  }

  EtcdClient client_;
  StoreOptions options_;
  std::mutex mutex_;
  std::set<std::string> known_;                                  // streams seen to exist
  using Snapshot = std::map<std::string, KeyValue>;              // record name -> key
  std::map<std::string, Snapshot> snapshots_;                    // per stream, taken by fence()
};

}  // namespace

Result<std::unique_ptr<Store>> open_etcd_store(const std::string& url, const StoreOptions& options) {
  auto endpoints = parse_etcd_url(url);
  if (!endpoints) return endpoints.error();
  return std::unique_ptr<Store>(std::make_unique<EtcdStore>(std::move(*endpoints), options));
}

}  // namespace invar::store
