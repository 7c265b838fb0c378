// The bundled schemas tell the truth: every bundled contract validates against
// schemas/contract.schema.json, broken ones do not, and the JSON report
// validates against schemas/report.schema.json.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <unistd.h>

#include "helpers.hpp"

namespace {
invar::Report check_with_schema(const std::string& schema, const std::string& path) {
  auto c = invar::Contract::from_schema_file(test::source(schema));
  if (!c) FAIL(c.error().to_string());
  auto r = c->check_file(path);
  if (!r) FAIL(r.error().to_string());
  return r.value();
}
}  // namespace

TEST_CASE("bundled contracts satisfy contract.schema.json", "[schemas]") {
  for (const char* name : {"feature-file", "dns-plan", "waf-ruleset", "waf-ruleset-re2", "service-policy"}) {
    auto r = check_with_schema("schemas/contract.schema.json", test::source(std::string("rules/") + name + ".contract.json"));
    INFO(name << "\n" << invar::render_human(r));
    CHECK(r.verdict == invar::Verdict::accept);
  }
}

TEST_CASE("contract.schema.json refuses what the loader refuses", "[schemas]") {
  auto r = check_with_schema("schemas/contract.schema.json", test::source("tests/contracts/unknown-kind.json"));
  CHECK(r.verdict == invar::Verdict::reject);
}

TEST_CASE("the JSON report satisfies report.schema.json", "[schemas]") {
  auto c = invar::Contract::load_file(test::source("rules/feature-file.contract.json"));
  REQUIRE(c);
  auto bad = c->check_file(test::source("examples/cloudflare-2025-features/bad.json"));
  auto good = c->check_file(test::source("examples/cloudflare-2025-features/good.json"));
  REQUIRE(bad);
  REQUIRE(good);
  std::string json = invar::render_json({bad.value(), good.value()});
  std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/invar-report-test-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << json;
  auto r = check_with_schema("schemas/report.schema.json", path);
  INFO(invar::render_human(r));
  CHECK(r.verdict == invar::Verdict::accept);
  std::remove(path.c_str());
}
