// The public Contract: load (compile once) and check (evaluate many times).
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/fault.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "engine/evaluate.hpp"
#include "trial/trial.hpp"
#include "engine/stream.hpp"
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
    case ErrorCode::state: return "state";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::signature: return "signature";
  }
  return "error";
}

std::string_view to_string(Verdict v) { return v == Verdict::accept ? "accept" : "reject"; }

std::string_view to_string(ArtifactFormat f) {
  switch (f) {
    case ArtifactFormat::ndjson: return "ndjson";
    case ArtifactFormat::yaml: return "yaml";
    case ArtifactFormat::json: break;
  }
  return "json";
}

std::optional<ArtifactFormat> artifact_format_named(std::string_view name) {
  if (name == "json") return ArtifactFormat::json;
  if (name == "ndjson" || name == "jsonl") return ArtifactFormat::ndjson;
  if (name == "yaml" || name == "yml") return ArtifactFormat::yaml;
  return std::nullopt;
}

std::string_view to_string(Severity s) { return s == Severity::error ? "error" : "warn"; }
std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::pass: return "pass";
    case Outcome::fail: return "fail";
    case Outcome::skipped: return "skipped";
    case Outcome::waived: return "waived";
  }
  return "?";
}

namespace {

std::string located(const Location& where, const std::string& message) {
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

}  // namespace

std::string Error::to_string() const { return located(where, message); }
std::string LoadWarning::to_string() const { return located(where, message); }

Result<Contract> Contract::load_file(const std::string& path, const Options& options) {
  auto bytes = files::read_file(path, options.limits.max_contract_bytes, "contract");
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

namespace {

// A contract of one `schema` invariant on "$".
std::shared_ptr<Plan> schema_plan(std::string name, const std::string& path,
                                  std::shared_ptr<const schema::Validator> validator, const Options& options) {
  auto plan = std::make_shared<Plan>();
  plan->name = std::move(name);
  plan->file = path;
  if (auto text = files::read_file(path, options.limits.max_contract_bytes, "schema")) plan->text = std::move(*text);
  plan->options = options;
  plan->read_limits.max_bytes = options.limits.max_artifact_bytes;
  plan->read_limits.max_depth = options.limits.max_depth;
  plan->read_limits.max_nodes = options.limits.max_nodes;
  plan->read_limits.max_string_bytes = options.limits.max_string_bytes;
  invariants::Invariant inv;
  inv.id = "schema";
  inv.kind = invariants::Kind::schema;
  inv.target = selector::Selector::compile("$").value();
  inv.schema = std::move(validator);
  plan->invariants.push_back(std::move(inv));
  return plan;
}

}  // namespace

Result<Contract> Contract::from_schema_file(const std::string& path, const Options& options) {
  std::vector<LoadWarning> warnings;
  auto resolved = contract::index_schemas(options.resolve, options, warnings);
  if (!resolved) return resolved.error();
  auto validator = contract::load_schema_file(path, options, std::nullopt, {resolved.value(), std::nullopt}, &warnings);
  if (!validator) return validator.error();
  auto plan = schema_plan("schema " + fs::path(path).filename().string(), path, validator.value(), options);
  plan->warnings = std::move(warnings);
  const YamlReading& yaml = options.schema_reading;
  plan->yaml.many_documents = yaml.many_documents;
  plan->yaml.merge_keys = yaml.merge_keys;
  plan->yaml.consumer_yaml11 = yaml.consumer_yaml11;
  plan->yaml.allow_infinity = yaml.allow_infinity;
  plan->yaml.keys_as_text = yaml.keys_as_text;
  plan->yaml.empty_as_null = yaml.empty_as_null;
  plan->yaml.untagged = yaml.untagged;
  if (yaml.many_documents) {
    // Each document of the stream is judged against the schema; every
    // artifact is read as a YAML stream (a JSON file is one document).
    plan->format = ArtifactFormat::yaml;
    plan->invariants.front().target = selector::Selector::compile("$[*]").value();
  }
  return Contract(std::move(plan));
}

Result<Contract> Contract::metaschema_of(const std::string& schema_path, const Options& options) {
  auto validator = contract::load_metaschema_of(schema_path, options);
  if (!validator) return validator.error();
  return Contract(schema_plan("metaschema of " + fs::path(schema_path).filename().string(), schema_path,
                              validator.value(), options));
}

std::optional<Time> Time::from_ms(int64_t ms) {
  if (ms < kMinMs || ms > kMaxMs) return std::nullopt;
  return Time(ms);
}

std::optional<Time> Time::parse(std::string_view rfc3339) {
  auto ms = text::parse_rfc3339(rfc3339);
  if (!ms) return std::nullopt;
  return from_ms(*ms);  // a year 0000 with an offset can fall before 0001
}

Time Time::now() { return Time(std::chrono::system_clock::now()); }

Time::Time(std::chrono::system_clock::time_point t)
    : ms_(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count()) {}

std::optional<Time> parse_time(std::string_view s) { return Time::parse(s); }

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) { return text::parse_duration(s); }
std::optional<uint64_t> parse_bytes(std::string_view s) { return text::parse_bytes(s); }

const std::string& Contract::name() const { return plan_->name; }
const std::string& Contract::digest() const { return plan_->digest(); }
const std::vector<LoadWarning>& Contract::warnings() const { return plan_->warnings; }

namespace {

// The format the file's extension names; nullopt: nothing said.
std::optional<ArtifactFormat> format_of_path(const std::string& path) {
  static constexpr std::pair<const char*, ArtifactFormat> kExtensions[] = {
      {".ndjson", ArtifactFormat::ndjson}, {".jsonl", ArtifactFormat::ndjson},
      {".yaml", ArtifactFormat::yaml},     {".yml", ArtifactFormat::yaml}};
  for (auto [ext, format] : kExtensions)
    if (path.size() > std::strlen(ext) && path.compare(path.size() - std::strlen(ext), std::string::npos, ext) == 0)
      return format;
  return std::nullopt;
}

// `padded` as for engine::read; `format`: how to read the bytes (unset: the plan's).
Result<std::shared_ptr<BaselineData>> measure_baseline(const Plan& plan, std::string_view bytes,
                                                       const std::string& label, bool padded,
                                                       std::optional<ArtifactFormat> format = std::nullopt) {
  auto candidate = engine::read(plan, bytes, padded, true, format);
  if (!candidate.document) {
    const Violation& v = candidate.unreadable->violations.front();
    Error e;
    e.code = ErrorCode::io;
    e.message = "baseline is not a readable artifact: " + v.message;
    e.where.file = label;
    e.where.pointer = v.pointer;
    return e;
  }
  auto data = std::make_shared<BaselineData>();
  data->measures = engine::measure(plan, candidate.document->root, candidate.size, candidate.text(bytes));
  data->format = format;
  return data;
}

// Only a churn invariant names keys from the baseline's bytes.
bool names_baseline_keys(const Plan& plan) {
  return std::any_of(plan.invariants.begin(), plan.invariants.end(),
                     [](const auto& inv) { return inv.kind == invariants::Kind::churn; });
}

}  // namespace

Result<Baseline> Baseline::measure(const Contract& contract, std::string_view bytes, const std::string& label) {
  auto data = measure_baseline(*contract.plan_, bytes, label, false);
  if (!data) return data.error();
  if (names_baseline_keys(*contract.plan_))  // a copy: `bytes` may not outlive this Baseline
    (*data)->artifact = [kept = std::make_shared<const std::string>(bytes)] { return std::optional<std::string>(*kept); };
  return Baseline(std::move(*data));
}

Result<Baseline> Baseline::measure_file(const Contract& contract, const std::string& path) {
  const uint64_t max_bytes = contract.plan_->read_limits.max_bytes;
  auto bytes = files::read_file(path, max_bytes, "baseline", simdjson::SIMDJSON_PADDING);
  if (!bytes) return bytes.error();
  // As check_file reads an artifact: the contract's format, else the extension's.
  const auto format = contract.plan_->format ? contract.plan_->format : format_of_path(path);
  auto data = measure_baseline(*contract.plan_, *bytes, path, true, format);
  if (!data) return data.error();
  // Read again to name removed churn keys, and used only while unchanged.
  if (names_baseline_keys(*contract.plan_))
    (*data)->artifact = [path, max_bytes, digest = digest::sha256(*bytes)]() -> std::optional<std::string> {
      auto again = files::read_file(path, max_bytes, "baseline");
      if (!again || digest::sha256(*again) != digest) return std::nullopt;
      return std::move(*again);
    };
  return Baseline(std::move(*data));
}

Report Contract::check(std::string_view bytes, const CheckContext& context) const {
  return engine::check(*plan_, bytes, context, false);
}

namespace engine {

Report check(const Plan& plan, std::string_view bytes, const CheckContext& context, bool padded) {
  // The strict-reading scan runs alongside the invariants; when it finds a
  // problem, their results are dropped for the reading's reject.
  auto candidate = engine::read(plan, bytes, padded, /*scan=*/false, context.format);
  std::optional<Stats> stats;
  if (context.collect_stats) {
    stats.emplace();
    stats->parse_ms = candidate.parse_ms;
    stats->bytes = bytes.size();
  }
  Report report;
  if (!candidate.document) {
    report = std::move(*candidate.unreadable);
  } else {
    artifact::Document& doc = *candidate.document;
    std::optional<artifact::ReadProblem> problem;
    double scan_ms = 0;
    auto scan = [&] {
      auto start = std::chrono::steady_clock::now();
      problem = artifact::scan(doc, plan.read_limits, &doc.values);
      scan_ms = engine::ms_since(start);
    };
    report = engine::start_report(plan);
    const BaselineData* baseline = context.baseline ? &ContractAccess::baseline(*context.baseline) : nullptr;
    auto start = std::chrono::steady_clock::now();
    engine::evaluate(plan, doc.root, candidate.size, engine::Phase::all, engine::now_ms(plan, context.now), baseline,
                     report, nullptr, stats ? &*stats : nullptr, scan, candidate.text(bytes));
    if (problem) {
      report = engine::unreadable(plan, *problem);
      if (candidate.origin) report.violations.front().expected = candidate.origin->expected();
      if (stats) stats->invariants.clear();
    }
    if (!problem) {
      engine::add_ambiguities(candidate.ambiguous, candidate.ambiguous_total, report);
      engine::add_unreadable_records(plan, candidate.unreadable_records, report);
    }
    engine::finish(plan, report);
    if (!problem && context.run_trials)
      trial::run_trials(plan, bytes, trial::Context{true, context.trial_baseline, context.trial_stream,
                                                    trial::trial_extension(context.format.value_or(ArtifactFormat::json)),
                                                    context.trial_jobs, context.trial_total_ms},
                        report);
    // Also a problem the scan found: the bytes parsed.
    engine::locate_violations(plan, bytes, report, candidate.origin.get());
    if (stats) {
      stats->scan_ms = scan_ms;
      stats->evaluate_ms = engine::ms_since(start);
      stats->threads = engine::threads_for(plan, candidate.size);
      stats->values = doc.values;
    }
  }
  if (stats) {
    stats->peak_rss_kb = engine::peak_rss_kb();
    report.stats = std::move(stats);
  }
  return report;
}

}  // namespace engine

Result<Report> Contract::check_file(const std::string& path, const CheckContext& given) const {
  auto start = std::chrono::steady_clock::now();
  CheckContext context = given;
  if (!context.format) context.format = plan_->format ? plan_->format : format_of_path(path);
  if (auto streamed = engine::check_streamed(*plan_, path, context)) {
    streamed->artifact = files::display_name(path);
    return std::move(*streamed);
  }
  std::optional<files::Mapping> mapped;
  Result<std::string> read = std::string();
  if (plan_->options.map_files && path != files::kStdin) {
    auto m = files::Mapping::open(path, plan_->read_limits.max_bytes, "artifact", simdjson::SIMDJSON_PADDING);
    if (m) mapped = std::move(m.value());
    else read = m.error();
    fault::truncate_point("check:mapped", path.c_str());
  } else {
    read = files::read_file(path, plan_->read_limits.max_bytes, "artifact", simdjson::SIMDJSON_PADDING);
  }
  double read_ms = engine::ms_since(start);
  if (!read) {
    if (read.error().code != ErrorCode::limit) return read.error();
    // Over the size limit: a verdict (reject), not an inability to judge.
    Report report = engine::unreadable(*plan_, "size", read.error().message + " (refused before reading)", "",
                                       engine::size_expectation(*plan_), read.error().message);
    report.artifact = files::display_name(path);
    return report;
  }
  Report report = engine::check(*plan_, mapped ? mapped->bytes() : std::string_view(*read), context, true);
  report.artifact = files::display_name(path);
  if (report.stats) report.stats->read_ms = read_ms;
  return report;
}

}  // namespace invar
