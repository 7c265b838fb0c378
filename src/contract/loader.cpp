// Contract loading: JSON text -> validated, compiled Plan. Every problem is a
// located Error (file, JSON Pointer into the contract); nothing throws.
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "artifact/reader.hpp"
#include "common/text.hpp"
#include "trial/trial.hpp"
#include "engine/plan.hpp"
#include "regex/regex.hpp"
#include "schema/document.hpp"
#include "schema/uri.hpp"

namespace invar::contract {

using nlohmann::json;
namespace fs = std::filesystem;

Result<json> parse_json(std::string_view text, const std::string& file) { return schema::read_document(text, file); }

Result<schema::Draft> default_draft(const Options& options) {
  if (options.default_dialect.empty()) return schema::kDefaultDraft;
  if (auto draft = schema::draft_from_name(options.default_dialect)) return *draft;
  Error e;
  e.code = ErrorCode::usage;
  e.message = "unknown JSON Schema dialect " + text::quoted(options.default_dialect) + " (supported: " +
              schema::dialect_names() + ")";
  return e;
}

namespace {

schema::KeywordPolicy policy_of(UnknownKeywords u) {
  switch (u) {
    case UnknownKeywords::error: return schema::KeywordPolicy::error;
    case UnknownKeywords::warn: return schema::KeywordPolicy::warn;
    case UnknownKeywords::ignore: return schema::KeywordPolicy::ignore;
  }
  return schema::KeywordPolicy::error;
}

}  // namespace

schema::CompileOptions compile_options(const Options& options, schema::Draft draft, std::string file_root,
                                       const SchemaSetup& setup) {
  schema::CompileOptions co;
  co.default_draft = draft;
  co.format_assertion = options.format_assertion;
  co.allow_unknown_keywords = options.allow_unknown_keywords;
  if (auto chosen = setup.unknown_keywords ? setup.unknown_keywords : options.unknown_keywords)
    co.unknown_keywords = co.resolved_unknown_keywords = policy_of(*chosen);
  co.resolved = setup.resolved;
  co.regex_fallback = options.regex_fallback;
  co.regex_max_mem = options.limits.regex_max_mem;
  co.max_document_bytes = options.limits.max_contract_bytes;
  co.file_root = std::move(file_root);
  return co;
}

namespace {

Result<json> read_schema_document(const std::string& path, const Options& options, std::string* text = nullptr,
                                  schema::NumberTexts* numbers = nullptr) {
  auto bytes = files::read_file(path, options.limits.max_contract_bytes, "schema");
  if (!bytes) return bytes.error();
  auto doc = schema::read_document(*bytes, path, numbers);
  if (text) *text = std::move(*bytes);
  return doc;
}

}  // namespace

void add_warnings(const schema::Validator& validator, const std::string& path, std::string_view text,
                  std::vector<LoadWarning>& warnings) {
  std::error_code ec;
  std::string absolute = fs::absolute(path, ec).lexically_normal().string();
  for (const auto& w : validator.warnings()) {
    LoadWarning out{"unknown-keyword", w.message, {w.file, w.pointer, 0, 0}};
    if (w.file == absolute) {
      out.where.file = path;  // as the user named it
      if (auto at = schema::locate_in_document(text, path, w.pointer)) {
        out.where.line = at->line;
        out.where.column = at->column;
      }
    }
    warnings.push_back(std::move(out));
  }
}

Result<std::shared_ptr<const schema::Validator>> load_schema_file(const std::string& path, const Options& options,
                                                                  std::optional<schema::Draft> draft,
                                                                  const SchemaSetup& setup,
                                                                  std::vector<LoadWarning>* warnings) {
  if (!draft) {
    auto from_options = default_draft(options);
    if (!from_options) return from_options.error();
    draft = *from_options;
  }
  std::error_code ec;
  std::string absolute = fs::absolute(path, ec).lexically_normal().string();
  std::string text;
  schema::NumberTexts numbers;
  auto doc = read_schema_document(path, options, &text, &numbers);
  if (!doc) return doc.error();
  auto co = compile_options(options, *draft, fs::path(absolute).parent_path().string(), setup);
  const std::string uri = schema::uri::from_path(absolute);
  if (!numbers.empty()) co.numbers[uri] = std::move(numbers);
  auto validator = schema::Validator::compile(*doc, uri, co);
  if (!validator) {
    Error e = validator.error();
    if (e.where.file.empty() || e.where.file == absolute) {
      e.where.file = path;  // as the user named it
      if (auto at = schema::locate_in_document(text, path, e.where.pointer)) {
        e.where.line = at->line;
        e.where.column = at->column;
      }
    }
    return e;
  }
  if (warnings) add_warnings(*validator.value(), path, text, *warnings);
  return validator.value();
}

Result<std::shared_ptr<const schema::Validator>> load_metaschema_of(const std::string& path, const Options& options) {
  auto doc = read_schema_document(path, options);
  if (!doc) return doc.error();
  auto draft = default_draft(options);
  if (!draft) return draft.error();
  if (doc->is_object() && doc->contains("$schema")) {
    const json& declared = (*doc)["$schema"];
    auto named = declared.is_string() ? schema::draft_from_uri(declared.get<std::string>()) : std::nullopt;
    if (!named) {
      Error e;
      e.code = ErrorCode::schema;
      e.message = "unknown \"$schema\" " + declared.dump() + ": the metaschemas bundled are " + schema::dialect_uris();
      e.where.file = path;
      e.where.pointer = "/$schema";
      return e;
    }
    draft = *named;
  }
  const auto& dialect = schema::dialect(*draft);
  auto co = compile_options(options, *draft, "");
  co.allow_unknown_keywords = false;  // the bundled metaschemas use their own keywords only
  return schema::Validator::compile(json::parse(schema::bundled_metaschema(dialect.uri)), std::string(dialect.uri), co);
}

namespace {

struct KindInfo {
  std::string_view key;
  invariants::Kind kind;
  std::set<std::string_view> params;  // beyond id/severity/why/each/waivable
};

const KindInfo kKinds[] = {
    {"schema", invariants::Kind::schema, {"file", "inline"}},
    {"match", invariants::Kind::match, {"pattern"}},
    {"not_match", invariants::Kind::not_match, {"pattern"}},
    {"regex_safe", invariants::Kind::regex_safe, {"consumer", "max_program_size", "unproven"}},
    {"refs", invariants::Kind::refs, {"in", "key", "in_key"}},
    {"count", invariants::Kind::count, {"min", "max", "headroom"}},
    {"unique", invariants::Kind::unique, {"key"}},
    {"freshness", invariants::Kind::freshness, {"max_age", "max_skew"}},
    {"delta", invariants::Kind::delta, {"max_increase", "max_decrease", "require_baseline"}},
    {"churn", invariants::Kind::churn, {"max_added", "max_removed", "max_changed", "min_existing", "require_baseline"}},
    {"monotonic", invariants::Kind::monotonic, {"strict", "require_baseline"}},
    {"immutable", invariants::Kind::immutable, {"require_baseline"}},
    {"trial", invariants::Kind::trial, {"timeout", "memory", "cpu", "sandbox", "compare", "inputs"}},
};

const std::set<std::string_view> kCommon = {"id", "severity", "why", "each", "waivable"};

// Load errors reported at once; past this they are not listed.
constexpr size_t kMaxLoadErrors = 20;

class Loader {
 public:
  Loader(const std::string& file, const std::string& base_dir, const Options& options,
         const schema::NumberTexts& numbers)
      : file_(file), base_dir_(base_dir), options_(options), numbers_(numbers) {}

  Result<std::shared_ptr<const Plan>> load(const json& doc) {
    auto plan = std::make_shared<Plan>();
    plan->file = file_;
    plan->options = options_;
    plan->read_limits.max_bytes = options_.limits.max_artifact_bytes;
    plan->read_limits.max_depth = options_.limits.max_depth;
    plan->read_limits.max_nodes = options_.limits.max_nodes;
    plan->read_limits.max_string_bytes = options_.limits.max_string_bytes;
    if (!doc.is_object()) return error("", "a contract is a JSON object");
    // Every mistake at once (up to kMaxLoadErrors): each key and invariant is
    // checked even after one failed; the first error carries the others.
    std::vector<Error> errors;
    auto note = [&](Error e) {
      if (errors.size() < kMaxLoadErrors) errors.push_back(std::move(e));
    };
    static const std::vector<std::string_view> kTopKeys = {"contract", "description", "schema_dialect", "regex_fallback",
                                                           "resolve", "unknown_keywords", "artifact", "invariants"};
    for (auto& [key, value] : doc.items()) {
      (void)value;
      if (key != "$schema" && std::find(kTopKeys.begin(), kTopKeys.end(), key) == kTopKeys.end())
        note(error("/" + key, "unknown key " + text::quoted(key) + text::did_you_mean(key, kTopKeys) +
                                  " (expected contract, description, schema_dialect, regex_fallback, resolve, "
                                  "unknown_keywords, artifact, invariants)"));
    }
    if (auto e = schema_setup(doc)) return *e;
    if (auto dialect = doc.find("schema_dialect"); dialect != doc.end()) {
      auto draft = dialect->is_string() ? schema::draft_from_name(dialect->get<std::string>()) : std::nullopt;
      if (draft) {
        draft_ = *draft;
      } else {
        std::vector<std::string_view> names;
        for (const auto& d : schema::dialects()) names.push_back(d.name);
        std::string given = dialect->is_string() ? dialect->get<std::string>() : dialect->dump();
        note(error("/schema_dialect", "unknown JSON Schema dialect " + text::quoted(given) +
                                          text::did_you_mean(given, names) + " (supported: " +
                                          schema::dialect_names() + ")"));
      }
    } else if (auto draft = default_draft(options_)) {
      draft_ = *draft;
    } else {
      return draft.error();
    }
    if (auto fallback = doc.find("regex_fallback"); fallback != doc.end()) {
      if (*fallback == "pcre2" || *fallback == "none")
        options_.regex_fallback = *fallback == "pcre2" ? RegexFallback::pcre2 : RegexFallback::none;
      else
        note(error("/regex_fallback", "\"regex_fallback\" must be \"none\" or \"pcre2\""));
      plan->options.regex_fallback = options_.regex_fallback;
    }
    auto name = doc.find("contract");
    if (name == doc.end() || !name->is_string() || name->get<std::string>().empty())
      note(error("/contract", "\"contract\" must be a non-empty string naming the contract"));
    else
      plan->name = name->get<std::string>();

    if (auto art = doc.find("artifact"); art != doc.end()) {
      if (auto e = artifact_section(*art, *plan)) note(*e);
    }
    auto list = doc.find("invariants");
    if (list == doc.end() || !list->is_array()) {
      note(error("/invariants", "\"invariants\" must be an array of invariants"));
    } else {
      std::set<std::string> ids;
      for (const auto& inv : plan->invariants) ids.insert(inv.id);
      for (size_t i = 0; i < list->size(); ++i) {
        std::string at = "/invariants/" + std::to_string(i);
        auto inv = invariant((*list)[i], at);
        if (!inv) {
          note(inv.error());
          continue;
        }
        if (!ids.insert(inv->id).second) {
          note(error(at + "/id", "duplicate invariant id " + text::quoted(inv->id)));
          continue;
        }
        plan->invariants.push_back(std::move(inv.value()));
      }
      if (plan->invariants.empty() && errors.empty()) note(error("/invariants", "a contract needs at least one invariant"));
    }
    if (!errors.empty()) {
      Error first = std::move(errors.front());
      first.also.assign(std::make_move_iterator(errors.begin() + 1), std::make_move_iterator(errors.end()));
      return first;
    }
    for (const auto& [id, severity] : options_.severity) {
      invariants::Invariant* found = nullptr;
      for (auto& inv : plan->invariants)
        if (inv.id == id) found = &inv;
      if (!found)
        return error("", "a severity override names " + text::quoted(id) + ", which is not an invariant of this contract",
                     ErrorCode::usage);
      found->severity = severity;
    }
    plan->warnings = std::move(warnings_);
    return std::shared_ptr<const Plan>(std::move(plan));
  }

 private:
  Error error(const std::string& pointer, const std::string& message, ErrorCode code = ErrorCode::contract) {
    Error e;
    e.code = code;
    e.message = message;
    e.where.file = file_;
    e.where.pointer = pointer;
    return e;
  }

  std::optional<Error> artifact_section(const json& art, Plan& plan) {
    if (!art.is_object()) return error("/artifact", "\"artifact\" must be an object");
    std::string yaml_said;  // where "documents" or "yaml" was given (they need format yaml)
    for (auto& [key, value] : art.items()) {
      std::string at = "/artifact/" + key;
      if (key == "format") {
        auto format = value.is_string() ? artifact_format_named(value.get<std::string>()) : std::nullopt;
        if (!format)
          return error(at, "unsupported format " + value.dump() + " (supported: \"json\", \"ndjson\", \"yaml\")");
        plan.format = *format;
      } else if (key == "schema") {
        if (!value.is_string()) return error(at, "\"schema\" must be a path to a JSON Schema file");
        auto validator = schema_file(value.get<std::string>(), at);
        if (!validator) return validator.error();
        invariants::Invariant inv;
        inv.id = "artifact.schema";
        inv.kind = invariants::Kind::schema;
        inv.target = selector::Selector::compile("$").value();
        inv.schema = validator.value();
        plan.invariants.push_back(std::move(inv));
      } else if (key == "documents") {
        if (value != "one" && value != "many") return error(at, "\"documents\" must be \"one\" or \"many\"");
        plan.yaml.many_documents = value == "many";
        yaml_said = at;
      } else if (key == "yaml") {
        if (auto e = yaml_section(value, at, plan)) return e;
        yaml_said = at;
      } else if (key == "duplicate_keys") {
        if (value != "reject" && value != "allow")
          return error(at, "\"duplicate_keys\" must be \"reject\" or \"allow\"");
        plan.read_limits.allow_duplicate_keys = value == "allow";
      } else if (key == "limits") {
        if (!value.is_object()) return error(at, "\"limits\" must be an object");
        for (auto& [limit, v] : value.items()) {
          std::string lat = at + "/" + limit;
          if (limit == "max_bytes") {
            auto bytes = v.is_number_unsigned() ? std::optional<uint64_t>(v.get<uint64_t>())
                                                : (v.is_string() ? text::parse_bytes(v.get<std::string>()) : std::nullopt);
            if (!bytes) return error(lat, "\"max_bytes\" must be a size such as \"16MiB\" or a number of bytes");
            if (auto e = lower_only(lat, limit, *bytes, plan.read_limits.max_bytes)) return e;
            plan.read_limits.max_bytes = *bytes;
          } else if (limit == "max_depth") {
            if (!v.is_number_unsigned() || v.get<uint64_t>() == 0)
              return error(lat, "\"max_depth\" must be a positive integer");
            if (auto e = lower_only(lat, limit, v.get<uint64_t>(), plan.read_limits.max_depth)) return e;
            plan.read_limits.max_depth = static_cast<uint32_t>(v.get<uint64_t>());
          } else if (limit == "max_nodes" || limit == "max_string_bytes" || limit == "max_alias_nodes") {
            auto n = v.is_number_unsigned() ? std::optional<uint64_t>(v.get<uint64_t>())
                                            : (v.is_string() ? text::parse_bytes(v.get<std::string>()) : std::nullopt);
            if (!n || *n == 0) return error(lat, "\"" + limit + "\" must be a positive number");
            uint64_t& target = limit == "max_nodes"          ? plan.read_limits.max_nodes
                               : limit == "max_string_bytes" ? plan.read_limits.max_string_bytes
                                                             : plan.yaml.max_alias_nodes;
            if (auto e = lower_only(lat, limit, *n, target)) return e;
            target = *n;
          } else {
            return error(lat, "unknown limit " + text::quoted(limit) +
                                  " (expected max_bytes, max_depth, max_nodes, max_string_bytes, max_alias_nodes)");
          }
        }
      } else {
        return error(at, "unknown key " + text::quoted(key) +
                             " (expected format, schema, limits, duplicate_keys, documents, yaml)");
      }
    }
    if (!yaml_said.empty() && plan.format != ArtifactFormat::yaml)
      return error(yaml_said, "\"documents\" and \"yaml\" apply to YAML artifacts: add \"format\": \"yaml\"");
    return std::nullopt;
  }

  // A trial: its command (an array: no shell), limits, sandbox, comparison
  // with the baseline and sample inputs (docs/trial.md).
  Result<trial::Definition> trial_definition(const json& j, const std::string& at) {
    trial::Definition def;
    const json& argv = j["trial"];
    if (!argv.is_array() || argv.empty() || argv.size() > trial::kMaxArgs)
      return error(at + "/trial", "\"trial\" must be the command as an array of 1-" + std::to_string(trial::kMaxArgs) +
                                      " strings (no shell), such as [\"./loader\", \"--check\", \"{artifact}\"]");
    for (size_t i = 0; i < argv.size(); ++i) {
      if (!argv[i].is_string() || argv[i].get<std::string>().empty() ||
          argv[i].get<std::string>().find('\0') != std::string::npos)
        return error(at + "/trial/" + std::to_string(i), "each argument must be a non-empty string");
      std::string arg = argv[i].get<std::string>();
      if (i == 0 && arg.find('/') != std::string::npos && arg[0] != '/')  // relative to the contract, as schema files
        arg = (fs::path(base_dir_) / arg).lexically_normal().string();
      def.argv.push_back(std::move(arg));
    }
    auto duration = [&](const char* key, int64_t& out, int64_t max) -> std::optional<Error> {
      auto v = j.find(key);
      if (v == j.end()) return std::nullopt;
      auto d = v->is_string() ? text::parse_duration(v->get<std::string>()) : std::nullopt;
      if (!d || d->count() <= 0 || d->count() > max)
        return error(at + "/" + key, std::string("\"") + key + "\" must be a duration such as \"10s\", at most " +
                                         text::format_duration(max));
      out = d->count();
      return std::nullopt;
    };
    if (auto e = duration("timeout", def.limits.timeout_ms, 600'000)) return *e;
    if (auto e = duration("cpu", def.limits.cpu_ms, 600'000)) return *e;
    if (auto m = j.find("memory"); m != j.end()) {
      auto bytes = m->is_string() ? text::parse_bytes(m->get<std::string>()) : std::nullopt;
      if (!bytes || *bytes < (1ull << 20) || *bytes > (64ull << 30))
        return error(at + "/memory", "\"memory\" must be a size from 1MiB to 64GiB, such as \"512MiB\"");
      def.limits.memory_bytes = *bytes;
    }
    if (auto s = j.find("sandbox"); s != j.end()) {
      if (*s == "bubblewrap") def.sandbox = trial::Sandbox::bubblewrap;
      else if (*s == "none") def.sandbox = trial::Sandbox::none;
      else return error(at + "/sandbox", "\"sandbox\" must be \"bubblewrap\" (the default) or \"none\" (said explicitly)");
    }
    if (auto c = j.find("compare"); c != j.end()) {
      if (!c->is_object() || c->empty()) return error(at + "/compare", "\"compare\" must be an object with \"cpu\" and/or \"memory\"");
      for (auto& [key, value] : c->items()) {
        double ratio = 0;
        if (value.is_string() && value.get<std::string>().size() > 1 && value.get<std::string>().back() == 'x')
          ratio = std::strtod(value.get<std::string>().c_str(), nullptr);
        if ((key != "cpu" && key != "memory") || !(ratio >= 1.0 && ratio <= 1000.0))
          return error(at + "/compare/" + key, "\"compare\" takes \"cpu\" and \"memory\", each a ratio such as \"2x\" "
                                                   "(from 1x to 1000x) of the baseline's cost");
        (key == "cpu" ? def.compare_cpu : def.compare_memory) = ratio;
      }
    }
    if (auto in = j.find("inputs"); in != j.end()) {
      if (!in->is_string() || in->get<std::string>().empty()) return error(at + "/inputs", "\"inputs\" must be a file pattern such as \"samples/*.txt\"");
      auto files = glob_files(in->get<std::string>());
      if (files.empty()) return error(at + "/inputs", "no file matches " + text::quoted(in->get<std::string>()) + " (relative to the contract)");
      if (files.size() > trial::kMaxInputs)
        return error(at + "/inputs", std::to_string(files.size()) + " files match; a trial takes at most " + std::to_string(trial::kMaxInputs));
      def.inputs = std::move(files);
    }
    return def;
  }

  // The files matching `pattern` (glob(3), relative to the contract), sorted.
  std::vector<std::string> glob_files(const std::string& pattern) {
    std::string full = pattern[0] == '/' ? pattern : (fs::path(base_dir_) / pattern).string();
    glob_t found{};
    std::vector<std::string> out;
    if (::glob(full.c_str(), GLOB_NOSORT, nullptr, &found) == 0)
      for (size_t i = 0; i < found.gl_pathc && out.size() <= trial::kMaxInputs; ++i) {
        std::error_code ec;
        if (fs::is_regular_file(found.gl_pathv[i], ec)) out.push_back(fs::absolute(found.gl_pathv[i]).lexically_normal().string());
      }
    ::globfree(&found);
    std::sort(out.begin(), out.end());
    return out;
  }

  // A contract may only lower a limit (docs/limits.md): one above the limit in
  // force would be ignored, so it is an error naming what raises that limit.
  std::optional<Error> lower_only(const std::string& at, const std::string& limit, uint64_t asked, uint64_t in_force) {
    if (asked <= in_force) return std::nullopt;
    const std::string raise = limit == "max_bytes"   ? "invar check --max-artifact-bytes, or Options::limits.max_artifact_bytes"
                              : limit == "max_nodes" ? "invar check --max-nodes, or Options::limits.max_nodes"
                              : limit == "max_alias_nodes" ? ""
                                                           : "Options::limits." + limit + " (no CLI option)";
    return error(at, "\"" + limit + "\" " + std::to_string(asked) + " is above the limit in force (" +
                         std::to_string(in_force) + "): a contract may only lower limits; " +
                         (raise.empty() ? "this one is fixed" : "raise it with " + raise));
  }

  // "yaml": {"consumer": "yaml1.2" | "yaml1.1", "merge_keys": "refuse" | "allow", "infinity": "refuse" | "allow",
  //          "keys": "refuse" | "text", "empty": "refuse" | "null", "tags": "refuse" | "untagged"}
  std::optional<Error> yaml_section(const json& yaml, const std::string& at, Plan& plan) {
    if (!yaml.is_object()) return error(at, "\"yaml\" must be an object");
    for (auto& [key, value] : yaml.items()) {
      if (key == "consumer") {
        if (value != "yaml1.2" && value != "yaml1.1")
          return error(at + "/consumer", "\"consumer\" must be \"yaml1.2\" or \"yaml1.1\" (the YAML version its parser reads)");
        plan.yaml.consumer_yaml11 = value == "yaml1.1";
      } else if (key == "merge_keys") {
        if (value != "refuse" && value != "allow")
          return error(at + "/merge_keys", "\"merge_keys\" must be \"refuse\" or \"allow\"");
        plan.yaml.merge_keys = value == "allow";
      } else if (key == "infinity") {
        if (value != "refuse" && value != "allow")
          return error(at + "/infinity", "\"infinity\" must be \"refuse\" or \"allow\"");
        plan.yaml.allow_infinity = value == "allow";
      } else if (key == "keys") {
        if (value != "refuse" && value != "text")
          return error(at + "/keys", "\"keys\" must be \"refuse\" or \"text\" (a key that is a number, a boolean or "
                                     "null read as its text as written)");
        plan.yaml.keys_as_text = value == "text";
      } else if (key == "empty") {
        if (value != "refuse" && value != "null")
          return error(at + "/empty", "\"empty\" must be \"refuse\" or \"null\" (a file of no document read as null)");
        plan.yaml.empty_as_null = value == "null";
      } else if (key == "tags") {
        if (value != "refuse" && value != "untagged")
          return error(at + "/tags", "\"tags\" must be \"refuse\" or \"untagged\" (a tag outside the core schema "
                                     "dropped: the node read as if it had none)");
        plan.yaml.untagged = value == "untagged";
      } else {
        return error(at + "/" + key, "unknown key " + text::quoted(key) +
                                         text::did_you_mean(key, {"consumer", "merge_keys", "infinity", "keys", "empty", "tags"}) +
                                         " (expected consumer, merge_keys, infinity, keys, empty, tags)");
      }
    }
    return std::nullopt;
  }

  // The contract's "resolve" (paths relative to it, read before
  // Options::resolve) and "unknown_keywords", for every schema it compiles.
  std::optional<Error> schema_setup(const json& doc) {
    if (auto u = doc.find("unknown_keywords"); u != doc.end()) {
      static const std::pair<std::string_view, UnknownKeywords> kPolicies[] = {
          {"error", UnknownKeywords::error}, {"warn", UnknownKeywords::warn}, {"ignore", UnknownKeywords::ignore}};
      for (auto [name, policy] : kPolicies)
        if (*u == name) setup_.unknown_keywords = policy;
      if (!setup_.unknown_keywords) return error("/unknown_keywords", "\"unknown_keywords\" must be \"error\", \"warn\" or \"ignore\"");
    }
    std::vector<std::string> paths;
    if (auto r = doc.find("resolve"); r != doc.end()) {
      std::vector<json> given = r->is_array() ? r->get<std::vector<json>>() : std::vector<json>{*r};
      for (const auto& path : given) {
        if (!path.is_string() || path.get_ref<const std::string&>().empty())
          return error("/resolve", "\"resolve\" must be a path or an array of paths (schema files or directories)");
        fs::path p(path.get<std::string>());
        paths.push_back((p.is_absolute() ? p : fs::path(base_dir_) / p).lexically_normal().string());
      }
    }
    paths.insert(paths.end(), options_.resolve.begin(), options_.resolve.end());
    auto index = index_schemas(paths, options_, warnings_);
    if (!index) {
      Error e = index.error();
      if (e.where.file.empty()) e.where = {file_, "/resolve", 0, 0};
      return e;
    }
    setup_.resolved = index.value();
    return std::nullopt;
  }

  Result<std::shared_ptr<const schema::Validator>> schema_file(const std::string& relative, const std::string& at) {
    fs::path path = fs::path(relative).is_absolute() ? fs::path(relative) : fs::path(base_dir_) / relative;
    auto v = load_schema_file(path.lexically_normal().string(), options_, draft_, setup_, &warnings_);
    if (!v) {
      Error e = v.error();
      if (e.code == ErrorCode::io)
        return error(at, "schema file " + text::quoted(relative) + ": " + e.message, ErrorCode::io);
      if (e.code == ErrorCode::syntax && e.where.line)  // located inside the schema file
        return e;
      e.message = "in schema " + text::quoted(relative) + ": " + e.message;
      return e;
    }
    return v;
  }

  // "key": ["@.host", "@.path_prefix"]: the tuple a unique/refs invariant
  // compares instead of the selected value itself.
  std::optional<Error> composite_key(const json& j, const std::string& at, const char* name,
                                     std::vector<selector::Selector>& out) {
    auto key = j.find(name);
    if (key == j.end()) return std::nullopt;
    std::string kat = at + "/" + name;
    if (!key->is_array() || key->empty() || key->size() > invariants::kMaxKeySelectors)
      return error(kat, std::string("\"") + name + "\" must be a list of 1 to " +
                            std::to_string(invariants::kMaxKeySelectors) +
                            " relative selectors, such as [\"@.host\", \"@.path_prefix\"]");
    for (size_t i = 0; i < key->size(); ++i) {
      std::string iat = kat + "/" + std::to_string(i);
      if ((*key)[i].is_string() && (*key)[i].get<std::string>().rfind('$', 0) == 0)
        return error(iat, "a key selector is relative to each selected element: start with '@'", ErrorCode::selector);
      auto sel = compile_selector((*key)[i], iat, true);
      if (!sel) return sel.error();
      if (!sel->singular())
        return error(iat, "a key selector selects one value per element: " + text::quoted(sel->text()) +
                              " has a wildcard or a filter", ErrorCode::selector);
      out.push_back(std::move(sel.value()));
    }
    return std::nullopt;
  }

  Result<selector::Selector> compile_selector(const json& value, const std::string& at, bool relative) {
    if (!value.is_string()) return error(at, "a selector must be a string such as \"$.items[*]\"");
    auto sel = selector::Selector::compile(value.get<std::string>());
    if (!sel) return error(at, sel.error().message, ErrorCode::selector);
    if (relative && !sel->relative())
      return error(at, "inside \"each\", selectors are relative: start with '@' instead of '$'", ErrorCode::selector);
    if (!relative && sel->relative())
      return error(at, "'@' is only meaningful inside \"each\": start with '$'", ErrorCode::selector);
    return sel;
  }

  std::optional<Error> amount_of(const json& j, const std::string& at, const char* name, std::optional<uint64_t>& out) {
    if (!j.is_number_unsigned())
      return error(at, std::string("\"") + name + "\" must be a non-negative integer");
    out = j.get<uint64_t>();
    return std::nullopt;
  }

  // "count(SEL)", "sum(SEL)" or "bytes".
  std::optional<Error> delta_measure(const json& value, const std::string& at, invariants::Invariant& inv) {
    const char* expected = "a delta measure is \"count(SELECTOR)\", \"sum(SELECTOR)\" or \"bytes\"";
    if (!value.is_string()) return error(at, expected);
    std::string text = value.get<std::string>();
    inv.definition = "delta " + text;
    if (text == "bytes") {
      inv.measure = invariants::DeltaMeasure::bytes;
      inv.target = selector::Selector::compile("$").value();
      return std::nullopt;
    }
    std::string inner;
    if (text.rfind("count(", 0) == 0 && text.back() == ')') {
      inv.measure = invariants::DeltaMeasure::count;
      inner = text.substr(6, text.size() - 7);
    } else if (text.rfind("sum(", 0) == 0 && text.back() == ')') {
      inv.measure = invariants::DeltaMeasure::sum;
      inner = text.substr(4, text.size() - 5);
    } else {
      return error(at, std::string(expected) + ", not " + text::quoted(text));
    }
    auto sel = compile_selector(inner, at, false);
    if (!sel) return sel.error();
    inv.target = std::move(sel.value());
    return std::nullopt;
  }

  // An optional limit such as "30%" or 40 (a count) named `name` in `j`.
  std::optional<Error> limit_amount(const json& j, const std::string& at, const char* name,
                                    std::optional<text::Amount>& out, std::string& out_text) {
    auto it = j.find(name);
    if (it == j.end()) return std::nullopt;
    std::optional<text::Amount> amount;
    if (it->is_string()) amount = text::parse_amount(it->get<std::string>());
    else if (it->is_number() && it->get<double>() >= 0)
      amount = text::Amount{it->get<double>(), false, it->get<double>()};
    if (!amount || amount->written < 0)
      return error(at + "/" + name, std::string("\"") + name + "\" must be a percentage such as \"30%\" or a number");
    out = amount;
    out_text = it->is_string() ? it->get<std::string>() : it->dump();
    return std::nullopt;
  }

  Result<int64_t> duration(const json& j, const std::string& at, const char* name) {
    auto d = j.is_string() ? text::parse_duration(j.get<std::string>()) : std::nullopt;
    if (!d)
      return error(at, std::string("\"") + name + "\" must be a duration such as \"10m\", \"30s\", \"2h\" or \"1d\"");
    return static_cast<int64_t>(d->count());
  }

  Result<invariants::Invariant> invariant(const json& j, const std::string& at) {
    invariants::Invariant inv;
    if (!j.is_object()) return error(at, "an invariant is a JSON object");
    auto id = j.find("id");
    if (id == j.end() || !id->is_string() || id->get<std::string>().empty())
      return error(at + "/id", "every invariant needs a non-empty string \"id\"");
    inv.id = id->get<std::string>();

    const KindInfo* kind = nullptr;
    std::string kind_key;
    for (auto& [key, value] : j.items()) {
      (void)value;
      for (const auto& k : kKinds) {
        if (key != k.key) continue;
        if (kind) return error(at + "/" + key, "invariant " + text::quoted(inv.id) + " has two kinds: " +
                                                   text::quoted(kind_key) + " and " + text::quoted(key));
        kind = &k;
        kind_key = key;
      }
    }
    if (!kind) {
      std::vector<std::string_view> kinds;
      for (const auto& k : kKinds) kinds.push_back(k.key);
      for (auto& [key, value] : j.items()) {
        (void)value;
        if (!kCommon.count(key))
          return error(at + "/" + key, "unknown invariant kind " + text::quoted(key) + text::did_you_mean(key, kinds) +
                                           " (known: schema, match, not_match, regex_safe, refs, count, unique, "
                                           "freshness, delta, churn, monotonic, immutable, trial)");
      }
      return error(at, "invariant " + text::quoted(inv.id) + " has no kind (such as \"count\" or \"match\")");
    }
    inv.kind = kind->kind;
    for (auto& [key, value] : j.items()) {
      (void)value;
      if (key != kind_key && !kCommon.count(key) && !kind->params.count(key)) {
        std::vector<std::string_view> known(kCommon.begin(), kCommon.end());
        known.insert(known.end(), kind->params.begin(), kind->params.end());
        return error(at + "/" + key, "unknown key " + text::quoted(key) + " for a " + std::string(kind->key) +
                                         " invariant" + text::did_you_mean(key, known));
      }
    }
    if (auto s = j.find("severity"); s != j.end()) {
      if (*s == "error") inv.severity = Severity::error;
      else if (*s == "warn") inv.severity = Severity::warn;
      else
        return error(at + "/severity", "\"severity\" must be \"error\" or \"warn\"" +
                                           (s->is_string() ? text::did_you_mean(s->get<std::string>(), {"error", "warn"}) : ""));
    }
    if (auto w = j.find("why"); w != j.end()) {
      if (!w->is_string()) return error(at + "/why", "\"why\" must be a string");
      inv.why = w->get<std::string>();
    }
    if (auto w = j.find("waivable"); w != j.end()) {
      if (!w->is_boolean()) return error(at + "/waivable", "\"waivable\" must be true or false");
      inv.waivable = w->get<bool>();
    }
    if (auto r = j.find("require_baseline"); r != j.end()) {
      if (!r->is_boolean()) return error(at + "/require_baseline", "\"require_baseline\" must be true or false");
      inv.require_baseline = r->get<bool>();
    }
    bool stateful = invariants::compares_with_baseline(inv.kind);
    if (stateful && j.contains("each"))
      return error(at + "/each", "\"each\" is not supported for a " + kind_key +
                                     " invariant: it measures the whole artifact against the baseline");
    if (inv.kind == invariants::Kind::delta) {
      auto m = delta_measure(j[kind_key], at + "/" + kind_key, inv);
      if (m) return *m;
    }
    bool relative = false;
    if (auto each = j.find("each"); each != j.end()) {
      auto sel = compile_selector(*each, at + "/each", false);
      if (!sel) return sel.error();
      inv.each = std::move(sel.value());
      relative = true;
    }
    if (inv.kind == invariants::Kind::trial) {
      if (j.contains("each")) return error(at + "/each", "\"each\" is not supported for a trial: it runs on the whole artifact");
      auto def = trial_definition(j, at);
      if (!def) return def.error();
      inv.trial = std::make_shared<const trial::Definition>(std::move(def.value()));
      inv.target = selector::Selector::compile("$").value();
      inv.definition = "trial " + j["trial"].dump();
      return inv;
    }
    if (inv.kind != invariants::Kind::delta) {
      auto target = compile_selector(j[kind_key], at + "/" + kind_key, relative);
      if (!target) return target.error();
      inv.target = std::move(target.value());
      inv.definition = kind_key + " " + inv.target.text();
    }

    switch (inv.kind) {
      case invariants::Kind::schema: {
        bool has_file = j.contains("file"), has_inline = j.contains("inline");
        if (has_file == has_inline)
          return error(at, "a schema invariant needs exactly one of \"file\" (a path) or \"inline\" (a schema)");
        if (has_file) {
          if (!j["file"].is_string()) return error(at + "/file", "\"file\" must be a path");
          auto v = schema_file(j["file"].get<std::string>(), at + "/file");
          if (!v) return v.error();
          inv.schema = v.value();
        } else {
          auto co = compile_options(options_, draft_, fs::absolute(base_dir_).lexically_normal().string(), setup_);
          std::string base = schema::uri::from_path(co.file_root + "/" + inv.id + ".inline.json");
          if (auto numbers = schema::numbers_under(numbers_, at + "/inline"); !numbers.empty())
            co.numbers[base] = std::move(numbers);
          auto v = schema::Validator::compile(j["inline"], base, co);
          if (!v) {
            Error e = v.error();
            return error(at + "/inline" + e.where.pointer, e.message, ErrorCode::schema);
          }
          for (const auto& w : v.value()->warnings()) {
            bool in_contract = w.file == base.substr(std::string_view("file://").size());
            warnings_.push_back({"unknown-keyword", w.message,
                                 {in_contract ? file_ : w.file, (in_contract ? at + "/inline" : "") + w.pointer, 0, 0}});
          }
          inv.schema = v.value();
        }
        break;
      }
      case invariants::Kind::match:
      case invariants::Kind::not_match: {
        auto p = j.find("pattern");
        if (p == j.end() || !p->is_string()) return error(at + "/pattern", "\"pattern\" must be an RE2 regular expression string");
        inv.pattern_text = p->get<std::string>();
        auto compiled = regex::compile(inv.pattern_text, regex::Anchoring::whole_string, options_.limits.regex_max_mem);
        if (!compiled.pattern)
          return error(at + "/pattern", "pattern " + text::quoted(inv.pattern_text) +
                                            " does not compile under RE2: " + compiled.error, ErrorCode::regex);
        inv.pattern = std::move(compiled.pattern);
        break;
      }
      case invariants::Kind::regex_safe: {
        inv.max_program_size = options_.limits.max_regex_program_size;
        if (auto c = j.find("consumer"); c != j.end()) {
          if (*c == "re2") inv.consumer = invariants::Consumer::re2;
          else if (*c == "backtracking") inv.consumer = invariants::Consumer::backtracking;
          else return error(at + "/consumer", "\"consumer\" must be \"re2\" or \"backtracking\"");
        }
        if (auto m = j.find("max_program_size"); m != j.end()) {
          if (!m->is_number_unsigned() || m->get<uint64_t>() == 0 || m->get<uint64_t>() > 1'000'000)
            return error(at + "/max_program_size", "\"max_program_size\" must be an integer from 1 to 1000000");
          inv.max_program_size = static_cast<int>(m->get<uint64_t>());
        }
        if (auto u = j.find("unproven"); u != j.end()) {
          if (*u != "reject" && *u != "warn")
            return error(at + "/unproven", "\"unproven\" must be \"reject\" or \"warn\"");
          inv.unproven_warns = *u == "warn";
        }
        break;
      }
      case invariants::Kind::refs: {
        auto in = j.find("in");
        if (in == j.end()) return error(at, "a refs invariant needs \"in\": the selector of the values referred to");
        auto sel = compile_selector(*in, at + "/in", false);
        if (!sel) return sel.error();
        inv.refs_in = std::move(sel.value());
        if (auto e = composite_key(j, at, "key", inv.key)) return *e;
        if (auto e = composite_key(j, at, "in_key", inv.in_key)) return *e;
        if (!inv.in_key.empty() && inv.key.empty()) return error(at + "/in_key", "\"in_key\" needs \"key\"");
        if (inv.in_key.empty()) inv.in_key = inv.key;
        if (inv.in_key.size() != inv.key.size())
          return error(at + "/in_key", "\"in_key\" has " + std::to_string(inv.in_key.size()) +
                                           " selectors and \"key\" " + std::to_string(inv.key.size()) +
                                           ": a tuple is compared with a tuple of the same length");
        break;
      }
      case invariants::Kind::count: {
        if (auto m = j.find("min"); m != j.end())
          if (auto e = amount_of(*m, at + "/min", "min", inv.min)) return *e;
        if (auto m = j.find("max"); m != j.end())
          if (auto e = amount_of(*m, at + "/max", "max", inv.max)) return *e;
        if (!inv.min && !inv.max) return error(at, "a count invariant needs \"min\", \"max\" or both");
        if (inv.min && inv.max && *inv.min > *inv.max) return error(at + "/min", "\"min\" is greater than \"max\"");
        inv.effective_max = inv.max;
        if (auto h = j.find("headroom"); h != j.end()) {
          if (!inv.max) return error(at + "/headroom", "\"headroom\" needs \"max\"");
          auto amount = h->is_string() ? text::parse_amount(h->get<std::string>())
                                       : (h->is_number_unsigned() ? std::optional<text::Amount>(text::Amount{h->get<double>(), false, h->get<double>()})
                                                                  : std::nullopt);
          if (!amount || (amount->percent && amount->value >= 1.0))
            return error(at + "/headroom", "\"headroom\" must be a percentage below 100% such as \"20%\", or a count");
          double reserved = amount->percent ? *inv.max * amount->value : amount->value;
          if (reserved > static_cast<double>(*inv.max))
            return error(at + "/headroom", "\"headroom\" is larger than \"max\"");
          inv.effective_max = *inv.max - static_cast<uint64_t>(std::ceil(reserved));
          inv.headroom_text = h->is_string() ? h->get<std::string>() : h->dump();
          if (inv.min && *inv.min > *inv.effective_max)
            return error(at + "/headroom", "\"min\" is greater than \"max\" less \"headroom\"");
        }
        break;
      }
      case invariants::Kind::unique:
        if (auto e = composite_key(j, at, "key", inv.key)) return *e;
        break;
      case invariants::Kind::immutable:
      case invariants::Kind::trial:  // read by trial_definition
        break;
      case invariants::Kind::delta: {
        if (auto e = limit_amount(j, at, "max_increase", inv.max_increase, inv.max_increase_text)) return *e;
        if (auto e = limit_amount(j, at, "max_decrease", inv.max_decrease, inv.max_decrease_text)) return *e;
        if (!inv.max_increase && !inv.max_decrease)
          return error(at, "a delta invariant needs \"max_increase\", \"max_decrease\" or both");
        break;
      }
      case invariants::Kind::churn: {
        if (auto e = limit_amount(j, at, "max_added", inv.max_added, inv.max_added_text)) return *e;
        if (auto e = limit_amount(j, at, "max_removed", inv.max_removed, inv.max_removed_text)) return *e;
        if (auto e = limit_amount(j, at, "max_changed", inv.max_changed, inv.max_changed_text)) return *e;
        if (!inv.max_added && !inv.max_removed && !inv.max_changed)
          return error(at, "a churn invariant needs at least one of \"max_added\", \"max_removed\", \"max_changed\"");
        if (auto m = j.find("min_existing"); m != j.end()) {
          std::optional<uint64_t> v;
          if (auto e = amount_of(*m, at + "/min_existing", "min_existing", v)) return *e;
          inv.min_existing = *v;
        }
        break;
      }
      case invariants::Kind::monotonic: {
        if (auto st = j.find("strict"); st != j.end()) {
          if (!st->is_boolean()) return error(at + "/strict", "\"strict\" must be true or false");
          inv.strict = st->get<bool>();
        }
        break;
      }
      case invariants::Kind::freshness: {
        auto age = j.find("max_age");
        if (age == j.end()) return error(at, "a freshness invariant needs \"max_age\" (such as \"10m\")");
        auto a = duration(*age, at + "/max_age", "max_age");
        if (!a) return a.error();
        inv.max_age_ms = *a;
        inv.max_skew_ms = 30'000;
        if (auto skew = j.find("max_skew"); skew != j.end()) {
          auto s = duration(*skew, at + "/max_skew", "max_skew");
          if (!s) return s.error();
          inv.max_skew_ms = *s;
        }
        break;
      }
    }
    return inv;
  }

  std::string file_;
  std::string base_dir_;
  Options options_;  // the caller's, with the contract's regex_fallback
  const schema::NumberTexts& numbers_;  // the contract's numbers past 64 bits (its inline schemas' bounds)
  schema::Draft draft_ = schema::kDefaultDraft;  // for schemas without "$schema"
  SchemaSetup setup_;
  std::vector<LoadWarning> warnings_;
};

}  // namespace

Result<std::shared_ptr<const Plan>> load(std::string_view text, const std::string& file, const std::string& base_dir,
                                         const Options& options) {
  schema::NumberTexts numbers;
  auto doc = schema::read_document(text, file, &numbers);  // JSON, or YAML by the extension
  if (!doc) return doc.error();
  auto plan = Loader(file, base_dir, options, numbers).load(*doc);
  if (plan) {
    std::const_pointer_cast<Plan>(plan.value())->text = std::string(text);
    return plan;
  }
  // Where each error is in the contract's text (the pointer's value), when it is in this file.
  Error e = plan.error();
  // A missing key is located at the object that lacks it.
  auto place = [&](Error& x) {
    if (x.where.file != file || x.where.line) return;
    if (auto found = schema::locate_in_document(text, file, x.where.pointer)) {
      x.where.line = found->line;
      x.where.column = found->column;
    }
  };
  place(e);
  for (auto& more : e.also) place(more);
  return e;
}

}  // namespace invar::contract
