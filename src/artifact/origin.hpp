// How a document read from a format other than plain JSON maps back to the
// file's bytes: the engine and the gate locate violations and read exact
// number texts through this, whatever the format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "artifact/reader.hpp"

namespace invar::artifact {

class Origin {
 public:
  virtual ~Origin() = default;
  // The JSON text the document was parsed from (exact number texts are read
  // from it); empty when there is none (YAML).
  virtual std::string_view json_text() const = 0;
  // What a reading problem's report says was expected.
  virtual std::string_view expected() const = 0;
  // Where each of `pointers` is in the file's `bytes` (see artifact::locate_all).
  virtual std::unordered_map<std::string, Location> locate_all(std::string_view bytes,
                                                               const std::vector<std::string>& pointers,
                                                               uint32_t max_depth) const = 0;
};

}  // namespace invar::artifact
