// Schemas users already have: local copies of remote schemas (--resolve,
// "resolve"), unknown keywords by whose schema it is, and the messages of
// oneOf, dependencies and --default-dialect.
#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "process.hpp"
#include "invar/invar.hpp"
#include "invar/lint.hpp"
#include "schema/dialect.hpp"

using invar::Contract;
using invar::Options;
using invar::UnknownKeywords;
using invar::Verdict;
using test::spit;

namespace {

// A package manifest that names its parts by URL: an absolute URL and a
// relative reference that its "$id" makes a URL.
constexpr const char* kPackage = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://json.example.org/package.json",
  "type": "object",
  "required": ["name"],
  "properties": {
    "name": {"type": "string", "markdownDescription": "The **name**", "tsType": "string"},
    "author": {"$ref": "https://json.example.org/base.json#/definitions/person"},
    "license": {"$ref": "base.json#/definitions/license"}
  }
})";

constexpr const char* kBase = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://json.example.org/base.json",
  "definitions": {
    "person": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}},
               "x-vendor": 1, "vendorHint": "shown by one editor"},
    "license": {"enum": ["MIT", "Apache-2.0"]}
  }
})";

struct Catalog {
  test::TempDir dir;
  Catalog() {
    std::filesystem::create_directories(dir.path / "vendor" / "nested");
    spit(dir.path / "package.schema.json", kPackage);
    spit(dir.path / "vendor" / "nested" / "base.json", kBase);
    spit(dir.path / "vendor" / "unrelated.json", R"({"$id": "https://other.example.org/x.json", "type": "string"})");
    spit(dir.path / "vendor" / "broken.json", R"({"$id": )");
    spit(dir.path / "vendor" / "no-id.json", R"({"type": "string"})");
  }
  std::string operator/(const std::string& name) const { return dir / name; }
};

Verdict verdict(const Contract& c, const std::string& text) { return c.check(text).verdict; }

}  // namespace

TEST_CASE("a $ref to a URL finds the local copy given with resolve", "[resolve]") {
  Catalog cat;
  Options options;
  options.resolve = {cat / "vendor"};
  auto contract = Contract::from_schema_file(cat / "package.schema.json", options);
  REQUIRE(contract.ok());
  CHECK(verdict(*contract, R"({"name": "a", "author": {"email": "a@example.org"}, "license": "MIT"})") == Verdict::accept);
  CHECK(verdict(*contract, R"({"name": "a", "author": {}})") == Verdict::reject);       // base.json's required
  CHECK(verdict(*contract, R"({"name": "a", "license": "GPL"})") == Verdict::reject);   // the relative ref's enum
  // The copy's unknown keyword is a warning (third-party schema), located in its file;
  // the broken file of the directory is skipped with a warning.
  bool unknown = false, skipped = false;
  for (const auto& w : contract->warnings()) {
    if (w.kind == "unknown-keyword") {
      unknown = true;
      CHECK(test::contains(w.where.file, "base.json"));
      CHECK(w.where.pointer == "/definitions/person/vendorHint");
      CHECK(test::contains(w.message, "\"vendorHint\""));
    }
    if (w.kind == "resolve-skipped") {
      skipped = true;
      CHECK(test::contains(w.where.file, "broken.json"));
    }
  }
  CHECK(unknown);
  CHECK(skipped);
}

TEST_CASE("without a local copy the load error names the URL and --resolve", "[resolve]") {
  Catalog cat;
  auto contract = Contract::from_schema_file(cat / "package.schema.json");
  REQUIRE_FALSE(contract.ok());
  const auto& message = contract.error().message;
  CHECK(test::contains(message, "https://json.example.org/base.json"));
  CHECK(test::contains(message, "--resolve"));
  CHECK(test::contains(message, "never fetches"));
  // Given a directory without it: said too.
  Options options;
  options.resolve = {cat / "vendor/unrelated.json"};
  auto again = Contract::from_schema_file(cat / "package.schema.json", options);
  REQUIRE_FALSE(again.ok());
  CHECK(test::contains(again.error().message, "unrelated.json"));
}

TEST_CASE("two files claiming one $id are an error only when it is referenced", "[resolve]") {
  Catalog cat;
  std::filesystem::create_directories(cat.dir.path / "vendor2");
  spit(cat.dir.path / "vendor2" / "base-copy.json", kBase);
  spit(cat.dir.path / "vendor2" / "x-copy.json", R"({"$id": "https://other.example.org/x.json", "type": "number"})");
  Options options;
  options.resolve = {cat / "vendor", cat / "vendor2"};
  auto contract = Contract::from_schema_file(cat / "package.schema.json", options);
  REQUIRE_FALSE(contract.ok());
  CHECK(test::contains(contract.error().message, "base.json"));
  CHECK(test::contains(contract.error().message, "base-copy.json"));
  // x.json is claimed twice too, but nothing references it.
  std::filesystem::remove(cat.dir.path / "vendor2" / "base-copy.json");
  CHECK(Contract::from_schema_file(cat / "package.schema.json", options).ok());
}

TEST_CASE("a resolve file named itself must read and have an $id", "[resolve]") {
  Catalog cat;
  Options options;
  options.resolve = {cat / "vendor/no-id.json"};
  auto contract = Contract::from_schema_file(cat / "package.schema.json", options);
  REQUIRE_FALSE(contract.ok());
  CHECK(test::contains(contract.error().message, "no \"$id\""));
  options.resolve = {cat / "vendor/broken.json"};
  CHECK_FALSE(Contract::from_schema_file(cat / "package.schema.json", options).ok());
  options.resolve = {cat / "missing"};
  auto missing = Contract::from_schema_file(cat / "package.schema.json", options);
  REQUIRE_FALSE(missing.ok());
  CHECK(test::contains(missing.error().message, "does not exist"));
}

TEST_CASE("draft-04 schemas are indexed by id", "[resolve]") {
  test::TempDir dir;
  spit(dir.path / "main.json", R"({"$schema": "http://json-schema.org/draft-04/schema#",
                                   "properties": {"port": {"$ref": "http://legacy.example.org/defs.json#/definitions/port"}}})");
  spit(dir.path / "defs.json", R"({"$schema": "http://json-schema.org/draft-04/schema#",
                                   "id": "http://legacy.example.org/defs.json#", "examples": [1],
                                   "definitions": {"port": {"type": "integer", "maximum": 65535}}})");
  Options options;
  options.resolve = {dir / "defs.json"};
  auto contract = Contract::from_schema_file(dir / "main.json", options);
  REQUIRE(contract.ok());
  CHECK(verdict(*contract, R"({"port": 80})") == Verdict::accept);
  CHECK(verdict(*contract, R"({"port": 70000})") == Verdict::reject);
  // "examples" is a later draft's annotation: never even a warning.
  CHECK(contract->warnings().empty());
}

TEST_CASE("unknown keywords by whose schema it is", "[resolve]") {
  test::TempDir dir;
  spit(dir.path / "own.json", R"({"properties": {"a": {"type": "string", "vendorHint": 1}}})");
  SECTION("the contract's own: an error by default, naming the option") {
    auto c = Contract::from_schema_file(dir / "own.json");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().where.pointer == "/properties/a/vendorHint");
    CHECK(test::contains(c.error().message, "--unknown-keywords"));
  }
  SECTION("warn: loads, one warning, located") {
    Options options;
    options.unknown_keywords = UnknownKeywords::warn;
    auto c = Contract::from_schema_file(dir / "own.json", options);
    REQUIRE(c.ok());
    REQUIRE(c->warnings().size() == 1);
    CHECK(c->warnings()[0].where.line == 1);
    CHECK(c->warnings()[0].where.pointer == "/properties/a/vendorHint");
    CHECK(verdict(*c, R"({"a": 1})") == Verdict::reject);  // the rest still asserts
  }
  SECTION("ignore: loads, nothing said") {
    Options options;
    options.unknown_keywords = UnknownKeywords::ignore;
    auto c = Contract::from_schema_file(dir / "own.json", options);
    REQUIRE(c.ok());
    CHECK(c->warnings().empty());
  }
  SECTION("known annotation vocabularies are never errors") {
    spit(dir.path / "editor.json", R"({"$schema": "http://json-schema.org/draft-07/schema#",
      "properties": {"a": {"type": "string", "markdownDescription": "x", "deprecationMessage": "y",
                           "defaultSnippets": [], "enumDescriptions": [], "tsType": "string", "x-intellij-html": true,
                           "nullable": true, "example": "e", "deprecated": true}}})");
    auto c = Contract::from_schema_file(dir / "editor.json");
    REQUIRE(c.ok());
    CHECK(c->warnings().empty());
    // nullable is an annotation: it does not allow null.
    CHECK(verdict(*c, R"({"a": null})") == Verdict::reject);
  }
  SECTION("a typo is still refused") {
    spit(dir.path / "typo.json", R"({"requried": ["a"]})");
    auto c = Contract::from_schema_file(dir / "typo.json");
    REQUIRE_FALSE(c.ok());
    CHECK(test::contains(c.error().message, "did you mean \"required\""));
  }
}

TEST_CASE("a contract's resolve and unknown_keywords", "[resolve]") {
  Catalog cat;
  spit(cat.dir.path / "c.json", R"({"contract": "pkg", "resolve": ["vendor/"], "unknown_keywords": "error",
    "invariants": [{"id": "manifest", "schema": "$", "file": "package.schema.json"}]})");
  // "error" reaches the resolved copies too: base.json's vendorHint.
  auto strict = Contract::load_file(cat / "c.json");
  REQUIRE_FALSE(strict.ok());
  CHECK(test::contains(strict.error().message, "vendorHint"));
  spit(cat.dir.path / "c.json", R"({"contract": "pkg", "resolve": "vendor", "unknown_keywords": "warn",
    "invariants": [{"id": "manifest", "schema": "$", "file": "package.schema.json"}]})");
  auto loaded = Contract::load_file(cat / "c.json");
  REQUIRE(loaded.ok());
  CHECK(verdict(*loaded, R"({"name": "a", "license": "MIT"})") == Verdict::accept);
  CHECK(verdict(*loaded, R"({"name": "a", "license": "BSD"})") == Verdict::reject);
  // The contract's own setting wins over Options (it is part of its digest).
  Options options;
  options.unknown_keywords = UnknownKeywords::error;
  CHECK(Contract::load_file(cat / "c.json", options).ok());
  spit(cat.dir.path / "c.json", R"({"contract": "pkg", "unknown_keywords": "sometimes",
    "invariants": [{"id": "manifest", "schema": "$", "file": "package.schema.json"}]})");
  auto bad = Contract::load_file(cat / "c.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().where.pointer == "/unknown_keywords");
}

TEST_CASE("lint lists the unknown keywords a load lets be", "[resolve][lint]") {
  Catalog cat;
  spit(cat.dir.path / "c.json", R"({"contract": "pkg", "resolve": "vendor", "unknown_keywords": "ignore",
    "invariants": [{"id": "manifest", "schema": "$", "file": "package.schema.json"}]})");
  auto reports = invar::lint_contract(cat / "c.json");
  REQUIRE(reports.ok());
  bool listed = false;
  for (const auto& r : reports.value())
    for (const auto& v : r.violations)
      if (v.invariant == "lint.unknown-keyword" && test::contains(v.message, "vendorHint")) listed = true;
  CHECK(listed);
}

TEST_CASE("invar check --resolve on the command line", "[resolve][cli]") {
  Catalog cat;
  spit(cat.dir.path / "good.json", R"({"name": "a", "author": {"email": "x"}})");
  spit(cat.dir.path / "bad.json", R"({"name": "a", "author": {}})");
  auto refused = test::invar({"check", "--schema", cat / "package.schema.json", cat / "good.json"});
  CHECK(refused.exit == 3);
  CHECK(test::contains(refused.out, "--resolve"));
  auto good = test::invar({"check", "--resolve", cat / "vendor", "--schema", cat / "package.schema.json", cat / "good.json"});
  CHECK(good.exit == 0);
  CHECK(test::contains(good.out, "invar: warning: "));
  CHECK(test::contains(good.out, "vendorHint"));
  auto quiet = test::invar({"check", "-q", "--resolve", cat / "vendor", "--schema", cat / "package.schema.json", cat / "good.json"});
  CHECK_FALSE(test::contains(quiet.out, "warning"));
  auto bad = test::invar({"check", "--resolve", cat / "vendor", "--schema", cat / "package.schema.json", cat / "bad.json"});
  CHECK(bad.exit == 1);
  auto strict = test::invar({"check", "--unknown-keywords", "error", "--resolve", cat / "vendor", "--schema",
                             cat / "package.schema.json", cat / "good.json"});
  CHECK(strict.exit == 3);
  auto wrong = test::invar({"check", "--unknown-keywords", "maybe", "--schema", cat / "package.schema.json", cat / "good.json"});
  CHECK(wrong.exit == 3);
}

TEST_CASE("oneOf names every matching branch, bounded", "[schema][messages]") {
  test::TempDir dir;
  spit(dir.path / "one.json", R"({"oneOf": [{"type": "integer"}, {"minimum": 0}, {"maximum": 10}, {"type": "string"}]})");
  auto c = Contract::from_schema_file(dir / "one.json");
  REQUIRE(c.ok());
  auto report = c->check("5");
  REQUIRE(report.violations.size() == 1);
  CHECK(report.violations[0].message == "value matches 3 oneOf branches (0, 1 and 2), exactly one expected");
  std::string many = R"({"oneOf": [)";
  for (int i = 0; i < 12; ++i) many += std::string(i ? "," : "") + "{}";
  spit(dir.path / "many.json", many + "]}");
  auto m = Contract::from_schema_file(dir / "many.json");
  REQUIRE(m.ok());
  auto r = m->check("5");
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].message ==
        "value matches 12 oneOf branches (0, 1, 2, 3, 4, 5, 6, 7 and 4 more), exactly one expected");
}

TEST_CASE("draft-07 dependencies fail at dependencies", "[schema][messages]") {
  test::TempDir dir;
  spit(dir.path / "dep.json", R"({"$schema": "http://json-schema.org/draft-07/schema#",
                                  "dependencies": {"a": ["b"]}})");
  auto c = Contract::from_schema_file(dir / "dep.json");
  REQUIRE(c.ok());
  auto report = c->check(R"({"a": 1})");
  REQUIRE(report.violations.size() == 1);
  CHECK(test::contains(report.violations[0].schema_location, "#/dependencies"));
  CHECK_FALSE(test::contains(report.violations[0].schema_location, "dependentRequired"));
}

TEST_CASE("the default dialect may be named by its metaschema URI", "[schema][messages]") {
  CHECK(invar::schema::draft_from_name("http://json-schema.org/draft-07/schema#") == invar::schema::Draft::draft7);
  CHECK(invar::schema::draft_from_name("https://json-schema.org/draft/2020-12/schema") ==
        invar::schema::Draft::draft2020_12);
  test::TempDir dir;
  spit(dir.path / "s.json", R"({"dependencies": {"a": ["b"]}})");
  spit(dir.path / "i.json", R"({"a": 1})");
  // Under draft-07, "dependencies" asserts; under 2020-12 too (kept for compatibility),
  // but draft-04's boolean exclusiveMaximum shows the dialect was chosen.
  spit(dir.path / "e.json", R"({"maximum": 5, "exclusiveMaximum": true})");
  spit(dir.path / "five.json", "5");
  auto run = test::invar({"check", "--default-dialect", "http://json-schema.org/draft-04/schema#", "--schema",
                          dir / "e.json", dir / "five.json"});
  CHECK(run.exit == 1);
  auto unknown = test::invar({"check", "--default-dialect", "http://example.org/schema", "--schema", dir / "e.json",
                              dir / "five.json"});
  CHECK(unknown.exit == 3);
}

TEST_CASE("an integral bound reads as an integer in messages", "[schema][messages]") {
  test::TempDir dir;
  spit(dir.path / "m.json", R"({"type": "integer", "minimum": 1, "maximum": 2.5})");
  auto c = Contract::from_schema_file(dir / "m.json");
  REQUIRE(c.ok());
  auto low = c->check("0");
  REQUIRE(low.violations.size() == 1);
  CHECK(low.violations[0].message == "value must be >= 1");
  auto high = c->check("3");
  REQUIRE(high.violations.size() == 1);
  CHECK(high.violations[0].message == "value must be <= 2.5");
}
