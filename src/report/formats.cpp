// The registry of output formats (include/invar/report.hpp).
#include "invar/gate.hpp"
#include "invar/report.hpp"
#include "report/render.hpp"

namespace invar {

namespace {

std::string human(const std::vector<Report>& reports, const RenderOptions& options) {
  std::string out;
  for (const auto& r : reports) out += render_human(r, options);
  return out;
}

std::string json_reports(const std::vector<Report>& reports, const RenderOptions&) { return render_json(reports); }

std::string human_decision(const Decision& d, const std::string&, const RenderOptions& options) {
  return render_decision_human(d, options);
}

std::string json_decision(const Decision& d, const std::string& stream, const RenderOptions&) {
  return render_decision_json(d, stream);
}

}  // namespace

const std::vector<ReportFormat>& report_formats() {
  static const std::vector<ReportFormat> formats = {
      {"human", "for people: violations grouped by invariant, FILE:LINE:COL, a summary line", human, human_decision, true,
       render_human_errors},
      {"json", "invar's JSON (schemas/report.schema.json; a gate: schemas/decision.schema.json)", json_reports,
       json_decision, false, render_json_errors},
      {"sarif", "SARIF 2.1.0, for code scanning (GitHub, GitLab, Azure DevOps)", render_sarif, nullptr, false,
       render_sarif_errors},
      {"junit", "JUnit XML: a testsuite per artifact, a testcase per invariant", render_junit, nullptr, false,
       render_junit_errors},
      {"github", "GitHub Actions annotations (::error file=...,line=...,col=...::)", render_github, nullptr, true,
       render_github_errors},
      {"tap", "TAP version 13: a test point per invariant", render_tap, nullptr, false, render_tap_errors},
  };
  return formats;
}

const ReportFormat* find_report_format(std::string_view name) {
  for (const auto& f : report_formats())
    if (f.name == name) return &f;
  return nullptr;
}

std::string report_format_names() {
  std::string out;
  for (const auto& f : report_formats()) out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

std::string render_reports(const ReportFormat& format, const std::vector<Report>& reports,
                           const std::vector<Error>& errors, const RenderOptions& options) {
  if (errors.empty() || !format.render_errors) return format.render(reports, options);
  return format.render_errors(reports, errors, options);
}

std::string render_decision(const ReportFormat& format, const Decision& decision, const std::string& stream,
                            const RenderOptions& options) {
  if (format.render_decision) return format.render_decision(decision, stream, options);
  return format.render({decision.report}, options);
}

std::string location_of(const Report& report, const Violation& v) {
  std::string file = report.artifact.empty() ? "<artifact>" : report.artifact;
  if (v.line == 0) return file;
  return file + ":" + std::to_string(v.line) + ":" + std::to_string(std::max<uint64_t>(1, v.column));
}

}  // namespace invar
