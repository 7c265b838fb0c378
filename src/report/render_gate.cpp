// Gate decisions rendered for people and for machines.
#include <fmt/format.h>

#include "common/text.hpp"
#include "report/render.hpp"

namespace invar {

namespace {

std::string short_digest(const std::string& d) { return d.size() > 19 ? d.substr(0, 19) : d; }

std::string describe(const store::LkgRecord& r) {
  std::string out = fmt::format("{} (sequence {}", short_digest(r.digest), r.sequence);
  if (!r.generation.empty()) out += ", generation " + r.generation;
  return out + ", accepted " + text::format_rfc3339(r.accepted_at_ms) + ")";
}

nlohmann::json lkg_json(const std::optional<store::LkgRecord>& r) {
  if (!r) return nullptr;
  return {{"digest", r->digest},
          {"sequence", r->sequence},
          {"generation", r->generation},
          {"bytes", r->bytes},
          {"accepted_at", text::format_rfc3339(r->accepted_at_ms)},
          {"contract", r->contract},
          {"contract_digest", r->contract_digest}};
}

}  // namespace

std::string render_decision_human(const gate::Decision& d, const RenderOptions& options) {
  std::string out = render_human(d.report, options);
  std::string prefix = d.dry_run ? "gate (dry run, nothing written): " : "gate: ";
  switch (d.action) {
    case gate::Action::accept:
      out += prefix + fmt::format("accept: {} is the new LKG and was published", describe(*d.lkg_after));
      if (d.lkg_before) out += fmt::format(" (replacing {})", short_digest(d.lkg_before->digest));
      out += "\n";
      break;
    case gate::Action::pin:
      out += prefix + fmt::format("pin: the candidate {} is rejected; publishing the LKG {}\n",
                                  d.candidate.empty() ? "(unread)" : short_digest(d.candidate), describe(*d.lkg_before));
      break;
    case gate::Action::reject:
      out += prefix + "reject: the candidate is rejected and there is no LKG to publish\n";
      break;
  }
  if (d.pinned_since_ms) out += "  pinned since " + text::format_rfc3339(*d.pinned_since_ms) + "\n";
  if (d.flapping) {
    out += "  flapping: verdicts alternate between accept and reject (a partially rolled-out upstream?):\n";
    for (const auto& h : d.flap_history) out += "    " + h + "\n";
  }
  for (const auto& w : d.warnings) out += "  warning: " + w + "\n";
  return out;
}

nlohmann::json decision_to_json(const gate::Decision& d, const std::string& stream) {
  nlohmann::json j = {{"version", 1},
                      {"stream", stream},
                      {"decision", std::string(gate::to_string(d.action))},
                      {"dry_run", d.dry_run},
                      {"candidate", d.candidate},
                      {"generation", d.generation},
                      {"lkg_before", lkg_json(d.lkg_before)},
                      {"lkg_after", lkg_json(d.lkg_after)},
                      {"flapping", d.flapping},
                      {"flap_history", d.flap_history},
                      {"pinned_since", d.pinned_since_ms ? nlohmann::json(text::format_rfc3339(*d.pinned_since_ms))
                                                         : nlohmann::json(nullptr)},
                      {"warnings", d.warnings},
                      {"report", report_to_json(d.report)}};
  return j;
}

}  // namespace invar
