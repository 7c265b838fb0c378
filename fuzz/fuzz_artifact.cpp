// (a) Artifact bytes checked against each bundled contract, with and without
// a baseline, through Contract::check, Baseline, Guard and the renderers.
// Input: [contract][flags] artifact [\0 baseline].
#include <algorithm>
#include <filesystem>
#include <vector>

#include "fuzz.hpp"
#include "invar/gate.hpp"
#include "invar/invar.hpp"
#include "invar/report.hpp"
#include "report/escape.hpp"

#include <nlohmann/json.hpp>

namespace {

const std::vector<invar::Contract>& contracts() {
  static const std::vector<invar::Contract> all = [] {
    std::vector<std::string> paths = fuzz::bundled_contracts();  // the first input byte picks one
    std::vector<invar::Contract> out;
    for (const auto& path : paths) {
      auto c = invar::Contract::load_file(path);
      if (!c) __builtin_trap();  // the bundled contracts must load
      out.push_back(std::move(c.value()));
    }
    return out;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  fuzz::Input in(data, size);
  const auto& all = contracts();
  const invar::Contract& contract = all[in.byte() % all.size()];
  uint8_t flags = in.byte();
  std::string_view artifact = in.part();
  std::string_view baseline_bytes = in.rest();

  invar::CheckContext ctx;
  ctx.now = invar::parse_time(flags & 1 ? "2025-10-20T06:45:00Z" : "2025-11-18T11:20:00Z");
  std::optional<invar::Baseline> baseline;
  if (flags & 2) {
    auto b = invar::Baseline::measure(contract, baseline_bytes);
    if (b) baseline = std::move(b.value());
    ctx.baseline = baseline ? &*baseline : nullptr;
  }
  invar::Report report = contract.check(artifact, ctx);
  if (report.verdict == invar::Verdict::accept && !report.violations.empty())
    for (const auto& v : report.violations)
      if (v.severity == invar::Severity::error) __builtin_trap();  // an accept never carries an error
  invar::render_human(report, {bool(flags & 4), bool(flags & 8)});
  invar::render_json({report});
  // Every format of the registry keeps its own syntax whatever the artifact holds.
  uint64_t lines = 1 + static_cast<uint64_t>(std::count(artifact.begin(), artifact.end(), '\n'));
  for (const auto& v : report.violations)
    if (v.line > lines) __builtin_trap();  // a location inside the artifact
  for (const auto& format : invar::report_formats()) {
    std::string out = format.render({report}, {});
    if (invar::report::valid_utf8(out) != out) __builtin_trap();
    if (format.name == "sarif" && !nlohmann::json::accept(out)) __builtin_trap();
    if (format.name == "junit" || format.name == "github")
      for (char c : out)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') __builtin_trap();
  }

  if (flags & 16) {  // the guard over two updates: never without a config once it had one
    invar::Guard guard(contract);
    auto first = guard.update(baseline_bytes, {}, ctx.now);
    auto second = guard.update(artifact, {}, ctx.now);
    if (first.artifact && !second.artifact) __builtin_trap();
    invar::render_decision_human(second.decision);
  }
  return 0;
}
