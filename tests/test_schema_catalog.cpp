// Third-party schemas (tests/data/catalog/, README.md there): the CLI, run from
// the repository root with the flags tests/data/catalog/manifest.json gives each
// schema, must give every instance the specification's verdict: exit 0 for a
// valid instance, 1 for an invalid one, 3 (and a message naming the cause) for a
// schema that must not load. The same manifest drives bench/schema-catalog/run,
// which compares ajv and Sourcemeta; ajv's marked differences are not invar's.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const json& manifest() {
  static const json m = [] {
    std::ifstream in(test::source("tests/data/catalog/manifest.json"));
    return json::parse(in);
  }();
  return m;
}

const json& entry(const std::string& name) {
  for (const auto& s : manifest()["schemas"])
    if (s["name"] == name) return s;
  FAIL("tests/data/catalog/manifest.json has no schema \"" << name << "\"");
  throw std::logic_error("unreachable");
}

// `invar check --schema S FLAGS... FILE` with the repository root as the working
// directory (the manifest's paths are relative to it, as a user types them).
test::Run check(const json& s, const std::string& instance) {
  std::vector<std::string> args = {"check", "--schema", s["dir"].get<std::string>() + "/" + s["schema"].get<std::string>()};
  for (const auto& flag : s["invar"]) args.push_back(flag.get<std::string>());
  args.push_back(s["dir"].get<std::string>() + "/" + instance);
  return test::run({"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", INVAR_SOURCE_DIR, INVAR_CLI}, args, {}, 60);
}

// The first line of `out` (a load error's message).
std::string first_line(const std::string& out) { return out.substr(0, out.find('\n')); }

void check_schema(const std::string& name) {
  const json& s = entry(name);
  const bool load_error = s.contains("expect_load_error");
  int agreed = 0, total = 0;
  for (const auto& inst : s["instances"]) {
    const std::string file = inst["file"];
    // "invar": where invar deliberately differs from the specification ("invar_why" says why).
    const std::string expect = load_error         ? "load error"
                               : inst.contains("invar") ? inst["invar"].get<std::string>()
                                                      : inst["expect"].get<std::string>();
    const test::Run r = check(s, file);
    ++total;
    INFO(name << "/" << file << ": expected " << expect << (inst.contains("breaks") ? " (" + inst["breaks"].get<std::string>() + ")" : ""));
    INFO("invar " << s["invar"].dump() << " exited " << r.exit << (r.exit == 3 ? ", not loaded: " + first_line(r.out) : ""));
    CHECK(r.signal == 0);
    if (load_error) {
      const std::string mentions = s["expect_load_error"]["mentions"];
      INFO("the message must mention " << mentions << ":\n" << r.out);
      CHECK(r.exit == 3);
      CHECK(test::contains(r.out, mentions));
      agreed += r.exit == 3 && test::contains(r.out, mentions);
    } else {
      const int want = expect == "valid" ? 0 : 1;
      CHECK(r.exit == want);
      agreed += r.exit == want;
    }
  }
  CHECK(total > 0);
  std::printf("catalog %-18s %d/%d as the specification says\n", name.c_str(), agreed, total);
}

}  // namespace

// The manifest and the directories agree: every file under <dir>/valid and
// <dir>/invalid is listed once, with the verdict its directory says, and every
// listed file and flag path exists (a fixture the harness never runs proves nothing).
TEST_CASE("catalog: the manifest lists every fixture once", "[catalog]") {
  std::set<std::string> names;
  for (const auto& s : manifest()["schemas"]) {
    const std::string name = s["name"];
    INFO(name);
    CHECK(names.insert(name).second);
    const fs::path dir = test::source(s["dir"].get<std::string>());
    CHECK(fs::is_regular_file(dir / s["schema"].get<std::string>()));
    for (const auto& flag : s["invar"])
      if (flag.get<std::string>().starts_with("tests/")) CHECK(fs::exists(test::source(flag.get<std::string>())));
    std::set<std::string> listed;
    for (const auto& inst : s["instances"]) {
      const std::string file = inst["file"];
      INFO(file);
      CHECK(listed.insert(file).second);
      CHECK(fs::is_regular_file(dir / file));
      CHECK(file.starts_with(inst["expect"].get<std::string>() + "/"));
    }
    std::set<std::string> on_disk;
    for (const char* kind : {"valid", "invalid"})
      for (const auto& e : fs::directory_iterator(dir / kind)) on_disk.insert(std::string(kind) + "/" + e.path().filename().string());
    CHECK(on_disk == listed);
  }
  // One test case below per schema: a schema added to the manifest needs one too.
  CHECK(names == std::set<std::string>{"package-manifest", "ci-pipeline", "editor-settings", "openapi-component",
                                       "legacy-draft04", "patterns", "legacy-escapes", "formats", "big-bounds",
                                       "k8s-resources", "devenv", "codegen-model", "task-runner", "lint-config"});
}

TEST_CASE("catalog: package-manifest ($ref by URL and relative to $id)", "[catalog]") { check_schema("package-manifest"); }
TEST_CASE("catalog: ci-pipeline (editor annotations, YAML merge keys)", "[catalog]") { check_schema("ci-pipeline"); }
TEST_CASE("catalog: editor-settings (deprecated in draft-07)", "[catalog]") { check_schema("editor-settings"); }
TEST_CASE("catalog: openapi-component (nullable and example)", "[catalog]") { check_schema("openapi-component"); }
TEST_CASE("catalog: legacy-draft04 (examples, references by id)", "[catalog]") { check_schema("legacy-draft04"); }
TEST_CASE("catalog: patterns (lookaround, named groups, ECMA-262 classes)", "[catalog]") { check_schema("patterns"); }
TEST_CASE("catalog: legacy-escapes (Annex B identity escapes)", "[catalog]") { check_schema("legacy-escapes"); }
TEST_CASE("catalog: formats (asserted)", "[catalog]") { check_schema("formats"); }
TEST_CASE("catalog: big-bounds (past 64 bits)", "[catalog]") { check_schema("big-bounds"); }
TEST_CASE("catalog: k8s-resources ($ref chain across files, multi-document YAML)", "[catalog]") { check_schema("k8s-resources"); }
TEST_CASE("catalog: devenv (YAML integer and null keys, comment-only file)", "[catalog]") { check_schema("devenv"); }
TEST_CASE("catalog: codegen-model (keywords of no vocabulary)", "[catalog]") { check_schema("codegen-model"); }
TEST_CASE("catalog: task-runner (2019-09 into draft-07 by URL)", "[catalog]") { check_schema("task-runner"); }
TEST_CASE("catalog: lint-config (an $id two files claim does not load)", "[catalog]") { check_schema("lint-config"); }
