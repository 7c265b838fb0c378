// The records of the state store and their sealed JSON form, shared by
// every backend (docs/state.md). "Sealed": a JSON object with "format",
// "version" and "checksum", the SHA-256 of its compact serialization
// without "checksum". A record that fails any check is an
// ErrorCode::state error naming `where`: never used.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "invar/gate.hpp"
#include "invar/rollout.hpp"
#include "invariants/measure.hpp"

namespace invar::store {

inline constexpr int kFormatVersion = 1;
// Measures changed form in version 2 (binary churn keys); a version 1
// measures record is read as absent (the gate measures the LKG again).
inline constexpr int kMeasuresVersion = 2;
// A waiver list holding a scoped waiver is version 2: an older invar, which
// would apply it to every candidate, refuses the list instead (fail closed).
inline constexpr int kScopedWaiversVersion = 2;
// A waiver list holding a two-person waiver is version 3, and a stream
// record needing two approvals version 2: an older invar, which would apply
// a waiver nobody approved, refuses them instead (fail closed).
inline constexpr int kApprovalWaiversVersion = 3;
inline constexpr int kApprovalStreamVersion = 2;

std::string seal(nlohmann::json j, const char* format, int version = kFormatVersion);
// Parses and verifies one sealed record of `format`.
Result<nlohmann::json> unseal(std::string_view text, const std::string& where, const char* format,
                              int version = kFormatVersion);

Error state_error(const std::string& where, const std::string& message, const std::string& pointer = {});

// "sha256:" and 64 lowercase hex digits.
bool valid_digest(const std::string& digest);

std::string encode_stream(const StreamInfo& info);
Result<StreamInfo> decode_stream(std::string_view text, const std::string& where);

std::string encode_lkg(const LkgRecord& record);
Result<LkgRecord> decode_lkg(std::string_view text, const std::string& where);

std::string encode_accepted(const std::vector<Accepted>& entries);
Result<std::vector<Accepted>> decode_accepted(std::string_view text, const std::string& where);

std::string encode_quarantine(const std::vector<Quarantined>& entries);
Result<std::vector<Quarantined>> decode_quarantine(std::string_view text, const std::string& where);

std::string encode_waivers(const std::vector<Waiver>& waivers);
Result<std::vector<Waiver>> decode_waivers(std::string_view text, const std::string& where);

// Measures: a sealed JSON header line, then a binary payload (the churn
// keys) whose size and SHA-256 the header holds. nullopt: a record of an
// older version, to be measured again.
std::string encode_measures(const std::string& digest, const invariants::Measures& measures);
Result<std::optional<invariants::Measures>> decode_measures(std::string_view text, const std::string& where,
                                                            const std::string& digest);

// A stream's rollout state (stages, halt, vetoes, its freeze) and a
// location's freeze.
std::string encode_rollout(const RolloutState& state);
Result<RolloutState> decode_rollout(std::string_view text, const std::string& where);
// What of a rollout state gates are fenced on (its halt, vetoes, freeze).
std::string encode_control(const RolloutState& state);
std::string encode_freeze(const Freeze& freeze);
Result<Freeze> decode_freeze(std::string_view text, const std::string& where);
// The artifacts a rollout state holds (each stage's and the previous ones
// a revert returns to): never pruned.
std::vector<std::string> rollout_digests(const RolloutState& state);

// One journal line, without its newline.
std::string encode_journal(const JournalRecord& record);
Result<JournalRecord> decode_journal(std::string_view line, const std::string& where);

// The JSON form of journal records and waivers (as stored, without the seal).
nlohmann::json to_json(const JournalRecord& record);
nlohmann::json to_json(const Waiver& waiver);
nlohmann::json to_json(const Observation& observation);
// The id of a waiver: 12 hex digits of the SHA-256 of what it says.
std::string waiver_id(const Waiver& waiver);

}  // namespace invar::store
