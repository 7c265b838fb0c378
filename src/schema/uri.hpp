// RFC 3986 reference resolution, as JSON Schema's $id and $ref need it.
#pragma once

#include <string>
#include <string_view>

namespace invar::schema::uri {

// Resolves `reference` against the absolute `base` (RFC 3986 section 5.2).
std::string resolve(std::string_view base, std::string_view reference);

// Splits "a#b" into "a" and "b" (fragment without '#'); no '#' -> empty fragment.
std::pair<std::string, std::string> split_fragment(std::string_view uri);

// Drops an empty trailing fragment: "x#" -> "x".
std::string normalize(std::string_view uri);

// Decodes %XX escapes (for JSON Pointer fragments).
std::string percent_decode(std::string_view s);

// "file:///abs/path" for a filesystem path (made absolute by the caller).
std::string from_path(std::string_view absolute_path);

}  // namespace invar::schema::uri
