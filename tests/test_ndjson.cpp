// NDJSON artifacts (artifact/ndjson.hpp): one JSON value per line, read as
// the array of its records, every problem and violation located by line.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "helpers.hpp"
#include "process.hpp"
#include "report/render.hpp"

namespace {

const char* kContract = R"({"contract": "events", "artifact": {"format": "ndjson"}, "invariants": [
  {"id": "ids", "unique": "$[*].id"},
  {"id": "n", "schema": "$[*]", "inline": {"type": "object", "required": ["id"], "properties": {"n": {"type": "integer"}}}},
  {"id": "some", "count": "$[*]", "min": 1}]})";

invar::Report check(const std::string& bytes, const char* contract = kContract) {
  auto c = test::contract(contract);
  REQUIRE(c);
  return c->check(bytes);
}

// `r` with its first `from` replaced by `to`.
std::string edited(std::string r, const std::string& from, const std::string& to) {
  size_t at = r.find(from);
  return at == std::string::npos ? r : r.replace(at, from.size(), to);
}

std::string first_of(const invar::Violation& v) {
  return v.invariant + " " + std::to_string(v.line) + ":" + std::to_string(v.column) + " " + v.pointer + " " + v.message;
}

std::string first(const invar::Report& r) {
  REQUIRE(!r.violations.empty());
  return first_of(r.violations.front());
}

}  // namespace

TEST_CASE("ndjson: one record a line, with blank lines, CRLF, a final newline and a BOM", "[ndjson]") {
  auto r = check("\xEF\xBB\xBF{\"id\": \"a\", \"n\": 1}\r\n\n   \n{\"id\": \"b\"}\r\n[\"not\", \"an\", \"object\"]\n");
  CHECK(r.verdict == invar::Verdict::reject);  // the third record is not an object
  CHECK(first(r) == "n 5:1 /2 expected object, got array of 3");
  auto good = check("{\"id\": \"a\", \"n\": 1}\r\n\n{\"id\": \"b\"}");
  CHECK(good.verdict == invar::Verdict::accept);
  CHECK(good.violations.empty());
}

TEST_CASE("ndjson: violations are located at the record's line and column", "[ndjson]") {
  auto r = check("{\"id\": \"a\"}\n{\"id\": \"b\", \"n\": 2}\n\n{\"id\": \"a\", \"n\": \"x\"}\n");
  REQUIRE(r.violations.size() == 2);
  CHECK(first(r) == "ids 4:8 /2/id \"a\" appears 2 times (/0/id, /2/id)");
  const auto& schema = r.violations[1];
  CHECK(schema.invariant == "n");
  CHECK(schema.pointer == "/2/n");
  CHECK(schema.line == 4);
  CHECK(schema.column == 18);
  CHECK(first(check("")) == "some 1:1  count of $[*] is 0, below min 1");  // no records: $ is []
}

TEST_CASE("ndjson: what is not one strict value per line is refused with its line", "[ndjson]") {
  CHECK(first(check("{\"id\": \"a\"}\n{\"id\": \"b\"} {\"id\": \"c\"}\n")) ==
        "artifact.syntax 2:13 /1 line 2: more than one value on this line (NDJSON: one JSON value per line)");
  CHECK(first(check("{\"id\": \"a\"}, {\"id\": \"b\"}\n")) ==
        "artifact.syntax 1:12 /0 line 1: more than one value on this line (NDJSON: one JSON value per line)");
  CHECK(first(check("{\"id\": \"a\"}\n{\"id\":\n \"b\"}\n")) ==
        "artifact.syntax 2:7 /1 line 2: the value does not end on its line (NDJSON: one JSON value per line)");
  CHECK(first(check("{\"id\": \"a\"}\n{\"id\": \"b\", \"id\": \"c\"}\n")).rfind("artifact.duplicate-key 2:1 /1 ", 0) == 0);
  auto syntax = check("{\"id\": \"a\"}\n\n{\"id\": tru}\n");
  CHECK(syntax.violations.front().invariant == "artifact.syntax");
  CHECK(syntax.violations.front().line == 3);
  CHECK(syntax.violations.front().expected == "one strict JSON value per line");
  CHECK(check("{\"id\": \"a\xff\"}\n").violations.front().invariant == "artifact.utf8");
}

TEST_CASE("ndjson: a bad line in the middle is refused at its line, and the other records are still checked", "[ndjson]") {
  auto r = check("{\"id\": \"a\", \"n\": 1}\n{\"id\": \"b\", \"n\": tru}\n{\"id\": \"c\", \"n\": \"x\"}\n{\"id\": \"a\"}\n");
  CHECK(r.verdict == invar::Verdict::reject);
  std::vector<std::string> got;
  for (const auto& v : r.violations) got.push_back(first_of(v));
  CHECK(got == std::vector<std::string>{
      "artifact.syntax 2:18 /1 line 2: expected a JSON value",
      "ids 4:8 /3/id \"a\" appears 2 times (/0/id, /3/id)",
      "n 3:18 /2/n expected integer, got string \"x\""});
  // The bad line's null is not reported by the schema (it requires an object), and counts as a record.
  const char* counted = R"({"contract": "c", "artifact": {"format": "ndjson"}, "invariants": [
    {"id": "three", "count": "$[*]", "min": 3, "max": 3}]})";
  auto three = check("{}\n{\n{}\n", counted);
  REQUIRE(three.violations.size() == 1);
  CHECK(first_of(three.violations[0]).rfind("artifact.syntax 2:", 0) == 0);
  // Past 16 bad lines the file is refused whole, at the first.
  std::string many;
  for (int i = 0; i < 20; ++i) many += "{\"id\": " + std::to_string(i) + "}\n{\n";
  auto refused = check(many);
  REQUIRE(refused.violations.size() == 1);
  CHECK(first_of(refused.violations[0]).rfind("artifact.syntax 2:", 0) == 0);
  for (const auto& inv : refused.invariants) CHECK(inv.outcome == invar::Outcome::skipped);
}

TEST_CASE("ndjson: the format comes from the call, the contract, or the file's extension", "[ndjson]") {
  test::TempDir tmp;
  const std::string records = "{\"id\": \"a\"}\n{\"id\": \"b\"}\n";
  test::spit(tmp / "e.jsonl", records);
  test::spit(tmp / "e.json", records);
  const char* plain = R"({"contract": "p", "invariants": [{"id": "two", "count": "$[*]", "min": 2, "max": 2}]})";
  auto c = test::contract(plain);
  REQUIRE(c);
  CHECK(c->check_file(tmp / "e.jsonl")->verdict == invar::Verdict::accept);  // by extension
  auto as_json = c->check_file(tmp / "e.json");
  CHECK(as_json->violations.front().invariant == "artifact.syntax");  // two documents in one JSON file
  invar::CheckContext ctx;
  ctx.format = invar::ArtifactFormat::ndjson;
  CHECK(c->check_file(tmp / "e.json", ctx)->verdict == invar::Verdict::accept);
  CHECK(c->check(records, ctx).verdict == invar::Verdict::accept);
  // The CLI: --input-format, and the contract's word over the extension.
  auto cli = test::invar({"check", "--quiet", "--input-format", "ndjson", "--contract", test::source("rules/dns-plan.contract.json"),
                          tmp / "e.json"});
  CHECK(cli.exit == 1);
  auto bad = test::invar({"check", "--input-format", "toml", "--contract", test::source("rules/dns-plan.contract.json"),
                          tmp / "e.json"});
  CHECK(bad.exit != 0);
  CHECK(bad.exit != 1);
  auto toml = test::contract(R"({"contract": "t", "artifact": {"format": "toml"}, "invariants": []})");
  REQUIRE(!toml);
  CHECK(toml.error().message == "unsupported format \"toml\" (supported: \"json\", \"ndjson\", \"yaml\")");
}

TEST_CASE("ndjson: the gate publishes the bytes as they came and compares them with the LKG", "[ndjson]") {
  test::TempDir tmp;
  test::spit(tmp / "c.json", R"({"contract": "g", "artifact": {"format": "ndjson"}, "invariants": [
      {"id": "ids", "unique": "$[*].id"},
      {"id": "churn", "churn": "$[*].id", "max_removed": "50%", "min_existing": 1}]})");
  const std::string first_bytes = "{\"id\": \"a\"}\r\n\n{\"id\": \"b\"}\n";
  test::spit(tmp / "1.ndjson", first_bytes);
  test::spit(tmp / "2.ndjson", "{\"id\": \"c\"}\n");
  auto gate = [&](const std::string& file, bool create) {
    std::vector<std::string> args = {"gate", "--contract", tmp / "c.json", "--stream", "s", "--state", tmp / "state",
                                     "--out", tmp / "out.ndjson", tmp / file};
    if (create) args.insert(args.begin() + 1, "--create");
    return test::invar(args);
  };
  auto accepted = gate("1.ndjson", true);
  INFO(accepted.out);
  CHECK(accepted.exit == 0);
  CHECK(test::slurp(tmp / "out.ndjson") == first_bytes);
  auto pinned = gate("2.ndjson", false);
  INFO(pinned.out);
  CHECK(pinned.exit == 2);
  CHECK(pinned.out.find("2 of the baseline's 2 keys at $[*].id were removed") != std::string::npos);
  CHECK(pinned.out.find("removed: \"a\", \"b\"") != std::string::npos);
  CHECK(test::slurp(tmp / "out.ndjson") == first_bytes);
}

TEST_CASE("ndjson: read in batches, with the whole file's report", "[ndjson][stream]") {
  const char* contract = R"({"contract": "events", "artifact": {"format": "ndjson"}, "invariants": [
    {"id": "ids", "unique": "$[*].id"},
    {"id": "shape", "schema": "$", "inline": {"type": "array", "minItems": 1,
                                             "items": {"type": "object", "required": ["id"]}}},
    {"id": "kinds", "match": "$[*].kind", "pattern": "a|b"},
    {"id": "tags", "each": "$[*]", "count": "@.tags[*]", "max": 3},
    {"id": "some", "count": "$[*]", "min": 1}]})";
  auto records = [](int n, const std::function<std::string(int, std::string)>& tweak) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      std::string r = "{\"id\": " + std::to_string(i) + ", \"kind\": \"" + (i % 2 ? "a" : "b") +
                      "\", \"tags\": [\"x\", \"]\\\"[,\"]}";
      out += (tweak ? tweak(i, r) : r) + (i % 7 == 0 ? "\r\n\n" : "\n");
    }
    return out;
  };
  struct Case {
    const char* what;
    std::string bytes;
    bool accept;
  };
  std::vector<Case> cases = {
      {"valid", records(300, {}), true},
      {"a repeated id", records(300, [](int i, std::string r) { return i == 250 ? edited(r, "250", "5") : r; }), false},
      {"a record without an id", records(300, [](int i, std::string r) { return i == 120 ? std::string("{\"kind\": \"a\"}") : r; }), false},
      {"too many tags", records(300, [](int i, std::string r) { return i == 299 ? edited(r, "\"x\"", "1,2,3") : r; }), false},
      {"two values on a line", records(300, [](int i, std::string r) { return i == 77 ? r + " {}" : r; }), false},
      {"a value over two lines", records(300, [](int i, std::string r) { return i == 3 ? edited(r, ",", ",\n") : r; }), false},
      {"a syntax error", records(300, [](int i, std::string r) { return i == 200 ? edited(r, "{", "[") : r; }), false},
      {"no records", "\n\n", false},
  };
  test::TempDir tmp;
  for (const auto& c : cases) {
    INFO(c.what);
    test::spit(tmp / "e.ndjson", c.bytes);
    for (uint64_t batch : {1, 200, 1 << 20}) {
      invar::Options streaming, whole;
      streaming.stream_min_bytes = 1;
      streaming.stream_batch_bytes = batch;
      streaming.threads = batch == 200 ? 3 : 1;
      whole.stream_min_bytes = 0;
      invar::CheckContext ctx;
      ctx.collect_stats = true;
      auto s = invar::Contract::load_string(contract, ".", "e.json", streaming)->check_file(tmp / "e.ndjson", ctx);
      auto w = invar::Contract::load_string(contract, ".", "e.json", whole)->check_file(tmp / "e.ndjson", ctx);
      REQUIRE(s);
      REQUIRE(w);
      CHECK((w->verdict == invar::Verdict::accept) == c.accept);
      CHECK((s->stats->batches > 0) == c.accept);
      s->stats.reset();
      w->stats.reset();
      CHECK(invar::report_to_json(*s).dump() == invar::report_to_json(*w).dump());
    }
  }
}
