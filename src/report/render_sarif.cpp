// SARIF 2.1.0 (OASIS): one run per invocation, one rule per invariant id,
// one result per violation, located in the artifact's text. Tests validate
// every output they produce against the official schema.
#include <map>

#include <nlohmann/json.hpp>

#include "invar/report.hpp"
#include "report/escape.hpp"
#include "report/render.hpp"

namespace invar {

namespace {

using nlohmann::json;

std::string level_of(Severity severity) { return severity == Severity::error ? "error" : "warning"; }

// The invocation: successful unless errors kept it from judging; each error
// a notification, located in its file when known.
json invocation_of(const std::vector<Error>& errors) {
  json notifications = json::array();
  for (const auto& e : each_error(errors)) {
    json n = {{"level", "error"}, {"message", {{"text", e.to_string()}}}, {"properties", {{"code", to_string(e.code)}}}};
    if (!e.where.file.empty()) {
      json physical = {{"artifactLocation", {{"uri", report::path_uri(e.where.file)}}}};
      if (e.where.line > 0)
        physical["region"] = {{"startLine", e.where.line}, {"startColumn", std::max<uint64_t>(1, e.where.column)}};
      n["locations"] = json::array({{{"physicalLocation", physical}}});
    }
    notifications.push_back(std::move(n));
  }
  json invocation = {{"executionSuccessful", errors.empty()}};
  if (!notifications.empty()) invocation["toolExecutionNotifications"] = std::move(notifications);
  return invocation;
}

}  // namespace

std::string render_sarif(const std::vector<Report>& reports, const RenderOptions& options) {
  return render_sarif_errors(reports, {}, options);
}

std::string render_sarif_errors(const std::vector<Report>& reports, const std::vector<Error>& errors,
                                const RenderOptions& options) {
  (void)options;
  // Rules: every invariant of the reports' contracts, then reading problems, in first-seen order.
  json rules = json::array();
  std::map<std::string, size_t> rule_index;
  auto add_rule = [&](const std::string& id, const std::string& kind, Severity severity, const std::string& why) {
    if (rule_index.count(id)) return;
    rule_index[id] = rules.size();
    json rule = {{"id", id},
                 {"shortDescription", {{"text", kind + " invariant " + id}}},
                 {"defaultConfiguration", {{"level", level_of(severity)}}},
                 {"properties", {{"kind", kind}}}};
    if (!why.empty()) rule["help"] = {{"text", why}};
    rules.push_back(std::move(rule));
  };
  for (const auto& report : reports) {
    for (const auto& i : report.invariants) {
      std::string why;
      for (const auto& v : report.violations)
        if (v.invariant == i.id && !v.why.empty()) why = v.why;
      add_rule(i.id, i.kind, i.severity, why);
    }
    for (const auto& v : report.violations) add_rule(v.invariant, v.kind, v.severity, v.why);
  }
  json results = json::array();
  for (const auto& report : reports) {
    std::map<std::string, const InvariantResult*> outcome;
    for (const auto& i : report.invariants) outcome[i.id] = &i;
    for (const auto& v : report.violations) {
      std::string text = v.message;
      if (!v.expected.empty() || !v.actual.empty()) text += " (expected: " + v.expected + "; actual: " + v.actual + ")";
      if (text.empty()) text = v.invariant;
      json physical = {{"artifactLocation", {{"uri", report::path_uri(report.artifact.empty() ? "<artifact>" : report.artifact)}}}};
      if (v.line > 0) physical["region"] = {{"startLine", v.line}, {"startColumn", std::max<uint64_t>(1, v.column)}};
      json location = {{"physicalLocation", physical}};
      if (!v.pointer.empty()) location["logicalLocations"] = json::array({{{"fullyQualifiedName", v.pointer}, {"kind", "element"}}});
      json result = {{"ruleId", v.invariant},
                     {"ruleIndex", rule_index[v.invariant]},
                     {"level", level_of(v.severity)},
                     {"message", {{"text", text}}},
                     {"locations", json::array({location})},
                     {"properties", {{"contract", report.contract}, {"pointer", v.pointer}}}};
      if (auto it = outcome.find(v.invariant); it != outcome.end() && it->second->outcome == Outcome::waived)
        result["suppressions"] = json::array({{{"kind", "external"}, {"justification", it->second->note.empty() ? "waived" : it->second->note}}});
      results.push_back(std::move(result));
    }
  }
  json run = {{"tool", {{"driver", {{"name", "invar"}, {"version", INVAR_VERSION}, {"rules", rules}}}}},
              {"invocations", json::array({invocation_of(errors)})},
              {"columnKind", "unicodeCodePoints"},
              {"results", results}};
  json sarif = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"}, {"version", "2.1.0"},
                {"runs", json::array({run})}};
  return sarif.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace invar
