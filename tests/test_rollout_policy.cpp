// Rollout files: read as a contract is (every problem located, all at once,
// the key meant suggested), and their canonical form, stored with a stream,
// read back exactly.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>

#include "common/digest.hpp"
#include "helpers.hpp"
#include "invar/rollout.hpp"
#include "rollout/policy.hpp"

namespace {

invar::Error error_of(const std::string& text, const std::string& name = "t.rollout.json") {
  auto p = invar::parse_rollout(text, name);
  REQUIRE_FALSE(p);
  return p.error();
}
// The first error without its line and column (the message is what is pinned).
std::string message_of(const std::string& text, const std::string& name = "t.rollout.json") {
  invar::Error e = error_of(text, name);
  e.where.line = e.where.column = 0;
  return e.to_string();
}
// A rollout of one stage written `stage`.
std::string with_stage(const std::string& stage) { return R"({"rollout": "r", "stages": [)" + stage + "]}"; }
// A rollout of one stage with one health check written `check`.
std::string with_check(const std::string& check) { return with_stage(R"({"name": "s", "health": [)" + check + "]}"); }
const char* kProm = R"("prometheus": {"url": "http://p:9090", "query": "up")";

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/invar-rollout-" + std::to_string(::getpid()) + "-" + name;
}

}  // namespace

TEST_CASE("a rollout file's fields", "[rollout-policy]") {
  auto p = invar::load_rollout(test::source("examples/rollout/dns-plan.rollout.json"));
  if (!p) FAIL(p.error().to_string());
  CHECK(p->name == "dns-plan");
  CHECK(p->unknown_limit_ms == 600'000);
  CHECK(p->step_timeout_ms == 60'000);
  REQUIRE(p->stages.size() == 3);
  const auto& canary = p->stages[0];
  CHECK(canary.name == "canary");
  CHECK(canary.bake_ms == 600'000);
  REQUIRE(canary.health.size() == 3);
  const auto& servfail = canary.health[0];
  CHECK(servfail.id == "servfail-rate");
  CHECK(servfail.kind == invar::HealthCheck::Kind::prometheus);
  CHECK(servfail.url == "http://127.0.0.1:9090");
  CHECK(servfail.query.find("rcode=\"SERVFAIL\",stage=\"$stage\"") != std::string::npos);
  CHECK_FALSE(servfail.min);
  CHECK(servfail.max == 0.01);
  CHECK(servfail.for_ms == 120'000);
  CHECK(canary.health[1].min == 2.0);
  CHECK_FALSE(canary.health[1].max);
  CHECK(canary.health[1].for_ms == 0);
  const auto& smoke = canary.health[2];
  CHECK(smoke.kind == invar::HealthCheck::Kind::exec);
  CHECK(smoke.argv == std::vector<std::string>{"./smoke-test", "--stage", "canary"});
  CHECK(smoke.timeout_ms == 30'000);
  CHECK(p->stages[1].name == "region-1");
  CHECK(p->stages[1].bake_ms == 1'800'000);
  CHECK(p->stages[1].health[0].min == 0.0);
  CHECK(p->stages[1].health[0].max == 0.005);
  CHECK(p->stages[2].name == "global");
  CHECK(p->stages[2].bake_ms == 0);
  CHECK(p->stages[2].health.empty());
  CHECK(p->digest == invar::digest::sha256(p->source));
}

TEST_CASE("a rollout file in YAML is the same policy as in JSON", "[rollout-policy]") {
  auto json = invar::load_rollout(test::source("examples/rollout/dns-plan.rollout.json"));
  auto yaml = invar::load_rollout(test::source("examples/rollout/dns-plan.rollout.yaml"));
  if (!yaml) FAIL(yaml.error().to_string());
  REQUIRE(json);
  // Keys in another order, "600s" for "10m", defaults left out: the same digest.
  CHECK(yaml->source == json->source);
  CHECK(yaml->digest == json->digest);
  // Without an extension, text that does not start with '{' is YAML.
  auto p = invar::parse_rollout("rollout: r\nstages:\n  - name: a\n    bake: 1h\n", "<stdin>");
  if (!p) FAIL(p.error().to_string());
  CHECK(p->stages[0].bake_ms == 3'600'000);
}

TEST_CASE("rollout file errors are located, with the key meant", "[rollout-policy]") {
  CHECK(error_of(with_stage("{\"name\": \"a\",\n \"bak\": \"1m\"}")).to_string() ==
        "t.rollout.json:2:9: /stages/0/bak: unknown key \"bak\" (did you mean \"bake\"?) (expected name, bake, health)");
  CHECK(message_of(with_check(R"({"id": "e", "prometheus": {"url": "http://p", "qeury": "up", "max": 1}})")) ==
        "t.rollout.json: /stages/0/health/0/prometheus/qeury: unknown key \"qeury\" (did you mean \"query\"?) "
        "(expected url, query, min, max, for)");
  CHECK(message_of(with_check(R"({"id": "x", "exec": ["./t"], "timout": "5s"})")) ==
        "t.rollout.json: /stages/0/health/0/timout: unknown key \"timout\" (did you mean \"timeout\"?) (expected id, "
        "prometheus, exec, timeout)");
  CHECK(message_of(R"({"rollout": "r", "stage": []})") ==
        "t.rollout.json: /stage: unknown key \"stage\" (did you mean \"stages\"?) (expected rollout, unknown_limit, "
        "timeout, stages)");
  // A missing key is located at the object that lacks it.
  CHECK(error_of(with_check(std::string("{\"id\": \"e\",\n  ") + kProm + "}}")).to_string() ==
        "t.rollout.json:2:17: /stages/0/health/0/prometheus: a prometheus check needs \"min\", \"max\" or both (the "
        "bounds every sample must be within)");
  CHECK(error_of(R"({"stages": [{"name": "a"}]})").to_string() ==
        "t.rollout.json:1:1: /rollout: \"rollout\" is required: a name of 1 to 128 letters, digits, '.', '_' or '-' "
        "(not \".\" or \"..\")");
}

TEST_CASE("each kind of rollout file error", "[rollout-policy]") {
  const std::string p = kProm;
  SECTION("health checks") {
    CHECK(message_of(with_check(R"({"id": "e"})")) ==
          "t.rollout.json: /stages/0/health/0: a health check needs \"prometheus\" (a query and its bounds) or \"exec\" "
          "(a command)");
    CHECK(message_of(with_check(R"({"id": "e", "exec": ["a"], )" + p + R"(, "max": 1}})")) ==
          "t.rollout.json: /stages/0/health/0/exec: a health check is either \"prometheus\" or \"exec\", not both");
    CHECK(message_of(with_check(R"({"id": "e", "timeout": "5s", )" + p + R"(, "max": 1}})")) ==
          "t.rollout.json: /stages/0/health/0/timeout: \"timeout\" applies to \"exec\" checks (a query is bounded by the "
          "rollout's \"timeout\")");
    CHECK(message_of(with_check(R"({"id": "e", "prometheus": {"url": "ftp://p", "query": "up", "max": 1}})")) ==
          "t.rollout.json: /stages/0/health/0/prometheus/url: \"url\" must be the Prometheus server's http:// or "
          "https:// URL (at most 2048 bytes, no spaces), such as \"http://127.0.0.1:9090\"");
    CHECK(message_of(with_check(R"({"id": "e", "prometheus": {"url": "http://p", "query": "", "max": 1}})")) ==
          "t.rollout.json: /stages/0/health/0/prometheus/query: \"query\" must be a PromQL query of 1 to 4096 bytes");
    CHECK(message_of(with_check(R"({"id": "e", )" + p + R"(, "min": 2, "max": 1}})")) ==
          "t.rollout.json: /stages/0/health/0/prometheus/min: \"min\" is greater than \"max\"");
    CHECK(message_of(with_check(R"({"id": "e", )" + p + R"(, "max": "1"}})")) ==
          "t.rollout.json: /stages/0/health/0/prometheus/max: \"max\" must be a number, not \"1\"");
    CHECK(message_of(with_check(R"({"id": "e", "exec": []})")) ==
          "t.rollout.json: /stages/0/health/0/exec: \"exec\" must be a command's arguments (no shell), such as "
          "[\"./smoke-test\", \"--stage\", \"canary\"]");
    CHECK(message_of(with_check(R"({"id": "e", "exec": ["./t", ""]})")) ==
          "t.rollout.json: /stages/0/health/0/exec/1: an argument must be a non-empty string without NUL bytes, not \"\"");
    CHECK(message_of(with_check(R"({"id": "e", "exec": ["./t"], "timeout": "11m"})")) ==
          "t.rollout.json: /stages/0/health/0/timeout: \"timeout\" is 11m, over the limit of 10m");
    CHECK(message_of(with_check(R"({"id": "a b", "exec": ["./t"]})")) ==
          "t.rollout.json: /stages/0/health/0/id: \"id\" must be a name of 1 to 64 letters, digits, '.', '_' or '-' "
          "(not \".\" or \"..\"), not \"a b\"");
  }
  SECTION("durations") {
    CHECK(message_of(with_stage(R"({"name": "a", "bake": "10 minutes"})")) ==
          "t.rollout.json: /stages/0/bake: \"bake\" must be a duration such as \"30s\", \"10m\" or \"1h30m\", not \"10 "
          "minutes\"");
    CHECK(message_of(with_stage(R"({"name": "a", "bake": 600})")) ==
          "t.rollout.json: /stages/0/bake: \"bake\" must be a duration such as \"30s\", \"10m\" or \"1h30m\", not 600");
    CHECK(message_of(with_stage(R"({"name": "a", "bake": "8d"})")) ==
          "t.rollout.json: /stages/0/bake: \"bake\" is 8d, over the limit of 7d");
    CHECK(message_of(with_check(R"({"id": "e", )" + p + R"(, "max": 1, "for": "25h"}})")) ==
          "t.rollout.json: /stages/0/health/0/prometheus/for: \"for\" is 1d1h, over the limit of 1d");
    CHECK(message_of(R"({"rollout": "r", "unknown_limit": "0s", "stages": [{"name": "a"}]})") ==
          "t.rollout.json: /unknown_limit: \"unknown_limit\" must be longer than 0");
  }
  SECTION("stages") {
    CHECK(message_of(with_stage(R"({"name": "a"}, {"name": "b"}, {"name": "a"})")) ==
          "t.rollout.json: /stages/2/name: duplicate stage name \"a\" (also at /stages/0/name)");
    CHECK(message_of(with_check(R"({"id": "e", "exec": ["./t"]}, {"id": "e", "exec": ["./u"]})")) ==
          "t.rollout.json: /stages/0/health/1/id: duplicate health check id \"e\" in this stage (also at "
          "/stages/0/health/0/id)");
    // The same id in two stages is two checks.
    CHECK(invar::parse_rollout(with_stage(R"({"name": "a", "health": [{"id": "e", "exec": ["./t"]}]},
                                             {"name": "b", "health": [{"id": "e", "exec": ["./t"]}]})"),
                               "t.rollout.json"));
    std::string many;
    for (int i = 0; i < 17; ++i) many += std::string(i ? ", " : "") + "{\"name\": \"s" + std::to_string(i) + "\"}";
    CHECK(message_of(with_stage(many)) == "t.rollout.json: /stages: a rollout has at most 16 stages (17 given)");
    std::string checks;
    for (int i = 0; i < 33; ++i) checks += std::string(i ? ", " : "") + "{\"id\": \"c" + std::to_string(i) + "\", \"exec\": [\"./t\"]}";
    CHECK(message_of(with_check(checks)) == "t.rollout.json: /stages/0/health: a stage has at most 32 health checks (33 given)");
    CHECK(message_of(R"({"rollout": "r", "stages": []})") ==
          "t.rollout.json: /stages: \"stages\" must be an array of 1 to 16 stages, such as [{\"name\": \"canary\"}]");
    CHECK(message_of(with_stage(R"({"name": ".."})")) ==
          "t.rollout.json: /stages/0/name: \"name\" must be a name of 1 to 64 letters, digits, '.', '_' or '-' (not "
          "\".\" or \"..\"), not \"..\"");
  }
  SECTION("the document") {
    CHECK(message_of("[]") ==
          "t.rollout.json: a rollout file is an object such as {\"rollout\": \"web\", \"stages\": [{\"name\": \"canary\"}]}");
    invar::Error syntax = error_of("{\"rollout\": \"r\",\n \"stages\": [}");
    CHECK(syntax.code == invar::ErrorCode::syntax);
    CHECK(syntax.to_string() == "t.rollout.json:2:13: /stages/0: expected a JSON value");
    invar::Error repeated = error_of("{\"rollout\": \"r\", \"rollout\": \"s\", \"stages\": [{\"name\": \"a\"}]}");
    CHECK(repeated.code == invar::ErrorCode::syntax);
    invar::Error yaml = error_of("rollout: r\nstages:\n  - name: a\n    bak: 1m\n", "t.rollout.yaml");
    CHECK(yaml.code == invar::ErrorCode::contract);
    CHECK(yaml.to_string() == "t.rollout.yaml:4:10: /stages/0/bak: unknown key \"bak\" (did you mean \"bake\"?) "
                              "(expected name, bake, health)");
    invar::Error yaml_syntax = error_of("rollout: r\nstages: [\n", "t.rollout.yaml");
    CHECK(yaml_syntax.code == invar::ErrorCode::syntax);
    CHECK(yaml_syntax.where.line > 0);
  }
}

TEST_CASE("rollout files are read within their size limit", "[rollout-policy]") {
  std::string big = with_stage(R"({"name": "a", "health": [{"id": "e", "exec": ["./t", ")" +
                               std::string(invar::rollout::kMaxRolloutBytes, 'x') + "\"]}]}");
  invar::Error e = error_of(big);
  CHECK(e.code == invar::ErrorCode::limit);
  CHECK(e.to_string() == "t.rollout.json: rollout file is " + std::to_string(big.size()) +
                             " bytes, over the limit of 1048576 bytes");
  const std::string path = temp_path("big.rollout.json");
  std::ofstream(path) << big;
  auto loaded = invar::load_rollout(path);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == invar::ErrorCode::limit);
  CHECK(loaded.error().where.file == path);
  std::remove(path.c_str());
  auto missing = invar::load_rollout(path);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == invar::ErrorCode::io);
  CHECK(missing.error().to_string().find(path) != std::string::npos);
}

TEST_CASE("a rollout file's problems are reported at once, bounded", "[rollout-policy]") {
  invar::Error e = error_of("{\"rollout\": \"r\", \"timeot\": \"1m\",\n \"stages\": [{\"name\": \"a\", \"bake\": \"x\"},\n"
                            "  {\"name\": \"a\", \"health\": [{\"id\": \"e\", \"exec\": []}]}]}");
  std::vector<std::string> all = {e.to_string()};
  for (const auto& more : e.also) all.push_back(more.to_string());
  CHECK(all == std::vector<std::string>{
                   "t.rollout.json:1:28: /timeot: unknown key \"timeot\" (did you mean \"timeout\"?) (expected rollout, "
                   "unknown_limit, timeout, stages)",
                   "t.rollout.json:2:35: /stages/0/bake: \"bake\" must be a duration such as \"30s\", \"10m\" or "
                   "\"1h30m\", not \"x\"",
                   "t.rollout.json:3:48: /stages/1/health/0/exec: \"exec\" must be a command's arguments (no shell), "
                   "such as [\"./smoke-test\", \"--stage\", \"canary\"]",
                   "t.rollout.json:3:12: /stages/1/name: duplicate stage name \"a\" (also at /stages/0/name)"});
  std::string keys;
  for (int i = 0; i < 30; ++i) keys += "\"k" + std::to_string(i) + "\": 1, ";
  invar::Error bounded = error_of("{" + keys + R"("rollout": "r", "stages": [{"name": "a"}]})");
  CHECK(1 + bounded.also.size() == invar::rollout::kMaxLoadErrors);
}

TEST_CASE("a rollout policy's canonical form", "[rollout-policy]") {
  auto p = invar::parse_rollout(with_check(R"({"id": "e", "prometheus": {"url": "http://p", "query": "up", "min": 0}},
                                              {"id": "x", "exec": ["./t", "é"]})"),
                                "t.rollout.json");
  if (!p) FAIL(p.error().to_string());
  CHECK(p->source ==
        R"({"rollout":"r","stages":[{"bake_ms":0,"health":[{"id":"e","prometheus":{"for_ms":0,"max":null,"min":0.0,)"
        R"("query":"up","url":"http://p"}},{"exec":["./t","é"],"id":"x","timeout_ms":30000}],"name":"s"}],)"
        R"("timeout_ms":60000,"unknown_limit_ms":600000,"version":1})");
  CHECK(p->digest == invar::digest::sha256(p->source));

  auto back = invar::rollout::policy_from_source(p->source);
  if (!back) FAIL(back.error().to_string());
  CHECK(back->source == p->source);
  CHECK(back->digest == p->digest);
  CHECK(back->name == "r");
  REQUIRE(back->stages.size() == 1);
  REQUIRE(back->stages[0].health.size() == 2);
  CHECK(back->stages[0].health[0].min == 0.0);
  CHECK_FALSE(back->stages[0].health[0].max);
  CHECK(back->stages[0].health[1].argv == std::vector<std::string>{"./t", "é"});

  auto example = invar::load_rollout(test::source("examples/rollout/dns-plan.rollout.json"));
  REQUIRE(example);
  auto example_back = invar::rollout::policy_from_source(example->source);
  if (!example_back) FAIL(example_back.error().to_string());
  CHECK(example_back->digest == example->digest);
}

TEST_CASE("the same policy written otherwise has the same digest", "[rollout-policy]") {
  auto a = invar::parse_rollout(R"({"rollout": "r", "stages": [{"name": "a", "bake": "10m", "health": [
      {"id": "e", "prometheus": {"url": "http://p", "query": "up", "min": 0, "max": 0.5}}]}]})",
                                "a.rollout.json");
  auto b = invar::parse_rollout(R"({"stages": [{"health": [{"prometheus": {"max": 5e-1, "min": -0.0, "for": "0s",
      "query": "up", "url": "http://p"}, "id": "e"}], "bake": "600s", "name": "a"}],
      "timeout": "1m", "unknown_limit": "600000ms", "rollout": "r", "$schema": "x"})",
                                "b.rollout.json");
  auto c = invar::parse_rollout(R"({"rollout": "r", "stages": [{"name": "a", "bake": "11m", "health": [
      {"id": "e", "prometheus": {"url": "http://p", "query": "up", "min": 0, "max": 0.5}}]}]})",
                                "c.rollout.json");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(a->digest == b->digest);
  CHECK(a->source == b->source);
  CHECK(a->digest != c->digest);
}

TEST_CASE("a stored rollout policy is read back exactly or refused", "[rollout-policy]") {
  auto p = invar::parse_rollout(with_check(R"({"id": "x", "exec": ["./t"]})"), "t.rollout.json");
  REQUIRE(p);
  auto refused = [](const std::string& source) {
    auto back = invar::rollout::policy_from_source(source);
    INFO(source);
    REQUIRE_FALSE(back);
    CHECK(back.error().code == invar::ErrorCode::state);
    return back.error().message;
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = p->source;
    auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  CHECK(refused("") .find("stored rollout policy: ") == 0);
  CHECK(refused("[]") == "stored rollout policy: not a canonical policy of version 1 (written by another invar?)");
  CHECK(refused(replaced("\"version\":1", "\"version\":2")).find("version 1") != std::string::npos);
  CHECK(refused(p->source.substr(0, p->source.size() - 1)).find("stored rollout policy: ") == 0);
  // Well-formed, but not exactly as written: spaces, a default left out, a duration as text.
  CHECK(refused(replaced("\"bake_ms\":0,", "\"bake_ms\": 0,")) ==
        "stored rollout policy: not in its canonical form (changed since it was stored?)");
  CHECK(refused(replaced("\"bake_ms\":0,", "")) ==
        "stored rollout policy: not in its canonical form (changed since it was stored?)");
  CHECK(refused(replaced("\"bake_ms\":0,", "\"bake\":\"0s\",")) ==
        "stored rollout policy: not in its canonical form (changed since it was stored?)");
  // What a rollout file may not say is refused in a stored one too.
  CHECK(refused(replaced("\"bake_ms\":0,", "\"bake_ms\":999999999999,")) ==
        "stored rollout policy: /stages/0/bake: \"bake\" is 11574d1h46m39s, over the limit of 7d");
  CHECK(refused(replaced("\"bake_ms\":0,", "\"bake_ms\":0,\"extra\":1,")).find("unknown key \"extra\"") !=
        std::string::npos);
  CHECK(refused(replaced("\"name\":\"s\"", "\"name\":\"s t\"")).find("/stages/0/name") != std::string::npos);
  CHECK(refused(replaced("\"id\":\"x\",", "\"id\":\"x\",\"id\":\"y\",")).find("more than once") != std::string::npos);
}
