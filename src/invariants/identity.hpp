// Identities of selected values, hashed, and a set of such hashes: what
// unique and refs compare, in one pass and without a string per value.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/memory.hpp"
#include "selector/jsonpath.hpp"

namespace invar::invariants {

// A value's identity hashed: strings by content, others by minified JSON,
// a composite `key` (non-empty) by its components' identities. Equal
// identities hash equal; distinct ones collide with odds of 2^-64.
// `complete`, when given, is set to whether every key component was present.
uint64_t identity_hash(const std::vector<selector::Selector>& key, simdjson::dom::element e,
                       bool* complete = nullptr);

// What unique takes from the check's memory budget with its set, for the
// state of values that repeat.
inline constexpr uint64_t kRepeatReserveBytes = 64 << 10;

// A set of 64-bit identity hashes: open addressing with linear probing,
// kept at most 3/4 full (8 bytes a slot: 11 to 21 bytes a value). One pass,
// no sort: a repeated hash is noticed when it is inserted.
class HashSet {
 public:
  size_t size() const { return size_; }
  // Calls f(hash) for each hash in the set.
  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < capacity_; ++i)
      if (slots_[i]) f(slots_[i]);
  }
  // True when `h` is in the set.
  bool contains(uint64_t h) const {
    h = h ? h : 1;
    for (size_t i = index(h);; i = (i + 1) & mask_) {
      if (slots_[i] == h) return true;
      if (slots_[i] == 0) return false;
    }
  }
  // Room for `expected` values at most 3/4 full.
  explicit HashSet(size_t expected) { allocate(slots_for(expected)); }
  static size_t slots_for(size_t expected) { return std::max<size_t>(1024, std::bit_ceil(expected / 3 * 4 + 4)); }
  // False when `h` was there already.
  bool insert(uint64_t h) {
    h = h ? h : 1;  // 0 marks an empty slot
    for (size_t i = index(h);; i = (i + 1) & mask_) {
      if (slots_[i] == h) return false;
      if (slots_[i] == 0) {
        slots_[i] = h;
        ++size_;
        return true;
      }
    }
  }
  // Starts fetching the slot `h` will probe (insert it a few values later:
  // the set is larger than the caches, and a miss costs far more than a hash).
  void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[index(h ? h : 1)]); }
  bool full(size_t more) const { return 4 * (size_ + more) > 3 * capacity_; }
  size_t grown_bytes() const { return capacity_ * 2 * sizeof(uint64_t); }
  void grow() {
    auto old = std::move(pages_);
    const uint64_t* old_slots = slots_;
    size_t old_capacity = capacity_;
    allocate(capacity_ * 2);
    for (size_t i = 0; i < old_capacity; ++i)
      if (old_slots[i]) insert(old_slots[i]);
  }

 private:
  // Zeroed by the kernel: with few distinct values few pages are ever touched.
  void allocate(size_t capacity) {
    pages_ = std::make_unique<memory::ZeroedPages>(capacity * sizeof(uint64_t));
    slots_ = static_cast<uint64_t*>(pages_->data());
    capacity_ = capacity;
    mask_ = capacity - 1;
    shift_ = 64 - std::countr_zero(capacity);
    size_ = 0;
  }
  size_t index(uint64_t h) const { return static_cast<size_t>((h * 0x9E3779B97F4A7C15ull) >> shift_); }

  std::unique_ptr<memory::ZeroedPages> pages_;
  uint64_t* slots_ = nullptr;
  size_t capacity_ = 0, mask_ = 0, size_ = 0;
  int shift_ = 64;  // the top bits of a Fibonacci hash index the slots
};

}  // namespace invar::invariants
