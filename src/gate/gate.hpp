// The gate's decisions over a store::Store (the public Gate, Guard and
// StateStore in include/invar/gate.hpp wrap these). docs/gate.md states the
// semantics.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "invar/gate.hpp"
#include "store/store.hpp"

namespace invar::gate {

inline constexpr uint32_t kMaxJudgements = 6;  // a decision judged again when its fenced write is refused

// Before judging again after a refused write: a short random pause (a few
// ms, growing with `attempt`), so that writers racing on one stream (gates,
// rollout steps) do not refuse each other in lockstep. Scheduling only: no
// verdict depends on it.
void back_off(uint32_t attempt);
inline constexpr size_t kFlapHistory = 16;      // decisions a flapping report lists
inline constexpr uint32_t kMaxQuarantine = 1000;  // GateOptions::quarantine at most
inline constexpr int64_t kMaxWaiverMs = 30ll * 24 * 3600 * 1000;  // a waiver lasts at most 30 days
inline constexpr uint32_t kMaxWaiverWrites = 16;  // a waiver list written again when another writer changed it

// Judges `bytes` (or a file already refused unread: pass its report as
// `refused`) on `stream`; see Gate::submit. `owned`, when given, holds
// `bytes` followed by simdjson::SIMDJSON_PADDING bytes (files::read_file
// with that padding): parsed in place, and an accept publishes it rather
// than a copy.
Result<Decision> submit(const Contract& contract, store::Store& store, const std::string& stream,
                        std::string_view bytes, const GateOptions& gate, const SubmitOptions& options,
                        const Report* refused = nullptr, std::shared_ptr<const std::string> owned = nullptr);

Result<Decision> submit_file(const Contract& contract, store::Store& store, const std::string& stream,
                             const std::string& path, const GateOptions& gate, const SubmitOptions& options);

Result<std::vector<Waiver>> waive(const Contract& contract, store::Store& store, const std::string& stream,
                                  const std::vector<WaiverRequest>& requests, std::optional<Time> now);
Result<Waiver> revoke_waiver(store::Store& store, const std::string& stream, const std::string& id, const std::string& by,
                             const std::string& reason, int64_t now_ms);
// The two-person waiver `id` approved by `by` (StateStore::approve_waiver).
Result<Waiver> approve_waiver(store::Store& store, const std::string& stream, const std::string& id, const std::string& by,
                             const std::string& reason, int64_t now_ms);

Result<StreamStatus> status(store::Store& store, const std::string& stream, int64_t now_ms, const GateOptions& options,
                            size_t recent);

// Repairs what interrupted writers left in `stream`, under its exclusive
// lock: a torn journal line moved aside, an LKG committed without its
// journal record, stored objects outside the LKG and the retention list
// (etcd: once older than StoreOptions::orphan_grace_ms). Each repair is
// journaled; returns one line per repair (none: nothing to repair).
Result<std::vector<std::string>> repair(store::Store& store, const std::string& stream, int64_t now_ms);

Result<std::vector<BacktestRow>> backtest(const Contract& contract, store::Store& store, const std::string& stream);

// Flapping among the decisions of `journal` within the window ending at now.
struct Flap {
  bool flapping = false;
  std::vector<std::string> history;
};
Flap detect_flap(const std::vector<JournalRecord>& journal, int64_t now_ms, const FlapOptions& options);

// Since when the stream has served its LKG instead of new candidates (the
// last decisions were pins), if it has.
std::optional<int64_t> pinned_since(const std::vector<JournalRecord>& journal);

// Decisions so far by action (indexed by Action), from the journal's totals.
std::array<uint64_t, 4> decision_totals(const std::vector<JournalRecord>& journal);

// A journal record of `event` by this process (host, pid) at `now_ms`.
JournalRecord journal_record(const char* event, const std::string& stream, int64_t now_ms);

// An Error (ErrorCode::usage, naming `invar init`) when `stream` does not exist.
store::Status require_stream(store::Store& store, const std::string& stream);

// Creates a stream, optionally seeded; see Gate::init.
Result<std::optional<Decision>> init(const Contract& contract, store::Store& store, const std::string& stream,
                                     const InitOptions& options, const GateOptions& gate = {});

// Adds the violation of a consumer's failed check to `report` (a reject).
void add_consumer_violation(Report& report, const std::string& message);

}  // namespace invar::gate
