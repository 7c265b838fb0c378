// Runs the schema engine over the official JSON-Schema-Test-Suite, read from
// ../shared/json-schema-test-suite (INVAR_SUITE_DIR), for draft-04, -06, -07,
// 2019-09 and 2020-12. Every required case must pass on the three evaluation
// paths (fast, fast split over a pool, diagnostics) unless its group is in
// docs/schema-compliance.md's exclusion list, mirrored in kExcluded below;
// optional/ and optional/format/ are run and counted separately.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "common/parallel.hpp"
#include "schema/document.hpp"
#include "schema/schema.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace invar::schema;

namespace {

// file -> group descriptions excluded ("*" = the whole file), with the reason
// in docs/schema-compliance.md. Empty: every required test runs.
const std::map<std::string, std::set<std::string>> kExcluded = {};

fs::path suite_dir() {
  if (const char* env = std::getenv("INVAR_SUITE_DIR")) return env;
  return INVAR_DEFAULT_SUITE_DIR;
}

// Read as invar reads a schema file: its numbers past 64 bits kept exactly.
json read_json(const fs::path& p, NumberTexts* numbers = nullptr) {
  std::ifstream in(p);
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto doc = read_document(bytes.str(), p.string(), numbers);
  if (!doc) FAIL(doc.error().to_string());
  return doc.value();
}

void add_remotes(const fs::path& dir, CompileOptions& options) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    std::string uri = "http://localhost:1234/" + fs::relative(entry.path(), dir).generic_string();
    NumberTexts numbers;
    options.preloaded[uri] = read_json(entry.path(), &numbers);
    if (!numbers.empty()) options.numbers[uri] = std::move(numbers);
  }
}

struct Tally {
  int passed = 0, failed = 0, excluded = 0;
};

// Runs every file of `sub_dir` (under tests/), e.g. "draft7" or "draft7/optional".
Tally run_draft(const std::string& sub_dir, Draft draft, bool format_assertion = false) {
  Tally total;
  const std::string& draft_dir = sub_dir;
  fs::path dir = suite_dir() / "tests" / draft_dir;
  CompileOptions options;
  options.default_draft = draft;
  options.format_assertion = format_assertion;
  add_remotes(suite_dir() / "remotes", options);
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
    NumberTexts numbers;
    const json groups = read_json(file, &numbers);
    for (size_t g = 0; g < groups.size(); ++g) {
      const json& group = groups[g];
      std::string description = group["description"];
      bool skip = excluded != kExcluded.end() &&
                  (excluded->second.count("*") || excluded->second.count(description));
      if (skip) {
        t.excluded += static_cast<int>(group["tests"].size());
        continue;
      }
      const std::string root = "http://invar.test/root.json";
      options.numbers.erase(root);
      if (auto exact = numbers_under(numbers, "/" + std::to_string(g) + "/schema"); !exact.empty())
        options.numbers[root] = std::move(exact);
      auto validator = Validator::compile(group["schema"], root, options);
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

struct Dialect {
  const char* dir;
  Draft draft;
  int at_least;  // required tests that pass: all of them in the suite at hand
  // optional/ and optional/format: tests that pass today, so none regresses.
  int optional_at_least;
  int format_at_least;
};

const Dialect kDialects[] = {
    {"draft4", Draft::draft4, 618, 98, 219},
    {"draft6", Draft::draft6, 839, 102, 325},
    {"draft7", Draft::draft7, 927, 110, 676},
    {"draft2019-09", Draft::draft2019_09, 1259, 145, 757},
    {"draft2020-12", Draft::draft2020_12, 1299, 149, 764},
};

void run_dialect(const Dialect& d) {
  if (!fs::exists(suite_dir() / "tests" / d.dir)) {
    WARN("skipped: the JSON-Schema-Test-Suite is not at " << suite_dir());
    return;
  }
  Tally t = run_draft(d.dir, d.draft);
  CHECK(t.passed >= d.at_least);
  CHECK(t.failed == 0);
  CHECK(t.excluded == 0);
  std::string optional = std::string(d.dir) + "/optional";
  if (fs::exists(suite_dir() / "tests" / optional)) {
    Tally o = run_draft(optional, d.draft);
    CHECK(o.passed >= d.optional_at_least);
    Tally f = run_draft(optional + "/format", d.draft, /*format_assertion=*/true);
    CHECK(f.passed >= d.format_at_least);
  }
}

}  // namespace

TEST_CASE("JSON-Schema-Test-Suite draft-04", "[schema][suite]") { run_dialect(kDialects[0]); }
TEST_CASE("JSON-Schema-Test-Suite draft-06", "[schema][suite]") { run_dialect(kDialects[1]); }
TEST_CASE("JSON-Schema-Test-Suite draft-07", "[schema][suite]") { run_dialect(kDialects[2]); }
TEST_CASE("JSON-Schema-Test-Suite 2019-09", "[schema][suite]") { run_dialect(kDialects[3]); }
TEST_CASE("JSON-Schema-Test-Suite 2020-12", "[schema][suite]") { run_dialect(kDialects[4]); }
