// Deterministic workloads for the benchmarks (seeded; the same bytes on every
// machine): feature files and DNS plans of PRODUCT.md's sizes (as JSON, as
// NDJSON records and as block YAML).
//
// usage: invar_generate OUT_DIR
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

namespace {

std::mt19937_64 rng(20251118);

std::string feature_file(size_t n) {
  static const char* types[] = {"int", "float", "bool"};
  std::string out = "{\n  \"version\": 1,\n  \"features\": [\n";
  for (size_t i = 0; i < n; ++i) {
    char line[160];
    std::snprintf(line, sizeof line, "    {\"name\": \"feat_%06zu\", \"type\": \"%s\", \"database\": \"default\"}%s\n", i,
                  types[rng() % 3], i + 1 < n ? "," : "");
    out += line;
  }
  return out + "  ]\n}\n";
}

std::string dns_plan(size_t records) {
  const size_t plans = 4;
  std::string out = "{\n  \"endpoint\": \"dynamodb.us-east-1.amazonaws.com\",\n  \"generation\": 1187,\n"
                    "  \"generated_at\": \"2025-10-20T06:40:00Z\",\n  \"plans\": [";
  for (size_t p = 0; p < plans; ++p) out += (p ? ", " : "") + std::string("{\"id\": \"plan-") + std::to_string(1187 - p) + "\"}";
  out += "],\n  \"records\": [\n";
  for (size_t i = 0; i < records; ++i) {
    char head[200];
    std::snprintf(head, sizeof head,
                  "    {\"name\": \"r%06zu.ddb.us-east-1.amazonaws.com\", \"type\": \"A\", \"ttl\": %u, \"plan\": \"plan-%zu\", "
                  "\"weight\": %u, \"targets\": [",
                  i, static_cast<unsigned>(5 + rng() % 55), 1187 - rng() % plans, static_cast<unsigned>(rng() % 100));
    out += head;
    size_t targets = 1 + rng() % 4;
    for (size_t t = 0; t < targets; ++t) {
      char ip[40];
      std::snprintf(ip, sizeof ip, "%s\"10.%u.%u.%u\"", t ? ", " : "", static_cast<unsigned>(rng() % 256),
                    static_cast<unsigned>(rng() % 256), static_cast<unsigned>(rng() % 256));
      out += ip;
    }
    out += i + 1 < records ? "]},\n" : "]}\n";
  }
  return out + "  ]\n}\n";
}

// The plan's records as NDJSON (JSON Lines): one record a line.
std::string ndjson_of(const std::string& plan) {
  std::string out;
  size_t at = 0;
  while ((at = plan.find("    {\"name\"", at)) != std::string::npos) {
    size_t end = plan.find('\n', at);
    std::string line = plan.substr(at + 4, end - at - 4);
    if (line.back() == ',') line.pop_back();
    out += line + "\n";
    at = end;
  }
  return out;
}

// The same data as block-style YAML, strings double-quoted (every YAML reader
// types them alike).
void yaml_value(const nlohmann::ordered_json& v, size_t indent, std::string& out);
void yaml_block(const nlohmann::ordered_json& v, size_t indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.is_object()) {
    bool first = true;
    for (const auto& [key, value] : v.items()) {
      if (!first || indent == 0 || out.back() == '\n') out += pad;
      first = false;
      out += key + ":";
      yaml_value(value, indent + 2, out);
    }
  } else {
    for (const auto& item : v) {
      out += pad + "- ";
      if (item.is_object() && !item.empty()) {
        yaml_block(item, indent + 2, out);
      } else {
        out.pop_back();
        yaml_value(item, indent + 2, out);
      }
    }
  }
}
void yaml_value(const nlohmann::ordered_json& v, size_t indent, std::string& out) {
  if ((v.is_object() || v.is_array()) && !v.empty()) {
    out += "\n";
    yaml_block(v, v.is_array() ? indent - 2 : indent, out);
  } else {
    out += " " + v.dump() + "\n";
  }
}
std::string yaml_of(const std::string& json) {
  std::string out;
  yaml_block(nlohmann::ordered_json::parse(json), 0, out);
  return out;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out.flush()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  std::filesystem::create_directories(dir);
  write(dir + "/features-60.json", feature_file(60));
  write(dir + "/features-10000.json", feature_file(10000));
  for (size_t n : {1000, 100000, 500000}) {
    std::string plan = dns_plan(n);
    write(dir + "/dns-" + std::to_string(n) + ".json", plan);
    if (n >= 100000) write(dir + "/dns-" + std::to_string(n) + ".ndjson", ndjson_of(plan));
    write(dir + "/dns-" + std::to_string(n) + ".yaml", yaml_of(plan));
  }
  // A 1 MB string for the linear-time matching probe: 'a' * N then '!'.
  write(dir + "/redos-1mb.json", "{\"s\": \"" + std::string(1 << 20, 'a') + "!\"}\n");
  return 0;
}
