// Explanations that say what grew, not just that a limit was crossed: for the
// selected objects, the string fields whose few distinct values split the
// items, and the fields whose values repeat.
#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>

#include "common/dom.hpp"
#include "common/text.hpp"
#include "invariants/invariant.hpp"

namespace invar::invariants {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr size_t kMaxFields = 32;        // fields examined
constexpr size_t kMaxCategories = 8;     // a field with more distinct values is an identifier
constexpr size_t kMaxLines = 4;

struct FieldStats {
  std::unordered_map<std::string_view, uint64_t> counts;
  uint64_t seen = 0;
  bool overflow = false;  // too many distinct values to be a category
};

}  // namespace

std::vector<std::string> explain_count(const std::vector<element>& nodes) {
  std::map<std::string_view, FieldStats> fields;
  for (element node : nodes) {
    if (node.type() != element_type::OBJECT) continue;
    for (auto field : sj::object_of(node)) {
      if (field.value.type() != element_type::STRING) continue;
      auto it = fields.find(field.key);
      if (it == fields.end()) {
        if (fields.size() >= kMaxFields) continue;
        it = fields.emplace(field.key, FieldStats{}).first;
      }
      ++it->second.seen;
      it->second.counts[sj::string_of(field.value)]++;
    }
  }
  std::vector<std::string> lines;
  for (auto& [name, stats] : fields) {
    if (lines.size() >= kMaxLines) break;
    size_t distinct = stats.counts.size();
    if (distinct >= 2 && distinct <= kMaxCategories) {
      std::vector<std::pair<uint64_t, std::string_view>> order;
      for (auto& [value, count] : stats.counts) order.push_back({count, value});
      std::sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
      std::string line = std::string(name) + ": ";
      for (size_t k = 0; k < order.size(); ++k)
        line += (k ? ", " : "") + text::quoted(order[k].second) + " x" + std::to_string(order[k].first);
      lines.push_back(std::move(line));
    } else if (distinct > kMaxCategories && distinct < stats.seen) {
      uint64_t repeated = 0;
      for (auto& [value, count] : stats.counts) repeated += count > 1;
      lines.push_back(std::string(name) + ": " + std::to_string(distinct) + " distinct values among " +
                      std::to_string(stats.seen) + " items, " + std::to_string(repeated) + " of them repeated");
    }
  }
  return lines;
}

}  // namespace invar::invariants
