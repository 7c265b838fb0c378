// SIMD masks over 64-byte blocks of JSON text: where quotes, backslashes,
// brackets and commas are, which bytes a backslash escapes, and which lie
// inside strings. Shared by the splitters (split.cpp, ndjson.cpp); x86-64
// (SSE2) only, with byte-by-byte code beside each use elsewhere.
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>

#include <cstdint>

namespace invar::artifact::simd {

// Masks of one 64-byte block: bit i is byte i.
struct Block {
  uint64_t quote = 0, backslash = 0, open = 0, close = 0, comma = 0;
  explicit Block(const char* p) {
    const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'), c = _mm_set1_epi8(',');
    const __m128i ob = _mm_set1_epi8('['), cb = _mm_set1_epi8(']'), oc = _mm_set1_epi8('{'), cc = _mm_set1_epi8('}');
    for (int k = 0; k < 4; ++k) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
      auto bits = [&](__m128i m) { return uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(m))} << (16 * k); };
      quote |= bits(_mm_cmpeq_epi8(v, q));
      backslash |= bits(_mm_cmpeq_epi8(v, b));
      comma |= bits(_mm_cmpeq_epi8(v, c));
      open |= bits(_mm_or_si128(_mm_cmpeq_epi8(v, ob), _mm_cmpeq_epi8(v, oc)));
      close |= bits(_mm_or_si128(_mm_cmpeq_epi8(v, cb), _mm_cmpeq_epi8(v, cc)));
    }
  }
};

// The bytes escaped by a backslash (a run of n backslashes escapes the byte
// after it when n is odd); `carry`: the block's first byte is escaped, and on
// return whether the next block's is.
inline uint64_t escaped_bytes(uint64_t backslash, bool& carry) {
  constexpr uint64_t kEven = 0x5555555555555555ull;
  const uint64_t carried = carry ? 1 : 0;
  backslash &= ~carried;
  const uint64_t follows = backslash << 1 | carried;
  const uint64_t odd_starts = backslash & ~kEven & ~follows;
  uint64_t even_runs;
  carry = __builtin_add_overflow(odd_starts, backslash, &even_runs);
  return (kEven ^ (even_runs << 1)) & follows;
}

inline uint64_t prefix_xor(uint64_t x) {
  for (int shift = 1; shift < 64; shift <<= 1) x ^= x << shift;
  return x;
}

}  // namespace invar::artifact::simd
#endif
