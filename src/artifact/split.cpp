#include "artifact/split.hpp"

#include <cstring>

#include "artifact/blocks.hpp"

namespace invar::artifact {

namespace {

// The first quote or backslash in [at, end), or end: where a string's
// content stops being plain (most of a JSON file is inside strings).
const char* string_stop(const char* at, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  for (; at + 16 <= end; at += 16) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)));
    if (mask) return at + __builtin_ctz(static_cast<unsigned>(mask));
  }
#endif
  while (at < end && *at != '"' && *at != '\\') ++at;
  return at;
}

bool blank(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

MemberSplitter::MemberSplitter(std::string member, uint64_t batch_bytes, uint64_t max_skeleton_bytes)
    : member_(std::move(member)), batch_bytes_(batch_bytes), max_skeleton_bytes_(max_skeleton_bytes) {
  batch_ = "{\"" + member_ + "\":[";
  prefix_ = batch_.size();
}

void MemberSplitter::keep(std::string_view bytes) {
  if (skeleton_.size() + bytes.size() > max_skeleton_bytes_) {
    failed_ = true;
    return;
  }
  skeleton_.append(bytes);
}

bool MemberSplitter::emit(const Batch& batch, bool last) {
  size_t first = prefix_;
  while (first < batch_.size() && blank(batch_[first])) ++first;
  if (first == batch_.size()) {
    // No element: an empty array is fine; an empty element ("[,", ",,",
    // a trailing comma) is the whole document's error to report.
    if (last && !separated_ && batches_ == 0) return true;
    failed_ = true;
    return false;
  }
  const size_t length = batch_.size() + 2;
  batch_.append("]}");
  batch_.resize(length + kPadding, ' ');
  ++batches_;
  bool go_on = batch(std::string_view(batch_.data(), length));
  batch_.resize(prefix_);
  if (!go_on) failed_ = true;
  return go_on;
}

#if defined(__SSE2__)

template <class Boundary>
const char* MemberSplitter::blocks(const char* at, const char* end, Boundary& boundary, bool& closed) {
  bool escaped = escaped_;
  uint64_t in_string = in_string_ ? ~uint64_t{0} : 0;  // all ones while inside a string
  for (; end - at >= 64; at += 64) {
    simd::Block block(at);
    const uint64_t quotes = block.quote & ~simd::escaped_bytes(block.backslash, escaped);
    const uint64_t inside = simd::prefix_xor(quotes) ^ in_string;
    in_string = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
    for (uint64_t s = (block.open | block.close | block.comma) & ~inside; s; s &= s - 1) {
      const char* p = at + __builtin_ctzll(s);
      if (*p == '[' || *p == '{') {
        ++depth_;
      } else if (*p == ',') {
        if (depth_ == 2) {
          boundary(p);
          if (failed_) return p;
        }
      } else if (depth_ > 2) {
        --depth_;
      } else {
        // The member's array ends here, or a '}' closes it: not this split's to follow.
        if (*p != ']') failed_ = true;
        in_string_ = false;
        escaped_ = false;
        closed = true;
        return p;
      }
    }
  }
  escaped_ = escaped;
  in_string_ = in_string != 0;
  return at;
}
#endif

bool MemberSplitter::feed(std::string_view chunk, const Batch& batch) {
  if (failed_) return false;
  const char* const begin = chunk.data();
  const char* const end = begin + chunk.size();
  const char* region = begin;  // bytes from here on are not yet kept (skeleton) or gathered (batch)
  auto flush = [&](const char* upto) {
    if (where_ == Where::inside) batch_.append(region, static_cast<size_t>(upto - region));
    else keep(std::string_view(region, static_cast<size_t>(upto - region)));
    region = upto;
  };
  // A ',' between elements: the batch ends there once it is large enough.
  auto boundary = [&](const char* comma) {
    separated_ = true;
    if (batch_.size() + static_cast<size_t>(comma - region) < batch_bytes_ + prefix_) return;
    flush(comma);
    region = comma + 1;  // the ',' between batches is neither's
    emit(batch, false);
  };
  // The member's array ends at `bracket`: its last batch, then the skeleton again.
  auto close_member = [&](const char* bracket) {
    flush(bracket);
    if (!emit(batch, true)) return false;
    where_ = Where::after;
    depth_ = 1;
    return true;
  };
  for (const char* at = begin; at < end && !failed_; ++at) {
#if defined(__SSE2__)
    // Inside the member's array, whole 64-byte blocks at a time.
    if (where_ == Where::inside && end - at >= 64) {
      bool closed = false;
      at = blocks(at, end, boundary, closed);
      if (failed_ || at == end) break;
      if (!closed) {  // fewer than 64 bytes left: byte by byte (`at` > begin: a block was scanned)
        --at;
        continue;
      }
      if (!close_member(at)) break;
      continue;
    }
#endif
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
        continue;
      }
      if (!key_matches_) {
        at = string_stop(at, end);
        if (at == end) break;
      }
      char c = *at;
      if (c == '\\') {
        escaped_ = true;
        key_matches_ = false;  // a key written with escapes is not recognised
      } else if (c == '"') {
        in_string_ = false;
        if (key_matches_ && key_at_ == member_.size()) member_next_ = true;
        key_matches_ = false;
      } else if (key_matches_) {
        key_matches_ = key_at_ < member_.size() && c == member_[key_at_];
        ++key_at_;
      }
      continue;
    }
    const char c = *at;
    if (blank(c)) continue;
    if (member_next_ && depth_ == 1 && c != ':') {
      member_next_ = false;
      if (c != '[') {  // the member is not an array: nothing to split
        failed_ = true;
        break;
      }
      flush(at + 1);
      where_ = Where::inside;
      depth_ = 2;
      continue;
    }
    const bool element_level = where_ == Where::inside && depth_ == 2;
    switch (c) {
      case '"':
        in_string_ = true;
        if (depth_ == 1 && expect_key_) {
          expect_key_ = false;
          key_matches_ = where_ == Where::before;  // the first occurrence only; a repeat is the skeleton's
          key_at_ = 0;
        }
        break;
      case '{':
      case '[':
        if (depth_ == 0) {
          if (!started_ && c != '{') failed_ = true;  // not an object: nothing to split
          started_ = true;
          expect_key_ = c == '{';
        }
        ++depth_;
        break;
      case '}':
      case ']':
        if (element_level) {
          if (c != ']') {
            failed_ = true;
            break;
          }
          close_member(at);
          break;
        }
        if (depth_ == 0) {
          failed_ = true;
          break;
        }
        --depth_;
        break;
      case ',':
        if (depth_ == 1) expect_key_ = true;
        if (element_level) boundary(at);
        break;
      default:
        break;
    }
  }
  if (!failed_) flush(end);
  return !failed_;
}

bool MemberSplitter::finish(const Batch&) {
  return !failed_ && started_ && !in_string_ && depth_ == 0 && where_ == Where::after;
}

}  // namespace invar::artifact
