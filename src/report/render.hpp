// Rendering internals shared by the check and gate reports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "gate/gate.hpp"
#include "invar/invar.hpp"

namespace invar {

// One report as the JSON object of schemas/report.schema.json's "reports" items.
nlohmann::json report_to_json(const Report& report);

// A gate decision: the report, then what was decided and published.
std::string render_decision_human(const gate::Decision& d, const RenderOptions& options);
// {"version": 1, "stream", "decision", ..., "report": {...}} (schemas/report.schema.json, "gate").
nlohmann::json decision_to_json(const gate::Decision& d, const std::string& stream);

}  // namespace invar
