// A consumer for trial tests: Cloudflare's bot-management loader, 18 November
// 2025. The proxy preallocated 200 feature slots; a feature file with more
// (duplicated rows after a database permission change) made append fail, the
// error was unwrapped and the proxy panicked. This loader does the same:
// std::abort after printing the panic message, as Rust's unwrap does.
//
// usage: feature_loader [--check] FILE (the format of examples/cloudflare-2025-features/)
// exit 0: loaded; 2: unreadable or not a feature file; SIGABRT: more than 200 features.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

constexpr size_t kSlots = 200;  // the 2025 proxy's preallocation

struct Feature {
  std::string name, type;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "feature_loader: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const int first = argc > 1 && std::strcmp(argv[1], "--check") == 0 ? 2 : 1;
  if (argc != first + 1) return fail("usage: feature_loader [--check] FILE");
  std::ifstream in(argv[first], std::ios::binary);
  if (!in) return fail(std::string("cannot read ") + argv[first]);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("features") || !doc["features"].is_array())
    return fail(std::string(argv[first]) + " is not a feature file (an object with a \"features\" array)");
  static std::array<Feature, kSlots> slots;
  size_t count = 0;
  for (const auto& f : doc["features"]) {
    if (count == kSlots) {
      // The panic: the file's size is the whole count, as the proxy reported it.
      std::fprintf(stderr, "panic: too many features: %zu > %zu\n", doc["features"].size(), kSlots);
      std::abort();
    }
    slots[count].name = f.value("name", "");
    slots[count].type = f.value("type", "");
    ++count;
  }
  std::printf("loaded %zu features\n", count);
  return 0;
}
