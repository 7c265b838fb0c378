// Large buffers and the page-fault tax: a fresh buffer costs one fault per
// 4 KiB page it touches (docs/performance.md measured 95% of a cold parse of
// an 83 MB file there). Where the kernel has transparent huge pages for
// regions that ask, a 2 MiB page is one fault where 4 KiB pages are 512.
#pragma once

#include <cstddef>

namespace invar::memory {

// Buffers from this size on ask for huge pages.
inline constexpr size_t kHugePageMinBytes = 8 << 20;

// Whether /sys/kernel/mm/transparent_hugepage/enabled is "always" or
// "madvise" (read once).
bool huge_pages_available();

// Asks for huge pages on the 2 MiB-aligned part of [start, start + bytes),
// when available and `bytes` >= kHugePageMinBytes; otherwise nothing.
void advise_huge_pages(const void* start, size_t bytes);

// Zero-filled memory straight from the kernel (mmap): a page costs memory
// only once written, and a buffer of kHugePageMinBytes or more is 2 MiB
// aligned and asks for huge pages. Throws std::bad_alloc when refused.
class ZeroedPages {
 public:
  explicit ZeroedPages(size_t bytes);
  ~ZeroedPages();
  ZeroedPages(const ZeroedPages&) = delete;
  ZeroedPages& operator=(const ZeroedPages&) = delete;
  void* data() const { return data_; }

 private:
  void* mapping_ = nullptr;
  size_t mapped_ = 0;
  void* data_ = nullptr;
};

}  // namespace invar::memory
