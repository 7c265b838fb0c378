// The in-memory backend: a Store whose state lives and dies with the
// process. An in-memory Guard decides through it with the gate's own code
// (src/gate/gate.cpp), and it is the third backend of the Store conformance
// suite. Nothing is sealed or checksummed: nothing leaves the process.
#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "common/digest.hpp"
#include "common/text.hpp"
#include "store/store.hpp"

namespace invar::store {

namespace {

struct StreamData {
  StreamInfo info;
  std::optional<LkgRecord> lkg;
  std::map<std::string, std::string> objects;  // digest -> bytes
  std::map<std::string, invariants::Measures> measures;
  std::vector<Accepted> accepted;
  std::vector<Waiver> waivers;
  std::deque<JournalRecord> journal;
  std::vector<Quarantined> quarantine;
  std::map<std::string, std::string> quarantined;
  std::string rollout;      // the sealed rollout record ("" none)
  std::string control;      // the sealed control record ("" none)
  std::shared_mutex lock;  // the stream's lock (Store::lock)
};

class MemLock : public Lock {
 public:
  MemLock(std::shared_mutex& m, bool exclusive) : mutex_(m), exclusive_(exclusive) {
    if (exclusive_) mutex_.lock();
    else mutex_.lock_shared();
  }
  ~MemLock() override {
    if (exclusive_) mutex_.unlock();
    else mutex_.unlock_shared();
  }

 private:
  std::shared_mutex& mutex_;
  bool exclusive_;
};

class NoLock : public Lock {};

Error usage(std::string message) { return Error{ErrorCode::usage, std::move(message), {}}; }

class MemStore : public Store {
 public:
  explicit MemStore(size_t max_journal) : max_journal_(max_journal) {}

  Result<std::unique_ptr<Lock>> lock(const std::string& stream, bool exclusive) override {
    StreamData* s = find(stream);
    if (!s) {
      if (!exclusive) return std::unique_ptr<Lock>(std::make_unique<NoLock>());
      return usage("stream " + text::quoted(stream) + " does not exist in memory");
    }
    return std::unique_ptr<Lock>(std::make_unique<MemLock>(s->lock, exclusive));
  }

  Result<bool> has_location() override {
    std::lock_guard<std::mutex> g(mutex_);
    return !streams_.empty();
  }
  Result<bool> has_stream(const std::string& stream) override { return find(stream) != nullptr; }

  // Made whole before it is added: no reader sees it without its seed.
  Status init_stream(const StreamInfo& info, const JournalRecord* record, const Promotion* seed,
                     const std::string* rollout = nullptr) override {
    auto data = std::make_unique<StreamData>();
    data->info = info;
    if (rollout) data->rollout = *rollout;
    if (seed) {
      data->objects[seed->record.digest] = std::string(seed->bytes);
      data->measures[seed->record.digest] = *seed->measures;
      data->accepted = retained_after({}, seed->record, seed->keep);
      data->lkg = seed->record;
    }
    if (record) data->journal.push_back(*record);
    std::lock_guard<std::mutex> g(mutex_);
    if (streams_.count(info.stream)) return usage("stream " + text::quoted(info.stream) + " exists already");
    streams_[info.stream] = std::move(data);
    return std::nullopt;
  }

  Result<std::optional<StreamInfo>> stream_info(const std::string& stream) override {
    StreamData* s = find(stream);
    if (!s) return std::optional<StreamInfo>();
    return std::optional<StreamInfo>(s->info);
  }

  Status set_stream_info(const StreamInfo& info) override {
    StreamData* s = find(info.stream);
    if (!s) return state_error(info.stream, "the stream is gone");
    s->info = info;
    return std::nullopt;
  }

  Result<std::vector<std::string>> streams() override {
    std::lock_guard<std::mutex> g(mutex_);
    std::vector<std::string> out;
    for (const auto& [name, data] : streams_) out.push_back(name);
    return out;
  }

  Result<std::optional<LkgRecord>> lkg(const std::string& stream) override {
    StreamData* s = find(stream);
    return s ? s->lkg : std::optional<LkgRecord>();
  }

  Result<std::string> artifact(const std::string& stream, const std::string& digest, uint64_t max_bytes) override {
    StreamData* s = find(stream);
    auto it = s ? s->objects.find(digest) : decltype(s->objects.end()){};
    if (!s || it == s->objects.end()) return state_error(stream, "the state refers to an artifact that is gone");
    if (it->second.size() > max_bytes) return state_error(stream, "the stored artifact is larger than its record says");
    return it->second;
  }

  Result<std::optional<invariants::Measures>> measures(const std::string& stream, const std::string& digest) override {
    StreamData* s = find(stream);
    if (!s || !s->measures.count(digest)) return std::optional<invariants::Measures>();
    return std::optional<invariants::Measures>(s->measures[digest]);
  }

  Result<std::vector<Accepted>> accepted(const std::string& stream) override {
    StreamData* s = find(stream);
    return s ? s->accepted : std::vector<Accepted>();
  }

  Result<std::vector<Waiver>> waivers(const std::string& stream) override {
    StreamData* s = find(stream);
    return s ? s->waivers : std::vector<Waiver>();
  }

  Result<JournalRead> journal(const std::string& stream, uint64_t) override {
    JournalRead out;
    if (StreamData* s = find(stream)) out.records.assign(s->journal.begin(), s->journal.end());
    return out;
  }

  Status promote(const std::string& stream, std::string_view bytes, const invariants::Measures& measures,
                 const LkgRecord& record, uint32_t keep) override {
    StreamData* s = find(stream);
    if (!s) return state_error(stream, "the stream is gone; nothing was changed");
    s->objects[record.digest] = std::string(bytes);
    s->measures[record.digest] = measures;
    s->accepted = retained_after(s->accepted, record, keep);
    s->lkg = record;
    return std::nullopt;
  }

  Result<Fence> fence(const std::string& stream) override { return sequence_fence(*this, stream); }

  Status decide(const std::string& stream, const Fence& fence, const JournalRecord& record, const Promotion* promotion,
                bool& committed, const WaiverUse* waivers = nullptr, const ContractSwitch* switched = nullptr,
                const RolloutFence* rollout = nullptr) override {
    return decide_in_steps(*this, stream, fence, record, promotion, committed, waivers, switched, rollout);
  }

  Result<Versioned> rollout_record(const std::string& stream) override {
    StreamData* s = find(stream);
    if (!s || s->rollout.empty()) return Versioned{};
    return Versioned{s->rollout, content_version(s->rollout)};
  }

  Result<Versioned> control_record(const std::string& stream) override {
    StreamData* s = find(stream);
    if (!s || s->control.empty()) return Versioned{};
    return Versioned{s->control, content_version(s->control)};
  }

  Result<Versioned> freeze_record() override {
    std::lock_guard<std::mutex> g(mutex_);
    return Versioned{freeze_, content_version(freeze_)};
  }

  Result<uint64_t> set_freeze_record(const std::string& text, uint64_t version) override {
    std::vector<StreamData*> all;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (content_version(freeze_) != version) return Error{ErrorCode::conflict, "the freeze changed meanwhile", {}};
      freeze_ = text;
      for (auto& [name, data] : streams_) all.push_back(data.get());
    }
    for (auto* s : all) std::unique_lock<std::shared_mutex> barrier(s->lock);  // see Store::set_freeze_record
    return content_version(text);
  }

  Result<uint64_t> prune(const std::string& stream) override {
    StreamData* s = find(stream);
    if (!s) return uint64_t{0};
    std::set<std::string> keep;
    if (s->lkg) keep.insert(s->lkg->digest);
    for (const auto& a : committed(s->accepted, s->lkg)) keep.insert(a.digest);
    auto held = held_by_rollout(*this, stream);
    if (!held) return held.error();
    keep.insert(held->begin(), held->end());
    uint64_t removed = std::erase_if(s->objects, [&](const auto& kv) { return !keep.count(kv.first); });
    std::erase_if(s->measures, [&](const auto& kv) { return !keep.count(kv.first); });
    return removed;
  }

  Status reserve(const std::string&, const JournalRecord&) override { return std::nullopt; }

 protected:
  Status write_rollout_record(const std::string& stream, const char* name, const std::string& text) override {
    StreamData* s = find(stream);
    if (!s) return state_error(stream, "the stream is gone; nothing was changed");
    (std::string(name) == "control" ? s->control : s->rollout) = text;
    return std::nullopt;
  }

 public:

  Status append(const std::string& stream, const JournalRecord& record) override {
    StreamData* s = find(stream);
    if (!s) return state_error(stream, "the stream is gone");
    s->journal.push_back(record);
    while (s->journal.size() > max_journal_) s->journal.pop_front();
    return std::nullopt;
  }

  Result<std::optional<std::string>> repair_journal(const std::string&) override {
    return std::optional<std::string>();  // appends are whole
  }

  // Under the stream's exclusive lock: nothing else writes the list (`version` is 0).
  Result<uint64_t> set_waivers(const std::string& stream, const std::vector<Waiver>& waivers, uint64_t) override {
    StreamData* s = find(stream);
    if (!s) return state_error(stream, "the stream is gone");
    s->waivers = waivers;
    for (auto& w : s->waivers)  // as a decoded record has one
      if (w.id.empty()) w.id = waiver_id(w);
    return uint64_t{0};
  }

  Status quarantine(const std::string& stream, std::string_view bytes, const Quarantined& entry,
                    uint32_t keep) override {
    StreamData* s = find(stream);
    if (!s) return state_error(stream, "the stream is gone");
    std::erase_if(s->quarantine, [&](const Quarantined& q) { return q.digest == entry.digest; });
    s->quarantine.push_back(entry);
    if (s->quarantine.size() > keep) s->quarantine.erase(s->quarantine.begin(), s->quarantine.end() - keep);
    if (keep > 0) s->quarantined[entry.digest] = std::string(bytes);
    std::erase_if(s->quarantined, [&](const auto& kv) {
      return std::none_of(s->quarantine.begin(), s->quarantine.end(),
                          [&](const Quarantined& q) { return q.digest == kv.first; });
    });
    return std::nullopt;
  }

  Result<std::vector<Quarantined>> quarantined(const std::string& stream) override {
    StreamData* s = find(stream);
    return s ? s->quarantine : std::vector<Quarantined>();
  }

  Result<std::string> quarantined_artifact(const std::string& stream, const std::string& digest, uint64_t) override {
    StreamData* s = find(stream);
    if (!s || !s->quarantined.count(digest)) return state_error(stream, "the quarantined artifact is gone");
    return s->quarantined[digest];
  }

  Status check_outside(const std::string&) override { return std::nullopt; }

 private:
  StreamData* find(const std::string& stream) {
    std::lock_guard<std::mutex> g(mutex_);
    auto it = streams_.find(stream);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  size_t max_journal_;
  std::mutex mutex_;  // guards streams_ (each stream's data is guarded by its own lock)
  std::map<std::string, std::unique_ptr<StreamData>> streams_;
  std::string freeze_;  // the location's freeze record ("" none), guarded by mutex_
};

}  // namespace

std::unique_ptr<Store> open_mem_store(size_t max_journal) { return std::make_unique<MemStore>(max_journal); }

}  // namespace invar::store
