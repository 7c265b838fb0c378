// All matching in invar runs in linear time. Patterns are compiled once, at
// contract or schema load, with log_errors(false) and an explicit memory budget.
// A pattern that is only a sequence of ASCII classes and literals (most
// identifier, hostname and enum-like patterns) is matched by a class
// sequence, one that is only an alternation of literals ("A|AAAA|CNAME") by
// comparing with each, a sequence before one (suffixed.hpp) by both, without
// RE2: compiling RE2 costs more, and these are faster on short strings.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "regex/alternation.hpp"
#include "regex/fallback.hpp"
#include "regex/sequence.hpp"
#include "regex/suffixed.hpp"

namespace invar::regex {

// Where a match must lie: the whole string (RE2::FullMatch; the contract's
// match and not_match) or anywhere in it (RE2::PartialMatch; JSON Schema).
enum class Anchoring { whole_string, anywhere };

struct CompileOutcome;

// A compiled pattern. Immutable; safe to use from many threads.
class Pattern {
 public:
  Pattern();
  ~Pattern();

  // Whether `s` matches. A fallback's undecided answer (a limit ran out)
  // reads as no match: where that must not pass, use match().
  bool matches(std::string_view s) const {
    if (re_) {
      re2::StringPiece piece(s.data(), s.size());
      return anchoring_ == Anchoring::whole_string ? RE2::FullMatch(piece, *re_) : RE2::PartialMatch(piece, *re_);
    }
    if (alternation_)
      return anchoring_ == Anchoring::whole_string ? alternation_->full_match(s) : alternation_->partial_match(s);
    if (sequence_) return anchoring_ == Anchoring::whole_string ? sequence_->full_match(s) : sequence_->partial_match(s);
    if (suffixed_) return suffixed_->full_match(s);
    return fallback_->match(s) == Match::yes;
  }
  // The answer, or why there is none (only a fallback pattern has none).
  Match match(std::string_view s) const {
    if (fallback_) [[unlikely]]
      return fallback_->match(s);
    return matches(s) ? Match::yes : Match::no;
  }
  // Whether this pattern runs on RE2 (else on a class sequence, an alternation
  // of literals, a sequence before one, or the PCRE2 fallback).
  bool uses_re2() const { return re_ != nullptr; }
  // The PCRE2 fallback it runs on, or null.
  const Fallback* fallback() const { return fallback_.get(); }

 private:
  friend CompileOutcome compile(std::string_view pattern, Anchoring anchoring, int64_t max_mem);
  friend CompileOutcome compile_ecma(std::string_view pattern, int64_t max_mem, bool allow_fallback);
  Anchoring anchoring_ = Anchoring::anywhere;
  std::optional<Sequence> sequence_;
  std::optional<Alternation> alternation_;
  std::optional<SuffixAlternation> suffixed_;  // full matches only (anchored at both ends when `anywhere`)
  std::unique_ptr<RE2> re_;
  std::unique_ptr<Fallback> fallback_;
};

struct CompileOutcome {
  std::unique_ptr<Pattern> pattern;  // set on success
  std::string error;                 // the reason on failure
  // compile_ecma's failures: what kind, and where in the pattern (bytes).
  enum class Failure {
    engine,       // RE2 refused the translation: its memory budget, its limits
    fallback,     // PCRE2 refused it (a lookbehind of no fixed length, a property it lacks)
    syntax,       // not ECMA-262
    unsupported,  // ECMA-262 only the fallback runs, and it is not allowed: `error` names the construct
    too_large,    // a repetition count over RE2's 1000, or nesting over ecma::kMaxNesting
  };
  Failure failure = Failure::engine;
  size_t offset = 0;
};

// Compiles `pattern` in RE2 syntax (UTF-8, no captures kept): a class
// sequence when it is one and can be matched that way, else RE2 with
// `max_mem` as its memory budget.
CompileOutcome compile(std::string_view pattern, Anchoring anchoring, int64_t max_mem);

// JSON Schema patterns are ECMA-262 with the u flag: translated with ECMA's
// meaning (regex/ecma.hpp) and compiled for Anchoring::anywhere, on RE2 (or
// a class sequence, an alternation). The constructs RE2 cannot run
// (lookaround, backreferences) run on the PCRE2 fallback when
// `allow_fallback`, else fail (Failure::unsupported).
CompileOutcome compile_ecma(std::string_view pattern, int64_t max_mem, bool allow_fallback = false);

// RE2 itself, always (regex_safe inspects the program RE2 builds). Null and
// `error` set on failure.
std::unique_ptr<RE2> compile_re2(std::string_view pattern, int64_t max_mem, std::string& error);

// For messages: the pattern, shortened (on a character boundary, "..." added).
std::string excerpt(std::string_view pattern, size_t max_chars = 60);

}  // namespace invar::regex
