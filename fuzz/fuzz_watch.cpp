// (g) etcd's watch stream as the gateway sends it (src/store/watch_scan.hpp):
// any bytes, fed in pieces whose sizes come from the input, then whole. The
// scan must not crash, keep no more than one message (kMaxWatchMessage), never
// see the newest revision go down, and say the same fed in pieces as fed whole.
// Input: [piece] bytes. piece: the size of each feed (0: one byte).
#include <algorithm>

#include "fuzz.hpp"
#include "store/etcd_client.hpp"
#include "store/watch_scan.hpp"

using invar::store::WatchScan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (64u << 10)) return 0;
  const size_t piece = std::max<size_t>(1, data[0]);
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  // The key the follower asks about: the LKG record of stream "s" (its base64 is in the seeds).
  const std::string key = "invar/streams/s/r/lkg";

  WatchScan pieces;
  pieces.key = key;
  uint64_t newest = 0;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    pieces.feed(bytes.substr(at, piece));
    if (pieces.newest < newest) __builtin_trap();  // a revision seen is never forgotten
    newest = pieces.newest;
    if (!pieces.over() && pieces.buffer.size() > invar::store::kMaxWatchMessage) __builtin_trap();
  }
  WatchScan whole;
  whole.key = key;
  whole.feed(bytes);
  if (pieces.overflow || whole.overflow) return 0;  // checked after each feed: where it stops depends on the pieces
  if (pieces.newest != whole.newest || pieces.created != whole.created || pieces.compacted != whole.compacted ||
      pieces.why != whole.why || pieces.key_revision != whole.key_revision || pieces.key_value != whole.key_value)
    __builtin_trap();
  return 0;
}
