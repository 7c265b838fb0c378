// Runs the YAML reader over the official YAML test suite, read from
// ../shared/yaml-test-suite (INVAR_YAML_SUITE_DIR): every case marked `error`
// must be refused, and every case with an `in.json` must read to exactly that
// data, unless invar refuses it by design (a tag other than the core ones, a
// non-string key, a merge key, .inf/.nan: docs/contract-language.md) or it is
// in kExcluded below, mirrored with its reason in docs/yaml-compliance.md.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "artifact/yaml.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Case (folder under data/) -> why it is not held to its in.json or error.
const std::map<std::string, std::string> kExcluded = {};

// What invar refuses on purpose, though the YAML is valid.
const std::set<std::string> kByDesign = {"tag", "key", "merge-key", "number"};

fs::path suite_dir() {
  if (const char* env = std::getenv("INVAR_YAML_SUITE_DIR")) return env;
  return INVAR_DEFAULT_YAML_SUITE_DIR;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The JSON documents of in.json, one after another, as an array.
std::optional<json> expected_documents(const fs::path& p) {
  json all = json::array();
  simdjson::dom::parser parser;
  simdjson::padded_string text(slurp(p));
  simdjson::dom::document_stream stream;
  if (parser.parse_many(text).get(stream)) return std::nullopt;
  for (auto doc : stream) {
    simdjson::dom::element e;
    if (doc.get(e)) return std::nullopt;
    all.push_back(json::parse(simdjson::minify(e)));
  }
  return all;
}

}  // namespace

TEST_CASE("yaml-test-suite: errors refused, JSON cases read exactly", "[yaml][suite]") {
  const fs::path data = suite_dir() / "data";
  if (!fs::is_directory(data)) {
    WARN("skipped: the YAML test suite is not at " << data.string() << " (set INVAR_YAML_SUITE_DIR)");
    return;
  }
  std::vector<fs::path> cases;
  for (const auto& entry : fs::recursive_directory_iterator(data))
    if (entry.is_regular_file() && entry.path().filename() == "in.yaml") cases.push_back(entry.path().parent_path());
  std::sort(cases.begin(), cases.end());
  int errors = 0, errors_refused = 0, json_cases = 0, exact = 0, by_design = 0, excluded = 0, other = 0;
  int untagged_exact = 0;
  std::map<std::string, int> designs;
  invar::artifact::YamlOptions options;
  options.many_documents = true;  // in.json holds every document of the stream
  // The reading options read more valid YAML, never invalid YAML.
  invar::artifact::YamlOptions lenient = options;
  lenient.keys_as_text = lenient.empty_as_null = lenient.untagged = true;
  for (const auto& dir : cases) {
    const std::string id = fs::relative(dir, data).generic_string();
    if (kExcluded.count(id)) {
      ++excluded;
      continue;
    }
    const std::string yaml = slurp(dir / "in.yaml");
    auto read = invar::artifact::read_yaml(yaml, {}, options);
    if (fs::exists(dir / "error")) {
      ++errors;
      if (read.problem) {
        ++errors_refused;
        CHECK(read.problem->line > 0);  // located
        auto again = invar::artifact::read_yaml(yaml, {}, lenient);
        CHECK(again.problem);
        if (!again.problem) FAIL_CHECK(id << ": invalid YAML read with the reading options");
      } else {
        FAIL_CHECK(id << ": invalid YAML read as " << simdjson::minify(read.document->root));
      }
      continue;
    }
    if (!fs::exists(dir / "in.json")) {
      ++other;  // valid YAML that JSON cannot hold: read or refused, never a crash
      continue;
    }
    ++json_cases;
    auto expected = expected_documents(dir / "in.json");
    REQUIRE(expected);
    if (read.problem) {
      if (kByDesign.count(read.problem->rule)) {
        ++by_design;
        ++designs[read.problem->rule];
        CHECK(read.problem->line > 0);
        // With "tags": "untagged", a case refused for its tag reads as in.json (which drops tags).
        if (read.problem->rule == "tag") {
          invar::artifact::YamlOptions untagged = options;
          untagged.untagged = true;
          auto again = invar::artifact::read_yaml(yaml, {}, untagged);
          if (!again.problem && json::parse(simdjson::minify(again.document->root)) == *expected) ++untagged_exact;
          else FAIL_CHECK(id << ": with tags untagged, " << (again.problem ? again.problem->message : simdjson::minify(again.document->root)));
        }
      } else {
        FAIL_CHECK(id << ": refused (" << read.problem->rule << " at " << read.problem->line << ":"
                      << read.problem->column << ": " << read.problem->message << ")");
      }
      continue;
    }
    json got = json::parse(simdjson::minify(read.document->root));
    if (got == *expected) ++exact;
    else FAIL_CHECK(id << ": read " << got.dump() << ", expected " << expected->dump());
  }
  std::cout << "yaml-test-suite: " << errors_refused << " of " << errors << " error cases refused; " << exact << " of "
            << json_cases << " JSON cases read exactly, " << by_design << " refused by design (";
  for (const auto& [rule, n] : designs) std::cout << rule << " " << n << " ";
  std::cout << "); " << other << " cases without in.json; " << excluded << " excluded; " << untagged_exact
            << " of those refused for a tag read exactly with \"tags\": \"untagged\"\n";
  CHECK(errors_refused == errors);
  CHECK(exact + by_design == json_cases);
  CHECK(untagged_exact == designs["tag"]);
}
