// Shared by the schema fuzz targets: a schema from input text, with the
// draft and format assertion drawn from the flags byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/plan.hpp"
#include "schema/document.hpp"
#include "schema/schema.hpp"

namespace fuzz {

// Null when the text is not JSON (YAML with bit 5) or not a schema. Flags:
// bits 0-2 the default dialect (0-4: draft-04 ... 2020-12, modulo 5), bit 3
// format assertion, bit 4 unknown keywords allowed, bit 5 the text is YAML.
// Its numbers past 64 bits are kept, as invar reads a schema file.
inline std::shared_ptr<const invar::schema::Validator> compile_schema(std::string_view text, uint8_t flags) {
  invar::schema::NumberTexts numbers;
  auto doc = invar::schema::read_document(text, flags & 32 ? "fuzz.schema.yaml" : "fuzz.schema.json", &numbers);
  if (!doc) return nullptr;
  invar::schema::CompileOptions options;
  options.numbers["file:///fuzz/fuzz.schema.json"] = std::move(numbers);
  options.default_draft = static_cast<invar::schema::Draft>((flags & 7) % 5);
  options.format_assertion = flags & 8;
  options.allow_unknown_keywords = flags & 16;
  auto validator = invar::schema::Validator::compile(*doc, "file:///fuzz/fuzz.schema.json", options);
  return validator ? validator.value() : nullptr;
}

}  // namespace fuzz
