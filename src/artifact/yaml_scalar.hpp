// How a plain (unquoted, untagged) YAML scalar is typed: by the YAML 1.2 core
// schema, which invar reads with, and by a YAML 1.1 parser (PyYAML's and
// go-yaml v2's resolvers, the spec's 1.1 types), which many consumers still
// run. Where the two differ, the same bytes mean two things.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace invar::artifact::yaml {

// A scalar's value under the core schema.
struct CoreScalar {
  enum class Kind { null, boolean, integer, unsigned_integer, floating, string, non_finite, out_of_range };
  Kind kind = Kind::string;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  double floating = 0;
};

// The YAML 1.2 core schema's reading of plain scalar `text`: null (~, null,
// empty), true/false (three spellings each), integers (decimal, 0o octal, 0x
// hex), floats, .inf/.nan (kind non_finite, `floating` set: JSON cannot hold them), else a
// string. Integers past uint64 and floats past double are out_of_range.
CoreScalar resolve_core(std::string_view text);

// Reads `text` as tag `tag` asks ("int", "float", "bool", "null", "str"):
// nullopt when the text is not of that type (then the tag is refused).
std::optional<CoreScalar> resolve_tagged(std::string_view tag, std::string_view text);

// When a YAML 1.1 parser would read plain scalar `text` differently from the
// core schema: both readings, in words ("the string \"no\"", "the boolean
// false"). Covers the 1.1 booleans (y/n, yes/no, on/off), sexagesimal numbers
// (1:20), 0-prefixed octals (0777), binary (0b1), underscores (1_000), floats
// without a signed exponent (1e3), timestamps (2001-12-14, 2001-12-14 21:59:43Z),
// and the value and merge keys (=, <<).
struct Readings {
  std::string yaml12;
  std::string yaml11;
};
std::optional<Readings> yaml11_differs(std::string_view text);

}  // namespace invar::artifact::yaml
