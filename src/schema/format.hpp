// The "format" values invar asserts when format assertion is enabled. Any
// other format name stays an annotation.
#pragma once

#include <string_view>

namespace invar::schema {

// True when `format` is asserted by invar: date-time, ipv4, ipv6, hostname, uuid.
bool is_asserted_format(std::string_view format);
// True when `value` is valid for `format` (always true for unasserted names).
bool check_format(std::string_view format, std::string_view value);

}  // namespace invar::schema
