#include "cli/common.hpp"

#include "invar/report.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "common/text.hpp"
#include "common/files.hpp"
#include "invar/gate.hpp"

namespace invar::cli {

const char* const kExitCodes =
    "Exit codes:\n"
    "  0  accept: every artifact satisfies its contract\n"
    "  1  reject: an artifact violates an error-severity invariant (gate: and there is no LKG)\n"
    "  2  pin: (invar gate) the candidate is rejected; the LKG was published instead; (invar status) a stream is\n"
    "     pinned, halted or frozen\n"
    "  3  cannot judge: bad contract or schema, bad usage, unreadable artifact or state; nothing published\n";

void print_error(const Error& e, const std::string& format) {
  // Errors quote paths, names and keys from files: escaped, so they cannot drive the terminal or a CI log.
  std::fprintf(stderr, "invar: error: %s\n", text::printable(e.to_string()).c_str());
  for (const auto& more : e.also) std::fprintf(stderr, "invar: error: %s\n", text::printable(more.to_string()).c_str());
  print_error_stdout(e, format);
}

void print_error_stdout(const Error& e, const std::string& format) {
  if (format == "json") {
    std::fputs(render_error_json(e).c_str(), stdout);
  } else if (const ReportFormat* f = find_report_format(format); f && format != "human") {
    std::fputs(render_reports(*f, {}, {e}).c_str(), stdout);  // SARIF, JUnit, TAP, GitHub state it too
  }
}

std::string format_in(int argc, const char* const* argv) {
  std::string format;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--format" && i + 1 < argc) format = argv[++i];
    else if (arg.starts_with("--format=")) format = arg.substr(9);
  }
  return format;
}

Result<std::optional<Time>> parse_now(const std::string& now) {
  using Now = std::optional<Time>;
  if (now.empty()) return Now();
  auto t = parse_time(now);
  if (!t)
    return Error{ErrorCode::usage,
                 "--now \"" + now + "\" is not an RFC 3339 date-time between 0001-01-01 and 9999-12-31", {}};
  return Now(*t);
}

Result<int64_t> parse_duration_ms(const std::string& value, const std::string& flag) {
  auto d = parse_duration(value);
  if (!d) return Error{ErrorCode::usage, flag + " \"" + value + "\" is not a duration such as \"30m\" or \"2h\"", {}};
  return static_cast<int64_t>(d->count());
}

std::string who(const std::string& by) {
  if (!by.empty()) return by;
  for (const char* name : {"GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR_EMAIL", "CIRCLE_USERNAME",
                           "BITBUCKET_STEP_TRIGGERER_UUID", "USER", "LOGNAME"})
    if (const char* value = std::getenv(name); value && *value) return value;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
  return "";
}

namespace {

std::string color_mode = "auto";  // --color: one command runs per process

void add_color_flag(CLI::App* cmd) {
  cmd->add_option("--color", color_mode,
                  "Human output in colour: auto (default: when stdout is a terminal, unless NO_COLOR is set and not "
                  "empty; FORCE_COLOR set, not empty and not 0, forces it), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

bool set_and_not_empty(const char* name) {
  const char* value = std::getenv(name);
  return value && *value;
}

}  // namespace

bool use_color(const std::string& format) {
  if (format != "human" || color_mode == "never") return false;
  if (color_mode == "always") return true;
  if (set_and_not_empty("NO_COLOR")) return false;  // no-color.org: set and not empty
  if (set_and_not_empty("FORCE_COLOR") && std::string_view(std::getenv("FORCE_COLOR")) != "0") return true;
  return isatty(STDOUT_FILENO);
}

void add_report_format(CLI::App* cmd, std::string& format) {
  add_color_flag(cmd);
  std::vector<std::string> names;
  std::string help = "Output format (default human):";
  for (const auto& f : report_formats()) {
    names.emplace_back(f.name);
    help += "\n  " + std::string(f.name) + ": " + std::string(f.help);
  }
  cmd->add_option("--format", format, help)->check(CLI::IsMember(names));
}

void add_plain_format(CLI::App* cmd, std::string& format) {
  add_color_flag(cmd);
  cmd->add_option("--format", format, "Output format: human (default) or json")->check(CLI::IsMember({"human", "json"}));
}

void add_store_flags(CLI::App* cmd, StoreFlags& f, bool required, bool writer) {
  auto* state = cmd->add_option("--state", f.state,
                                "State location: a directory (created by invar init) or etcd://HOST:PORT[,HOST:PORT...][/PREFIX]");
  if (required) state->required();
  cmd->add_flag("--trust-shared-state", f.trust_shared,
                "Use a state directory owned by another user or writable by group/others (refused by default)");
  cmd->add_option("--state-timeout", f.timeout, "etcd: the time each request may take per member (default 5s)");
  cmd->add_option("--etcd-cacert", f.cacert, "etcd over TLS: the CA certificate to trust");
  cmd->add_option("--etcd-cert", f.cert, "etcd over TLS: the client certificate");
  cmd->add_option("--etcd-key", f.key, "etcd over TLS: the client key");
  cmd->add_option("--etcd-user", f.user, "etcd authentication: the user (password from INVAR_ETCD_PASSWORD)");
  cmd->add_option("--blobs", f.blobs,
                  "etcd: a directory shared by the gates for artifacts over --etcd-max-artifact (content-addressed, "
                  "verified); readers need it too");
  cmd->add_option("--orphan-grace", f.orphan_grace,
                  "etcd: stored objects no record names are collected once older than this (default 10m)");
  if (writer) {
    cmd->add_option("--journal-rotate", f.journal_rotate,
                    "Directory: rotate the stream's journal before it passes this size (default 8MiB; 0: never; 4 kept)");
    cmd->add_option("--etcd-max-artifact", f.max_artifact, "etcd: the largest artifact stored (default 64MiB)");
    cmd->add_option("--journal-keep", f.journal_keep, "etcd: journal records kept per stream (default 10000)")
        ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
    cmd->add_option("--journal-max-age", f.journal_max_age,
                    "etcd: journal records older than this are deleted, except the newest 64 (default 90d)");
  }
}

Result<StateStore> open_store(const StoreFlags& f) {
  StoreOptions options;
  options.trust_shared = f.trust_shared;
  auto rotate = parse_bytes(f.journal_rotate);
  if (!rotate) return Error{ErrorCode::usage, "--journal-rotate \"" + f.journal_rotate + "\" is not a size such as \"8MiB\"", {}};
  options.journal_rotate_bytes = *rotate;
  auto timeout = parse_duration(f.timeout);
  if (!timeout || timeout->count() <= 0 || timeout->count() > 3'600'000)
    return Error{ErrorCode::usage, "--state-timeout \"" + f.timeout + "\" is not a duration between 1ms and 1h", {}};
  options.timeout_ms = timeout->count();
  auto max = parse_bytes(f.max_artifact);
  if (!max || *max == 0)
    return Error{ErrorCode::usage, "--etcd-max-artifact \"" + f.max_artifact + "\" is not a size such as \"64MiB\"", {}};
  options.max_artifact_bytes = *max;
  if (f.journal_keep) options.journal_keep_records = f.journal_keep;
  if (!f.journal_max_age.empty()) {
    auto age = parse_duration(f.journal_max_age);
    if (!age || age->count() <= 0)
      return Error{ErrorCode::usage, "--journal-max-age \"" + f.journal_max_age + "\" is not a duration such as \"30d\"", {}};
    options.journal_keep_ms = age->count();
  }
  if (!f.orphan_grace.empty()) {
    auto grace = parse_duration(f.orphan_grace);
    if (!grace) return Error{ErrorCode::usage, "--orphan-grace \"" + f.orphan_grace + "\" is not a duration such as \"10m\"", {}};
    options.orphan_grace_ms = grace->count();
  }
  options.blobs_dir = f.blobs;
  options.cacert = f.cacert;
  options.cert = f.cert;
  options.key = f.key;
  options.user = f.user;
  if (!f.user.empty()) {
    const char* password = std::getenv("INVAR_ETCD_PASSWORD");
    if (!password) return Error{ErrorCode::usage, "--etcd-user needs the password in INVAR_ETCD_PASSWORD", {}};
    options.password = password;
  }
  return StateStore::open(f.state, options);
}

std::optional<Error> check_output(const std::string& path, const std::string& flag, const StoreFlags* store,
                                  const std::vector<std::string>& reads) {
  std::vector<std::string> dirs;
  if (store && store->state.rfind("etcd://", 0) != 0) dirs.push_back(store->state);
  if (store) dirs.push_back(store->blobs);
  return files::check_output(path, flag, dirs, reads);
}

namespace {
volatile sig_atomic_t stop_signal = 0;
void on_stop(int) { stop_signal = 1; }
}  // namespace

void handle_stop_signals() {
  std::signal(SIGTERM, on_stop);
  std::signal(SIGINT, on_stop);
}

bool stop_requested() { return stop_signal != 0; }

bool wait_or_stop(int64_t ms) {
  for (int64_t waited = 0; waited < ms && !stop_requested(); waited += 100)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(100, ms - waited)));
  return stop_requested();
}

void add_regex_fallback(CLI::App* cmd, RegexFallback& fallback) {
  cmd->add_option_function<std::string>(
         "--regex-fallback",
         [&fallback](const std::string& v) { fallback = v == "pcre2" ? RegexFallback::pcre2 : RegexFallback::none; },
         "JSON Schema patterns no linear-time engine runs (ECMA-262 lookaround, backreferences): none (default: a load "
         "error) or pcre2 (run on PCRE2 under a match limit; an exceeded limit fails the check), for contracts "
         "without \"regex_fallback\"")
      ->check(CLI::IsMember({"none", "pcre2"}))
      ->option_text("none|pcre2");
}

unsigned threads_or_all(unsigned requested) {
  if (requested) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

void add_schema_flags(CLI::App* cmd, SchemaFlags& flags) {
  cmd->add_option("--resolve", flags.resolve,
                  "A local copy of a schema that a $ref names by URL (repeatable): a schema file, or a directory "
                  "walked for *.json, *.yaml and *.yml, indexed by each schema's \"$id\". Nothing is fetched")
      ->type_name("PATH")
      ->allow_extra_args(false);  // one value each time: a following artifact is not a path to resolve
  cmd->add_option("--unknown-keywords", flags.unknown_keywords,
                  "A JSON Schema keyword the draft does not define: error, warn or ignore, in every schema, for "
                  "contracts without \"unknown_keywords\" (default: error in your own schemas, warn in those from "
                  "--resolve; known annotations such as markdownDescription are never errors)")
      ->check(CLI::IsMember({"error", "warn", "ignore"}));
  cmd->add_flag("--allow-unknown-keywords", flags.allow_unknown_keywords, "Same as --unknown-keywords ignore");
  add_regex_fallback(cmd, flags.regex_fallback);
  cmd->add_option("--default-dialect", flags.default_dialect,
                  "JSON Schema dialect of schemas without \"$schema\" when the contract's \"schema_dialect\" does not "
                  "say: draft-04, draft-06, draft-07, 2019-09 or 2020-12 (default), or a dialect's metaschema URI");
}

void apply_schema_flags(const SchemaFlags& flags, Options& options) {
  options.resolve = flags.resolve;
  if (flags.unknown_keywords == "error") options.unknown_keywords = UnknownKeywords::error;
  if (flags.unknown_keywords == "warn") options.unknown_keywords = UnknownKeywords::warn;
  if (flags.unknown_keywords == "ignore") options.unknown_keywords = UnknownKeywords::ignore;
  options.allow_unknown_keywords = flags.allow_unknown_keywords;
  options.regex_fallback = flags.regex_fallback;
  options.default_dialect = flags.default_dialect;
}

void print_load_warnings(const Contract& contract, bool quiet) {
  if (quiet) return;
  for (const auto& w : contract.warnings()) std::fprintf(stderr, "invar: warning: %s\n", w.to_string().c_str());
}

void add_quiet(CLI::App* cmd, bool& quiet, const std::string& help) { cmd->add_flag("--quiet,-q", quiet, help); }

void add_gate_signing_flags(CLI::App* cmd, GateSigningFlags& flags, bool window, bool trusted) {
  cmd->add_option("--signing-key", flags.key,
                  "Sign the decisions that put an artifact in service with this private key (invar keygen); "
                  "default: the file INVAR_SIGNING_KEY_FILE names, if set (docs/signing.md)");
  if (window)
    cmd->add_option("--attestation-window", flags.window,
                    "How long a signed decision stays fresh (default 7d): followers refuse it after, so decide "
                    "(gate, even unchanged) at least this often");
  if (trusted)
    cmd->add_option("--trusted-keys", flags.trusted_keys,
                    "Keys whose signature on the stored LKG is trusted besides the signing key's own (a rotation)");
}

std::optional<Error> load_gate_signing(const GateSigningFlags& flags, GateOptions& options) {
  auto key = SigningKey::load_configured(flags.key);
  if (!key) return key.error();
  if (key.value()) options.signing_key = std::make_shared<const SigningKey>(std::move(*key.value()));
  if (!flags.trusted_keys.empty()) {
    if (!options.signing_key)
      return Error{ErrorCode::usage, "--trusted-keys verifies the stored LKG for a gate that signs: give --signing-key "
                                     "(or INVAR_SIGNING_KEY_FILE) too", {}};
    auto trusted = TrustedKeys::load_file(flags.trusted_keys);
    if (!trusted) return trusted.error();
    options.trusted_keys = std::make_shared<const TrustedKeys>(std::move(trusted.value()));
  }
  auto window = parse_duration_ms(flags.window, "--attestation-window");
  if (!window) return window.error();
  if (*window <= 0) return Error{ErrorCode::usage, "--attestation-window must be positive", {}};
  options.attestation_window_ms = *window;
  return std::nullopt;
}

}  // namespace invar::cli
