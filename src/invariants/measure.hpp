// What a delta-family invariant remembers of an artifact, so that a gate can
// compare a candidate with the last-known-good without re-parsing it. Stored
// with the LKG (src/store): a sealed JSON header and a binary payload for the
// churn keys; see docs/state.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace invar::invariants {

struct Invariant;

// churn: widths of what is kept per key. A key is its identity's 56-bit
// hash (two distinct keys of 500,000 collide with odds of about 2e-6); an
// item is a 24-bit fingerprint of its value (a changed item goes unseen
// with odds of 2^-24). Stored Rice-coded: about 8 bytes per key.
inline constexpr int kChurnKeyBits = 56;
inline constexpr int kChurnItemBits = 24;

struct KeyEntry {
  uint64_t key = 0;   // hash of the key's identity, < 2^kChurnKeyBits
  uint32_t item = 0;  // fingerprint of the item the key names, < 2^kChurnItemBits
  bool operator==(const KeyEntry&) const = default;
};

struct Measure {
  std::string definition;  // the invariant's definition it was computed under
  // delta: the measured number
  double number = 0;
  // monotonic: the single selected value (absent when nothing was selected)
  bool present = false;
  std::string value_text;  // minified JSON of the value
  // immutable: selected values by JSON Pointer -> (fingerprint, preview)
  struct Item {
    std::string pointer;
    uint64_t fingerprint = 0;
    std::string preview;
  };
  std::vector<Item> items;
  // churn: one entry per distinct key (the first occurrence), sorted by key
  std::vector<KeyEntry> keys;
};

// Measures of one artifact, by invariant id.
using Measures = std::map<std::string, Measure>;

// The texts of a churn invariant's keys whose hashes are in `hashes`
// (sorted), at most `limit`, in the baseline artifact's document order. A
// baseline comparison calls it only when a violation must name keys that
// only the baseline has; it reads the baseline artifact again.
using KeyNamer =
    std::function<std::vector<std::string>(const Invariant& inv, const std::vector<uint64_t>& hashes, size_t limit)>;

// Storage form (docs/state.md): the JSON part, with the churn keys appended
// to `payload` (the JSON names their offset and length in it).
nlohmann::json to_json(const Measures& measures, std::string& payload);
// Returns nullopt when `j` and `payload` are not measures of this version.
std::optional<Measures> measures_from_json(const nlohmann::json& j, std::string_view payload);

}  // namespace invar::invariants
