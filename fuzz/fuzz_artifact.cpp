// (a) Artifact bytes checked against each bundled contract, with and without
// a baseline, through Contract::check, Baseline, Guard and the renderers.
// Input: [contract][flags] artifact [\0 baseline].
#include <algorithm>
#include <filesystem>
#include <vector>

#include "fuzz.hpp"
#include "invar/gate.hpp"
#include "invar/invar.hpp"

namespace {

const std::vector<invar::Contract>& contracts() {
  static const std::vector<invar::Contract> all = [] {
    std::vector<std::string> paths;  // sorted: the first input byte picks one
    for (const auto& e : std::filesystem::directory_iterator(fuzz::source("rules"))) paths.push_back(e.path().string());
    std::sort(paths.begin(), paths.end());
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

  if (flags & 16) {  // the guard over two updates: never without a config once it had one
    invar::Guard guard(contract);
    auto first = guard.update(baseline_bytes, {}, ctx.now);
    auto second = guard.update(artifact, {}, ctx.now);
    if (first.artifact && !second.artifact) __builtin_trap();
    invar::render_decision_human(second.decision);
  }
  return 0;
}
