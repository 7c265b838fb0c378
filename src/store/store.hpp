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

#include "invar/gate.hpp"
#include "invar/invar.hpp"
#include "invariants/measure.hpp"

namespace invar::store {

inline constexpr int kFormatVersion = 1;
inline constexpr uint64_t kMaxJournalRead = 16ull << 20;   // journal bytes status/history read from its end
inline constexpr uint64_t kGateJournalRead = 1ull << 20;   // ... and a gate (flap detection, pinned-since)
inline constexpr uint64_t kMaxStateFileBytes = 64ull << 20; // records, measures, waivers

using Status = std::optional<Error>;  // nullopt: success

// The records are the public ones (include/invar/gate.hpp).
using invar::Accepted;
using invar::JournalRecord;
using invar::LkgRecord;
using invar::Waiver;

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
