// The numbers a contract's invariants measure of an artifact, for
// monitoring (Decision::observed, `--metrics`, the journal's observations).
// Separate from evaluation; a gate computes them on every decision it reads
// the candidate for: a count's selection walked again, the delta family's
// measures reused (within the noise, under 2% of `invar gate`'s CPU time,
// on 100k-record JSON and NDJSON artifacts).
#pragma once

#include <vector>

#include "engine/plan.hpp"
#include "invar/gate.hpp"
#include "invariants/measure.hpp"

namespace invar::engine {

// `measures` are the artifact's delta-family measures (measure()), and
// `baseline` the LKG's (null: none).
std::vector<Observation> observe(const Plan& plan, simdjson::dom::element root, const invariants::Measures& measures,
                                 const invariants::Measures* baseline, int64_t now_ms);

}  // namespace invar::engine
