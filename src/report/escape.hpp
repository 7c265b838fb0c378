// Text made safe for the machine formats: whatever a report carries (values
// quoted from an artifact may hold control characters or, from a reader
// that quotes raw bytes, invalid UTF-8), the output keeps its own syntax.
#pragma once

#include <string>
#include <string_view>

namespace invar::report {

// Valid UTF-8: each invalid byte becomes U+FFFD.
std::string valid_utf8(std::string_view text);
// XML 1.0 character data or attribute value: & < > " ' escaped, characters
// XML 1.0 cannot hold (controls but tab, LF, CR; U+FFFE, U+FFFF) as U+FFFD.
std::string xml_escape(std::string_view text);
// HTML text or a quoted attribute value: & < > " ' escaped; controls (but
// tab and LF), U+FFFE/U+FFFF and the bidirectional overrides (which could
// reorder what a page shows) as U+FFFD.
std::string html_escape(std::string_view text);
// A path as a URI reference: relative to the working directory when it is
// under it, else file:///...; reserved characters percent-encoded.
std::string path_uri(std::string_view path);

}  // namespace invar::report
