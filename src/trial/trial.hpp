// The `trial` invariant (issue 30, docs/trial.md): a consumer's own command
// run on the candidate (and, to compare costs, on the baseline) in a
// sandbox. Its definition as a contract declares it, and the step that runs
// the trials of a report the other invariants accepted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invar/invar.hpp"
#include "trial/runner.hpp"

namespace invar {
struct Plan;
}

namespace invar::trial {

inline constexpr size_t kMaxArgs = 64;     // a trial command's argv
inline constexpr size_t kMaxInputs = 64;   // sample input files ("inputs")
// A baseline's cost below this is compared as this much: a ratio over a few
// milliseconds of process start-up says nothing about the consumer.
inline constexpr int64_t kCpuFloorMs = 20;
inline constexpr uint64_t kMemoryFloorBytes = 8ull << 20;

struct Definition {
  std::vector<std::string> argv;  // "{artifact}", "{baseline}", "{stream}" substituted when run
  TrialLimits limits;
  Sandbox sandbox = Sandbox::bubblewrap;
  std::optional<double> compare_cpu, compare_memory;  // "2x": at most twice the baseline's cost
  std::vector<std::string> inputs;  // sample inputs (absolute paths), appended to argv
};

inline constexpr unsigned kDefaultJobs = 2;            // trials run at once
inline constexpr int64_t kDefaultTotalMs = 600'000;     // all the trials of one candidate

// Where trials may run and what they compare with.
struct Context {
  bool allowed = false;                     // gate, check --trial; never test or lint
  std::optional<std::string_view> baseline;  // the LKG's or --baseline's bytes
  std::string stream;                        // {stream}
  std::string extension = ".json";           // of the files the command is given
  unsigned jobs = kDefaultJobs;              // at most this many at once
  // The trials of one candidate, together: one that cannot start before it
  // is used up is a violation (not run), and each is cut to what is left.
  int64_t total_ms = kDefaultTotalMs;
};

// ".json", ".ndjson" or ".yaml": what the files a command is given end with.
std::string trial_extension(ArtifactFormat format);

// Runs the trials of `plan` on `bytes` into `report` (an accept so far:
// a report already rejected runs none) and finishes it again. Without
// `context.allowed` they stay skipped, saying how to run them.
void run_trials(const Plan& plan, std::string_view bytes, const Context& context, Report& report);

}  // namespace invar::trial
