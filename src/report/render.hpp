// Rendering internals shared by the check and gate reports.
#pragma once

#include <nlohmann/json.hpp>

#include "invar/invar.hpp"
#include "invar/rollout.hpp"

namespace invar {

// "1 invariant", "2 invariants": `noun` with an "s" unless n is 1.
std::string counted(size_t n, std::string_view noun);

// One report as the JSON object of schemas/report.schema.json's "reports" items.
nlohmann::json report_to_json(const Report& report);
// One error as report.schema.json's "error" object.
nlohmann::json error_to_json(const Error& error);
// Every error followed by the further errors it carries (Error::also), flat.
std::vector<Error> each_error(const std::vector<Error>& errors);

// Each format's ReportFormat::render_errors (include/invar/report.hpp).
std::string render_human_errors(const std::vector<Report>& reports, const std::vector<Error>& errors,
                                const RenderOptions& options);
std::string render_json_errors(const std::vector<Report>& reports, const std::vector<Error>& errors,
                               const RenderOptions& options);
std::string render_sarif_errors(const std::vector<Report>& reports, const std::vector<Error>& errors,
                                const RenderOptions& options);
std::string render_junit_errors(const std::vector<Report>& reports, const std::vector<Error>& errors,
                                const RenderOptions& options);
std::string render_github_errors(const std::vector<Report>& reports, const std::vector<Error>& errors,
                                 const RenderOptions& options);
std::string render_tap_errors(const std::vector<Report>& reports, const std::vector<Error>& errors,
                              const RenderOptions& options);

// A rollout report as the object of schemas/rollout-report.schema.json
// (also `invar status --format json`'s "rollout" member), and as the lines
// of the human report, each prefixed with `indent`.
nlohmann::json rollout_to_json(const RolloutReport& report, int64_t now_ms);
std::string rollout_lines(const RolloutReport& report, int64_t now_ms, const std::string& indent);

}  // namespace invar
