// The state store: per stream, the last-known-good (LKG) artifact with its
// measures, the last N accepted artifacts, the waivers, and an append-only
// decision journal. The embedded backend is a directory (FsStore); the
// on-disk format (version 1) is documented in docs/state.md.
//
// Every record carries a SHA-256 checksum and every artifact is stored under
// its SHA-256: a file that fails either check is an ErrorCode::state error,
// never used silently. Writers hold the stream's exclusive lock; readers a
// shared one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "invar/invar.hpp"
#include "invariants/measure.hpp"

namespace invar::store {

inline constexpr int kFormatVersion = 1;
inline constexpr uint32_t kDefaultKeep = 10;               // accepted artifacts kept for backtests
inline constexpr uint64_t kMaxJournalRead = 16ull << 20;   // journal bytes status/history read from its end
inline constexpr uint64_t kGateJournalRead = 1ull << 20;   // ... and a gate (flap detection, pinned-since)
inline constexpr uint64_t kMaxStateFileBytes = 64ull << 20; // records, measures, waivers

using Status = std::optional<Error>;  // nullopt: success

struct LkgRecord {
  std::string stream;
  uint64_t sequence = 0;       // promotions on this stream so far (1 = first)
  std::string digest;          // "sha256:..." of the artifact bytes
  uint64_t bytes = 0;
  std::string generation;      // the value of the contract's first monotonic invariant ("" if none)
  int64_t accepted_at_ms = 0;
  std::string contract;        // name and digest of the contract it was accepted under
  std::string contract_digest;
};

struct Accepted {  // one entry of the retention list
  std::string digest;
  std::string generation;
  int64_t accepted_at_ms = 0;
  uint64_t sequence = 0;
};

struct Waiver {
  std::string invariant;
  std::string reason;
  std::string by;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
};

struct JournalRecord {
  std::string event;  // "decision" or "waiver"
  int64_t time_ms = 0;
  std::string stream;
  std::string host;
  int64_t pid = 0;
  // decision
  std::string verdict;  // accept, reject, pin
  std::string candidate;
  std::string generation;
  std::vector<std::string> failed;  // error-severity invariants that failed
  std::vector<std::string> waived;
  std::string lkg_before, lkg_after;
  std::string contract, contract_digest;
  bool flapping = false;
  // waiver
  std::optional<Waiver> waiver;
};

// Held while a stream is read (shared) or written (exclusive); released on
// destruction, and by the kernel if the process dies.
class Lock {
 public:
  virtual ~Lock() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // Waits for the stream's lock. Creates the stream when `exclusive`.
  virtual Result<std::unique_ptr<Lock>> lock(const std::string& stream, bool exclusive) = 0;
  // Streams that have state, sorted.
  virtual Result<std::vector<std::string>> streams() = 0;

  // The following need the stream's lock (exclusive for the writers).
  virtual Result<std::optional<LkgRecord>> lkg(const std::string& stream) = 0;
  virtual Result<std::string> artifact(const std::string& stream, const std::string& digest) = 0;
  // nullopt when no measures were stored for that artifact.
  virtual Result<std::optional<invariants::Measures>> measures(const std::string& stream, const std::string& digest) = 0;
  virtual Result<std::vector<Accepted>> accepted(const std::string& stream) = 0;
  virtual Result<std::vector<Waiver>> waivers(const std::string& stream) = 0;
  // Journal records, oldest first, from the last `max_bytes` of the journal.
  virtual Result<std::vector<JournalRecord>> journal(const std::string& stream, uint64_t max_bytes = kMaxJournalRead) = 0;

  // Makes `bytes` the stream's LKG, atomically: after a crash at any point
  // the LKG is the old one or the new one, complete. Then prunes the
  // retention list to `keep` entries (never the LKG).
  virtual Status promote(const std::string& stream, std::string_view bytes, const invariants::Measures& measures,
                         const LkgRecord& record, uint32_t keep) = 0;
  virtual Status append(const std::string& stream, const JournalRecord& record) = 0;
  virtual Status set_waivers(const std::string& stream, const std::vector<Waiver>& waivers) = 0;
};

// The JSON form of journal records and waivers (as stored, without the seal).
nlohmann::json to_json(const JournalRecord& record);
nlohmann::json to_json(const Waiver& waiver);

// A stream name: 1-128 characters of [A-Za-z0-9._-], not starting with '.' or '-'.
bool valid_stream_name(const std::string& stream);

// The filesystem backend rooted at `dir` (created on first write).
Result<std::unique_ptr<Store>> open_fs_store(const std::string& dir);

}  // namespace invar::store
