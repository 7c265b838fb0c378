#include "suggest/profile.hpp"

#include <algorithm>

#include "common/digest.hpp"
#include "common/text.hpp"

namespace invar::learn {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

bool identifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// The identity unique/refs/churn use (invariants::identity), hashed.
uint64_t identity_hash(element e, std::string_view text) {
  if (e.type() == element_type::STRING) return digest::fnv1a64(text, digest::fnv1a64("s"));
  return digest::fnv1a64(text, digest::fnv1a64("j"));
}

// Elements of `sorted` not in `other` (both sorted, without repeats).
uint64_t missing_from(const std::vector<uint64_t>& sorted, const std::vector<uint64_t>& other) {
  uint64_t n = 0;
  for (uint64_t h : sorted) n += !std::binary_search(other.begin(), other.end(), h);
  return n;
}

}  // namespace

std::string member_step(std::string_view name) {
  if (identifier(name)) return "." + std::string(name);
  std::string out = "['";
  for (char c : name) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "']";
}

size_t Profile::field(size_t parent, std::string_view step, bool element) {
  auto key = std::make_pair(parent, std::string(step));
  if (auto it = children_.find(key); it != children_.end()) return it->second;
  if (fields_.size() >= max_fields_) {
    truncated_ = true;
    return SIZE_MAX;
  }
  Field f;
  f.selector = fields_[parent].selector + std::string(step);
  f.wildcards = fields_[parent].wildcards + (element ? 1 : 0);
  f.array = element ? f.selector : fields_[parent].array;
  fields_.push_back(std::move(f));
  children_.emplace(std::move(key), fields_.size() - 1);
  return fields_.size() - 1;
}

void Profile::visit(element e, size_t index) {
  Field& f = fields_[index];
  const size_t sample = bytes_.size();
  if (f.counts.size() <= sample) {
    f.counts.resize(sample + 1, 0);
    touched_.push_back(index);
  }
  ++f.counts[sample];
  std::string text;
  switch (e.type()) {
    case element_type::OBJECT:
      ++f.others;
    {
      simdjson::dom::object object = e.get_object().value_unsafe();
      for (auto member : object) {
        size_t child = field(index, member_step(member.key), false);
        if (child != SIZE_MAX) visit(member.value, child);
      }
      return;
    }
    case element_type::ARRAY:
      ++f.others;
    {
      simdjson::dom::array array = e.get_array().value_unsafe();
      for (element item : array) {
        size_t child = field(index, "[*]", true);
        if (child == SIZE_MAX) return;
        visit(item, child);
      }
      return;
    }
    case element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      ++f.strings;
      if (f.timestamps && !text::parse_rfc3339(s)) f.timestamps = false;
      if (!f.many_values) {
        ++f.values[std::string(s)];
        if (f.values.size() > max_enum_) {
          f.many_values = true;
          f.values.clear();
        }
      }
      text = std::string(s);
      break;
    }
    case element_type::INT64:
    case element_type::UINT64:
      ++f.integers;
      text = simdjson::minify(e);
      break;
    case element_type::DOUBLE:
      ++f.numbers;
      text = simdjson::minify(e);
      break;
    default:
      ++f.others;
      return;
  }
  if (f.wildcards == 0) {
    if (f.singular.size() <= sample) f.singular.resize(sample + 1);
    f.singular[sample] = f.counts[sample] == 1 ? text : "";
  }
  if (!f.tracked) return;
  if (tracked_values_ >= kMaxTrackedValues) {
    f.tracked = false;
    budget_spent_ = true;
    tracked_values_ -= f.hashes.size();
    f.hashes = {};
    f.previous = {};
    return;
  }
  ++tracked_values_;
  f.hashes.push_back(identity_hash(e, text));
}

void Profile::add(element root, uint64_t bytes) {
  if (fields_.empty()) {
    fields_.push_back(Field{});
    fields_[0].selector = "$";
  }
  touched_.clear();
  tracked_values_ = 0;
  visit(root, 0);
  finish_sample();
  bytes_.push_back(bytes);
}

void Profile::finish_sample() {
  const size_t sample = bytes_.size();
  for (auto& f : fields_) {
    if (f.counts.size() <= sample) f.counts.resize(sample + 1, 0);
    if (f.wildcards == 0 && f.singular.size() <= sample) f.singular.resize(sample + 1);
    if (!f.tracked) continue;
    std::sort(f.hashes.begin(), f.hashes.end());
    auto end = std::unique(f.hashes.begin(), f.hashes.end());
    if (end != f.hashes.end()) f.unique = false;
    f.hashes.erase(end, f.hashes.end());
  }
  // References: every value of `from` among the keys of `to`, in this sample.
  if (!refs_started_) {
    refs_started_ = true;
    for (size_t to = 0; to < fields_.size(); ++to) {
      const Field& key = fields_[to];
      if (!key.tracked || !key.unique || key.array.empty() || key.others) continue;
      for (size_t from = 0; from < fields_.size(); ++from) {
        const Field& ref = fields_[from];
        if (from == to || ref.array.empty() || ref.array == key.array || !ref.tracked || ref.others || ref.numbers ||
            ref.hashes.empty())
          continue;
        refs_.push_back({from, to, true});
        if (refs_.size() >= 256) break;  // enough candidates to judge
      }
      if (refs_.size() >= 256) break;
    }
  }
  for (auto& r : refs_) {
    if (!r.holds) continue;
    const Field& from = fields_[r.from];
    const Field& to = fields_[r.to];
    r.holds = from.tracked && to.tracked && to.unique && missing_from(from.hashes, to.hashes) == 0;
  }
  // Churn of keys against the previous sample.
  for (auto& f : fields_) {
    if (!f.tracked || !f.unique) {
      f.hashes = {};
      f.previous = {};
      continue;
    }
    if (f.has_previous && f.previous.size() >= 10) {
      double base = static_cast<double>(f.previous.size());
      f.added.push_back(static_cast<double>(missing_from(f.hashes, f.previous)) / base);
      f.removed.push_back(static_cast<double>(missing_from(f.previous, f.hashes)) / base);
    }
    f.previous = std::move(f.hashes);
    f.hashes = {};
    f.has_previous = true;
  }
}

}  // namespace invar::learn
