// Microbenchmarks (Google Benchmark). Not part of the test suite; run with
//   cmake --preset release -DINVAR_BUILD_BENCH=ON && cmake --build --preset release --target invar_bench
//   build/release/bench/invar_bench
// BM_Match shows that matching is linear whatever the pattern: the ReDoS
// shape ^(a+)+$ costs about what ^a+$ costs, per byte, at every size.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "invar/invar.hpp"

namespace {

invar::Contract match_contract(const char* pattern) {
  std::string text = std::string(R"({"contract": "bench", "invariants": [{"id": "m", "match": "$.s", "pattern": ")") +
                     pattern + R"("}]})";
  return invar::Contract::load_string(text, ".", "bench").value();
}

void match(benchmark::State& state, const char* pattern) {
  auto contract = match_contract(pattern);
  std::string artifact = "{\"s\": \"" + std::string(static_cast<size_t>(state.range(0)), 'a') + "!\"}";
  for (auto _ : state) {
    auto report = contract.check(artifact);
    benchmark::DoNotOptimize(report.verdict);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Match_Plain(benchmark::State& state) { match(state, "^a+$"); }
void BM_Match_ReDoS(benchmark::State& state) { match(state, "^(a+)+$"); }
BENCHMARK(BM_Match_Plain)->RangeMultiplier(10)->Range(10'000, 1'000'000);
BENCHMARK(BM_Match_ReDoS)->RangeMultiplier(10)->Range(10'000, 1'000'000);

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void BM_FeatureFile(benchmark::State& state, const char* artifact) {
  auto contract = invar::Contract::load_file(std::string(INVAR_SOURCE_DIR) + "/rules/feature-file.contract.json").value();
  std::string bytes = slurp(std::string(INVAR_SOURCE_DIR) + "/examples/cloudflare-2025-features/" + artifact);
  for (auto _ : state) {
    auto report = contract.check(bytes);
    benchmark::DoNotOptimize(report.verdict);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK_CAPTURE(BM_FeatureFile, good, "good.json");
BENCHMARK_CAPTURE(BM_FeatureFile, bad, "bad.json");

void BM_LoadContract(benchmark::State& state) {
  for (auto _ : state) {
    auto c = invar::Contract::load_file(std::string(INVAR_SOURCE_DIR) + "/rules/dns-plan.contract.json");
    benchmark::DoNotOptimize(c.ok());
  }
}
BENCHMARK(BM_LoadContract);

}  // namespace

BENCHMARK_MAIN();
