// (b) Contract bytes loaded and compiled, then run on fixed artifacts.
// Input: [flags] contract text.
#include "fuzz.hpp"
#include "invar/invar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  static const std::string features = fuzz::slurp(fuzz::source("examples/cloudflare-2025-features/good.json"));
  static const std::string plan = fuzz::slurp(fuzz::source("examples/aws-2025-dns/good.json"));
  fuzz::Input in(data, size);
  uint8_t flags = in.byte();
  invar::Options options;
  options.format_assertion = flags & 1;
  if (flags & 2) options.limits.max_eval_steps = 10'000;
  if (flags & 4) options.limits.max_report_violations = 3;
  auto contract = invar::Contract::load_string(in.rest(), fuzz::source("rules"), "fuzz.contract.json", options);
  if (!contract) {
    contract.error().to_string();
    return 0;
  }
  invar::CheckContext ctx;
  ctx.now = invar::parse_time("2025-10-20T06:45:00Z");
  auto base = invar::Baseline::measure(*contract, features);
  if (base) ctx.baseline = &*base;
  for (const std::string* artifact : {&features, &plan}) {
    auto report = contract->check(*artifact, ctx);
    invar::render_human(report);
    invar::render_json({report});
  }
  return 0;
}
