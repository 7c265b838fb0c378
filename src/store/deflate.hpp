// zlib's deflate for the etcd backend's large objects (docs/fleet.md): an
// artifact's bytes cross the gateway (base64 JSON), raft (a quorum's WAL)
// and bolt three times over, so a plan that compresses tenfold is written
// and read in a tenth of the requests. zlib is loaded when first needed
// (dlopen, like libcurl, which depends on it: no cost at start-up, and
// nothing when the directory backend is used).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace invar::store {

// `bytes` deflated (zlib format, level 1: fast); nullopt when zlib cannot be
// loaded or the output would not be smaller (then the bytes are stored as
// they are).
std::optional<std::string> deflate_bytes(std::string_view bytes);
// `stored` inflated to exactly `size` bytes; nullopt when it is not zlib
// data, inflates to another size (never more than `size` is produced), or
// zlib cannot be loaded (`why` says which).
std::optional<std::string> inflate_bytes(std::string_view stored, size_t size, std::string* why);

}  // namespace invar::store
