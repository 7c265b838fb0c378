// Prometheus text exposition format (version 0.0.4) of streams and decisions,
// for node_exporter's textfile collector. Samples of one metric are kept
// together under its HELP and TYPE lines, as the format requires.
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <map>

#include "common/files.hpp"
#include "invar/gate.hpp"

namespace invar {

namespace {

// What one stream contributes, from a status or from a decision.
struct StreamSample {
  std::string stream;
  std::array<uint64_t, 4> totals{};
  std::optional<int64_t> last_decision_ms;
  std::optional<LkgRecord> lkg;
  std::optional<int64_t> pinned_since_ms;
  bool flapping = false;
  std::optional<uint64_t> quarantined;
  std::optional<uint64_t> waivers_active;
  std::optional<uint64_t> waivers_awaiting_approval;
  const Decision* decision = nullptr;
  // From a status only: its rollout (stages, halt, freezes) and reverts.
  bool from_status = false;
  uint64_t reverts_total = 0;
  const RolloutReport* rollout = nullptr;
};

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

class Exposition {
 public:
  // One metric family: its samples follow until the next family.
  void family(const char* name, const char* type, const char* help) {
    name_ = name;
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(const std::vector<std::pair<const char*, std::string_view>>& labels, double value) {
    out_ += name_;
    for (size_t i = 0; i < labels.size(); ++i)
      out_ += fmt::format("{}{}=\"{}\"", i ? "," : "{", labels[i].first, escape_label(labels[i].second));
    if (!labels.empty()) out_ += "}";
    out_ += " " + number(value) + "\n";
  }
  std::string text() && { return std::move(out_); }

 private:
  std::string name_;
  std::string out_;
};

std::string render(const std::vector<StreamSample>& streams, int64_t now_ms) {
  Exposition x;
  auto seconds = [](int64_t ms) { return static_cast<double>(ms) / 1000.0; };
  x.family("invar_decisions_total", "counter", "Gate decisions on the stream by verdict (kept in its journal).");
  for (const auto& s : streams)
    for (Action a : {Action::accept, Action::reject, Action::pin, Action::unchanged})
      x.sample({{"stream", s.stream}, {"verdict", to_string(a)}}, static_cast<double>(s.totals[static_cast<size_t>(a)]));
  x.family("invar_last_decision_timestamp_seconds", "gauge", "When the stream's last decision was taken (Unix time).");
  for (const auto& s : streams)
    if (s.last_decision_ms) x.sample({{"stream", s.stream}}, seconds(*s.last_decision_ms));
  x.family("invar_lkg_sequence", "gauge", "Promotions on the stream so far (the LKG's sequence; 0: no LKG).");
  for (const auto& s : streams) x.sample({{"stream", s.stream}}, s.lkg ? static_cast<double>(s.lkg->sequence) : 0);
  x.family("invar_lkg_age_seconds", "gauge", "Time since the stream's LKG was accepted.");
  for (const auto& s : streams)
    if (s.lkg) x.sample({{"stream", s.stream}}, seconds(std::max<int64_t>(0, now_ms - s.lkg->accepted_at_ms)));
  x.family("invar_lkg_bytes", "gauge", "Size of the stream's LKG.");
  for (const auto& s : streams)
    if (s.lkg) x.sample({{"stream", s.stream}}, static_cast<double>(s.lkg->bytes));
  x.family("invar_pinned", "gauge", "1 while the stream serves its LKG because the last candidates were rejected.");
  for (const auto& s : streams) x.sample({{"stream", s.stream}}, s.pinned_since_ms ? 1 : 0);
  x.family("invar_pinned_seconds", "gauge", "How long the stream has been pinned to its LKG (0: not pinned).");
  for (const auto& s : streams)
    x.sample({{"stream", s.stream}}, s.pinned_since_ms ? seconds(std::max<int64_t>(0, now_ms - *s.pinned_since_ms)) : 0);
  x.family("invar_flapping", "gauge", "1 when verdicts alternate between accept and reject within the flap window.");
  for (const auto& s : streams) x.sample({{"stream", s.stream}}, s.flapping ? 1 : 0);
  x.family("invar_quarantined_candidates", "gauge", "Rejected candidates kept in the stream's quarantine.");
  for (const auto& s : streams)
    if (s.quarantined) x.sample({{"stream", s.stream}}, static_cast<double>(*s.quarantined));
  x.family("invar_waivers_active", "gauge", "Waivers in force on the stream (started, not expired, not used up).");
  for (const auto& s : streams)
    if (s.waivers_active) x.sample({{"stream", s.stream}}, static_cast<double>(*s.waivers_active));
  x.family("invar_waivers_awaiting_approval", "gauge",
           "Two-person waivers recorded and not yet approved by a second actor (not expired).");
  for (const auto& s : streams)
    if (s.waivers_awaiting_approval) x.sample({{"stream", s.stream}}, static_cast<double>(*s.waivers_awaiting_approval));

  // From a status: the stages and what stops them.
  x.family("invar_stream_halted", "gauge", "1 while the stream is halted by a revert or a veto (until `invar resume`).");
  for (const auto& s : streams)
    if (s.from_status) x.sample({{"stream", s.stream}}, s.rollout && s.rollout->halted ? 1 : 0);
  x.family("invar_stream_frozen", "gauge", "1 while a freeze of the stream, or of every stream, is in force.");
  for (const auto& s : streams)
    if (s.from_status) {
      const RolloutReport* r = s.rollout;
      bool frozen = r && ((r->frozen && r->frozen->active(now_ms)) || (r->location_frozen && r->location_frozen->active(now_ms)));
      x.sample({{"stream", s.stream}}, frozen ? 1 : 0);
    }
  x.family("invar_rollout_reverts_total", "counter",
           "Reverts and vetoes in the stream's journal (its kept part: old journals dropped take theirs along).");
  for (const auto& s : streams)
    if (s.from_status) x.sample({{"stream", s.stream}}, static_cast<double>(s.reverts_total));
  x.family("invar_stage_lkg_sequence", "gauge", "The stage's own sequence (rises with every change of the stage; 0: empty).");
  for (const auto& s : streams)
    if (s.rollout)
      for (const auto& st : s.rollout->stages)
        x.sample({{"stream", s.stream}, {"stage", st.name}}, st.lkg ? static_cast<double>(st.lkg->sequence) : 0);
  x.family("invar_stage_in_flight", "gauge", "1 while the stage holds an artifact in flight (baking, or holding on a check).");
  for (const auto& s : streams)
    if (s.rollout)
      for (const auto& st : s.rollout->stages)
        x.sample({{"stream", s.stream}, {"stage", st.name}}, st.state == "baking" || st.state == "holding" ? 1 : 0);
  x.family("invar_stage_seconds", "gauge", "Time the stage has held what it holds (since it entered the stage).");
  for (const auto& s : streams)
    if (s.rollout)
      for (const auto& st : s.rollout->stages)
        if (st.lkg) x.sample({{"stream", s.stream}, {"stage", st.name}}, seconds(std::max<int64_t>(0, now_ms - st.lkg->since_ms)));

  // From a decision: what its candidate measured and cost.
  x.family("invar_check_duration_seconds", "gauge", "Time the last decision took, from reading the candidate to the verdict.");
  for (const auto& s : streams)
    if (s.decision) x.sample({{"stream", s.stream}}, s.decision->judge_ms / 1000.0);
  x.family("invar_invariant_violations", "gauge", "Violations of each invariant in the last candidate (0: it held).");
  for (const auto& s : streams)
    if (s.decision)
      for (const auto& r : s.decision->report.invariants)
        x.sample({{"stream", s.stream}, {"invariant", r.id}, {"kind", r.kind}}, static_cast<double>(r.violations));
  x.family("invar_measure", "gauge", "What an invariant measured of the last candidate (count, sum, bytes, keys, value, age_seconds).");
  for (const auto& s : streams)
    if (s.decision)
      for (const auto& o : s.decision->observed)
        x.sample({{"stream", s.stream}, {"invariant", o.invariant}, {"kind", o.kind}, {"measure", o.measure}}, o.value);
  x.family("invar_measure_baseline", "gauge", "The same measure of the LKG the candidate was compared with.");
  for (const auto& s : streams)
    if (s.decision)
      for (const auto& o : s.decision->observed)
        if (o.baseline)
          x.sample({{"stream", s.stream}, {"invariant", o.invariant}, {"kind", o.kind}, {"measure", o.measure}}, *o.baseline);
  x.family("invar_measure_change_ratio", "gauge", "Candidate measure / LKG measure - 1 (0.1: grew 10%).");
  for (const auto& s : streams)
    if (s.decision)
      for (const auto& o : s.decision->observed)
        if (o.baseline && *o.baseline != 0)
          x.sample({{"stream", s.stream}, {"invariant", o.invariant}, {"kind", o.kind}, {"measure", o.measure}},
                   o.value / *o.baseline - 1);
  return std::move(x).text();
}

}  // namespace

std::string render_metrics(const std::vector<StreamStatus>& statuses, int64_t now_ms) {
  std::vector<StreamSample> samples;
  for (const auto& st : statuses) {
    StreamSample s;
    s.stream = st.stream;
    s.totals = st.decisions_total;
    if (!st.recent.empty()) s.last_decision_ms = st.recent.front().time_ms;
    s.lkg = st.lkg;
    s.pinned_since_ms = st.pinned_since_ms;
    s.flapping = st.flapping;
    s.quarantined = st.quarantined.size();
    s.waivers_active = st.active_waivers.size();
    s.waivers_awaiting_approval = st.awaiting_approval.size();
    s.from_status = true;
    s.reverts_total = st.reverts_total;
    if (st.rollout) s.rollout = &*st.rollout;
    samples.push_back(std::move(s));
  }
  return render(samples, now_ms);
}

std::string render_metrics(const Decision& d, const std::string& stream, int64_t now_ms) {
  StreamSample s;
  s.stream = stream;
  s.totals = d.decisions_total;
  s.last_decision_ms = now_ms;
  s.lkg = d.lkg_after;
  s.pinned_since_ms = d.pinned_since_ms;
  s.flapping = d.flapping;
  s.decision = &d;
  return render({s}, now_ms);
}

namespace {

// The counters that must never go down, by metric and labels, from a text
// render_metrics wrote: invar_decisions_total and invar_lkg_sequence.
std::map<std::string, double> monotonic_samples(std::string_view text) {
  std::map<std::string, double> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    size_t brace = line.find('{');
    std::string_view name = line.substr(0, brace);
    if (brace == std::string_view::npos || (name != "invar_decisions_total" && name != "invar_lkg_sequence")) continue;
    std::string key(name);
    size_t i = brace + 1;
    while (i < line.size() && line[i] != '}') {  // key="value" pairs, escaped as escape_label does
      if (line[i] == ',') ++i;
      size_t eq = line.find("=\"", i);
      if (eq == std::string_view::npos) break;
      key += "|" + std::string(line.substr(i, eq - i)) + "=";
      for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) key += line[i] == '\\' && i + 1 < line.size() ? line[++i] : line[i];
      ++i;
    }
    if (i >= line.size()) continue;
    out[key] = std::strtod(std::string(line.substr(i + 1)).c_str(), nullptr);
  }
  return out;
}

}  // namespace

bool metrics_older(std::string_view fresh, std::string_view existing) {
  auto before = monotonic_samples(existing);
  for (const auto& [key, value] : monotonic_samples(fresh))
    if (auto it = before.find(key); it != before.end() && it->second > value) return true;
  return false;
}

std::optional<Error> write_file_atomically(const std::string& path, std::string_view bytes) {
  auto split = files::split_file_path(path);
  if (!split) return split.error();
  auto d = files::Dir::open(split->first);
  if (!d) return d.error();
  return d->write_atomic(split->second, bytes, "metrics");
}

}  // namespace invar
