// The output formats of reports, in one registry: --format's choices and
// help, the C ABI's invar_report_render and every command that prints a
// report come from it. Adding a format is one file in src/report/ and one
// line in its table (src/report/formats.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "invar/invar.hpp"

#pragma GCC visibility push(default)

namespace invar {

struct Decision;

struct ReportFormat {
  std::string_view name;  // "sarif"
  std::string_view help;  // one line, for --help
  // The reports of one invocation (one per artifact, or per test case).
  // Never fails: content that the format cannot hold (control characters,
  // invalid UTF-8, "]]>") is escaped or replaced.
  std::string (*render)(const std::vector<Report>& reports, const RenderOptions& options);
  // A gate's decision; null: render() of the candidate's report.
  std::string (*render_decision)(const Decision& decision, const std::string& stream,
                                 const RenderOptions& options) = nullptr;
  // Each report may be written as soon as it is ready (render() of one
  // report at a time, concatenated, is the same output).
  bool streams = false;
  // The reports judged and the errors that kept the invocation from judging
  // the rest (exit 3). Every machine format states the error, so that no
  // reader takes "nothing judged" for "all clear"; human leaves it to stderr.
  // A format that streams: render() of each report, then this with no reports.
  std::string (*render_errors)(const std::vector<Report>& reports, const std::vector<Error>& errors,
                               const RenderOptions& options) = nullptr;
};

// Every format, in the order --format lists them (human first).
const std::vector<ReportFormat>& report_formats();
// nullptr for a name that is not one.
const ReportFormat* find_report_format(std::string_view name);
// "human, json, sarif, junit, github, tap".
std::string report_format_names();

// render(), or render_errors() when there are errors: JSON one document with
// "verdict": "error"; SARIF a failed invocation with a notification per
// error (a run without errors says executionSuccessful: true); JUnit an
// <error> test case per error; TAP a "not ok" point per error and
// "Bail out!"; GitHub an ::error command per error.
std::string render_reports(const ReportFormat& format, const std::vector<Report>& reports,
                           const std::vector<Error>& errors, const RenderOptions& options = {});

// The decision through `format` (its render_decision, or render() of the
// candidate's report).
std::string render_decision(const ReportFormat& format, const Decision& decision, const std::string& stream,
                            const RenderOptions& options = {});

// The formats one by one (each is also reachable through the registry).
// SARIF 2.1.0: one run, one rule per invariant, results located in the
// artifact (URI relative to the working directory when under it).
std::string render_sarif(const std::vector<Report>& reports, const RenderOptions& options = {});
// JUnit XML: a testsuite per report, a testcase per invariant.
std::string render_junit(const std::vector<Report>& reports, const RenderOptions& options = {});
// GitHub Actions workflow commands (::error file=...,line=...,col=...::).
std::string render_github(const std::vector<Report>& reports, const RenderOptions& options = {});
// TAP version 13: a test point per invariant per report.
std::string render_tap(const std::vector<Report>& reports, const RenderOptions& options = {});

// "FILE:LINE:COL" of a violation ("FILE" alone when its line is unknown).
std::string location_of(const Report& report, const Violation& violation);

}  // namespace invar

#pragma GCC visibility pop
