// Evaluation of an artifact against a compiled Plan, in two phases so that a
// gate can run the expensive stateless invariants before taking its lock and
// judge the rest (baseline comparisons, freshness) under it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "artifact/origin.hpp"
#include "artifact/reader.hpp"
#include "artifact/yaml.hpp"
#include "engine/plan.hpp"
#include "invariants/measure.hpp"

namespace invar::engine {

enum class Phase {
  all,         // invar check
  before_lock, // everything that depends only on the candidate
  under_lock,  // baseline comparisons and freshness (the clock at promotion)
};

// The candidate's bytes read under the plan's limits: a document, or the
// reject report saying why it could not be read.
struct Candidate {
  artifact::DocumentHandle document;
  std::optional<Report> unreadable;
  uint64_t size = 0;
  double parse_ms = 0;
  // NDJSON and YAML: how the document maps back to the bytes (null: JSON).
  std::shared_ptr<const artifact::Origin> origin;
  // YAML read for a YAML 1.1 consumer: the scalars it would read otherwise.
  std::vector<artifact::Ambiguity> ambiguous;
  uint64_t ambiguous_total = 0;  // found, listed in `ambiguous` or not
  // NDJSON: the lines read as null because they are not one strict value.
  std::vector<artifact::ReadProblem> unreadable_records;
  // The JSON text the document was parsed from: `bytes`, NDJSON's array of
  // records, or none (YAML).
  std::string_view text(std::string_view bytes) const { return origin ? origin->json_text() : bytes; }
};
// `padded` and `scan` as for artifact::parse (without the scan, the caller
// runs artifact::scan before trusting the document). `format`: how to read
// the bytes; unset: the plan's, else json.
Candidate read(const Plan& plan, std::string_view bytes, bool padded = false, bool scan = true,
               std::optional<ArtifactFormat> format = std::nullopt);

// The report for bytes refused before parsing (size, unreadable file).
Report unreadable(const Plan& plan, std::string rule, std::string message, std::string pointer, std::string expected,
                  std::string actual);
Report unreadable(const Plan& plan, const artifact::ReadProblem& problem);
// Sets the line and column of each violation whose pointer is in `bytes`
// (a document that parsed): one more pass over the bytes, for reports that
// have violations (never on the accept path).
// `origin`: how the document maps back to the bytes (null: JSON).
void locate_violations(const Plan& plan, std::string_view bytes, Report& report,
                       const artifact::Origin* origin = nullptr);
// Adds a violation (artifact.ambiguous_scalar, a reject) for each scalar a
// YAML 1.1 consumer reads otherwise; the last says how many of `total` are
// not listed.
void add_ambiguities(const std::vector<artifact::Ambiguity>& ambiguous, uint64_t total, Report& report);
// Adds a violation (a reject) for each NDJSON line read as null, and drops
// what the invariants said of those nulls (their counts adjusted).
void add_unreadable_records(const Plan& plan, const std::vector<artifact::ReadProblem>& problems, Report& report);
std::string size_expectation(const Plan& plan);

// The threads one check of `size` bytes may use: Options::threads (1 to 64)
// from kParallelMinBytes on, else 1.
unsigned threads_for(const Plan& plan, uint64_t size);

// A report listing every invariant of the plan as passed, to be evaluated.
Report start_report(const Plan& plan);

// Evaluates the phase's invariants into `report` (started by start_report).
// `baseline` holds the baseline's measures (null: none), and reads its
// artifact again only to name the churn keys a violation lists. Measures whose
// definition differs from an invariant's are treated as absent: the caller
// recomputes them first (see measure()). `candidate`, when given, holds the
// candidate's measures already computed by measure() (a gate computes them
// before its lock), else they are computed here. Invariants run side by side
// on up to Options::threads threads (artifacts of kParallelMinBytes or more),
// and `alongside`, when given, runs as one more task among them.
// `source`, the artifact's bytes when known, gives monotonic numbers their
// exact text.
void evaluate(const Plan& plan, simdjson::dom::element root, uint64_t size, Phase phase, int64_t now_ms,
              const BaselineData* baseline, Report& report,
              const invariants::Measures* candidate = nullptr, Stats* stats = nullptr,
              const std::function<void()>& alongside = {}, std::string_view source = {});

// The context invariants are judged in (evaluate() and the streamed check).
invariants::EvalContext context_for(const Plan& plan, uint64_t size, int64_t now_ms, std::string_view source,
                                    invariants::MemoryBudget& memory);

// One invariant judged, whatever the phase: its outcome into `result`, its
// violations appended to `violations`. `baseline` and `candidate` as for
// evaluate().
void judge(const invariants::Invariant& inv, simdjson::dom::element root, uint64_t size,
           const invariants::EvalContext& ctx, const invariants::Measures* baseline,
           const invariants::Measures* candidate, InvariantResult& result, std::vector<Violation>& violations);

// Milliseconds since `start`, and the process's peak RSS in KiB.
double ms_since(std::chrono::steady_clock::time_point start);
uint64_t peak_rss_kb();

// The delta-family measures of an artifact under this plan.
invariants::Measures measure(const Plan& plan, simdjson::dom::element root, uint64_t size,
                             std::string_view source = {});

// True when every delta-family invariant finds a stored measure of its definition.
bool measures_current(const Plan& plan, const invariants::Measures& measures);

// Orders violations by contract order and sets the verdict: reject when an
// error-severity invariant failed (a waived one does not count) or the
// artifact could not be read.
void finish(const Plan& plan, Report& report);

// `now` in Unix epoch milliseconds; when unset, the plan's Options::clock,
// else the system clock.
// The whole stateless check (Contract::check); `padded` as for read().
Report check(const Plan& plan, std::string_view bytes, const CheckContext& context, bool padded);

int64_t now_ms(const Plan& plan, const std::optional<Time>& now);

}  // namespace invar::engine
