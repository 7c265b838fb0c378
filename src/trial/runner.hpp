// Runs a consumer's own command on a candidate (the `trial` invariant, issue
// 30): in a bubblewrap sandbox by default, with setrlimit limits, a wall-clock
// deadline that kills the whole process tree, bounded output capture and the
// tree's peak memory and CPU. docs/trial.md says what is bound and measured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace invar::trial {

// <= 0 for memory or CPU: no such limit. The timeout must be > 0.
struct TrialLimits {
  int64_t timeout_ms = 10'000;
  uint64_t memory_bytes = 512ull << 20;  // RLIMIT_DATA of every process in the tree
  int64_t cpu_ms = 5'000;                // the tree's user+sys; RLIMIT_CPU per process as a backstop
  uint64_t max_output = 16 << 10;        // bytes of output kept (the tail)
};

enum class Sandbox { bubblewrap, none };

struct TrialSpec {
  std::vector<std::string> argv;       // no shell; already substituted
  std::vector<std::string> read_only;  // the command's own files, the candidate, inputs: bound read-only
  std::string stdin_file;              // "": /dev/null
  Sandbox sandbox = Sandbox::bubblewrap;
  TrialLimits limits;
};

struct TrialResult {
  enum class Outcome {
    passed,
    failed,  // exit status != 0
    signaled,
    timed_out,
    memory_limit,
    cpu_limit,
    refused,  // could not run: sandbox missing, a path to bind missing, exec failed
  };
  Outcome outcome = Outcome::refused;
  int exit_code = 0;
  int signal = 0;
  std::string signal_name;  // "SIGSEGV"
  uint64_t peak_rss_bytes = 0;  // the largest single process of the tree (ru_maxrss); 0 without a sandbox: not measured
  int64_t cpu_ms = 0;           // user+sys of the tree's processes that were waited for
  int64_t wall_ms = 0;
  std::string output_tail;  // the end of stderr, then of stdout; <= limits.max_output bytes, not escaped
  std::string detail;       // one line: "killed by SIGABRT (Aborted) after 12 ms CPU, peak 3.1 MiB"
};

const char* outcome_name(TrialResult::Outcome outcome);

// nullopt when the sandbox can run here, else why not ("bwrap is not
// installed (Debian: bubblewrap)", "bwrap cannot create namespaces: ...").
// Probed once per value of PATH (bwrap is found through PATH).
std::optional<std::string> sandbox_unavailable();

// Never throws; thread-safe (no signal handlers; waits only for its own child).
TrialResult run(const TrialSpec& spec);

}  // namespace invar::trial
