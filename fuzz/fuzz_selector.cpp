// (d) JSONPath selector strings, filters included: compiled, then evaluated
// on a fixed document, with each selected node's JSON Pointer rendered;
// count() must agree with select().
#include "fuzz.hpp"
#include "selector/jsonpath.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  static simdjson::dom::parser parser;
  static const std::string text =
      R"({"a": [1, {"b": "c", "d/e": [true, null]}, [[]]], "~x": {"y": {"z": 0}}, "": [-1], "records": [{"name": "n", "targets": ["t"]}],
          "n": [3, 5.5, -1, 9007199254740993, "5", "é", {"k": [1, {"k": 2}]}, {"k": [1, {"k": 2}]}, null, true]})";
  static simdjson::dom::element root = parser.parse(text).value();
  auto sel = invar::selector::Selector::compile(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!sel) {
    if (sel.error().message.empty()) __builtin_trap();  // a refusal always says why
    return 0;
  }
  invar::selector::Path path;
  size_t count = 0;
  sel->select(root, path, [&](simdjson::dom::element, const invar::selector::Path& p) {
    invar::selector::to_pointer(p);
    ++count;
  });
  if (sel->singular() && count > 1) __builtin_trap();
  if (!path.empty()) __builtin_trap();  // select() restores the path
  if (sel->count(root, path) != count) __builtin_trap();
  return 0;
}
