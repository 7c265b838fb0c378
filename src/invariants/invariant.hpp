// The compiled form of one contract invariant, and how it is evaluated
// against a parsed artifact. Invariants are immutable after loading.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/text.hpp"
#include "invar/invar.hpp"
#include "invariants/measure.hpp"
#include "regex/regex.hpp"
#include "schema/schema.hpp"
#include "selector/jsonpath.hpp"

namespace invar::trial {
struct Definition;
}

namespace invar::invariants {

enum class Kind { schema, match, not_match, regex_safe, refs, count, unique, freshness,
                  // the monotonicity-delta family: compared with a last-known-good
                  delta, churn, monotonic, immutable,
                  // the consumer's own command on the candidate: run after the others (trial/trial.hpp)
                  trial };

std::string_view kind_name(Kind k);
std::string_view family_of(Kind k);
// True for the kinds compared with a baseline (the LKG or --baseline).
bool compares_with_baseline(Kind k);
// True for the kinds a gate evaluates under its lock: those compared with the
// LKG, and freshness (judged against the clock at promotion, not at start).
bool judged_under_lock(Kind k);

enum class DeltaMeasure { count, sum, bytes };

enum class Consumer { re2, backtracking };

// The most selectors a composite key may have.
inline constexpr size_t kMaxKeySelectors = 8;

struct Invariant {
  std::string id;
  Kind kind = Kind::count;
  Severity severity = Severity::error;
  std::string why;
  bool waivable = true;           // false: `invar waive` refuses this id
  bool require_baseline = false;  // delta family: fail (not skip) without a baseline
  std::optional<selector::Selector> each;  // evaluate per element of this selection
  selector::Selector target;               // the kind key's selector

  // schema
  std::shared_ptr<const schema::Validator> schema;
  // trial
  std::shared_ptr<const trial::Definition> trial;
  // match / not_match
  std::unique_ptr<regex::Pattern> pattern;
  std::string pattern_text;
  // regex_safe
  Consumer consumer = Consumer::re2;
  int max_program_size = 0;
  bool unproven_warns = false;  // "unproven": "warn": a pattern past the analysis budgets is a warning
  // refs
  std::optional<selector::Selector> refs_in;
  // unique and refs: a composite key (relative, singular selectors) compared
  // instead of the selected value; refs compares `key` of its values with
  // `in_key` of the values referred to (the same selectors unless given).
  std::vector<selector::Selector> key, in_key;
  // count
  std::optional<uint64_t> min, max;
  std::optional<uint64_t> effective_max;  // max less headroom
  std::string headroom_text;
  // freshness
  int64_t max_age_ms = 0;
  int64_t max_skew_ms = 0;
  // delta
  DeltaMeasure measure = DeltaMeasure::count;
  std::optional<text::Amount> max_increase, max_decrease;
  std::string max_increase_text, max_decrease_text;
  // churn
  std::optional<text::Amount> max_added, max_removed, max_changed;
  std::string max_added_text, max_removed_text, max_changed_text;
  uint64_t min_existing = 10;
  // monotonic
  bool strict = false;

  // What a stored measure must have been computed by to be comparable (e.g.
  // "delta count($.features[*])"); a stored measure with another definition
  // is recomputed from the baseline's bytes.
  std::string definition;
};

// The memory the invariants of one check may hold for their own state
// (Limits::max_invariant_bytes), shared by every thread of the check: the
// bound does not grow with threads or invariants.
class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t bytes) : left_(static_cast<int64_t>(std::min<uint64_t>(bytes, INT64_MAX))) {}
  // Takes `bytes`, or nothing and false when they are not left.
  bool take(uint64_t bytes) {
    int64_t want = static_cast<int64_t>(std::min<uint64_t>(bytes, INT64_MAX));
    if (left_.fetch_sub(want, std::memory_order_relaxed) >= want) return true;
    left_.fetch_add(want, std::memory_order_relaxed);
    return false;
  }
  void give(uint64_t bytes) { left_.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> left_;
};

// What one evaluation took from a MemoryBudget, given back on destruction.
class Charge {
 public:
  explicit Charge(MemoryBudget* budget) : budget_(budget) {}
  Charge(const Charge&) = delete;
  Charge& operator=(const Charge&) = delete;
  ~Charge() {
    if (budget_) budget_->give(taken_);
  }
  bool take(uint64_t bytes) {
    if (!budget_) return true;
    if (!budget_->take(bytes)) return false;
    taken_ += bytes;
    return true;
  }

 private:
  MemoryBudget* budget_;
  uint64_t taken_ = 0;
};

struct EvalContext {
  int64_t now_ms = 0;
  uint64_t artifact_bytes = 0;  // for delta "bytes"
  std::string_view source;      // the artifact's bytes, when known (exact number texts)
  const Limits* limits = nullptr;
  schema::Budget budget;
  MemoryBudget* memory = nullptr;  // null: unbounded (tests)
  const KeyNamer* baseline_names = nullptr;  // churn's removed keys; null: named by hash
};

// Appends the invariant's violations (at most limits.max_report_violations)
// and returns how many there were in total.
uint64_t evaluate(const Invariant& inv, simdjson::dom::element root, const EvalContext& ctx,
                  std::vector<Violation>& out);

// The measure a delta-family invariant keeps of an artifact. `source`, the
// artifact's bytes when known, gives a monotonic number its exact text
// (a parsed double has lost digits).
Measure measure(const Invariant& inv, simdjson::dom::element root, uint64_t artifact_bytes,
                std::string_view source = {});

// Compares the candidate with the baseline's measure (null: no baseline).
// Appends violations; returns the total, and sets `skipped` (with a reason)
// when there was nothing to compare with.
struct Comparison {
  uint64_t violations = 0;
  bool skipped = false;
  std::string note;
};
Comparison compare(const Invariant& inv, simdjson::dom::element root, const Measure& candidate,
                   const Measure* baseline, const EvalContext& ctx, std::vector<Violation>& out);

// The texts of churn invariant `inv`'s keys in `root` whose hashes are in
// `hashes` (sorted), in document order, at most `limit` (a KeyNamer's work).
std::vector<std::string> key_texts(const Invariant& inv, simdjson::dom::element root,
                                   const std::vector<uint64_t>& hashes, size_t limit);

// A timestamp as freshness reads it (RFC 3339, or a number of epoch
// seconds), in epoch milliseconds; nullopt when it is neither.
std::optional<int64_t> timestamp_ms(simdjson::dom::element e);

// Explanations for a count breach over `nodes`: which field values dominate.
std::vector<std::string> explain_count(const std::vector<simdjson::dom::element>& nodes);

}  // namespace invar::invariants
