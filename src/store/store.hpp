// The state store: per stream, the last-known-good (LKG) artifact with its
// measures, the last N accepted artifacts, the waivers, and an append-only
// decision journal. The embedded backend is a directory (FsStore); the
// on-disk format (version 1) is documented in docs/state.md, the records'
// codecs are in records.hpp.
//
// Every record carries a SHA-256 checksum and every artifact is stored under
// its SHA-256: a file that fails either check is an ErrorCode::state error,
// never used silently. Writers hold the stream's exclusive lock; readers a
// shared one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "invar/gate.hpp"
#include "invar/invar.hpp"
#include "invariants/measure.hpp"
#include "store/records.hpp"

namespace invar::store {

inline constexpr uint64_t kMaxJournalRead = 16ull << 20;   // journal bytes status/history read from its end
inline constexpr uint64_t kGateJournalRead = 1ull << 20;   // ... and a gate (flap detection, pinned-since)
inline constexpr uint64_t kMaxStateFileBytes = 64ull << 20; // records, measures, waivers
// A stored artifact is read only up to this (or the size its record names):
// the artifact ceiling of docs/limits.md.
inline constexpr uint64_t kMaxStoredArtifact = 4ull << 30;

using Status = std::optional<Error>;  // nullopt: success

// The records are the public ones (include/invar/gate.hpp).
using invar::Accepted;
using invar::StreamInfo;
using invar::JournalRecord;
using invar::LkgRecord;
using invar::Quarantined;
using invar::Waiver;

// Held while a stream is read (shared) or written (exclusive); released on
// destruction, and by the kernel if the process dies.
class Lock {
 public:
  virtual ~Lock() = default;
  // True once the lock is known to be lost (a lease that expired while the
  // holder was paused). Correctness never rests on it: decisions are fenced
  // (see Store::fence); it only saves work that would be refused.
  virtual bool lost() const { return false; }
  // The store revision the reads in this scope are made at (etcd's; 0: a
  // backend without revisions): what Store::wait_for_change waits past.
  virtual uint64_t revision() const { return 0; }
};

// How Store::wait_for_change ended.
enum class Wake {
  change,       // a record may have changed: read again
  timeout,      // the deadline passed
  stop,         // the stop predicate said so
  unsupported,  // the backend cannot wait for changes (the directory, memory): poll
};

// The version of a stream's LKG as a decision was judged against it.
// Decisions are fenced: a decision is written only if the LKG is still that
// version (a gate paused past any lock or lease finds its write refused).
struct Fence {
  uint64_t version = 0;  // the directory: the LKG's sequence; etcd: the LKG key's mod_revision
};

// The stream's waivers and their version: etcd, the waivers key's
// mod_revision (0: no key); the directory and memory, always 0 (the
// stream's exclusive lock serialises their writers).
struct WaiverList {
  std::vector<Waiver> waivers;
  uint64_t version = 0;
};

// A decision that a waiver let through (an accept): it is fenced on the
// waiver list too (a waiver revoked or used up meanwhile is not used), and
// `after` (its scoped waivers marked used), when set, is written with it.
struct WaiverUse {
  uint64_t version = 0;  // WaiverList::version as judged
  std::optional<std::vector<Waiver>> after;
};

// What an accept writes before its journal record.
struct Promotion {
  std::string_view bytes;
  const invariants::Measures* measures = nullptr;
  LkgRecord record;
  uint32_t keep = 10;
};

// A deliberate contract change (SubmitOptions::contract_change): the
// stream's new record and the journal record saying so, written with the
// decision judged under it (never by a gate that then changes nothing).
struct ContractSwitch {
  StreamInfo info;
  JournalRecord record;
};

// A record read with its version (0: absent): the stream's rollout record
// and the location's freeze record, which decisions are fenced on.
// etcd: the key's mod_revision; the directory: from the file's SHA-256.
struct Versioned {
  std::string text;  // "" when absent
  uint64_t version = 0;
};

// The rollout state a decision was judged under: written only if the
// stream's control record (its halt, vetoes and freeze), the location's
// freeze and, for a rollout step (`rollout_version` set), the rollout
// record are still at these versions (else ErrorCode::conflict); `record`
// and `control`, when set, replace them in the same unit. Gates fence on
// the control record only: promotions do not refuse their writes, a halt,
// a veto or a freeze does. A backend that writes in steps writes the
// rollout record, then the control record, then the LKG: a reader that
// finds the LKG vetoed knows a revert is unfinished.
struct RolloutFence {
  std::optional<uint64_t> rollout_version;
  uint64_t control_version = 0;
  uint64_t freeze_version = 0;
  std::optional<std::string> record;
  std::optional<std::string> control;
};

// What journal() read: the records, oldest first, and the bytes of an
// incomplete last line (a torn append), which are not a record.
struct JournalRead {
  std::vector<JournalRecord> records;
  uint64_t torn_bytes = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Waits for the stream's lock. An exclusive lock on a stream that does
  // not exist is an Error; a shared one is a lock on nothing (readers find
  // no records).
  virtual Result<std::unique_ptr<Lock>> lock(const std::string& stream, bool exclusive) = 0;
  // Whether the state location exists (with its marker), and the stream in it.
  virtual Result<bool> has_location() = 0;
  virtual Result<bool> has_stream(const std::string& stream) = 0;
  // Creates the location (if needed) and the stream with its record; an
  // Error (ErrorCode::usage) when the stream exists.
  Status create_stream(const StreamInfo& info) { return init_stream(info, nullptr, nullptr); }
  // The same, with the stream's first journal record and (`seed`, sequence
  // 1) its first LKG: one unit, written only if the stream does not exist
  // (and has no LKG) when it is committed; else an Error (ErrorCode::usage)
  // and nothing is written. No reader sees the stream without its seed, or
  // without its rollout record (`rollout`: sealed, see rollout_record()).
  virtual Status init_stream(const StreamInfo& info, const JournalRecord* record, const Promotion* seed,
                             const std::string* rollout = nullptr) = 0;
  // The stream's record (nullopt for a stream of an older invar that has none).
  virtual Result<std::optional<StreamInfo>> stream_info(const std::string& stream) = 0;
  virtual Status set_stream_info(const StreamInfo& info) = 0;
  // Streams that have state, sorted.
  virtual Result<std::vector<std::string>> streams() = 0;

  // The following need the stream's lock (exclusive for the writers).
  // The LKG's version now: taken before lkg() is read for a judgement.
  virtual Result<Fence> fence(const std::string& stream) = 0;
  // Writes one decision: the promotion (for an accept), the contract
  // switch it was judged under (if any) and `record`, refused with
  // ErrorCode::conflict (nothing written) when the LKG is no longer at
  // `fence`. `committed` says whether the LKG changed, also on an error: a
  // backend that cannot write both at once (the directory) may commit the
  // promotion and then fail to append the record.
  // `waivers`: see WaiverUse (refused with ErrorCode::conflict as well).
  // `rollout`: see RolloutFence (nullptr: not fenced on it; gates,
  // rollout steps and vetoes always pass one). A record without an event
  // is not journaled (a rollout step that only kept the health it saw).
  virtual Status decide(const std::string& stream, const Fence& fence, const JournalRecord& record,
                        const Promotion* promotion, bool& committed, const WaiverUse* waivers = nullptr,
                        const ContractSwitch* switched = nullptr, const RolloutFence* rollout = nullptr) = 0;

  // The stream's rollout record (needs the stream's lock) and the
  // location's freeze record (needs none).
  virtual Result<Versioned> rollout_record(const std::string& stream) = 0;
  virtual Result<Versioned> control_record(const std::string& stream) = 0;
  virtual Result<Versioned> freeze_record() = 0;
  // Replaces the location's freeze record ("" removes it) if it is still at
  // `version`, else ErrorCode::conflict; returns its new version. When it
  // returns, no decision judged under the old freeze can still commit.
  virtual Result<uint64_t> set_freeze_record(const std::string& text, uint64_t version) = 0;

  // nullopt for a stream that never had an LKG; an Error when it had one
  // and its record is gone (other records show it existed).
  virtual Result<std::optional<LkgRecord>> lkg(const std::string& stream) = 0;
  // The artifact's bytes, verified against `digest`; refused unread when
  // larger than `max_bytes`.
  virtual Result<std::string> artifact(const std::string& stream, const std::string& digest, uint64_t max_bytes) = 0;
  // What artifact() would check (present, exactly `size` bytes, matching
  // `digest`), without keeping the bytes. This default reads them whole; a
  // backend that can hash its objects as it reads them overrides it (the
  // directory), or proves them from its sealed record of them (etcd: the
  // meta names the digest and the chunk count; artifact() hashes them).
  virtual Status verify_artifact(const std::string& stream, const std::string& digest, uint64_t size);
  // nullopt when no measures were stored for that artifact.
  virtual Result<std::optional<invariants::Measures>> measures(const std::string& stream, const std::string& digest) = 0;
  // The retention list as stored, oldest first. Entries whose sequence is
  // past the LKG's belong to a promotion that never committed: see committed().
  virtual Result<std::vector<Accepted>> accepted(const std::string& stream) = 0;
  virtual Result<std::vector<Waiver>> waivers(const std::string& stream) = 0;
  // The same with its version, read at once (for set_waivers). Default: version 0.
  virtual Result<WaiverList> waiver_list(const std::string& stream);
  // Journal records from the last `max_bytes` of the journal (and of its
  // rotated files, newest first, when the current one is shorter).
  virtual Result<JournalRead> journal(const std::string& stream, uint64_t max_bytes = kMaxJournalRead) = 0;

  // Makes `bytes` the stream's LKG, atomically: after a crash or a failure
  // at any point the LKG is the old one or the new one, complete. The
  // retention list gains the new entry before the commit.
  virtual Status promote(const std::string& stream, std::string_view bytes, const invariants::Measures& measures,
                         const LkgRecord& record, uint32_t keep) = 0;
  // Writes ahead what a promotion of `bytes` (digest `digest`) will store,
  // under names no record uses yet, so that the caller can overlap it with
  // other work (the gate stages its publication meanwhile); nothing is
  // committed, and a later prune collects it if no promotion follows. The
  // next promote() of that digest by this Store skips the write. Call it
  // under the stream's lock. Default: nothing (promote() writes it all).
  virtual Status stage(const std::string& stream, std::string_view bytes, const invariants::Measures& measures,
                       const std::string& digest) {
    (void)stream, (void)bytes, (void)measures, (void)digest;
    return std::nullopt;
  }
  // A hint that `bytes` may be promoted soon, given as soon as they are
  // read: a backend may start preparing them on a thread (the etcd backend
  // deflates a large artifact while the gate judges it). `bytes` must stay
  // valid and unchanged until prepare_done(), which the caller must call
  // before releasing them. Default: nothing.
  virtual void prepare_object(std::string_view bytes) { (void)bytes; }
  // Ends what this thread's prepare_object() started (waits for its
  // thread, forgets it).
  virtual void prepare_done() {}
  // Deletes stored artifacts outside the retention list (never the LKG)
  // and temporary files of interrupted writes. Only files it recognises
  // by name are touched. Returns how many stored objects (and leftovers of
  // interrupted writes) were deleted.
  virtual Result<uint64_t> prune(const std::string& stream) = 0;
  // Makes sure `record` can be appended later without running out of
  // space (rotating the journal first when it is due).
  virtual Status reserve(const std::string& stream, const JournalRecord& record) = 0;
  virtual Status append(const std::string& stream, const JournalRecord& record) = 0;
  // Moves an incomplete last journal line aside (kept in a file beside the
  // journal) and truncates it off; returns that file's name, or nullopt
  // when the journal was whole.
  virtual Result<std::optional<std::string>> repair_journal(const std::string& stream) = 0;
  // Replaces the waiver list if it is still at `version` (WaiverList::version),
  // else ErrorCode::conflict and nothing written; returns its new version.
  virtual Result<uint64_t> set_waivers(const std::string& stream, const std::vector<Waiver>& waivers,
                                       uint64_t version) = 0;

  // Keeps a rejected candidate as evidence: its bytes under their digest,
  // the list newest last; entries past the newest `keep`, and their files,
  // are deleted. The same bytes rejected again move to the end.
  virtual Status quarantine(const std::string& stream, std::string_view bytes, const Quarantined& entry,
                            uint32_t keep) = 0;
  virtual Result<std::vector<Quarantined>> quarantined(const std::string& stream) = 0;
  // A quarantined candidate's bytes, verified against `digest`.
  virtual Result<std::string> quarantined_artifact(const std::string& stream, const std::string& digest,
                                                   uint64_t max_bytes) = 0;
  // Refuses (ErrorCode::usage) a publication path inside the store.
  virtual Status check_outside(const std::string& path) = 0;

  // Waits until a record that decides what a follower of `stream` sees (its
  // LKG, rollout and control records) may have changed after `revision`
  // (Lock::revision of the follower's last read), until `deadline`, or
  // until `stop()` says so; no change after `revision` is missed. A
  // backend that cannot (the default) says Wake::unsupported at once.
  virtual Wake wait_for_change(const std::string& stream, uint64_t revision,
                               std::chrono::steady_clock::time_point deadline, const std::function<bool()>& stop) {
    (void)stream, (void)revision, (void)deadline, (void)stop;
    return Wake::unsupported;
  }

 protected:
  friend Status decide_in_steps(Store&, const std::string&, const Fence&, const JournalRecord&, const Promotion*, bool&,
                                const WaiverUse*, const ContractSwitch*, const RolloutFence*);
  // decide_in_steps's writer of the rollout record, under the stream's
  // exclusive lock (a backend that writes decisions at once needs none).
  // `name`: "rollout" or "control".
  virtual Status write_rollout_record(const std::string& stream, const char* name, const std::string& text) {
    (void)stream, (void)name, (void)text;
    return Error{ErrorCode::state, "this store writes rollout records with its decisions only", {}};
  }
};

// The entries of `list` that a committed promotion wrote (sequence at most
// the LKG's; none without an LKG).
std::vector<Accepted> committed(const std::vector<Accepted>& list, const std::optional<LkgRecord>& lkg);

// fence() and decide() for a backend whose writers are serialised by its
// lock (the directory, memory): the fence is the LKG's sequence, and a
// decision is written in steps (a contract switch, promote, then append).
Result<Fence> sequence_fence(Store& store, const std::string& stream);
Status decide_in_steps(Store& store, const std::string& stream, const Fence& fence, const JournalRecord& record,
                       const Promotion* promotion, bool& committed, const WaiverUse* waivers,
                       const ContractSwitch* switched, const RolloutFence* rollout);
// The version of a record read from a file (the directory, memory): from its SHA-256, 0 when absent.
uint64_t content_version(std::string_view text);
// The artifacts the stream's rollout record holds (never pruned); none
// without a record, an Error when it cannot be read.
Result<std::vector<std::string>> held_by_rollout(Store& store, const std::string& stream);

// The conflict of a fenced write: the LKG moved from `fence`.
Error fence_conflict(const std::string& stream, const Fence& fence, uint64_t now);

// The retention list after promoting `record`: leftovers of uncommitted
// promotions and the same bytes accepted before dropped, the new entry
// last, the newest `keep` kept. One rule for every backend.
std::vector<Accepted> retained_after(const std::vector<Accepted>& list, const LkgRecord& record, uint32_t keep);

// A stream name: 1-128 characters of [A-Za-z0-9._-], not starting with '.' or '-'.
bool valid_stream_name(const std::string& stream);

// The in-memory backend (an in-memory Guard's): a stream keeps at most
// `max_journal` journal records.
std::unique_ptr<Store> open_mem_store(size_t max_journal = 1024);

// The etcd backend at "etcd://HOST:PORT[,HOST:PORT...][/PREFIX]" (docs/fleet.md).
Result<std::unique_ptr<Store>> open_etcd_store(const std::string& url, const StoreOptions& options);

// The filesystem backend rooted at `dir` (created on first write).
Result<std::unique_ptr<Store>> open_fs_store(const std::string& dir, const StoreOptions& options);

}  // namespace invar::store
