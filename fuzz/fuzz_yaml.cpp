// (i) YAML artifact bytes through the YAML reader (artifact/yaml.hpp), with
// its options and limits drawn from the input, then through Contract::check
// with each bundled contract read as YAML and every report format.
// Input: [options][limits][contract] yaml. The same bytes are also read as
// a contract or schema document (schema/document.hpp: integers past 64 bits).
// Checked: no crash or leak; a refusal is located inside the input; what is
// read is a valid simdjson tape (the element walk, the tape scan and a
// re-parse of its minified text all agree); every value it locates is inside.
#include <algorithm>

#include "artifact/yaml.hpp"
#include "common/json_pointer.hpp"
#include "schema/document.hpp"
#include "fuzz.hpp"
#include "invar/invar.hpp"
#include "invar/report.hpp"

namespace {

const std::vector<invar::Contract>& contracts() {
  static const std::vector<invar::Contract> all = [] {
    std::vector<invar::Contract> out;
    for (const auto& path : fuzz::bundled_contracts()) {
      auto c = invar::Contract::load_file(path);
      if (!c) __builtin_trap();
      out.push_back(std::move(c.value()));
    }
    return out;
  }();
  return all;
}

// Up to `max` pointers of values in `e`, depth first.
void pointers(simdjson::dom::element e, const std::string& at, std::vector<std::string>& out, size_t max) {
  if (out.size() >= max) return;
  out.push_back(at);
  simdjson::dom::array array;
  simdjson::dom::object object;
  if (e.get_array().get(array) == simdjson::SUCCESS) {
    size_t i = 0;
    for (auto child : array) pointers(child, at + "/" + std::to_string(i++), out, max);
  } else if (e.get_object().get(object) == simdjson::SUCCESS) {
    for (auto field : object) {
      std::string key;
      for (char c : field.key) key += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
      pointers(field.value, at + "/" + key, out, max);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  fuzz::Input in(data, size);
  const uint8_t flags = in.byte(), limit_bits = in.byte(), pick = in.byte();
  const std::string_view yaml = in.rest();
  invar::artifact::YamlOptions options;
  options.many_documents = flags & 1;
  options.merge_keys = flags & 2;
  options.consumer_yaml11 = flags & 4;
  options.max_alias_nodes = flags & 8 ? 64 : 100'000;
  options.allow_infinity = flags & 64;
  options.keys_as_text = flags & 32;
  options.untagged = flags & 128;
  options.empty_as_null = pick & 128;
  invar::artifact::ReadLimits limits;
  limits.allow_duplicate_keys = flags & 16;
  limits.max_depth = 1 + (limit_bits & 63);
  limits.max_nodes = limit_bits & 64 ? 50 : 1'000'000;
  limits.max_string_bytes = limit_bits & 128 ? 8 : 1 << 20;

  uint64_t lines = 1;  // YAML's line breaks: LF, CRLF, and a CR alone
  for (size_t i = 0; i < yaml.size(); ++i)
    lines += yaml[i] == '\n' || (yaml[i] == '\r' && (i + 1 == yaml.size() || yaml[i + 1] != '\n'));
  auto read = invar::artifact::read_yaml(yaml, limits, options);
  if (read.problem) {
    if (read.problem->rule.empty() || read.problem->line > lines + 1) __builtin_trap();
  } else {
    auto root = read.document->root;
    uint64_t walked = 0, scanned = 0;
    auto problem = invar::artifact::scan_elements(root, limits, &walked);
    if (problem && problem->rule != "duplicate-key") __builtin_trap();  // the reader checked these limits
    read.document->read_strictly = false;  // so that scan() walks the tape the reader wrote
    if (!problem && (invar::artifact::scan(*read.document, limits, &scanned) || scanned != walked)) __builtin_trap();
    const std::string text = simdjson::minify(root);
    simdjson::dom::parser again;
    auto reparsed = again.parse(text);
    // (an infinity has no JSON text: then the minified text does not parse)
    if (!options.allow_infinity && (reparsed.error() || simdjson::minify(reparsed.value_unsafe()) != text))
      __builtin_trap();
    std::vector<std::string> wanted;
    pointers(root, "", wanted, 32);
    for (const auto& [pointer, where] : invar::artifact::locate_all_yaml(yaml, limits, options, wanted))
      if (where.line > lines + 1) __builtin_trap();
    for (const auto& a : read.ambiguous)
      if (a.where.line > lines || a.yaml11 == a.yaml12) __builtin_trap();
  }

  // As a document: every number it says is past 64 bits is a number there.
  invar::schema::NumberTexts numbers;
  if (auto doc = invar::schema::read_document(yaml, "fuzz.yaml", &numbers))
    for (const auto& [pointer, text] : numbers) {
      const auto* at = invar::json_at_pointer(*doc, pointer);
      if (!at || !at->is_number_float() || text.empty()) __builtin_trap();
    }
  else if (numbers.size())
    __builtin_trap();

  const auto& all = contracts();
  invar::CheckContext ctx;
  ctx.format = invar::ArtifactFormat::yaml;
  ctx.now = invar::parse_time("2025-10-20T06:45:00Z");
  invar::Report report = all[(pick & 127) % all.size()].check(yaml, ctx);
  for (const auto& v : report.violations)
    if (v.line > lines + 1) __builtin_trap();
  for (const auto& format : invar::report_formats()) format.render({report}, {});
  return 0;
}
