// Baseline: only parse the file with nlohmann::json (a minimal C++ program's
// start-up plus parse). usage: baseline_nlohmann FILE
#include <fstream>
#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::ifstream in(argv[1], std::ios::binary);
  auto doc = nlohmann::json::parse(in, nullptr, false);
  return doc.is_discarded() ? 1 : 0;
}
