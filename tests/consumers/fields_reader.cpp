// A consumer for trial tests: CrowdStrike Falcon, 19 July 2024. Template
// Type 291's channel file defined 21 input fields, the sensor supplied 20
// input values, and the content interpreter read the 21st as soon as an
// instance had a criterion (not a wildcard) in it: an out-of-bounds read, a
// kernel crash. This interpreter does the same; past the 20 supplied values
// the table holds a null pointer (in the sensor: whatever followed the array),
// so the crash is a deterministic SIGSEGV instead of undefined behaviour.
//
// usage: fields_reader [--check] FILE, a JSON channel file:
//   {"channel": 291, "entries": [{"template_type": "...", "fields": ["*", "value", ...]}]}
// A field "*" matches anything without reading the input value.
// exit 0: every entry evaluated; 2: unreadable or not a channel file; SIGSEGV: a 21st criterion.
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

constexpr size_t kSupplied = 20;  // the input values the sensor passes

int fail(const std::string& message) {
  std::fprintf(stderr, "fields_reader: %s\n", message.c_str());
  return 2;
}

// Reads input value `i` as the 2024 interpreter did: no bound check.
bool matches(const std::string& criterion, const char* const* inputs, size_t i) {
  if (criterion == "*") return true;
  const char* volatile value = inputs[i];  // volatile: the load happens, null or not
  return criterion == value;               // null: SIGSEGV on the first byte
}

}  // namespace

int main(int argc, char** argv) {
  const int first = argc > 1 && std::strcmp(argv[1], "--check") == 0 ? 2 : 1;
  if (argc != first + 1) return fail("usage: fields_reader [--check] FILE");
  std::ifstream in(argv[first], std::ios::binary);
  if (!in) return fail(std::string("cannot read ") + argv[first]);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("entries") || !doc["entries"].is_array())
    return fail(std::string(argv[first]) + " is not a channel file (an object with an \"entries\" array)");
  // The sensor's 20 values (a named-pipe event); slot 20 and beyond: null.
  std::array<const char*, 32> inputs{};
  std::vector<std::string> values;
  for (size_t i = 0; i < kSupplied; ++i) values.push_back("value" + std::to_string(i));
  for (size_t i = 0; i < kSupplied; ++i) inputs[i] = values[i].c_str();
  size_t evaluated = 0, matched = 0;
  for (const auto& entry : doc["entries"]) {
    if (!entry.is_object() || !entry.contains("fields") || !entry["fields"].is_array())
      return fail("entry " + std::to_string(evaluated) + " has no \"fields\" array");
    const auto& fields = entry["fields"];
    if (fields.size() > inputs.size()) return fail("entry " + std::to_string(evaluated) + " has more than 32 fields");
    bool all = true;
    for (size_t i = 0; i < fields.size(); ++i)
      all = matches(fields[i].is_string() ? fields[i].get<std::string>() : fields[i].dump(), inputs.data(), i) && all;
    matched += all;
    ++evaluated;
  }
  std::printf("evaluated %zu entries, %zu matched\n", evaluated, matched);
  return 0;
}
