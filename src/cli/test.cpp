// invar test: contract unit tests kept next to contracts (conftest verify,
// `jsonschema test`). A test file (*.test.json) names a contract and cases:
// an artifact (a file, or inline JSON), an optional baseline and clock, and
// what the contract must decide. docs/ci.md describes the format.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "artifact/reader.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/project.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "invar/report.hpp"
#include "report/escape.hpp"

namespace invar::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr uint64_t kMaxTestFileBytes = 16ull << 20;
constexpr size_t kMaxCases = 10000;  // per file

struct Expectation {
  Verdict verdict = Verdict::accept;
  std::optional<std::set<std::string>> failing;  // exact set, when given
  std::map<std::string, uint64_t> violations;    // per id, when given
};

struct Case {
  std::string name;
  std::string artifact_path;            // or
  std::optional<std::string> inline_artifact;
  std::string baseline_path;
  std::optional<std::string> inline_baseline;
  std::optional<Time> now;
  Expectation expect;
};

struct TestFile {
  std::string path;
  std::string contract_path;
  std::vector<Case> cases;
};

struct CaseResult {
  std::string name;
  bool passed = false;
  std::vector<std::string> problems;  // what differed
  Report report;
};

struct FileResult {
  std::string path;
  std::string contract;
  std::vector<CaseResult> cases;
};

// A located error in a test file: FILE:LINE:COL: /pointer: message.
Error located(const std::string& path, std::string_view bytes, const std::string& pointer, const std::string& message) {
  std::string where = path;
  if (auto at = artifact::locate(bytes, pointer, 128))
    where += ":" + std::to_string(at->line) + ":" + std::to_string(at->column);
  return Error{ErrorCode::usage, where + ": " + (pointer.empty() ? "/" : pointer) + ": " + message, {}};
}

// What a test file may read: set once per run of `invar test`.
struct LoadRules {
  bool allow_outside = false;  // --allow-outside
  bool stdin_taken = false;    // a case (of this run) reads "-" already
  std::string project_root;    // tests of a project file: they read inside its root
};

// `p` (from a test file in `dir`) as the path to read. Unless
// allow_outside, confined to `dir` (to the project's root for a project's
// tests): not absolute, and inside it once ".." and symlinks are resolved,
// so that a test file cannot make invar read, and quote, files elsewhere.
// An error message otherwise.
Result<std::string> confined(const fs::path& dir, const std::string& p, const LoadRules& rules) {
  fs::path joined = fs::path(p).is_absolute() ? fs::path(p) : dir / p;
  if (rules.allow_outside) return joined.string();
  const bool in_project = !rules.project_root.empty();
  const std::string lift = in_project ? " (a project's test files read inside its root; --allow-outside lifts this)"
                                      : " (test files read inside their own directory; --allow-outside lifts this)";
  if (fs::path(p).is_absolute()) return Error{ErrorCode::usage, "\"" + p + "\" is an absolute path" + lift, {}};
  std::error_code ec_root, ec_real;
  const fs::path boundary = in_project ? fs::path(rules.project_root) : dir;
  const fs::path root = fs::weakly_canonical(boundary.empty() ? fs::path(".") : boundary, ec_root);
  const fs::path real = fs::weakly_canonical(joined, ec_real);
  if (ec_root || ec_real)
    return Error{ErrorCode::io, "cannot resolve \"" + p + "\": " + (ec_root ? ec_root : ec_real).message(), {}};
  auto [r, ignored] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  (void)ignored;
  if (r != root.end())
    return Error{ErrorCode::usage,
                 "\"" + p + "\" leads outside " + (in_project ? "the project root" : "the test file's directory") + lift, {}};
  return joined.string();
}

Result<TestFile> load_test_file(const std::string& path, LoadRules& rules) {
  auto bytes = files::read_file(path, kMaxTestFileBytes, "test file");
  if (!bytes) return bytes.error();
  json doc = json::parse(*bytes, nullptr, false);
  if (doc.is_discarded()) {
    // Where nlohmann stopped: find it with invar's own reader for a located message.
    auto parsed = artifact::parse(*bytes, artifact::ReadLimits{});
    std::string where = path;
    if (parsed.problem && parsed.problem->line)
      where += ":" + std::to_string(parsed.problem->line) + ":" + std::to_string(parsed.problem->column);
    return Error{ErrorCode::usage,
                 where + ": not a JSON test file" + (parsed.problem ? " (" + parsed.problem->message + ")" : ""), {}};
  }
  auto fail = [&](const std::string& pointer, const std::string& message) {
    return located(path, *bytes, pointer, message);
  };
  auto unknown_keys = [&](const json& object, const std::string& pointer,
                          std::initializer_list<std::string_view> known) -> std::optional<Error> {
    for (const auto& [key, value] : object.items())
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return fail(pointer + "/" + key, "unknown key \"" + key + "\" (known: " + list + ")");
      }
    return std::nullopt;
  };
  if (!doc.is_object()) return fail("", "a test file is an object with \"contract\" and \"tests\"");
  if (auto e = unknown_keys(doc, "", {"$schema", "description", "contract", "tests"})) return *e;
  if (!doc.contains("contract") || !doc["contract"].is_string())
    return fail("", "\"contract\" (the contract's path, relative to the test file) is required");
  if (!doc.contains("tests") || !doc["tests"].is_array() || doc["tests"].empty())
    return fail("", "\"tests\" (a non-empty array of cases) is required");
  if (doc["tests"].size() > kMaxCases) return fail("/tests", "more than " + std::to_string(kMaxCases) + " cases");
  TestFile file;
  file.path = path;
  const fs::path dir = fs::path(path).parent_path();
  auto relative = [&](const std::string& pointer, const std::string& p) -> Result<std::string> {
    auto resolved = confined(dir, p, rules);
    if (!resolved) return fail(pointer, resolved.error().message);
    return resolved;
  };
  auto contract_path = relative("/contract", doc["contract"].get<std::string>());
  if (!contract_path) return contract_path.error();
  file.contract_path = *contract_path;
  std::set<std::string> names;
  for (size_t i = 0; i < doc["tests"].size(); ++i) {
    const json& c = doc["tests"][i];
    const std::string at = "/tests/" + std::to_string(i);
    if (!c.is_object()) return fail(at, "a case is an object");
    if (auto e = unknown_keys(c, at, {"name", "description", "artifact", "inline", "baseline", "baseline_inline", "now",
                                      "expect"}))
      return *e;
    Case t;
    if (!c.contains("name") || !c["name"].is_string() || c["name"].get<std::string>().empty())
      return fail(at, "\"name\" (a non-empty string) is required");
    t.name = c["name"];
    if (!names.insert(t.name).second) return fail(at + "/name", "another case has the name \"" + t.name + "\"");
    if (c.contains("artifact") == c.contains("inline"))
      return fail(at, "give exactly one of \"artifact\" (a file, relative to the test file) and \"inline\" (the JSON itself)");
    if (c.contains("artifact")) {
      if (!c["artifact"].is_string()) return fail(at + "/artifact", "a path (string)");
      if (c["artifact"] == files::kStdin) {
        // Standard input can be read once: a second reader would judge an empty artifact.
        if (rules.stdin_taken) return fail(at + "/artifact", "\"-\" (standard input) can be read by one case only");
        rules.stdin_taken = true;
        t.artifact_path = files::kStdin;
      } else {
        auto artifact = relative(at + "/artifact", c["artifact"]);
        if (!artifact) return artifact.error();
        t.artifact_path = *artifact;
        if (!fs::exists(t.artifact_path)) return fail(at + "/artifact", "no such file: " + t.artifact_path);
      }
    } else {
      t.inline_artifact = c["inline"].dump();
    }
    if (c.contains("baseline") && c.contains("baseline_inline"))
      return fail(at, "give at most one of \"baseline\" and \"baseline_inline\"");
    if (c.contains("baseline")) {
      if (!c["baseline"].is_string()) return fail(at + "/baseline", "a path (string)");
      auto baseline = relative(at + "/baseline", c["baseline"]);
      if (!baseline) return baseline.error();
      t.baseline_path = *baseline;
      if (!fs::exists(t.baseline_path)) return fail(at + "/baseline", "no such file: " + t.baseline_path);
    }
    if (c.contains("baseline_inline")) t.inline_baseline = c["baseline_inline"].dump();
    if (c.contains("now")) {
      auto now = c["now"].is_string() ? parse_time(c["now"].get<std::string>()) : std::nullopt;
      if (!now) return fail(at + "/now", "an RFC 3339 date-time such as \"2025-10-20T06:45:00Z\"");
      t.now = *now;
    }
    if (!c.contains("expect") || !c["expect"].is_object()) return fail(at, "\"expect\" (an object) is required");
    const json& x = c["expect"];
    if (auto e = unknown_keys(x, at + "/expect", {"verdict", "failing", "violations"})) return *e;
    if (!x.contains("verdict") || !x["verdict"].is_string() ||
        (x["verdict"] != "accept" && x["verdict"] != "reject"))
      return fail(at + "/expect", "\"verdict\": \"accept\" or \"reject\" is required");
    t.expect.verdict = x["verdict"] == "accept" ? Verdict::accept : Verdict::reject;
    if (x.contains("failing")) {
      if (!x["failing"].is_array()) return fail(at + "/expect/failing", "an array of invariant ids");
      std::set<std::string> ids;
      for (size_t k = 0; k < x["failing"].size(); ++k) {
        if (!x["failing"][k].is_string()) return fail(at + "/expect/failing/" + std::to_string(k), "an invariant id (string)");
        ids.insert(x["failing"][k].get<std::string>());
      }
      t.expect.failing = std::move(ids);
    }
    if (x.contains("violations")) {
      if (!x["violations"].is_object()) return fail(at + "/expect/violations", "an object: invariant id -> count");
      for (const auto& [id, n] : x["violations"].items()) {
        if (!n.is_number_unsigned()) return fail(at + "/expect/violations/" + id, "a count (a non-negative integer)");
        t.expect.violations[id] = n.get<uint64_t>();
      }
    }
    file.cases.push_back(std::move(t));
  }
  return file;
}

std::string join(const std::set<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  return "[" + out + "]";
}

// The invariants a report fails (error severity, not waived), and reading problems.
std::set<std::string> failing_of(const Report& report) {
  std::set<std::string> ids;
  for (const auto& r : report.invariants)
    if (r.outcome == Outcome::fail && r.severity == Severity::error) ids.insert(r.id);
  for (const auto& v : report.violations)
    if (v.family == "artifact") ids.insert(v.invariant);
  return ids;
}

uint64_t violations_of(const Report& report, const std::string& id) {
  for (const auto& r : report.invariants)
    if (r.id == id) return r.violations;
  return static_cast<uint64_t>(
      std::count_if(report.violations.begin(), report.violations.end(), [&](const Violation& v) { return v.invariant == id; }));
}

Result<FileResult> run_file(const TestFile& file, const Options& options, bool quiet) {
  auto contract = Contract::load_file(file.contract_path, options);
  if (!contract) return contract.error();
  print_load_warnings(*contract, quiet);
  FileResult out{file.path, contract->name(), {}};
  for (const auto& t : file.cases) {
    CaseResult r{t.name, false, {}, {}};
    CheckContext context;
    context.now = t.now;
    std::optional<Baseline> baseline;
    if (!t.baseline_path.empty() || t.inline_baseline) {
      auto b = t.inline_baseline ? Baseline::measure(*contract, *t.inline_baseline, "baseline")
                                 : Baseline::measure_file(*contract, t.baseline_path);
      if (!b) return Error{ErrorCode::usage, file.path + ": case \"" + t.name + "\": its baseline: " + b.error().to_string(), {}};
      baseline = std::move(b.value());
      context.baseline = &*baseline;
    }
    if (t.inline_artifact) {
      r.report = contract->check(*t.inline_artifact, context);
      r.report.artifact = "<inline>";
    } else {
      auto report = contract->check_file(t.artifact_path, context);
      if (!report) return Error{ErrorCode::usage, file.path + ": case \"" + t.name + "\": " + report.error().to_string(), {}};
      r.report = std::move(report.value());
    }
    if (r.report.verdict != t.expect.verdict)
      r.problems.push_back(fmt::format("expected verdict {}, got {}", to_string(t.expect.verdict), to_string(r.report.verdict)));
    std::set<std::string> failing = failing_of(r.report);
    if (t.expect.failing && *t.expect.failing != failing)
      r.problems.push_back("expected failing " + join(*t.expect.failing) + ", got " + join(failing));
    for (const auto& [id, n] : t.expect.violations)
      if (uint64_t got = violations_of(r.report, id); got != n)
        r.problems.push_back(fmt::format("expected {} violation(s) of {}, got {}", n, id, got));
    r.passed = r.problems.empty();
    out.cases.push_back(std::move(r));
  }
  return out;
}

// ---- Rendering: one function per format, in a table.

// quiet: the failed cases and the summary only.
std::string render_test_human(const std::vector<FileResult>& files, bool quiet) {
  using text::printable;
  std::string out;
  size_t passed = 0, failed = 0;
  for (const auto& f : files)
    for (const auto& c : f.cases) {
      c.passed ? ++passed : ++failed;
      if (quiet && c.passed) continue;
      // Names, ids, keys and paths come from test files and artifacts: escaped as check's report is.
      out += fmt::format("{} {}: {}\n", c.passed ? "PASS" : "FAIL", printable(f.path), printable(c.name));
      for (const auto& p : c.problems) out += "    " + printable(p) + "\n";
      if (!c.passed)
        for (const auto& v : c.report.violations)
          out += fmt::format("      {} at {} {}: {}\n", printable(v.invariant), printable(location_of(c.report, v)),
                             printable(v.pointer.empty() ? "/" : v.pointer), printable(v.message));
    }
  out += fmt::format("invar test: {} passed, {} failed ({} file{})\n", passed, failed, files.size(),
                     files.size() == 1 ? "" : "s");
  return out;
}

std::string render_test_json(const std::vector<FileResult>& files, bool) {
  json out = {{"version", 1}};
  size_t passed = 0, failed = 0;
  json list = json::array();
  for (const auto& f : files) {
    json cases = json::array();
    for (const auto& c : f.cases) {
      c.passed ? ++passed : ++failed;
      json failing = json::array();
      for (const auto& id : failing_of(c.report)) failing.push_back(id);
      cases.push_back({{"name", c.name},
                       {"passed", c.passed},
                       {"problems", c.problems},
                       {"verdict", to_string(c.report.verdict)},
                       {"failing", failing}});
    }
    list.push_back({{"file", f.path}, {"contract", f.contract}, {"cases", cases}});
  }
  out["passed"] = passed;
  out["failed"] = failed;
  out["files"] = list;
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string render_test_junit(const std::vector<FileResult>& files, bool) {
  using report::xml_escape;
  std::string suites;
  size_t tests = 0, failures = 0;
  for (const auto& f : files) {
    std::string body;
    size_t suite_failures = 0;
    for (const auto& c : f.cases) {
      body += fmt::format("    <testcase name=\"{}\" classname=\"{}\" file=\"{}\">\n", xml_escape(c.name),
                          xml_escape(f.contract), xml_escape(f.path));
      if (!c.passed) {
        ++suite_failures;
        std::string details;
        for (const auto& p : c.problems) details += p + "\n";
        body += fmt::format("      <failure message=\"{}\" type=\"expectation\">{}</failure>\n",
                            xml_escape(c.problems.front()), xml_escape(details));
      }
      body += "    </testcase>\n";
    }
    tests += f.cases.size();
    failures += suite_failures;
    suites += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">\n{}  </testsuite>\n",
                          xml_escape(f.path), f.cases.size(), suite_failures, body);
  }
  return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<testsuites name=\"invar test\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n{}</testsuites>\n",
                     tests, failures, suites);
}

struct TestFormat {
  const char* name;
  std::string (*render)(const std::vector<FileResult>&, bool quiet);
};
constexpr TestFormat kTestFormats[] = {
    {"human", render_test_human}, {"json", render_test_json}, {"junit", render_test_junit}};

struct TestArgs {
  std::vector<std::string> paths;
  std::string format = "human";
  bool allow_outside = false;
  bool quiet = false;
  std::string config;  // the project file (default: invar.json here or above, without paths)
  SchemaFlags schema;
};

// The test files named: files as given, directories searched for *.test.json (sorted).
Result<std::vector<std::string>> test_files(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && it->path().filename().string().ends_with(".test.json")) found.push_back(it->path().string());
      if (ec) return Error{ErrorCode::io, p + ": " + ec.message(), {}};
      std::sort(found.begin(), found.end());
      if (found.empty()) return Error{ErrorCode::usage, p + ": no *.test.json files in it", {}};
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out.push_back(p);
    } else {
      return Error{ErrorCode::usage, p + ": no such file or directory", {}};
    }
  }
  return out;
}

// The test files of a project file: those its "tests" globs match, else
// every *.test.json under its root, in path order.
Result<std::vector<std::string>> project_test_files(const project::Project& proj) {
  auto walked = project::walk(proj, "");
  if (!walked) return walked.error();
  std::vector<std::string> out;
  for (const auto& rel : *walked) {
    bool wanted = proj.tests.empty() ? rel.ends_with(".test.json")
                                     : std::any_of(proj.tests.begin(), proj.tests.end(),
                                                   [&](const auto& g) { return project::glob_match(g, rel); });
    if (wanted) out.push_back((fs::path(proj.root) / rel).lexically_normal().string());
  }
  if (out.empty())
    return Error{ErrorCode::usage,
                 proj.file + ": no test files (" + (proj.tests.empty() ? "no *.test.json under its root" : "\"tests\" matches none") + ")",
                 {}};
  return out;
}

// What a run tests: the paths given, or the project file's tests (with
// --config, or none given and an invar.json here or above).
struct TestPlan {
  std::vector<std::string> files;
  std::optional<project::Project> project;
};

Result<TestPlan> plan_tests(const TestArgs& args) {
  TestPlan plan;
  std::string file = args.config;
  if (file.empty() && args.paths.empty()) {
    file = project::find(".").value_or("");
    if (file.empty())
      return Error{ErrorCode::usage, "test needs test files or directories, or a project file invar.json (none here or above; docs/ci.md)", {}};
  }
  if (!file.empty()) {
    auto loaded = project::load(file);
    if (!loaded) return loaded.error();
    plan.project = std::move(loaded.value());
  }
  auto files = args.paths.empty() ? project_test_files(*plan.project) : test_files(args.paths);
  if (!files) return files.error();
  plan.files = std::move(files.value());
  return plan;
}

// The options a test file's contract loads with: those of the project's
// first entry for that contract (its "options"), else the command line's.
Options options_for(const TestFile& file, const std::optional<project::Project>& proj, const Options& base) {
  if (!proj) return base;
  std::error_code ec;
  const fs::path wanted = fs::weakly_canonical(file.contract_path, ec);
  for (const auto& entry : proj->entries) {
    if (entry.contract.empty()) continue;
    std::error_code entry_ec;
    if (!ec && fs::weakly_canonical(entry.contract, entry_ec) == wanted && !entry_ec)
      return project::entry_options(entry, base);
  }
  return base;
}

int run_test(const TestArgs& args) {
  // An error is stated in --format too (JSON "verdict": "error", a JUnit <error>).
  auto plan = plan_tests(args);
  if (!plan) {
    print_error(plan.error(), args.format);
    return kCannotJudge;
  }
  std::vector<FileResult> results;
  LoadRules rules{args.allow_outside, false, ""};
  if (plan->project) rules.project_root = plan->project->root.empty() ? "." : plan->project->root;
  Options options;
  apply_schema_flags(args.schema, options);
  for (const auto& path : plan->files) {
    auto file = load_test_file(path, rules);
    if (!file) {
      print_error(file.error(), args.format);
      return kCannotJudge;
    }
    auto result = run_file(*file, options_for(*file, plan->project, options), args.quiet);
    if (!result) {
      print_error(result.error(), args.format);
      return kCannotJudge;
    }
    results.push_back(std::move(result.value()));
  }
  for (const auto& f : kTestFormats)
    if (args.format == f.name) std::fputs(f.render(results, args.quiet).c_str(), stdout);
  for (const auto& f : results)
    for (const auto& c : f.cases)
      if (!c.passed) return kReject;
  return kAccept;
}

}  // namespace

std::function<int()> add_test(CLI::App& app) {
  auto args = std::make_shared<TestArgs>();
  auto* cmd = app.add_subcommand("test", "Run contract unit tests (*.test.json): what each contract must accept and reject");
  cmd->footer("Exit codes: 0 every case passed, 1 a case failed, 3 a test file, contract or artifact cannot be loaded\n");
  cmd->add_option("paths", args->paths,
                  "Test files, or directories searched for *.test.json; none: the project file's tests (its "
                  "\"tests\" globs, else every *.test.json under its root), each contract with its entry's options");
  cmd->add_option("--config", args->config, "The project file (default: invar.json here or above, when no paths are given)");
  add_quiet(cmd, args->quiet, "Human format: the failed cases and the summary only; no warnings");
  std::vector<std::string> names;
  for (const auto& f : kTestFormats) names.emplace_back(f.name);
  cmd->add_option("--format", args->format, "Output format: human (default), json or junit")->check(CLI::IsMember(names));
  cmd->add_flag("--allow-outside", args->allow_outside,
                "Let test files name contracts, artifacts and baselines outside their own directory (absolute paths, "
                "\"..\", symlinks leading out); refused by default");
  add_schema_flags(cmd, args->schema);
  return [args] { return run_test(*args); };
}

}  // namespace invar::cli
