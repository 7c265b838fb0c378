// The gate: decides accept, reject or pin for a candidate on a stream, and
// promotes it atomically. Stateless invariants run before the stream's lock;
// baseline comparisons and freshness are judged again under the lock against
// the LKG as it is then, with the clock read then (never a stale judgement).
// docs/gate.md states the semantics; this header the calls.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "invar/invar.hpp"
#include "store/store.hpp"

namespace invar::gate {

enum class Action { accept, reject, pin };
std::string_view to_string(Action a);

inline constexpr int64_t kMaxWaiverMs = 30ll * 24 * 3600 * 1000;  // a waiver lasts at most 30 days

struct WaiverRequest {
  std::string invariant;
  std::string reason;
  int64_t duration_ms = 0;
  std::string by;  // who: the CLI passes $USER (or the uid)
};

struct FlapOptions {
  uint32_t alternations = 3;      // accept<->not-accept flips that make a stream flapping
  int64_t window_ms = 3'600'000;  // ... within this window (1h)
};

struct Options {
  std::string stream;
  bool dry_run = false;  // evaluate and report; touch nothing (shadow mode)
  // The clock; the system clock when unset (read again under the lock).
  std::optional<std::chrono::system_clock::time_point> now;
  uint32_t keep = store::kDefaultKeep;  // accepted artifacts kept for backtests (>= 1)
  FlapOptions flap;
  int64_t pinned_warn_ms = 3'600'000;   // warn when pinned longer than this (1h)
  std::vector<WaiverRequest> waive;     // recorded (unless dry_run) before deciding
};

struct Decision {
  Action action = Action::reject;
  Report report;
  std::string candidate;   // "sha256:..." ("" when the file was refused unread)
  std::string generation;  // the first monotonic invariant's value, if any
  std::optional<store::LkgRecord> lkg_before, lkg_after;
  bool flapping = false;
  std::vector<std::string> flap_history;  // "accept 2025-...Z", oldest first, within the window
  std::optional<int64_t> pinned_since_ms;
  std::vector<std::string> warnings;
  bool dry_run = false;
};

// Where the artifact to publish goes: prepare() stages the bytes (nothing
// visible yet), commit() makes them visible; both under the stream's lock.
class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual std::optional<Error> prepare(std::string_view bytes) = 0;
  virtual std::optional<Error> commit() = 0;
};

// Judges `bytes` (or a file already refused unread: pass its report as
// `refused`). On accept the candidate becomes the LKG and is published; on a
// violation the LKG is published (pin), or nothing when there is none
// (reject). An Error means the gate could not judge: nothing was published.
Result<Decision> submit(const Contract& contract, store::Store& store, std::string_view bytes, const Options& options,
                        Publisher* publisher, const Report* refused = nullptr);

// Reads the artifact at `path` (refused unread, as a reject, when over the
// contract's max_bytes) and submits it. An unreadable file is an Error.
Result<Decision> submit_file(const Contract& contract, store::Store& store, const std::string& path,
                             const Options& options, Publisher* publisher);

// Publishes to a file: prepare() writes and fsyncs a temporary file beside
// `path`, commit() renames it over `path` and fsyncs the directory.
std::unique_ptr<Publisher> file_publisher(const std::string& path);

// Records a waiver for one invariant of `contract` on `stream`: refused
// without a reason, without a positive expiry up to kMaxWaiverMs, for an
// unknown id or one declared "waivable": false.
Result<store::Waiver> waive(const Contract& contract, store::Store& store, const std::string& stream,
                            const WaiverRequest& request, std::optional<std::chrono::system_clock::time_point> now);

struct StreamStatus {
  std::string stream;
  std::optional<store::LkgRecord> lkg;
  std::vector<store::JournalRecord> recent;  // the last decisions, newest first
  std::optional<int64_t> pinned_since_ms;
  bool flapping = false;
  std::vector<std::string> flap_history;
  std::vector<store::Waiver> active_waivers;
  uint64_t retained = 0;  // accepted artifacts kept
  std::vector<std::string> warnings;
};

// Reads and verifies everything stored for `stream` (checksums, digests).
// An Error (ErrorCode::state) when anything is corrupted.
Result<StreamStatus> status(store::Store& store, const std::string& stream, int64_t now_ms, const FlapOptions& flap,
                            int64_t pinned_warn_ms, size_t recent = 10);

struct BacktestRow {
  store::Accepted entry;
  Report report;  // under the new contract, the previous accepted artifact as baseline
};

// Replays the stream's stored accepted artifacts (oldest first) through
// `contract`; a row whose report rejects would flip.
Result<std::vector<BacktestRow>> backtest(const Contract& contract, store::Store& store, const std::string& stream);

}  // namespace invar::gate
