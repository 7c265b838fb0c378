// Rendering internals shared by the check and gate reports.
#pragma once

#include <nlohmann/json.hpp>

#include "invar/invar.hpp"

namespace invar {

// One report as the JSON object of schemas/report.schema.json's "reports" items.
nlohmann::json report_to_json(const Report& report);

}  // namespace invar
