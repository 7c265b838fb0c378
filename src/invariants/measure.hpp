// What a delta-family invariant remembers of an artifact, so that a gate can
// compare a candidate with the last-known-good without re-parsing it. Stored
// with the LKG (src/store) as JSON; see docs/state.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace invar::invariants {

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
  // churn: key identity -> fingerprint of the item the key belongs to
  std::map<std::string, uint64_t> keys;
};

// Measures of one artifact, by invariant id.
using Measures = std::map<std::string, Measure>;

nlohmann::json to_json(const Measures& measures);
// Returns nullopt when `j` is not a measures object of this version.
std::optional<Measures> measures_from_json(const nlohmann::json& j);

}  // namespace invar::invariants
