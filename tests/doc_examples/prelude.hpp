// What the C++ examples of the headers and docs use without defining it
// (tests/doc_examples.sh wraps each "cpp fragment" in a function after this).
#include <iostream>
#include <string>
#include <string_view>

#include <invar/gate.hpp>
#include <invar/invar.hpp>
#include <invar/lint.hpp>
#include <invar/report.hpp>
#include <invar/sign.hpp>
#include <invar/suggest.hpp>

// Artifacts: a candidate, the one in service, an update.
std::string bytes, candidate, bytes_in_service, new_bytes;
// An attestation file's text (docs/signing.md), the highest sequence served so far.
std::string envelopes;
uint64_t highest_served = 0;

// The consumer's own configuration type and what it does with it.
struct FeatureTable {
  static invar::Result<FeatureTable> parse(std::string_view) { return FeatureTable{}; }
};
void use(const FeatureTable&) {}
void log(const std::string&) {}
void publish(const std::string&) {}
