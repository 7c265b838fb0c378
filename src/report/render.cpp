// Reports rendered for people (fmt, optional ANSI colour) and for machines
// (JSON following schemas/report.schema.json).
#include <fmt/format.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "invar/invar.hpp"
#include "invar/report.hpp"
#include "report/escape.hpp"
#include "report/render.hpp"

namespace invar {

std::string counted(size_t n, std::string_view noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }

namespace {

// The name lint reports carry as their contract (lint/lint.cpp).
constexpr std::string_view kLintContract = "invar lint";


struct Palette {
  const char* red = "";
  const char* yellow = "";
  const char* green = "";
  const char* dim = "";
  const char* bold = "";
  const char* reset = "";
};

Palette palette(bool color) {
  if (!color) return {};
  return {"\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[2m", "\x1b[1m", "\x1b[0m"};
}

}  // namespace

constexpr size_t kShownPerInvariant = 3;  // the human format's sample; JSON has them all

namespace {

using text::printable;  // the one escaping of text for a terminal (C0, DEL, C1, line separators)

// "FILE:LINE:COL /pointer" when the line is known, else "/pointer".
std::string where(const Report& report, const Violation& v) {
  std::string pointer = v.pointer.empty() ? "/" : v.pointer;
  return printable(v.line ? location_of(report, v) + " " + pointer : pointer);
}

}  // namespace

std::string render_human(const Report& report, const RenderOptions& options) {
  Palette c = palette(options.color);
  std::string out;
  size_t passed = 0, failed = 0, skipped = 0, warned = 0, waived = 0;
  for (const auto& r : report.invariants) {
    if (r.outcome == Outcome::pass) ++passed;
    else if (r.outcome == Outcome::skipped) ++skipped;
    else if (r.outcome == Outcome::waived) ++waived;
    else if (r.severity == Severity::warn) ++warned;
    else ++failed;
  }
  // Violations grouped by invariant, in contract order (artifact.* first).
  std::vector<std::string> order;
  for (const auto& v : report.violations)
    if (std::find(order.begin(), order.end(), v.invariant) == order.end()) order.push_back(v.invariant);
  for (const auto& id : order) {
    if (options.quiet) break;
    std::vector<const Violation*> group;
    for (const auto& v : report.violations)
      if (v.invariant == id) group.push_back(&v);
    uint64_t total = group.size();
    for (const auto& r : report.invariants)
      if (r.id == id) total = std::max<uint64_t>(total, r.violations);
    const Violation& first = *group.front();
    const InvariantResult* result = nullptr;
    for (const auto& r : report.invariants)
      if (r.id == id) result = &r;
    bool is_waived = result && result->outcome == Outcome::waived;
    bool error = first.severity == Severity::error && !is_waived;
    std::string mark = fmt::format("{}{}{} {}{}{} [{}{}]", error ? c.red : c.yellow, is_waived ? "~" : (error ? "x" : "!"),
                                   c.reset, c.bold, printable(id), c.reset, printable(first.kind),
                                   is_waived ? ", waived" : (first.severity == Severity::error ? "" : ", warn"));
    auto details = [&](const Violation& v, const char* indent) {
      if (!v.expected.empty() || !v.actual.empty())
        out += fmt::format("{}{}expected:{} {}  {}actual:{} {}\n", indent, c.dim, c.reset, printable(v.expected), c.dim,
                           c.reset, printable(v.actual));
      if (!v.baseline.empty()) out += fmt::format("{}{}baseline:{} {}\n", indent, c.dim, c.reset, printable(v.baseline));
      if (!v.schema_location.empty())
        out += fmt::format("{}{}schema:{} {}\n", indent, c.dim, c.reset, printable(v.schema_location));
      for (const auto& line : v.explain) out += fmt::format("{}{}\n", indent, printable(line));
    };
    if (total == 1) {
      out += fmt::format("{} at {}: {}\n", mark, where(report, first), printable(first.message));
      details(first, "    ");
    } else {
      out += fmt::format("{}: {} violations\n", mark, total);
      for (size_t k = 0; k < group.size() && k < kShownPerInvariant; ++k) {
        const Violation& v = *group[k];
        out += fmt::format("    at {}: {}\n", where(report, v), printable(v.message));
        details(v, "      ");
      }
      if (total > kShownPerInvariant)
        out += fmt::format("    ... and {} more (--format json lists them)\n", total - kShownPerInvariant);
    }
    if (!first.why.empty()) out += fmt::format("    {}why:{} {}\n", c.dim, c.reset, printable(first.why));
    if (is_waived) out += fmt::format("    {}{}{}\n", c.yellow, printable(result->note), c.reset);
  }
  for (const auto& r : report.invariants) {
    if (options.quiet || r.outcome != Outcome::skipped || r.note.empty()) continue;
    out += fmt::format("{}-{} {} [{}] skipped: {}\n", c.dim, c.reset, printable(r.id), r.kind, printable(r.note));
  }
  bool accepted = report.verdict == Verdict::accept;
  const std::string artifact = printable(report.artifact.empty() ? "<artifact>" : report.artifact);
  if (report.contract == kLintContract) {  // a lint report judges no artifact: its findings, counted
    size_t errors = 0, warnings = 0;
    for (const auto& v : report.violations) ++(v.severity == Severity::error ? errors : warnings);
    out += fmt::format("{}{}{}: {}, {}\n", accepted ? c.green : c.red, artifact, c.reset, counted(errors, "error"),
                       counted(warnings, "warning"));
    return out;
  }
  out += fmt::format("{}{}{} {} (contract {}): {}, {} passed, {} failed, {} warned, {} skipped{}\n",
                     options.candidate ? c.dim : (accepted ? c.green : c.red),
                     options.candidate ? "candidate" : (accepted ? "ACCEPT" : "REJECT"), c.reset, artifact,
                     printable(report.contract), counted(report.invariants.size(), "invariant"), passed, failed, warned,
                     skipped, waived ? fmt::format(", {} waived", waived) : "");
  return out;
}

std::string render_stats(const Report& report) {
  if (!report.stats) return "";
  const Stats& s = *report.stats;
  std::string out =
      s.batches ? fmt::format("stats: {} bytes in {} batches, parsed in {:.2f} ms ({} values), all in {:.2f} ms on {} "
                              "thread{}, peak RSS {} MiB\n",
                              s.bytes, s.batches, s.parse_ms, s.values, s.evaluate_ms, s.threads,
                              s.threads == 1 ? "" : "s", s.peak_rss_kb / 1024)
                : fmt::format("stats: {} bytes, read {:.2f} ms, parse {:.2f} ms ({} values), evaluate {:.2f} ms on {} "
                              "thread{} (strict-reading scan {:.2f} ms), peak RSS {} MiB\n",
                              s.bytes, s.read_ms, s.parse_ms, s.values, s.evaluate_ms, s.threads,
                              s.threads == 1 ? "" : "s", s.scan_ms, s.peak_rss_kb / 1024);
  for (const auto& i : s.invariants) out += fmt::format("  {:<32} {:<12} {:9.3f} ms\n", i.id, i.kind, i.ms);
  return out;
}

nlohmann::json report_to_json(const Report& report) {
  using nlohmann::json;
  json r;
  r["contract"] = report.contract;
  r["artifact"] = report.artifact;
  r["verdict"] = to_string(report.verdict);
  json invariants = json::array();
  for (const auto& i : report.invariants) {
    json j = {{"id", i.id},
              {"kind", i.kind},
              {"severity", to_string(i.severity)},
              {"outcome", to_string(i.outcome)},
              {"violations", i.violations}};
    if (!i.note.empty()) j["note"] = i.note;
    invariants.push_back(std::move(j));
  }
  r["invariants"] = std::move(invariants);
  json violations = json::array();
  for (const auto& v : report.violations) {
    json j = {{"invariant", v.invariant}, {"kind", v.kind},         {"family", v.family},
              {"severity", to_string(v.severity)}, {"message", v.message}, {"pointer", v.pointer},
              {"expected", v.expected},   {"actual", v.actual}};
    if (v.line) {
      j["line"] = v.line;
      j["column"] = v.column;
    }
    if (!v.baseline.empty()) j["baseline"] = v.baseline;
    if (!v.why.empty()) j["why"] = v.why;
    if (!v.schema_location.empty()) j["schema_location"] = v.schema_location;
    if (!v.explain.empty()) j["explain"] = v.explain;
    violations.push_back(std::move(j));
  }
  r["violations"] = std::move(violations);
  return r;
}

nlohmann::json error_to_json(const Error& e) {
  return nlohmann::json{{"code", to_string(e.code)}, {"message", e.message},   {"file", e.where.file},
                        {"pointer", e.where.pointer}, {"line", e.where.line}, {"column", e.where.column}};
}

std::vector<Error> each_error(const std::vector<Error>& errors) {
  std::vector<Error> out;
  for (const auto& e : errors) {
    out.push_back(Error{e.code, e.message, e.where});
    for (const auto& more : e.also) out.push_back(Error{more.code, more.message, more.where});
  }
  return out;
}

std::string render_human_errors(const std::vector<Report>& reports, const std::vector<Error>&,
                                const RenderOptions& options) {
  std::string out;  // the errors themselves are on stderr
  for (const auto& r : reports) out += render_human(r, options);
  return out;
}

// One document: the reports judged, and with errors "verdict": "error", the
// first error in "error" and the others in "also" (as a load error prints).
std::string render_json_errors(const std::vector<Report>& reports, const std::vector<Error>& errors,
                               const RenderOptions&) {
  using nlohmann::json;
  json out;
  out["version"] = 1;
  bool all_accepted = true;
  json list = json::array();
  for (const auto& report : reports) {
    all_accepted &= report.verdict == Verdict::accept;
    list.push_back(report_to_json(report));
  }
  out["verdict"] = !errors.empty() ? "error" : all_accepted ? "accept" : "reject";
  std::vector<Error> all = each_error(errors);
  if (!all.empty()) out["error"] = error_to_json(all.front());
  if (all.size() > 1) {
    json also = json::array();
    for (size_t i = 1; i < all.size(); ++i) also.push_back(error_to_json(all[i]));
    out["also"] = std::move(also);
  }
  out["reports"] = std::move(list);
  // Invalid UTF-8 cannot reach here (artifacts are validated), but replace rather than throw.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string render_json(const std::vector<Report>& reports) { return render_json_errors(reports, {}, {}); }

}  // namespace invar
