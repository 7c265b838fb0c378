// The monotonicity-delta family: measures kept of an artifact, and their
// comparison with a baseline's (the LKG in a gate, --baseline in check).
// Percent limits are exact: "100%" allows an exact doubling and no more
// (compared as change * 100 <= baseline * percent, never through a rounded ratio).
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "common/digest.hpp"
#include "common/dom.hpp"
#include "artifact/reader.hpp"
#include "common/text.hpp"
#include "invariants/invariant.hpp"
#include "invariants/sink.hpp"
#include "schema/value.hpp"

namespace invar::invariants {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr size_t kListed = 5;  // keys named per explanation line

// A structural fingerprint: equal JSON values fingerprint equal whatever
// their member order or spacing (object members are combined by a sum, which
// does not depend on order; duplicate members are refused when reading).
// Strings are hashed in place: no text is built. Numbers keep their type, so
// 1 and 1.0 differ, as their texts do. Recursion is bounded by the
// artifact's max_depth (checked when it was read).
uint64_t fingerprint(element e) {
  switch (e.type()) {
    case element_type::OBJECT: {
      uint64_t sum = 0, n = 0;
      for (auto field : sj::object_of(e)) {
        sum += digest::mix64(digest::hash64(field.key, 'k'), fingerprint(field.value));
        ++n;
      }
      return digest::mix64(sum, n ^ 0x6f626a656374ull);  // "object"
    }
    case element_type::ARRAY: {
      uint64_t h = 0x6172726179ull;  // "array"
      for (auto child : sj::array_of(e)) h = digest::mix64(h, fingerprint(child));
      return h;
    }
    case element_type::STRING: return digest::hash64(sj::string_of(e), 's');
    case element_type::INT64: return digest::mix64('i', static_cast<uint64_t>(e.get_int64().value_unsafe()));
    case element_type::UINT64: return digest::mix64('u', e.get_uint64().value_unsafe());
    case element_type::DOUBLE: return digest::mix64('d', std::bit_cast<uint64_t>(e.get_double().value_unsafe()));
    case element_type::BOOL: return e.get_bool().value_unsafe() ? 0x74727565ull : 0x66616c7365ull;
    case element_type::NULL_VALUE: return 0x6e756c6cull;
  }
  return 0;
}

// A churn key: its identity hashed (strings by content, others by minified
// JSON, so "1" and 1 differ), in kChurnKeyBits.
uint64_t key_hash(element key) {
  uint64_t h = key.type() == element_type::STRING ? digest::hash64(sj::string_of(key), 's')
                                                  : digest::hash64(simdjson::minify(key), 'j');
  return h >> (64 - kChurnKeyBits);
}

uint32_t item_print(element item) { return static_cast<uint32_t>(fingerprint(item) >> (64 - kChurnItemBits)); }

std::string key_text(element key) {
  return key.type() == element_type::STRING ? text::quoted(sj::string_of(key)) : simdjson::minify(key);
}

std::string number_text(double x) {
  if (std::isfinite(x) && std::fabs(x) < 9e15 && x == std::floor(x)) return fmt::format("{}", static_cast<int64_t>(x));
  return fmt::format("{:.6g}", x);
}

std::string percent_text(double part, double whole) {
  if (whole == 0) return "n/a";
  return fmt::format("{:.1f}%", 100.0 * part / whole);
}

// The largest change `limit` allows from `base`, for messages.
double allowance(const text::Amount& limit, double base) { return limit.percent ? base * limit.value : limit.value; }

// Exact: change <= base * written% (percent) or change <= written (absolute).
bool within(const text::Amount& limit, double change, double base) {
  if (limit.percent) return change * 100.0 <= base * limit.written;
  return change <= limit.written;
}

// -1, 0, 1; nullopt when the two values are not comparable (type mismatch).
// Numbers are compared as the decimals their texts write, timestamps at
// full precision: a double or a millisecond would let an older value pass.
std::optional<int> order(const nlohmann::json& a, const nlohmann::json& b, std::string_view a_text,
                         std::string_view b_text) {
  if (a.is_number() && b.is_number()) return text::compare_numbers(a_text, b_text);
  if (a.is_string() && b.is_string()) return text::compare_rfc3339(a.get<std::string>(), b.get<std::string>());
  return std::nullopt;
}

struct Selected {
  element value;
  selector::Path path;
};

std::vector<Selected> select_all(const Invariant& inv, element root) {
  std::vector<Selected> nodes;
  selector::Path path;
  inv.target.select(root, path, [&](element e, const selector::Path& p) { nodes.push_back({e, p}); });
  return nodes;
}

// "a", "b", ... (N in all): the first kListed of `total` keys.
std::string list_keys(const std::vector<std::string>& texts, size_t total) {
  std::string out;
  for (size_t i = 0; i < texts.size() && i < kListed; ++i) {
    if (i) out += ", ";
    out += texts[i];
  }
  if (total > kListed) out += fmt::format(", ... ({} in all)", total);
  return out;
}

void compare_delta(const Invariant& inv, element root, const Measure& cand, const Measure& base, Sink& sink) {
  double c = cand.number, b = base.number;
  std::string what = inv.definition.substr(6);  // after "delta "
  // Located at the selection's parent (e.g. /features), or the root for "bytes".
  std::string where;
  if (inv.measure != DeltaMeasure::bytes) {
    auto nodes = select_all(inv, root);
    if (!nodes.empty() && !nodes.front().path.empty()) {
      nodes.front().path.pop_back();
      where = selector::to_pointer(nodes.front().path);
    }
  }
  std::string pct = percent_text(std::fabs(c - b), b);
  if (c > b && inv.max_increase && !within(*inv.max_increase, c - b, b)) {
    double most = b + allowance(*inv.max_increase, b);
    Violation* v = sink.add(
        where,
        fmt::format("{} grew from {} to {} (+{}, +{}), over max_increase {}", what, number_text(b), number_text(c),
                    number_text(c - b), pct, inv.max_increase_text),
        fmt::format("<= {} (baseline {} + {})", number_text(std::floor(most + 1e-9)), number_text(b),
                    inv.max_increase_text),
        number_text(c));
    if (v) {
      v->baseline = number_text(b);
      if (inv.measure == DeltaMeasure::count) {
        std::vector<element> values;
        for (auto& n : select_all(inv, root)) values.push_back(n.value);
        v->explain = explain_count(values);
      }
    }
  }
  if (c < b && inv.max_decrease && !within(*inv.max_decrease, b - c, b)) {
    double least = b - allowance(*inv.max_decrease, b);
    Violation* v = sink.add(
        where,
        fmt::format("{} shrank from {} to {} (-{}, -{}), over max_decrease {}", what, number_text(b), number_text(c),
                    number_text(b - c), pct, inv.max_decrease_text),
        fmt::format(">= {} (baseline {} - {})", number_text(std::ceil(least - 1e-9)), number_text(b),
                    inv.max_decrease_text),
        number_text(c));
    if (v) v->baseline = number_text(b);
  }
}

Comparison compare_churn(const Invariant& inv, element root, const Measure& cand, const Measure& base,
                         const EvalContext& ctx, Sink& sink) {
  Comparison result;
  double existing = static_cast<double>(base.keys.size());
  if (base.keys.size() < inv.min_existing) {
    result.skipped = true;
    result.note = fmt::format("the baseline has {} keys, fewer than min_existing {}", base.keys.size(), inv.min_existing);
    return result;
  }
  // Both sorted by key: one merge.
  std::vector<uint64_t> added, removed, changed;
  auto c = cand.keys.begin(), b = base.keys.begin();
  while (c != cand.keys.end() || b != base.keys.end()) {
    if (b == base.keys.end() || (c != cand.keys.end() && c->key < b->key)) {
      added.push_back((c++)->key);
    } else if (c == cand.keys.end() || b->key < c->key) {
      removed.push_back((b++)->key);
    } else {
      if (c->item != b->item) changed.push_back(c->key);
      ++c, ++b;
    }
  }
  auto check = [&](const std::optional<text::Amount>& limit, const std::string& limit_text, const char* name,
                   const char* verb, const std::vector<uint64_t>& keys, bool in_baseline) {
    if (!limit || within(*limit, static_cast<double>(keys.size()), existing)) return;
    Violation* v = sink.add("",
                            fmt::format("{} of the baseline's {} keys at {} were {} ({}), over {} {}", keys.size(),
                                        base.keys.size(), inv.target.text(), verb,
                                        percent_text(static_cast<double>(keys.size()), existing), name, limit_text),
                            fmt::format("<= {} {}", number_text(std::floor(allowance(*limit, existing) + 1e-9)), verb),
                            fmt::format("{} {}", keys.size(), verb));
    if (!v) return;
    v->baseline = fmt::format("{} keys", base.keys.size());
    std::vector<std::string> texts;
    if (!in_baseline) texts = key_texts(inv, root, keys, kListed);
    else if (ctx.baseline_names && *ctx.baseline_names) texts = (*ctx.baseline_names)(inv, keys, kListed);
    if (texts.empty() && !keys.empty())
      v->explain.push_back(fmt::format("{}: {} keys (the baseline artifact is not at hand to name them)", verb, keys.size()));
    else
      v->explain.push_back(std::string(verb) + ": " + list_keys(texts, keys.size()));
  };
  check(inv.max_added, inv.max_added_text, "max_added", "added", added, false);
  check(inv.max_removed, inv.max_removed_text, "max_removed", "removed", removed, true);
  check(inv.max_changed, inv.max_changed_text, "max_changed", "changed", changed, false);
  return result;
}

void compare_monotonic(const Invariant& inv, const Measure& cand, const Measure& base, Sink& sink,
                       Comparison& result) {
  if (!cand.present) return;  // reported by the candidate check
  if (!base.present) {
    result.skipped = true;
    result.note = "the baseline has no value at " + inv.target.text();
    return;
  }
  auto a = nlohmann::json::parse(cand.value_text, nullptr, false);
  auto b = nlohmann::json::parse(base.value_text, nullptr, false);
  auto cmp = order(a, b, cand.value_text, base.value_text);
  std::string pointer = cand.items.empty() ? "" : cand.items.front().pointer;
  if (!cmp) {
    Violation* v = sink.add(pointer,
                            fmt::format("{} cannot be compared with the baseline's {}", cand.value_text, base.value_text),
                            "a value of the baseline's type", cand.value_text);
    if (v) v->baseline = base.value_text;
    return;
  }
  bool ok = inv.strict ? *cmp > 0 : *cmp >= 0;
  if (ok) return;
  Violation* v = sink.add(pointer,
                          fmt::format("{} {} the baseline's {}{}", cand.value_text,
                                      *cmp == 0 ? "equals" : "is older than", base.value_text,
                                      inv.strict ? " (strict: it must increase)" : " (it must not decrease)"),
                          (inv.strict ? "> " : ">= ") + base.value_text, cand.value_text);
  if (v) v->baseline = base.value_text;
}

void compare_immutable(const Measure& cand, const Measure& base, Sink& sink) {
  std::map<std::string, const Measure::Item*> before;
  for (const auto& item : base.items) before[item.pointer] = &item;
  for (const auto& item : cand.items) {
    auto it = before.find(item.pointer);
    if (it == before.end()) {
      Violation* v = sink.add(item.pointer, "value " + item.preview + " was added; the baseline has none here",
                              "no value", item.preview);
      if (v) v->baseline = "(absent)";
      continue;
    }
    if (it->second->fingerprint != item.fingerprint) {
      Violation* v = sink.add(item.pointer, "value changed from " + it->second->preview + " to " + item.preview,
                              it->second->preview, item.preview);
      if (v) v->baseline = it->second->preview;
    }
    before.erase(it);
  }
  for (const auto& [pointer, item] : before) {
    Violation* v = sink.add(pointer, "value " + item->preview + " was removed", item->preview, "(absent)");
    if (v) v->baseline = item->preview;
  }
}

}  // namespace

Measure measure(const Invariant& inv, element root, uint64_t artifact_bytes, std::string_view source) {
  Measure m;
  m.definition = inv.definition;
  switch (inv.kind) {
    case Kind::delta:
      if (inv.measure == DeltaMeasure::bytes) {
        m.number = static_cast<double>(artifact_bytes);
      } else {
        selector::Path path;
        inv.target.select(root, path, [&](element e, const selector::Path&) {
          if (inv.measure == DeltaMeasure::count) m.number += 1;
          else if (e.is_number()) m.number += schema::number_of(schema::Value{e});
        });
      }
      break;
    case Kind::churn: {
      selector::Path path;
      inv.target.select(root, path, [&](element key, const selector::Path&, element item) {
        m.keys.push_back({key_hash(key), item_print(item)});
      });
      // One entry per key, the first occurrence's (a stable sort keeps the order of equal keys).
      std::stable_sort(m.keys.begin(), m.keys.end(), [](const KeyEntry& a, const KeyEntry& b) { return a.key < b.key; });
      m.keys.erase(std::unique(m.keys.begin(), m.keys.end(), [](const KeyEntry& a, const KeyEntry& b) { return a.key == b.key; }),
                   m.keys.end());
      break;
    }
    case Kind::monotonic:
    case Kind::immutable:
      for (auto& node : select_all(inv, root)) {
        if (inv.kind == Kind::monotonic && m.present) break;  // the first; more is reported by compare()
        m.present = true;
        if (inv.kind == Kind::monotonic) {
          m.value_text = simdjson::minify(node.value);
          // A double has lost the digits of its text: compare the text.
          if (node.value.type() == element_type::DOUBLE && !source.empty())
            if (auto at = artifact::locate(source, selector::to_pointer(node.path), artifact::kHardMaxDepth);
                at && at->length)
              m.value_text = std::string(source.substr(at->offset, at->length));
        }
        m.items.push_back({selector::to_pointer(node.path), fingerprint(node.value), value_text(node.value)});
      }
      break;
    default: break;
  }
  return m;
}

Comparison compare(const Invariant& inv, element root, const Measure& candidate, const Measure* baseline,
                   const EvalContext& ctx, std::vector<Violation>& out) {
  Sink sink(inv, out, ctx.limits->max_report_violations);
  Comparison result;
  // What the candidate alone must satisfy, baseline or not.
  if (inv.kind == Kind::monotonic) {
    auto nodes = select_all(inv, root);
    if (nodes.size() != 1) {
      sink.add("", fmt::format("{} selects {} values; monotonic needs exactly one", inv.target.text(), nodes.size()),
               "one number or RFC 3339 timestamp", std::to_string(nodes.size()) + " values");
    } else {
      element e = nodes.front().value;
      bool ok = e.is_number() || (e.type() == element_type::STRING && text::parse_rfc3339(sj::string_of(e)));
      if (!ok)
        sink.add(selector::to_pointer(nodes.front().path),
                 value_text(e) + " is neither a number nor an RFC 3339 timestamp", "a number or RFC 3339 timestamp",
                 value_text(e));
    }
    if (sink.total()) {
      result.violations = sink.total();
      return result;
    }
  }
  if (!baseline) {
    if (inv.require_baseline) {
      sink.add("", "no baseline to compare with, and require_baseline is true", "a last-known-good", "none");
    } else {
      result.skipped = true;
      result.note = "no baseline (the stream has no LKG yet, or check ran without --baseline)";
    }
    result.violations = sink.total();
    return result;
  }
  switch (inv.kind) {
    case Kind::delta: compare_delta(inv, root, candidate, *baseline, sink); break;
    case Kind::churn: {
      auto r = compare_churn(inv, root, candidate, *baseline, ctx, sink);
      result.skipped = r.skipped;
      result.note = r.note;
      break;
    }
    case Kind::monotonic: compare_monotonic(inv, candidate, *baseline, sink, result); break;
    case Kind::immutable: compare_immutable(candidate, *baseline, sink); break;
    default: break;
  }
  result.violations = sink.total();
  return result;
}

std::vector<std::string> key_texts(const Invariant& inv, element root, const std::vector<uint64_t>& hashes,
                                   size_t limit) {
  std::vector<std::string> texts;
  std::vector<uint64_t> named;  // each key once, whatever its repeats
  selector::Path path;
  inv.target.select(root, path, [&](element key, const selector::Path&, element) {
    if (texts.size() >= limit) return;
    uint64_t h = key_hash(key);
    if (!std::binary_search(hashes.begin(), hashes.end(), h) || std::find(named.begin(), named.end(), h) != named.end())
      return;
    named.push_back(h);
    texts.push_back(key_text(key));
  });
  return texts;
}

}  // namespace invar::invariants
