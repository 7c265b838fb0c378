// (g) invar suggest over fuzzed samples: the input is up to four samples
// separated by 0 bytes, after an options byte (headroom, quantile, margin,
// small profile bounds) and, with bit 7 of it, a bundled contract to amend.
// A suggestion must always be a contract that loads; an error must say why.
#include "fuzz.hpp"
#include "invar/suggest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  fuzz::Input in(data, size);
  uint8_t flags = in.byte();
  invar::SuggestOptions options;
  options.headroom = (flags & 3) * 0.3;              // 0, 30%, 60%, 90%
  options.quantile = (flags & 4) ? 0.5 : 1.0;
  options.margin = (flags & 8) ? 1.0 : 2.0;
  options.max_fields = (flags & 16) ? 4 : 1000;
  options.max_enum_values = (flags & 32) ? 1 : 10;
  static const std::string existing = fuzz::slurp(fuzz::source("rules/dns-plan.contract.json"));
  std::vector<invar::Sample> samples;
  for (int i = 0; i < 4 && !in.rest().empty(); ++i)
    samples.push_back({"sample " + std::to_string(i), std::string(in.part()), std::nullopt});
  auto s = (flags & 128) ? invar::suggest(samples, options, existing, fuzz::source("rules"))
                         : invar::suggest(samples, options);
  if (!s) {
    if (s.error().message.empty()) __builtin_trap();
    return 0;
  }
  auto contract = invar::Contract::load_string(s->contract, fuzz::source("rules"), "suggested");
  if (!contract) __builtin_trap();  // suggest() only returns contracts that load
  if (s->samples < 2) __builtin_trap();
  return 0;
}
