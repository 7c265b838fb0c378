// Staged rollout of a stream's accepted artifacts (docs/rollout.md): the
// stream's stages ("rings"), each with a bake time and health checks, as a
// rollout file declares them, and the health checks' evaluation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "invar/invar.hpp"

#pragma GCC visibility push(default)

namespace invar {

// One health check of a stage. A check that cannot be evaluated (its
// server unreachable, an empty result, a timeout, a value that is not a
// number) is "unknown", never healthy.
struct HealthCheck {
  enum class Kind { prometheus, exec };
  std::string id;
  Kind kind = Kind::prometheus;
  // prometheus: an instant PromQL query; "$stage", "$stream" in it are
  // replaced by the stage's and the stream's names. Every sample of the
  // result must be within [min, max] (each bound optional, at least one).
  std::string url;
  std::string query;
  std::optional<double> min, max;
  // The condition must have held on every evaluation over this window
  // (0: the current evaluation decides), as a Prometheus alert's "for".
  int64_t for_ms = 0;
  // exec: argv (no shell); exit 0 is healthy, any other exit unhealthy,
  // a timeout or a signal unknown. INVAR_STAGE, INVAR_STREAM and
  // INVAR_DIGEST are in its environment.
  std::vector<std::string> argv;
  int64_t timeout_ms = 30'000;
};

struct RolloutStage {
  std::string name;   // 1-64 of [A-Za-z0-9._-]
  int64_t bake_ms = 0;  // an artifact stays this long in the stage before it moves on
  std::vector<HealthCheck> health;
};

// A rollout file (schemas/rollout.schema.json):
//   option         default  meaning
//   stages         -        1-16 stages, in order (the first admits what gates accept)
//   unknown_limit  10m      health unknown (unreachable, empty) this long reverts the stage
//   timeout        60s      every health check of a step together (then: unknown)
struct RolloutPolicy {
  std::string name;
  std::vector<RolloutStage> stages;
  int64_t unknown_limit_ms = 600'000;
  int64_t step_timeout_ms = 60'000;
  std::string digest;  // "sha256:..." of the file's canonical JSON form
  std::string source;  // the canonical JSON form (stored with the stream)
};

// Loads and validates a rollout file (JSON or YAML): an Error
// (ErrorCode::contract) locating each problem, with "did you mean" hints.
Result<RolloutPolicy> load_rollout(const std::string& path);
Result<RolloutPolicy> parse_rollout(std::string_view text, const std::string& name);

// A health check's evaluation.
struct HealthResult {
  enum class State { healthy, unhealthy, unknown };
  std::string id;
  State state = State::unknown;
  std::optional<double> value;  // prometheus: the worst sample; exec: the exit status
  std::string detail;           // what was seen: the value and the bound, the exit, why unknown
};
std::string_view to_string(HealthResult::State state);

struct HealthContext {
  std::string stream, stage, digest;
  int64_t deadline_ms = 30'000;  // at most this long, whatever the check's own timeout
};

// Evaluates one check now (the Prometheus server's time; "for" is the
// caller's: see RolloutPolicy). Never throws; never healthy when unsure.
HealthResult evaluate_health(const HealthCheck& check, const HealthContext& context);


// Where an artifact is in a staged stream (the state a rollout step reads
// and writes: one sealed record per stream, docs/rollout.md).
struct StageHolding {
  std::string digest;
  uint64_t bytes = 0;
  std::string generation;
  uint64_t accepted_sequence = 0;  // the stream's LKG sequence that accepted it: orders artifacts
  uint64_t sequence = 0;           // this stage's own: rises with every change of the stage (watchers follow it)
  int64_t since_ms = 0;            // when it entered the stage (its bake starts)
  // Its DSSE envelope (docs/signing.md): a signed promotion or revert into
  // this stage (verdict "promote"/"revert", the stage's name, `sequence`);
  // or, while it is the LKG record as accepted (sequence ==
  // accepted_sequence), that record's (stage ""). "" unsigned.
  std::string attestation{};
};

// A health check's last evaluations for the artifact `digest` in a stage.
struct CheckState {
  std::string id;
  std::string digest;
  std::string state;  // "healthy", "unhealthy", "unknown"
  std::optional<double> value;
  std::string detail;
  int64_t at_ms = 0;
  int64_t healthy_since_ms = 0;  // healthy on every evaluation since (0: not healthy now)
  int64_t unknown_since_ms = 0;  // unknown on every evaluation since (0: known now)
};

struct StageState {
  std::string name;
  std::optional<StageHolding> lkg;     // stage 0: the stream's LKG (the store's record decides)
  std::vector<StageHolding> previous;  // newest last, at most kMaxStageHistory
  std::vector<CheckState> health;
};

// A halted stream (a revert or a veto): gates pin and rollouts hold until
// `invar resume`.
struct Halt {
  std::string digest;  // the artifact that was reverted
  std::string reason;  // the failed check and its value, or the veto's reason
  std::string by;      // "rollout", or the operator of a veto
  std::string stage;   // where the check failed ("" for a veto)
  int64_t at_ms = 0;
};

// A freeze (of a stream, or of every stream of a location): nothing is
// admitted or promoted until it is thawed or expires (0: never).
struct Freeze {
  std::string reason, by;
  int64_t at_ms = 0;
  int64_t expires_ms = 0;
  bool active(int64_t now_ms) const { return expires_ms == 0 || now_ms < expires_ms; }
};

inline constexpr size_t kMaxStageHistory = 8;  // previous holdings a stage keeps (what a revert returns to)
inline constexpr size_t kMaxVetoed = 64;       // vetoed digests a stream keeps refusing (the newest)

struct RolloutState {
  std::string stream;
  std::string policy_source;  // RolloutPolicy::source
  std::string policy_digest;
  uint64_t serial = 0;        // the stages' sequences are drawn from it
  std::vector<StageState> stages;
  std::optional<Halt> halted;
  std::vector<std::string> vetoed;  // refused by gates, never promoted, newest last
  std::optional<Freeze> frozen;
};


// What a rollout command found and did, per stage (`invar rollout`, veto,
// resume, freeze, thaw, and status).
struct StageReport {
  std::string name;
  std::optional<StageHolding> lkg;
  // "empty" (nothing yet), "settled" (nothing in flight here), "baking"
  // (in flight, waiting for its bake time or a check's "for"), "holding"
  // (a check unknown), "promoted" (moved on in this step), "reverted".
  std::string state;
  std::string detail;   // what it waits for, or what happened
  int64_t next_ms = 0;  // when waiting on time: when the wait ends (0: not on time)
  std::vector<CheckState> health;
};

struct RolloutReport {
  std::string stream;
  std::string policy;  // the rollout's name ("" without a rollout)
  std::vector<StageReport> stages;
  std::vector<std::string> actions;  // what this command changed, one line each (none: nothing)
  std::string stopped;               // why nothing is admitted or promoted now ("" when it is)
  std::optional<Halt> halted;
  std::optional<Freeze> frozen, location_frozen;
  std::vector<std::string> vetoed;
  std::vector<std::string> warnings;
  bool changed() const { return !actions.empty(); }
};

}  // namespace invar

#pragma GCC visibility pop
