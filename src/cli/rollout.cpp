// The rollout commands (docs/rollout.md): rollout (one step, or --follow),
// veto, resume, freeze, thaw. Only the public API: parse flags, call,
// print, map exit codes.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "invar/gate.hpp"
#include "invar/rollout.hpp"

namespace invar::cli {

namespace {

struct RolloutArgs {
  StoreFlags store;
  std::string stream;
  std::string now;
  std::string format = "human";
  bool quiet = false;
  std::string by, reason;
  // rollout
  bool follow = false;
  std::string interval = "10s";
  uint64_t steps = 0;  // --follow: stop after this many steps (0: until a signal)
  std::string set;     // a rollout file: set or change the stages
  bool dry_run = false;
  bool allow_exec = false;
  // veto
  std::string digest;
  // freeze, thaw
  bool all = false;
  std::string expires;
  // rollout, veto: a revert that changes the LKG is signed
  GateSigningFlags signing;
  bool signs = false;  // the command has the signing flags
};

constexpr const char* kByHelp =
    "Who is acting (journaled); default: the CI system's actor (GITHUB_ACTOR, ...), else $USER";

int fail(const Error& e, const std::string& format) {
  print_error(e, format);
  return kCannotJudge;
}

// Prints the report (-q: what it changed, one line each); 1 when it
// reverted something, else 0.
int print_report(const RolloutReport& r, const RolloutArgs& args, int64_t now_ms) {
  if (args.format == "json") {
    std::fputs(render_rollout_json(r, now_ms).c_str(), stdout);
  } else if (args.quiet) {
    for (const auto& a : r.actions) std::printf("%s: %s\n", r.stream.empty() ? "every stream" : r.stream.c_str(), a.c_str());
  } else {
    std::fputs(render_rollout_human(r, now_ms).c_str(), stdout);
  }
  std::fflush(stdout);
  for (const auto& a : r.actions)
    if (a.rfind("reverted", 0) == 0) return kReject;
  return kAccept;
}

struct Prepared {
  std::optional<Rollout> rollout;
  Rollout::Options options;
};

std::optional<Prepared> prepare(const RolloutArgs& args, bool needs_reason) {
  auto now = parse_now(args.now);
  if (!now) {
    fail(now.error(), args.format);
    return std::nullopt;
  }
  Prepared p;
  p.options.now = *now;
  p.options.by = who(args.by);
  if (!needs_reason && args.by.empty()) p.options.by = "rollout";  // a step: the controller decides, journaled as such
  p.options.reason = args.reason;
  p.options.dry_run = args.dry_run;
  p.options.allow_exec = args.allow_exec;
  GateOptions signing;
  if (auto e = args.signs ? load_gate_signing(args.signing, signing) : std::nullopt) {
    fail(*e, args.format);
    return std::nullopt;
  }
  p.options.signing_key = signing.signing_key;
  p.options.trusted_keys = signing.trusted_keys;
  p.options.attestation_window_ms = signing.attestation_window_ms;
  if (needs_reason && args.reason.empty()) {
    fail(Error{ErrorCode::usage, "--reason is required: it is journaled", {}}, args.format);
    return std::nullopt;
  }
  auto store = open_store(args.store);
  if (!store) {
    fail(store.error(), args.format);
    return std::nullopt;
  }
  p.rollout.emplace(std::move(store.value()));
  return p;
}

int run_rollout(const RolloutArgs& args) {
  auto p = prepare(args, !args.set.empty());
  if (!p) return kCannotJudge;
  if (!args.set.empty()) {
    auto policy = load_rollout(args.set);
    if (!policy) return fail(policy.error(), args.format);
    auto r = p->rollout->set(args.stream, *policy, p->options);
    if (!r) return fail(r.error(), args.format);
    return print_report(*r, args, p->options.now.value_or(Time::now()).ms());
  }
  auto interval = parse_duration_ms(args.interval, "--interval");
  if (!interval || *interval <= 0)
    return fail(interval ? Error{ErrorCode::usage, "--interval must be positive", {}} : interval.error(), args.format);
  if (args.follow && !args.now.empty())
    return fail(Error{ErrorCode::usage, "--follow runs on the system clock: give --now only to one step", {}},
                args.format);
  handle_stop_signals();
  int code = kAccept;
  bool last_failed = false;  // a run whose last step failed ends with 3: nothing says the stream is fine
  for (uint64_t step = 1; !stop_requested(); ++step) {
    Rollout::Options options = p->options;
    if (!options.now) options.now = Time::now();  // one clock per step: the report's and the decision's
    int64_t now_ms = options.now->ms();
    auto r = p->rollout->step(args.stream, options);
    if (!r && !args.follow) return fail(r.error(), args.format);
    last_failed = !r;
    if (!r) std::fprintf(stderr, "invar rollout: %s (retrying)\n", r.error().to_string().c_str());
    else code = std::max(code, print_report(*r, args, now_ms));
    if (!args.follow || (args.steps && step >= args.steps) || wait_or_stop(*interval)) break;
  }
  return last_failed ? kCannotJudge : code;
}

int run_veto(const RolloutArgs& args) {
  auto p = prepare(args, true);
  if (!p) return kCannotJudge;
  auto r = p->rollout->veto(args.stream, args.digest, p->options);
  if (!r) return fail(r.error(), args.format);
  print_report(*r, args, p->options.now.value_or(Time::now()).ms());
  return kAccept;
}

int run_resume(const RolloutArgs& args) {
  auto p = prepare(args, true);
  if (!p) return kCannotJudge;
  auto r = p->rollout->resume(args.stream, p->options);
  if (!r) return fail(r.error(), args.format);
  return print_report(*r, args, p->options.now.value_or(Time::now()).ms());
}

// --stream N or --all, exactly one.
std::optional<Error> one_scope(const RolloutArgs& args) {
  if (args.all == args.stream.empty()) return std::nullopt;
  return Error{ErrorCode::usage, "give exactly one of --stream NAME and --all", {}};
}

int run_freeze(const RolloutArgs& args) {
  if (auto e = one_scope(args)) return fail(*e, args.format);
  auto p = prepare(args, true);
  if (!p) return kCannotJudge;
  int64_t now_ms = p->options.now.value_or(Time::now()).ms();
  int64_t expires_ms = 0;
  if (!args.expires.empty()) {
    auto d = parse_duration_ms(args.expires, "--expires");
    if (!d || *d <= 0) return fail(d ? Error{ErrorCode::usage, "--expires must be positive", {}} : d.error(), args.format);
    expires_ms = now_ms + *d;
  }
  auto r = p->rollout->freeze(args.stream, expires_ms, p->options);
  if (!r) return fail(r.error(), args.format);
  return print_report(*r, args, now_ms);
}

int run_thaw(const RolloutArgs& args) {
  if (auto e = one_scope(args)) return fail(*e, args.format);
  auto p = prepare(args, true);
  if (!p) return kCannotJudge;
  auto r = p->rollout->thaw(args.stream, p->options);
  if (!r) return fail(r.error(), args.format);
  return print_report(*r, args, p->options.now.value_or(Time::now()).ms());
}

void add_common(CLI::App* cmd, RolloutArgs& args, bool writer) {
  add_store_flags(cmd, args.store, true, writer);
  cmd->add_option("--now", args.now, "The clock (RFC 3339); default: the system clock");
  add_plain_format(cmd, args.format);
  add_quiet(cmd, args.quiet, "Human format: only what the command changed, one line each (nothing when nothing changed)");
  cmd->add_option("--by", args.by, kByHelp);
}

}  // namespace

std::function<int()> add_rollout(CLI::App& app) {
  auto args = std::make_shared<RolloutArgs>();
  auto* cmd = app.add_subcommand("rollout", "One rollout step of a stream with stages: promote what baked and is "
                                            "healthy, revert what is not (docs/rollout.md)");
  cmd->footer("Exit codes: 0 the step ran (promoted, waiting or held), 1 it reverted an artifact (--follow: some "
              "step did), 3 cannot (--follow: the last step could not)\n");
  add_common(cmd, *args, true);
  cmd->add_option("--stream", args->stream, "The stream")->required();
  cmd->add_flag("--follow", args->follow, "Step again every --interval until SIGTERM/SIGINT");
  cmd->add_option("--interval", args->interval, "--follow: time between steps (default 10s)");
  cmd->add_option("--steps", args->steps, "--follow: stop after this many steps");
  cmd->add_option("--set", args->set, "Set or change the stream's stages from a rollout file (journaled; needs --reason)");
  cmd->add_option("--reason", args->reason, "Why the stages change (with --set)");
  cmd->add_flag("--dry-run", args->dry_run, "Evaluate and report; write nothing");
  cmd->add_flag("--allow-exec", args->allow_exec,
                "Run the rollout's exec health checks (commands stored in the state: whoever can write the state "
                "chooses them; refused without this flag)");
  add_gate_signing_flags(cmd, args->signing, true, true);
  args->signs = true;
  return [args] { return run_rollout(*args); };
}

std::function<int()> add_veto(CLI::App& app) {
  auto args = std::make_shared<RolloutArgs>();
  auto* cmd = app.add_subcommand("veto", "Take an artifact back from every stage, quarantine it, refuse it from "
                                         "now on, and halt the stream");
  cmd->footer("Exit codes: 0 vetoed, 3 cannot (nothing changed)\n");
  add_common(cmd, *args, true);
  cmd->add_option("--stream", args->stream, "The stream")->required();
  cmd->add_option("digest", args->digest, "sha256:HEX, or at least 8 of its hex digits")->required();
  cmd->add_option("--reason", args->reason, "Why (journaled, kept with the quarantined artifact)")->required();
  add_gate_signing_flags(cmd, args->signing, true, true);
  args->signs = true;
  return [args] { return run_veto(*args); };
}

std::function<int()> add_resume(CLI::App& app) {
  auto args = std::make_shared<RolloutArgs>();
  auto* cmd = app.add_subcommand("resume", "Lift a halt (after a revert or a veto): gates admit and rollouts "
                                           "promote again");
  cmd->footer("Exit codes: 0 resumed, 3 cannot (not halted, bad usage; nothing changed)\n");
  add_common(cmd, *args, true);
  cmd->add_option("--stream", args->stream, "The stream")->required();
  cmd->add_option("--reason", args->reason, "Why (journaled)")->required();
  return [args] { return run_resume(*args); };
}

std::function<int()> add_freeze(CLI::App& app) {
  auto args = std::make_shared<RolloutArgs>();
  auto* cmd = app.add_subcommand("freeze", "Stop every admission and promotion of a stream, or of all (gates pin, "
                                           "rollouts hold); never pushes anything");
  cmd->footer("Exit codes: 0 frozen, 3 cannot (bad usage, unreadable state; nothing changed)\n");
  add_common(cmd, *args, true);
  cmd->add_option("--stream", args->stream, "The stream");
  cmd->add_flag("--all", args->all, "Every stream of the state location");
  cmd->add_option("--reason", args->reason, "Why (journaled)")->required();
  cmd->add_option("--expires", args->expires, "Lift it by itself after this long, such as \"2h\" (default: never)");
  return [args] { return run_freeze(*args); };
}

std::function<int()> add_thaw(CLI::App& app) {
  auto args = std::make_shared<RolloutArgs>();
  auto* cmd = app.add_subcommand("thaw", "Lift a freeze of a stream, or of all");
  cmd->footer("Exit codes: 0 thawed, 3 cannot (not frozen, bad usage; nothing changed)\n");
  add_common(cmd, *args, true);
  cmd->add_option("--stream", args->stream, "The stream");
  cmd->add_flag("--all", args->all, "The freeze of every stream");
  cmd->add_option("--reason", args->reason, "Why (journaled)")->required();
  return [args] { return run_thaw(*args); };
}

}  // namespace invar::cli
