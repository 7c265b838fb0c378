// (f) Attestations (docs/signing.md): verify() and verify_envelopes() over
// any input, and the trusted-keys reader. With flag 1 the input is a
// Statement that the target signs with a trusted key first, so the checks
// behind the signature (the statement, the predicate, the claims) are reached.
// Input: [flags] bytes. flags: 1 re-sign, 2 expect stream "s", 4 several
// lines (verify_envelopes), 8 read the bytes as a trusted-keys file; the high
// nibble is min_sequence.
#include <cstdlib>

#include "fuzz.hpp"
#include "invar/sign.hpp"

namespace {

// The artifact every statement is about; its SHA-256 is in the seeds.
const std::string kArtifact = "{\"generation\": 1}\n";

struct Fixture {
  invar::SigningKey key;
  invar::TrustedKeys keys;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    auto key = invar::SigningKey::from_seed(std::string(32, 'f'), "fuzz");
    auto old = invar::SigningKey::from_seed(std::string(32, 'o'), "old");
    if (!key || !old) std::abort();
    auto keys = invar::TrustedKeys::load_string("{\"keys\": [" + key->trusted_entry() + ", {\"keyid\": \"old\", \"public\": \"" +
                                                old->public_base64() + "\", \"not_after\": \"2020-01-01T00:00:00Z\"}]}");
    if (!keys) std::abort();
    return Fixture{key.value(), keys.value()};
  }();
  return f;
}

std::string base64(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  const Fixture& f = fixture();
  fuzz::Input in(data, size);
  const uint8_t flags = in.byte();
  std::string input(in.rest());
  if (flags & 8) {
    auto keys = invar::TrustedKeys::load_string(input);
    if (keys) (void)keys->find("fuzz");
    return 0;
  }
  if (flags & 1) {  // a signed statement: the input is the payload
    std::string sig = f.key.sign(invar::pae(invar::kPayloadType, input));
    input = "{\"payloadType\": \"" + std::string(invar::kPayloadType) + "\", \"payload\": \"" + base64(input) +
            "\", \"signatures\": [{\"keyid\": \"fuzz\", \"sig\": \"" + base64(sig) + "\"}]}";
  }
  invar::VerifyExpectations expect;
  if (flags & 2) expect.stream = "s";
  expect.min_sequence = flags >> 4;
  expect.now = invar::Time::from_ms(1'800'000'000'000);
  auto verified = (flags & 4) ? invar::verify_envelopes(input, kArtifact, f.keys, expect)
                              : invar::verify(input, kArtifact, f.keys, expect);
  if (verified) {
    if (verified->statement.sha256.size() != 64) __builtin_trap();  // verified means a well-formed statement
    (void)invar::verified_json(*verified);
  }
  return 0;
}
