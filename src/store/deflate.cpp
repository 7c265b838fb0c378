#include "store/deflate.hpp"

#include <dlfcn.h>
#include <zlib.h>

namespace invar::store {

namespace {

struct Zlib {
  int (*compress2)(Bytef* dest, uLongf* dest_len, const Bytef* source, uLong source_len, int level) = nullptr;
  int (*uncompress)(Bytef* dest, uLongf* dest_len, const Bytef* source, uLong source_len) = nullptr;
  uLong (*compress_bound)(uLong source_len) = nullptr;
  bool ok = false;
};

const Zlib& zlib() {
  static const Zlib loaded = [] {
    Zlib z;
    void* library = ::dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) return z;  // stays loaded for the process's life when found
    z.compress2 = reinterpret_cast<decltype(z.compress2)>(::dlsym(library, "compress2"));
    z.uncompress = reinterpret_cast<decltype(z.uncompress)>(::dlsym(library, "uncompress"));
    z.compress_bound = reinterpret_cast<decltype(z.compress_bound)>(::dlsym(library, "compressBound"));
    z.ok = z.compress2 && z.uncompress && z.compress_bound;
    return z;
  }();
  return loaded;
}

}  // namespace

std::optional<std::string> deflate_bytes(std::string_view bytes) {
  const Zlib& z = zlib();
  if (!z.ok) return std::nullopt;
  std::string out(z.compress_bound(bytes.size()), '\0');
  uLongf size = out.size();
  if (z.compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(bytes.data()),
                  bytes.size(), 1) != Z_OK ||
      size >= bytes.size())
    return std::nullopt;
  out.resize(size);
  return out;
}

std::optional<std::string> inflate_bytes(std::string_view stored, size_t size, std::string* why) {
  const Zlib& z = zlib();
  if (!z.ok) {
    if (why) *why = "the object is deflated and zlib (libz.so.1, Debian: zlib1g) cannot be loaded";
    return std::nullopt;
  }
  std::string out(size, '\0');
  uLongf produced = size;
  int rc = z.uncompress(reinterpret_cast<Bytef*>(out.data()), &produced, reinterpret_cast<const Bytef*>(stored.data()),
                        stored.size());
  if (rc != Z_OK || produced != size) {
    if (why) *why = "the stored object does not inflate to the size its record says (corrupted); invar will not use it";
    return std::nullopt;
  }
  return out;
}

}  // namespace invar::store
