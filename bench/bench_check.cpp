// Microbenchmarks (Google Benchmark). Not part of the test suite; run with
//   cmake --preset bench && cmake --build --preset bench && build/bench/bench/invar_bench
// (bench/run generates bench/work/ first; BM_Parse and BM_Kind need it).
// BM_Match shows that matching is linear whatever the pattern: the ReDoS
// shape ^(a+)+$ costs about what ^a+$ costs, per byte, at every size.
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <map>
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

// Compile, parse and evaluate separated, per invariant kind, on a generated
// 100,000-record DNS plan (bench/run writes it to bench/work/; skipped when absent).
const std::string& plan_100k() {
  static const std::string bytes = slurp(std::string(INVAR_SOURCE_DIR) + "/bench/work/dns-100000.json");
  return bytes;
}

void BM_Parse(benchmark::State& state) {
  // A contract whose only invariant selects nothing: the cost is reading the bytes.
  auto contract = invar::Contract::load_string(
                      R"({"contract": "p", "invariants": [{"id": "n", "count": "$.none", "min": 0}]})", ".", "p")
                      .value();
  if (plan_100k().empty()) return state.SkipWithError("run bench/run first: no bench/work/dns-100000.json");
  for (auto _ : state) benchmark::DoNotOptimize(contract.check(plan_100k()).verdict);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * plan_100k().size()));
}
BENCHMARK(BM_Parse)->Unit(benchmark::kMillisecond);

// Parse plus one invariant: subtract BM_Parse for the invariant's own cost.
void BM_Kind(benchmark::State& state, const char* invariant) {
  auto contract = invar::Contract::load_string(std::string(R"({"contract": "k", "invariants": [)") + invariant + "]}",
                                               std::string(INVAR_SOURCE_DIR) + "/rules", "k");
  if (!contract) return state.SkipWithError(contract.error().to_string().c_str());
  if (plan_100k().empty()) return state.SkipWithError("run bench/run first: no bench/work/dns-100000.json");
  invar::CheckContext ctx;
  ctx.now = invar::parse_time("2025-10-20T06:45:00Z");
  for (auto _ : state) benchmark::DoNotOptimize(contract->check(plan_100k(), ctx).verdict);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * plan_100k().size()));
}
BENCHMARK_CAPTURE(BM_Kind, schema, R"({"id": "s", "schema": "$", "file": "../schemas/dns-plan.schema.json"})")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kind, count, R"({"id": "c", "count": "$.records[*]", "min": 1})")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kind, count_each, R"({"id": "c", "each": "$.records[*]", "count": "@.targets[*]", "min": 1})")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kind, refs, R"({"id": "r", "refs": "$.records[*].plan", "in": "$.plans[*].id"})")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kind, unique, R"({"id": "u", "unique": "$.records[*].name"})")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kind, match, R"({"id": "m", "match": "$.records[*].name", "pattern": "r[0-9]+\\..*"})")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kind, freshness, R"({"id": "f", "freshness": "$.generated_at", "max_age": "10m"})")
    ->Unit(benchmark::kMillisecond);

long minor_faults() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// A long-lived contract checking the same plan again and again (a
// distributor's guard): with Options::reuse_parsers (arg 1) the checks after
// the first take no page faults for the parser's buffers; without (arg 0)
// each takes them all. Counters: the first check's minor faults, and the
// mean of the later ones'.
void BM_RepeatedCheck(benchmark::State& state, const char* plan_file) {
  static std::map<std::string, std::string> plans;
  std::string& plan = plans[plan_file];
  if (plan.empty()) plan = slurp(std::string(INVAR_SOURCE_DIR) + "/bench/work/" + plan_file);
  if (plan.empty()) return state.SkipWithError("run bench/run first: no plan in bench/work/");
  invar::Options options;
  options.reuse_parsers = state.range(0) != 0;
  options.threads = 1;
  auto contract = invar::Contract::load_file(std::string(INVAR_SOURCE_DIR) + "/rules/dns-plan.contract.json", options);
  if (!contract) return state.SkipWithError(contract.error().to_string().c_str());
  invar::CheckContext ctx;
  ctx.now = invar::parse_time("2025-10-20T06:45:00Z");
  long before = minor_faults();
  benchmark::DoNotOptimize(contract->check(plan, ctx).verdict);
  const long first = minor_faults() - before;
  before = minor_faults();
  for (auto _ : state) benchmark::DoNotOptimize(contract->check(plan, ctx).verdict);
  state.counters["first_check_faults"] = static_cast<double>(first);
  state.counters["later_check_faults"] =
      static_cast<double>(minor_faults() - before) / static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * plan.size()));
}
BENCHMARK_CAPTURE(BM_RepeatedCheck, plan_100k, "dns-100000.json")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RepeatedCheck, plan_500k, "dns-500000.json")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// check_file of the 500k plan read in batches of `arg` bytes (0: the whole
// document), one thread, by a long-lived contract: time per check, and the
// minor faults of the first check and of each later one. Batches keep each
// record's parsed form in cache while every invariant looks at it; their
// size trades that against per-batch work.
void BM_BatchedCheck(benchmark::State& state) {
  const std::string path = std::string(INVAR_SOURCE_DIR) + "/bench/work/dns-500000.json";
  if (!std::ifstream(path)) return state.SkipWithError("run bench/run first: no plan in bench/work/");
  invar::Options options;
  options.threads = 1;
  options.stream_min_bytes = state.range(0) ? 1 : 0;
  options.stream_batch_bytes = static_cast<uint64_t>(std::max<int64_t>(state.range(0), 1));
  auto contract = invar::Contract::load_file(std::string(INVAR_SOURCE_DIR) + "/rules/dns-plan.contract.json", options);
  if (!contract) return state.SkipWithError(contract.error().to_string().c_str());
  invar::CheckContext ctx;
  ctx.now = invar::parse_time("2025-10-20T06:45:00Z");
  long before = minor_faults();
  benchmark::DoNotOptimize(contract->check_file(path, ctx)->verdict);
  const long first = minor_faults() - before;
  before = minor_faults();
  for (auto _ : state) benchmark::DoNotOptimize(contract->check_file(path, ctx)->verdict);
  state.counters["first_check_faults"] = static_cast<double>(first);
  state.counters["later_check_faults"] =
      static_cast<double>(minor_faults() - before) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_BatchedCheck)->Arg(0)->Arg(64 << 10)->Arg(256 << 10)->Arg(1 << 20)->Arg(4 << 20)->Arg(16 << 20)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
