// Gate decisions, stream status, journals and backtests, rendered for people
// and for machines.
#include <fmt/format.h>

#include <algorithm>

#include "common/text.hpp"
#include "invar/gate.hpp"
#include "report/render.hpp"
#include "store/store.hpp"

namespace invar {

using nlohmann::json;

namespace {

std::string dump(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n"; }

std::string short_digest(const std::string& d) { return d.size() > 19 ? d.substr(0, 19) : d; }

std::string describe(const LkgRecord& r) {
  std::string out = fmt::format("{} (sequence {}", short_digest(r.digest), r.sequence);
  if (!r.generation.empty()) out += ", generation " + r.generation;
  return out + ", accepted " + text::format_rfc3339(r.accepted_at_ms) + ")";
}

json lkg_json(const std::optional<LkgRecord>& r) {
  if (!r) return nullptr;
  return {{"digest", r->digest},
          {"sequence", r->sequence},
          {"generation", r->generation},
          {"bytes", r->bytes},
          {"accepted_at", text::format_rfc3339(r->accepted_at_ms)},
          {"contract", r->contract},
          {"contract_digest", r->contract_digest}};
}

json time_or_null(const std::optional<int64_t>& ms) { return ms ? json(text::format_rfc3339(*ms)) : json(nullptr); }

// Whether the candidate of decision `r` is in the quarantine.
bool in_quarantine(const JournalRecord& r, const std::vector<Quarantined>& quarantine) {
  if (r.event != "decision" || (r.verdict != "pin" && r.verdict != "reject")) return false;
  return std::any_of(quarantine.begin(), quarantine.end(), [&](const Quarantined& q) { return q.digest == r.candidate; });
}

// " for candidate sha256:..." or " for generation N" (once), or "" (every candidate).
std::string waiver_scope(const Waiver& w) {
  if (!w.for_candidate.empty()) return " for candidate " + short_digest(w.for_candidate) + " (once)";
  if (!w.for_generation.empty()) return " for generation " + text::printable(w.for_generation) + " (once)";
  return "";
}

std::string record_line(const JournalRecord& r, bool quarantined = false) {
  std::string when = text::format_rfc3339(r.time_ms);
  using text::printable;
  if (r.event == "waiver" && r.waiver)
    return fmt::format("{}  waiver  {} until {} by {}: {}  [{}{}]", when, printable(r.waiver->invariant),
                       text::format_rfc3339(r.waiver->expires_ms), printable(r.waiver->by), printable(r.waiver->reason),
                       r.waiver->id, waiver_scope(*r.waiver));
  if (r.event == "revoke" && r.waiver)
    return fmt::format("{}  revoke  waiver {} of {}: {}", when, r.waiver->id, printable(r.waiver->invariant),
                       printable(r.detail));
  if (r.event == "approve" && r.waiver)
    return fmt::format("{}  approve waiver {} of {}: {}", when, r.waiver->id, printable(r.waiver->invariant),
                       printable(r.detail));
  if (r.event == "promote") {  // "promoted X from A to B[; promoted ...]": the first move, then the others
    std::string line = fmt::format("{}  promote {} to {}", when, short_digest(r.candidate), printable(r.stage));
    size_t more = r.detail.find("; ");
    return more == std::string::npos ? line : line + "  (also: " + printable(r.detail.substr(more + 2)) + ")";
  }
  if (r.event == "revert" || r.event == "veto" || r.event == "resume")
    return fmt::format("{}  {:<6}  {}  ({})", when, r.event, r.candidate.empty() ? "-" : short_digest(r.candidate),
                       printable(r.detail));
  if (r.event != "decision") return fmt::format("{}  {:<6}  {}", when, r.event, printable(r.detail));
  std::string line = fmt::format("{}  {:<6}  {}", when, r.verdict, short_digest(r.candidate));
  if (!r.generation.empty()) line += "  generation " + printable(r.generation);
  if (!r.failed.empty()) {
    line += "  failed:";
    for (const auto& f : r.failed) line += " " + printable(f);
  }
  if (!r.waived.empty()) {
    line += "  waived:";
    for (const auto& w : r.waived) line += " " + printable(w);
  }
  if (r.flapping) line += "  FLAPPING";
  if (quarantined) line += "  [quarantined]";
  return line;
}

std::vector<std::string> failed_ids(const Report& report) {
  std::vector<std::string> failed;
  for (const auto& r : report.invariants)
    if (r.outcome == Outcome::fail && r.severity == Severity::error) failed.push_back(r.id);
  for (const auto& v : report.violations)
    if (v.family == "artifact" && std::find(failed.begin(), failed.end(), v.invariant) == failed.end())
      failed.push_back(v.invariant);
  return failed;
}

}  // namespace

std::string render_decision_human(const Decision& d, const RenderOptions& options) {
  RenderOptions as_candidate = options;
  as_candidate.candidate = true;
  std::string out = render_human(d.report, as_candidate);
  std::string prefix = d.dry_run ? "gate (dry run, nothing written): " : "gate: ";
  switch (d.action) {
    case Action::accept:
      out += prefix;
      if (d.dry_run)
        out += d.lkg_after ? fmt::format("accept: {} would become the new LKG (nothing was promoted or published)",
                                         describe(*d.lkg_after))
                           : "accept";
      else
        out += d.lkg_after ? fmt::format("accept: {} is the new LKG and was published", describe(*d.lkg_after))
                           : "accept";
      if (d.lkg_before) out += fmt::format(" (replacing {})", short_digest(d.lkg_before->digest));
      out += "\n";
      break;
    case Action::pin:
      out += prefix + fmt::format(fmt::runtime(d.dry_run ? "pin: the candidate {} is rejected; the LKG{} would be published\n"
                                                         : "pin: the candidate {} is rejected; publishing the LKG{}\n"),
                                  d.candidate.empty() ? "(unread)" : short_digest(d.candidate),
                                  d.lkg_before ? " " + describe(*d.lkg_before) : "");
      break;
    case Action::reject:
      out += prefix + "reject: the candidate is rejected and there is no LKG to publish\n";
      break;
    case Action::unchanged:
      out += prefix + fmt::format(fmt::runtime(d.dry_run ? "unchanged: the candidate is the LKG {}; it would be published again\n"
                                                         : "unchanged: the candidate is the LKG {}; published again, nothing else changed\n"),
                                  d.lkg_before ? describe(*d.lkg_before) : short_digest(d.candidate));
      break;
  }
  if (d.pinned_since_ms) out += "  pinned since " + text::format_rfc3339(*d.pinned_since_ms) + "\n";
  if (d.flapping) {
    out += "  flapping: verdicts alternate between accept and reject (a partially rolled-out upstream?):\n";
    for (const auto& h : d.flap_history) out += "    " + h + "\n";
  }
  if (d.quarantined)
    out += "  the candidate is kept in quarantine as " + d.candidate + " (invar show retrieves it)\n";
  for (const auto& w : d.warnings) out += "  warning: " + text::printable(w) + "\n";
  return out;
}

std::string render_decision_json(const Decision& d, const std::string& stream) {
  return dump({{"version", 1},
               {"stream", stream},
               {"decision", std::string(to_string(d.action))},
               {"dry_run", d.dry_run},
               {"candidate", d.candidate},
               {"generation", d.generation},
               {"lkg_before", lkg_json(d.lkg_before)},
               {"lkg_after", lkg_json(d.lkg_after)},
               {"flapping", d.flapping},
               {"flap_history", d.flap_history},
               {"pinned_since", time_or_null(d.pinned_since_ms)},
               {"quarantined", d.quarantined},
               {"warnings", d.warnings},
               {"report", report_to_json(d.report)}});
}

bool needs_attention(const StreamStatus& st, int64_t now) {
  if (st.pinned_since_ms) return true;
  if (!st.rollout) return false;
  const RolloutReport& r = *st.rollout;
  return r.halted || (r.frozen && r.frozen->active(now)) || (r.location_frozen && r.location_frozen->active(now));
}

std::string render_status_line(const StreamStatus& st, int64_t now) {
  std::vector<std::string> states;
  if (st.pinned_since_ms)
    states.push_back(fmt::format("PINNED since {} ({})", text::format_rfc3339(*st.pinned_since_ms),
                                 text::format_duration(std::max<int64_t>(0, now - *st.pinned_since_ms))));
  if (st.rollout && st.rollout->halted) states.push_back("HALTED: " + text::printable(st.rollout->halted->reason));
  if (st.rollout && st.rollout->frozen && st.rollout->frozen->active(now))
    states.push_back("FROZEN: " + text::printable(st.rollout->frozen->reason));
  if (st.rollout && st.rollout->location_frozen && st.rollout->location_frozen->active(now))
    states.push_back("FROZEN (every stream): " + text::printable(st.rollout->location_frozen->reason));
  if (states.empty()) states.push_back("healthy");
  if (st.flapping) states.push_back("FLAPPING");
  std::string out = st.stream + ": ";
  for (size_t i = 0; i < states.size(); ++i) out += (i ? ", " : "") + states[i];
  if (st.lkg) out += fmt::format("; LKG {} sequence {}", short_digest(st.lkg->digest), st.lkg->sequence);
  else out += "; no LKG";
  return out + "\n";
}

std::string render_status_human(const StreamStatus& st, int64_t now) {
  std::string out = "stream " + st.stream + "\n";
  if (st.lkg)
    out += fmt::format("  LKG: {} sequence {}{}, accepted {} ({} ago), {} bytes, contract {}\n", st.lkg->digest,
                       st.lkg->sequence, st.lkg->generation.empty() ? "" : ", generation " + st.lkg->generation,
                       text::format_rfc3339(st.lkg->accepted_at_ms),
                       text::format_duration(std::max<int64_t>(0, now - st.lkg->accepted_at_ms)), st.lkg->bytes,
                       text::printable(st.lkg->contract));
  else
    out += "  LKG: none (nothing accepted yet)\n";
  out += fmt::format("  retained: {} (verified)\n", counted(st.retained, "accepted artifact"));
  if (!st.quarantined.empty())
    out += fmt::format("  quarantine: {} kept, the last {} ({})\n", counted(st.quarantined.size(), "rejected candidate"),
                       short_digest(st.quarantined.back().digest), text::format_rfc3339(st.quarantined.back().time_ms));
  if (st.pinned_since_ms)
    out += fmt::format("  PINNED since {} ({})\n", text::format_rfc3339(*st.pinned_since_ms),
                       text::format_duration(std::max<int64_t>(0, now - *st.pinned_since_ms)));
  if (st.flapping) {
    out += "  FLAPPING: verdicts alternate between accept and reject:\n";
    for (const auto& h : st.flap_history) out += "    " + h + "\n";
  }
  for (const auto& w : st.active_waivers)
    out += fmt::format("  waiver {}: {}{} until {} by {}: {}\n", w.id, text::printable(w.invariant), waiver_scope(w),
                       text::format_rfc3339(w.expires_ms), text::printable(w.by), text::printable(w.reason));
  for (const auto& w : st.awaiting_approval)
    out += fmt::format("  waiver {}: {}{} until {} by {}: {}  (pending approval: not in force)\n", w.id,
                       text::printable(w.invariant), waiver_scope(w), text::format_rfc3339(w.expires_ms),
                       text::printable(w.by), text::printable(w.reason));
  if (!st.recent.empty()) out += "  last decisions (newest first):\n";
  for (const auto& r : st.recent) out += "    " + record_line(r, in_quarantine(r, st.quarantined)) + "\n";
  if (st.rollout) out += rollout_lines(*st.rollout, now, "  ");
  for (const auto& w : st.warnings) out += "  warning: " + text::printable(w) + "\n";
  return out;
}

std::string render_status_json(const std::vector<StreamStatus>& statuses, const std::vector<Error>& errors,
                               int64_t now_ms) {
  json list = json::array();
  for (const auto& st : statuses) {
    json recent = json::array();
    for (const auto& r : st.recent) recent.push_back(store::to_json(r));
    json waivers = json::array();
    for (const auto& w : st.active_waivers) waivers.push_back(store::to_json(w));
    json awaiting = json::array();
    for (const auto& w : st.awaiting_approval) awaiting.push_back(store::to_json(w));
    json quarantine = json::array();
    for (const auto& q : st.quarantined)
      quarantine.push_back({{"digest", q.digest},
                            {"bytes", q.bytes},
                            {"time", text::format_rfc3339(q.time_ms)},
                            {"verdict", q.verdict},
                            {"failed", q.failed}});
    json totals = json::object();
    for (Action a : {Action::accept, Action::reject, Action::pin, Action::unchanged})
      totals[std::string(to_string(a))] = st.decisions_total[static_cast<size_t>(a)];
    list.push_back({{"stream", st.stream},
                    {"lkg", lkg_json(st.lkg)},
                    {"retained", st.retained},
                    {"quarantine", quarantine},
                    {"decisions_total", totals},
                    {"pinned_since", time_or_null(st.pinned_since_ms)},
                    {"flapping", st.flapping},
                    {"flap_history", st.flap_history},
                    {"waivers", waivers},
                    {"waivers_awaiting_approval", awaiting},
                    {"recent", recent},
                    {"rollout", st.rollout ? rollout_to_json(*st.rollout, now_ms) : json(nullptr)},
                    {"warnings", st.warnings}});
  }
  json problems = json::array();
  for (const auto& e : errors) problems.push_back({{"code", to_string(e.code)}, {"message", e.to_string()}});
  return dump({{"version", 1}, {"streams", list}, {"errors", problems}});
}

std::string render_history_human(const std::vector<JournalRecord>& records, size_t limit,
                                 const std::vector<Quarantined>& quarantine, bool quiet) {
  std::string out;
  size_t shown = 0;
  for (size_t i = records.size(); i-- > 0 && shown < limit; ++shown) {
    const JournalRecord& r = records[i];
    out += record_line(r, in_quarantine(r, quarantine));
    if (r.event == "decision" && r.bytes) out += fmt::format("  {} bytes", *r.bytes);
    out += "\n";
    if (r.event != "decision" || quiet) continue;
    for (const auto& m : r.messages) out += "    " + text::printable(m) + "\n";
    if (r.messages_omitted) out += fmt::format("    ... and {} more\n", r.messages_omitted);
  }
  return out;
}

std::string render_history_json(const std::string& stream, const std::vector<JournalRecord>& records, size_t limit,
                                 const std::vector<Quarantined>& quarantine) {
  json list = json::array();
  size_t shown = 0;
  for (size_t i = records.size(); i-- > 0 && shown < limit; ++shown) {
    json r = store::to_json(records[i]);
    if (records[i].event == "decision") {  // always there for a reader (the journal leaves empty ones out)
      r["messages"] = records[i].messages;
      r["messages_omitted"] = records[i].messages_omitted;
      if (!records[i].bytes) r["bytes"] = nullptr;
    }
    if (in_quarantine(records[i], quarantine)) r["quarantined"] = true;
    list.push_back(std::move(r));
  }
  return dump({{"version", 1}, {"stream", stream}, {"records", list}});
}

std::string render_backtest_human(const std::vector<BacktestRow>& rows, const std::string& contract) {
  std::string out;
  size_t flips = 0;
  for (const auto& row : rows) {
    bool flip = row.report.verdict == Verdict::reject;
    flips += flip;
    auto failed = failed_ids(row.report);
    out += fmt::format("{} sequence {}{}  accepted {}  ->  {}", short_digest(row.entry.digest), row.entry.sequence,
                       row.entry.generation.empty() ? "" : " generation " + row.entry.generation,
                       text::format_rfc3339(row.entry.accepted_at_ms), flip ? "WOULD FLIP to reject" : "accept");
    for (size_t i = 0; i < failed.size(); ++i) out += (i ? ", " : " (") + failed[i];
    if (!failed.empty()) out += ")";
    out += "\n";
  }
  out += fmt::format("backtest: {} replayed through {}: {} would flip\n", counted(rows.size(), "stored accepted artifact"),
                     contract, flips);
  return out;
}

std::string render_backtest_json(const std::vector<BacktestRow>& rows, const std::string& stream) {
  json list = json::array();
  size_t flips = 0;
  for (const auto& row : rows) {
    bool flip = row.report.verdict == Verdict::reject;
    flips += flip;
    list.push_back({{"digest", row.entry.digest},
                    {"sequence", row.entry.sequence},
                    {"generation", row.entry.generation},
                    {"accepted_at", text::format_rfc3339(row.entry.accepted_at_ms)},
                    {"was", "accept"},
                    {"now", flip ? "reject" : "accept"},
                    {"failed", failed_ids(row.report)},
                    {"report", report_to_json(row.report)}});
  }
  return dump({{"version", 1}, {"stream", stream}, {"flips", flips}, {"artifacts", list}});
}

std::string render_waiver(const Waiver& w, const std::string& stream, bool as_json) {
  if (as_json) return dump({{"version", 1}, {"stream", stream}, {"waiver", store::to_json(w)}});
  std::string line = fmt::format("waived {}{} on stream {} until {} (by {}): {}  [waiver {}]\n",
                                 text::printable(w.invariant), waiver_scope(w), stream,
                                 text::format_rfc3339(w.expires_ms), text::printable(w.by), text::printable(w.reason), w.id);
  if (w.approvals > 1)
    line += w.approved_by.empty() ? "  pending approval: not in force until a second person runs `invar waive --approve " +
                                        w.id + " --by NAME`\n"
                                  : "  approved by " + text::printable(w.approved_by) + "\n";
  return line;
}

namespace {

std::string waiver_state(const Waiver& w, int64_t now_ms) {
  if (!w.used_by.empty()) return "used";
  if (w.expires_ms <= now_ms) return "expired";
  if (w.approvals > 1 && w.approved_by.empty()) return "awaiting-approval";
  return w.created_ms > now_ms ? "pending" : "active";
}

}  // namespace

std::string render_waivers(const std::vector<Waiver>& waivers, const std::string& stream, int64_t now_ms, bool as_json) {
  if (as_json) {
    json list = json::array();
    for (const auto& w : waivers) {
      json j = store::to_json(w);
      j["state"] = waiver_state(w, now_ms);
      j["created_at"] = text::format_rfc3339(w.created_ms);
      if (!w.used_by.empty()) j["used_at"] = text::format_rfc3339(w.used_ms);
      if (w.approvals > 1) j["approved_by"] = w.approved_by;  // "" while it awaits a second approver
      list.push_back(std::move(j));
    }
    return dump({{"version", 1}, {"stream", stream}, {"waivers", list}});
  }
  if (waivers.empty()) return "no waivers on stream " + stream + "\n";
  std::string out;
  for (const auto& w : waivers) {
    out += fmt::format("{}  {:<7}  {}{}  until {}  by {}: {}\n", w.id, waiver_state(w, now_ms),
                       text::printable(w.invariant), waiver_scope(w), text::format_rfc3339(w.expires_ms),
                       text::printable(w.by), text::printable(w.reason));
    if (!w.used_by.empty())
      out += fmt::format("              used by {} at {}\n", short_digest(w.used_by), text::format_rfc3339(w.used_ms));
    if (w.approvals > 1)
      out += w.approved_by.empty() ? std::string("              pending approval: needs a second approver\n")
                                   : fmt::format("              approved by {} at {}\n", text::printable(w.approved_by),
                                                 text::format_rfc3339(w.approved_ms));
  }
  return out;
}

std::string render_error_json(const Error& e) {
  auto one = [](const Error& x) {
    return nlohmann::json{{"code", to_string(x.code)}, {"message", x.message}, {"file", x.where.file},
                          {"pointer", x.where.pointer}, {"line", x.where.line}, {"column", x.where.column}};
  };
  nlohmann::json also = nlohmann::json::array();
  for (const auto& more : e.also) also.push_back(one(more));
  nlohmann::json out = {{"version", 1}, {"verdict", "error"}, {"error", one(e)}};
  if (!also.empty()) out["also"] = also;
  return dump(out);
}

}  // namespace invar
