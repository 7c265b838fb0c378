// invar suggest: contracts learned from the artifacts a stream accepted.
//
// Every threshold in a contract is an assumption; suggest() proposes them
// from history instead of guesses: count bounds with headroom, enums,
// delta and churn limits from the generation-to-generation changes,
// freshness from the cadence, unique keys and references. Each proposal
// carries its evidence (in its "why"), and the whole suggestion is verified
// by replaying the samples through it, as `invar backtest` would.
//
// ```cpp fragment
// auto store = invar::StateStore::open_directory("/var/lib/invar");
// auto samples = store->retained("dns-plan");
// auto s = invar::suggest(invar::samples_of(*samples));   // s->contract: JSON text to review and edit
// ```
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invar/gate.hpp"
#include "invar/invar.hpp"

#pragma GCC visibility push(default)

namespace invar {

// One artifact of the history, oldest first.
struct Sample {
  std::string label;               // a file name, or "sequence 12"
  std::string bytes;
  std::optional<int64_t> time_ms;  // when it was accepted (samples from a stream)
};

// Samples from files: each path is a file, or a directory whose regular
// files (not hidden, not recursive) are taken in name order. Each is read
// under `max_bytes`; at most `max_samples`. An Error when a path cannot be
// read (a missing file, one over max_bytes, a directory with nothing in it).
Result<std::vector<Sample>> read_samples(const std::vector<std::string>& paths, uint64_t max_bytes = 256ull << 20,
                                         size_t max_samples = 1000);

// The stream's retained accepted artifacts as samples, oldest first, each at
// its acceptance time (StateStore::retained).
std::vector<Sample> samples_of(const std::vector<RetainedArtifact>& retained);

// How proposals are sized.
//
//   option              default  meaning
//   name                suggested  the proposed contract's name (when there is no existing one)
//   headroom            0.5      count: max = observed max x (1 + headroom), min = observed min x (1 - headroom)
//   quantile            1.0      the share of generation-to-generation changes a delta/churn limit covers
//                                (1.0: all of them; lower it and backtest shows what would have failed)
//   margin              2.0      a growth limit is that quantile's change times margin; a shrink limit
//                                the smaller of that and halfway to 100%
//   min_change_percent  10       no delta/churn limit below this percentage
//   max_enum_values     10       a string field with at most this many distinct values is an enum
//   max_fields          1,000    distinct field paths profiled (the rest are ignored, and noted)
//   max_samples         1,000    samples learned from
struct SuggestOptions {
  std::string name = "suggested";
  double headroom = 0.5;
  double quantile = 1.0;
  double margin = 2.0;
  unsigned min_change_percent = 10;
  unsigned max_enum_values = 10;
  size_t max_fields = 1000;
  size_t max_samples = 1000;
};

struct Proposal {
  std::string id;
  std::string kind;       // "count", "match", "unique", "refs", "delta", "churn", "freshness", "monotonic"
  std::string invariant;  // the invariant as JSON (one element of "invariants")
  std::string evidence;   // samples, min/max/quantiles and the rule applied (also its "why")
  bool amends = false;    // it replaces the thresholds of an invariant of the existing contract (same id)
};

struct Suggestion {
  std::string contract;            // the proposed contract as JSON text, to review and edit
  std::vector<Proposal> proposals;
  // What was not proposed and why, proposals dropped because the replay
  // rejected a sample, and how the existing contract's invariants fared.
  std::vector<std::string> notes;
  size_t samples = 0;              // samples learned from (readable ones)
};

// Learns from `samples` (read under the default Limits, or the existing
// contract's) and proposes a contract; with `existing` (a contract's text,
// `existing_dir` resolving its schema files) its invariants are kept, count
// and delta thresholds that reject samples are amended, and new proposals are
// added. Verified: replaying the samples in order through the result (each
// against the one before as its baseline, at its time) accepts every one of
// them, except where an existing invariant that cannot be amended rejects
// some (noted). An Error (ErrorCode::usage) with fewer than two readable
// samples, or an existing contract that does not load.
Result<Suggestion> suggest(const std::vector<Sample>& samples, const SuggestOptions& options = {},
                           std::string_view existing = {}, const std::string& existing_dir = {});

}  // namespace invar

#pragma GCC visibility pop
