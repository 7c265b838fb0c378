// Shared by the schema fuzz targets: a schema from input text, with the
// draft and format assertion drawn from the flags byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/plan.hpp"
#include "schema/schema.hpp"

namespace fuzz {

// Null when the text is not JSON or not a schema (flags: 1 draft-07 default, 2 format assertion).
inline std::shared_ptr<const invar::schema::Validator> compile_schema(std::string_view text, uint8_t flags) {
  auto doc = invar::contract::parse_json(text, "fuzz.schema.json");
  if (!doc) return nullptr;
  invar::schema::CompileOptions options;
  options.default_draft = flags & 1 ? invar::schema::Draft::draft7 : invar::schema::Draft::draft2020_12;
  options.format_assertion = flags & 2;
  auto validator = invar::schema::Validator::compile(*doc, "file:///fuzz/fuzz.schema.json", options);
  return validator ? validator.value() : nullptr;
}

}  // namespace fuzz
