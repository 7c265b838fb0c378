// Evaluation of the stateless invariant kinds. Each kind first runs a cheap
// pass; strings for messages are built only for nodes that violate.
#include <algorithm>
#include <bit>
#include <memory>
#include <optional>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "common/dom.hpp"
#include "common/memory.hpp"
#include "common/text.hpp"
#include "invariants/identity.hpp"
#include "invariants/invariant.hpp"
#include "invariants/sink.hpp"
#include "regex/backtracking.hpp"
#include "regex/regex.hpp"
#include "schema/value.hpp"

namespace invar::invariants {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::schema: return "schema";
    case Kind::match: return "match";
    case Kind::not_match: return "not_match";
    case Kind::regex_safe: return "regex_safe";
    case Kind::refs: return "refs";
    case Kind::count: return "count";
    case Kind::unique: return "unique";
    case Kind::freshness: return "freshness";
    case Kind::delta: return "delta";
    case Kind::churn: return "churn";
    case Kind::monotonic: return "monotonic";
    case Kind::immutable: return "immutable";
    case Kind::trial: return "trial";
  }
  return "?";
}

std::string_view family_of(Kind k) {
  switch (k) {
    case Kind::count:
    case Kind::unique: return "cardinality";
    case Kind::freshness: return "freshness";
    case Kind::delta:
    case Kind::churn:
    case Kind::monotonic:
    case Kind::immutable: return "monotonicity-delta";
    case Kind::trial: return "trial";
    default: return "schema";
  }
}

bool compares_with_baseline(Kind k) {
  return k == Kind::delta || k == Kind::churn || k == Kind::monotonic || k == Kind::immutable;
}

bool judged_under_lock(Kind k) { return compares_with_baseline(k) || k == Kind::freshness; }

namespace {

// A selected node while the selection is walked (its path is only valid then).
struct NodeRef {
  element value;
  const selector::Path& path;
};

}  // namespace

std::string value_text(element e) {
  if (e.type() == element_type::STRING) return text::quoted(sj::string_of(e));
  std::string s = simdjson::minify(e);
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

// The identity of a value for unique/refs: strings by content, others by
// their minified JSON (so "1" and 1 differ, as they should).
std::string identity(element e) {
  if (e.type() == element_type::STRING) {
    std::string_view s = sj::string_of(e);
    std::string out;
    out.reserve(s.size() + 1);
    out += 's';
    out += s;
    return out;
  }
  return "j" + simdjson::minify(e);
}

namespace {

// A composite key's identity: each component's identity, length-prefixed;
// a component that selects nothing is "absent" (distinct from null).
// `complete`, when given, is set to whether every component was present.
std::string key_identity(const std::vector<selector::Selector>& key, element record, bool* complete = nullptr) {
  std::string out;
  selector::Path scratch;
  if (complete) *complete = true;
  for (const auto& component : key) {
    bool found = false;
    component.select(record, scratch, [&](element e, const selector::Path&) {
      if (found) return;
      found = true;
      std::string id = identity(e);
      out += std::to_string(id.size());
      out += ':';
      out += id;
    });
    if (!found) {
      out += '-';
      if (complete) *complete = false;
    }
  }
  return out;
}

// ("api.example.com", "/v1"): a composite key as reports show it.
std::string key_text(const std::vector<selector::Selector>& key, element record) {
  std::string out = "(";
  selector::Path scratch;
  for (size_t i = 0; i < key.size(); ++i) {
    std::string part = "absent";
    key[i].select(record, scratch, [&](element e, const selector::Path&) { part = value_text(e); });
    out += (i ? ", " : "") + part;
  }
  return out + ")";
}

std::string key_names(const std::vector<selector::Selector>& key) {
  std::string out = "(";
  for (size_t i = 0; i < key.size(); ++i) out += (i ? ", " : "") + key[i].text();
  return out + ")";
}

// What unique/refs compare for a selected element: the value, or its key.
std::string compared_identity(const std::vector<selector::Selector>& key, element e) {
  return key.empty() ? identity(e) : key_identity(key, e);
}
std::string compared_text(const std::vector<selector::Selector>& key, element e) {
  return key.empty() ? value_text(e) : key_text(key, e);
}

void eval_schema(const Invariant& inv, const NodeRef& node, const EvalContext& ctx, Sink& sink) {
  auto fast = inv.schema->validate(node.value, ctx.budget);
  if (fast.valid) return;
  if (!fast.limit.empty()) {
    sink.add(selector::to_pointer(node.path), "schema evaluation stopped at the limit " + fast.limit, "within limits",
             fast.limit);
    return;
  }
  std::vector<schema::Issue> issues;
  size_t room = ctx.limits->max_report_violations;
  inv.schema->explain(node.value, node.path, issues, room, ctx.budget);
  if (issues.empty()) sink.add(selector::to_pointer(node.path), "value does not satisfy the schema");
  for (auto& issue : issues) {
    Violation* v = sink.add(issue.instance_pointer, issue.message, issue.expected, issue.actual);
    if (v) v->schema_location = issue.keyword_location;
  }
}

void eval_match(const Invariant& inv, const NodeRef& node, Sink& sink) {
  bool want = inv.kind == Kind::match;
  if (node.value.type() != element_type::STRING) {
    sink.add(selector::to_pointer(node.path), "expected a string to match against " + text::quoted(inv.pattern_text),
             "string", schema::describe(schema::Value{node.value}));
    return;
  }
  std::string_view s = sj::string_of(node.value);
  bool matched = inv.pattern->matches(s);
  if (matched == want) return;
  sink.add(selector::to_pointer(node.path),
           text::quoted(s) + (want ? " does not match " : " matches the forbidden pattern ") + text::quoted(inv.pattern_text),
           (want ? "matches " : "does not match ") + text::quoted(inv.pattern_text), text::quoted(s));
}

void eval_regex_safe(const Invariant& inv, const NodeRef& node, const EvalContext& ctx, Sink& sink) {
  std::string pointer;
  if (node.value.type() != element_type::STRING) {
    sink.add(selector::to_pointer(node.path), "expected a regular expression string", "string",
             schema::describe(schema::Value{node.value}));
    return;
  }
  std::string_view pattern = sj::string_of(node.value);
  std::string error;
  auto re = regex::compile_re2(pattern, ctx.limits->regex_max_mem, error);
  if (!re) {
    sink.add(selector::to_pointer(node.path),
             "regex " + text::quoted(pattern) + " does not compile under RE2: " + error,
             "a pattern RE2 runs in linear time", error);
    return;
  }
  int size = re->ProgramSize();
  if (size > inv.max_program_size) {
    sink.add(selector::to_pointer(node.path),
             "regex " + text::quoted(pattern) + " compiles to " + std::to_string(size) +
                 " RE2 instructions, over max_program_size " + std::to_string(inv.max_program_size),
             "program size <= " + std::to_string(inv.max_program_size), std::to_string(size));
    return;
  }
  if (inv.consumer == Consumer::backtracking) {
    using Complexity = regex::BacktrackingFinding::Complexity;
    auto f = regex::find_superlinear(pattern);
    if (!f) return;
    if (f->complexity == Complexity::unproven) {
      Violation* v = sink.add(selector::to_pointer(node.path),
                              "regex " + text::quoted(pattern) + " could not be proven safe for a backtracking engine: " +
                                  f->reason,
                              "linear time on a backtracking engine", "unproven");
      if (v && inv.unproven_warns) v->severity = Severity::warn;
      return;
    }
    const std::string complexity = f->complexity == Complexity::exponential
                                       ? "exponential"
                                       : "polynomial, degree " + std::to_string(f->degree);
    sink.add(selector::to_pointer(node.path),
             "regex " + text::quoted(pattern) + " is super-linear on a backtracking engine (" + complexity + ") in " +
                 text::quoted(f->sub_pattern) + ": " + f->reason + "; attack: " + text::quoted(f->prefix) + " + " +
                 text::quoted(f->pump) + " x n + " + text::quoted(f->suffix),
             "linear time on a backtracking engine", complexity);
  }
}

// The values a refs invariant's "in" selects. Strings (the common case) are
// kept as views into the parsed document: no string is built per value.
struct RefsIndex {
  std::unordered_set<std::string_view> strings;
  std::unordered_set<std::string> others;

  bool complete = true;  // false: the check's memory budget ran out while building it

  // About what one entry of the sets costs (node, bucket, view or string).
  static constexpr uint64_t kEntryBytes = 64;

  RefsIndex(const Invariant& inv, element root, Charge& charge) {
    selector::Path root_path;
    uint64_t entries = 0;
    inv.refs_in->select(root, root_path, [&](element e, const selector::Path&) {
      if (!complete) return;
      if (entries++ % 4096 == 0 && !charge.take(4096 * kEntryBytes)) {
        complete = false;
        return;
      }
      if (!inv.in_key.empty()) {
        // A value referred to lacking a component resolves nothing: an
        // absent reference never matches an absent target.
        bool complete = false;
        std::string id = key_identity(inv.in_key, e, &complete);
        if (complete) others.insert(std::move(id));
      }
      else if (e.type() == element_type::STRING) strings.insert(sj::string_of(e));
      else others.insert(identity(e));
    });
  }
  bool contains(const Invariant& inv, element e) const {
    if (!inv.key.empty()) return others.count(key_identity(inv.key, e)) > 0;
    return e.type() == element_type::STRING ? strings.count(sj::string_of(e)) > 0 : others.count(identity(e)) > 0;
  }
};

void eval_refs(const Invariant& inv, const NodeRef& node, const RefsIndex& known, Sink& sink) {
  if (known.contains(inv, node.value)) return;
  std::string among = inv.in_key.empty() ? "the values at " + inv.refs_in->text()
                                         : key_names(inv.in_key) + " of " + inv.refs_in->text();
  sink.add(selector::to_pointer(node.path), compared_text(inv.key, node.value) + " does not occur among " + among,
           "a value of " + inv.refs_in->text(), compared_text(inv.key, node.value));
}

// count needs the number of nodes; where their parent is and (for an
// explanation) the nodes themselves only when it fails, found by a second walk.
void eval_count(const Invariant& inv, element scope, selector::Path& base, const EvalContext& ctx, Sink& sink) {
  selector::Path& path = base;  // extended and restored by select()
  const uint64_t n = inv.target.count(scope, path);
  bool under = inv.min && n < *inv.min;
  bool over = inv.effective_max && n > *inv.effective_max;
  if (!under && !over) return;
  std::vector<element> values;
  Charge charge(ctx.memory);
  bool room = true;
  std::string where = selector::to_pointer(base);
  const size_t depth = base.size();
  bool first = true;
  inv.target.select(scope, path, [&](element e, const selector::Path& p) {
    if (first) {
      selector::Path parent = p;
      if (parent.size() > depth) parent.pop_back();
      where = selector::to_pointer(parent);
      first = false;
    }
    if (!over || values.size() >= ctx.limits->max_selector_matches || !room) return;
    if (values.size() == values.capacity()) {
      size_t grow = std::max<size_t>(1024, values.capacity());
      if (!charge.take(grow * sizeof(element))) {
        room = false;  // the explanation covers the values collected so far
        return;
      }
      values.reserve(values.capacity() + grow);
    }
    values.push_back(e);
  });
  if (under) {
    sink.add(where, "count of " + inv.target.text() + " is " + std::to_string(n) + ", below min " + std::to_string(*inv.min),
             ">= " + std::to_string(*inv.min), std::to_string(n));
  }
  if (over) {
    std::string limit = std::to_string(*inv.effective_max);
    std::string expected = "<= " + limit;
    if (inv.effective_max != inv.max)
      expected += " (max " + std::to_string(*inv.max) + " less " + inv.headroom_text + " headroom)";
    Violation* v = sink.add(where,
                            "count of " + inv.target.text() + " is " + std::to_string(n) + ", over " +
                                (inv.effective_max != inv.max ? "the headroom limit " : "max ") + limit + " by " +
                                std::to_string(n - *inv.effective_max),
                            expected, std::to_string(n));
    if (v) v->explain = explain_count(values);
  }
}

std::string too_many(const Invariant& inv, const EvalContext& ctx, const char* what) {
  return inv.target.text() + " selects more than max_selector_matches " + std::to_string(ctx.limits->max_selector_matches) +
         " nodes; " + what;
}

}  // namespace

uint64_t identity_hash(const std::vector<selector::Selector>& key, element e, bool* complete) {
  if (!key.empty()) return std::hash<std::string>{}(key_identity(key, e, complete)) * 0x9E3779B97F4A7C15ull + 3;
  if (complete) *complete = true;
  if (e.type() == element_type::STRING) return std::hash<std::string_view>{}(sj::string_of(e)) * 0x9E3779B97F4A7C15ull + 1;
  std::string text = simdjson::minify(e);
  return std::hash<std::string_view>{}(text) * 0x9E3779B97F4A7C15ull + 2;
}

namespace {

std::string budget_spent(const EvalContext& ctx, const char* what) {
  return std::string("the check's memory for invariant state (max_invariant_bytes ") +
         std::to_string(ctx.limits->max_invariant_bytes) + ") is spent; " + what;
}

// unique: the selected values' identity hashes in a HashSet (charged to the
// check's memory budget as it grows); values whose hash repeats are walked
// again to name them (paths and texts are built only for violations).
void eval_unique(const Invariant& inv, element scope, selector::Path& base, const EvalContext& ctx, Sink& sink) {
  const uint64_t cap = ctx.limits->max_selector_matches;
  Charge charge(ctx.memory);
  // Bounded first (O(1) per parent for $.a[*] or $.a[*].b), so that the set
  // is sized once, or refused before any work.
  const uint64_t expected = std::min(inv.target.count_at_most(scope, base), cap);
  bool over_cap = false;
  const size_t slots = HashSet::slots_for(static_cast<size_t>(expected));
  // Repeats' own state is taken with the set, so that two sets that each got
  // their share cannot both be starved of it by the other: one finishes.
  uint64_t reserve = kRepeatReserveBytes;
  auto take = [&](uint64_t bytes) {
    if (bytes <= reserve) {
      reserve -= bytes;
      return true;
    }
    return charge.take(bytes);
  };
  bool over_budget = !charge.take(slots * sizeof(uint64_t) + kRepeatReserveBytes);
  if (over_cap || over_budget) {
    std::string why = over_cap ? too_many(inv, ctx, "the invariant was not evaluated")
                               : budget_spent(ctx, "the invariant was not evaluated");
    sink.add(selector::to_pointer(base), why, "within the limits", "more");
    return;
  }
  HashSet seen(static_cast<size_t>(expected));
  std::optional<HashSet> again;    // hashes seen more than once (charged as they come)
  std::vector<uint64_t> repeated;  // the same, each once
  uint64_t n = 0;
  constexpr size_t kAhead = 16;  // hashes prefetched before they are inserted
  uint64_t pending[kAhead];
  size_t queued = 0;
  auto insert = [&](uint64_t h) {
    if (seen.insert(h)) return;
    if (!again) again.emplace(0);
    if (again->full(1)) {
      if (!take(again->grown_bytes() / 2)) {
        over_budget = true;
        return;
      }
      again->grow();
    }
    if (!again->insert(h)) return;
    if (!take(sizeof h)) over_budget = true;
    else repeated.push_back(h);
  };
  inv.target.select(scope, base, [&](element e, const selector::Path&) {
    if (over_cap || over_budget) return;
    if (++n > cap) {
      over_cap = true;
      return;
    }
    if (seen.full(kAhead + 1)) {
      if (!charge.take(seen.grown_bytes() / 2)) {
        over_budget = true;
        return;
      }
      seen.grow();
      for (size_t i = 0; i < queued; ++i) seen.prefetch(pending[i]);
    }
    uint64_t h = identity_hash(inv.key, e);
    seen.prefetch(h);
    if (queued == kAhead) {
      insert(pending[n % kAhead]);
      pending[n % kAhead] = h;
    } else {
      pending[queued++] = h;
    }
  });
  for (size_t i = 0; i < queued && !over_budget; ++i) insert(pending[i]);
  if (over_cap || over_budget) {
    std::string why = over_cap ? too_many(inv, ctx, "the invariant was not evaluated")
                               : budget_spent(ctx, "the invariant was not evaluated");
    sink.add(selector::to_pointer(base), why, "within the limits", "more");
    return;
  }
  if (repeated.empty()) return;
  std::sort(repeated.begin(), repeated.end());
  repeated.erase(std::unique(repeated.begin(), repeated.end()), repeated.end());
  // Repeated hashes, in the order of their first occurrence.
  struct Group {
    uint64_t first = 0;  // ordinal
    uint64_t hash = 0;
  };
  std::vector<Group> groups;
  {
    uint64_t ordinal = 0;
    std::vector<bool> placed(repeated.size());
    inv.target.select(scope, base, [&](element e, const selector::Path&) {
      uint64_t h = identity_hash(inv.key, e);
      auto it = std::lower_bound(repeated.begin(), repeated.end(), h);
      if (it != repeated.end() && *it == h && !placed[static_cast<size_t>(it - repeated.begin())]) {
        placed[static_cast<size_t>(it - repeated.begin())] = true;
        groups.push_back({ordinal, h});
      }
      ++ordinal;
    });
  }

  // Named in full: the groups the report keeps; the rest are counted.
  struct Detail {
    std::string identity, text;
    std::vector<std::string> places;  // the first five
    uint64_t equal = 0;               // members equal to the first (a hash collision is not a repeat)
  };
  const size_t named = std::min<size_t>(groups.size(), ctx.limits->max_report_violations);
  std::unordered_map<uint64_t, Detail> details;
  for (size_t g = 0; g < named; ++g) details.emplace(groups[g].hash, Detail{});
  inv.target.select(scope, base, [&](element e, const selector::Path& p) {
    auto it = details.find(identity_hash(inv.key, e));
    if (it == details.end()) return;
    Detail& d = it->second;
    std::string id = compared_identity(inv.key, e);
    if (d.equal == 0) {
      d.identity = std::move(id);
      d.text = compared_text(inv.key, e);
    } else if (id != d.identity) {
      return;
    }
    ++d.equal;
    if (d.places.size() < 5 || d.equal == 2) {
      if (d.places.size() < 5) d.places.push_back(selector::to_pointer(p));
    }
  });
  for (size_t g = 0; g < groups.size(); ++g) {
    if (g >= named) {
      sink.add({}, {});  // counted, not kept
      continue;
    }
    const Detail& d = details[groups[g].hash];
    if (d.equal < 2) continue;  // a collision of distinct values
    std::string places;
    for (size_t k = 0; k < d.places.size(); ++k) places += (k ? ", " : "") + d.places[k];
    if (d.equal > d.places.size()) places += ", ...";
    sink.add(d.places[1], d.text + " appears " + std::to_string(d.equal) + " times (" + places + ")",
             inv.key.empty() ? "each value once" : "each " + key_names(inv.key) + " once",
             std::to_string(d.equal) + " times");
  }
}

// One timestamp judged against [now - max_age, now + max_skew].
void judge_timestamp(const Invariant& inv, element value, const selector::Path& path, const EvalContext& ctx,
                     Sink& sink) {
  int64_t oldest = ctx.now_ms - inv.max_age_ms;
  int64_t newest = ctx.now_ms + inv.max_skew_ms;
  auto ts = timestamp_ms(value);
  if (!ts) {
    sink.add(selector::to_pointer(path), value_text(value) + " is not an RFC 3339 date-time or an epoch time in seconds",
             "an RFC 3339 or epoch timestamp", value_text(value));
    return;
  }
  if (*ts >= oldest && *ts <= newest) return;
  std::string range = "between " + text::format_rfc3339(oldest) + " and " + text::format_rfc3339(newest);
  if (*ts < oldest) {
    sink.add(selector::to_pointer(path),
             "timestamp " + text::format_rfc3339(*ts) + " is " + text::format_duration(ctx.now_ms - *ts) +
                 " old, over max_age " + text::format_duration(inv.max_age_ms),
             range, text::format_rfc3339(*ts));
  } else {
    sink.add(selector::to_pointer(path),
             "timestamp " + text::format_rfc3339(*ts) + " is " + text::format_duration(*ts - ctx.now_ms) +
                 " in the future, over max_skew " + text::format_duration(inv.max_skew_ms),
             range, text::format_rfc3339(*ts));
  }
}

void evaluate_at(const Invariant& inv, element scope, selector::Path& base, element root, const EvalContext& ctx,
                 Sink& sink) {
  const uint64_t cap = ctx.limits->max_selector_matches;
  // Built only for a violation: `each` calls this once per element.
  auto limit_expected = [cap] { return "at most " + std::to_string(cap) + " nodes"; };
  switch (inv.kind) {
    case Kind::trial: return;  // run after the others, where allowed (trial/trial.hpp)
    case Kind::count: return eval_count(inv, scope, base, ctx, sink);
    case Kind::schema:
    case Kind::match:
    case Kind::not_match:
    case Kind::regex_safe:
    case Kind::refs: {
      // Each node is judged alone: judged while the selection is walked, so
      // that nothing is kept per node.
      Charge charge(ctx.memory);
      std::optional<RefsIndex> refs;
      if (inv.kind == Kind::refs) {
        refs.emplace(inv, root, charge);
        if (!refs->complete) {
          sink.add(selector::to_pointer(base), budget_spent(ctx, "the invariant was not evaluated"), "within the limits",
                   "more");
          return;
        }
      }
      uint64_t seen = 0;
      inv.target.select(scope, base, [&](element e, const selector::Path& p) {
        if (++seen > cap) return;
        NodeRef node{e, p};
        switch (inv.kind) {
          case Kind::schema: return eval_schema(inv, node, ctx, sink);
          case Kind::match:
          case Kind::not_match: return eval_match(inv, node, sink);
          case Kind::regex_safe: return eval_regex_safe(inv, node, ctx, sink);
          default: return eval_refs(inv, node, *refs, sink);
        }
      });
      if (seen > cap)
        sink.add(selector::to_pointer(base), too_many(inv, ctx, "those past it were not evaluated"), limit_expected(),
                 "more");
      return;
    }
    case Kind::unique: return eval_unique(inv, scope, base, ctx, sink);
    case Kind::freshness: {
      uint64_t seen = 0;
      inv.target.select(scope, base, [&](element e, const selector::Path& p) {
        if (++seen <= cap) judge_timestamp(inv, e, p, ctx, sink);
      });
      if (seen == 0)
        sink.add(selector::to_pointer(base), "no timestamp at " + inv.target.text(), "an RFC 3339 or epoch timestamp",
                 "nothing selected");
      if (seen > cap)
        sink.add(selector::to_pointer(base), too_many(inv, ctx, "those past it were not evaluated"), limit_expected(),
                 "more");
      return;
    }
    case Kind::delta:
    case Kind::churn:
    case Kind::monotonic:
    case Kind::immutable: return;  // compared with a baseline: see compare()
  }
}

}  // namespace

std::optional<int64_t> timestamp_ms(element e) {
  if (e.type() == element_type::STRING) return text::parse_rfc3339(sj::string_of(e));
  if (e.type() == element_type::INT64 || e.type() == element_type::UINT64 || e.type() == element_type::DOUBLE) {
    double seconds = schema::number_of(schema::Value{e});
    if (!std::isfinite(seconds) || std::fabs(seconds) > 1e13) return std::nullopt;
    return static_cast<int64_t>(seconds * 1000);
  }
  return std::nullopt;
}

uint64_t evaluate(const Invariant& inv, element root, const EvalContext& ctx, std::vector<Violation>& out) {
  Sink sink(inv, out, ctx.limits->max_report_violations);
  selector::Path path;
  if (!inv.each) {
    evaluate_at(inv, root, path, root, ctx, sink);
  } else {
    // `at` is `path` itself (select() passes it through), restored after each
    // visit: evaluation extends and restores it in place, copying nothing.
    inv.each->select(root, path, [&](element scope, const selector::Path&) { evaluate_at(inv, scope, path, root, ctx, sink); });
  }
  return sink.total();
}

}  // namespace invar::invariants
