// invar check: stateless, contract (or schema) + artifacts [+ --baseline].
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/project.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "invar/report.hpp"

namespace invar::cli {

namespace {

struct CheckArgs {
  std::string contract;
  std::string schema;
  std::vector<std::string> artifacts;
  std::string baseline;
  std::string now;
  std::string format = "human";
  bool quiet = false;
  bool assert_format = false;
  SchemaFlags schema_flags;
  bool metaschema = false;
  bool stats = false;
  unsigned threads = 0;
  std::string stream_from;
  std::string max_artifact_bytes;
  uint64_t max_nodes = 0;
  std::string input_format;
  bool trial = false;
  unsigned trial_jobs = 2;
  std::string trial_budget = "10m";
  // --schema's YAML reading (a contract says its own in "artifact").
  bool yaml_merge_keys = false;
  std::string documents, yaml_keys, yaml_empty, yaml_tags;
  // Without --contract/--schema: the project file (docs/ci.md).
  std::string config;
  bool list_unmatched = false;
};

// Artifacts are memory-mapped (Options::map_files): a file truncated by
// another process while it is checked raises SIGBUS. Say so and exit 3
// (cannot judge) instead of dying of the signal.
constexpr const char* kShrank =
    "an artifact shrank while it was being checked (another process truncated it); cannot judge";
// What stdout says then, in --format, rendered beforehand: a handler can only write bytes.
std::string sigbus_stdout;

extern "C" void on_sigbus(int) {
  static const char prefix[] = "invar: error: ";
  ssize_t ignored = ::write(STDERR_FILENO, prefix, sizeof prefix - 1);
  ignored = ::write(STDERR_FILENO, kShrank, std::strlen(kShrank));
  ignored = ::write(STDERR_FILENO, "\n", 1);
  if (!sigbus_stdout.empty()) ignored = ::write(STDOUT_FILENO, sigbus_stdout.data(), sigbus_stdout.size());
  (void)ignored;
  ::_exit(kCannotJudge);
}

int check_artifacts(const CheckArgs& args, const Options& options, CheckContext& context, const ReportFormat& format,
                    const RenderOptions& render, std::vector<Report>& reports, std::vector<Error>& errors);
int check_project(const CheckArgs& args, const Options& options, CheckContext& context, const ReportFormat& format,
                  const RenderOptions& render, std::vector<Report>& reports, std::vector<Error>& errors);

// A usage error, stated in --format too (nothing was judged).
int usage_error(const std::string& message, const std::string& format) {
  print_error(Error{ErrorCode::usage, message, {}}, format);
  return kCannotJudge;
}

// The YAML reading options given (--yaml-*, --documents) into `reading`, for
// the artifacts read as YAML (a JSON one beside them reads as JSON); a usage
// error when none can be: with --contract, or --input-format json|ndjson.
std::optional<std::string> yaml_reading(const CheckArgs& args, YamlReading& reading) {
  const char* given = args.yaml_merge_keys      ? "--yaml-merge-keys"
                      : !args.documents.empty() ? "--documents"
                      : !args.yaml_keys.empty() ? "--yaml-keys"
                      : !args.yaml_empty.empty() ? "--yaml-empty"
                      : !args.yaml_tags.empty() ? "--yaml-tags"
                                                : nullptr;
  if (!given) return std::nullopt;
  if (!args.contract.empty())
    return std::string(given) + " applies with --schema: a contract says how it reads YAML in \"artifact\" "
                                "(\"documents\", \"yaml\")";
  const bool yaml_format = args.input_format == "yaml" || args.input_format == "yml";
  if (!args.input_format.empty() && !yaml_format)
    return std::string(given) + " applies to YAML artifacts, and --input-format " + args.input_format + " reads none";
  reading.merge_keys = args.yaml_merge_keys;
  reading.many_documents = args.documents == "many";
  reading.keys_as_text = args.yaml_keys == "text";
  reading.empty_as_null = args.yaml_empty == "null";
  reading.untagged = args.yaml_tags == "untagged";
  return std::nullopt;
}

int run_check(const CheckArgs& args) {
  if (std::count(args.artifacts.begin(), args.artifacts.end(), "-") > 1)
    return usage_error("\"-\" (standard input) can be given once", args.format);
  const bool with_project = args.contract.empty() && args.schema.empty();
  if (!args.contract.empty() && !args.schema.empty())
    return usage_error("check needs exactly one of --contract or --schema", args.format);
  if (!with_project && (!args.config.empty() || args.list_unmatched))
    return usage_error(std::string(args.list_unmatched ? "--list-unmatched" : "--config") +
                           " reads the project file, which --contract or --schema replaces",
                       args.format);
  if (with_project && !args.baseline.empty())
    return usage_error("--baseline needs --contract or --schema (one artifact's baseline)", args.format);
  if (args.metaschema && args.schema.empty())
    return usage_error("--metaschema needs --schema (it checks that schema against its dialect)", args.format);
  if (args.artifacts.empty() && !args.metaschema && !with_project)
    return usage_error("check needs at least one artifact (\"-\": standard input)", args.format);
  Options options;
  options.format_assertion = args.assert_format;
  apply_schema_flags(args.schema_flags, options);
  options.threads = threads_or_all(args.threads);
  options.map_files = true;
  if (auto wrong = yaml_reading(args, options.schema_reading)) return usage_error(*wrong, args.format);
  if (!args.stream_from.empty()) {
    auto bytes = text::parse_bytes(args.stream_from);
    if (!bytes)
      return usage_error("--stream-from must be a size such as \"16MiB\" or a number of bytes (0: never)", args.format);
    options.stream_min_bytes = *bytes;
  }
  if (!args.max_artifact_bytes.empty()) {
    auto bytes = text::parse_bytes(args.max_artifact_bytes);
    if (!bytes || *bytes == 0)
      return usage_error("--max-artifact-bytes must be a size such as \"4GiB\" or a number of bytes", args.format);
    options.limits.max_artifact_bytes = *bytes;
  }
  if (args.max_nodes) options.limits.max_nodes = args.max_nodes;
  std::signal(SIGBUS, on_sigbus);
  CheckContext context;
  auto now = parse_now(args.now);
  if (!now) {
    print_error(now.error(), args.format);
    return kCannotJudge;
  }
  context.now = *now;
  context.collect_stats = args.stats;
  if (!args.input_format.empty()) context.format = artifact_format_named(args.input_format);
  const ReportFormat& format = *find_report_format(args.format);  // checked by --format's validator
  const RenderOptions render{use_color(args.format), args.quiet};
  sigbus_stdout = render_reports(format, {}, {Error{ErrorCode::io, kShrank, {}}}, render);
  std::vector<Report> reports;
  std::vector<Error> errors;  // what could not be judged: stated once, with the reports, in every format
  int code = kAccept;
  // --metaschema: the schema itself first, against its dialect's metaschema;
  // an invalid schema judges no artifact.
  if (args.metaschema) {
    auto meta = Contract::metaschema_of(args.schema, options);
    if (!meta) {
      print_error(meta.error(), args.format);
      return kCannotJudge;
    }
    auto report = meta->check_file(args.schema, context);
    if (!report) {
      print_error(report.error(), args.format);
      return kCannotJudge;
    }
    if (report->verdict == Verdict::reject) code = kReject;
    if (format.streams) std::fputs(format.render({*report}, render).c_str(), stdout);
    reports.push_back(std::move(report.value()));
  }
  if (with_project) {
    if (args.list_unmatched) return check_project(args, options, context, format, render, reports, errors);
    code = check_project(args, options, context, format, render, reports, errors);
  } else if (code == kAccept && !args.artifacts.empty()) {
    int artifacts_code = check_artifacts(args, options, context, format, render, reports, errors);
    if (artifacts_code != kAccept) code = artifacts_code;
  }
  // A streaming format printed its reports already: what remains is the errors.
  if (!format.streams || !errors.empty())
    std::fputs(render_reports(format, format.streams ? std::vector<Report>{} : reports, errors, render).c_str(), stdout);
  return code;
}

// --trial, --trial-jobs and --trial-budget into `context`; a usage error for a bad budget.
std::optional<Error> trial_settings(const CheckArgs& args, CheckContext& context) {
  context.run_trials = args.trial;
  context.trial_jobs = args.trial_jobs;
  auto budget = text::parse_duration(args.trial_budget);
  if (!budget || budget->count() <= 0)
    return Error{ErrorCode::usage, "--trial-budget must be a duration such as \"10m\"", {}};
  context.trial_total_ms = budget->count();
  return std::nullopt;
}

// One artifact's report: printed at once when the format streams (with its
// --stats), kept for the end otherwise. The exit code so far, with it.
int keep_report(Report report, int code, const CheckArgs& args, const ReportFormat& format, const RenderOptions& render,
                std::vector<Report>& reports) {
  if (report.verdict == Verdict::reject && code == kAccept) code = kReject;
  if (format.streams) std::fputs(format.render({report}, render).c_str(), stdout);
  std::fflush(stdout);  // before the next artifact is mapped (see on_sigbus)
  if (args.stats) std::fputs(render_stats(report).c_str(), stderr);
  reports.push_back(std::move(report));
  return code;
}

int check_artifacts(const CheckArgs& args, const Options& options, CheckContext& context, const ReportFormat& format,
                    const RenderOptions& render, std::vector<Report>& reports, std::vector<Error>& errors) {
  auto cannot_judge = [&](const Error& e) {
    print_error(e, "human");  // stderr; stdout states it with the reports
    errors.push_back(e);
    return kCannotJudge;
  };
  auto contract = args.contract.empty() ? Contract::from_schema_file(args.schema, options)
                                        : Contract::load_file(args.contract, options);
  if (!contract) return cannot_judge(contract.error());
  print_load_warnings(*contract, args.quiet);
  std::optional<Baseline> baseline;
  if (!args.baseline.empty()) {
    auto measured = Baseline::measure_file(*contract, args.baseline);
    if (!measured) return cannot_judge(measured.error());
    baseline = std::move(measured.value());
    context.baseline = &*baseline;
  }
  std::string baseline_bytes;  // what a trial's "compare" runs the consumer on
  if (auto e = trial_settings(args, context)) return cannot_judge(*e);
  if (args.trial && !args.baseline.empty()) {
    auto bytes = files::read_file(args.baseline, options.limits.max_artifact_bytes, "baseline");
    if (!bytes) return cannot_judge(bytes.error());
    baseline_bytes = std::move(bytes.value());
    context.trial_baseline = baseline_bytes;
  }
  int code = kAccept;
  for (const auto& path : args.artifacts) {
    auto report = contract->check_file(path, context);
    if (!report) {
      code = cannot_judge(report.error());
      continue;
    }
    code = keep_report(std::move(report.value()), code, args, format, render, reports);
  }
  return code;
}

// Every file the project's entries cover (under the targets), each with its
// entry's contract or schema, compiled once per entry; --list-unmatched: the
// files of a known extension none covers.
int check_project(const CheckArgs& args, const Options& options, CheckContext& context, const ReportFormat& format,
                  const RenderOptions& render, std::vector<Report>& reports, std::vector<Error>& errors) {
  auto cannot_judge = [&](const Error& e) {
    print_error(e, "human");
    errors.push_back(e);
    return kCannotJudge;
  };
  std::string file = args.config;
  if (file.empty()) {
    auto found = project::find(".");
    if (!found)
      return cannot_judge(Error{ErrorCode::usage,
                                "check needs --contract or --schema, or a project file invar.json (none here or above, "
                                "up to the repository's root; docs/ci.md)",
                                {}});
    file = *found;
  }
  auto loaded = project::load(file);
  if (!loaded) return cannot_judge(loaded.error());
  const project::Project& proj = *loaded;
  auto selected = project::select(proj, args.artifacts);
  if (!selected) return cannot_judge(selected.error());
  if (args.list_unmatched) {
    // A file named on the command line that no entry covers is unmatched too.
    std::vector<std::string> unmatched = selected->unmatched;
    unmatched.insert(unmatched.end(), selected->uncovered.begin(), selected->uncovered.end());
    std::sort(unmatched.begin(), unmatched.end());
    for (const auto& path : unmatched) std::printf("%s\n", text::printable(path).c_str());
    return unmatched.empty() ? kAccept : kReject;
  }
  int code = kAccept;
  for (const auto& path : selected->uncovered)
    code = cannot_judge(Error{ErrorCode::usage, "no entry of " + proj.file + " covers " + text::quoted(path), {}});
  if (auto e = trial_settings(args, context)) return cannot_judge(*e);
  std::vector<std::optional<Result<Contract>>> compiled(proj.entries.size());
  for (const auto& job : selected->jobs) {
    const auto& entry = proj.entries[job.entry];
    auto& contract = compiled[job.entry];
    if (!contract) {
      Options entry_options = project::entry_options(entry, options);
      contract = entry.contract.empty() ? Contract::from_schema_file(entry.schema, entry_options)
                                        : Contract::load_file(entry.contract, entry_options);
      if (*contract) {
        print_load_warnings(contract->value(), args.quiet);
      } else {
        code = cannot_judge(project::entry_error(
            proj, entry.index, contract->error().code,
            std::string("this entry's ") + (entry.contract.empty() ? "schema" : "contract") +
                " does not load, its files are not judged: " + contract->error().to_string()));
      }
    }
    if (!*contract) continue;
    auto report = contract->value().check_file(job.path, context);
    if (!report) {
      code = cannot_judge(report.error());
      continue;
    }
    code = keep_report(std::move(report.value()), code, args, format, render, reports);
  }
  return code;
}

}  // namespace

std::function<int()> add_check(CLI::App& app) {
  auto args = std::make_shared<CheckArgs>();
  auto* cmd = app.add_subcommand("check", "Check artifacts against a contract (or a JSON Schema), statelessly");
  cmd->footer(kExitCodes);
  auto* contract_opt = cmd->add_option("--contract", args->contract,
                                       "Contract file (JSON, or YAML when named *.yaml or *.yml; see docs/contract-language.md)");
  auto* schema_opt = cmd->add_option("--schema", args->schema,
                                     "Check against this JSON Schema alone (draft-04, -06, -07, 2019-09 or 2020-12, as its "
                                     "\"$schema\" says; written in JSON, or YAML when named *.yaml or *.yml)");
  contract_opt->excludes(schema_opt);
  cmd->add_option("artifacts", args->artifacts,
                  "Artifact files to check (\"-\": standard input); without --contract or --schema, files and "
                  "directories under the project file's root (default: all of it)");
  cmd->add_option("--config", args->config,
                  "Without --contract or --schema: this project file, instead of the invar.json found in the working "
                  "directory or above it (up to the directory holding .git; docs/ci.md)");
  cmd->add_flag("--list-unmatched", args->list_unmatched,
                "Without --contract or --schema: print the files under the project's root (.json .yaml .yml .ndjson "
                ".jsonl) that no entry covers, one per line; exit 1 when there are any");
  cmd->add_option("--baseline", args->baseline,
                  "Compare delta-family invariants (delta, churn, monotonic, immutable) with this artifact");
  cmd->add_option("--now", args->now, "The clock for freshness invariants (RFC 3339); default: the system clock");
  cmd->add_flag("--trial", args->trial,
                "Run the contract's trial invariants (the consumer's own commands, in a sandbox; docs/trial.md): a "
                "contract that runs commands is code, allow it only for contracts you trust");
  cmd->add_option("--trial-jobs", args->trial_jobs, "--trial: trials run at once (default 2)")->check(CLI::Range(1u, 64u));
  cmd->add_option("--trial-budget", args->trial_budget,
                  "--trial: the total time of one artifact's trials (default 10m); a trial that cannot start "
                  "within it is a violation");
  add_report_format(cmd, args->format);
  add_quiet(cmd, args->quiet, "Human format: print only the summary line per artifact; no warnings");
  cmd->add_option("--threads", args->threads, kThreadsHelp)->check(CLI::Range(0u, 256u));
  cmd->add_option("--input-format", args->input_format,
                  "How to read the artifacts: json; ndjson (JSON Lines: one value per line, read as the array of "
                  "its records, \"$[*]\"); or yaml (YAML 1.2 in the JSON data model). Default: the contract's "
                  "artifact.format, else by extension (.ndjson/.jsonl: ndjson, .yaml/.yml: yaml), else json")
      ->check(CLI::IsMember({"json", "ndjson", "jsonl", "yaml", "yml"}));
  cmd->add_flag("--yaml-merge-keys", args->yaml_merge_keys,
                "With --schema, YAML artifacts: \"<<\" merges mappings, as YAML 1.1 parsers do (refused by default; "
                "a contract says \"yaml\": {\"merge_keys\": \"allow\"})");
  cmd->add_option("--documents", args->documents,
                  "With --schema: one YAML document per file (default), or many: the schema judges each document "
                  "of the stream, every artifact read as a YAML stream (a contract says \"documents\")")
      ->check(CLI::IsMember({"one", "many"}));
  cmd->add_option("--yaml-keys", args->yaml_keys,
                  "With --schema, YAML artifacts: a key that is a number, boolean or null (1:, true:, ~:) is refused "
                  "(default), or read as its text as written (a contract says \"yaml\": {\"keys\": \"text\"})")
      ->check(CLI::IsMember({"refuse", "text"}));
  cmd->add_option("--yaml-empty", args->yaml_empty,
                  "With --schema, YAML artifacts: a file of no document (comments, blanks) is refused (default), or "
                  "read as null (a contract says \"yaml\": {\"empty\": \"null\"})")
      ->check(CLI::IsMember({"refuse", "null"}));
  cmd->add_option("--yaml-tags", args->yaml_tags,
                  "With --schema, YAML artifacts: a tag outside the core schema (!Ref, !Sub, !!binary) is refused "
                  "(default), or dropped, the node read as if untagged (a contract says \"yaml\": {\"tags\": "
                  "\"untagged\"})")
      ->check(CLI::IsMember({"refuse", "untagged"}));
  cmd->add_option("--max-artifact-bytes", args->max_artifact_bytes,
                  "The largest artifact read (default 256MiB; a contract's artifact.limits.max_bytes may lower it, "
                  "and one above it is a load error until this option raises it). Raising it lets large NDJSON or "
                  "JSON files be read in batches; an artifact the batches do not "
                  "accept is judged again whole, in memory of about 5 times its size");
  cmd->add_option("--max-nodes", args->max_nodes,
                  "The most values an artifact may hold (default 50000000; a contract's artifact.limits.max_nodes "
                  "may lower it, and one above it is a load error until this option raises it)")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 40));
  cmd->add_option("--stream-from", args->stream_from,
                  "Read artifacts of at least this size in batches, in memory bounded by the batch, when the contract "
                  "allows (docs/performance.md); reports are the same either way. Default 16MiB; 0: never");
  cmd->add_flag("--stats", args->stats,
                "Print to stderr what each check cost: read, parse and per-invariant evaluation time, values, peak RSS");
  add_schema_flags(cmd, args->schema_flags);
  cmd->add_flag("--metaschema", args->metaschema,
                "With --schema: first validate the schema against its dialect's official metaschema (bundled); "
                "artifacts, if any, are checked only when it is valid");
  cmd->add_flag("--assert-format", args->assert_format,
                "Treat JSON Schema \"format\" as an assertion for date-time, ipv4, ipv6, hostname, uuid");
  return [args] { return run_check(*args); };
}

}  // namespace invar::cli
