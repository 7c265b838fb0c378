// Runs the schema engine over the official JSON-Schema-Test-Suite, read from
// ../shared/json-schema-test-suite (INVAR_SUITE_DIR), for draft 2020-12 and
// draft-07, optional/ excluded. Every case must pass on both evaluation paths
// (fast and diagnostics) unless its group is in docs/schema-compliance.md's
// exclusion list, mirrored in kExcluded below.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "common/parallel.hpp"
#include "schema/schema.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace invar::schema;

namespace {

// file -> group descriptions excluded ("*" = the whole file), with the reason in docs.
// Remote refs to the official metaschemas: they are not in the suite's remotes/
// and invar fetches nothing over the network.
const std::map<std::string, std::set<std::string>> kExcluded = {
    {"draft2020-12/defs.json", {"validate definition against metaschema"}},
    {"draft2020-12/ref.json", {"remote ref, containing refs itself"}},
    {"draft7/definitions.json", {"validate definition against metaschema"}},
    {"draft7/ref.json", {"remote ref, containing refs itself"}},
};

fs::path suite_dir() {
  if (const char* env = std::getenv("INVAR_SUITE_DIR")) return env;
  return INVAR_DEFAULT_SUITE_DIR;
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

std::map<std::string, json> remotes(const fs::path& dir) {
  std::map<std::string, json> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    std::string rel = fs::relative(entry.path(), dir).generic_string();
    out["http://localhost:1234/" + rel] = read_json(entry.path());
  }
  return out;
}

struct Tally {
  int passed = 0, failed = 0, excluded = 0;
};

Tally run_draft(const std::string& draft_dir, Draft draft) {
  Tally total;
  fs::path dir = suite_dir() / "tests" / draft_dir;
  CompileOptions options;
  options.default_draft = draft;
  options.preloaded = remotes(suite_dir() / "remotes");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  simdjson::dom::parser parser;
  // The third path: the fast one with every array of two items or more split
  // over a pool (Budget::pool), as a long array is with --threads.
  invar::parallel::Pool pool(3);
  Budget split;
  split.pool = &pool;
  split.split_min_items = 2;
  for (const auto& file : files) {
    Tally t;
    std::string name = draft_dir + "/" + file.filename().string();
    auto excluded = kExcluded.find(name);
    for (const auto& group : read_json(file)) {
      std::string description = group["description"];
      bool skip = excluded != kExcluded.end() &&
                  (excluded->second.count("*") || excluded->second.count(description));
      if (skip) {
        t.excluded += static_cast<int>(group["tests"].size());
        continue;
      }
      auto validator = Validator::compile(group["schema"], "http://invar.test/root.json", options);
      for (const auto& test : group["tests"]) {
        bool expected = test["valid"];
        bool fast = false, diag = false, explained = true, parallel = false;
        if (validator) {
          std::string bytes = test["data"].dump();
          auto doc = parser.parse(bytes);
          REQUIRE(doc.error() == simdjson::SUCCESS);
          fast = validator.value()->validate(doc.value()).valid;
          parallel = validator.value()->validate(doc.value(), split).valid;
          std::vector<Issue> issues;
          diag = validator.value()->explain(doc.value(), {}, issues, 100).valid;
          explained = diag || !issues.empty();
        }
        if (validator && fast == expected && diag == expected && parallel == expected && explained) {
          ++t.passed;
        } else {
          ++t.failed;
          std::cout << "  FAIL " << name << " | " << description << " | " << test["description"].get<std::string>()
                    << (validator ? "" : " (compile error: " + validator.error().message + ")")
                    << " fast=" << fast << " diag=" << diag << " parallel=" << parallel
                    << " explained=" << explained << "\n";
        }
      }
    }
    std::cout << name << ": " << t.passed << " passed, " << t.failed << " failed, " << t.excluded << " excluded\n";
    total.passed += t.passed;
    total.failed += t.failed;
    total.excluded += t.excluded;
  }
  std::cout << draft_dir << " total: " << total.passed << " passed, " << total.failed << " failed, "
            << total.excluded << " excluded\n";
  return total;
}

}  // namespace

TEST_CASE("JSON-Schema-Test-Suite draft2020-12", "[schema][suite]") {
  if (!fs::exists(suite_dir() / "tests" / "draft2020-12")) {
    WARN("skipped: the JSON-Schema-Test-Suite is not at " << suite_dir());
    return;
  }
  Tally t = run_draft("draft2020-12", Draft::draft2020_12);
  CHECK(t.passed > 1000);
  CHECK(t.failed == 0);
}

TEST_CASE("JSON-Schema-Test-Suite draft7", "[schema][suite]") {
  if (!fs::exists(suite_dir() / "tests" / "draft7")) {
    WARN("skipped: the JSON-Schema-Test-Suite is not at " << suite_dir());
    return;
  }
  Tally t = run_draft("draft7", Draft::draft7);
  CHECK(t.passed > 800);
  CHECK(t.failed == 0);
}
