// (j) regex_safe's backtracking analysis (regex/backtracking.hpp) on any
// pattern, with its budgets drawn from the input, and the same pattern
// through a contract's regex_safe for both consumers.
// Input: [budgets] pattern.
// Also the pattern as ECMA-262 (JSON Schema's): translated, compiled, matched.
// Checked: no crash or leak; the analysis ends within a second (its budget
// counts steps; a second is far past what the default one allows, even
// under sanitizers: a step that is not charged shows up here); a finding
// is complete: an attack for exponential and polynomial ones (a pump, a
// degree of 2 or more), a reason for every one.
#include <chrono>

#include "fuzz.hpp"
#include "invar/invar.hpp"
#include "regex/backtracking.hpp"
#include "regex/regex.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // patterns up to 4 KB: four times what the target (50 ms per 1 KB) is stated for
  fuzz::Input in(data, size);
  const uint8_t budgets = in.byte();
  const std::string pattern(in.rest());
  invar::regex::BacktrackingOptions options;
  if (budgets & 1) options.max_states = 16 + (budgets >> 4) * 8;
  if (budgets & 2) options.max_steps = 1000 + (budgets >> 4) * 1000;
  const auto start = std::chrono::steady_clock::now();
  auto f = invar::regex::find_superlinear(pattern, options);
  const auto took = std::chrono::steady_clock::now() - start;
  if (took > std::chrono::milliseconds(1000)) __builtin_trap();
  if (f) {
    using C = invar::regex::BacktrackingFinding::Complexity;
    if (f->reason.empty()) __builtin_trap();
    if (f->complexity != C::unproven && f->pump.empty()) __builtin_trap();
    if (f->complexity == C::polynomial && f->degree < 2) __builtin_trap();
  }
  // The ECMA-262 translator (regex/ecma.hpp) on the same pattern: what it
  // refuses has a reason; what compiles (on PCRE2 too) answers a match.
  auto ecma = invar::regex::compile_ecma(pattern, 1 << 20, /*allow_fallback=*/true);
  if (ecma.pattern) ecma.pattern->match(pattern);
  else if (ecma.error.empty()) __builtin_trap();
  if (budgets & 8) {
    std::string artifact = "{\"p\": [\"";
    for (char c : pattern) {
      if (c == '"' || c == '\\') artifact += '\\';
      if (static_cast<unsigned char>(c) < 0x20) return 0;
      artifact += c;
    }
    artifact += "\"]}";
    static const auto contract = invar::Contract::load_string(
        R"({"contract": "fuzz", "invariants": [{"id": "re2", "regex_safe": "$.p[*]"},
            {"id": "bt", "regex_safe": "$.p[*]", "consumer": "backtracking"}]})",
        ".", "fuzz");
    if (!contract) __builtin_trap();
    contract->check(artifact);
  }
  return 0;
}
