// (h) The bounded-memory path against the whole-document path: artifact
// bytes checked by check_file with streaming forced (small batches drawn from
// the input) and with it off, against each bundled contract; the two reports
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

const std::vector<Pair>& contracts() {
  static const std::vector<Pair> all = [] {
    std::vector<std::string> paths;  // sorted: the first input byte picks one
    for (const auto& e : std::filesystem::directory_iterator(fuzz::source("rules")))
      if (e.path().string().ends_with(".contract.json")) paths.push_back(e.path().string());
    std::sort(paths.begin(), paths.end());
    std::vector<Pair> out;
    for (const auto& path : paths) {
      invar::Options whole;
      whole.stream_min_bytes = 0;
      auto w = invar::Contract::load_file(path, whole);
      if (!w) __builtin_trap();  // the bundled contracts must load
      std::vector<invar::Contract> streaming;
      for (uint64_t batch : kBatchBytes) {
        invar::Options options;
        options.stream_min_bytes = 1;
        options.stream_batch_bytes = batch;
        auto s = invar::Contract::load_file(path, options);
        if (!s) __builtin_trap();
        streaming.push_back(std::move(s.value()));
      }
      out.push_back({std::move(streaming), std::move(w.value())});
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
