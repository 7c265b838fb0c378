// What etcd's watch stream said (src/store/etcd_watch.cpp): the gateway
// streams JSON objects, one a line; feed() takes the bytes as they arrive,
// in pieces of any size, splits them into messages (each byte scanned once)
// and keeps what a waiting follower needs. Bad input is a `why`, never a
// crash; a message over kMaxWatchMessage bytes stops the scan (overflow).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace invar::store {

// One message of the stream (events carry a stream's small records, never
// chunks): past this, the stream is dropped and the caller reads instead.
constexpr size_t kMaxWatchMessage = 8u << 20;

struct WatchScan {
  // Scans `bytes` after what came before; nothing once over().
  void feed(std::string_view bytes);
  // The stream must be closed: compacted, overflowed or failed.
  bool over() const { return compacted || overflow || !why.empty(); }

  bool created = false;    // etcd acknowledged the watch
  uint64_t newest = 0;     // the highest revision of an event seen
  bool compacted = false;  // past the revision asked for: only a read sees the current state
  bool overflow = false;   // a message over kMaxWatchMessage: the caller reads instead
  std::string why;         // set: the stream failed
  // The key whose value the caller asked for ("": none): its newest event's
  // revision and value (nullopt: deleted, or a value that is not base64).
  std::string key;
  uint64_t key_revision = 0;
  std::optional<std::string> key_value;

  // The message not complete yet, and where its scan stands.
  std::string buffer;
  size_t scanned = 0;
  int depth = 0;
  bool in_string = false, escaped = false;
};

}  // namespace invar::store
