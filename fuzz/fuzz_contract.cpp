// (b) Contract bytes loaded and compiled, then run on fixed artifacts, and
// (flag 128) linted with an example. Input: [flags] contract text.
#include <unistd.h>

#include <cstdio>

#include "fuzz.hpp"
#include "invar/invar.hpp"
#include "invar/lint.hpp"

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
  options.allow_unknown_keywords = flags & 8;
  static const char* const kDialects[] = {"", "draft-04", "draft-06", "draft-07", "2019-09", "2020-12", "draft-05", "7"};
  options.default_dialect = kDialects[(flags >> 4) & 7];
  if (flags & 128) {
    // lint reads a file: the input, written beside nothing (its schema files do not resolve).
    static const std::string path = "/tmp/invar-fuzz-lint-" + std::to_string(::getpid()) + ".contract.json";
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
      std::fwrite(in.rest().data(), 1, in.rest().size(), f);
      std::fclose(f);
      invar::LintOptions lint;
      lint.contract = options;
      lint.examples = {fuzz::source("examples/aws-2025-dns/good.json")};
      auto reports = invar::lint_contract(path, lint);
      std::remove(path.c_str());
      if (reports)
        for (const auto& r : *reports) invar::render_json({r});
      else if (reports.error().message.empty())
        __builtin_trap();  // an error always says why
    }
  }
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
