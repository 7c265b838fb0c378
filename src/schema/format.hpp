// JSON Schema "format": the names invar asserts when format assertion is on.
// Any other name stays an annotation.
#pragma once

#include <string_view>

namespace invar::schema {

// True for the formats of the 2020-12 vocabulary that invar asserts, the same
// in every dialect: date-time, date, time, duration (RFC 3339 and its
// appendix A), email, idn-email (RFC 5321 Mailbox, RFC 6531), hostname,
// idn-hostname (RFC 1123, IDNA2008: RFC 5890-5893), ipv4, ipv6, uri,
// uri-reference (RFC 3986), iri, iri-reference (RFC 3987), uri-template
// (RFC 6570), json-pointer (RFC 6901), relative-json-pointer, uuid (RFC 4122).
bool is_asserted_format(std::string_view format);
// True when `value` is valid for `format` (always true for unasserted names).
// Any bytes: time linear in value's size, no allocation but libidn2's for a
// label that is not ASCII or is an A-label.
bool check_format(std::string_view format, std::string_view value);

}  // namespace invar::schema
