// The monotonicity-delta family: measures kept of an artifact, and their
// comparison with a baseline's (the LKG in a gate, --baseline in check).
// Percent limits are exact: "100%" allows an exact doubling and no more
// (compared as change * 100 <= baseline * percent, never through a rounded ratio).
#include <algorithm>
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

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += ch;
    }
  }
  out += '"';
}

// Canonical JSON: object members sorted by key, so that equal values have
// equal fingerprints whatever their member order. Recursion is bounded by the
// artifact's max_depth (checked when it was read).
void canonical(element e, std::string& out) {
  switch (e.type()) {
    case element_type::OBJECT: {
      std::vector<std::pair<std::string_view, element>> fields;
      for (auto field : sj::object_of(e)) fields.push_back({field.key, field.value});
      std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, fields[i].first);
        out += ':';
        canonical(fields[i].second, out);
      }
      out += '}';
      return;
    }
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      for (auto child : sj::array_of(e)) {
        if (!first) out += ',';
        first = false;
        canonical(child, out);
      }
      out += ']';
      return;
    }
    default: out += simdjson::minify(e); return;
  }
}

uint64_t fingerprint(element e) {
  std::string text;
  canonical(e, text);
  return digest::fnv1a64(text);
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

std::string list_keys(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < kListed; ++i) {
    if (i) out += ", ";
    const std::string& k = keys[i];
    out += k.size() && k[0] == 's' ? text::quoted(std::string_view(k).substr(1)) : std::string(k.substr(1));
  }
  if (keys.size() > kListed) out += fmt::format(", ... ({} in all)", keys.size());
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

Comparison compare_churn(const Invariant& inv, const Measure& cand, const Measure& base, Sink& sink) {
  Comparison result;
  double existing = static_cast<double>(base.keys.size());
  if (base.keys.size() < inv.min_existing) {
    result.skipped = true;
    result.note = fmt::format("the baseline has {} keys, fewer than min_existing {}", base.keys.size(), inv.min_existing);
    return result;
  }
  std::vector<std::string> added, removed, changed;
  for (const auto& [key, fp] : cand.keys) {
    auto it = base.keys.find(key);
    if (it == base.keys.end()) added.push_back(key);
    else if (it->second != fp) changed.push_back(key);
  }
  for (const auto& [key, fp] : base.keys)
    if (!cand.keys.count(key)) removed.push_back(key);
  auto check = [&](const std::optional<text::Amount>& limit, const std::string& limit_text, const char* name,
                   const char* verb, const std::vector<std::string>& keys) {
    if (!limit || within(*limit, static_cast<double>(keys.size()), existing)) return;
    Violation* v = sink.add("",
                            fmt::format("{} of the baseline's {} keys at {} were {} ({}), over {} {}", keys.size(),
                                        base.keys.size(), inv.target.text(), verb,
                                        percent_text(static_cast<double>(keys.size()), existing), name, limit_text),
                            fmt::format("<= {} {}", number_text(std::floor(allowance(*limit, existing) + 1e-9)), verb),
                            fmt::format("{} {}", keys.size(), verb));
    if (v) {
      v->baseline = fmt::format("{} keys", base.keys.size());
      v->explain.push_back(std::string(verb) + ": " + list_keys(keys));
    }
  };
  check(inv.max_added, inv.max_added_text, "max_added", "added", added);
  check(inv.max_removed, inv.max_removed_text, "max_removed", "removed", removed);
  check(inv.max_changed, inv.max_changed_text, "max_changed", "changed", changed);
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
        m.keys.emplace(identity(key), fingerprint(item));
      });
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
      auto r = compare_churn(inv, candidate, *baseline, sink);
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

// ---------------------------------------------------------------------------
// Storage form (version 1; docs/state.md).

namespace {

std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

std::optional<uint64_t> parse_hex64(const nlohmann::json& j) {
  if (!j.is_string()) return std::nullopt;
  const std::string& s = j.get_ref<const std::string&>();
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size() || s.size() != 16) return std::nullopt;
  return v;
}

}  // namespace

nlohmann::json to_json(const Measures& measures) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [id, m] : measures) {
    nlohmann::json j = {{"definition", m.definition}};
    if (m.definition.rfind("delta ", 0) == 0) j["number"] = m.number;
    if (m.definition.rfind("monotonic ", 0) == 0) {
      j["present"] = m.present;
      j["value"] = m.value_text;
    }
    if (!m.items.empty() || m.definition.rfind("immutable ", 0) == 0) {
      j["items"] = nlohmann::json::array();
      for (const auto& item : m.items) j["items"].push_back({item.pointer, hex64(item.fingerprint), item.preview});
    }
    if (m.definition.rfind("churn ", 0) == 0) {
      auto& keys = j["keys"] = nlohmann::json::array();
      for (const auto& [key, fp] : m.keys) keys.push_back({key, hex64(fp)});
    }
    out[id] = std::move(j);
  }
  return out;
}

std::optional<Measures> measures_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  Measures out;
  for (const auto& [id, v] : j.items()) {
    if (!v.is_object() || !v.contains("definition") || !v["definition"].is_string()) return std::nullopt;
    Measure m;
    m.definition = v["definition"].get<std::string>();
    if (auto n = v.find("number"); n != v.end()) {
      if (!n->is_number()) return std::nullopt;
      m.number = n->get<double>();
    }
    if (auto p = v.find("present"); p != v.end()) {
      if (!p->is_boolean()) return std::nullopt;
      m.present = p->get<bool>();
    }
    if (auto val = v.find("value"); val != v.end()) {
      if (!val->is_string()) return std::nullopt;
      m.value_text = val->get<std::string>();
    }
    if (auto items = v.find("items"); items != v.end()) {
      if (!items->is_array()) return std::nullopt;
      for (const auto& item : *items) {
        if (!item.is_array() || item.size() != 3 || !item[0].is_string() || !item[2].is_string()) return std::nullopt;
        auto fp = parse_hex64(item[1]);
        if (!fp) return std::nullopt;
        m.items.push_back({item[0].get<std::string>(), *fp, item[2].get<std::string>()});
      }
    }
    if (auto keys = v.find("keys"); keys != v.end()) {
      if (!keys->is_array()) return std::nullopt;
      for (const auto& pair : *keys) {
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string()) return std::nullopt;
        auto fp = parse_hex64(pair[1]);
        if (!fp) return std::nullopt;
        m.keys.emplace(pair[0].get<std::string>(), *fp);
      }
    }
    out.emplace(id, std::move(m));
  }
  return out;
}

}  // namespace invar::invariants
