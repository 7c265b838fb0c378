// The bounded-memory path (engine/stream.hpp): check_file reading one array
// member in batches must give exactly the report of the whole-document path,
// accept or reject, for every artifact; and it must really stream what it can.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "helpers.hpp"
#include "process.hpp"
#include "report/render.hpp"

namespace {

const char* kDnsContract = R"({
  "contract": "dns-plan-stream",
  "artifact": { "format": "json", "schema": "../schemas/dns-plan.schema.json",
                "limits": { "max_depth": 16 } },
  "invariants": [
    { "id": "records.present", "count": "$.records[*]", "min": 1, "max": 100000 },
    { "id": "records.nonempty", "each": "$.records[*]", "count": "@.targets[*]", "min": 1 },
    { "id": "records.plans-exist", "refs": "$.records[*].plan", "in": "$.plans[*].id" },
    { "id": "records.unique-name", "unique": "$.records[*].name" },
    { "id": "records.type", "match": "$.records[*].type", "pattern": "^(A|AAAA|CNAME)$" },
    { "id": "plan.fresh", "freshness": "$.generated_at", "max_age": "10m", "max_skew": "30s" },
    { "id": "plan.generation-increases", "monotonic": "$.generation", "strict": true },
    { "id": "records.churn", "churn": "$.records[*].name", "max_removed": "30%" }
  ]
})";

std::string record(size_t i, const std::string& name_suffix = "") {
  return R"({"name":"r)" + std::to_string(i) + name_suffix + R"(.example.com","type":"A","ttl":60,"plan":"p)" +
         std::to_string(i % 3) + R"(","targets":["192.0.2.)" + std::to_string(i % 250) + R"("]})";
}

// A DNS plan with `n` records; `tweak` edits record i's text.
std::string plan(size_t n, const std::function<std::string(size_t, std::string)>& tweak = {}) {
  std::string out = R"({"endpoint":"api.example.com","generation":7,"generated_at":"2026-12-01T12:00:00Z",)"
                    R"("records":[)";
  for (size_t i = 0; i < n; ++i) {
    std::string r = record(i);
    if (tweak) r = tweak(i, r);
    out += (i ? ",\n  " : "\n  ") + r;
  }
  out += R"(
],"plans":[{"id":"p0"},{"id":"p1"},{"id":"p2"}]})";
  return out;
}

invar::Contract load(const char* text, uint64_t stream_min_bytes, uint64_t batch_bytes,
                     const std::function<void(invar::Options&)>& adjust = {}) {
  invar::Options options;
  options.stream_min_bytes = stream_min_bytes;
  options.stream_batch_bytes = batch_bytes;
  if (adjust) adjust(options);
  auto c = invar::Contract::load_string(text, test::source("rules"), "stream.contract.json", options);
  REQUIRE(c);
  return std::move(*c);
}

struct Both {
  std::string whole, streamed;  // the reports as JSON, without stats
  uint64_t batches = 0;         // what the streamed check read in batches (0: it judged the whole document)
  std::string verdict;
};

// Checks `artifact` with streaming forced (every size, `batch_bytes`) and off.
Both check_both(const std::string& artifact, uint64_t batch_bytes, const char* contract = kDnsContract,
                const std::function<void(invar::Options&)>& adjust = {}) {
  test::TempDir tmp;
  test::spit(tmp / "plan.json", artifact);
  invar::CheckContext ctx;
  ctx.now = invar::Time::parse("2026-12-01T12:05:00Z");
  ctx.collect_stats = true;
  auto run = [&](uint64_t min_bytes, uint64_t* batches) {
    auto report = load(contract, min_bytes, batch_bytes, adjust).check_file(tmp / "plan.json", ctx);
    REQUIRE(report);
    if (batches) *batches = report->stats->batches;
    report->stats.reset();
    report->artifact = "plan.json";
    return *report;
  };
  Both b;
  invar::Report whole = run(0, nullptr);
  invar::Report streamed = run(1, &b.batches);
  b.whole = invar::report_to_json(whole).dump();
  b.streamed = invar::report_to_json(streamed).dump();
  b.verdict = std::string(invar::to_string(whole.verdict));
  return b;
}

}  // namespace

TEST_CASE("stream: a valid plan is accepted batch by batch, with the whole document's report", "[stream]") {
  const std::string artifact = plan(300);
  for (uint64_t batch : {1, 100, 4096, 1 << 20}) {
    INFO("batch bytes " << batch);
    auto b = check_both(artifact, batch);
    CHECK(b.verdict == "accept");
    CHECK(b.streamed == b.whole);
    CHECK(b.batches >= 1);
    if (batch == 1) CHECK(b.batches == 300);
  }
}

TEST_CASE("stream: strings holding brackets, commas and escaped quotes do not split an element", "[stream]") {
  auto artifact = plan(40, [](size_t i, std::string r) {
    if (i % 5 != 0) return r;
    std::string name = "\"weird-" + std::to_string(i) + R"(\"],{[,\\\\\u005d.example.com")";
    r.replace(r.find("\"name\":") + 7, r.find(",\"type\"") - r.find("\"name\":") - 7, name);
    return r;
  });
  auto b = check_both(artifact, 64);
  // The names break the schema's hostname pattern: the same reject either way.
  CHECK(b.verdict == "reject");
  CHECK(b.streamed == b.whole);
  auto quiet = R"({"contract":"q","artifact":{"format":"json"},"invariants":[
      {"id":"u","unique":"$.records[*].name"},{"id":"n","count":"$.records[*]","min":40,"max":40}]})";
  auto q = check_both(artifact, 64, quiet);
  CHECK(q.verdict == "accept");
  CHECK(q.streamed == q.whole);
  CHECK(q.batches > 1);
}

TEST_CASE("stream: every violation gives the whole document's report", "[stream]") {
  struct Case {
    const char* what;
    std::string artifact;
  };
  std::vector<Case> cases = {
      {"a record without targets", plan(50, [](size_t i, std::string r) {
         return i == 37 ? r.replace(r.find("[\"192"), r.find("]}") - r.find("[\"192") + 1, "[]") : r;
       })},
      {"a repeated name", plan(50, [](size_t i, std::string r) { return i == 44 ? record(3) : r; })},
      {"a missing plan", plan(50, [](size_t i, std::string r) { return i == 20 ? r.replace(r.find("\"p2\""), 4, "\"p9\"") : r; })},
      {"a record breaking the schema", plan(50, [](size_t i, std::string r) { return i == 49 ? r.replace(r.find("60"), 2, "-1") : r; })},
      {"a type the match refuses", plan(50, [](size_t i, std::string r) { return i == 0 ? r.replace(r.find("\"A\""), 3, "\"MX\"") : r; })},
      {"no records", plan(0)},
      {"a stale plan", [] { std::string p = plan(20); return p.replace(p.find("12:00:00Z"), 9, "10:00:00Z"); }()},
      {"a skeleton breaking the schema", [] { std::string p = plan(20); return p.replace(p.find("\"generation\":7"), 14, "\"generation\":0"); }()},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto b = check_both(c.artifact, 200);
    CHECK(b.verdict == "reject");
    CHECK(b.streamed == b.whole);
    CHECK(b.batches == 0);
  }
}

TEST_CASE("stream: bytes the whole document refuses are refused the same way", "[stream]") {
  std::string good = plan(30);
  auto edit = [&](const std::string& from, const std::string& to, size_t nth = 0) {
    std::string s = good;
    size_t at = s.find(from);
    for (size_t k = 0; k < nth; ++k) at = s.find(from, at + 1);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  std::vector<std::pair<const char*, std::string>> cases = {
      {"a duplicate key in a record", edit("\"ttl\":60", "\"ttl\":60,\"ttl\":61", 17)},
      {"records twice", edit("\"plans\":", "\"records\":[],\"plans\":")},
      {"records twice, the second escaped", edit("\"plans\":", "\"rec\\u006frds\":[],\"plans\":")},
      {"a trailing comma in records", edit("\n],\"plans\"", ",\n],\"plans\"")},
      {"two commas", edit("},\n  {", "},,\n  {", 12)},
      {"a leading comma", edit("\"records\":[", "\"records\":[,")},
      {"a missing comma", edit("},\n  {", "}\n  {", 9)},
      {"a syntax error inside a record", edit("\"ttl\":60", "\"ttl\":6 0", 25)},
      {"an unterminated string", good.substr(0, good.size() / 2)},
      {"invalid UTF-8 in a record", edit("r11.example", "r11.ex\xC3\x28mple")},
      {"a record nested past max_depth", edit("\"ttl\":60", "\"ttl\":60,\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", 3)},
      {"records escaped only", edit("\"records\":", "\"rec\\u006frds\":")},
      {"records not an array", edit("\"records\":[", "\"records\":{\"a\":[") + "}"},
      {"trailing bytes", good + " x"},
      {"two roots", good + good},
      {"a root array", "[" + good + "]"},
      {"a byte order mark", "\xEF\xBB\xBF" + good},
      {"an empty file", ""},
      {"records empty", R"({"endpoint":"a.example.com","generation":7,"generated_at":"2026-12-01T12:00:00Z",)"
                        R"("records":[ ],"plans":[{"id":"p0"}]})"},
      {"a closing brace instead of a bracket", edit("\n],\"plans\"", "\n},\"plans\"")},
  };
  for (const auto& [what, artifact] : cases) {
    INFO(what);
    auto b = check_both(artifact, 300);
    CHECK(b.streamed == b.whole);
    if (b.verdict == "reject") CHECK(b.batches == 0);
  }
}

TEST_CASE("stream: judging threads share the batches and merge what they saw", "[stream]") {
  auto threads = [](invar::Options& o) { o.threads = 4; };
  const size_t n = 9000;  // over kParallelMinBytes: the check may use its threads
  auto good = check_both(plan(n), 2000, kDnsContract, threads);
  CHECK(good.verdict == "accept");
  CHECK(good.streamed == good.whole);
  CHECK(good.batches > 100);
  // The two records are batches apart: most likely judged on different threads.
  auto repeated = check_both(plan(n, [](size_t i, std::string r) { return i == n - 5 ? record(4) : r; }), 2000,
                             kDnsContract, threads);
  CHECK(repeated.verdict == "reject");
  CHECK(repeated.streamed == repeated.whole);
  CHECK(repeated.batches == 0);
  auto over = check_both(plan(n), 2000, kDnsContract, [](invar::Options& o) {
    o.threads = 4;
    o.limits.max_selector_matches = n - 1;
  });
  CHECK(over.verdict == "reject");
  CHECK(over.streamed == over.whole);
}

TEST_CASE("stream: limits count across batches as over the whole document", "[stream]") {
  const std::string artifact = plan(200);
  auto limit = [&](const char* what, const std::function<void(invar::Options&)>& adjust) {
    INFO(what);
    auto b = check_both(artifact, 500, kDnsContract, adjust);
    CHECK(b.streamed == b.whole);
    return b;
  };
  auto nodes = limit("max_nodes", [](invar::Options& o) { o.limits.max_nodes = 1000; });
  CHECK(nodes.verdict == "reject");
  auto matches = limit("max_selector_matches", [](invar::Options& o) { o.limits.max_selector_matches = 150; });
  CHECK(matches.verdict == "reject");
  auto steps = limit("max_eval_steps", [](invar::Options& o) { o.limits.max_eval_steps = 1000; });
  CHECK(steps.verdict == "reject");
  auto memory = limit("max_invariant_bytes", [](invar::Options& o) { o.limits.max_invariant_bytes = 9000; });
  CHECK(memory.verdict == "reject");
  auto depth = limit("max_schema_depth", [](invar::Options& o) { o.limits.max_schema_depth = 4; });
  CHECK(depth.verdict == "reject");
  auto roomy = limit("the defaults", {});
  CHECK(roomy.verdict == "accept");
  CHECK(roomy.batches > 1);
}

TEST_CASE("stream: contracts that look across elements are judged on the whole document", "[stream]") {
  const std::string artifact = plan(60);
  const char* indexed = R"({"contract":"i","artifact":{"format":"json"},"invariants":[
      {"id":"first","match":"$.records[0].name","pattern":"r0\\..*"},{"id":"u","unique":"$.records[*].name"}]})";
  const char* root_filter = R"({"contract":"f","artifact":{"format":"json"},"invariants":[
      {"id":"f","count":"$.records[?@.plan == $.plans[0].id]","min":1}]})";
  const char* whole_root = R"({"contract":"w","artifact":{"format":"json"},"invariants":[
      {"id":"all","count":"$.*","min":1}]})";
  for (const char* contract : {indexed, root_filter, whole_root}) {
    INFO(contract);
    auto b = check_both(artifact, 100, contract);
    CHECK(b.verdict == "accept");
    CHECK(b.streamed == b.whole);
    CHECK(b.batches == 0);
  }
  // A schema whose root constrains records beyond its items.
  const char* counted = R"({"contract":"s","artifact":{"format":"json"},"invariants":[
      {"id":"n","count":"$.records[*]","min":1},
      {"id":"s","schema":"$","inline":{"type":"object","properties":{"records":{"type":"array","maxItems":100}}}}]})";
  auto c = check_both(artifact, 100, counted);
  CHECK(c.streamed == c.whole);
}

TEST_CASE("stream: a plain schema splits on its one array member, bounds and all", "[stream]") {
  test::TempDir tmp;
  test::spit(tmp / "s.schema.json", R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
      "required":["items"],"properties":{"items":{"type":"array","minItems":3,"maxItems":600,
      "items":{"type":"integer","maximum":1000}}}})");
  auto numbers = [](int n, const char* extra) {
    std::string doc = "{\"items\":[";
    for (int i = 0; i < n; ++i) doc += (i ? "," : "") + std::to_string(i);
    return doc + extra + "]}";
  };
  test::spit(tmp / "good.json", numbers(500, ""));
  test::spit(tmp / "over-maximum.json", numbers(500, ",1001"));
  test::spit(tmp / "too-few.json", numbers(2, ""));
  test::spit(tmp / "too-many.json", numbers(601, ""));
  for (const char* file : {"good.json", "over-maximum.json", "too-few.json", "too-many.json"}) {
    INFO(file);
    invar::Options streaming, whole;
    streaming.stream_min_bytes = 1;
    streaming.stream_batch_bytes = 64;
    whole.stream_min_bytes = 0;
    invar::CheckContext ctx;
    ctx.collect_stats = true;
    auto s = invar::Contract::from_schema_file(tmp / "s.schema.json", streaming)->check_file(tmp / file, ctx);
    auto w = invar::Contract::from_schema_file(tmp / "s.schema.json", whole)->check_file(tmp / file, ctx);
    REQUIRE(s);
    REQUIRE(w);
    CHECK(w->verdict == (std::string(file) == "good.json" ? invar::Verdict::accept : invar::Verdict::reject));
    CHECK((s->stats->batches > 0) == (std::string(file) == "good.json"));
    s->stats.reset();
    w->stats.reset();
    CHECK(invar::report_to_json(*s).dump() == invar::report_to_json(*w).dump());
  }
}
