#include "engine/evaluate.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <iterator>
#include <map>

#include "artifact/ndjson.hpp"
#include "common/parallel.hpp"

namespace invar::engine {

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
    report.invariants.push_back({inv.id, std::string(invariants::kind_name(inv.kind)), inv.severity, Outcome::skipped, 0, {}});
  return report;
}

std::string size_expectation(const Plan& plan) {
  return "at most " + std::to_string(plan.read_limits.max_bytes) + " bytes";
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

uint64_t peak_rss_kb() {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_maxrss);
}

unsigned threads_for(const Plan& plan, uint64_t size) {
  constexpr unsigned kMaxThreads = 64;
  return size >= kParallelMinBytes ? std::clamp(plan.options.threads, 1u, kMaxThreads) : 1;
}

Report unreadable(const Plan& plan, const artifact::ReadProblem& p) {
  Report report = unreadable(plan, p.rule, p.message, p.pointer,
                             p.rule == "size" ? size_expectation(plan) : "one strict JSON document",
                             p.line ? "line " + std::to_string(p.line) + ", column " + std::to_string(p.column) : p.message);
  report.violations.front().line = p.line;
  report.violations.front().column = p.column;
  return report;
}

void locate_violations(const Plan& plan, std::string_view bytes, Report& report, const artifact::Origin* origin) {
  std::vector<std::string> pointers;
  for (const auto& v : report.violations)
    if (v.line == 0) pointers.push_back(v.pointer);
  if (pointers.empty()) return;
  std::sort(pointers.begin(), pointers.end());
  pointers.erase(std::unique(pointers.begin(), pointers.end()), pointers.end());
  auto where = origin ? origin->locate_all(bytes, pointers, plan.read_limits.max_depth)
                      : artifact::locate_all(bytes, pointers, plan.read_limits.max_depth);
  for (auto& v : report.violations)
    if (auto it = where.find(v.pointer); v.line == 0 && it != where.end()) {
      v.line = it->second.line;
      v.column = it->second.column;
    }
}

void add_ambiguities(const std::vector<artifact::Ambiguity>& ambiguous, uint64_t total, Report& report) {
  for (const auto& a : ambiguous) {
    Violation v;
    v.invariant = "artifact.ambiguous_scalar";
    v.kind = "artifact";
    v.family = "artifact";
    v.message = "\"" + a.text + "\" is " + a.yaml12 + " in YAML 1.2 but " + a.yaml11 +
                " to a YAML 1.1 parser (the contract's consumer): quote it, or write what both read alike";
    v.pointer = a.pointer;
    v.expected = a.yaml12;
    v.actual = a.yaml11;
    v.line = a.where.line;
    v.column = a.where.column;
    report.violations.push_back(std::move(v));
  }
  if (total > ambiguous.size() && !ambiguous.empty())
    report.violations.back().explain.push_back("and " + std::to_string(total - ambiguous.size()) +
                                               " more ambiguous scalars, not listed (max_report_violations)");
}

namespace {

// A JSON read that failed at its first byte of something that looks like YAML
// says how to read YAML.
void hint_yaml(std::string_view bytes, Report& report) {
  size_t i = bytes.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return;
  const char c = bytes[i];
  const bool json_start = c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' ||
                          c == 'f' || c == 'n';
  const bool yaml_start = bytes.substr(i, 3) == "---" || bytes.substr(i, 2) == "- " || c == '#' ||
                          (!json_start && bytes.substr(i, bytes.find('\n', i) - i).find(": ") != std::string_view::npos);
  if (!yaml_start) return;
  auto& v = report.violations.front();
  v.message += " (this looks like YAML: the contract reads JSON; set \"artifact\": {\"format\": \"yaml\"} in the "
               "contract, or pass --input-format yaml)";
}

Candidate read_yaml(const Plan& plan, std::string_view bytes) {
  Candidate c;
  c.size = bytes.size();
  auto start = std::chrono::steady_clock::now();
  artifact::YamlOptions options = plan.yaml;
  options.max_ambiguities = plan.options.limits.max_report_violations;
  auto read = artifact::read_yaml(bytes, plan.read_limits, options);
  c.parse_ms = ms_since(start);
  auto origin = std::make_shared<const artifact::YamlOrigin>(plan.read_limits, plan.yaml);
  if (read.problem) {
    c.unreadable = unreadable(plan, *read.problem);
    if (read.problem->rule != "size") c.unreadable->violations.front().expected = origin->expected();
    return c;
  }
  c.document = std::move(read.document);
  c.ambiguous = std::move(read.ambiguous);
  c.ambiguous_total = read.ambiguous_total;
  c.origin = std::move(origin);
  return c;
}

// NDJSON: a line that is not one strict value is read as null (its problem
// kept) and the rest parsed again, so that the other records are still
// checked; a problem that is not one line's (size, nodes), or more than
// kMaxUnreadableLines bad lines, refuses the file whole.
Candidate read_ndjson(const Plan& plan, std::string_view bytes, bool scan) {
  Candidate c;
  c.size = bytes.size();
  auto start = std::chrono::steady_clock::now();
  if (bytes.size() > plan.read_limits.max_bytes) {
    c.unreadable = unreadable(plan, artifact::ReadProblem{"size",
                                                           "artifact is " + std::to_string(bytes.size()) +
                                                               " bytes, over max_bytes " +
                                                               std::to_string(plan.read_limits.max_bytes),
                                                           "", 0, 0, 0});
    return c;
  }
  std::map<uint64_t, artifact::ReadProblem> bad_lines;
  for (;;) {
    auto split = artifact::split_lines(bytes, simdjson::SIMDJSON_PADDING, bad_lines);
    if (auto* problem = std::get_if<artifact::ReadProblem>(&split)) {
      c.unreadable = unreadable(plan, *problem);
      c.unreadable->violations.front().expected = "one strict JSON value per line";
      return c;
    }
    auto lines = std::make_shared<const artifact::Lines>(std::move(std::get<artifact::Lines>(split)));
    // The array text may exceed max_bytes by its commas: the file's size is what is limited.
    artifact::ReadLimits limits = plan.read_limits;
    limits.max_bytes = std::max<uint64_t>(limits.max_bytes, lines->text().size());
    auto parsed = artifact::parse(lines->text(), limits, true, scan, threads_for(plan, bytes.size()),
                                  plan.options.reuse_parsers ? plan.documents : nullptr);
    c.parse_ms = ms_since(start);
    if (parsed.document) {
      c.document = std::move(parsed.document);
      c.unreadable_records = lines->problems;
      c.origin = std::move(lines);
      return c;
    }
    artifact::ReadProblem& p = *parsed.problem;
    artifact::relocate(*lines, bytes, p);
    const bool one_line = p.line > 0 && p.rule != "size" && p.rule != "nodes" && !bad_lines.count(p.line) &&
                          lines->problems.size() < artifact::kMaxUnreadableLines;
    if (!one_line) {
      c.unreadable = unreadable(plan, p);
      if (p.rule != "size") c.unreadable->violations.front().expected = lines->expected();
      return c;
    }
    if (p.message.rfind("line ", 0) != 0) p.message = "line " + std::to_string(p.line) + ": " + p.message;
    bad_lines.emplace(p.line, std::move(p));
  }
}

}  // namespace

void add_unreadable_records(const Plan& plan, const std::vector<artifact::ReadProblem>& problems, Report& report) {
  if (problems.empty()) return;
  std::vector<std::string> records;
  for (const auto& p : problems) records.push_back(p.pointer);
  auto under_bad_record = [&](const std::string& pointer) {
    for (const auto& r : records)
      if (pointer == r || (pointer.size() > r.size() && pointer.compare(0, r.size(), r) == 0 && pointer[r.size()] == '/'))
        return true;
    return false;
  };
  // What the invariants said of a bad line's null is not about the artifact.
  std::vector<Violation> kept;
  for (auto& v : report.violations) {
    if (v.family != "artifact" && under_bad_record(v.pointer)) {
      for (auto& r : report.invariants)
        if (r.id == v.invariant && r.violations > 0 && --r.violations == 0 && r.outcome == Outcome::fail)
          r.outcome = Outcome::pass;
      continue;
    }
    kept.push_back(std::move(v));
  }
  report.violations = std::move(kept);
  for (const auto& p : problems) {
    Violation v = unreadable(plan, p).violations.front();
    v.expected = "one strict JSON value per line";
    report.violations.push_back(std::move(v));
  }
}

namespace {

Candidate read_json(const Plan& plan, std::string_view bytes, bool padded, bool scan) {
  Candidate c;
  c.size = bytes.size();
  auto start = std::chrono::steady_clock::now();
  auto parsed = artifact::parse(bytes, plan.read_limits, padded, scan, threads_for(plan, bytes.size()),
                                plan.options.reuse_parsers ? plan.documents : nullptr);
  c.parse_ms = ms_since(start);
  if (parsed.document) {
    c.document = std::move(parsed.document);
    return c;
  }
  c.unreadable = unreadable(plan, *parsed.problem);
  if (parsed.problem->rule == "syntax") hint_yaml(bytes, *c.unreadable);
  return c;
}

}  // namespace

Candidate read(const Plan& plan, std::string_view bytes, bool padded, bool scan, std::optional<ArtifactFormat> format) {
  switch (format.value_or(plan.format.value_or(ArtifactFormat::json))) {
    case ArtifactFormat::yaml: return read_yaml(plan, bytes);
    case ArtifactFormat::ndjson: return read_ndjson(plan, bytes, scan);
    case ArtifactFormat::json: break;
  }
  return read_json(plan, bytes, padded, scan);
}

Report start_report(const Plan& plan) {
  Report report;
  report.contract = plan.name;
  for (const auto& inv : plan.invariants)
    report.invariants.push_back({inv.id, std::string(invariants::kind_name(inv.kind)), inv.severity, Outcome::pass, 0, {}});
  return report;
}

invariants::EvalContext context_for(const Plan& plan, uint64_t size, int64_t now_ms, std::string_view source,
                                    invariants::MemoryBudget& memory) {
  invariants::EvalContext ctx;
  ctx.now_ms = now_ms;
  ctx.artifact_bytes = size;
  ctx.source = source;
  ctx.limits = &plan.options.limits;
  ctx.budget.max_depth = plan.options.limits.max_schema_depth;
  ctx.budget.max_steps = plan.options.limits.max_eval_steps;
  ctx.memory = &memory;
  return ctx;
}

void judge(const invariants::Invariant& inv, simdjson::dom::element root, uint64_t size,
           const invariants::EvalContext& ctx, const invariants::Measures* baseline,
           const invariants::Measures* candidate, InvariantResult& result, std::vector<Violation>& violations) {
  if (inv.kind == invariants::Kind::trial) {  // run after the others, where allowed (trial::run_trials)
    result.outcome = Outcome::skipped;
    result.note = "a trial runs only where commands are allowed (invar gate, invar check --trial), after the other "
                  "invariants accept";
    return;
  }
  if (!invariants::compares_with_baseline(inv.kind)) {
    const size_t before = violations.size();
    result.violations = invariants::evaluate(inv, root, ctx, violations);
    result.outcome = result.violations ? Outcome::fail : Outcome::pass;
    // Every violation a warning (regex_safe's unproven patterns, by option): the invariant warns.
    if (result.violations && result.violations == violations.size() - before &&
        std::all_of(violations.begin() + before, violations.end(), [](const Violation& v) { return v.severity == Severity::warn; }))
      result.severity = Severity::warn;
    return;
  }
  const invariants::Measure* base = nullptr;
  if (baseline) {
    auto it = baseline->find(inv.id);
    if (it != baseline->end() && it->second.definition == inv.definition) base = &it->second;
  }
  invariants::Measure computed;
  const invariants::Measure* mine = nullptr;
  if (candidate) {
    auto it = candidate->find(inv.id);
    if (it != candidate->end()) mine = &it->second;
  }
  // Without a baseline only monotonic looks at the candidate's measure.
  if (!mine && (base || inv.kind == invariants::Kind::monotonic))
    computed = invariants::measure(inv, root, size, ctx.source);
  if (!mine) mine = &computed;
  auto cmp = invariants::compare(inv, root, *mine, base, ctx, violations);
  result.violations = cmp.violations;
  result.outcome = cmp.violations ? Outcome::fail : (cmp.skipped ? Outcome::skipped : Outcome::pass);
  result.note = cmp.note;
}

void evaluate(const Plan& plan, simdjson::dom::element root, uint64_t size, Phase phase, int64_t now_ms,
              const BaselineData* baseline, Report& report, const invariants::Measures* candidate,
              Stats* stats, const std::function<void()>& alongside, std::string_view source) {
  const unsigned threads = threads_for(plan, size);
  invariants::MemoryBudget memory(plan.options.limits.max_invariant_bytes);
  invariants::EvalContext ctx = context_for(plan, size, now_ms, source, memory);
  invariants::KeyNamer baseline_names;
  if (baseline && baseline->artifact) {
    baseline_names = [&plan, baseline](const invariants::Invariant& inv, const std::vector<uint64_t>& hashes,
                                       size_t limit) -> std::vector<std::string> {
      auto bytes = baseline->artifact();
      if (!bytes) return {};
      auto read = engine::read(plan, *bytes, false, true, baseline->format);
      if (!read.document) return {};
      return invariants::key_texts(inv, read.document->root, hashes, limit);
    };
    ctx.baseline_names = &baseline_names;
  }
  std::optional<parallel::Pool> pool;
  if (threads > 1) pool.emplace(threads);
  ctx.budget.pool = pool ? &*pool : nullptr;
  std::vector<size_t> todo;  // this phase's invariants; schemas (usually the longest) first
  for (size_t i = 0; i < plan.invariants.size(); ++i) {
    bool late = invariants::judged_under_lock(plan.invariants[i].kind);
    if ((phase == Phase::before_lock && late) || (phase == Phase::under_lock && !late)) continue;
    todo.push_back(i);
  }
  std::stable_partition(todo.begin(), todo.end(),
                        [&](size_t i) { return plan.invariants[i].kind == invariants::Kind::schema; });
  std::vector<std::vector<Violation>> found(plan.invariants.size());
  std::vector<double> took(plan.invariants.size());
  size_t tasks = todo.size() + (alongside ? 1 : 0);
  auto task = [&](size_t t) {
    if (t == todo.size()) return alongside();
    size_t i = todo[t];
    auto start = std::chrono::steady_clock::now();
    judge(plan.invariants[i], root, size, ctx, baseline ? &baseline->measures : nullptr, candidate,
                 report.invariants[i], found[i]);
    took[i] = ms_since(start);
  };
  if (pool) {
    parallel::run(*pool, tasks, task);
  } else {
    for (size_t t = 0; t < tasks; ++t) task(t);
  }
  std::sort(todo.begin(), todo.end());
  for (size_t i : todo) {
    const auto& inv = plan.invariants[i];
    std::move(found[i].begin(), found[i].end(), std::back_inserter(report.violations));
    if (stats) stats->invariants.push_back({inv.id, std::string(invariants::kind_name(inv.kind)), took[i]});
  }
}

invariants::Measures measure(const Plan& plan, simdjson::dom::element root, uint64_t size, std::string_view source) {
  invariants::Measures out;
  for (const auto& inv : plan.invariants)
    if (invariants::compares_with_baseline(inv.kind))
      out.emplace(inv.id, invariants::measure(inv, root, size, source));
  return out;
}

bool measures_current(const Plan& plan, const invariants::Measures& measures) {
  for (const auto& inv : plan.invariants) {
    if (!invariants::compares_with_baseline(inv.kind)) continue;
    auto it = measures.find(inv.id);
    if (it == measures.end() || it->second.definition != inv.definition) return false;
  }
  return true;
}

void finish(const Plan& plan, Report& report) {
  std::map<std::string_view, size_t> order;
  for (size_t i = 0; i < plan.invariants.size(); ++i) order.emplace(plan.invariants[i].id, i + 1);
  std::stable_sort(report.violations.begin(), report.violations.end(), [&](const Violation& a, const Violation& b) {
    auto ia = order.find(a.invariant), ib = order.find(b.invariant);
    size_t ka = ia == order.end() ? 0 : ia->second, kb = ib == order.end() ? 0 : ib->second;
    return ka < kb;
  });
  report.verdict = Verdict::accept;
  for (const auto& r : report.invariants)
    if (r.outcome == Outcome::fail && r.severity == Severity::error) report.verdict = Verdict::reject;
  for (const auto& v : report.violations)
    if (v.family == "artifact") report.verdict = Verdict::reject;  // unreadable, or refused by the consumer
}

int64_t now_ms(const Plan& plan, const std::optional<Time>& now) {
  if (now) return now->ms();
  return plan.options.clock ? plan.options.clock().ms() : Time::now().ms();
}

}  // namespace invar::engine
