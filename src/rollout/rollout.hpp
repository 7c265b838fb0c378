// The rollout controller's decisions (docs/rollout.md): one step that
// promotes what baked and is healthy and reverts what is not, vetoes,
// resumes, freezes and thaws, and changes of a stream's stages. Each is a
// fenced decision over store::Store, like a gate's: judged under the
// stream's lock, written only if the LKG, the rollout record and the
// location's freeze are still as read (else judged again), journaled.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "invar/rollout.hpp"
#include "invar/sign.hpp"
#include "store/store.hpp"

namespace invar::rollout {

inline constexpr uint32_t kMaxAttempts = 6;  // a command judged again when its fenced write is refused

using Evaluator = std::function<HealthResult(const HealthCheck&, const HealthContext&)>;

struct CommandOptions {
  int64_t now_ms = 0;
  std::string by;          // who (journaled): an operator, or "rollout"
  std::string reason;      // why (vetoes, resumes, freezes, thaws, changes: required)
  uint32_t quarantine = 10;  // rejected or reverted candidates kept per stream
  Evaluator evaluate;      // health checks (default: evaluate_health)
  // Run the stored rollout's exec checks (they are commands from the state
  // store: whoever can write it chooses them). Without it a step whose
  // rollout has one is refused, unless `evaluate` is the caller's own.
  bool allow_exec = false;
  bool dry_run = false;    // judge and report, write nothing
  // A revert that puts an older artifact back as the stream's LKG signs it
  // (verdict "revert"; docs/signing.md), and so are promotions into a stage
  // and reverts of a stage (StageHolding::attestation), each verified first.
  // With a key, the stream's LKG must carry an envelope by it or by one of
  // `trusted_keys` (as for a gate), or the command is refused (ErrorCode::state).
  std::shared_ptr<const SigningKey> signing_key{};
  std::shared_ptr<const TrustedKeys> trusted_keys{};
  int64_t attestation_window_ms = 7 * 86'400'000LL;
};

// One step: for each stage, from the last to the first, the artifact in
// flight there is judged on its bake time and health: promoted to the next
// stage (at most one stage per step), reverted (a check unhealthy, or
// unknown for longer than the rollout's unknown_limit), or left waiting.
// Nothing moves while the stream is halted or frozen.
Result<RolloutReport> step(store::Store& store, const std::string& stream, const CommandOptions& options);

// Takes `digest` back: every stage holding it returns to what it held
// before, it is quarantined with `reason`, refused by later gates, and the
// stream halts. An Error (ErrorCode::usage) when no stage holds it and it
// was never accepted, or when a stage holding it has nothing older.
Result<RolloutReport> veto(store::Store& store, const std::string& stream, const std::string& digest,
                           const CommandOptions& options);
Result<RolloutReport> resume(store::Store& store, const std::string& stream, const CommandOptions& options);

// A freeze of one stream (`stream` non-empty) or of every stream of the
// location; `expires_ms` 0: until thawed.
Result<RolloutReport> freeze(store::Store& store, const std::string& stream, int64_t expires_ms,
                             const CommandOptions& options);
Result<RolloutReport> thaw(store::Store& store, const std::string& stream, const CommandOptions& options);

// Sets or changes the stream's stages (journaled "rollout"). Stages kept by
// name keep what they hold; a new stage starts with what the stage after it
// holds (the most settled artifact), or the one before it when it is last,
// or the stream's LKG (a stream getting its first stages).
Result<RolloutReport> set_policy(store::Store& store, const std::string& stream, const RolloutPolicy& policy,
                                 const CommandOptions& options);

// The rollout record of a new stream (Gate::init): every stage holds the
// seed, when there is one.
std::string initial_record(const std::string& stream, const RolloutPolicy& policy, const LkgRecord* seed);

// The state as it is, for status (no write, no health evaluation).
Result<RolloutReport> report(store::Store& store, const std::string& stream, int64_t now_ms);

// What a follower of `stage` ("" : the last stage, or the stream's LKG
// without stages) serves: the holding, nullopt when the stage is empty. An
// Error when the state cannot be read, the stage does not exist, or what
// the stage holds was vetoed (a revert cut short: never served). Call it
// under the stream's (shared) lock.
Result<std::optional<StageHolding>> stage_holding(store::Store& store, const std::string& stream,
                                                  const std::string& stage);

}  // namespace invar::rollout
