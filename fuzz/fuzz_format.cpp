// (l) JSON Schema "format" checks (schema/format.hpp) on any bytes.
// Input: [format] value; the first byte picks the format the value is
// checked for first, then it is checked for every other one.
// Checked: no crash, leak or undefined behaviour, invalid UTF-8 included;
// the formats' inclusions hold: a URI is a URI reference, an IRI and an IRI
// reference; an e-mail address is an idn-email; a host name is an
// idn-hostname, the host of a URI and the domain of an e-mail address; an
// IPv4 address is an IPv4-mapped IPv6 one; a date-time's parts are a date
// and a time; a JSON pointer is a relative one after "0"; and the formats
// that take no UTF-8 accept only ASCII.
#include <string>

#include "fuzz.hpp"
#include "schema/format.hpp"

namespace {

const char* const kFormats[] = {"date-time", "date", "time", "duration", "email", "idn-email", "hostname",
                                "idn-hostname", "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference",
                                "uri-template", "json-pointer", "relative-json-pointer", "uuid"};
constexpr size_t kCount = sizeof kFormats / sizeof kFormats[0];

bool is(const char* format, std::string_view value) { return invar::schema::check_format(format, value); }

bool ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  fuzz::Input in(data, size);
  const size_t first = in.byte() % kCount;
  const std::string_view v = in.rest();
  (void)is(kFormats[first], v);
  bool valid[kCount];
  for (size_t k = 0; k < kCount; ++k) valid[k] = is(kFormats[k], v);
  auto at = [&](std::string_view name) {
    for (size_t k = 0; k < kCount; ++k)
      if (name == kFormats[k]) return valid[k];
    __builtin_trap();
  };
  const std::string s(v);
  if (at("uri") && !(at("uri-reference") && at("iri") && at("iri-reference"))) __builtin_trap();
  if ((at("uri-reference") || at("iri")) && !at("iri-reference")) __builtin_trap();
  if (at("email") && !at("idn-email")) __builtin_trap();
  if (at("hostname") && !(at("idn-hostname") && is("uri", "http://" + s + "/") && is("email", "a@" + s)))
    __builtin_trap();
  if (at("ipv4") && !(is("ipv6", "::ffff:" + s) && is("email", "a@[" + s + "]"))) __builtin_trap();
  if (at("ipv6") && !(is("uri", "http://[" + s + "]/") && is("email", "a@[IPv6:" + s + "]"))) __builtin_trap();
  if (at("date-time") && !(is("date", v.substr(0, 10)) && is("time", v.substr(11)))) __builtin_trap();
  if (at("json-pointer") && !is("relative-json-pointer", "0" + s)) __builtin_trap();
  for (const char* f : {"date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6", "uri",
                        "uri-reference", "uuid"})
    if (at(f) && !ascii(v)) __builtin_trap();
  return 0;
}
