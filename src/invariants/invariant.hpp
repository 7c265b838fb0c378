// The compiled form of one contract invariant, and how it is evaluated
// against a parsed artifact. Invariants are immutable after loading.
#pragma once

#include <re2/re2.h>
#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "invar/invar.hpp"
#include "schema/schema.hpp"
#include "selector/jsonpath.hpp"

namespace invar::invariants {

enum class Kind { schema, match, not_match, regex_safe, refs, count, unique, freshness };

std::string_view kind_name(Kind k);
std::string_view family_of(Kind k);

enum class Consumer { re2, backtracking };

struct Invariant {
  std::string id;
  Kind kind = Kind::count;
  Severity severity = Severity::error;
  std::string why;
  std::optional<selector::Selector> each;  // evaluate per element of this selection
  selector::Selector target;               // the kind key's selector

  // schema
  std::shared_ptr<const schema::Validator> schema;
  // match / not_match
  std::unique_ptr<RE2> pattern;
  std::string pattern_text;
  // regex_safe
  Consumer consumer = Consumer::re2;
  int max_program_size = 0;
  // refs
  std::optional<selector::Selector> refs_in;
  // count
  std::optional<uint64_t> min, max;
  std::optional<uint64_t> effective_max;  // max less headroom
  std::string headroom_text;
  // freshness
  int64_t max_age_ms = 0;
  int64_t max_skew_ms = 0;
};

struct EvalContext {
  int64_t now_ms = 0;
  const Limits* limits = nullptr;
  schema::Budget budget;
};

// Appends the invariant's violations (at most limits.max_report_violations)
// and returns how many there were in total.
uint64_t evaluate(const Invariant& inv, simdjson::dom::element root, const EvalContext& ctx,
                  std::vector<Violation>& out);

// Explanations for a count breach over `nodes`: which field values dominate.
std::vector<std::string> explain_count(const std::vector<simdjson::dom::element>& nodes);

}  // namespace invar::invariants
