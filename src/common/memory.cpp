#include "common/memory.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <fstream>
#include <new>
#include <string>

namespace invar::memory {

bool huge_pages_available() {
  static const bool available = [] {
    std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string line;
    std::getline(in, line);
    return line.find("[always]") != std::string::npos || line.find("[madvise]") != std::string::npos;
  }();
  return available;
}

void advise_huge_pages(const void* start, size_t bytes) {
  constexpr uintptr_t kHuge = 2 << 20;
  if (bytes < kHugePageMinBytes || !huge_pages_available()) return;
  uintptr_t first = (reinterpret_cast<uintptr_t>(start) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(start) + bytes) & ~(kHuge - 1);
  if (end > first) ::madvise(reinterpret_cast<void*>(first), end - first, MADV_HUGEPAGE);
}

ZeroedPages::ZeroedPages(size_t bytes) {
  constexpr size_t kHuge = 2 << 20;
  const bool huge = bytes >= kHugePageMinBytes;
  mapped_ = (bytes ? bytes : 1) + (huge ? kHuge : 0);
  mapping_ = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) throw std::bad_alloc();
  uintptr_t start = reinterpret_cast<uintptr_t>(mapping_);
  if (huge) start = (start + kHuge - 1) & ~(kHuge - 1);
  data_ = reinterpret_cast<void*>(start);
  if (huge) advise_huge_pages(data_, bytes);
}

ZeroedPages::~ZeroedPages() { ::munmap(mapping_, mapped_); }

}  // namespace invar::memory
