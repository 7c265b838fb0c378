// Rollout files (docs/rollout.md): their limits, and the canonical JSON form
// of a policy that the state store keeps with a stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "invar/rollout.hpp"

namespace invar::rollout {

// A rollout file's limits, each refused with its name and the value given.
inline constexpr uint64_t kMaxRolloutBytes = 1 << 20;  // the file, refused before reading
inline constexpr size_t kMaxStages = 16;
inline constexpr size_t kMaxChecks = 32;              // health checks per stage
inline constexpr size_t kMaxArgs = 64;                // an exec check's argv
inline constexpr size_t kMaxQueryBytes = 4096;        // a PromQL query
inline constexpr size_t kMaxUrlBytes = 2048;
inline constexpr size_t kMaxRolloutNameBytes = 128;
inline constexpr size_t kMaxStageNameBytes = 64;      // stage names and check ids
inline constexpr int64_t kMaxBakeMs = 7 * 86'400'000LL;
inline constexpr int64_t kMaxForMs = 86'400'000;      // "for" and "unknown_limit"
inline constexpr int64_t kMaxExecTimeoutMs = 600'000;
inline constexpr int64_t kMaxStepTimeoutMs = 3'600'000;
inline constexpr size_t kMaxLoadErrors = 20;          // reported at once; the rest are not listed
// The canonical form is larger than its file only by escapes and defaults.
inline constexpr uint64_t kMaxSourceBytes = 8 << 20;
// The canonical form's "version": another one is refused, never guessed at.
inline constexpr int kSourceVersion = 1;

// The canonical JSON of a valid `policy`: compact, keys sorted, every default
// explicit, durations as integer "*_ms" fields, numbers as doubles, absent
// bounds null. What RolloutPolicy::source holds and its digest hashes.
std::string canonical_source(const RolloutPolicy& policy);

// Reads back what canonical_source() wrote (from the state store): the same
// policy, source and digest. Anything else (not JSON, another version, a
// field out of place, a value the rollout file rules refuse, the same policy
// written otherwise) is ErrorCode::state.
Result<RolloutPolicy> policy_from_source(std::string_view canonical);

}  // namespace invar::rollout
