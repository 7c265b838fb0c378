// regex_safe's backtracking analysis at rule-set scale (issue 34): the CPU
// time of find_superlinear per pattern of a rule set (bench/redos/ruleset.json,
// from bench/redos/ruleset.py), and its verdicts by size bucket. Prints a
// markdown table; the patterns "vulnerable by construction" that were proven
// safe, if any, are listed (a soundness failure).
//   regex_ruleset [RULESET_JSON] [REPEATS] [VERDICTS_JSON]
// VERDICTS_JSON, when given, receives each pattern's verdict ("safe",
// "exponential", "polynomial", "unproven"), for a comparison with recheck.
// Needs only src/regex (backtracking, nfa, pattern_tree), so the same file
// builds against an older tree for a before/after comparison.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "regex/backtracking.hpp"

namespace {

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(q * double(v.size())))];
}

const char* bucket_of(size_t size) {
  return size <= 1024 ? "<= 1 KB" : size <= 4096 ? "1-4 KB" : size <= 8192 ? "4-8 KB" : "8-16 KB";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "bench/redos/ruleset.json";
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 2;
  }
  const nlohmann::json corpus = nlohmann::json::parse(in);
  struct Bucket {
    int safe = 0, exponential = 0, polynomial = 0, unproven = 0;
    std::vector<double> ms;
  };
  std::map<std::string, Bucket> buckets;
  Bucket all;
  int unsound = 0;
  nlohmann::json verdicts = nlohmann::json::array();
  for (const auto& entry : corpus) {
    const std::string pattern = entry.at("pattern").get<std::string>();
    double best = 1e18;
    std::optional<invar::regex::BacktrackingFinding> f;
    for (int r = 0; r < repeats; ++r) {  // the least CPU of the repeats
      const double start = cpu_ms();
      f = invar::regex::find_superlinear(pattern);
      best = std::min(best, cpu_ms() - start);
    }
    using C = invar::regex::BacktrackingFinding::Complexity;
    for (Bucket* b : {&buckets[bucket_of(pattern.size())], &all}) {
      b->ms.push_back(best);
      (!f ? b->safe : f->complexity == C::unproven ? b->unproven : f->complexity == C::exponential ? b->exponential
                                                                                                    : b->polynomial)++;
    }
    verdicts.push_back(!f ? "safe" : f->complexity == C::unproven ? "unproven" : f->complexity == C::exponential ? "exponential" : "polynomial");
    if (!f && entry.value("intent", "") == "vulnerable") {
      ++unsound;
      std::printf("UNSOUND: proven safe, vulnerable by construction (%s): %.120s\n",
                  entry.value("shape", "").c_str(), pattern.c_str());
    }
    if (f && f->complexity == C::unproven)
      std::fprintf(stderr, "unproven (%zu bytes, %s): %s\n", pattern.size(), entry.value("shape", "").c_str(),
                   f->reason.c_str());
  }
  std::printf("| size | patterns | safe | exponential | polynomial | unproven | CPU p50 ms | p99 ms | max ms |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  auto row = [](const std::string& name, const Bucket& b) {
    std::printf("| %s | %zu | %d | %d | %d | %d | %.2f | %.2f | %.2f |\n", name.c_str(), b.ms.size(), b.safe,
                b.exponential, b.polynomial, b.unproven, quantile(b.ms, 0.5), quantile(b.ms, 0.99),
                quantile(b.ms, 1.0));
  };
  for (const char* name : {"<= 1 KB", "1-4 KB", "4-8 KB", "8-16 KB"})
    if (buckets.count(name)) row(name, buckets[name]);
  row("all", all);
  std::printf("\n%s: %zu patterns, CPU per pattern the least of %d run(s); vulnerable by construction proven safe: %d\n",
              path.c_str(), corpus.size(), repeats, unsound);
  if (argc > 3) std::ofstream(argv[3]) << verdicts.dump() << "\n";
  return unsound ? 1 : 0;
}
