// The public Contract: load (compile once) and check (evaluate many times).
#include <filesystem>

#include "common/text.hpp"
#include "engine/plan.hpp"
#include "invar/invar.hpp"

namespace invar {

namespace fs = std::filesystem;

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::io: return "io";
    case ErrorCode::syntax: return "syntax";
    case ErrorCode::contract: return "contract";
    case ErrorCode::schema: return "schema";
    case ErrorCode::selector: return "selector";
    case ErrorCode::regex: return "regex";
    case ErrorCode::limit: return "limit";
    case ErrorCode::usage: return "usage";
  }
  return "error";
}

std::string_view to_string(Verdict v) { return v == Verdict::accept ? "accept" : "reject"; }
std::string_view to_string(Severity s) { return s == Severity::error ? "error" : "warn"; }
std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::pass: return "pass";
    case Outcome::fail: return "fail";
    case Outcome::skipped: return "skipped";
  }
  return "?";
}

std::string Error::to_string() const {
  std::string out;
  if (!where.file.empty()) {
    out += where.file;
    if (where.line) out += ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
    out += ": ";
  }
  if (!where.pointer.empty()) out += where.pointer + ": ";
  out += message;
  return out;
}

Result<Contract> Contract::load_file(const std::string& path, const Options& options) {
  auto bytes = contract::read_file(path, options.limits.max_contract_bytes, "contract");
  if (!bytes) return bytes.error();
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  auto plan = contract::load(*bytes, path, dir, options);
  if (!plan) return plan.error();
  return Contract(std::move(plan.value()));
}

Result<Contract> Contract::load_string(std::string_view text, const std::string& base_dir, const std::string& label,
                                       const Options& options) {
  if (text.size() > options.limits.max_contract_bytes) {
    Error e;
    e.code = ErrorCode::limit;
    e.message = "contract is " + std::to_string(text.size()) + " bytes, over the limit of " +
                std::to_string(options.limits.max_contract_bytes) + " bytes";
    e.where.file = label;
    return e;
  }
  auto plan = contract::load(text, label, base_dir, options);
  if (!plan) return plan.error();
  return Contract(std::move(plan.value()));
}

Result<Contract> Contract::from_schema_file(const std::string& path, const Options& options) {
  auto validator = contract::load_schema_file(path, options);
  if (!validator) return validator.error();
  auto plan = std::make_shared<Plan>();
  plan->name = "schema " + fs::path(path).filename().string();
  plan->file = path;
  plan->options = options;
  plan->read_limits.max_bytes = options.limits.max_artifact_bytes;
  plan->read_limits.max_depth = options.limits.max_depth;
  invariants::Invariant inv;
  inv.id = "schema";
  inv.kind = invariants::Kind::schema;
  inv.target = selector::Selector::compile("$").value();
  inv.schema = validator.value();
  plan->invariants.push_back(std::move(inv));
  return Contract(std::move(plan));
}

const std::string& Contract::name() const { return plan_->name; }

namespace {

// The report for bytes that could not be read: a reject, every invariant skipped.
Report unreadable(const Plan& plan, std::string rule, std::string message, std::string pointer, std::string expected,
                  std::string actual) {
  Report report;
  report.contract = plan.name;
  report.verdict = Verdict::reject;
  Violation v;
  v.invariant = "artifact." + rule;
  v.kind = "artifact";
  v.family = "artifact";
  v.message = std::move(message);
  v.pointer = std::move(pointer);
  v.expected = std::move(expected);
  v.actual = std::move(actual);
  report.violations.push_back(std::move(v));
  for (const auto& inv : plan.invariants)
    report.invariants.push_back({inv.id, std::string(invariants::kind_name(inv.kind)), inv.severity, Outcome::skipped, 0});
  return report;
}

std::string size_expectation(const Plan& plan) {
  return "at most " + std::to_string(plan.read_limits.max_bytes) + " bytes";
}

}  // namespace

Report Contract::check(std::string_view bytes, const CheckContext& context) const {
  const Plan& plan = *plan_;
  auto parsed = artifact::parse(bytes, plan.read_limits);
  if (!parsed.document) {
    const auto& p = *parsed.problem;
    return unreadable(plan, p.rule, p.message, p.pointer,
                      p.rule == "size" ? size_expectation(plan) : "one strict JSON document",
                      p.line ? "line " + std::to_string(p.line) + ", column " + std::to_string(p.column) : p.message);
  }
  Report report;
  report.contract = plan.name;
  invariants::EvalContext ctx;
  auto now = context.now.value_or(std::chrono::system_clock::now());
  ctx.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  ctx.limits = &plan.options.limits;
  ctx.budget.max_depth = plan.options.limits.max_schema_depth;
  ctx.budget.max_steps = plan.options.limits.max_eval_steps;
  for (const auto& inv : plan.invariants) {
    uint64_t count = invariants::evaluate(inv, parsed.document->root, ctx, report.violations);
    report.invariants.push_back({inv.id, std::string(invariants::kind_name(inv.kind)), inv.severity,
                                 count ? Outcome::fail : Outcome::pass, count});
    if (count && inv.severity == Severity::error) report.verdict = Verdict::reject;
  }
  return report;
}

Result<Report> Contract::check_file(const std::string& path, const CheckContext& context) const {
  auto bytes = contract::read_file(path, plan_->read_limits.max_bytes, "artifact");
  if (!bytes) {
    if (bytes.error().code != ErrorCode::limit) return bytes.error();
    // Over the size limit: a verdict (reject), not an inability to judge.
    Report report = unreadable(*plan_, "size", bytes.error().message + " (refused before reading)", "",
                               size_expectation(*plan_), bytes.error().message);
    report.artifact = path;
    return report;
  }
  Report report = check(*bytes, context);
  report.artifact = path;
  return report;
}

}  // namespace invar
