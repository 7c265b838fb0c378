// The numbers a contract's invariants measure of an artifact, for
// monitoring (Decision::observed, `--metrics`). Separate from evaluation:
// the accept path does not pay for them unless asked.
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
