// The line-oriented CI formats: GitHub Actions workflow commands and TAP 13.
#include <fmt/format.h>

#include <map>

#include <nlohmann/json.hpp>

#include "invar/report.hpp"
#include "report/escape.hpp"
#include "report/render.hpp"

namespace invar {

namespace {

// GitHub's escaping of a command's message (data) and of its properties.
std::string github_data(std::string_view text) {
  std::string out;
  for (char c : report::valid_utf8(text)) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') out += "\xEF\xBF\xBD";  // other controls: U+FFFD
    else out += c;
  }
  return out;
}

std::string github_property(std::string_view text) {
  std::string out;
  for (char c : github_data(text)) {
    if (c == ':') out += "%3A";
    else if (c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

// A YAML flow scalar: a JSON string (YAML 1.2 reads it as the same text).
std::string yaml_string(std::string_view text) {
  return nlohmann::json(report::valid_utf8(text)).dump(-1, ' ', true);
}


// A test point's description: never a '#' (it would start a directive), a line break or another control.
std::string tap_description(std::string text) {
  for (auto& c : text)
    if (c == '#' || (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = ' ';
  return report::valid_utf8(text);
}

// Annotations per invariant and report: GitHub shows only the first few of a
// step anyway; the rest are counted in a notice.
constexpr size_t kAnnotationsPerInvariant = 10;

}  // namespace

std::string render_github(const std::vector<Report>& reports, const RenderOptions& options) {
  (void)options;
  std::string out;
  for (const auto& report : reports) {
    const std::string file = report.artifact.empty() ? "<artifact>" : report.artifact;
    std::map<std::string, size_t> shown;
    for (const auto& v : report.violations) {
      if (++shown[v.invariant] > kAnnotationsPerInvariant) continue;
      bool waived = false;
      for (const auto& i : report.invariants)
        if (i.id == v.invariant && i.outcome == Outcome::waived) waived = true;
      const char* command = waived ? "notice" : v.severity == Severity::error ? "error" : "warning";
      std::string properties = "file=" + github_property(file);
      if (v.line) properties += fmt::format(",line={},col={}", v.line, std::max<uint64_t>(1, v.column));
      properties += ",title=" + github_property(v.invariant + " [" + v.kind + "]" + (waived ? " (waived)" : ""));
      std::string message = (v.pointer.empty() ? "" : "at " + v.pointer + ": ") + v.message;
      if (!v.expected.empty() || !v.actual.empty()) message += "\nexpected: " + v.expected + "\nactual: " + v.actual;
      if (!v.why.empty()) message += "\nwhy: " + v.why;
      out += fmt::format("::{} {}::{}\n", command, properties, github_data(message));
    }
    for (const auto& [id, n] : shown)
      if (n > kAnnotationsPerInvariant)
        out += fmt::format("::notice file={},title={}::{} more violations of {} (see --format json or sarif)\n",
                           github_property(file), github_property(id), n - kAnnotationsPerInvariant, github_data(id));
    out += fmt::format("invar: {}: {} (contract {}, {} violation{})\n", github_data(file),
                       report.verdict == Verdict::accept ? "accept" : "reject", github_data(report.contract),
                       report.violations.size(), report.violations.size() == 1 ? "" : "s");
  }
  return out;
}

std::string render_github_errors(const std::vector<Report>& reports, const std::vector<Error>& errors,
                                 const RenderOptions& options) {
  std::string out = render_github(reports, options);
  for (const auto& e : each_error(errors)) {
    std::string properties;
    if (!e.where.file.empty()) properties = "file=" + github_property(e.where.file) + ",";
    if (!e.where.file.empty() && e.where.line)
      properties += fmt::format("line={},col={},", e.where.line, std::max<uint64_t>(1, e.where.column));
    out += fmt::format("::error {}title=invar cannot judge::{}\n", properties, github_data(e.to_string()));
  }
  return out;
}

std::string render_tap(const std::vector<Report>& reports, const RenderOptions& options) {
  return render_tap_errors(reports, {}, options);
}

std::string render_tap_errors(const std::vector<Report>& reports, const std::vector<Error>& all_errors,
                              const RenderOptions& options) {
  (void)options;
  std::string points;
  size_t n = 0;
  for (const auto& report : reports) {
    const std::string file = report.artifact.empty() ? "<artifact>" : report.artifact;
    std::vector<std::pair<std::string, std::string>> cases;
    for (const auto& i : report.invariants) cases.emplace_back(i.id, i.kind);
    for (const auto& v : report.violations)
      if (std::none_of(cases.begin(), cases.end(), [&](auto& c) { return c.first == v.invariant; }))
        cases.emplace_back(v.invariant, v.kind);
    for (const auto& [id, kind] : cases) {
      const InvariantResult* result = nullptr;
      for (const auto& i : report.invariants)
        if (i.id == id) result = &i;
      std::vector<const Violation*> violations;
      for (const auto& v : report.violations)
        if (v.invariant == id) violations.push_back(&v);
      bool waived = result && result->outcome == Outcome::waived;
      bool skipped = result && result->outcome == Outcome::skipped;
      bool failed = !waived && !violations.empty() && violations.front()->severity == Severity::error;
      std::string description = tap_description(file + ": " + id + " [" + kind + "]");
      points += fmt::format("{} {} - {}", failed ? "not ok" : "ok", ++n, description);
      if (skipped || waived)
        points += " # SKIP " + report::valid_utf8(waived ? "waived" : (result->note.empty() ? "skipped" : result->note));
      points += "\n";
      if (!violations.empty()) {
        points += "  ---\n";
        points += "  severity: " + std::string(to_string(violations.front()->severity)) + "\n";
        points += "  violations:\n";
        for (const Violation* v : violations) {
          points += "    - message: " + yaml_string(v->message) + "\n";
          points += "      at: " + yaml_string(location_of(report, *v)) + "\n";
          points += "      pointer: " + yaml_string(v->pointer) + "\n";
          if (!v->expected.empty()) points += "      expected: " + yaml_string(v->expected) + "\n";
          if (!v->actual.empty()) points += "      actual: " + yaml_string(v->actual) + "\n";
        }
        points += "  ...\n";
      }
    }
  }
  // Errors: a failing point each (the plan counts them), then Bail out!
  const std::vector<Error> errors = each_error(all_errors);
  for (const auto& e : errors) {
    points += fmt::format("not ok {} - {}\n", ++n, tap_description("cannot judge: " + e.to_string()));
    points += "  ---\n  severity: error\n  code: " + std::string(to_string(e.code)) + "\n  message: " +
              yaml_string(e.to_string()) + "\n  ...\n";
  }
  if (!errors.empty()) points += "Bail out! " + tap_description("invar cannot judge: " + errors.front().to_string()) + "\n";
  return fmt::format("TAP version 13\n1..{}\n{}", n, points);
}

}  // namespace invar
