// Rollout reports (a stream's stages, what a rollout command did), for
// people and for machines (schemas/rollout-report.schema.json). Fails
// closed in text: nothing reads as healthy or promoted unless the report
// says it was evaluated or done.
#include <fmt/format.h>

#include <algorithm>

#include "common/text.hpp"
#include "invar/gate.hpp"
#include "report/render.hpp"

namespace invar {

using nlohmann::json;

namespace {

constexpr size_t kMaxDetailBytes = 240;  // a check's detail in the human report (a server's error can be long)

std::string short_digest(const std::string& d) { return d.size() > 19 ? d.substr(0, 19) : d; }

// `s` cut to `max` bytes (at a UTF-8 boundary) and made printable.
std::string bounded(std::string_view s, size_t max = kMaxDetailBytes) {
  if (s.size() <= max) return text::printable(s);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return text::printable(s.substr(0, end)) + "...";
}

json time_or_null(int64_t ms) { return ms ? json(text::format_rfc3339(ms)) : json(nullptr); }

std::string ago(int64_t then, int64_t now) {
  return then <= now ? text::format_duration(now - then) + " ago" : "in " + text::format_duration(then - now);
}

json holding_json(const std::optional<StageHolding>& h) {
  if (!h) return nullptr;
  return {{"digest", h->digest},
          {"bytes", h->bytes},
          {"generation", h->generation},
          {"accepted_sequence", h->accepted_sequence},
          {"sequence", h->sequence},
          {"since", text::format_rfc3339(h->since_ms)}};
}

// A state the schema names, or "unknown" (never read as healthy).
std::string known(const std::string& state, std::initializer_list<const char*> states) {
  for (const char* s : states)
    if (state == s) return state;
  return "unknown";
}

json check_json(const CheckState& c) {
  return {{"id", c.id},
          {"digest", c.digest},
          {"state", known(c.state, {"healthy", "unhealthy", "unknown"})},
          {"value", c.value ? json(*c.value) : json(nullptr)},
          {"detail", c.detail},
          {"at", time_or_null(c.at_ms)},
          {"healthy_since", time_or_null(c.healthy_since_ms)},
          {"unknown_since", time_or_null(c.unknown_since_ms)}};
}

json freeze_json(const std::optional<Freeze>& f, int64_t now) {
  if (!f) return nullptr;
  return {{"by", f->by},
          {"reason", f->reason},
          {"at", text::format_rfc3339(f->at_ms)},
          {"expires", time_or_null(f->expires_ms)},
          {"active", f->active(now)}};
}

// A check's state as people read it: anything but the three known states
// (or none) is not healthy.
std::string check_state(const CheckState& c) {
  if (c.state == "healthy" || c.state == "unhealthy" || c.state == "unknown") return c.state;
  if (c.state.empty()) return "not evaluated";
  return "unknown (" + bounded(c.state, 32) + ")";
}

std::string check_line(const CheckState& c, const std::optional<StageHolding>& held, int64_t now) {
  std::string line = "check " + text::printable(c.id) + ": " + check_state(c);
  if (c.value) line += fmt::format(", value {}", *c.value);
  line += c.at_ms ? ", at " + text::format_rfc3339(c.at_ms) + " (" + ago(c.at_ms, now) + ")" : ", never evaluated";
  if (c.state == "healthy" && c.healthy_since_ms) line += ", healthy since " + text::format_rfc3339(c.healthy_since_ms);
  if (c.state == "unknown" && c.unknown_since_ms) line += ", unknown since " + text::format_rfc3339(c.unknown_since_ms);
  if (!held || held->digest != c.digest)
    line += " [of " + (c.digest.empty() ? std::string("no artifact") : short_digest(c.digest)) +
            ", not what the stage holds]";
  if (!c.detail.empty()) line += ": " + bounded(c.detail);
  return line;
}

std::string holding_line(const StageHolding& h, int64_t now) {
  std::string out = fmt::format("{} (stage sequence {}", short_digest(h.digest), h.sequence);
  if (!h.generation.empty()) out += ", generation " + bounded(h.generation, 64);
  return out + ", since " + text::format_rfc3339(h.since_ms) + ", " + ago(h.since_ms, now) + ")";
}

std::string state_text(const StageReport& s) {
  if (s.state == "empty") return "empty (nothing yet)";
  if (s.state == "settled") return "settled (nothing in flight)";
  if (s.state == "promoted") return "promoted to the next stage";
  if (s.state == "baking" || s.state == "holding" || s.state == "reverted") return s.state;
  return "state unknown (" + (s.state.empty() ? std::string("not reported") : bounded(s.state, 32)) + ")";
}

std::string stage_lines(const StageReport& s, int64_t now, const std::string& in) {
  std::string out = in + "stage " + text::printable(s.name) + ": " +
                    (s.lkg ? holding_line(*s.lkg, now) : std::string("holds nothing")) + "\n";
  std::string state = state_text(s);
  if (!s.detail.empty()) state += ": " + bounded(s.detail, 4 * kMaxDetailBytes);
  bool current = std::any_of(s.health.begin(), s.health.end(),
                             [&](const CheckState& c) { return s.lkg && c.digest == s.lkg->digest && c.at_ms; });
  if ((s.state == "baking" || s.state == "holding") && !current) state += " (no health check evaluated yet)";
  out += in + "  " + state + "\n";
  if (s.next_ms) out += in + "  next step at " + text::format_rfc3339(s.next_ms) + " (" + ago(s.next_ms, now) + ")\n";
  for (const auto& c : s.health) out += in + "  " + check_line(c, s.lkg, now) + "\n";
  return out;
}

std::string freeze_line(const Freeze& f, const char* what, int64_t now) {
  std::string out = f.active(now) ? fmt::format("FROZEN ({})", what) : fmt::format("freeze of {} expired", what);
  out += " by " + text::printable(f.by) + " since " + text::format_rfc3339(f.at_ms);
  out += f.expires_ms ? " until " + text::format_rfc3339(f.expires_ms) : std::string(" until thawed");
  out += ": " + bounded(f.reason);
  if (f.active(now)) out += "; nothing is admitted or promoted (`invar thaw` lifts it)";
  return out;
}

}  // namespace

json rollout_to_json(const RolloutReport& r, int64_t now) {
  json stages = json::array();
  for (const auto& s : r.stages) {
    json health = json::array();
    for (const auto& c : s.health) health.push_back(check_json(c));
    stages.push_back({{"name", s.name},
                      {"lkg", holding_json(s.lkg)},
                      {"state", known(s.state, {"empty", "settled", "baking", "holding", "promoted", "reverted"})},
                      {"detail", s.detail},
                      {"next", time_or_null(s.next_ms)},
                      {"health", health}});
  }
  json halted = nullptr;
  if (r.halted)
    halted = {{"digest", r.halted->digest},
              {"reason", r.halted->reason},
              {"by", r.halted->by},
              {"stage", r.halted->stage},
              {"at", text::format_rfc3339(r.halted->at_ms)}};
  return {{"version", 1},
          {"stream", r.stream},
          {"rollout", r.policy},
          {"stages", stages},
          {"actions", r.actions},
          {"stopped", r.stopped},
          {"halted", halted},
          {"frozen", freeze_json(r.frozen, now)},
          {"location_frozen", freeze_json(r.location_frozen, now)},
          {"vetoed", r.vetoed},
          {"warnings", r.warnings}};
}

namespace {

std::string header(const RolloutReport& r) {
  if (r.stages.empty()) return "no stages (one implicit stage: the LKG)";
  return fmt::format("rollout {}, {} stage{}", text::quoted(r.policy), r.stages.size(), r.stages.size() == 1 ? "" : "s");
}

// Everything after the header line.
std::string body(const RolloutReport& r, int64_t now, const std::string& in) {
  std::string out;
  for (const auto& s : r.stages) out += stage_lines(s, now, in);
  for (const auto& a : r.actions) out += in + bounded(a, 4 * kMaxDetailBytes) + "\n";
  if (r.halted) {
    const Halt& h = *r.halted;
    out += in + "HALTED since " + text::format_rfc3339(h.at_ms) + " (" + ago(h.at_ms, now) + ") by " +
           text::printable(h.by) + (h.stage.empty() ? "" : " in stage " + text::printable(h.stage)) + ": reverted " +
           short_digest(h.digest) + ": " + bounded(h.reason) + "\n";
    out += in + "  nothing is promoted and gates pin until `invar resume --stream " + r.stream +
           " --reason ...` lifts it\n";
  }
  if (r.frozen) out += in + freeze_line(*r.frozen, "this stream", now) + "\n";
  if (r.location_frozen) out += in + freeze_line(*r.location_frozen, "every stream of the location", now) + "\n";
  bool explained = r.halted || (r.frozen && r.frozen->active(now)) ||
                   (r.location_frozen && r.location_frozen->active(now));
  if (!r.stopped.empty() && !explained) out += in + "STOPPED: " + bounded(r.stopped) + "\n";
  if (!r.vetoed.empty()) {
    out += in + "vetoed (refused by gates, never promoted):";
    for (const auto& v : r.vetoed) out += " " + short_digest(v);
    out += "\n";
  }
  for (const auto& w : r.warnings) out += in + "warning: " + text::printable(w) + "\n";
  return out;
}

}  // namespace

std::string rollout_lines(const RolloutReport& r, int64_t now, const std::string& in) {
  return in + header(r) + "\n" + body(r, now, in);
}

std::string render_rollout_human(const RolloutReport& r, int64_t now_ms) {
  if (r.stream.empty()) return "every stream of the location\n" + body(r, now_ms, "  ");  // freeze --all, thaw --all
  return "stream " + r.stream + ": " + header(r) + "\n" + body(r, now_ms, "  ");
}

std::string render_rollout_json(const RolloutReport& r, int64_t now_ms) {
  return rollout_to_json(r, now_ms).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace invar
