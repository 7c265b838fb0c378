// The on-call page (`invar status --html`, `invar history --html`): one
// self-contained HTML document. Everything read from the state is escaped
// (report::html_escape); the plots are SVG drawn here, so the page runs no
// script and fetches nothing (its Content-Security-Policy says so too).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/text.hpp"
#include "invar/gate.hpp"
#include "report/escape.hpp"

namespace invar {

namespace {

using report::html_escape;

constexpr const char* kGood = "#2e7d32";       // accepted decisions
constexpr const char* kBad = "#d32f2f";        // rejected and pinned ones
constexpr const char* kLine = "#3366cc";       // a series' line
constexpr const char* kThreshold = "#e65100";  // the contract's thresholds
constexpr size_t kMaxSeries = 24;              // plots per stream (observations of changing contracts)

constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #212121; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 24px 0 8px; } h3 { font-size: 15px; margin: 16px 0 6px; }
.meta, .note { color: #616161; font-size: 12px; }
.banner { padding: 10px 14px; margin: 8px 0; border-radius: 4px; color: #fff; font-weight: 600; font-size: 16px; }
.banner.healthy { background: #1b5e20; } .banner.pinned, .banner.halted { background: #b71c1c; }
.banner.frozen { background: #37474f; } .banner.flapping { background: #ff8f00; color: #212121; }
.banner.empty { background: #757575; }
.warning { background: #fff8e1; border-left: 4px solid #ff8f00; padding: 4px 8px; margin: 4px 0; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; vertical-align: top; padding: 3px 8px; border-bottom: 1px solid #e0e0e0; }
th { background: #f5f5f5; font-weight: 600; } td.time { white-space: nowrap; }
code { font-family: ui-monospace, monospace; font-size: 12px; }
.v-accept, .v-unchanged, .v-seed { color: #2e7d32; font-weight: 600; } .v-reject, .v-pin, .v-revert { color: #c62828; font-weight: 600; }
ul.messages { margin: 2px 0; padding-left: 18px; } ul.messages li { font-family: ui-monospace, monospace; font-size: 12px; }
svg.plot { display: block; margin: 6px 0 14px; background: #fafafa; border: 1px solid #e0e0e0; }
svg.plot text { font: 11px system-ui, sans-serif; fill: #424242; } svg.plot text.title { font-size: 13px; font-weight: 600; }
svg.plot text.threshold-label { fill: #e65100; font-weight: 600; }
)";

std::string esc(std::string_view s) { return html_escape(s); }
std::string short_digest(const std::string& d) { return d.size() > 19 ? d.substr(0, 19) : d; }
bool bad_verdict(const std::string& v) { return v == "reject" || v == "pin"; }

// A number for labels: integers whole, others to 4 significant digits.
std::string num(double v) {
  if (std::fabs(v) < 1e15 && v == std::floor(v)) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{:.4g}", v);
}

std::string digest_cell(const std::string& d) {
  if (d.empty()) return "-";
  return "<code title=\"" + esc(d) + "\">" + esc(short_digest(d)) + "</code>";
}

std::string ago(int64_t at_ms, int64_t now_ms) {
  return esc(text::format_rfc3339(at_ms)) + " (" + text::format_duration(std::max<int64_t>(0, now_ms - at_ms)) + " ago)";
}

struct Point {
  int64_t t = 0;
  double v = 0;
  bool bad = false;
  std::string tip;
};
struct Threshold {
  double v = 0;
  std::string label;
};
struct Series {
  std::string title;
  std::vector<Point> points;
  std::vector<Threshold> lines;
};

// "HH:MM" within a day, else "MM-DD HH:MM" (both UTC, from RFC 3339).
std::string tick_label(int64_t ms, bool days) {
  std::string t = text::format_rfc3339(ms);  // YYYY-MM-DDTHH:MM:SS...
  if (t.size() < 16) return t;
  return days ? t.substr(5, 5) + " " + t.substr(11, 5) : t.substr(11, 5);
}

// One plot: the series over [t0, t1], thresholds dashed, accepts green and
// rejects or pins red, each point's decision in its tooltip.
std::string plot_svg(const Series& s, int64_t t0, int64_t t1) {
  constexpr double W = 1000, H = 240, L = 80, R = 120, T = 28, B = 40;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& p : s.points) lo = std::min(lo, p.v), hi = std::max(hi, p.v);
  for (const auto& l : s.lines) lo = std::min(lo, l.v), hi = std::max(hi, l.v);
  const bool nonnegative = lo >= 0;
  if (!(hi > lo)) lo -= std::max(1.0, std::fabs(lo) * 0.1), hi += std::max(1.0, std::fabs(hi) * 0.1);
  // Round ticks (1, 2 or 5 times a power of ten), at most 5 intervals.
  double raw = (hi - lo) / 4, magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / magnitude, step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
  lo = std::floor(lo / step) * step, hi = std::ceil(hi / step) * step;
  if (nonnegative && lo < 0) lo = 0;
  auto x = [&](int64_t t) { return t1 > t0 ? L + static_cast<double>(t - t0) / static_cast<double>(t1 - t0) * (W - L - R) : (W - R + L) / 2; };
  auto y = [&](double v) { return T + (hi - v) / (hi - lo) * (H - T - B); };
  std::string out = fmt::format(
      "<svg class=\"plot\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "role=\"img\" aria-label=\"{2}\"><title>{2}</title><text class=\"title\" x=\"{3}\" y=\"18\">{2}</text>"
      "<rect x=\"{3}\" y=\"{4}\" width=\"{5}\" height=\"{6}\" fill=\"#fff\" stroke=\"#bdbdbd\"/>",
      W, H, esc(s.title), L, T, W - L - R, H - T - B);
  for (int i = 0; i <= 8 && lo + step * i <= hi + step * 1e-9; ++i) {  // value grid
    double v = lo + step * i;
    out += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#eeeeee\"/>"
                       "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>",
                       L, W - R, y(v), L - 6, y(v) + 4, esc(num(v)));
  }
  const bool days = t1 - t0 > 86'400'000;
  for (int i = 0; i <= 4 && (t1 > t0 || i == 0); ++i) {  // time axis, UTC
    int64_t t = t0 + (t1 - t0) * i / 4;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>", x(t), H - B + 16, tick_label(t, days));
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">time (UTC)</text>", W - R, H - 6);
  for (const auto& l : s.lines)
    out += fmt::format("<line class=\"threshold\" x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\" "
                       "stroke-width=\"2\" stroke-dasharray=\"8 5\"/><text class=\"threshold-label\" x=\"{4}\" "
                       "y=\"{5:.1f}\">{6}</text>",
                       L, W - R, y(l.v), kThreshold, W - R + 6, y(l.v) + 4, esc(l.label));
  std::string line;
  for (const auto& p : s.points) line += fmt::format("{:.1f},{:.1f} ", x(p.t), y(p.v));
  if (s.points.size() > 1)
    out += fmt::format("<polyline class=\"series\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>", kLine, line);
  for (const auto& p : s.points)
    out += fmt::format("<circle class=\"point {}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"><title>{}</title></circle>",
                       p.bad ? "bad" : "good", x(p.t), y(p.v), p.bad ? kBad : kGood, esc(p.tip));
  return out + "</svg>\n";
}

// The plots of a stream's decisions (oldest first): bytes, each observation
// (a delta as value / baseline), and a numeric generation. Thresholds are the
// newest decision's: the contract now in force.
std::vector<Series> series_of(const std::vector<const JournalRecord*>& decisions) {
  Series bytes{"candidate bytes", {}, {}}, generation{"generation", {}, {}};
  std::vector<Series> observed;
  std::map<std::string, size_t> index;
  for (const auto* r : decisions) {
    bool bad = bad_verdict(r->verdict);
    std::string tip = text::format_rfc3339(r->time_ms) + " " + r->verdict + " " + short_digest(r->candidate);
    if (r->bytes) bytes.points.push_back({r->time_ms, static_cast<double>(*r->bytes), bad, tip + ": " + num(*r->bytes) + " bytes"});
    char* end = nullptr;
    double g = r->generation.empty() ? 0 : std::strtod(r->generation.c_str(), &end);
    if (end && *end == '\0' && std::isfinite(g)) generation.points.push_back({r->time_ms, g, bad, tip + ": generation " + r->generation});
    for (const auto& o : r->observations) {
      if (o.kind == "monotonic") continue;  // the generation's plot
      bool ratio = o.kind == "delta";
      if (ratio && (!o.baseline || *o.baseline == 0)) continue;
      double v = ratio ? o.value / *o.baseline : o.value;
      if (!std::isfinite(v)) continue;
      std::string key = o.invariant + "\n" + o.measure;
      auto [it, added] = index.emplace(key, observed.size());
      if (added) {
        if (observed.size() == kMaxSeries) {
          index.erase(it);
          continue;
        }
        observed.push_back({o.invariant + (ratio ? ": " + o.measure + " / baseline" : ": " + o.measure), {}, {}});
      }
      Series& s = observed[it->second];
      s.points.push_back({r->time_ms, v, bad, tip + ": " + num(o.value) + (ratio ? " (baseline " + num(*o.baseline) + ")" : "")});
      s.lines.clear();  // the newest decision's thresholds
      auto add = [&](const std::optional<double>& t, const char* label) {
        if (t && std::isfinite(*t)) s.lines.push_back({*t, std::string(label) + " " + num(*t)});
      };
      if (ratio) {
        add(o.ratio_min, "min ratio");
        add(o.ratio_max, "max ratio");
      } else {
        add(o.min, "min");
        add(o.max, "max");
      }
    }
  }
  std::vector<Series> out;
  if (!bytes.points.empty()) out.push_back(std::move(bytes));
  for (auto& s : observed) out.push_back(std::move(s));
  if (!generation.points.empty()) out.push_back(std::move(generation));
  return out;
}

// The banners: every state that applies, or healthy.
std::string banners(const StreamStatus& st, int64_t now_ms) {
  std::string out;
  auto banner = [&](const char* cls, const std::string& text) {
    out += fmt::format("<div class=\"banner {}\">{}</div>\n", cls, text);
  };
  if (st.rollout && st.rollout->halted) {
    const Halt& h = *st.rollout->halted;
    banner("halted", "HALTED since " + ago(h.at_ms, now_ms) + ": " + esc(short_digest(h.digest)) + " was taken back by " +
                         esc(h.by) + (h.stage.empty() ? "" : " in " + esc(h.stage)) + ": " + esc(h.reason));
  }
  if (st.rollout)
    for (const auto* f : {&st.rollout->frozen, &st.rollout->location_frozen})
      if (*f && (*f)->active(now_ms))
        banner("frozen", std::string(f == &st.rollout->frozen ? "FROZEN" : "FROZEN (every stream)") + " by " +
                             esc((*f)->by) + " since " + esc(text::format_rfc3339((*f)->at_ms)) +
                             ((*f)->expires_ms ? " until " + esc(text::format_rfc3339((*f)->expires_ms)) : "") + ": " +
                             esc((*f)->reason));
  if (st.pinned_since_ms)
    banner("pinned", "PINNED since " + ago(*st.pinned_since_ms, now_ms) +
                         ": new candidates are rejected, the LKG is served");
  if (st.flapping) banner("flapping", "FLAPPING: verdicts alternate between accept and reject");
  if (out.empty()) {
    if (st.lkg) banner("healthy", "healthy: serving the LKG " + esc(short_digest(st.lkg->digest)) + ", accepted " + ago(st.lkg->accepted_at_ms, now_ms));
    else banner("empty", "no LKG yet: nothing accepted");
  }
  for (const auto& w : st.warnings) out += "<div class=\"warning\">warning: " + esc(w) + "</div>\n";
  return out;
}

std::string messages_list(const JournalRecord& r) {
  if (r.messages.empty() && !r.messages_omitted) return "";
  std::string out = "<ul class=\"messages\">";
  for (const auto& m : r.messages) out += "<li>" + esc(m) + "</li>";
  if (r.messages_omitted) out += fmt::format("<li>... and {} more</li>", r.messages_omitted);
  return out + "</ul>";
}

std::string lkg_table(const StreamStatus& st, int64_t now_ms) {
  if (!st.lkg) return "<p>LKG: none (nothing accepted yet)</p>\n";
  const LkgRecord& l = *st.lkg;
  return fmt::format("<table class=\"lkg\"><tr><th>LKG</th><th>sequence</th><th>generation</th><th>bytes</th>"
                     "<th>accepted</th><th>contract</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                     "<td>{} <code title=\"{}\">{}</code></td></tr></table>\n"
                     "<p class=\"note\">retained: {} accepted artifacts; decisions: {} accept, {} reject, {} pin, {} unchanged</p>\n",
                     digest_cell(l.digest), l.sequence, esc(l.generation.empty() ? "-" : l.generation), l.bytes,
                     ago(l.accepted_at_ms, now_ms), esc(l.contract), esc(l.contract_digest),
                     esc(short_digest(l.contract_digest)), st.retained, st.decisions_total[0], st.decisions_total[1],
                     st.decisions_total[2], st.decisions_total[3]);
}

std::string stages_table(const RolloutReport& r, int64_t now_ms) {
  if (r.stages.empty()) return "";
  std::string out = "<h3>Stages" + (r.policy.empty() ? "" : " (" + esc(r.policy) + ")") +
                    "</h3>\n<table class=\"stages\"><tr><th>stage</th><th>state</th><th>LKG</th><th>generation</th>"
                    "<th>since</th><th>detail</th></tr>";
  for (const auto& s : r.stages)
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", esc(s.name),
                       esc(s.state), s.lkg ? digest_cell(s.lkg->digest) : "-",
                       s.lkg && !s.lkg->generation.empty() ? esc(s.lkg->generation) : "-",
                       s.lkg ? ago(s.lkg->since_ms, now_ms) : "-", esc(s.detail));
  out += "</table>\n";
  if (!r.vetoed.empty()) {
    out += "<p>vetoed (refused by digest):";
    for (const auto& v : r.vetoed) out += " " + digest_cell(v);
    out += "</p>\n";
  }
  return out;
}

// `title`: "Waivers in force" or "Waivers awaiting approval" (two-person
// waivers recorded, not yet approved: not in force; nothing when none).
std::string waivers_table(const std::vector<Waiver>& waivers, const std::string& title) {
  if (waivers.empty()) return title == "Waivers in force" ? "<p>waivers in force: none</p>\n" : "";
  std::string out = "<h3>" + title + "</h3>\n<table class=\"waivers\"><tr><th>id</th><th>invariant</th>"
                    "<th>scope</th><th>until</th><th>by</th><th>reason</th></tr>";
  for (const auto& w : waivers) {
    std::string scope = !w.for_candidate.empty()    ? "candidate " + digest_cell(w.for_candidate) + " (once)"
                        : !w.for_generation.empty() ? "generation " + esc(w.for_generation) + " (once)"
                                                    : "every candidate";
    out += fmt::format("<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       esc(w.id), esc(w.invariant), scope, esc(text::format_rfc3339(w.expires_ms)), esc(w.by),
                       esc(w.reason));
  }
  return out + "</table>\n";
}

// The quarantine, newest first, each candidate with the messages of the
// newest decision on it that the journal read holds.
std::string quarantine_table(const std::vector<Quarantined>& quarantine, const std::vector<JournalRecord>& journal) {
  if (quarantine.empty()) return "<p>quarantine: empty</p>\n";
  std::string out = "<h3>Quarantine (rejected candidates kept)</h3>\n<table class=\"quarantine\"><tr><th>candidate</th>"
                    "<th>judged</th><th>verdict</th><th>bytes</th><th>failed</th><th>violations</th></tr>";
  for (size_t i = quarantine.size(); i-- > 0;) {
    const Quarantined& q = quarantine[i];
    const JournalRecord* rec = nullptr;
    for (size_t k = journal.size(); k-- > 0 && !rec;)
      if (journal[k].event == "decision" && journal[k].candidate == q.digest) rec = &journal[k];
    std::string failed;
    for (const auto& f : q.failed) failed += (failed.empty() ? "" : ", ") + esc(f);
    std::string why = rec ? messages_list(*rec) : "";
    if (!q.reason.empty()) why += "<p>" + esc(q.reason) + "</p>";
    out += fmt::format("<tr><td>{}</td><td class=\"time\">{}</td><td class=\"v-{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       digest_cell(q.digest), esc(text::format_rfc3339(q.time_ms)), esc(q.verdict), esc(q.verdict),
                       q.bytes, failed.empty() ? "-" : failed, why.empty() ? "-" : why);
  }
  return out + "</table>\n";
}

// The last `listed` records, newest first.
std::string journal_table(const std::vector<JournalRecord>& journal, size_t listed) {
  std::string out = fmt::format("<h3>Journal (the last {} records, newest first)</h3>\n<table class=\"journal\"><tr>"
                                "<th>time (UTC)</th><th>event</th><th>candidate</th><th>generation</th><th>bytes</th>"
                                "<th>failed</th><th>messages</th></tr>",
                                std::min(listed, journal.size()));
  for (size_t i = journal.size(), shown = 0; i-- > 0 && shown < listed; ++shown) {
    const JournalRecord& r = journal[i];
    bool decision = r.event == "decision";
    std::string what = decision ? r.verdict : r.event;
    std::string failed;
    for (const auto& f : r.failed) failed += (failed.empty() ? "" : ", ") + esc(f);
    std::string messages = decision ? messages_list(r) : esc(r.detail);
    if (r.flapping) messages += " <b>FLAPPING</b>";
    out += fmt::format("<tr><td class=\"time\">{}</td><td class=\"v-{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       esc(text::format_rfc3339(r.time_ms)), esc(what), esc(what), digest_cell(r.candidate),
                       esc(r.generation), r.bytes ? std::to_string(*r.bytes) : "", failed, messages);
  }
  return out + "</table>\n";
}

std::string plots(const std::vector<JournalRecord>& journal) {
  std::vector<const JournalRecord*> decisions;
  for (const auto& r : journal)
    if (r.event == "decision") decisions.push_back(&r);
  size_t total = decisions.size();
  if (total > kHtmlMaxPoints) decisions.erase(decisions.begin(), decisions.end() - static_cast<std::ptrdiff_t>(kHtmlMaxPoints));
  if (decisions.empty()) return "<p>plots: no decisions in the journal yet</p>\n";
  std::string out = fmt::format("<h3>History</h3>\n<p class=\"note\">{} decisions plotted{}, oldest to newest; "
                                "<span style=\"color:{}\">&#9679; accepted</span>, <span style=\"color:{}\">&#9679; "
                                "rejected or pinned</span>; dashed lines: the contract's thresholds (as of the newest "
                                "decision). Decisions before this version of invar have no sizes or values.</p>\n",
                                decisions.size(),
                                total > decisions.size() ? fmt::format(" (the last {} of {})", kHtmlMaxPoints, total) : "",
                                kGood, kBad);
  int64_t t0 = decisions.front()->time_ms, t1 = decisions.back()->time_ms;
  for (const auto& s : series_of(decisions)) out += plot_svg(s, t0, t1);
  return out;
}

}  // namespace

std::string render_html(const std::vector<StreamPage>& streams, const std::string& title, int64_t now_ms,
                        size_t listed) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>invar: " +
                    esc(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>invar: " + esc(title) +
                    "</h1>\n<p class=\"meta\">state as read at " + esc(text::format_rfc3339(now_ms)) +
                    " (UTC); times are UTC</p>\n";
  if (streams.empty()) out += "<p>no streams</p>\n";
  for (const auto& page : streams) {
    const StreamStatus& st = page.status;
    out += "<section class=\"stream\">\n<h2>stream " + esc(st.stream) + "</h2>\n" + banners(st, now_ms) +
           lkg_table(st, now_ms);
    if (st.rollout) out += stages_table(*st.rollout, now_ms);
    out += waivers_table(st.active_waivers, "Waivers in force") +
           waivers_table(st.awaiting_approval, "Waivers awaiting approval") +
           quarantine_table(st.quarantined, page.journal) + plots(page.journal) + journal_table(page.journal, listed) +
           "</section>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace invar
