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

TEST_CASE("count_at_most bounds count from the parents' sizes", "[selector]") {
  auto doc = test::parse(R"({"f": [{"name": "a"}, {"name": "b"}, {"x": 1}], "g": {"h": [1, 2]}})");
  auto counts = [&](const std::string& text) {
    auto s = Selector::compile(text);
    REQUIRE(s);
    Path path;
    return std::pair<uint64_t, uint64_t>{s->count(doc.root, path), s->count_at_most(doc.root, path)};
  };
  CHECK(counts("$.f[*].name") == std::pair<uint64_t, uint64_t>{2, 3});  // three records, two with a name
  CHECK(counts("$.f[*]") == std::pair<uint64_t, uint64_t>{3, 3});
  CHECK(counts("$.g.h[0]") == std::pair<uint64_t, uint64_t>{1, 1});   // no wildcard: at most the root
  CHECK(counts("$.f[?@.name]") == std::pair<uint64_t, uint64_t>{2, 2});  // a filter is counted
  CHECK(counts("$.missing[*].x") == std::pair<uint64_t, uint64_t>{0, 0});
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
  CHECK(error_of("$.a[1:2]") == "selector \"$.a[1:2]\" at column 6: slices and unions are outside the supported subset");
  CHECK(error_of("$.a[1,2]") == "selector \"$.a[1,2]\" at column 6: slices and unions are outside the supported subset");
  CHECK(error_of("features") == "selector \"features\" at column 1: a selector starts with '$' (or '@' inside `each`)");
  CHECK(error_of("$.a['b") == "selector \"$.a['b\" at column 7: unterminated quoted name");
  CHECK(error_of("") == "selector \"\" at column 1: empty selector (use \"$\" for the root)");
  CHECK(error_of("$.") == "selector \"$.\" at column 3: expected a member name or '*' after '.'");
}

// RFC 9535 section 2.3.5.3's filter examples, on its document, with its results.
TEST_CASE("filters: the RFC 9535 examples", "[selector][filter]") {
  const std::string doc = R"({"a": [3, 5, 1, 2, 4, 6, {"b": "j"}, {"b": "k"}, {"b": {}}, {"b": "kilo"}],
                              "o": {"p": 1, "q": 2, "r": 3, "s": 5, "t": {"u": 6}}, "e": "f"})";
  using V = std::vector<std::string>;
  CHECK(pointers("$.a[?@.b == 'kilo']", doc) == V{"/a/9"});
  CHECK(pointers("$.a[?(@.b == 'kilo')]", doc) == V{"/a/9"});
  CHECK(pointers("$.a[?@>3.5]", doc) == V{"/a/1", "/a/4", "/a/5"});
  CHECK(pointers("$.a[?@.b]", doc) == V{"/a/6", "/a/7", "/a/8", "/a/9"});
  CHECK(pointers("$[?@.*]", doc) == V{"/a", "/o"});
  CHECK(pointers("$[?@[?@.b]]", doc) == V{"/a"});
  CHECK(pointers("$.a[?@<2 || @.b == \"k\"]", doc) == V{"/a/2", "/a/7"});
  CHECK(pointers("$.a[?match(@.b, \"[jk]\")]", doc) == V{"/a/6", "/a/7"});
  CHECK(pointers("$.a[?search(@.b, \"[jk]\")]", doc) == V{"/a/6", "/a/7", "/a/9"});
  CHECK(pointers("$.o[?@>1 && @<4]", doc) == V{"/o/q", "/o/r"});
  CHECK(pointers("$.o[?@.u || @.x]", doc) == V{"/o/t"});
  CHECK(pointers("$.a[?@.b == $.x]", doc) == V{"/a/0", "/a/1", "/a/2", "/a/3", "/a/4", "/a/5"});
  CHECK(pointers("$.a[?@ == @]", doc).size() == 10);
  // Segments after a filter, and not.
  CHECK(pointers("$.a[?@.b].b", doc) == V{"/a/6/b", "/a/7/b", "/a/8/b", "/a/9/b"});
  CHECK(pointers("$.a[?!@.b]", doc) == V{"/a/0", "/a/1", "/a/2", "/a/3", "/a/4", "/a/5"});
}

// RFC 9535 section 2.3.5.3's comparison table: each expression, true or false.
TEST_CASE("filters: the RFC 9535 comparison table", "[selector][filter]") {
  const std::string doc = R"({"obj": {"x": "y"}, "arr": [2, 3], "k": [0]})";
  const std::pair<const char*, bool> table[] = {
      {"$.absent1 == $.absent2", true}, {"$.absent1 <= $.absent2", true}, {"$.absent == 'g'", false},
      {"$.absent1 != $.absent2", false}, {"$.absent != 'g'", true},      {"1 <= 2", true},
      {"1 > 2", false},                  {"13 == '13'", false},          {"'a' <= 'b'", true},
      {"'a' > 'b'", false},              {"$.obj == $.arr", false},      {"$.obj != $.arr", true},
      {"$.obj == $.obj", true},          {"$.obj != $.obj", false},      {"$.arr == $.arr", true},
      {"$.arr != $.arr", false},         {"$.obj == 17", false},         {"$.obj != 17", true},
      {"$.obj <= $.arr", false},         {"$.obj < $.arr", false},       {"$.obj <= $.obj", true},
      {"$.arr <= $.arr", true},          {"1 <= $.arr", false},          {"1 >= $.arr", false},
      {"1 > $.arr", false},              {"1 < $.arr", false},           {"true <= true", true},
      {"true > true", false}};
  for (const auto& [expression, holds] : table) {
    INFO(expression);
    CHECK(pointers(std::string("$.k[?") + expression + "]", doc).size() == (holds ? 1u : 0u));
  }
}

// A compliance table of our own: functions, literals, precedence, deep equality.
TEST_CASE("filters: functions, literals and precedence", "[selector][filter]") {
  const std::string doc = R"({"r": [
      {"host": "api.example.com", "weight": 10, "tags": ["a", "b"], "meta": {"x": [1, {"y": 2}]}},
      {"host": "www.example.com", "weight": 0, "tags": [], "meta": {"x": [1, {"y": 3}]}},
      {"host": "é.example", "weight": -2.5, "tags": ["a"], "meta": null},
      {"host": "big", "weight": 9007199254740993}]})";
  using V = std::vector<std::string>;
  CHECK(pointers("$.r[?@.weight > 0]", doc) == V{"/r/0", "/r/3"});
  CHECK(pointers("$.r[?@.weight >= -2.5 && @.weight < 1]", doc) == V{"/r/1", "/r/2"});
  CHECK(pointers("$.r[?length(@.tags) == 1]", doc) == V{"/r/2"});
  CHECK(pointers("$.r[?length(@.host) == 9]", doc) == V{"/r/2"});  // code points, not bytes
  CHECK(pointers("$.r[?count(@.tags[*]) >= 1]", doc) == V{"/r/0", "/r/2"});
  CHECK(pointers("$.r[?value(@.tags[0]) == 'a']", doc) == V{"/r/0", "/r/2"});
  CHECK(pointers("$.r[?@.meta.x == $.r[0].meta.x]", doc) == V{"/r/0"});  // deep equality
  CHECK(pointers("$.r[?@.meta == null]", doc) == V{"/r/2"});
  CHECK(pointers("$.r[?@.weight == 9007199254740993]", doc) == V{"/r/3"});  // exact integers
  CHECK(pointers("$.r[?@.weight == 9007199254740992]", doc).empty());
  CHECK(pointers("$.r[?!(@.weight > 0) || @.host == 'big']", doc) == V{"/r/1", "/r/2", "/r/3"});
  CHECK(pointers("$.r[?@.weight > 0 || @.weight < 0 && @.host == 'x']", doc) == V{"/r/0", "/r/3"});  // && binds tighter
  CHECK(pointers("$.r[?search(@.host, '^www\\\\.')]", doc) == V{"/r/1"});
  CHECK(pointers("$.r[?@.host == '\\u00e9.example']", doc) == V{"/r/2"});
  CHECK(pointers("$.r[?@.tags[?@ == 'b']]", doc) == V{"/r/0"});
}

TEST_CASE("filters: ill-typed and out-of-bounds expressions are refused with a column", "[selector][filter]") {
  // RFC 9535 section 2.4.9's well-typedness examples.
  CHECK(Selector::compile("$[?length(@) < 3]"));
  CHECK(error_of("$[?length(@.*) < 3]") ==
        "selector \"$[?length(@.*) < 3]\" at column 4: length() takes a value: a literal, a singular query or a function");
  CHECK(Selector::compile("$[?count(@.*) == 1]"));
  CHECK(error_of("$[?count(1) == 1]") == "selector \"$[?count(1) == 1]\" at column 10: count() takes a query");
  CHECK(error_of("$[?count(foo(@.*)) == 1]") == "selector \"$[?count(foo(@.*)) == 1]\" at column 10: count() takes a query");
  CHECK(Selector::compile("$[?match(@.timezone, 'Europe/.*')]"));
  CHECK(error_of("$[?match(@.timezone, 'Europe/.*') == true]") ==
        "selector \"$[?match(@.timezone, 'Europe/.*') == true]\" at column 4: match() and search() are tests and cannot be compared");
  CHECK(error_of("$[?value(@.a)]") == "selector \"$[?value(@.a)]\" at column 4: a value alone is not a test: compare it (==, !=, <, <=, >, >=)");
  CHECK(error_of("$[?@.* == 1]") ==
        "selector \"$[?@.* == 1]\" at column 4: only a singular query (names and indexes, no wildcard or filter) can be compared");
  CHECK(error_of("$[?lenght(@) == 1]") ==
        "selector \"$[?lenght(@) == 1]\" at column 4: unknown function \"lenght\" (did you mean \"length\"?) (functions: length, count, value, match, search)");
  CHECK(error_of("$[?match(@.a, @.b)]") ==
        "selector \"$[?match(@.a, @.b)]\" at column 15: match()'s pattern must be a string literal (it is compiled once, with RE2)");
  CHECK(error_of("$[?match(@.a, '(a')]") ==
        "selector \"$[?match(@.a, '(a')]\" at column 15: pattern does not compile under RE2: missing ): (a");
  CHECK(error_of("$[?@.a == 01]") == "selector \"$[?@.a == 01]\" at column 11: leading zero in a number");
  CHECK(error_of("$[?@.a == 'x]") == "selector \"$[?@.a == 'x]\" at column 11: unterminated string literal");
  CHECK(error_of("$[?@.a == 1") == "selector \"$[?@.a == 1\" at column 12: expected ']'");
  CHECK(error_of("$[?$[*].a]") ==
        "selector \"$[?$[*].a]\" at column 4: a '$' query inside a filter must be singular (names and indexes): "
        "evaluating it per node would walk the whole document for each node");
  CHECK(error_of("@.a[?$.b]") == "selector \"@.a[?$.b]\" at column 6: inside a relative selector, a filter's queries start with '@'");
  // Nesting: parentheses and filters, each under a named bound; never a crash.
  std::string deep_parens = "$[?" + std::string(1000, '(') + "@.a" + std::string(1000, ')') + "]";
  CHECK(error_of(deep_parens).find("expression nested more than 64 deep") != std::string::npos);
  std::string deep_filters = "$";
  for (int i = 0; i < 1000; ++i) deep_filters += "[?@";
  deep_filters += std::string(1000, ']');
  CHECK(error_of(deep_filters).find("filters nested more than 8 deep") != std::string::npos);
  std::string deep_not = "$[?" + std::string(1000, '!') + "@.a]";
  CHECK(error_of(deep_not).find("expression nested more than 64 deep") != std::string::npos);
}
