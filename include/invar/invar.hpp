// invar: a gate for generated configuration artifacts.
//
// A contract (JSON or YAML, see docs/contract-language.md) is *compiled* once into an
// immutable plan; artifacts are then *checked* against it. Loading never throws
// on user input: it returns a Result holding either the compiled Contract or an
// Error with a code, a message and a location (file, JSON Pointer, line/column).
//
// ```cpp fragment
// auto contract = invar::Contract::load_file("rules/feature-file.contract.json");
// if (!contract) { std::cerr << contract.error().to_string(); return 3; }
// invar::Report report = contract->check(bytes);
// if (report.verdict != invar::Verdict::accept) { /* refuse it */ }
// ```
//
// Thread-safety: a Contract is immutable once loaded; check() may be called on
// the same Contract from any number of threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

// The public API has default visibility; everything else in libinvar is hidden.
#pragma GCC visibility push(default)

namespace invar {

// ---------------------------------------------------------------------------
// Errors: why a contract, schema or input could not be judged at all.

enum class ErrorCode {
  io,        // a file could not be read
  syntax,    // a contract or schema file is not valid JSON (or YAML, for a .yaml/.yml file)
  contract,  // the contract is well-formed JSON but not a valid contract
  schema,    // a JSON Schema could not be compiled
  selector,  // a JSONPath selector is outside the supported subset
  regex,     // a pattern does not compile under RE2 within its budget
  limit,     // a named resource limit was exceeded while loading
  usage,     // the caller passed something meaningless (bad option value)
  state,     // a state file is corrupted, truncated or of another version
  conflict,  // the stream's LKG changed under a decision more times than a gate re-judges (fenced)
  signature, // an attestation does not verify (invar/sign.hpp): the message names the check that failed
};

std::string_view to_string(ErrorCode code);

struct Location {
  std::string file;     // the file the error is in; empty for in-memory input
  std::string pointer;  // JSON Pointer into that file's document ("" = root)
  uint64_t line = 0;    // 1-based, 0 when unknown (set for syntax errors)
  uint64_t column = 0;  // 1-based byte column, 0 when unknown
};

struct Error {
  ErrorCode code = ErrorCode::contract;
  std::string message;
  Location where;
  // Further errors found in the same input (a contract's load reports every
  // invalid invariant and key at once, up to kMaxLoadErrors), in order.
  std::vector<Error> also = {};

  // "file:line:col: pointer: message" with the parts that are known.
  std::string to_string() const;
};

// Something loading noticed that does not stop it (an unknown keyword in a
// third-party schema): Contract::warnings().
struct LoadWarning {
  std::string kind;  // "unknown-keyword", "resolve-skipped"
  std::string message;
  Location where;
  // "file:line:col: pointer: message" with the parts that are known.
  std::string to_string() const;
};

// An expected-like holder: a value or an Error, never both. Accessing the
// wrong alternative is a programming error (it aborts via std::get).
template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Error& error() const { return std::get<1>(state_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Error> state_;
};

enum class Severity { error, warn };

// ---------------------------------------------------------------------------
// Options and resource budgets. Every limit is named; exceeding one while
// checking an artifact is a `limit` violation naming it, never a crash.
// A contract's "artifact.limits" may lower (never raise) the artifact limits.
//
//   limit                    default     what it bounds
//   max_artifact_bytes       256 MiB     artifact size, checked before reading
//   max_depth                128         nesting of arrays/objects in an artifact
//   max_nodes                50,000,000  values in an artifact (scalars, arrays, objects)
//   max_string_bytes         16 MiB      one string or object key in an artifact
//   max_selector_matches     10,000,000  nodes one selector may select for an invariant
//   max_contract_bytes       4 MiB       contract and schema file size
//   max_schema_depth         256         nested schema evaluation (incl. $ref)
//   max_eval_steps           50,000,000  schema keyword evaluations per artifact
//   regex_max_mem            8 MiB       RE2 memory budget per pattern
//   max_regex_program_size   20,000      RE2 program size for regex_safe values
//   max_report_violations    1,000       violations kept per invariant
//   max_invariant_bytes      128 MiB     memory all invariants of one check may hold for their
//                                        own state (unique's keys, refs' index, count's
//                                        explanation), shared by its threads
//   max_resolve_files        10,000      schema files read for Options::resolve (each at most
//                                        max_contract_bytes)
//   max_resolve_bytes        256 MiB     their bytes, all together
struct Limits {
  uint64_t max_artifact_bytes = 256ull << 20;
  uint32_t max_depth = 128;
  uint64_t max_nodes = 50'000'000;
  uint64_t max_string_bytes = 16ull << 20;
  uint64_t max_selector_matches = 10'000'000;
  uint64_t max_contract_bytes = 4ull << 20;
  uint32_t max_schema_depth = 256;
  uint64_t max_eval_steps = 50'000'000;
  int64_t regex_max_mem = 8 << 20;
  int max_regex_program_size = 20'000;
  uint32_t max_report_violations = 1'000;
  uint64_t max_invariant_bytes = 128ull << 20;
  uint64_t max_resolve_files = 10'000;
  uint64_t max_resolve_bytes = 256ull << 20;
};

// What a JSON Schema keyword its draft does not define is.
enum class UnknownKeywords {
  error,   // a load error (a typo such as "requried" would accept what the schema meant to refuse)
  warn,    // ignored, as the specification says, with a warning (Contract::warnings())
  ignore,  // ignored
};

// A point in time: milliseconds since the Unix epoch, within the years
// 0001-9999 (what RFC 3339 writes). Every clock invar is given (--now,
// CheckContext::now, SubmitOptions::now, the C ABI's now_ms) is a Time, so
// none can wrap: std::chrono::system_clock counts nanoseconds in 64 bits and
// ends in 2262.
class Time {
 public:
  static constexpr int64_t kMinMs = -62'135'596'800'000;  // 0001-01-01T00:00:00Z
  static constexpr int64_t kMaxMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z

  // nullopt outside [kMinMs, kMaxMs].
  static std::optional<Time> from_ms(int64_t ms);
  // An RFC 3339 date-time; nullopt when malformed.
  static std::optional<Time> parse(std::string_view rfc3339);
  static Time now();
  // Every system_clock time point is within range (libstdc++: 1677-2262).
  Time(std::chrono::system_clock::time_point t);  // NOLINT: implicit on purpose

  int64_t ms() const { return ms_; }
  friend bool operator==(Time a, Time b) { return a.ms_ == b.ms_; }

 private:
  explicit Time(int64_t ms) : ms_(ms) {}
  int64_t ms_ = 0;
};

// How YAML artifacts are read, as a contract's "artifact" says it
// (docs/contract-language.md, "YAML artifacts"); each default is the strict one.
struct YamlReading {
  bool many_documents = false;   // "documents": "many": "$" is the array of the stream's documents
  bool merge_keys = false;       // "yaml": {"merge_keys": "allow"}: "<<" merges mappings
  bool consumer_yaml11 = false;  // "yaml": {"consumer": "yaml1.1"}: scalars a YAML 1.1 parser reads otherwise are violations
  bool allow_infinity = false;   // "yaml": {"infinity": "allow"}: .inf and -.inf are infinite numbers
  bool keys_as_text = false;     // "yaml": {"keys": "text"}: a key that is a number, boolean or null is its text
  bool empty_as_null = false;    // "yaml": {"empty": "null"}: a file of no document is null
  bool untagged = false;         // "yaml": {"tags": "untagged"}: a tag outside the core schema is dropped
};

// Where JSON Schema patterns RE2 cannot run go (Options::regex_fallback).
enum class RegexFallback { none, pcre2 };

// Options of a contract, fixed when it is loaded.
//
//   option            default        meaning
//   limits            (see Limits)   resource budgets
//   format_assertion  false          JSON Schema "format": an annotation (false) or an
//                                    assertion for date-time, date, time, duration, email,
//                                    idn-email, hostname, idn-hostname, ipv4, ipv6, uri,
//                                    uri-reference, iri, iri-reference, uri-template,
//                                    json-pointer, relative-json-pointer, uuid, regex (any dialect)
//   unknown_keywords  unset          a JSON Schema keyword its draft does not define, in every
//                                    schema, for contracts without "unknown_keywords" (theirs
//                                    wins); unset: an error in the contract's own schemas and a
//                                    warning in those from `resolve`. Known annotation vocabularies (editors'
//                                    markdownDescription..., tsType, nullable, example, "x-*", a
//                                    later draft's deprecated/examples) are never errors
//   allow_unknown_keywords false     true: unknown_keywords = ignore (the older spelling)
//   resolve           {}             schema files, or directories walked for *.json, *.yaml and
//                                    *.yml, indexed by their "$id" (draft-04: "id"): local copies
//                                    that a $ref to a URL finds (after the contract's "resolve").
//                                    Nothing is ever fetched over the network
//   default_dialect   "" (2020-12)   JSON Schema dialect of a schema without "$schema", unless the
//                                    contract's "schema_dialect" says: draft-04, draft-06, draft-07,
//                                    2019-09 or 2020-12 (an unknown name is a load error)
//   regex_fallback    none           a JSON Schema pattern that no linear-time engine runs (ECMA-262
//                                    lookaround, backreferences) is a load error; pcre2: it runs on
//                                    PCRE2 under a match limit (docs/limits.md), an exceeded limit
//                                    failing the check. The contract's "regex_fallback" wins
//   clock             system clock   "now" for freshness and the gate, when a call gives none
//   severity          {}             invariant id -> severity, overriding the contract's
//                                    (an unknown id is a load error)
//   threads           1              threads one check of an artifact of kParallelMinBytes
//                                    or more may use (at most 64): invariants run side by side,
//                                    and a schema splits a long array's items; 1: the caller's only
//   reuse_parsers     true           the contract keeps the parsers of its last two checks for the
//                                    next: a later check of a similar size (up to an eighth larger)
//                                    takes no page faults for them, at the cost of keeping about
//                                    3.5x that artifact's size allocated between checks
//   map_files         false          check_file() memory-maps the artifact instead of reading
//                                    it (no copy; 40 ms less on 80 MB). A file truncated by
//                                    another process while it is checked then raises SIGBUS,
//                                    which the process must handle (the CLI reports it, exit 3)
//   stream_min_bytes  16 MiB         check_file() reads an artifact of at least this size in
//                                    batches when the contract allows (docs/performance.md:
//                                    every invariant judged element by element over one array
//                                    member of the root, no baseline): memory bounded by the
//                                    batch, not the file. Anything not proven to pass is
//                                    judged again on the whole document, so reports are the
//                                    same either way. 0: never. NDJSON: from 1 MiB (or this,
//                                    if smaller): its records need no skeleton
//   stream_batch_bytes 1 MiB         the elements parsed at once in that mode
//   schema_reading    {} (strict)    how a contract from from_schema_file() reads YAML artifacts
//                                    (YamlReading: what a contract says in "artifact": "documents"
//                                    and "yaml"; a loaded contract says its own and ignores this)
struct Options {
  Limits limits;
  bool format_assertion = false;
  std::optional<UnknownKeywords> unknown_keywords;
  bool allow_unknown_keywords = false;
  std::vector<std::string> resolve;
  std::string default_dialect;
  RegexFallback regex_fallback = RegexFallback::none;
  std::function<Time()> clock;
  std::map<std::string, Severity, std::less<>> severity;
  unsigned threads = 1;
  bool reuse_parsers = true;
  bool map_files = false;
  uint64_t stream_min_bytes = 16ull << 20;
  uint64_t stream_batch_bytes = 1ull << 20;
  YamlReading schema_reading;
};

// Smaller artifacts are checked on the calling thread whatever Options::threads
// says: starting a thread costs more than such a check gains.
inline constexpr uint64_t kParallelMinBytes = 1 << 20;

// ---------------------------------------------------------------------------
// Reports.

enum class Verdict { accept, reject };
enum class Outcome { pass, fail, skipped, waived };

std::string_view to_string(Verdict v);
std::string_view to_string(Severity s);
std::string_view to_string(Outcome o);

struct Violation {
  std::string invariant;  // invariant id ("artifact.parse" etc. for reading)
  std::string kind;       // "count", "schema", "artifact", ...
  std::string family;     // "schema", "cardinality", "freshness", "artifact"
  Severity severity = Severity::error;
  std::string message;    // one line: what is wrong
  std::string pointer;    // JSON Pointer of the offending node in the artifact
  // Where that node (or the reading problem) is in the artifact's text:
  // 1-based line, column in characters; 0 when unknown or not in the text.
  // Computed only for violations, by a second pass over the bytes.
  uint64_t line = 0;
  uint64_t column = 0;
  std::string expected;
  std::string actual;
  std::string baseline;         // delta family: the baseline's (LKG's) value
  std::string why;              // the contract's "why", if any
  std::string schema_location;  // for schema violations: keyword location
  std::vector<std::string> explain;  // extra lines: what grew, what repeats
};

struct InvariantResult {
  std::string id;
  std::string kind;
  Severity severity = Severity::error;
  Outcome outcome = Outcome::pass;
  uint64_t violations = 0;  // total, even past max_report_violations
  std::string note;         // why it was skipped or waived
};

// What a check cost (CheckContext::collect_stats): times in milliseconds.
struct Stats {
  double read_ms = 0;      // reading the file (check_file only)
  double parse_ms = 0;     // parsing
  double scan_ms = 0;      // the strict-reading scan (duplicate keys, limits), alongside evaluation
  double evaluate_ms = 0;  // evaluation (and the scan), wall time
  unsigned threads = 1;    // threads evaluation could use (Options::threads, 1 under kParallelMinBytes)
  uint64_t bytes = 0;
  uint64_t values = 0;  // values in the artifact
  uint64_t batches = 0; // check_file read it in this many batches (Options::stream_min_bytes); 0: whole
  struct Invariant {
    std::string id;
    std::string kind;
    double ms = 0;
  };
  std::vector<Invariant> invariants;  // evaluation time per invariant (each on its thread), contract order
  uint64_t peak_rss_kb = 0;           // the process's peak resident set after the check
};

struct Report {
  std::string contract;  // the contract's name
  std::string artifact;  // a label for the artifact (its path for the CLI)
  Verdict verdict = Verdict::accept;
  std::vector<InvariantResult> invariants;
  std::vector<Violation> violations;  // errors and warnings, in contract order
  std::optional<Stats> stats;         // with CheckContext::collect_stats
};

// ---------------------------------------------------------------------------
// Contracts.

class Plan;      // the compiled, immutable form (src/engine)
class Contract;
struct BaselineData;
struct ContractAccess;  // the engine's view of a Contract (src/engine)

// What the delta-family invariants (delta, churn, monotonic, immutable) of a
// contract measure of a baseline artifact, such as the last-known-good.
class Baseline {
 public:
  // Reads `bytes` under `contract`'s limits and measures them. An Error when
  // they cannot be read (a baseline must itself be a readable artifact).
  // When the contract has a `churn` invariant the Baseline keeps a copy of
  // `bytes`, to name the keys a violation says were removed.
  static Result<Baseline> measure(const Contract& contract, std::string_view bytes, const std::string& label = {});
  // The same for the file at `path` (refused over the contract's max_bytes);
  // the file is not kept: it is read again to name removed churn keys, and
  // only while its SHA-256 is unchanged (else the keys are counted, not named).
  static Result<Baseline> measure_file(const Contract& contract, const std::string& path);

 private:
  friend class Contract;
  friend struct ContractAccess;
  explicit Baseline(std::shared_ptr<const BaselineData> data) : data_(std::move(data)) {}
  std::shared_ptr<const BaselineData> data_;
};

// How an artifact's bytes are read. json: one JSON document. ndjson: JSON
// Lines, one value per line, read as the array of its records ("$[*]").
// yaml: YAML 1.2 in the JSON data model (docs/contract-language.md, "Formats").
enum class ArtifactFormat { json, ndjson, yaml };
std::string_view to_string(ArtifactFormat f);
// "json", "ndjson" (also "jsonl"), "yaml" (also "yml"); nullopt otherwise.
std::optional<ArtifactFormat> artifact_format_named(std::string_view name);

struct CheckContext {
  // The clock for freshness; Options::clock, else the system clock, when unset.
  std::optional<Time> now;
  // The baseline for the delta family. Without one, those invariants are
  // `skipped` (or fail when they say require_baseline: true).
  const Baseline* baseline = nullptr;
  // Measure what the check costs into Report::stats (a clock read per invariant).
  bool collect_stats = false;
  // How to read the artifact. When unset: the contract's artifact.format, else
  // (check_file) by the file's extension (.ndjson, .jsonl: ndjson; .yaml,
  // .yml: yaml), else json.
  std::optional<ArtifactFormat> format;
  // Run the contract's `trial` invariants (the consumer's own commands, in a
  // sandbox: docs/trial.md) when the others accept; off, they are skipped.
  // A contract that runs commands is code: allow it only for contracts you trust.
  bool run_trials = false;
  // What a trial compares the candidate's cost with ({baseline}), and {stream}.
  std::optional<std::string_view> trial_baseline;
  std::string trial_stream;
  unsigned trial_jobs = 2;               // trials run at once
  int64_t trial_total_ms = 600'000;      // all of one candidate's trials (then: not run, a violation)
};

class Contract {
 public:
  // Loads and compiles the contract at `path`: JSON, or YAML when it ends in
  // .yaml or .yml (read strictly, docs/contract-language.md). Relative schema
  // paths in it are resolved against the contract's directory. Never throws
  // on bad input.
  static Result<Contract> load_file(const std::string& path, const Options& options = {});

  // Same, from text; `base_dir` resolves relative schema paths and `label`
  // names the contract in errors (a label ending in .yaml or .yml: YAML text).
  static Result<Contract> load_string(std::string_view text, const std::string& base_dir,
                                      const std::string& label, const Options& options = {});

  // A contract holding only one `schema` invariant on "$", for plain JSON
  // Schema validation (draft-04 to 2020-12, as "$schema" or
  // Options::default_dialect says). The schema file is JSON, or YAML when it
  // ends in .yaml or .yml; YAML artifacts are read as Options::schema_reading says.
  static Result<Contract> from_schema_file(const std::string& path, const Options& options = {});

  // A contract that checks a schema document against its dialect's official
  // metaschema (bundled: no network). The dialect is that of the file's
  // "$schema" (one of the official URIs), else Options::default_dialect.
  static Result<Contract> metaschema_of(const std::string& schema_path, const Options& options = {});

  // Checks artifact bytes. Never throws on bad input: unreadable bytes are a
  // reject with an "artifact.*" violation. Thread-safe.
  Report check(std::string_view bytes, const CheckContext& context = {}) const;

  // Reads `path` (refusing it before reading when over max_artifact_bytes)
  // and checks it. An unreadable file yields an Error (the gate cannot judge).
  Result<Report> check_file(const std::string& path, const CheckContext& context = {}) const;

  const std::string& name() const;
  // "sha256:..." of the contract's text.
  const std::string& digest() const;
  // What loading noticed that does not stop it (unknown keywords under
  // UnknownKeywords::warn), in order, bounded.
  const std::vector<LoadWarning>& warnings() const;

 private:
  friend class Baseline;
  friend struct ContractAccess;
  explicit Contract(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
  std::shared_ptr<const Plan> plan_;
};

// invar's version ("0.1.0"), and that with the libraries it was built with
// (simdjson, RE2, fmt), as `invar --version` prints it.
std::string_view version();
std::string build_info();

// The candidate closest to `word` by edit distance when it is close enough
// to be a typo of it, else "": for "did you mean" in messages.
std::string closest_word(std::string_view word, const std::vector<std::string_view>& candidates);

// ---------------------------------------------------------------------------
// Rendering (src/report).

struct RenderOptions {
  bool color = false;  // ANSI colour for the human format
  bool quiet = false;  // human format: summary line only
  // The report of a gate's candidate: its summary line is headed "candidate"
  // instead of a verdict (the decision line that follows is the verdict).
  bool candidate = false;
};

std::string render_human(const Report& report, const RenderOptions& options = {});
// Report::stats as lines for people ("" when there are none).
std::string render_stats(const Report& report);

// ---------------------------------------------------------------------------
// Parsing of the values the contract language uses, for callers' flags.

// RFC 3339 date-time ("2025-11-18T11:20:00Z", offsets, fractional seconds).
std::optional<Time> parse_time(std::string_view text);
// "250ms", "30s", "10m", "2h", "7d", and sums such as "1h30m".
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// "16MiB", "512KiB", "1GiB", "100kB", "42B" or a bare number of bytes.
std::optional<uint64_t> parse_bytes(std::string_view text);
// One JSON object per report, following schemas/report.schema.json.
std::string render_json(const std::vector<Report>& reports);

}  // namespace invar

#pragma GCC visibility pop
