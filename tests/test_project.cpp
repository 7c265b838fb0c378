// The project file (invar.json): its glob matcher, its loader's located
// errors, and `invar check` judging a repository with it (docs/ci.md).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "cli/project.hpp"
#include "helpers.hpp"
#include "process.hpp"

namespace fs = std::filesystem;
using invar::cli::project::glob_match;

namespace {

void write(const test::TempDir& dir, const std::string& rel, const std::string& text) {
  fs::path p = dir.path / rel;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// `invar ARGS...` run in `dir` (env -C: the walk up starts from the working directory).
test::Run invar_in(const fs::path& dir, const std::vector<std::string>& args) {
  return test::run({"/usr/bin/env", "-C", dir.string(), INVAR_CLI}, args);
}

// A repository: a contract for configs/**/*.yaml (replicas at most 10), a
// schema with options for bot/*.json, and files each judges.
void repository(const test::TempDir& repo) {
  fs::create_directories(repo.path / ".git");
  write(repo, "rules/x.contract.json",
        R"({"contract": "x", "invariants": [{"id": "shape", "schema": "$", "inline": {"type": "object",
            "required": ["replicas"], "properties": {"replicas": {"type": "integer", "maximum": 10}}}}]})");
  write(repo, "schemas/y.schema.json",
        R"({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["name"],
            "properties": {"name": {"type": "string", "format": "hostname"}}, "owner": "bots"})");
  write(repo, "invar.json", R"({
  "entries": [
    {"files": ["configs/**/*.yaml"], "contract": "rules/x.contract.json"},
    {"files": ["bot/*.json"], "schema": "schemas/y.schema.json",
     "options": {"assert_format": true, "unknown_keywords": "warn", "default_dialect": "draft-07"}}
  ],
  "exclude": ["**/node_modules/**"]
})");
  write(repo, "configs/a.yaml", "replicas: 3\n");
  write(repo, "configs/deep/er/b.yaml", "replicas: 30\n");
  write(repo, "configs/node_modules/c.yaml", "replicas: 300\n");
  write(repo, "bot/ok.json", R"({"name": "example.com"})");
  write(repo, "bot/bad.json", R"({"name": "not a host!"})");
  write(repo, "bot/sub/skipped.json", R"({"name": 1})");
  write(repo, "notes/loose.yaml", "a: 1\n");
}

}  // namespace

TEST_CASE("glob patterns: star, double star, question mark", "[project]") {
  CHECK(glob_match("*.json", "a.json"));
  CHECK_FALSE(glob_match("*.json", "dir/a.json"));  // "*" does not cross '/'
  CHECK(glob_match("configs/*.yaml", "configs/x.yaml"));
  CHECK_FALSE(glob_match("configs/*.yaml", "configs/x/y.yaml"));
  CHECK(glob_match("configs/**/*.yaml", "configs/x.yaml"));  // "**": none included
  CHECK(glob_match("configs/**/*.yaml", "configs/a/b/c/x.yaml"));
  CHECK_FALSE(glob_match("configs/**/*.yaml", "other/configs/x.yaml"));
  CHECK(glob_match("**/node_modules/**", "node_modules"));
  CHECK(glob_match("**/node_modules/**", "a/b/node_modules/c/d.json"));
  CHECK_FALSE(glob_match("**/node_modules/**", "a/node_modulesx/d.json"));
  CHECK(glob_match("bot/?.json", "bot/a.json"));
  CHECK_FALSE(glob_match("bot/?.json", "bot/ab.json"));
  CHECK_FALSE(glob_match("a?b", "a/b"));  // "?" is not '/'
  CHECK(glob_match("**", "any/depth/at/all"));
  CHECK(glob_match("a*b*c", "aXbYbZc"));
  CHECK_FALSE(glob_match("a*b*c", "aXbYbZ"));
  CHECK(glob_match("exact.json", "exact.json"));
  CHECK_FALSE(glob_match("exact.json", "exact.jsonl"));
  // Bounded: many stars against a long name that does not match answer at once.
  CHECK_FALSE(glob_match(std::string(200, '*') + "b", std::string(5000, 'a')));
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "**/";
  CHECK_FALSE(glob_match(deep + "x", std::string(400, 'a') + "/y"));
}

TEST_CASE("a repository of YAML and JSON is judged by its entries", "[project]") {
  test::TempDir repo;
  repository(repo);
  // schemas/project.schema.json accepts the project file.
  CHECK(invar_in(repo.path, {"check", "--schema", test::source("schemas/project.schema.json"), "invar.json"}).exit == 0);
  auto r = invar_in(repo.path, {"check"});
  INFO(r.out);
  CHECK(r.exit == 1);  // b.yaml and bad.json are rejected
  CHECK(test::contains(r.out, "configs/a.yaml"));
  CHECK(test::contains(r.out, "configs/deep/er/b.yaml"));
  CHECK(test::contains(r.out, "bot/ok.json"));
  CHECK(test::contains(r.out, "bot/bad.json"));
  CHECK_FALSE(test::contains(r.out, "node_modules"));  // excluded
  CHECK_FALSE(test::contains(r.out, "skipped.json"));  // "*" does not cross '/'
  CHECK(test::contains(r.out, "owner"));            // unknown_keywords: warn
  // JSON: one report per file, in path order, with the right verdicts.
  auto json = invar_in(repo.path, {"check", "--format", "json"});
  INFO(json.out);
  const auto ok = json.out.find("bot/ok.json"), bad = json.out.find("bot/bad.json");
  const auto a = json.out.find("configs/a.yaml"), b = json.out.find("configs/deep/er/b.yaml");
  REQUIRE(bad != std::string::npos);
  REQUIRE(b != std::string::npos);
  CHECK(bad < ok);
  CHECK(ok < a);
  CHECK(a < b);
  // Fixed: everything accepted.
  write(repo, "configs/deep/er/b.yaml", "replicas: 3\n");
  write(repo, "bot/bad.json", R"({"name": "host.example"})");
  CHECK(invar_in(repo.path, {"check"}).exit == 0);
  // assert_format is the entry's: a bad hostname is a rejection.
  write(repo, "bot/bad.json", R"({"name": "-bad-"})");
  CHECK(invar_in(repo.path, {"check"}).exit == 1);
}

TEST_CASE("the project file is found by walking up, and stops at .git", "[project]") {
  test::TempDir repo;
  repository(repo);
  fs::create_directories(repo.path / "configs/deep/er");
  auto r = invar_in(repo.path / "configs/deep/er", {"check", "--format", "json"});
  INFO(r.out);
  CHECK(r.exit == 1);
  CHECK(test::contains(r.out, "../../../bot/bad.json"));  // named as the working directory reaches it
  // Inside a nested repository (its own .git) without a project file: none found.
  fs::create_directories(repo.path / "vendor/lib/.git");
  auto none = invar_in(repo.path / "vendor/lib", {"check"});
  CHECK(none.exit == 3);
  CHECK(test::contains(none.out, "invar.json"));
}

TEST_CASE("project: --config names the project file, and paths are relative to it", "[project]") {
  test::TempDir repo;
  repository(repo);
  fs::rename(repo.path / "invar.json", repo.path / "ci.json");
  CHECK(invar_in(repo.path, {"check"}).exit == 3);
  test::TempDir elsewhere;
  auto r = invar_in(elsewhere.path, {"check", "--config", repo / "ci.json", "--format", "json"});
  INFO(r.out);
  CHECK(r.exit == 1);
  CHECK(test::contains(r.out, "bot/bad.json"));
  // --contract wins: the project file is not read.
  auto contract = invar_in(repo.path, {"check", "--contract", "rules/x.contract.json", "configs/a.yaml"});
  CHECK(contract.exit == 0);
  CHECK(invar_in(repo.path, {"check", "--config", "ci.json", "--contract", "rules/x.contract.json", "configs/a.yaml"})
            .exit == 3);
}

TEST_CASE("a directory argument checks the matching files under it", "[project]") {
  test::TempDir repo;
  repository(repo);
  auto r = invar_in(repo.path, {"check", "configs"});
  INFO(r.out);
  CHECK(r.exit == 1);
  CHECK(test::contains(r.out, "configs/deep/er/b.yaml"));
  CHECK_FALSE(test::contains(r.out, "bot/"));
  auto bot = invar_in(repo.path / "configs", {"check", "../bot"});
  INFO(bot.out);
  CHECK(bot.exit == 1);
  CHECK(test::contains(bot.out, "../bot/bad.json"));
  CHECK_FALSE(test::contains(bot.out, "a.yaml"));
  CHECK(invar_in(repo.path, {"check", "configs/a.yaml"}).exit == 0);
  // A file no entry covers cannot be judged; a directory outside the root is refused.
  CHECK(invar_in(repo.path, {"check", "notes/loose.yaml"}).exit == 3);
  CHECK(invar_in(repo.path, {"check", ".."}).exit == 3);
}

TEST_CASE("project: --list-unmatched prints the files no entry covers", "[project]") {
  test::TempDir repo;
  repository(repo);
  write(repo, "README.md", "not a configuration\n");
  auto r = invar_in(repo.path, {"check", "--list-unmatched"});
  INFO(r.out);
  CHECK(r.exit == 1);
  // The project's own files and every unmatched known extension, in path order; excluded and .md ones not.
  CHECK(r.out ==
        "bot/sub/skipped.json\ninvar.json\nnotes/loose.yaml\nrules/x.contract.json\nschemas/y.schema.json\n");
  // Under a directory given; a file named that no entry covers.
  auto notes = invar_in(repo.path, {"check", "--list-unmatched", "notes", "bot/ok.json"});
  CHECK(notes.exit == 1);
  CHECK(notes.out == "notes/loose.yaml\n");
  auto covered = invar_in(repo.path, {"check", "--list-unmatched", "configs"});
  CHECK(covered.exit == 0);
  CHECK(covered.out.empty());
  write(repo, "invar.json", R"({"entries": [{"files": ["**/*.json", "**/*.yaml"], "contract": "rules/x.contract.json"}]})");
  auto all = invar_in(repo.path, {"check", "--list-unmatched"});
  CHECK(all.exit == 0);
  CHECK(all.out.empty());
}

TEST_CASE("a bad project file is a located error with the key meant", "[project]") {
  test::TempDir repo;
  repository(repo);
  write(repo, "invar.json", R"({"entries": [
  {"files": ["*.json"], "contract": "a.json", "schema": "b.json"},
  {"files": ["*.json"], "schema": "b.json", "options": {"asert_format": true, "documents": "all"}},
  {"fils": ["*.json"], "contract": "a.json"}
], "exclud": []})");
  auto r = invar_in(repo.path, {"check"});
  INFO(r.out);
  CHECK(r.exit == 3);
  // schemas/project.schema.json refuses it too.
  CHECK(invar_in(repo.path, {"check", "--schema", test::source("schemas/project.schema.json"), "invar.json"}).exit == 1);
  CHECK(test::contains(r.out, "invar.json:5:14: /exclud: unknown key \"exclud\" (did you mean \"exclude\"?)"));
  CHECK(test::contains(r.out, "invar.json:2:3: /entries/0: an entry needs exactly one of \"contract\" or \"schema\""));
  CHECK(test::contains(r.out, "/entries/1/options/asert_format: unknown key \"asert_format\" (did you mean "
                              "\"assert_format\"?)"));
  CHECK(test::contains(r.out, "/entries/1/options/documents: \"documents\" is one of one, many, not \"all\""));
  CHECK(test::contains(r.out, "/entries/2/fils: unknown key \"fils\" (did you mean \"files\"?)"));
  // A contract that does not load: the entry is named, the exit is 3 (its files are not judged).
  write(repo, "invar.json", R"({"entries": [{"files": ["configs/*.yaml"], "contract": "rules/missing.json"},
  {"files": ["bot/*.json"], "schema": "schemas/y.schema.json", "options": {"unknown_keywords": "ignore"}}]})");
  auto missing = invar_in(repo.path, {"check"});
  INFO(missing.out);
  CHECK(missing.exit == 3);
  CHECK(test::contains(missing.out, "invar.json:1:14: /entries/0: this entry's contract does not load"));
  CHECK(test::contains(missing.out, "bot/bad.json"));  // the other entry is still judged
}

TEST_CASE("the walk's depth is a named limit", "[project]") {
  test::TempDir repo;
  write(repo, "invar.json", R"({"entries": [{"files": ["**/*.json"], "schema": "s.json"}]})");
  write(repo, "s.json", "{}");
  std::string deep;
  for (size_t i = 0; i <= invar::cli::project::kMaxWalkDepth; ++i) deep += "d/";
  write(repo, deep + "x.json", "{}");
  auto r = invar_in(repo.path, {"check"});
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(test::contains(r.out, "nested more than 256 deep"));
}

TEST_CASE("project: lint with no contract lints the project file's contracts", "[project][lint]") {
  test::TempDir repo;
  repository(repo);
  auto r = invar_in(repo.path / "configs", {"lint"});
  INFO(r.out);
  CHECK(r.exit == 0);  // warnings only
  CHECK(test::contains(r.out, "rules/x.contract.json: 0 errors, "));
  CHECK_FALSE(test::contains(r.out, "y.schema.json"));  // a plain schema entry has no contract to lint
  write(repo, "invar.json", R"({"entries": [{"files": ["*.json"], "schema": "schemas/y.schema.json"}]})");
  auto none = invar_in(repo.path, {"lint"});
  CHECK(none.exit == 3);
  CHECK(test::contains(none.out, "names no contract to lint"));
  CHECK(invar_in(repo.path, {"lint", "--config", "invar.json", "rules/x.contract.json"}).exit == 3);
}

TEST_CASE("project: test with no paths runs the project's tests, each contract with its entry's options",
          "[project][test]") {
  test::TempDir repo;
  fs::create_directories(repo.path / ".git");
  write(repo, "rules/h.contract.json",
        R"({"contract": "h", "invariants": [{"id": "host", "schema": "$", "inline": {"type": "object",
            "properties": {"host": {"type": "string", "format": "hostname"}}}}]})");
  write(repo, "invar.json", R"({"entries": [{"files": ["hosts/*.json"], "contract": "rules/h.contract.json",
                                             "options": {"assert_format": true}}]})");
  write(repo, "hosts/good.json", R"({"host": "example.com"})");
  write(repo, "hosts/bad.json", R"({"host": "not a host!"})");
  // The test file reads outside its own directory, inside the project root.
  write(repo, "tests/h.test.json", R"({"contract": "../rules/h.contract.json", "tests": [
    {"name": "a hostname passes", "artifact": "../hosts/good.json", "expect": {"verdict": "accept"}},
    {"name": "a sentence is no hostname", "artifact": "../hosts/bad.json",
     "expect": {"verdict": "reject", "failing": ["host"]}}]})");
  auto all = invar_in(repo.path / "hosts", {"test"});
  INFO(all.out);
  CHECK(all.exit == 0);
  CHECK(test::contains(all.out, "PASS ../tests/h.test.json: a sentence is no hostname"));  // assert_format from the entry
  CHECK(test::contains(all.out, "invar test: 2 passed, 0 failed (1 file)"));
  auto quiet = invar_in(repo.path, {"test", "-q"});
  CHECK(quiet.exit == 0);
  CHECK(quiet.out == "invar test: 2 passed, 0 failed (1 file)\n");
  // Paths without the project: confined to the test file's directory, as before.
  auto plain = invar_in(repo.path, {"test", "tests"});
  CHECK(plain.exit == 3);
  CHECK(test::contains(plain.out, "leads outside the test file's directory"));
  // ... and with --config the project's root and options apply to the paths given.
  CHECK(invar_in(repo.path, {"test", "--config", "invar.json", "tests/h.test.json"}).exit == 0);
  // Without the entry's options, format is an annotation: the reject case fails.
  write(repo, "other.json", R"({"entries": [{"files": ["hosts/*.json"], "contract": "rules/h.contract.json"}]})");
  auto annotation = invar_in(repo.path, {"test", "--config", "other.json"});
  CHECK(annotation.exit == 1);
  CHECK(test::contains(annotation.out, "FAIL tests/h.test.json: a sentence is no hostname"));
  // A project's tests still cannot leave its root.
  write(repo, "tests/out.test.json", R"({"contract": "../../elsewhere.contract.json", "tests": [
    {"name": "x", "inline": {}, "expect": {"verdict": "accept"}}]})");
  auto out = invar_in(repo.path, {"test"});
  CHECK(out.exit == 3);
  CHECK(test::contains(out.out, "leads outside the project root"));
  // "tests" chooses the test files.
  write(repo, "invar.json", R"({"entries": [{"files": ["hosts/*.json"], "contract": "rules/h.contract.json",
                                             "options": {"assert_format": true}}], "tests": ["tests/h.*.json"]})");
  CHECK(invar_in(repo.path, {"test"}).exit == 0);
  write(repo, "invar.json", R"({"entries": [{"files": ["x"], "contract": "rules/h.contract.json"}], "tests": ["nope/*"]})");
  auto none = invar_in(repo.path, {"test"});
  CHECK(none.exit == 3);
  CHECK(test::contains(none.out, "\"tests\" matches none"));
  fs::remove(repo.path / "invar.json");
  auto missing = invar_in(repo.path, {"test"});
  CHECK(missing.exit == 3);
  CHECK(test::contains(missing.out, "test needs test files or directories, or a project file invar.json"));
}
