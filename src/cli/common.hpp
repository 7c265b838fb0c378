// Shared by the CLI's commands: exit codes, errors, the clock flag.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "invar/gate.hpp"
#include "invar/invar.hpp"

namespace invar::cli {

// Exit codes (stable, docs/cli.md).
constexpr int kAccept = 0;
constexpr int kReject = 1;
constexpr int kPin = 2;
constexpr int kCannotJudge = 3;

extern const char* const kExitCodes;

// "invar: error: ..." on stderr; with a machine format (json, sarif, junit,
// tap, github) also that format's statement of the error on stdout (JSON:
// one document with "verdict": "error"). Nothing else may follow on stdout.
void print_error(const Error& e, const std::string& format);
// Only the stdout part of print_error (the message is on stderr already).
void print_error_stdout(const Error& e, const std::string& format);
// The value of --format on a command line ("" when none): for errors found
// before the options are parsed.
std::string format_in(int argc, const char* const* argv);

// Parses --now (RFC 3339, years 0001-9999); empty: the system clock. Error
// (bad usage) on a bad value.
Result<std::optional<Time>> parse_now(const std::string& now);

// Parses a duration flag such as "1h"; Error naming `flag` on a bad value.
Result<int64_t> parse_duration_ms(const std::string& value, const std::string& flag);

// Who is acting, for the journal: `by` when given, else the actor a CI
// system names (GITHUB_ACTOR, GITLAB_USER_LOGIN, BUILDKITE_BUILD_CREATOR_EMAIL,
// CIRCLE_USERNAME, BITBUCKET_STEP_TRIGGERER_UUID), else $USER or $LOGNAME,
// else the effective uid's login name; "" when none is known.
std::string who(const std::string& by = {});

// Whether human output is coloured: --color always|never, else NO_COLOR (set
// and not empty) turns it off, FORCE_COLOR (set, not empty, not 0) on, else
// when stdout is a terminal. Never for other formats. (--color is added with
// --format by add_report_format and add_plain_format.)
bool use_color(const std::string& format);

// How JSON Schemas load, on every command that loads a contract or schema:
// --resolve, --unknown-keywords, --allow-unknown-keywords, --regex-fallback,
// --default-dialect. A contract's own "unknown_keywords", "regex_fallback"
// and "schema_dialect" win: they are part of its digest.
struct SchemaFlags {
  std::vector<std::string> resolve;
  std::string unknown_keywords;  // "": the defaults
  bool allow_unknown_keywords = false;
  RegexFallback regex_fallback = RegexFallback::none;
  std::string default_dialect;
};
void add_schema_flags(CLI::App* cmd, SchemaFlags& flags);
// Sets `options` from the flags (checked by their validators).
void apply_schema_flags(const SchemaFlags& flags, Options& options);
// "invar: warning: ..." on stderr for each of the contract's load warnings
// (none when quiet).
void print_load_warnings(const Contract& contract, bool quiet);

// Where the state is, and how to reach it: --state DIR or etcd://..., and
// the options of each backend. One set for every command that takes --state.
struct StoreFlags {
  std::string state;
  bool trust_shared = false;
  std::string journal_rotate = "8MiB";
  std::string timeout = "5s";
  std::string cacert, cert, key, user;
  std::string max_artifact = "64MiB";
  uint64_t journal_keep = 0;     // 0: StoreOptions' default
  std::string journal_max_age;  // "": StoreOptions' default
  std::string orphan_grace;     // "": StoreOptions' default
  std::string blobs;
};
// `required`: --state must be given. `writer`: also the flags of writers (--journal-rotate).
void add_store_flags(CLI::App* cmd, StoreFlags& flags, bool required, bool writer);
// The password of --etcd-user comes from INVAR_ETCD_PASSWORD (never a flag: argv is public).
Result<StateStore> open_store(const StoreFlags& flags);

// How long a writer waits for another invar's lock on the same file (status --metrics).
constexpr int64_t kLockTimeoutMs = 30'000;

// Refuses (before anything is read or written) an output path of a command
// inside the state of `store` (its directory, or etcd's --blobs), or naming
// one of `reads`, the files the command reads (or writes by another option):
// files::check_output, the one check of every option that writes a file.
std::optional<Error> check_output(const std::string& path, const std::string& flag, const StoreFlags* store,
                                  const std::vector<std::string>& reads = {});

// --format with every report format of the registry (invar/report.hpp):
// its choices and help come from there; an unknown name lists them.
void add_report_format(CLI::App* cmd, std::string& format);
// -q/--quiet, on every command (docs/cli.md): what it leaves out of the
// human format is `help`; machine formats and errors are never quieter.
void add_quiet(CLI::App* cmd, bool& quiet, const std::string& help);
// --format human|json, for the commands whose output is not a report.
void add_plain_format(CLI::App* cmd, std::string& format);

// The loops that run until told to stop (watch, rollout --follow): SIGTERM
// and SIGINT set a flag they read; wait_or_stop() sleeps up to `ms` in 100 ms
// slices, so a stop is answered within 100 ms. Returns whether to stop.
void handle_stop_signals();
bool stop_requested();
bool wait_or_stop(int64_t ms);

// --regex-fallback none|pcre2 (Options::regex_fallback), for contracts
// without "regex_fallback".
void add_regex_fallback(CLI::App* cmd, RegexFallback& fallback);

// --threads: 0 means one per core.
unsigned threads_or_all(unsigned requested);
constexpr const char* kThreadsHelp =
    "Threads for one artifact of 1 MiB or more (invariants side by side, long arrays split); default 0: one per core";

// The signing flags of the commands that put an artifact in service (gate,
// init, rollout, veto; docs/signing.md): --signing-key (default: the file
// INVAR_SIGNING_KEY_FILE names), --attestation-window, and, where the
// command verifies the stored LKG (gate), --trusted-keys.
struct GateSigningFlags {
  std::string key;
  std::string trusted_keys;
  std::string window = "7d";
};
void add_gate_signing_flags(CLI::App* cmd, GateSigningFlags& flags, bool window, bool trusted);
// The key, the trusted keys and the window loaded into `options`; an Error
// when one cannot be read, or --trusted-keys comes without a signing key.
std::optional<Error> load_gate_signing(const GateSigningFlags& flags, GateOptions& options);

}  // namespace invar::cli
