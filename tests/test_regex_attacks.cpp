// regex_safe's findings against a real backtracking engine: PCRE2 (tests
// only), its optimisations off so it backtracks as a plain engine does, runs
// each attack; the work is counted, not timed: PCRE2 calls back before every
// pattern item it tries (auto-callouts), deterministically.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

// Issue 34: rule sets of real size. A trie of made-up keywords, factored as
// regex-assembly tools emit them ((?:a(?:bc|d(?:e|f))|...)), of about `size`
// bytes (deterministic: the same words every run).
namespace {

std::string trie_of(const std::vector<std::string>& words) {
  struct Node {
    std::map<char, Node> next;
    bool end = false;
  };
  Node root;
  for (const auto& w : words) {
    Node* n = &root;
    for (char c : w) n = &n->next[c];
    n->end = true;
  }
  std::function<std::string(const Node&)> emit = [&](const Node& n) -> std::string {
    std::string body;
    for (const auto& [c, child] : n.next) body += (body.empty() ? "" : "|") + std::string(1, c) + emit(child);
    if (body.empty()) return "";
    if (n.next.size() > 1 || n.end) body = "(?:" + body + ")";
    return n.end ? body + "?" : body;
  };
  return emit(root);
}

std::string keyword_trie(size_t size) {
  static const char* syllables[] = {"al", "ber", "cal", "do", "ex", "fi", "gra", "hu", "in", "jo", "ka",
                                    "lo", "me", "nu", "op", "pre", "qu", "ra", "sel", "tor", "un", "ver"};
  std::vector<std::string> words;
  uint32_t x = 34;
  std::string t;
  while (t.size() < size) {
    for (int k = 0; k < 64; ++k) {
      std::string w;
      for (uint32_t n = 1 + (x >> 7) % 4; n > 0; --n) x = x * 1103515245 + 12345, w += syllables[(x >> 9) % 22];
      words.push_back(w);
    }
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    t = trie_of(words);
  }
  return t;
}

}  // namespace

TEST_CASE("regex_safe at rule-set scale: 12-16 KB keyword tries are proven safe", "[regex]") {
  const std::string t = keyword_trie(12'000), u = keyword_trie(6'000);
  for (const std::string& pattern : {"(?i)\\b(?:" + t + ")\\b", "(?i)(?:^|[^a-z0-9_])(?:" + t + ")[\\s\\x0b]*\\(",
                                     "(?i)^(?:" + u + ")(?:\\s*,\\s*(?:" + u + "))*$"}) {
    INFO(pattern.substr(0, 80) << "... (" << pattern.size() << " bytes)");
    CHECK(pattern.size() >= 12'000);
    CHECK(pattern.size() <= 16'384);
    auto f = find_superlinear(pattern);
    if (f) INFO(f->reason);
    CHECK_FALSE(f);
  }
}

// PCRE2 with auto-callouts compiles at most about 4 KB of such a pattern:
// the 12 KB rules are refuted, the 2 KB ones also replayed.
TEST_CASE("regex_safe at rule-set scale: a vulnerable loop beside a big trie is refuted with an attack", "[regex]") {
  using C = BacktrackingFinding::Complexity;
  struct Case {
    const char *before, *after;
    C complexity;
  };
  for (const std::string& t : {keyword_trie(12'000), keyword_trie(2'000)})
    for (const auto& [before, after, complexity] : {Case{"(?i)\\b(?:", ")\\s*(?:[a-z]+\\s*)*=", C::exponential},
                                                    Case{"(?i)(?:", "|[a-z])+;", C::exponential},
                                                    Case{"(?i)\\s*(?:", ")\\s*\\(", C::polynomial}}) {
      const std::string pattern = before + t + after;
      INFO(pattern.substr(0, 80) << "... (" << pattern.size() << " bytes)");
      auto f = find_superlinear(pattern);
      REQUIRE(f);
      CHECK(f->complexity == complexity);
      CHECK_FALSE(f->pump.empty());
      if (pattern.size() > 4'000) continue;
      // The attack fails to match in PCRE2 and its work grows with the pumps.
      // Exponential: four more pumps at least multiply it by 8; quadratic:
      // doubling the pumps by more than 2^1.5.
      const bool exponential = complexity == C::exponential;
      const int n = exponential ? 4 : 16;
      const uint64_t once = work(pattern, attack(*f, n)), more = work(pattern, attack(*f, exponential ? n + 4 : 2 * n));
      INFO("attack " << f->prefix << " + " << f->pump << " x n + " << f->suffix << ": " << once << " then " << more);
      CHECK(static_cast<double>(more) > static_cast<double>(once) * (exponential ? 8.0 : std::pow(2.0, 1.5)));
    }
}
