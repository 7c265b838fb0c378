// (h) The bounded-memory path against the whole-document path: artifact
// bytes checked by check_file with streaming forced (small batches drawn from
// the input) and with it off, against each bundled contract and an NDJSON
// one (the last: first byte 5); the two reports
// must be identical, accept or reject (engine/stream.hpp).
// Input: [contract][batch] artifact.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "fuzz.hpp"
#include "invar/invar.hpp"
#include "report/render.hpp"

namespace {

// Batch sizes: one element a batch, a few, many.
constexpr uint64_t kBatchBytes[] = {1, 16, 256, 4096};

struct Pair {
  std::vector<invar::Contract> streaming;  // one per kBatchBytes
  invar::Contract whole;
};

// NDJSON records, judged by the kinds a batch can prove.
const char* kNdjsonContract = R"({"contract": "events", "artifact": {"format": "ndjson"}, "invariants": [
  {"id": "ids", "unique": "$[*].id"},
  {"id": "shape", "schema": "$", "inline": {"type": "array", "maxItems": 50, "items": {"type": "object", "required": ["id"]}}},
  {"id": "kinds", "match": "$[*].kind", "pattern": "a|b"},
  {"id": "tags", "each": "$[*]", "count": "@.tags[*]", "max": 3},
  {"id": "parents", "refs": "$[*].parent", "in": "$[*].id"}]})";

// The contract at `path` (or of `text`), loaded with `options`.
invar::Contract load(const std::string& path, const char* text, const invar::Options& options) {
  auto c = text ? invar::Contract::load_string(text, ".", "events.json", options) : invar::Contract::load_file(path, options);
  if (!c) __builtin_trap();  // the bundled contracts must load
  return std::move(c.value());
}

const std::vector<Pair>& contracts() {
  static const std::vector<Pair> all = [] {
    std::vector<std::string> paths = fuzz::bundled_contracts();  // the first input byte picks one
    paths.push_back("");  // kNdjsonContract
    std::vector<Pair> out;
    for (const auto& path : paths) {
      const char* text = path.empty() ? kNdjsonContract : nullptr;
      invar::Options whole;
      whole.stream_min_bytes = 0;
      std::vector<invar::Contract> streaming;
      for (uint64_t batch : kBatchBytes) {
        invar::Options options;
        options.stream_min_bytes = 1;
        options.stream_batch_bytes = batch;
        streaming.push_back(load(path, text, options));
      }
      out.push_back({std::move(streaming), load(path, text, whole)});
    }
    return out;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  fuzz::Input in(data, size);
  const auto& all = contracts();
  const Pair& pair = all[in.byte() % all.size()];
  const invar::Contract& streaming = pair.streaming[in.byte() % pair.streaming.size()];
  std::string_view artifact = in.rest();

  static const int fd = memfd_create("fuzz_stream", 0);
  if (fd < 0) __builtin_trap();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, artifact.data(), artifact.size(), 0) != static_cast<ssize_t>(artifact.size()))
    __builtin_trap();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);

  invar::CheckContext ctx;
  ctx.now = invar::Time::parse("2025-10-20T06:45:00Z");
  auto report = [&](const invar::Contract& c) {
    auto r = c.check_file(path, ctx);
    return r ? invar::report_to_json(*r).dump() : "error: " + r.error().message;
  };
  if (report(streaming) != report(pair.whole)) __builtin_trap();
  return 0;
}
