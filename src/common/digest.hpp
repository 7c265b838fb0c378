// Digests: SHA-256 names artifacts and checksums state files; a 64-bit
// FNV-1a and hash64() fingerprint values (stable across builds and platforms).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace invar::digest {

// Which SHA-256 compression runs: the SHA extensions where the CPU has them
// (x86-64 SHA-NI, checked once with CPUID), else the portable scalar code.
// Tests name an engine to check both against the same vectors.
enum class Sha256Engine { best, scalar, sha_ni };
bool sha256_engine_available(Sha256Engine engine);

// SHA-256 of bytes given in pieces (a file read in chunks).
class Sha256 {
 public:
  explicit Sha256(Sha256Engine engine = Sha256Engine::best);
  void update(std::string_view bytes);
  // The 64 hex digits; call once, after the last update.
  std::string finish_hex();

 private:
  std::array<uint32_t, 8> h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char block_[64] = {};
  size_t pending_ = 0;   // bytes of block_ in use
  uint64_t length_ = 0;  // bytes given
  using Compress = void (*)(std::array<uint32_t, 8>&, const unsigned char*, size_t);
  Compress compress_;  // the engine's: SHA-NI or scalar
};

// "sha256:" followed by 64 lowercase hex digits.
std::string sha256(std::string_view bytes);

// The 64 hex digits of sha256(), without the prefix (for file names).
std::string sha256_hex(std::string_view bytes, Sha256Engine engine = Sha256Engine::best);

uint64_t fnv1a64(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ull);

// A fast 64-bit hash, eight bytes a step, for what is stored (churn keys and
// items): the same value on every build and platform (little-endian reads).
// Not cryptographic: distinct inputs collide with odds of about 2^-64.
uint64_t hash64(std::string_view bytes, uint64_t seed = 0);
// Two 64-bit values mixed into one (order matters), as hash64 mixes.
uint64_t mix64(uint64_t a, uint64_t b);

}  // namespace invar::digest
