// The bundled schemas tell the truth: every bundled contract validates against
// schemas/contract.schema.json, broken ones do not, and the JSON report
// validates against schemas/report.schema.json; the bundled rollout files
// satisfy schemas/rollout.schema.json.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <unistd.h>

#include "helpers.hpp"
#include "invar/rollout.hpp"

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

TEST_CASE("the bundled rollout files satisfy rollout.schema.json", "[schemas]") {
  for (const char* name : {"dns-plan.rollout.json", "dns-plan.rollout.yaml"}) {
    auto r = check_with_schema("schemas/rollout.schema.json", test::source(std::string("examples/rollout/") + name));
    INFO(name << "\n" << invar::render_human(r));
    CHECK(r.verdict == invar::Verdict::accept);
  }
}

TEST_CASE("rollout.schema.json refuses what the rollout loader refuses", "[schemas]") {
  const std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  const std::string path = dir + "/invar-rollout-schema-test-" + std::to_string(::getpid()) + ".json";
  const char* refused[] = {
      R"({"rollout": "r", "stages": [{"name": "a", "bak": "1m"}]})",
      R"({"rollout": "r", "stages": []})",
      R"({"rollout": "r", "stages": [{"name": "a", "health": [{"id": "e", "exec": ["./t"], "prometheus": {"url": "http://p", "query": "up", "max": 1}}]}]})",
      R"({"rollout": "r", "stages": [{"name": "a", "health": [{"id": "e", "prometheus": {"url": "http://p", "query": "up"}}]}]})",
      R"({"rollout": "r", "stages": [{"name": "a", "health": [{"id": "e", "timeout": "5s", "prometheus": {"url": "http://p", "query": "up", "max": 1}}]}]})",
      R"({"rollout": "r", "stages": [{"name": "a b"}]})",
  };
  for (const char* text : refused) {
    std::ofstream(path) << text;
    CHECK_FALSE(invar::parse_rollout(text, "t.rollout.json"));
    auto r = check_with_schema("schemas/rollout.schema.json", path);
    INFO(text);
    CHECK(r.verdict == invar::Verdict::reject);
  }
  std::remove(path.c_str());
}
