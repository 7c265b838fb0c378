#include "schema/document.hpp"

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

#include "artifact/yaml.hpp"
#include "common/dom.hpp"
#include "common/text.hpp"

namespace invar::schema {

using nlohmann::json;

namespace {

// The file's size is the caller's limit (Options::limits.max_contract_bytes);
// aliases may add at most a million values, as in an artifact.
artifact::ReadLimits yaml_limits() {
  artifact::ReadLimits limits;
  limits.max_bytes = UINT64_MAX;
  limits.max_depth = kMaxDocumentDepth;
  return limits;
}

artifact::YamlOptions yaml_options() {
  artifact::YamlOptions options;
  options.document = true;
  return options;
}

// nlohmann::json holds an integer past 64 bits as the double nearest it;
// one past the doubles as the largest (nlohmann refuses to parse it).
double nearest_double(const std::string& text) {
  const double d = std::strtod(text.c_str(), nullptr);
  return std::isinf(d) ? std::copysign(DBL_MAX, d) : d;
}

Error read_error(const artifact::ReadProblem& problem, const std::string& path) {
  static const std::set<std::string_view> kLimits = {"size", "depth", "nodes", "string", "aliases"};
  Error e;
  e.code = kLimits.count(problem.rule) ? ErrorCode::limit : ErrorCode::syntax;
  e.message = problem.message;
  e.where = {path, problem.pointer, problem.line, problem.column};
  return e;
}

// A value of a YAML document (its depth is bounded by kMaxDocumentDepth).
json from_element(simdjson::dom::element e, const std::vector<std::string>& big, std::string& pointer,
                  NumberTexts* numbers) {
  using Type = simdjson::dom::element_type;
  switch (e.type()) {
    case Type::ARRAY: {
      json out = json::array();
      uint64_t i = 0;
      for (auto item : sj::array_of(e)) {
        const size_t at = pointer.size();
        text::append_pointer_index(pointer, i++);
        out.push_back(from_element(item, big, pointer, numbers));
        pointer.resize(at);
      }
      return out;
    }
    case Type::OBJECT: {
      json out = json::object();
      for (auto field : sj::object_of(e)) {
        const size_t at = pointer.size();
        text::append_pointer_token(pointer, field.key);
        out[std::string(field.key)] = from_element(field.value, big, pointer, numbers);
        pointer.resize(at);
      }
      return out;
    }
    case Type::INT64: {  // as nlohmann's own parser: a non-negative integer is unsigned
      const int64_t x = e.get_int64().value_unsafe();
      return x >= 0 ? json(static_cast<uint64_t>(x)) : json(x);
    }
    case Type::UINT64: return e.get_uint64().value_unsafe();
    case Type::DOUBLE: {
      const double d = e.get_double().value_unsafe();
      if (!std::isnan(d)) return d;
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      const std::string& text = big.at(bits & artifact::kBigIntegerMask);  // see YamlOptions::document
      if (numbers) (*numbers)[pointer] = text;
      return nearest_double(text);
    }
    case Type::STRING: return std::string(sj::string_of(e));
    case Type::BOOL: return e.get_bool().value_unsafe();
    case Type::NULL_VALUE: break;
  }
  return nullptr;
}

Result<json> read_yaml(std::string_view bytes, const std::string& path, NumberTexts* numbers) {
  auto read = artifact::read_yaml(bytes, yaml_limits(), yaml_options());
  if (read.problem) return read_error(*read.problem, path);
  std::string pointer;
  return from_element(read.document->root, read.big_integers, pointer, numbers);
}

Result<json> read_json(std::string_view bytes, const std::string& path, NumberTexts* numbers) {
  std::vector<artifact::BigInteger> big;
  if (auto problem = artifact::locate_problem(bytes, kMaxDocumentDepth, /*duplicate_keys=*/true, &big))
    return read_error(*problem, path);
  // nlohmann refuses a number past the doubles: such an integer is parsed as
  // the largest double instead (its text is kept).
  std::string patched;
  size_t copied = 0;
  for (const auto& b : big) {
    if (!std::isinf(std::strtod(b.text.c_str(), nullptr))) continue;
    patched.append(bytes.substr(copied, b.offset - copied));
    patched += b.text[0] == '-' ? "-1.7976931348623157e308" : "1.7976931348623157e308";
    copied = b.offset + b.text.size();
  }
  if (copied) patched.append(bytes.substr(copied));
  json parsed = json::parse(copied ? std::string_view(patched) : bytes, nullptr, false);
  if (parsed.is_discarded()) {
    Error e;
    e.code = ErrorCode::syntax;
    e.message = "not valid JSON";
    e.where.file = path;
    return e;
  }
  if (numbers)
    for (auto& b : big) (*numbers)[b.pointer] = std::move(b.text);
  return parsed;
}

}  // namespace

bool is_yaml_path(std::string_view path) {
  auto ends_with = [&](std::string_view ext) {
    return path.size() > ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  return ends_with(".yaml") || ends_with(".yml");
}

Result<json> read_document(std::string_view bytes, const std::string& path, NumberTexts* numbers) {
  if (numbers) numbers->clear();
  return is_yaml_path(path) ? read_yaml(bytes, path, numbers) : read_json(bytes, path, numbers);
}

std::optional<artifact::Location> locate_in_document(std::string_view bytes, const std::string& path,
                                                     std::string_view pointer) {
  std::vector<std::string> chain;  // the pointer, then each value that holds it
  for (std::string at(pointer);;) {
    chain.push_back(at);
    if (at.empty()) break;
    at.erase(at.rfind('/'));
  }
  if (!is_yaml_path(path)) {
    for (const auto& at : chain)
      if (auto found = artifact::locate(bytes, at, kMaxDocumentDepth)) return found;
    return std::nullopt;
  }
  auto found = artifact::locate_all_yaml(bytes, yaml_limits(), yaml_options(), chain);
  for (const auto& at : chain)
    if (auto it = found.find(at); it != found.end()) return it->second;
  return std::nullopt;
}

NumberTexts numbers_under(const NumberTexts& numbers, std::string_view prefix) {
  NumberTexts out;
  for (auto it = numbers.lower_bound(std::string(prefix)); it != numbers.end(); ++it) {
    const std::string& at = it->first;
    if (at.compare(0, prefix.size(), prefix) != 0) break;
    if (at.size() == prefix.size() || at[prefix.size()] == '/') out.emplace(at.substr(prefix.size()), it->second);
  }
  return out;
}

}  // namespace invar::schema
