// The stateful commands: gate, waive, status, history, backtest.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "common/text.hpp"
#include "gate/gate.hpp"
#include "report/render.hpp"

namespace invar::cli {

namespace {

using nlohmann::json;

struct StateArgs {
  std::string state;
  std::string stream;
  std::string contract;
  std::string now;
  std::string format = "human";
};

struct GateArgs : StateArgs {
  std::string artifact;
  std::string out;
  bool dry_run = false;
  bool quiet = false;
  uint32_t keep = store::kDefaultKeep;
  std::vector<std::string> waive;
  std::string reason;
  std::string expires;
  uint32_t flap_alternations = 3;
  std::string flap_window = "1h";
  std::string pinned_warn = "1h";
};

void add_state_flags(CLI::App* cmd, StateArgs& args, bool stream_required) {
  cmd->add_option("--state", args.state, "State directory (created on first use)")->required();
  auto* s = cmd->add_option("--stream", args.stream, "Stream name: 1-128 of A-Z a-z 0-9 . _ -");
  if (stream_required) s->required();
  cmd->add_option("--now", args.now, "The clock (RFC 3339); default: the system clock");
  cmd->add_option("--format", args.format, "Output format")->check(CLI::IsMember({"human", "json"}));
}

void add_flap_flags(CLI::App* cmd, GateArgs& args) {
  cmd->add_option("--flap-alternations", args.flap_alternations,
                  "Accept/reject alternations within --flap-window that make a stream flapping (default 3; 0: off)");
  cmd->add_option("--flap-window", args.flap_window, "The window of flap detection (default 1h)");
  cmd->add_option("--pinned-warn", args.pinned_warn, "Warn when the stream has been pinned longer (default 1h)");
}

// Loads what every stateful command needs; prints the error and returns
// nullopt when something is wrong.
struct Setup {
  std::unique_ptr<store::Store> store;
  std::optional<Contract> contract;
  std::optional<std::chrono::system_clock::time_point> now;
  gate::FlapOptions flap;
  int64_t pinned_warn_ms = 3'600'000;
};

std::optional<Setup> setup(const StateArgs& args, bool need_contract, const GateArgs* gate_args = nullptr) {
  Setup s;
  auto fail = [&](const Error& e) {
    print_error(e, args.format);
    return std::nullopt;
  };
  auto now = parse_now(args.now);
  if (!now) return fail(now.error());
  s.now = *now;
  if (gate_args) {
    auto window = parse_duration_ms(gate_args->flap_window, "--flap-window");
    if (!window) return fail(window.error());
    auto warn = parse_duration_ms(gate_args->pinned_warn, "--pinned-warn");
    if (!warn) return fail(warn.error());
    s.flap = {gate_args->flap_alternations, *window};
    s.pinned_warn_ms = *warn;
  }
  if (need_contract) {
    auto contract = Contract::load_file(args.contract);
    if (!contract) return fail(contract.error());
    s.contract = std::move(contract.value());
  }
  auto store = store::open_fs_store(args.state);
  if (!store) return fail(store.error());
  s.store = std::move(store.value());
  return s;
}

int64_t now_ms(const Setup& s) {
  auto t = s.now.value_or(std::chrono::system_clock::now());
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

int run_gate(const GateArgs& args) {
  if (args.out.empty() && !args.dry_run) {
    print_error({ErrorCode::usage, "gate needs --out PUBLISH (the file to publish), or --dry-run", {}}, args.format);
    return kCannotJudge;
  }
  auto s = setup(args, true, &args);
  if (!s) return kCannotJudge;
  gate::Options options;
  options.stream = args.stream;
  options.dry_run = args.dry_run;
  options.now = s->now;
  options.keep = args.keep;
  options.flap = s->flap;
  options.pinned_warn_ms = s->pinned_warn_ms;
  if (!args.waive.empty()) {
    auto expires = args.expires.empty() ? Result<int64_t>(int64_t{0}) : parse_duration_ms(args.expires, "--expires");
    if (!expires) {
      print_error(expires.error(), args.format);
      return kCannotJudge;
    }
    for (const auto& id : args.waive) options.waive.push_back({id, args.reason, *expires, who()});
  } else if (!args.reason.empty() || !args.expires.empty()) {
    print_error({ErrorCode::usage, "--reason and --expires go with --waive ID", {}}, args.format);
    return kCannotJudge;
  }
  auto publisher = args.dry_run ? nullptr : gate::file_publisher(args.out);
  auto d = gate::submit_file(*s->contract, *s->store, args.artifact, options, publisher.get());
  if (!d) {
    print_error(d.error(), args.format);
    return kCannotJudge;
  }
  if (args.format == "json")
    std::printf("%s\n", decision_to_json(*d, args.stream).dump(2, ' ', false, json::error_handler_t::replace).c_str());
  else
    std::fputs(render_decision_human(*d, {use_color(args.format), args.quiet}).c_str(), stdout);
  switch (d->action) {
    case gate::Action::accept: return kAccept;
    case gate::Action::pin: return kPin;
    case gate::Action::reject: return kReject;
  }
  return kCannotJudge;
}

struct WaiveArgs : StateArgs {
  std::string id;
  std::string reason;
  std::string expires;
};

int run_waive(const WaiveArgs& args) {
  auto s = setup(args, true);
  if (!s) return kCannotJudge;
  auto expires = args.expires.empty() ? Result<int64_t>(int64_t{0}) : parse_duration_ms(args.expires, "--expires");
  if (!expires) {
    print_error(expires.error(), args.format);
    return kCannotJudge;
  }
  auto w = gate::waive(*s->contract, *s->store, args.stream, {args.id, args.reason, *expires, who()}, s->now);
  if (!w) {
    print_error(w.error(), args.format);
    return kCannotJudge;
  }
  if (args.format == "json")
    std::printf("%s\n", json({{"version", 1}, {"stream", args.stream}, {"waiver", store::to_json(*w)}}).dump(2).c_str());
  else
    std::printf("waived %s on stream %s until %s (by %s): %s\n", w->invariant.c_str(), args.stream.c_str(),
                text::format_rfc3339(w->expires_ms).c_str(), w->by.c_str(), w->reason.c_str());
  return kAccept;
}

std::string record_line(const store::JournalRecord& r) {
  std::string when = text::format_rfc3339(r.time_ms);
  if (r.event == "waiver")
    return fmt::format("{}  waiver  {} until {} by {}: {}", when, r.waiver->invariant,
                       text::format_rfc3339(r.waiver->expires_ms), r.waiver->by, r.waiver->reason);
  std::string line = fmt::format("{}  {:<6}  {}", when, r.verdict, r.candidate.substr(0, 19));
  if (!r.generation.empty()) line += "  generation " + r.generation;
  if (!r.failed.empty()) {
    line += "  failed:";
    for (const auto& f : r.failed) line += " " + f;
  }
  if (!r.waived.empty()) {
    line += "  waived:";
    for (const auto& w : r.waived) line += " " + w;
  }
  if (r.flapping) line += "  FLAPPING";
  return line;
}

json status_json(const gate::StreamStatus& st) {
  json lkg = nullptr;
  if (st.lkg)
    lkg = {{"digest", st.lkg->digest},
           {"sequence", st.lkg->sequence},
           {"generation", st.lkg->generation},
           {"bytes", st.lkg->bytes},
           {"accepted_at", text::format_rfc3339(st.lkg->accepted_at_ms)},
           {"contract", st.lkg->contract}};
  json recent = json::array();
  for (const auto& r : st.recent) recent.push_back(store::to_json(r));
  json waivers = json::array();
  for (const auto& w : st.active_waivers) waivers.push_back(store::to_json(w));
  return {{"stream", st.stream},
          {"lkg", lkg},
          {"retained", st.retained},
          {"pinned_since",
           st.pinned_since_ms ? json(text::format_rfc3339(*st.pinned_since_ms)) : json(nullptr)},
          {"flapping", st.flapping},
          {"flap_history", st.flap_history},
          {"waivers", waivers},
          {"recent", recent},
          {"warnings", st.warnings}};
}

std::string status_human(const gate::StreamStatus& st, int64_t now) {
  std::string out = "stream " + st.stream + "\n";
  if (st.lkg)
    out += fmt::format("  LKG: {} sequence {}{}, accepted {} ({} ago), {} bytes, contract {}\n", st.lkg->digest,
                       st.lkg->sequence, st.lkg->generation.empty() ? "" : ", generation " + st.lkg->generation,
                       text::format_rfc3339(st.lkg->accepted_at_ms),
                       text::format_duration(std::max<int64_t>(0, now - st.lkg->accepted_at_ms)), st.lkg->bytes,
                       st.lkg->contract);
  else
    out += "  LKG: none (nothing accepted yet)\n";
  out += fmt::format("  retained: {} accepted artifacts (verified)\n", st.retained);
  if (st.pinned_since_ms)
    out += fmt::format("  PINNED since {} ({})\n", text::format_rfc3339(*st.pinned_since_ms),
                       text::format_duration(std::max<int64_t>(0, now - *st.pinned_since_ms)));
  if (st.flapping) {
    out += "  FLAPPING: verdicts alternate between accept and reject:\n";
    for (const auto& h : st.flap_history) out += "    " + h + "\n";
  }
  for (const auto& w : st.active_waivers)
    out += fmt::format("  waiver: {} until {} by {}: {}\n", w.invariant, text::format_rfc3339(w.expires_ms), w.by,
                       w.reason);
  if (!st.recent.empty()) out += "  last decisions (newest first):\n";
  for (const auto& r : st.recent) out += "    " + record_line(r) + "\n";
  for (const auto& w : st.warnings) out += "  warning: " + w + "\n";
  return out;
}

int run_status(const GateArgs& args) {
  auto s = setup(args, false, &args);
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
  int code = kAccept;
  json list = json::array();
  for (const auto& stream : streams) {
    auto st = gate::status(*s->store, stream, now_ms(*s), s->flap, s->pinned_warn_ms);
    if (!st) {
      print_error(st.error(), "human");
      if (args.format == "json")
        list.push_back({{"stream", stream}, {"error", st.error().to_string()}, {"code", to_string(st.error().code)}});
      code = kCannotJudge;
      continue;
    }
    if (args.format == "json") list.push_back(status_json(*st));
    else std::fputs(status_human(*st, now_ms(*s)).c_str(), stdout);
  }
  if (args.format == "json") std::printf("%s\n", json({{"version", 1}, {"streams", list}}).dump(2).c_str());
  else if (streams.empty()) std::printf("no streams in %s\n", args.state.c_str());
  return code;
}

struct HistoryArgs : StateArgs {
  size_t limit = 50;
};

int run_history(const HistoryArgs& args) {
  auto s = setup(args, false);
  if (!s) return kCannotJudge;
  if (!store::valid_stream_name(args.stream)) {
    print_error({ErrorCode::usage, "stream name " + text::quoted(args.stream) + " is not valid", {}}, args.format);
    return kCannotJudge;
  }
  auto lock = s->store->lock(args.stream, false);
  if (!lock) {
    print_error(lock.error(), args.format);
    return kCannotJudge;
  }
  auto journal = s->store->journal(args.stream);
  if (!journal) {
    print_error(journal.error(), args.format);
    return kCannotJudge;
  }
  json list = json::array();
  size_t shown = 0;
  for (size_t i = journal->size(); i-- > 0 && shown < args.limit; ++shown) {
    if (args.format == "json") list.push_back(store::to_json((*journal)[i]));
    else std::printf("%s\n", record_line((*journal)[i]).c_str());
  }
  if (args.format == "json")
    std::printf("%s\n", json({{"version", 1}, {"stream", args.stream}, {"records", list}}).dump(2).c_str());
  return kAccept;
}

int run_backtest(const StateArgs& args) {
  auto s = setup(args, true);
  if (!s) return kCannotJudge;
  auto rows = gate::backtest(*s->contract, *s->store, args.stream);
  if (!rows) {
    print_error(rows.error(), args.format);
    return kCannotJudge;
  }
  size_t flips = 0;
  json list = json::array();
  for (const auto& row : *rows) {
    bool flip = row.report.verdict == Verdict::reject;
    flips += flip;
    std::vector<std::string> failed;
    for (const auto& r : row.report.invariants)
      if (r.outcome == Outcome::fail && r.severity == Severity::error) failed.push_back(r.id);
    for (const auto& v : row.report.violations)
      if (v.kind == "artifact") failed.push_back(v.invariant);
    if (args.format == "json") {
      list.push_back({{"digest", row.entry.digest},
                      {"sequence", row.entry.sequence},
                      {"generation", row.entry.generation},
                      {"accepted_at", text::format_rfc3339(row.entry.accepted_at_ms)},
                      {"was", "accept"},
                      {"now", flip ? "reject" : "accept"},
                      {"failed", failed},
                      {"report", report_to_json(row.report)}});
      continue;
    }
    std::string line = fmt::format("{} sequence {}{}  accepted {}  ->  {}", row.entry.digest.substr(0, 19),
                                   row.entry.sequence,
                                   row.entry.generation.empty() ? "" : " generation " + row.entry.generation,
                                   text::format_rfc3339(row.entry.accepted_at_ms), flip ? "WOULD FLIP to reject" : "accept");
    for (const auto& f : failed) line += (f == failed.front() ? " (" : ", ") + f;
    if (!failed.empty()) line += ")";
    std::printf("%s\n", line.c_str());
  }
  if (args.format == "json")
    std::printf("%s\n", json({{"version", 1}, {"stream", args.stream}, {"flips", flips}, {"artifacts", list}})
                            .dump(2, ' ', false, json::error_handler_t::replace)
                            .c_str());
  else
    std::printf("backtest: %zu stored accepted artifacts replayed through %s: %zu would flip\n", rows->size(),
                s->contract->name().c_str(), flips);
  return flips ? kReject : kAccept;
}

}  // namespace

std::function<int()> add_gate(CLI::App& app) {
  auto args = std::make_shared<GateArgs>();
  auto* cmd = app.add_subcommand("gate", "Judge a candidate against a stream's last-known-good; promote, pin or reject");
  cmd->footer(kExitCodes);
  cmd->add_option("--contract", args->contract, "Contract file")->required();
  add_state_flags(cmd, *args, true);
  cmd->add_option("--out", args->out, "Where to publish: the candidate on accept, the LKG on pin (atomic replace)");
  cmd->add_option("artifact", args->artifact, "The candidate artifact")->required();
  cmd->add_flag("--dry-run", args->dry_run, "Evaluate and report; change no state and publish nothing (shadow mode)");
  cmd->add_flag("--quiet,-q", args->quiet, "Human format: the summary and the decision only");
  cmd->add_option("--keep", args->keep, "Accepted artifacts kept for backtests (default 10; the LKG is always kept)");
  cmd->add_option("--waive", args->waive, "Record a waiver for this invariant id before deciding (needs --reason, --expires)");
  cmd->add_option("--reason", args->reason, "Why the waiver is needed (recorded in the journal)");
  cmd->add_option("--expires", args->expires, "How long the waiver lasts, such as \"2h\" (at most 30d)");
  add_flap_flags(cmd, *args);
  return [args] { return run_gate(*args); };
}

std::function<int()> add_waive(CLI::App& app) {
  auto args = std::make_shared<WaiveArgs>();
  auto* cmd = app.add_subcommand("waive", "Waive one invariant of a stream for a while, with a recorded reason");
  cmd->add_option("--contract", args->contract, "Contract file (the id must be in it and waivable)")->required();
  add_state_flags(cmd, *args, true);
  cmd->add_option("id", args->id, "The invariant id to waive")->required();
  cmd->add_option("--reason", args->reason, "Why (recorded in the journal)")->required();
  cmd->add_option("--expires", args->expires, "How long it lasts, such as \"2h\" (at most 30d)")->required();
  return [args] { return run_waive(*args); };
}

std::function<int()> add_status(CLI::App& app) {
  auto args = std::make_shared<GateArgs>();
  auto* cmd = app.add_subcommand("status", "Show and verify the state of one stream, or of all");
  cmd->add_option("--state", args->state, "State directory")->required();
  cmd->add_option("stream", args->stream, "The stream (default: every stream)");
  cmd->add_option("--now", args->now, "The clock (RFC 3339); default: the system clock");
  cmd->add_option("--format", args->format, "Output format")->check(CLI::IsMember({"human", "json"}));
  add_flap_flags(cmd, *args);
  return [args] { return run_status(*args); };
}

std::function<int()> add_history(CLI::App& app) {
  auto args = std::make_shared<HistoryArgs>();
  auto* cmd = app.add_subcommand("history", "Show a stream's decision journal, newest first");
  cmd->add_option("--state", args->state, "State directory")->required();
  cmd->add_option("stream", args->stream, "The stream")->required();
  cmd->add_option("--limit", args->limit, "Records shown (default 50)");
  cmd->add_option("--format", args->format, "Output format")->check(CLI::IsMember({"human", "json"}));
  return [args] { return run_history(*args); };
}

std::function<int()> add_backtest(CLI::App& app) {
  auto args = std::make_shared<StateArgs>();
  auto* cmd = app.add_subcommand("backtest", "Replay a stream's stored accepted artifacts through a new contract");
  cmd->footer("Exit codes: 0 no verdict would flip, 1 some would, 3 cannot judge\n");
  cmd->add_option("--contract", args->contract, "The new contract")->required();
  add_state_flags(cmd, *args, true);
  return [args] { return run_backtest(*args); };
}

}  // namespace invar::cli
