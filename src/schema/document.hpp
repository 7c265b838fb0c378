// Reading a contract or schema document: JSON, or YAML when its path ends in
// .yaml or .yml, into the nlohmann::json the contract loader and the schema
// compiler work on. Strict as artifacts are (duplicate keys refused, depth
// kMaxDocumentDepth; YAML: the core schema, one document, the YAML reader's
// limits), except that integers of any size are read: nlohmann::json holds
// one past 64 bits as a double, its exact text goes to `numbers`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "artifact/reader.hpp"
#include "invar/invar.hpp"
#include "schema/schema.hpp"

namespace invar::schema {

// Whether `path` names a YAML document (.yaml, .yml).
bool is_yaml_path(std::string_view path);

// The document in `bytes`, read from `path` (which labels errors and, by its
// extension, says JSON or YAML). Errors are located (line, column, pointer)
// in `bytes`: syntax (ErrorCode::syntax) or a limit (ErrorCode::limit).
// `numbers`: set to the exact texts of the integers past 64 bits, by pointer.
Result<nlohmann::json> read_document(std::string_view bytes, const std::string& path, NumberTexts* numbers = nullptr);

// Where the value at `pointer` is in `bytes` (a document read_document
// accepts, from `path`), or the nearest value that holds it (a missing key
// is located at its object); nullopt when not even the root is found.
std::optional<artifact::Location> locate_in_document(std::string_view bytes, const std::string& path,
                                                     std::string_view pointer);

// The texts under `prefix` (a JSON Pointer), re-rooted there: those of a
// schema inside a larger document (a contract's "inline").
NumberTexts numbers_under(const NumberTexts& numbers, std::string_view prefix);

}  // namespace invar::schema
