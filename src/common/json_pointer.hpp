// JSON Pointer (RFC 6901) lookup in a nlohmann document: contracts, schemas.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace invar {

// The value at `pointer` ("" or "/a/0/~1b", already percent-decoded) in
// `root`, or nullptr when there is none. Array indexes are digits only.
const nlohmann::json* json_at_pointer(const nlohmann::json& root, std::string_view pointer);

}  // namespace invar
