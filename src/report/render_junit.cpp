// JUnit XML as the common CI readers take it (GitHub test reporters, GitLab,
// Jenkins): <testsuites> with one <testsuite> per report (artifact or test
// case) and one <testcase> per invariant; an error-severity violation is a
// <failure>, a skipped or waived invariant <skipped>, a warning <system-out>.
#include <map>

#include <fmt/format.h>

#include "invar/report.hpp"
#include "report/escape.hpp"
#include "report/render.hpp"

namespace invar {

namespace {

using report::xml_escape;

constexpr size_t kListed = 50;  // violations listed per testcase; the count says how many more

std::string details_of(const Report& report, const std::vector<const Violation*>& violations, uint64_t total) {
  std::string out;
  for (size_t k = 0; k < violations.size() && k < kListed; ++k) {
    const Violation* v = violations[k];
    out += location_of(report, *v) + (v->pointer.empty() ? "" : " " + v->pointer) + ": " + v->message + "\n";
    if (!v->expected.empty() || !v->actual.empty()) out += "  expected: " + v->expected + "; actual: " + v->actual + "\n";
  }
  if (total > std::min(violations.size(), kListed))
    out += "... and " + std::to_string(total - std::min(violations.size(), kListed)) + " more\n";
  if (!violations.empty() && !violations.front()->why.empty()) out += "why: " + violations.front()->why + "\n";
  return out;
}

// A testsuite of the errors that kept invar from judging: an <error> each.
std::string error_suite(const std::vector<Error>& errors) {
  std::string body;
  for (const auto& e : errors)
    body += fmt::format(
        "    <testcase name=\"cannot judge\" classname=\"invar\" file=\"{}\">\n"
        "      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>\n",
        xml_escape(e.where.file), xml_escape(e.to_string()), to_string(e.code), xml_escape(e.to_string()));
  return fmt::format("  <testsuite name=\"invar\" tests=\"{}\" failures=\"0\" errors=\"{}\" skipped=\"0\">\n{}  </testsuite>\n",
                     errors.size(), errors.size(), body);
}

}  // namespace

std::string render_junit(const std::vector<Report>& reports, const RenderOptions& options) {
  return render_junit_errors(reports, {}, options);
}

std::string render_junit_errors(const std::vector<Report>& reports, const std::vector<Error>& all_errors,
                                const RenderOptions& options) {
  (void)options;
  const std::vector<Error> errors = each_error(all_errors);
  std::string suites;
  size_t tests = 0, failures = 0, skipped = 0;
  for (const auto& report : reports) {
    // Test cases: the invariants, then reading problems (artifact.*) that are not invariants.
    std::vector<std::pair<std::string, std::string>> cases;  // id, kind
    for (const auto& i : report.invariants) cases.emplace_back(i.id, i.kind);
    std::map<std::string, std::vector<const Violation*>> by_id;
    for (const auto& v : report.violations) {
      if (!by_id.count(v.invariant) && std::none_of(cases.begin(), cases.end(), [&](auto& c) { return c.first == v.invariant; }))
        cases.emplace_back(v.invariant, v.kind);
      by_id[v.invariant].push_back(&v);
    }
    std::string body;
    size_t suite_failures = 0, suite_skipped = 0;
    for (const auto& [id, kind] : cases) {
      const InvariantResult* result = nullptr;
      for (const auto& i : report.invariants)
        if (i.id == id) result = &i;
      const auto& violations = by_id[id];
      body += fmt::format("    <testcase name=\"{}\" classname=\"{}\" file=\"{}\">\n", xml_escape(id),
                          xml_escape(report.contract + "." + kind), xml_escape(report.artifact));
      bool waived = result && result->outcome == Outcome::waived;
      bool failed = !waived && !violations.empty() && violations.front()->severity == Severity::error;
      uint64_t total = result ? std::max<uint64_t>(result->violations, violations.size()) : violations.size();
      if (failed) {
        ++suite_failures;
        body += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                            xml_escape((total > 1 ? std::to_string(total) + " violations, first: " : "") +
                                       violations.front()->message),
                            xml_escape(kind), xml_escape(details_of(report, violations, total)));
      } else if (waived || (result && result->outcome == Outcome::skipped)) {
        ++suite_skipped;
        body += fmt::format("      <skipped message=\"{}\"/>\n",
                            xml_escape((waived ? "waived: " : "skipped: ") + (result->note.empty() ? id : result->note)));
      } else if (!violations.empty()) {  // warnings
        body += fmt::format("      <system-out>{}</system-out>\n",
                            xml_escape("warning: " + details_of(report, violations, total)));
      }
      body += "    </testcase>\n";
    }
    tests += cases.size();
    failures += suite_failures;
    skipped += suite_skipped;
    suites += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n"
        "    <properties>\n      <property name=\"contract\" value=\"{}\"/>\n"
        "      <property name=\"verdict\" value=\"{}\"/>\n    </properties>\n{}  </testsuite>\n",
        xml_escape(report.artifact.empty() ? "<artifact>" : report.artifact), cases.size(), suite_failures, suite_skipped,
        xml_escape(report.contract), to_string(report.verdict), body);
  }
  if (!errors.empty()) suites += error_suite(errors);
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"invar\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n{}</testsuites>\n",
      tests + errors.size(), failures, errors.size(), skipped, suites);
}

}  // namespace invar
