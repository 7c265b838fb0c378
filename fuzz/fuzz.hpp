// Shared by the fuzz targets: bounded input, options drawn from the input
// (RE2's re2_fuzzer.cc discipline), and the bundled files they start from.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz {

// A temporary directory for a target's fixture, removed when the process exits.
inline std::string temp_dir(const std::string& name) {
  std::string tmpl = (std::filesystem::temp_directory_path() / ("invar-fuzz-" + name + "-XXXXXX")).string();
  static std::vector<std::string> made;
  if (!mkdtemp(tmpl.data())) __builtin_trap();
  if (made.empty())
    std::atexit([] {
      for (const auto& dir : made) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
    });
  made.push_back(tmpl);
  return tmpl;
}

// Inputs past this are ignored: the targets look for bugs, not for the
// limits that the tests already pin.
inline constexpr size_t kMaxInput = 64 * 1024;

// Takes option bytes from the front of the input.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}
  uint8_t byte() {
    if (rest_.empty()) return 0;
    uint8_t b = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return b;
  }
  // The rest up to a 0 byte (consumed), or all of it.
  std::string_view part() {
    size_t cut = rest_.find('\0');
    std::string_view out = rest_.substr(0, cut);
    rest_.remove_prefix(cut == std::string_view::npos ? rest_.size() : cut + 1);
    return out;
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

inline std::string source(const std::string& relative) { return std::string(INVAR_SOURCE_DIR) + "/" + relative; }

// The bundled contracts' paths, sorted: an input byte picks one.
inline std::vector<std::string> bundled_contracts() {
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::directory_iterator(source("rules")))
    if (e.path().string().ends_with(".contract.json")) paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  return paths;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace fuzz
