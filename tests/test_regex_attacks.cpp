// regex_safe's findings against a real backtracking engine: PCRE2 (tests
// only), its optimisations off so it backtracks as a plain engine does, runs
// each attack; the work is counted, not timed: PCRE2 calls back before every
// pattern item it tries (auto-callouts), deterministically.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>

#include "regex/backtracking.hpp"

namespace {

using invar::regex::BacktrackingFinding;
using invar::regex::find_superlinear;

// Pattern items PCRE2 tries while searching `subject` (it must not match).
uint64_t work(const std::string& pattern, const std::string& subject) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = PCRE2_AUTO_CALLOUT | PCRE2_NO_AUTO_POSSESS | PCRE2_NO_START_OPTIMIZE | PCRE2_NO_DOTSTAR_ANCHOR;
  std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)> code(
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error, &offset, nullptr),
      pcre2_code_free);
  REQUIRE(code);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(code.get(), nullptr), pcre2_match_data_free);
  std::unique_ptr<pcre2_match_context, decltype(&pcre2_match_context_free)> context(pcre2_match_context_create(nullptr),
                                                                                     pcre2_match_context_free);
  uint64_t items = 0;
  pcre2_set_callout(context.get(), [](pcre2_callout_block*, void* count) { return ++*static_cast<uint64_t*>(count), 0; },
                    &items);
  pcre2_set_match_limit(context.get(), 4'000'000'000u);
  pcre2_set_depth_limit(context.get(), 4'000'000'000u);
  const int rc = pcre2_match(code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                             data.get(), context.get());
  CHECK(rc == PCRE2_ERROR_NOMATCH);  // the attack fails to match: every path is tried
  return items;
}

std::string attack(const BacktrackingFinding& f, int pumps) {
  std::string s = f.prefix;
  for (int i = 0; i < pumps; ++i) s += f.pump;
  return s + f.suffix;
}

}  // namespace

TEST_CASE("regex_safe: exponential findings grow exponentially in PCRE2", "[regex]") {
  for (const char* pattern : {"^(a+)+$", "(a|aa)+$", "^(a|a?)+$", "^(a|b|ab)*c$", "^(?:a|a)*$",
                              "^(([a-z])+.)+[A-Z]([a-z])+$", "^(?:a{1,3})+$", "^(\\w+\\s?)*$", "(x+x+)+y"}) {
    INFO(pattern);
    auto f = find_superlinear(pattern);
    REQUIRE(f);
    CHECK(f->complexity == BacktrackingFinding::Complexity::exponential);
    // From where the work passes 2,000 items, four more pumps at least
    // multiply it by 4 (it doubles every two pumps, or faster).
    int n = 1;
    while (n < 40 && work(pattern, attack(*f, n)) < 2000) ++n;
    const uint64_t before = work(pattern, attack(*f, n)), after = work(pattern, attack(*f, n + 4));
    INFO("attack " << f->prefix << " + " << f->pump << " x n + " << f->suffix << ": " << before << " then " << after);
    CHECK(after >= 4 * before);
  }
}

TEST_CASE("regex_safe: polynomial findings grow with their degree in PCRE2", "[regex]") {
  struct Case {
    const char* pattern;
    int degree;
  };
  for (auto [pattern, degree] : {Case{"\\s+$", 2}, Case{"^\\s+|\\s+$", 2}, Case{"a*b", 2}, Case{".*(?:.*=.*)", 3},
                                 Case{"^(.*)=(.*)$", 2}, Case{"^(.*a){3}$", 3}, Case{"(?:/[^/]+)+\\.php", 2},
                                 Case{"^(?:a+){2}b$", 2}}) {
    INFO(pattern);
    auto f = find_superlinear(pattern);
    REQUIRE(f);
    CHECK(f->complexity == BacktrackingFinding::Complexity::polynomial);
    CHECK(f->degree == degree);
    // Doubling the pump multiplies the work by about 2^degree: more than 2^(degree - 0.5).
    const int n = degree == 2 ? 200 : 50;
    const uint64_t once = work(pattern, attack(*f, n)), twice = work(pattern, attack(*f, 2 * n));
    INFO("attack " << f->prefix << " + " << f->pump << " x n + " << f->suffix << ": " << once << " then " << twice);
    CHECK(static_cast<double>(twice) > static_cast<double>(once) * std::pow(2.0, degree - 0.5));
  }
}
