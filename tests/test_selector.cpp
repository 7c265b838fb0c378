#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "selector/jsonpath.hpp"

using invar::selector::Path;
using invar::selector::Selector;

namespace {
std::vector<std::string> pointers(const std::string& sel, const std::string& json) {
  auto s = Selector::compile(sel);
  REQUIRE(s);
  auto doc = test::parse(json);
  std::vector<std::string> out;
  Path path;
  s->select(doc.root, path, [&](simdjson::dom::element, const Path& p) { out.push_back(invar::selector::to_pointer(p)); });
  return out;
}
std::string error_of(const std::string& sel) {
  auto s = Selector::compile(sel);
  REQUIRE_FALSE(s);
  return s.error().message;
}
}  // namespace

TEST_CASE("selectors select nodes with their JSON Pointers", "[selector]") {
  std::string doc = R"({"features": [{"name": "a"}, {"name": "b"}, {"x": 1}], "m": {"k/1": 1, "k~2": 2}})";
  CHECK(pointers("$", doc) == std::vector<std::string>{""});
  CHECK(pointers("$.features[*].name", doc) == std::vector<std::string>{"/features/0/name", "/features/1/name"});
  CHECK(pointers("$.features[1]", doc) == std::vector<std::string>{"/features/1"});
  CHECK(pointers("$.features[-1]", doc) == std::vector<std::string>{"/features/2"});
  CHECK(pointers("$.features[7]", doc).empty());
  CHECK(pointers("$['m'].*", doc) == std::vector<std::string>{"/m/k~11", "/m/k~02"});
  CHECK(pointers("$[\"features\"][0]['name']", doc) == std::vector<std::string>{"/features/0/name"});
  CHECK(pointers("$.missing[*]", doc).empty());
}

TEST_CASE("relative selectors and singularity", "[selector]") {
  auto s = Selector::compile("@.targets[*]");
  REQUIRE(s);
  CHECK(s->relative());
  CHECK_FALSE(s->singular());
  CHECK(Selector::compile("$.a.b")->singular());
}

TEST_CASE("selectors outside the subset are refused with a column", "[selector]") {
  CHECK(error_of("$..name") == "selector \"$..name\" at column 2: descendant segment '..' is outside the supported subset");
  CHECK(error_of("$.a[?@.b]") == "selector \"$.a[?@.b]\" at column 5: filter expressions are outside the supported subset");
  CHECK(error_of("$.a[1:2]") == "selector \"$.a[1:2]\" at column 6: slices and unions are outside the supported subset");
  CHECK(error_of("$.a[1,2]") == "selector \"$.a[1,2]\" at column 6: slices and unions are outside the supported subset");
  CHECK(error_of("features") == "selector \"features\" at column 1: a selector starts with '$' (or '@' inside `each`)");
  CHECK(error_of("$.a['b") == "selector \"$.a['b\" at column 7: unterminated quoted name");
  CHECK(error_of("") == "selector \"\" at column 1: empty selector (use \"$\" for the root)");
  CHECK(error_of("$.") == "selector \"$.\" at column 3: expected a member name or '*' after '.'");
}
