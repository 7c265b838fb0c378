// The stateful commands: gate, waive, status, history, backtest. Only the
// public API (include/invar): parse flags, call, print, map exit codes.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "invar/report.hpp"
#include "invar/gate.hpp"

namespace invar::cli {

namespace {

struct StateArgs {
  StoreFlags store;
  std::string stream;
  std::string contract;
  std::string now;
  std::string format = "human";
  bool quiet = false;  // -q: docs/cli.md says what each command leaves out
  // gate and status
  uint32_t flap_alternations = 3;
  std::string flap_window = "1h";
  uint32_t flap_clear_after = 0;
  std::string pinned_warn = "1h";
  unsigned threads = 0;  // gate and backtest
  std::string metrics;   // status
  bool repair = false;   // status
  std::string html;      // status and history: the on-call page ("-": stdout)
  SchemaFlags schema;    // commands that load the contract
};

struct GateArgs : StateArgs {
  std::string by;
  bool create = false;
  bool contract_change = false;
  std::string artifact;
  std::string out;
  bool dry_run = false;
  uint32_t keep = 10;
  uint32_t quarantine = 5;
  std::string metrics;
  std::string publish_timeout = "30s";
  std::vector<std::string> waive;
  std::string reason;
  std::string expires;
  std::string for_candidate, for_generation;
  GateSigningFlags signing;
  std::string adopt_unsigned_lkg;
};

constexpr const char* kByHelp =
    "Who is waiving (recorded); default: the CI system's actor (GITHUB_ACTOR, GITLAB_USER_LOGIN, ...), else $USER";

void add_state_flags(CLI::App* cmd, StateArgs& args, bool stream_required) {
  add_store_flags(cmd, args.store, true, true);
  auto* s = cmd->add_option("--stream", args.stream, "Stream name: 1-128 of A-Z a-z 0-9 . _ -");
  if (stream_required) s->required();
  cmd->add_option("--now", args.now, "The clock (RFC 3339); default: the system clock");
}

void add_flap_flags(CLI::App* cmd, StateArgs& args) {
  cmd->add_option("--flap-alternations", args.flap_alternations,
                  "Accept/reject alternations within --flap-window that make a stream flapping (default 3; 0: off)");
  cmd->add_option("--flap-window", args.flap_window, "The window of flap detection (default 1h)");
  cmd->add_option("--flap-clear-after", args.flap_clear_after,
                  "A flapping stream is no longer flapping after this many accepts in a row (default 0: only when "
                  "the window has moved past its flips)");
  cmd->add_option("--pinned-warn", args.pinned_warn, "Warn when the stream has been pinned longer (default 1h)");
}

// The last line of a human report: its summary (what -q prints).
std::string last_line(const std::string& text) {
  std::string_view body(text);
  if (body.ends_with('\n')) body.remove_suffix(1);
  size_t cut = body.rfind('\n');
  return text.substr(cut == std::string_view::npos ? 0 : cut + 1);
}

// What every stateful command needs; nullopt (the error printed) when
// something is wrong.
struct Setup {
  std::optional<StateStore> store;
  std::optional<Contract> contract;
  std::optional<Time> now;
  GateOptions options;

  int64_t now_ms() const { return now.value_or(Time::now()).ms(); }
};

std::optional<Setup> setup(const StateArgs& args, bool need_contract) {
  Setup s;
  auto fail = [&](const Error& e) {
    print_error(e, args.format);
    return std::nullopt;
  };
  auto now = parse_now(args.now);
  if (!now) return fail(now.error());
  s.now = *now;
  auto window = parse_duration_ms(args.flap_window, "--flap-window");
  if (!window) return fail(window.error());
  auto warn = parse_duration_ms(args.pinned_warn, "--pinned-warn");
  if (!warn) return fail(warn.error());
  s.options.flap = {args.flap_alternations, *window, args.flap_clear_after};
  s.options.pinned_warn_ms = *warn;
  if (need_contract) {
    Options contract_options;
    contract_options.threads = threads_or_all(args.threads);
    apply_schema_flags(args.schema, contract_options);
    auto contract = Contract::load_file(args.contract, contract_options);
    if (!contract) return fail(contract.error());
    print_load_warnings(*contract, args.quiet);
    s.contract = std::move(contract.value());
  }
  auto store = open_store(args.store);
  if (!store) return fail(store.error());
  s.store = std::move(store.value());
  return s;
}

// Writes the metrics after the decision, under the metrics file's lock,
// never over newer ones (a gate paused after its decision must not move a
// counter back): a failure is a warning, the decision (and its exit code) stands.
void write_metrics(const std::string& path, const std::string& text, int64_t timeout_ms) {
  if (path.empty()) return;
  bool older = false;
  auto e = files::update_locked(path, timeout_ms, "the metrics file", 64ull << 20, [&](const std::string& existing) {
    older = metrics_older(text, existing);
    return older ? std::nullopt : std::optional<std::string>(text);
  }, "metrics");
  if (e) std::fprintf(stderr, "invar: warning: the metrics were not written: %s\n", e->to_string().c_str());
  else if (older)
    std::fprintf(stderr, "invar: warning: the metrics were not written: %s holds a later decision's (more decisions "
                 "or a higher LKG sequence; remove it if the stream was created again)\n", path.c_str());
}

int run_gate(const GateArgs& args) {
  if (args.out.empty() && !args.dry_run) {
    print_error({ErrorCode::usage, "gate needs --out PUBLISH (the file to publish), or --dry-run", {}}, args.format);
    return kCannotJudge;
  }
  auto publish_timeout = parse_duration_ms(args.publish_timeout, "--publish-timeout");
  std::optional<Error> refused;
  if (!publish_timeout) refused = publish_timeout.error();
  if (!refused && !args.dry_run) refused = check_output(args.out, "--out", &args.store, {args.artifact, args.contract});
  if (!refused && !args.metrics.empty())
    refused = check_output(args.metrics, "--metrics", &args.store, {args.artifact, args.contract, args.out});
  if (refused) {
    print_error(*refused, args.format);
    return kCannotJudge;
  }
  if (args.dry_run && !args.metrics.empty()) {
    print_error({ErrorCode::usage,
                 "--metrics describes decisions taken; a dry run takes none (use invar status --metrics for the "
                 "stream's state)",
                 {}},
                args.format);
    return kCannotJudge;
  }
  auto s = setup(args, true);
  if (!s) return kCannotJudge;
  s->options.keep = args.keep;
  s->options.quarantine = args.quarantine;
  s->options.create_streams = args.create;
  if (auto e = load_gate_signing(args.signing, s->options)) {
    print_error(*e, args.format);
    return kCannotJudge;
  }
  if (!args.adopt_unsigned_lkg.empty() && !s->options.signing_key) {
    print_error({ErrorCode::usage, "--adopt-unsigned-lkg signs the stream's LKG: give --signing-key too", {}}, args.format);
    return kCannotJudge;
  }
  if (!args.adopt_unsigned_lkg.empty() && args.adopt_unsigned_lkg.find_first_not_of(" \t\r\n") == std::string::npos) {
    print_error({ErrorCode::usage, "--adopt-unsigned-lkg needs a reason saying why the LKG can be trusted (journaled)", {}},
                args.format);
    return kCannotJudge;
  }
  s->options.adopt_unsigned_lkg = args.adopt_unsigned_lkg;
  SubmitOptions options;
  options.observe = !args.metrics.empty();
  options.dry_run = args.dry_run;
  options.contract_change = args.contract_change;
  options.now = s->now;
  if (!args.waive.empty()) {
    auto expires = args.expires.empty() ? Result<int64_t>(int64_t{0}) : parse_duration_ms(args.expires, "--expires");
    if (!expires) {
      print_error(expires.error(), args.format);
      return kCannotJudge;
    }
    for (const auto& id : args.waive)
      options.waive.push_back({id, args.reason, *expires, who(args.by), args.for_candidate, args.for_generation});
  } else if (!args.reason.empty() || !args.expires.empty() || !args.for_candidate.empty() ||
             !args.for_generation.empty()) {
    print_error({ErrorCode::usage, "--reason and --expires go with --waive ID (as do --for and --for-generation)", {}}, args.format);
    return kCannotJudge;
  }
  auto publisher = args.dry_run ? nullptr : file_publisher(args.out, *publish_timeout);
  options.publisher = publisher.get();
  Gate gate(*s->contract, *s->store, s->options);
  auto d = gate.submit_file(args.stream, args.artifact, options);
  if (!d) {
    print_error(d.error(), args.format);
    return kCannotJudge;
  }
  std::fputs(render_decision(*find_report_format(args.format), *d, args.stream, {use_color(args.format), args.quiet})
                 .c_str(),
             stdout);
  std::fflush(stdout);
  write_metrics(args.metrics, render_metrics(*d, args.stream, s->now_ms()), *publish_timeout);
  switch (d->action) {
    case Action::accept: return kAccept;
    case Action::unchanged: return kAccept;
    case Action::pin: return kPin;
    case Action::reject: return kReject;
  }
  return kCannotJudge;
}

struct WaiveArgs : StateArgs {
  std::vector<std::string> ids;
  std::string by;
  std::string reason;
  std::string expires;
  std::string for_candidate, for_generation;
  std::string revoke;
  std::string approve;
};

int run_revoke(const WaiveArgs& args) {
  if (!args.ids.empty() || !args.expires.empty() || !args.for_candidate.empty() || !args.for_generation.empty()) {
    print_error({ErrorCode::usage, "--revoke ID takes no invariant ids, --expires, --for or --for-generation", {}},
                args.format);
    return kCannotJudge;
  }
  auto s = setup(args, false);
  if (!s) return kCannotJudge;
  auto revoked = s->store->revoke_waiver(args.stream, args.revoke, who(args.by), args.reason, s->now_ms());
  if (!revoked) {
    print_error(revoked.error(), args.format);
    return kCannotJudge;
  }
  if (args.format == "json")
    std::fputs(render_waiver(*revoked, args.stream, true).c_str(), stdout);
  else if (!args.quiet)
    std::printf("revoked waiver %s (%s) on stream %s\n", revoked->id.c_str(), revoked->invariant.c_str(),
                args.stream.c_str());
  return kAccept;
}

int run_approve(const WaiveArgs& args) {
  if (!args.ids.empty() || !args.expires.empty() || !args.for_candidate.empty() || !args.for_generation.empty() ||
      !args.revoke.empty()) {
    print_error({ErrorCode::usage, "--approve ID takes no invariant ids, --expires, --for, --for-generation or --revoke", {}},
                args.format);
    return kCannotJudge;
  }
  auto s = setup(args, false);
  if (!s) return kCannotJudge;
  auto approved = s->store->approve_waiver(args.stream, args.approve, who(args.by), args.reason, s->now_ms());
  if (!approved) {
    print_error(approved.error(), args.format);
    return kCannotJudge;
  }
  if (args.format == "json")
    std::fputs(render_waiver(*approved, args.stream, true).c_str(), stdout);
  else if (!args.quiet)
    std::printf("approved waiver %s (%s) on stream %s: in force until %s\n", approved->id.c_str(),
                approved->invariant.c_str(), args.stream.c_str(), text::format_rfc3339(approved->expires_ms).c_str());
  return kAccept;
}

int run_waive(const WaiveArgs& args) {
  if (!args.approve.empty()) return run_approve(args);
  if (!args.revoke.empty()) return run_revoke(args);
  if (args.contract.empty() || args.ids.empty() || args.expires.empty()) {
    print_error({ErrorCode::usage, "waive needs --contract, --reason, --expires and the invariant ids (or --revoke ID)", {}},
                args.format);
    return kCannotJudge;
  }
  auto s = setup(args, true);
  if (!s) return kCannotJudge;
  auto expires = parse_duration_ms(args.expires, "--expires");
  if (!expires) {
    print_error(expires.error(), args.format);
    return kCannotJudge;
  }
  Gate gate(*s->contract, *s->store, s->options);
  std::vector<WaiverRequest> requests;
  for (const auto& id : args.ids)
    requests.push_back({id, args.reason, *expires, who(args.by), args.for_candidate, args.for_generation});
  auto waivers = gate.waive(args.stream, requests, s->now);
  if (!waivers) {
    print_error(waivers.error(), args.format);
    return kCannotJudge;
  }
  for (const auto& w : *waivers)
    std::fputs(args.quiet && args.format == "human" ? (w.id + "\n").c_str()
                                                    : render_waiver(w, args.stream, args.format == "json").c_str(),
               stdout);
  return kAccept;
}

int run_waivers(const StateArgs& args) {
  auto s = setup(args, false);
  if (!s) return kCannotJudge;
  auto waivers = s->store->waivers(args.stream);
  if (!waivers) {
    print_error(waivers.error(), args.format);
    return kCannotJudge;
  }
  if (args.quiet && args.format == "human") {
    for (const auto& w : *waivers)
      if (w.used_by.empty() && w.created_ms <= s->now_ms() && s->now_ms() < w.expires_ms &&
          (w.approvals < 2 || !w.approved_by.empty()))  // in force: approved when it needs two people
        std::printf("%s\n", w.id.c_str());
    return kAccept;
  }
  std::fputs(render_waivers(*waivers, args.stream, s->now_ms(), args.format == "json").c_str(), stdout);
  return kAccept;
}

constexpr const char* kHtmlHelp =
    "Also write the on-call page (one self-contained HTML file: state, quarantine, plots of the journal) to this "
    "file, atomically; with - only the page, on stdout. No page when a stream cannot be read (exit 3)";

// --html: the page of `statuses`, each with its journal, written whole or
// not at all. Fail closed: a stream that could not be read (`unreadable`)
// or a journal that cannot be read writes no page (never one that looks
// healthy); exit 3 then.
int write_html(const StateArgs& args, const StateStore& store, std::vector<StreamStatus> statuses, bool unreadable,
               const std::string& title, int64_t now_ms, size_t listed) {
  if (args.html.empty()) return kAccept;
  auto refuse = [&](const Error& e) {
    print_error({e.code, "the page was not written: " + e.message, e.where}, "human");
    return kCannotJudge;
  };
  if (unreadable) return refuse({ErrorCode::state, "a stream's state cannot be read", {}});
  std::vector<StreamPage> pages;
  for (auto& st : statuses) {
    auto journal = store.history(st.stream);
    if (!journal) return refuse(journal.error());
    pages.push_back({std::move(st), std::move(journal.value())});
  }
  std::string page = render_html(pages, title, now_ms, listed);
  if (args.html == "-") {
    std::fputs(page.c_str(), stdout);
    return kAccept;
  }
  if (auto e = write_file_atomically(args.html, page)) return refuse(*e);
  return kAccept;
}

int run_status(const StateArgs& args) {
  if (!args.metrics.empty())
    if (auto e = check_output(args.metrics, "--metrics", &args.store)) {
      print_error(*e, args.format);
      return kCannotJudge;
    }
  if (!args.html.empty() && args.html != "-")
    if (auto e = check_output(args.html, "--html", &args.store, {args.metrics})) {
      print_error(*e, args.format);
      return kCannotJudge;
    }
  const bool page_only = args.html == "-";
  auto s = setup(args, false);
  if (!s) return kCannotJudge;
  std::vector<std::string> streams;
  if (!args.stream.empty()) {
    streams.push_back(args.stream);
  } else {
    auto all = s->store->streams();
    if (!all) {
      print_error(all.error(), args.format);
      return kCannotJudge;
    }
    streams = all.value();
  }
  std::vector<StreamStatus> statuses;
  std::vector<Error> errors;
  for (const auto& stream : streams) {
    if (args.repair) {
      auto repaired = s->store->repair(stream);
      if (!repaired) {
        print_error(repaired.error(), "human");
        errors.push_back(repaired.error());
        continue;
      }
      for (const auto& line : *repaired) std::fprintf(stderr, "invar: repaired %s: %s\n", stream.c_str(), line.c_str());
    }
    auto st = s->store->status(stream, s->now_ms(), s->options);
    if (!st) {
      print_error(st.error(), "human");
      errors.push_back(st.error());
      continue;
    }
    if (args.format == "human" && !page_only)
      std::fputs((args.quiet ? render_status_line(*st, s->now_ms()) : render_status_human(*st, s->now_ms())).c_str(),
                 stdout);
    statuses.push_back(std::move(st.value()));
  }
  if (page_only) {
  } else if (args.format == "json") {
    std::fputs(render_status_json(statuses, errors, s->now_ms()).c_str(), stdout);
  } else if (streams.empty()) {
    std::printf("no streams in %s\n", args.store.state.c_str());
  }
  std::fflush(stdout);
  write_metrics(args.metrics, render_metrics(statuses, s->now_ms()), kLockTimeoutMs);
  const int64_t now_ms = s->now_ms();
  const bool attention =
      std::any_of(statuses.begin(), statuses.end(), [&](const auto& st) { return needs_attention(st, now_ms); });
  std::string title = args.stream.empty() ? "status of " + args.store.state : "status of stream " + args.stream;
  if (write_html(args, *s->store, std::move(statuses), !errors.empty(), title, now_ms, 50) != kAccept)
    return kCannotJudge;
  if (!errors.empty()) return kCannotJudge;
  return attention ? kPin : kAccept;
}

struct HistoryArgs : StateArgs {
  size_t limit = 50;
};

// The journal as a list (human or json), newest first.
int run_history_list(const HistoryArgs& args, const Setup* s) {
  auto records = s->store->history(args.stream);
  if (!records) {
    print_error(records.error(), args.format);
    return kCannotJudge;
  }
  auto quarantine = s->store->quarantine(args.stream);
  if (!quarantine) {
    print_error(quarantine.error(), args.format);
    return kCannotJudge;
  }
  if (args.format == "json")
    std::fputs(render_history_json(args.stream, *records, args.limit, *quarantine).c_str(), stdout);
  else
    std::fputs(render_history_human(*records, args.limit, *quarantine, args.quiet).c_str(), stdout);
  return kAccept;
}

int run_history(const HistoryArgs& args) {
  if (!args.html.empty() && args.html != "-")
    if (auto e = check_output(args.html, "--html", &args.store)) {
      print_error(*e, args.format);
      return kCannotJudge;
    }
  auto s = setup(args, false);
  if (!s) return kCannotJudge;
  if (!args.html.empty()) {  // the page (the stream's status with it), not the list
    auto st = s->store->status(args.stream, s->now_ms(), s->options);
    if (!st) {
      print_error(st.error(), args.format);
      return kCannotJudge;
    }
    std::vector<StreamStatus> one;
    one.push_back(std::move(st.value()));
    if (args.html != "-") {
      int rc = run_history_list(args, &*s);
      if (rc != kAccept) return rc;
    }
    return write_html(args, *s->store, std::move(one), false, "history of stream " + args.stream, s->now_ms(),
                      args.limit);
  }
  return run_history_list(args, &*s);
}

struct ShowArgs : StateArgs {
  std::string digest;
};

int run_show(const ShowArgs& args) {
  auto s = setup(args, false);
  if (!s) return kCannotJudge;
  auto bytes = s->store->artifact(args.stream, args.digest);
  if (!bytes) {
    print_error(bytes.error(), args.format);
    return kCannotJudge;
  }
  if (std::fwrite(bytes->data(), 1, bytes->size(), stdout) != bytes->size() || std::fflush(stdout) != 0) {
    print_error({ErrorCode::io, "cannot write the artifact to standard output", {}}, args.format);
    return kCannotJudge;
  }
  return kAccept;
}

int run_backtest(const StateArgs& args) {
  auto s = setup(args, true);
  if (!s) return kCannotJudge;
  Gate gate(*s->contract, *s->store, s->options);
  auto rows = gate.backtest(args.stream);
  if (!rows) {
    print_error(rows.error(), args.format);
    return kCannotJudge;
  }
  if (args.format == "json") {
    std::fputs(render_backtest_json(*rows, args.stream).c_str(), stdout);
  } else {
    std::string text = render_backtest_human(*rows, s->contract->name());
    std::fputs((args.quiet ? last_line(text) : text).c_str(), stdout);
  }
  for (const auto& row : *rows)
    if (row.report.verdict == Verdict::reject) return kReject;
  return kAccept;
}

}  // namespace

std::function<int()> add_gate(CLI::App& app) {
  auto args = std::make_shared<GateArgs>();
  auto* cmd = app.add_subcommand("gate", "Judge a candidate against a stream's last-known-good; promote, pin or reject");
  cmd->footer(kExitCodes);
  cmd->add_option("--contract", args->contract, "Contract file")->required();
  add_state_flags(cmd, *args, true);
  add_schema_flags(cmd, args->schema);
  add_report_format(cmd, args->format);
  cmd->add_option("--out", args->out, "Where to publish: the candidate on accept, the LKG on pin (atomic replace)");
  cmd->add_option("artifact", args->artifact, "The candidate artifact (\"-\": standard input; the exact bytes read are judged and published)")->required();
  cmd->add_flag("--dry-run", args->dry_run, "Evaluate and report; change no state and publish nothing (shadow mode)");
  add_quiet(cmd, args->quiet, "Human format: the summary and the decision only; no warnings");
  cmd->add_option("--keep", args->keep, "Accepted artifacts kept for backtests (default 10; the LKG is always kept)");
  cmd->add_option("--quarantine", args->quarantine,
                  "Rejected candidates kept as evidence (default 5; 0: none; at most 1000); see invar show");
  cmd->add_option("--metrics", args->metrics,
                  "Write Prometheus metrics of the decision to this file, atomically (a failure is a warning)");
  cmd->add_option("--publish-timeout", args->publish_timeout,
                  "How long to wait for another invar publishing the same --out (or writing the same --metrics) "
                  "before exit 3, nothing published (default 30s; never decides a verdict)");
  cmd->add_option("--waive", args->waive, "Record a waiver for this invariant id before deciding (needs --reason, --expires)")
      ->allow_extra_args(false);
  cmd->add_option("--reason", args->reason, "Why the waiver is needed (recorded in the journal)");
  cmd->add_option("--expires", args->expires, "How long the waiver lasts, such as \"2h\" (at most 30d)");
  cmd->add_option("--for", args->for_candidate, "Scope the waiver to the candidate with this SHA-256 (used once)");
  cmd->add_option("--for-generation", args->for_generation, "Scope the waiver to a candidate of this generation (used once)");
  cmd->add_option("--by", args->by, kByHelp);
  cmd->add_flag("--create", args->create, "Create the stream if it does not exist (default: refuse; see invar init)");
  cmd->add_flag("--contract-change", args->contract_change,
                "Judge a stream created for another contract under this one (journaled)");
  cmd->add_option("--threads", args->threads, kThreadsHelp)->check(CLI::Range(0u, 256u));
  add_flap_flags(cmd, *args);
  add_gate_signing_flags(cmd, args->signing, true, true);
  cmd->add_option("--adopt-unsigned-lkg", args->adopt_unsigned_lkg,
                  "REASON: trust the stream's LKG though it carries no attestation (accepted before signing was "
                  "turned on), once: this decision signs it, journaled with the reason");
  return [args] { return run_gate(*args); };
}

struct InitArgs : StateArgs {
  std::string artifact;
  std::string reason;
  std::string by;
  std::string rollout;
  uint32_t approvals = 1;
  GateSigningFlags signing;
};

int run_init(const InitArgs& args) {
  auto s = setup(args, true);
  if (!s) return kCannotJudge;
  if (auto e = load_gate_signing(args.signing, s->options)) {
    print_error(*e, args.format);
    return kCannotJudge;
  }
  InitOptions options;
  options.seed_file = args.artifact;
  options.reason = args.reason;
  options.by = who(args.by);
  options.now = s->now;
  options.rollout_file = args.rollout;
  options.approvals = args.approvals;
  Gate gate(*s->contract, *s->store, s->options);
  auto d = gate.init(args.stream, options);
  if (!d) {
    print_error(d.error(), args.format);
    return kCannotJudge;
  }
  if (!d.value()) {
    if (args.format == "json")
      std::printf("{\"version\": 1, \"stream\": \"%s\", \"created\": true, \"seeded\": false}\n", args.stream.c_str());
    else
      std::printf("init: stream %s created for contract %s (no LKG yet: the first accepted candidate becomes it)\n",
                  args.stream.c_str(), s->contract->name().c_str());
    return kAccept;
  }
  const Decision& decision = *d.value();
  if (args.format == "json") {
    std::fputs(render_decision_json(decision, args.stream).c_str(), stdout);
  } else {
    RenderOptions render{use_color(args.format), false, true};
    if (!args.quiet) std::fputs(render_human(decision.report, render).c_str(), stdout);
    if (decision.action == Action::accept)
      std::printf("init: stream %s created for contract %s and seeded: %s is its LKG (sequence 1)\n",
                  args.stream.c_str(), s->contract->name().c_str(), decision.candidate.substr(0, 19).c_str());
    else
      std::printf("init: the seed is rejected; nothing was created\n");
  }
  return decision.action == Action::accept ? kAccept : kReject;
}

std::function<int()> add_init(CLI::App& app) {
  auto args = std::make_shared<InitArgs>();
  auto* cmd = app.add_subcommand("init", "Create a stream (and the state location), optionally with a first LKG");
  cmd->footer("Exit codes: 0 created (and seeded), 1 the seed is rejected (nothing created), 3 cannot (exists, bad usage)\n");
  cmd->add_option("--contract", args->contract, "The contract the stream is created for")->required();
  add_state_flags(cmd, *args, true);
  add_schema_flags(cmd, args->schema);
  add_plain_format(cmd, args->format);
  cmd->add_option("artifact", args->artifact, "A first LKG, judged by the stateless invariants (needs --reason)");
  cmd->add_option("--reason", args->reason, "Why the seed can be trusted (recorded in the journal)");
  cmd->add_option("--by", args->by, kByHelp);
  cmd->add_option("--approvals", args->approvals,
                  "People a waiver of this stream needs: 1 (default) or 2 (a second person approves it with "
                  "`invar waive --approve ID`); fixed for the stream's life");
  add_quiet(cmd, args->quiet, "Human format: the init line only (no report of the seed); no warnings");
  cmd->add_option("--rollout", args->rollout,
                  "Give the stream stages (a rollout file, docs/rollout.md): gates admit into the first, "
                  "`invar rollout` promotes");
  add_gate_signing_flags(cmd, args->signing, true, false);
  return [args] { return run_init(*args); };
}

std::function<int()> add_waive(CLI::App& app) {
  auto args = std::make_shared<WaiveArgs>();
  auto* cmd = app.add_subcommand("waive", "Waive one invariant of a stream for a while, with a recorded reason");
  cmd->add_option("--contract", args->contract, "Contract file (the id must be in it and waivable)");
  add_state_flags(cmd, *args, true);
  add_schema_flags(cmd, args->schema);
  add_plain_format(cmd, args->format);
  cmd->add_option("id", args->ids, "The invariant ids to waive (all are validated before any is recorded)");
  cmd->add_option("--by", args->by, kByHelp);
  cmd->add_option("--reason", args->reason, "Why (recorded in the journal; optional with --approve)");
  cmd->add_option("--expires", args->expires, "How long it lasts, such as \"2h\" (at most 30d)");
  cmd->add_option("--for", args->for_candidate,
                  "Only for this candidate: its SHA-256 (64 hex digits, or a unique prefix of at least 12 of one the "
                  "stream keeps); used once, by the accept it lets through");
  cmd->add_option("--for-generation", args->for_generation,
                  "Only for a candidate of this generation (the contract's first monotonic value); used once");
  cmd->add_option("--revoke", args->revoke, "Revoke the waiver with this id (see invar waivers; journaled)");
  cmd->add_option("--approve", args->approve,
                  "Approve the waiver with this id as a second person (streams created with --approvals 2; journaled)");
  add_quiet(cmd, args->quiet,
            "Human format: each new waiver's id, one per line (nothing on --revoke or --approve); no warnings");
  return [args] { return run_waive(*args); };
}

std::function<int()> add_waivers(CLI::App& app) {
  auto args = std::make_shared<StateArgs>();
  auto* cmd = app.add_subcommand("waivers", "List a stream's waivers: scope, actor, expiry, in force or used");
  add_store_flags(cmd, args->store, true, false);
  cmd->add_option("--stream", args->stream, "The stream")->required();
  cmd->add_option("--now", args->now, "The clock (RFC 3339); default: the system clock");
  add_plain_format(cmd, args->format);
  add_quiet(cmd, args->quiet, "Human format: the ids of the waivers in force, one per line");
  return [args] { return run_waivers(*args); };
}

std::function<int()> add_status(CLI::App& app) {
  auto args = std::make_shared<StateArgs>();
  auto* cmd = app.add_subcommand("status", "Show and verify the state of one stream, or of all");
  cmd->footer("Exit codes (for a probe): 0 every stream healthy, 2 a stream is pinned (serving its LKG), halted or "
              "frozen, 3 the state cannot be read or verified (checked first: it wins over 2)\n");
  add_store_flags(cmd, args->store, true, false);
  cmd->add_option("stream", args->stream, "The stream (default: every stream)");
  cmd->add_option("--now", args->now, "The clock (RFC 3339); default: the system clock");
  add_plain_format(cmd, args->format);
  cmd->add_option("--metrics", args->metrics,
                  "Also write Prometheus metrics of the streams to this file, atomically (a failure is a warning)");
  cmd->add_flag("--repair", args->repair,
                "First repair what interrupted gates left (a torn journal line, a commit without its journal record, "
                "orphaned stored objects), journaling each repair");
  add_flap_flags(cmd, *args);
  add_quiet(cmd, args->quiet, "Human format: one line per stream (healthy, PINNED, HALTED, FROZEN, FLAPPING); the exit "
                              "code answers a probe");
  cmd->add_option("--html", args->html, kHtmlHelp);
  return [args] { return run_status(*args); };
}

std::function<int()> add_show(CLI::App& app) {
  auto args = std::make_shared<ShowArgs>();
  auto* cmd = app.add_subcommand("show", "Print an artifact the stream keeps (LKG, retained or quarantined) by digest");
  cmd->footer("Exit codes: 0 printed, 3 cannot (no such artifact, ambiguous prefix, corrupted state)\n");
  add_store_flags(cmd, args->store, true, false);
  cmd->add_option("--stream", args->stream, "The stream")->required();
  cmd->add_option("digest", args->digest, "sha256:HEX, or at least 8 of its hex digits (as history shows them)")->required();
  add_quiet(cmd, args->quiet, "Accepted for uniformity: show prints only the artifact's bytes");
  return [args] { return run_show(*args); };
}

std::function<int()> add_history(CLI::App& app) {
  auto args = std::make_shared<HistoryArgs>();
  auto* cmd = app.add_subcommand("history", "Show a stream's decision journal, newest first");
  add_store_flags(cmd, args->store, true, false);
  cmd->add_option("--stream,stream", args->stream, "The stream (as --stream, like every other command, or first)")
      ->required();
  cmd->add_option("--limit", args->limit, "Records shown (default 50)");
  add_plain_format(cmd, args->format);
  add_quiet(cmd, args->quiet, "Human format: one line per record, without the decisions' messages");
  cmd->add_option("--html", args->html, kHtmlHelp);
  add_flap_flags(cmd, *args);
  return [args] { return run_history(*args); };
}

std::function<int()> add_backtest(CLI::App& app) {
  auto args = std::make_shared<StateArgs>();
  auto* cmd = app.add_subcommand("backtest", "Replay a stream's stored accepted artifacts through a new contract");
  cmd->footer("Exit codes: 0 no verdict would flip, 1 some would, 3 cannot judge\n");
  cmd->add_option("--contract", args->contract, "The new contract")->required();
  add_state_flags(cmd, *args, true);
  add_schema_flags(cmd, args->schema);
  add_plain_format(cmd, args->format);
  cmd->add_option("--threads", args->threads, kThreadsHelp)->check(CLI::Range(0u, 256u));
  add_quiet(cmd, args->quiet, "Human format: the summary line only; no warnings");
  return [args] { return run_backtest(*args); };
}

}  // namespace invar::cli
