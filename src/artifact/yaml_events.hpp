// libfyaml's event stream, captured into compact batches that own their text
// (or point into the input), so that the YAML builder (yaml.cpp) never
// touches libfyaml. A pipeline that parsed on one thread while the builder
// read batches on another was measured slower than one thread (the batches
// crossing cores cost more than the building they moved): it is not kept.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/reader.hpp"

namespace invar::artifact::yaml {

struct Event {
  enum class Type : uint8_t { document_start, mapping_start, sequence_start, end, scalar, alias };
  enum class Style : uint8_t { plain, single_quoted, double_quoted, block };
  Type type = Type::scalar;
  Style style = Style::plain;
  // Where the event's token starts: a scalar at its opening quote, an alias
  // at its '*'. Unlocated events (no token mark) take the last location.
  bool located = false;
  uint64_t offset = 0, line = 0, column = 0;
  // Ranges of Batch::text. A scalar's value (folded, escapes resolved); an
  // alias's anchor name; a tag as resolved ("tag:yaml.org,2002:str", "!").
  uint64_t text = 0, text_length = 0;
  uint64_t tag = 0, tag_length = 0;
  uint64_t anchor = 0, anchor_length = 0;
  bool has_tag = false, has_anchor = false;
  bool text_in_input = false;  // `text` is a range of the input (a scalar written without escapes or breaks)
};

struct Batch {
  std::vector<Event> events;
  std::string text;
  bool last = false;                   // the stream ended (or failed) here
  std::optional<ReadProblem> problem;  // with `last`: the stream's syntax error, or no memory

  std::string_view input;               // the bytes being parsed

  std::string_view text_of(uint64_t at, uint64_t length) const { return std::string_view(text).substr(at, length); }
  std::string_view value(const Event& e) const {
    return e.text_in_input ? input.substr(e.text, e.text_length) : text_of(e.text, e.text_length);
  }
};

// Parses `bytes` and hands its events to `consume` in order, batch after
// batch, until `consume` returns false or the last batch. Throws only what
// `consume` throws; a failure to allocate the parser, or to allocate while
// parsing, arrives as a last batch with a "size" problem. A syntax problem
// with line 0 was not placed by libfyaml.
void read_events(std::string_view bytes, const std::function<bool(const Batch&)>& consume);

}  // namespace invar::artifact::yaml
