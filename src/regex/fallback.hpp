// The PCRE2 fallback: the ECMA-262 patterns no linear-time engine runs
// (lookaround, backreferences; regex/ecma.hpp), when the user opts in
// (Options::regex_fallback). PCRE2 backtracks, so each match is bounded by
// work, never time: its match limit (backtracking points tried), depth
// limit (nested backtracking) and heap limit. Exceeding one is an answer of
// its own, never "no match". No JIT: it counts differently, ignores the
// depth limit and is not on every platform; the interpreter counts the same
// on every machine for one PCRE2 version.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct pcre2_real_code_8;

namespace invar::regex {

// A match's answer: yes or no, or undecided because a limit ran out (or
// PCRE2 could not read the text). Only the fallback leaves it undecided.
enum class Match : uint8_t { no, yes, match_limit, depth_limit, heap_limit, failed };

// The limits of one match on the fallback (docs/limits.md).
inline constexpr uint32_t kFallbackMatchLimit = 1'000'000;
inline constexpr uint32_t kFallbackDepthLimit = 10'000;
inline constexpr uint32_t kFallbackHeapLimitKiB = 16 * 1024;

// For messages: "regex_fallback_match_limit 1000000" for an undecided answer.
std::string undecided_reason(Match m);

class Fallback {
 public:
  // `translated`: PCRE2 syntax from ecma::translate; `source`: the ECMA-262
  // pattern, for messages. Null and `error` set when PCRE2 refuses it.
  static std::unique_ptr<Fallback> compile(std::string_view translated, std::string_view source, std::string& error);
  ~Fallback();
  Fallback(const Fallback&) = delete;
  Fallback& operator=(const Fallback&) = delete;

  // Some substring of `s` matches (PartialMatch). Thread-safe.
  Match match(std::string_view s) const;
  const std::string& source() const { return source_; }

 private:
  Fallback(pcre2_real_code_8* code, std::string_view source) : code_(code), source_(source) {}
  pcre2_real_code_8* code_;
  std::string source_;
};

}  // namespace invar::regex
