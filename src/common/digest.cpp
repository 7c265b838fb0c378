#include "common/digest.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace invar::digest {

namespace {

// SHA-256 as specified in FIPS 180-4. Written here rather than taken from
// libcrypto: OpenSSL 3 initialises its providers (and reads openssl.cnf) on
// the first digest, about 1 ms per process, a third of a small `invar check`.
// The digests name artifacts and detect corrupted state; they are not used as
// a security boundary. Tested against the FIPS 180-4 example vectors.
constexpr std::array<uint32_t, 64> kRound = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void compress_block(std::array<uint32_t, 8>& h, const unsigned char* block) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i)
    w[i] = uint32_t(block[4 * i]) << 24 | uint32_t(block[4 * i + 1]) << 16 | uint32_t(block[4 * i + 2]) << 8 |
           uint32_t(block[4 * i + 3]);
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kRound[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void compress_scalar(std::array<uint32_t, 8>& h, const unsigned char* data, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) compress_block(h, data + 64 * i);
}

#if defined(__x86_64__)
// The same compression with the SHA extensions (Intel SHA-NI: sha256rnds2
// does two rounds, sha256msg1/msg2 the message schedule): about 5x the
// scalar code. The state is kept as ABEF/CDGH, the layout the instructions use.
__attribute__((target("sha,sse4.1"))) void compress_sha_ni(std::array<uint32_t, 8>& h, const unsigned char* data,
                                                             size_t blocks) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
  __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[0]));
  __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[4]));
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
  for (size_t b = 0; b < blocks; ++b, data += 64) {
    const __m128i abef_in = abef, cdgh_in = cdgh;
    __m128i w[4];  // the message words of four rounds each, rolling
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      __m128i& current = w[g % 4];
      __m128i& next = w[(g + 1) % 4];
      __m128i& previous = w[(g + 3) % 4];
      if (g < 4)
        current = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * g)), byte_swap);
      __m128i message =
          _mm_add_epi32(current, _mm_loadu_si128(reinterpret_cast<const __m128i*>(&kRound[static_cast<size_t>(4 * g)])));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
      if (g >= 3 && g <= 14) {
        next = _mm_add_epi32(next, _mm_alignr_epi8(current, previous, 4));
        next = _mm_sha256msg2_epu32(next, current);
      }
      message = _mm_shuffle_epi32(message, 0x0E);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, message);
      if (g >= 1 && g <= 12) previous = _mm_sha256msg1_epu32(previous, current);
    }
    abef = _mm_add_epi32(abef, abef_in);
    cdgh = _mm_add_epi32(cdgh, cdgh_in);
  }
  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[0]), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[4]), _mm_alignr_epi8(dchg, feba, 8));
}

bool cpu_has_sha_ni() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_SSE4_1) || !(ecx & bit_SSSE3)) return false;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return ebx & (1u << 29);  // CPUID.(EAX=7,ECX=0):EBX.SHA
}
#endif

using Compress = void (*)(std::array<uint32_t, 8>&, const unsigned char*, size_t);

Compress compressor(Sha256Engine engine) {
#if defined(__x86_64__)
  if (engine != Sha256Engine::scalar && cpu_has_sha_ni()) return compress_sha_ni;
#endif
  (void)engine;
  return compress_scalar;
}

}  // namespace

bool sha256_engine_available(Sha256Engine engine) {
#if defined(__x86_64__)
  if (engine == Sha256Engine::sha_ni) return cpu_has_sha_ni();
#endif
  return engine != Sha256Engine::sha_ni;
}

Sha256::Sha256(Sha256Engine engine) {
  static const Compress best = compressor(Sha256Engine::best);
  compress_ = engine == Sha256Engine::best ? best : compressor(engine);
}

void Sha256::update(std::string_view bytes) {
  const Compress compress = compress_;
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  length_ += n;
  if (pending_) {  // complete the block begun by an earlier update
    size_t take = std::min(n, sizeof block_ - pending_);
    std::memcpy(block_ + pending_, data, take);
    pending_ += take;
    data += take;
    n -= take;
    if (pending_ < sizeof block_) return;
    compress(h_, block_, 1);
    pending_ = 0;
  }
  size_t full = n / 64;
  compress(h_, data, full);
  pending_ = n - full * 64;
  if (pending_) std::memcpy(block_, data + full * 64, pending_);
}

std::string Sha256::finish_hex() {
  const Compress compress = compress_;
  // The tail: remaining bytes, 0x80, zeros, then the length in bits (big endian).
  unsigned char tail[128] = {};
  if (pending_) std::memcpy(tail, block_, pending_);
  tail[pending_] = 0x80;
  size_t tail_size = pending_ < 56 ? 64 : 128;
  uint64_t bits = length_ * 8;
  for (int i = 0; i < 8; ++i) tail[tail_size - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  compress(h_, tail, tail_size / 64);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint32_t word : h_)
    for (int shift = 28; shift >= 0; shift -= 4) out += hex[(word >> shift) & 15];
  return out;
}

std::string sha256_hex(std::string_view bytes, Sha256Engine engine) {
  Sha256 hash(engine);
  hash.update(bytes);
  return hash.finish_hex();
}

std::string sha256(std::string_view bytes) { return "sha256:" + sha256_hex(bytes); }

uint64_t fnv1a64(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

namespace {

// The 128-bit product folded to 64 bits (the mixing step of wyhash and mum).
__extension__ using u128 = unsigned __int128;

uint64_t fold_multiply(uint64_t a, uint64_t b) {
  u128 r = static_cast<u128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

uint64_t load_le(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

uint64_t load_le8(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

}  // namespace

uint64_t mix64(uint64_t a, uint64_t b) { return fold_multiply(a ^ 0xa0761d6478bd642full, b ^ 0xe7037ed1a0b428dbull); }

uint64_t hash64(std::string_view bytes, uint64_t seed) {
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull, k2 = 0x8ebc6af09c88c6e3ull;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  uint64_t h = fold_multiply(seed ^ k0, static_cast<uint64_t>(n) ^ k1);
  for (; n >= 8; n -= 8, p += 8) h = fold_multiply(h ^ load_le8(p), k1);
  if (n) h = fold_multiply(h ^ load_le(p, n), k2);
  return fold_multiply(h ^ k0, k2);
}

}  // namespace invar::digest
