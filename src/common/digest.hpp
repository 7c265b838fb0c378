// Digests: SHA-256 names artifacts and checksums state files; a 64-bit
// FNV-1a fingerprints churn items (stable across builds and platforms).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace invar::digest {

// Which SHA-256 compression runs: the SHA extensions where the CPU has them
// (x86-64 SHA-NI, checked once with CPUID), else the portable scalar code.
// Tests name an engine to check both against the same vectors.
enum class Sha256Engine { best, scalar, sha_ni };
bool sha256_engine_available(Sha256Engine engine);

// "sha256:" followed by 64 lowercase hex digits.
std::string sha256(std::string_view bytes);

// The 64 hex digits of sha256(), without the prefix (for file names).
std::string sha256_hex(std::string_view bytes, Sha256Engine engine = Sha256Engine::best);

uint64_t fnv1a64(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ull);

}  // namespace invar::digest
