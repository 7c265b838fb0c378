// Rollout files: JSON or YAML text -> a validated RolloutPolicy. As a
// contract's load: every problem is a located Error (file, JSON Pointer,
// line/column), all of them at once, unknown keys with the key meant.
#include "rollout/policy.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "artifact/reader.hpp"
#include "artifact/yaml.hpp"
#include "common/dom.hpp"
#include "common/digest.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "engine/plan.hpp"  // contract::parse_json: the contract loader's JSON reading
#include "schema/schema.hpp"

namespace invar {
namespace rollout {
namespace {

using nlohmann::json;

// YAML nesting and values: a rollout file needs depth 7 and a few thousand values.
constexpr uint32_t kMaxYamlDepth = 32;
constexpr uint64_t kMaxYamlNodes = 200'000;

artifact::ReadLimits yaml_limits() {
  artifact::ReadLimits limits;
  limits.max_bytes = kMaxRolloutBytes;
  limits.max_depth = kMaxYamlDepth;
  limits.max_nodes = kMaxYamlNodes;
  limits.max_string_bytes = kMaxRolloutBytes;
  return limits;
}

artifact::YamlOptions yaml_options() {
  artifact::YamlOptions options;
  options.max_alias_nodes = kMaxYamlNodes;
  return options;
}

// YAML by the name's extension; else JSON when the text starts with '{'.
bool reads_as_yaml(std::string_view text, const std::string& name) {
  auto ends_with = [&](std::string_view ext) {
    return name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends_with(".yaml") || ends_with(".yml")) return true;
  if (ends_with(".json")) return false;
  size_t i = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  return i == text.size() || text[i] != '{';
}

// A value of a YAML document read within yaml_limits() (its depth bounds the recursion).
json from_element(simdjson::dom::element e) {
  using Type = simdjson::dom::element_type;
  switch (e.type()) {
    case Type::ARRAY: {
      json out = json::array();
      for (auto item : sj::array_of(e)) out.push_back(from_element(item));
      return out;
    }
    case Type::OBJECT: {
      json out = json::object();
      for (auto field : sj::object_of(e)) out[std::string(field.key)] = from_element(field.value);
      return out;
    }
    case Type::INT64: return e.get_int64().value_unsafe();
    case Type::UINT64: return e.get_uint64().value_unsafe();
    case Type::DOUBLE: return e.get_double().value_unsafe();
    case Type::STRING: return std::string(sj::string_of(e));
    case Type::BOOL: return e.get_bool().value_unsafe();
    case Type::NULL_VALUE: break;
  }
  return nullptr;
}

Result<json> read_document(std::string_view text, const std::string& file, bool yaml) {
  if (!yaml) return contract::parse_json(text, file);
  auto read = artifact::read_yaml(text, yaml_limits(), yaml_options());
  if (read.problem) {
    static const std::set<std::string_view> kLimits = {"size", "depth", "nodes", "string", "aliases"};
    Error e;
    e.code = kLimits.count(read.problem->rule) ? ErrorCode::limit : ErrorCode::syntax;
    e.message = read.problem->message;
    e.where = {file, read.problem->pointer, read.problem->line, read.problem->column};
    return e;
  }
  return from_element(read.document->root);
}

std::string pointer_to(const std::string& at, std::string_view key) {
  std::string out = at;
  text::append_pointer_token(out, key);
  return out;
}

// A value as a message shows it: a string quoted (escaped, cut), else its JSON.
std::string shown(const json& v) {
  if (v.is_string()) return text::quoted(v.get_ref<const std::string&>());
  std::string out = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return out.size() > 80 ? out.substr(0, 80) + "..." : out;
}

// 1 to `max` of [A-Za-z0-9._-], not "." or ".." (names may become keys and file names).
bool is_name(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max || s == "." || s == "..") return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

// Reads a rollout document (the JSON data model of a JSON or YAML file), noting
// every problem: the policy, or the first error carrying the others in `also`
// (located by JSON Pointer only: locate() adds lines and columns).
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Result<RolloutPolicy> read(const json& doc) {
    RolloutPolicy policy;
    if (!doc.is_object())
      return error("", "a rollout file is an object such as {\"rollout\": \"web\", \"stages\": [{\"name\": \"canary\"}]}");
    unknown_keys(doc, "", {"$schema", "rollout", "unknown_limit", "timeout", "stages"});
    if (auto s = doc.find("$schema"); s != doc.end() && !s->is_string())
      note("/$schema", "\"$schema\" must be a string");
    policy.name = name_of(doc, "", "rollout", kMaxRolloutNameBytes);
    policy.unknown_limit_ms = duration(doc, "", "unknown_limit", policy.unknown_limit_ms, kMaxForMs, true);
    policy.step_timeout_ms = duration(doc, "", "timeout", policy.step_timeout_ms, kMaxStepTimeoutMs, true);
    stages(doc, policy);
    if (!errors_.empty()) {
      Error first = std::move(errors_.front());
      first.also.assign(std::make_move_iterator(errors_.begin() + 1), std::make_move_iterator(errors_.end()));
      return first;
    }
    policy.source = canonical_source(policy);
    policy.digest = digest::sha256(policy.source);
    return policy;
  }

 private:
  Error error(const std::string& pointer, const std::string& message) const {
    Error e;
    e.code = ErrorCode::contract;
    e.message = message;
    e.where.file = file_;
    e.where.pointer = pointer;
    return e;
  }
  void note(const std::string& pointer, const std::string& message) {
    if (errors_.size() < kMaxLoadErrors) errors_.push_back(error(pointer, message));
  }

  void unknown_keys(const json& object, const std::string& at, const std::vector<std::string_view>& known) {
    std::string expected;
    for (auto k : known)
      if (k != "$schema") expected += (expected.empty() ? "" : ", ") + std::string(k);
    for (auto& [key, value] : object.items()) {
      (void)value;
      if (std::find(known.begin(), known.end(), key) == known.end())
        note(pointer_to(at, key), "unknown key " + text::quoted(key) + text::did_you_mean(key, known) + " (expected " +
                                      expected + ")");
    }
  }

  // The name at `key` ("" when it is missing or not a name, noted).
  std::string name_of(const json& object, const std::string& at, const char* key, size_t max) {
    const std::string kat = pointer_to(at, key);
    const std::string rule = " of 1 to " + std::to_string(max) + " letters, digits, '.', '_' or '-' (not \".\" or \"..\")";
    auto v = object.find(key);
    if (v == object.end()) {
      note(kat, "\"" + std::string(key) + "\" is required: a name" + rule);
      return "";
    }
    if (!v->is_string() || !is_name(v->get_ref<const std::string&>(), max)) {
      note(kat, "\"" + std::string(key) + "\" must be a name" + rule + ", not " + shown(*v));
      return "";
    }
    return v->get<std::string>();
  }

  // The duration at `key` in ms, within [0 or 1ms, max]; `fallback` when absent or invalid (noted).
  int64_t duration(const json& object, const std::string& at, const char* key, int64_t fallback, int64_t max,
                   bool positive) {
    auto v = object.find(key);
    if (v == object.end()) return fallback;
    const std::string kat = pointer_to(at, key), name = "\"" + std::string(key) + "\"";
    auto ms = v->is_string() ? text::parse_duration(v->get_ref<const std::string&>()) : std::nullopt;
    if (!ms) {
      note(kat, name + " must be a duration such as \"30s\", \"10m\" or \"1h30m\", not " + shown(*v));
    } else if (ms->count() > max) {
      note(kat, name + " is " + text::format_duration(ms->count()) + ", over the limit of " + text::format_duration(max));
    } else if (positive && ms->count() == 0) {
      note(kat, name + " must be longer than 0");
    } else {
      return ms->count();
    }
    return fallback;
  }

  void stages(const json& doc, RolloutPolicy& policy) {
    auto list = doc.find("stages");
    const std::string limit = std::to_string(kMaxStages);
    if (list == doc.end() || !list->is_array() || list->empty()) {
      note("/stages", "\"stages\" must be an array of 1 to " + limit + " stages, such as [{\"name\": \"canary\"}]");
      return;
    }
    if (list->size() > kMaxStages)
      note("/stages", "a rollout has at most " + limit + " stages (" + std::to_string(list->size()) + " given)");
    std::map<std::string, std::string> names;  // name -> where it is first
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string at = "/stages/" + std::to_string(i);
      RolloutStage s = stage((*list)[i], at);
      if (!s.name.empty()) {
        auto [first, fresh] = names.emplace(s.name, at + "/name");
        if (!fresh) note(at + "/name", "duplicate stage name " + text::quoted(s.name) + " (also at " + first->second + ")");
      }
      policy.stages.push_back(std::move(s));
    }
  }

  RolloutStage stage(const json& j, const std::string& at) {
    RolloutStage s;
    if (!j.is_object()) {
      note(at, "a stage is an object such as {\"name\": \"canary\", \"bake\": \"10m\", \"health\": [...]}");
      return s;
    }
    unknown_keys(j, at, {"name", "bake", "health"});
    s.name = name_of(j, at, "name", kMaxStageNameBytes);
    s.bake_ms = duration(j, at, "bake", 0, kMaxBakeMs, false);
    auto health = j.find("health");
    if (health == j.end()) return s;
    const std::string hat = at + "/health";
    if (!health->is_array()) {
      note(hat, "\"health\" must be an array of health checks");
      return s;
    }
    if (health->size() > kMaxChecks)
      note(hat, "a stage has at most " + std::to_string(kMaxChecks) + " health checks (" +
                    std::to_string(health->size()) + " given)");
    std::map<std::string, std::string> ids;  // id -> where it is first
    for (size_t i = 0; i < health->size(); ++i) {
      const std::string cat = hat + "/" + std::to_string(i);
      HealthCheck c = check((*health)[i], cat);
      if (!c.id.empty()) {
        auto [first, fresh] = ids.emplace(c.id, cat + "/id");
        if (!fresh)
          note(cat + "/id", "duplicate health check id " + text::quoted(c.id) + " in this stage (also at " +
                                first->second + ")");
      }
      s.health.push_back(std::move(c));
    }
    return s;
  }

  HealthCheck check(const json& j, const std::string& at) {
    HealthCheck c;
    if (!j.is_object()) {
      note(at, "a health check is an object with an \"id\" and either \"prometheus\" or \"exec\"");
      return c;
    }
    unknown_keys(j, at, {"id", "prometheus", "exec", "timeout"});
    c.id = name_of(j, at, "id", kMaxStageNameBytes);
    auto prom = j.find("prometheus"), exec = j.find("exec");
    if (prom == j.end() && exec == j.end())
      note(at, "a health check needs \"prometheus\" (a query and its bounds) or \"exec\" (a command)");
    else if (prom != j.end() && exec != j.end())
      note(at + "/exec", "a health check is either \"prometheus\" or \"exec\", not both");
    if (prom != j.end()) prometheus(*prom, at + "/prometheus", c);
    if (exec != j.end()) command(*exec, at + "/exec", c);
    if (j.contains("timeout") && exec == j.end())
      note(at + "/timeout", "\"timeout\" applies to \"exec\" checks (a query is bounded by the rollout's \"timeout\")");
    else
      c.timeout_ms = duration(j, at, "timeout", c.timeout_ms, kMaxExecTimeoutMs, true);
    return c;
  }

  void prometheus(const json& j, const std::string& at, HealthCheck& c) {
    c.kind = HealthCheck::Kind::prometheus;
    if (!j.is_object()) {
      note(at, "\"prometheus\" must be an object such as {\"url\": \"http://127.0.0.1:9090\", \"query\": \"...\", \"max\": 0.01}");
      return;
    }
    unknown_keys(j, at, {"url", "query", "min", "max", "for"});
    auto url = j.find("url");
    if (url == j.end() || !url->is_string() || !is_url(url->get_ref<const std::string&>()))
      note(at + "/url", "\"url\" must be the Prometheus server's http:// or https:// URL (at most " +
                            std::to_string(kMaxUrlBytes) + " bytes, no spaces), such as \"http://127.0.0.1:9090\"");
    else
      c.url = url->get<std::string>();
    auto query = j.find("query");
    if (query == j.end() || !query->is_string() || query->get_ref<const std::string&>().empty() ||
        query->get_ref<const std::string&>().size() > kMaxQueryBytes)
      note(at + "/query", "\"query\" must be a PromQL query of 1 to " + std::to_string(kMaxQueryBytes) + " bytes");
    else
      c.query = query->get<std::string>();
    c.min = bound(j, at, "min");
    c.max = bound(j, at, "max");
    if (!j.contains("min") && !j.contains("max"))
      note(at, "a prometheus check needs \"min\", \"max\" or both (the bounds every sample must be within)");
    if (c.min && c.max && *c.min > *c.max) note(at + "/min", "\"min\" is greater than \"max\"");
    c.for_ms = duration(j, at, "for", 0, kMaxForMs, false);
  }

  static bool is_url(std::string_view url) {
    size_t scheme = url.rfind("https://", 0) == 0 ? 8 : url.rfind("http://", 0) == 0 ? 7 : 0;
    if (!scheme || url.size() == scheme || url.size() > kMaxUrlBytes) return false;
    for (char c : url)
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7F) return false;
    return true;
  }

  std::optional<double> bound(const json& j, const std::string& at, const char* key) {
    auto v = j.find(key);
    if (v == j.end()) return std::nullopt;
    if (!v->is_number() || !std::isfinite(v->get<double>())) {
      note(pointer_to(at, key), "\"" + std::string(key) + "\" must be a number, not " + shown(*v));
      return std::nullopt;
    }
    double d = v->get<double>();
    return d == 0 ? 0.0 : d;  // -0 is 0: one canonical form
  }

  void command(const json& j, const std::string& at, HealthCheck& c) {
    c.kind = HealthCheck::Kind::exec;
    if (!j.is_array() || j.empty()) {
      note(at, "\"exec\" must be a command's arguments (no shell), such as [\"./smoke-test\", \"--stage\", \"canary\"]");
      return;
    }
    if (j.size() > kMaxArgs)
      note(at, "a command has at most " + std::to_string(kMaxArgs) + " arguments (" + std::to_string(j.size()) +
                   " given)");
    for (size_t i = 0; i < j.size(); ++i) {
      const json& arg = j[i];
      if (!arg.is_string() || arg.get_ref<const std::string&>().empty() ||
          arg.get_ref<const std::string&>().find('\0') != std::string::npos)
        note(at + "/" + std::to_string(i), "an argument must be a non-empty string without NUL bytes, not " + shown(arg));
      else
        c.argv.push_back(arg.get<std::string>());
    }
  }

  std::string file_;
  std::vector<Error> errors_;
};

// Adds line and column to each error of `e` in `text` (the value at its
// pointer; a missing key: the object that lacks it).
void locate(Error& e, std::string_view text, bool yaml) {
  std::vector<Error*> all = {&e};
  for (auto& more : e.also) all.push_back(&more);
  std::vector<std::string> pointers;
  for (const Error* x : all)
    for (std::string at = x->where.pointer;; at.erase(at.rfind('/'))) {
      pointers.push_back(at);
      if (at.empty()) break;
    }
  auto found = yaml ? artifact::locate_all_yaml(text, yaml_limits(), yaml_options(), pointers)
                    : artifact::locate_all(text, pointers, schema::kMaxDocumentDepth);
  for (Error* x : all)
    for (std::string at = x->where.pointer;; at.erase(at.rfind('/'))) {
      if (auto it = found.find(at); it != found.end()) {
        x->where.line = it->second.line;
        x->where.column = it->second.column;
        break;
      }
      if (at.empty()) break;
    }
}

// The file form of a canonical document, for the Reader: "X_ms": n is
// "X": "nms", a null is absent. Depth is bounded by contract::parse_json.
json file_form(const json& j) {
  if (j.is_array()) {
    json out = json::array();
    for (const auto& item : j) out.push_back(file_form(item));
    return out;
  }
  if (!j.is_object()) return j;
  json out = json::object();
  for (auto& [key, value] : j.items()) {
    if (value.is_null()) continue;
    if (key.size() > 3 && key.compare(key.size() - 3, 3, "_ms") == 0 && value.is_number_unsigned())
      out[key.substr(0, key.size() - 3)] = std::to_string(value.get<uint64_t>()) + "ms";
    else
      out[key] = file_form(value);
  }
  return out;
}

json bound_json(const std::optional<double>& b) { return b ? json(*b) : json(nullptr); }

}  // namespace

std::string canonical_source(const RolloutPolicy& policy) {
  json stages = json::array();
  for (const auto& s : policy.stages) {
    json health = json::array();
    for (const auto& c : s.health) {
      json check = json::object();
      check["id"] = c.id;
      if (c.kind == HealthCheck::Kind::exec) {
        check["exec"] = c.argv;
        check["timeout_ms"] = c.timeout_ms;
      } else {
        check["prometheus"] = {{"url", c.url}, {"query", c.query}, {"min", bound_json(c.min)},
                               {"max", bound_json(c.max)}, {"for_ms", c.for_ms}};
      }
      health.push_back(std::move(check));
    }
    stages.push_back({{"name", s.name}, {"bake_ms", s.bake_ms}, {"health", std::move(health)}});
  }
  json doc = {{"version", kSourceVersion},
              {"rollout", policy.name},
              {"unknown_limit_ms", policy.unknown_limit_ms},
              {"timeout_ms", policy.step_timeout_ms},
              {"stages", std::move(stages)}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);  // std::map: keys sorted
}

Result<RolloutPolicy> policy_from_source(std::string_view canonical) {
  auto state = [](const std::string& why) {
    Error e;
    e.code = ErrorCode::state;
    e.message = "stored rollout policy: " + why;
    return e;
  };
  if (canonical.size() > kMaxSourceBytes)
    return state(std::to_string(canonical.size()) + " bytes, over the limit of " + std::to_string(kMaxSourceBytes));
  auto doc = contract::parse_json(canonical, "");
  if (!doc) return state(doc.error().to_string());
  auto version = doc->is_object() ? doc->find("version") : doc->end();
  if (version == doc->end() || *version != kSourceVersion)
    return state("not a canonical policy of version " + std::to_string(kSourceVersion) + " (written by another invar?)");
  json form = file_form(*doc);
  form.erase("version");
  auto policy = Reader("").read(form);
  if (!policy) return state(policy.error().to_string());
  if (policy->source != canonical) return state("not in its canonical form (changed since it was stored?)");
  return policy;
}

}  // namespace rollout

Result<RolloutPolicy> parse_rollout(std::string_view text, const std::string& name) {
  if (text.size() > rollout::kMaxRolloutBytes) {
    Error e;
    e.code = ErrorCode::limit;
    e.message = "rollout file is " + std::to_string(text.size()) + " bytes, over the limit of " +
                std::to_string(rollout::kMaxRolloutBytes) + " bytes";
    e.where.file = name;
    return e;
  }
  const bool yaml = rollout::reads_as_yaml(text, name);
  auto doc = rollout::read_document(text, name, yaml);
  if (!doc) return doc.error();
  auto policy = rollout::Reader(name).read(*doc);
  if (policy) return policy;
  Error e = policy.error();
  rollout::locate(e, text, yaml);
  return e;
}

Result<RolloutPolicy> load_rollout(const std::string& path) {
  auto bytes = files::read_file(path, rollout::kMaxRolloutBytes, "rollout file");
  if (!bytes) return bytes.error();
  return parse_rollout(*bytes, path);
}

}  // namespace invar
