// How long regex_safe's backtracking analysis takes on patterns up to 1 KB
// (issue 18's target: under 50 ms each), and how many end "unproven" at the
// budgets. Families of hard shapes, grown to 1 KB, plus random RE2-syntax
// patterns from a small grammar (seeded: the same set every run).
//   regex_analysis [RANDOM_COUNT]
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "regex/backtracking.hpp"

namespace {

// Process CPU time: the machine may be shared, and wall time would count the others.
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

std::string grow(const std::string& unit, const std::string& open, const std::string& close, size_t size) {
  std::string s = open;
  while (s.size() + unit.size() + close.size() <= size) s += unit;
  return s + close;
}

std::string random_pattern(std::mt19937& rng, size_t size) {
  static const std::vector<std::string> atoms = {"a", "b", "[a-z]", "\\d", "\\w", "\\s", ".", "[^/]", "x", "-", "\\.",
                                                 "[a-c0-9]", "="};
  static const std::vector<std::string> quantifiers = {"", "", "", "+", "*", "?", "{1,3}", "{2}", "{0,8}", "+?", "*?"};
  std::string s = rng() % 2 ? "^" : "";
  std::vector<size_t> open;
  while (s.size() < size - 16) {
    const unsigned r = rng() % 10;
    if (r < 2 && open.size() < 12) {
      s += "(?:";
      open.push_back(s.size());
    } else if (r < 4 && !open.empty()) {
      s += ")" + quantifiers[rng() % quantifiers.size()];
      open.pop_back();
    } else if (r < 5 && !open.empty()) {
      s += "|";
    } else {
      s += atoms[rng() % atoms.size()] + quantifiers[rng() % quantifiers.size()];
    }
  }
  while (!open.empty()) s += ")", open.pop_back();
  if (rng() % 2) s += "$";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const int random_count = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::vector<std::pair<std::string, std::string>> patterns;  // family, pattern
  for (size_t size : {256, 1024}) {
    patterns.push_back({"alternation of words, looped", grow("word|", "^(?:", "end)+$", size)});
    patterns.push_back({"nested groups", std::string(size / 4, '(') + "a+" + std::string(size / 4, ')') + "$"});
    patterns.push_back({"nested loops", grow("(?:a+", "^", "", size / 2) + std::string(size / 8, ')') + "$"});
    patterns.push_back({"bounded repeats", grow("[a-z0-9-]{1,63}\\.", "^(?:", ")+[a-z]{2,63}$", size)});
    patterns.push_back({"loops in sequence", grow(".*=", "^", ".*$", size)});
    patterns.push_back({"classes in sequence", grow("\\w+\\s*", "", "$", size)});
    patterns.push_back({"big counted repeat", "^(?:a|b){1," + std::to_string(size) + "}c$"});
  }
  std::mt19937 rng(18);
  for (int i = 0; i < random_count; ++i) patterns.push_back({"random", random_pattern(rng, 64 + rng() % 961)});

  std::vector<double> times;
  int unproven = 0, exponential = 0, polynomial = 0;
  double worst = 0;
  std::string worst_pattern;
  for (const auto& [family, pattern] : patterns) {
    const double start = cpu_ms();
    auto f = invar::regex::find_superlinear(pattern);
    const double ms = cpu_ms() - start;
    times.push_back(ms);
    using C = invar::regex::BacktrackingFinding::Complexity;
    if (f) (f->complexity == C::unproven ? unproven : f->complexity == C::exponential ? exponential : polynomial)++;
    if (family != "random")
      std::printf("%-32s %5zu bytes %8.2f ms  %s\n", family.c_str(), pattern.size(), ms,
                  !f ? "linear" : f->complexity == C::unproven ? "unproven" : f->complexity == C::exponential ? "exponential" : "polynomial");
    if (ms > worst) worst = ms, worst_pattern = pattern;
  }
  std::sort(times.begin(), times.end());
  std::printf("%zu patterns (CPU time): median %.3f ms, p99 %.2f ms, max %.2f ms; exponential %d, polynomial %d, unproven %d\n",
              times.size(), times[times.size() / 2], times[times.size() * 99 / 100], times.back(), exponential,
              polynomial, unproven);
  std::printf("slowest (%zu bytes): %s\n", worst_pattern.size(), worst_pattern.c_str());
}
