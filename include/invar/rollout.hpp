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

}  // namespace invar

#pragma GCC visibility pop
