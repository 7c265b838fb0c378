// invar lint: load errors and the assumption audit (include/invar/lint.hpp).
// The audit reads the contract's JSON and the schemas it names (files
// beside it, followed through local $ref), walking each schema alongside
// the instance path it describes ("$.routes[*].host"), under fixed bounds.
#include "invar/lint.hpp"

#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <cstring>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "artifact/reader.hpp"
#include "common/files.hpp"
#include "common/json_pointer.hpp"
#include "common/text.hpp"
#include "engine/plan.hpp"
#include "regex/ecma.hpp"
#include "regex/fallback.hpp"
#include "artifact/yaml.hpp"
#include "schema/document.hpp"
#include "selector/jsonpath.hpp"

namespace invar {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Bounds of the schema walk: subschemas visited per schema, and depth.
constexpr size_t kMaxSchemaVisits = 20'000;
constexpr int kMaxSchemaDepth = 64;
constexpr size_t npos = std::string::npos;

const std::vector<LintRule> kRules = {
    {"lint.load", Severity::error, "the contract does not load: every load error, located"},
    {"lint.never-valid", Severity::error, "a schema that no value can satisfy (false reachable from its root)"},
    {"lint.selects-nothing", Severity::warn,
     "an invariant whose selectors select nothing on any example (an error for refs and unique)"},
    {"lint.unbounded-array", Severity::warn, "an array of the artifact that neither maxItems nor a count bounds"},
    {"lint.unbounded-string", Severity::warn, "a string without maxLength, pattern, enum, const or format"},
    {"lint.unanchored-pattern", Severity::warn,
     "a JSON Schema pattern without ^...$: it matches anywhere, not the whole value"},
    {"lint.regex-fallback", Severity::warn,
     "a JSON Schema pattern that runs on the PCRE2 fallback (lookaround, backreferences): backtracking, under a match "
     "limit"},
    {"lint.zero-headroom", Severity::warn, "a count with a max (a consumer's limit) and no headroom"},
    {"lint.delta-without-baseline", Severity::warn,
     "a delta-family invariant that passes unchecked when there is no baseline"},
    {"lint.no-freshness", Severity::warn,
     "a stream's contract with no freshness or monotonic invariant: an old artifact would be accepted"},
    {"lint.unknown-keyword", Severity::warn,
     "a JSON Schema keyword its draft does not define, let be (--unknown-keywords warn or ignore)"},
    {"lint.resolve-skipped", Severity::warn, "a file of a resolve directory that does not read as a schema"},
};

const char* const kKinds[] = {"schema", "match", "not_match", "regex_safe", "refs", "count", "unique",
                              "freshness", "delta", "churn", "monotonic", "immutable", "trial"};

struct Finding {
  std::string_view rule;
  Severity severity = Severity::warn;
  std::string file;
  std::string pointer;
  std::string message;
  std::string hint;
  uint64_t line = 0, column = 0;
};

// A place in a schema document: the file it is reported in, the pointer of
// the document's root within that file (inline schemas live in the
// contract), and the document's directory for relative $ref.
struct Doc {
  std::string file;
  std::string prefix;
  const json* root = nullptr;
  fs::path dir;
};


bool identifier(const std::string& name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string member_path(const std::string& path, const std::string& name) {
  if (identifier(name)) return path + "." + name;
  std::string quoted = "['";
  for (char c : name) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return path + quoted + "']";
}

bool has_type(const json& s, const char* type) {
  auto t = s.find("type");
  if (t == s.end()) return false;
  if (t->is_string()) return *t == type;
  if (t->is_array()) return std::find(t->begin(), t->end(), json(type)) != t->end();
  return false;
}

// A field name that looks like a stream's generation or timestamp.
bool stream_like(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"generation", "serial", "version", "revision", "sequence", "timestamp", "generated",
                           "updated", "issued"})
    if (name.find(word) != std::string::npos) return true;
  return false;
}

bool anchored(const std::string& pattern) {
  if (pattern.empty() || pattern.front() != '^' || pattern.back() != '$') return false;
  size_t backslashes = 0;  // "\$" at the end is a literal dollar
  for (size_t i = pattern.size() - 1; i > 0 && pattern[i - 1] == '\\'; --i) ++backslashes;
  return backslashes % 2 == 0;
}

class Auditor {
 public:
  Auditor(const std::string& path, const LintOptions& options) : path_(path), options_(options) {}

  Result<std::vector<Report>> run() {
    auto text = files::read_file(path_, options_.contract.limits.max_contract_bytes, "contract");
    if (!text) return text.error();
    auto doc = contract::parse_json(*text, path_);
    if (!doc) return doc.error();
    texts_[path_] = *text;
    contract_ = std::move(*doc);
    dir_ = fs::path(path_).parent_path();
    auto loaded = Contract::load_file(path_, options_.contract);
    if (!loaded) {
      const Error& e = loaded.error();
      if (e.code == ErrorCode::io) return e;
      add_load_error(e);
      for (const auto& more : e.also) add_load_error(more);
      return reports();
    }
    add_load_warnings(loaded.value());
    if (auto e = read_examples()) return *e;
    audit();
    regex_fallback(ContractAccess::plan(loaded.value()));
    return reports();
  }

  // What the load let be: ignored keywords are listed as if warned of.
  void add_load_warnings(const Contract& loaded) {
    Options listing = options_.contract;
    listing.allow_unknown_keywords = false;
    listing.unknown_keywords = UnknownKeywords::warn;
    json warned = contract_;  // the contract's own "unknown_keywords" wins over Options
    if (warned.is_object() && warned.contains("unknown_keywords")) warned["unknown_keywords"] = "warn";
    std::string dir = dir_.empty() ? "." : dir_.string();
    auto again = Contract::load_string(warned.dump(), dir, path_, listing);
    for (const auto& w : (again ? again.value() : loaded).warnings()) {
      std::string_view rule = w.kind == "resolve-skipped" ? "lint.resolve-skipped" : "lint.unknown-keyword";
      findings_.push_back({rule, Severity::warn, w.where.file.empty() ? path_ : w.where.file, w.where.pointer, w.message,
                           "", w.where.line, w.where.column});
    }
  }

 private:
  // One finding per rule and place: a schema reached along several paths
  // (a $ref used by many properties) is reported once, at its first path.
  void add(std::string_view rule, Severity severity, std::string file, std::string pointer, std::string message,
           std::string hint) {
    if (!reported_.insert({std::string(rule), file, pointer}).second) return;
    findings_.push_back({rule, severity, std::move(file), std::move(pointer), std::move(message), std::move(hint), 0, 0});
  }

  void add_load_error(const Error& e) {
    Finding f{"lint.load", Severity::error, e.where.file.empty() ? path_ : e.where.file, e.where.pointer, e.message,
              "", e.where.line, e.where.column};
    findings_.push_back(std::move(f));
  }

  std::optional<Error> read_examples() {
    for (const auto& example : options_.examples) {
      auto bytes = files::read_file(example, options_.contract.limits.max_artifact_bytes, "example");
      if (!bytes) return bytes.error();
      const std::string ext = fs::path(example).extension().string();
      if (ext == ".yaml" || ext == ".yml") {  // read as a YAML artifact is: strict, one document
        artifact::ReadLimits limits;
        limits.max_bytes = options_.contract.limits.max_artifact_bytes;
        auto read = artifact::read_yaml(*bytes, limits, {});
        if (!read.document)
          return Error{ErrorCode::syntax, "an example is not YAML that invar reads: " + read.problem->message,
                       {example, read.problem->pointer, read.problem->line, read.problem->column}};
        examples_.push_back(read.document->root);
        yaml_examples_.push_back(std::move(read.document));
        continue;
      }
      auto& parser = parsers_.emplace_back(std::make_unique<simdjson::dom::parser>());
      auto root = parser->parse(*bytes);
      if (root.error()) {
        Error e;
        e.code = ErrorCode::syntax;
        e.message = std::string("an example is not JSON: ") + simdjson::error_message(root.error());
        e.where.file = example;
        return e;
      }
      examples_.push_back(root.value());
    }
    return std::nullopt;
  }

  // --- the audit ------------------------------------------------------------

  void audit() {
    const json& list = contract_["invariants"];
    bounded_.clear();
    for (size_t i = 0; i < list.size(); ++i) collect_bounds(list[i]);
    bool stream_checked = false, compares = false;
    for (size_t i = 0; i < list.size(); ++i) {
      const json& inv = list[i];
      std::string at = "/invariants/" + std::to_string(i);
      std::string kind = kind_of(inv);
      if (kind == "freshness" || kind == "monotonic") stream_checked = true;
      if (kind == "delta" || kind == "churn" || kind == "monotonic" || kind == "immutable") {
        compares = true;
        if (inv.value("require_baseline", false) != true)
          add("lint.delta-without-baseline", Severity::warn, path_, at,
              "\"" + inv.value("id", "") + "\" is skipped when there is no baseline (the first publish, a lost LKG), "
              "so the artifact is accepted unchecked",
              "add \"require_baseline\": true (a gate then needs its first artifact through invar init)");
      }
      if (kind == "count" && inv.contains("max")) {
        auto h = inv.find("headroom");
        bool none = h == inv.end() || *h == 0 || *h == "0" || *h == "0%";
        if (none)
          add("lint.zero-headroom", Severity::warn, path_, at + "/max",
              "count of " + inv.value("count", "") + " may reach max " + inv["max"].dump() +
                  " (the consumer's limit) before anything rejects it",
              "reserve room below the limit, such as \"headroom\": \"20%\"");
      }
      if (kind == "schema") {
        std::string instance = instance_path(inv, inv.value("schema", "$"));
        if (inv.contains("inline")) {
          walk_schema({path_, at + "/inline", &inv["inline"], dir_}, instance);
        } else if (inv.contains("file") && inv["file"].is_string()) {
          if (const Doc* d = schema_doc(dir_ / inv["file"].get<std::string>())) walk_schema(*d, instance);
        }
      }
      selects_nothing(inv, at, kind);
    }
    if (auto art = contract_.find("artifact"); art != contract_.end() && art->is_object())
      if (auto s = art->find("schema"); s != art->end() && s->is_string())
        if (const Doc* d = schema_doc(dir_ / s->get<std::string>())) walk_schema(*d, "$");
    if (!stream_checked) {
      std::string field = stream_field_;
      if (compares || !field.empty()) {
        std::string target = field.empty() ? "$.generation" : field;
        add("lint.no-freshness", Severity::warn, path_, "",
            std::string("no freshness or monotonic invariant") +
                (field.empty() ? " while the contract compares with a baseline" : " on " + field) +
                ": an old artifact published again (a delayed writer, a replayed plan) would be accepted",
            "add {\"id\": \"newer\", \"monotonic\": \"" + target + "\", \"strict\": true, \"require_baseline\": true}"
            " or {\"id\": \"fresh\", \"freshness\": \"" + target + "\", \"max_age\": \"1h\"}");
      }
    }
  }

  static std::string kind_of(const json& inv) {
    if (!inv.is_object()) return {};
    for (const char* k : kKinds)
      if (inv.contains(k)) return k;
    return {};
  }

  // The absolute path an invariant's (relative) selector describes.
  static std::string instance_path(const json& inv, const std::string& target) {
    auto each = inv.find("each");
    if (each == inv.end() || !each->is_string() || target.empty() || target[0] != '@') return target;
    return each->get<std::string>() + target.substr(1);
  }

  // Count invariants with a max bound the arrays their selector's last
  // wildcard iterates.
  void collect_bounds(const json& inv) {
    if (kind_of(inv) != "count" || !inv.contains("max") || !inv["count"].is_string()) return;
    std::string path = instance_path(inv, inv["count"].get<std::string>());
    for (const char* tail : {"[*]", ".*"})
      if (path.size() > 3 && path.compare(path.size() - std::strlen(tail), std::strlen(tail), tail) == 0)
        bounded_.insert(path.substr(0, path.size() - std::strlen(tail)));
  }

  const Doc* schema_doc(const fs::path& file) {
    std::string key = file.lexically_normal().string();
    if (auto it = docs_.find(key); it != docs_.end()) return &it->second;
    auto text = files::read_file(key, options_.contract.limits.max_contract_bytes, "schema");
    if (!text) return nullptr;
    auto parsed = contract::parse_json(*text, key);
    if (!parsed) return nullptr;
    texts_[key] = *text;
    json& owned = owned_.emplace_back(std::move(*parsed));
    return &docs_.emplace(key, Doc{key, "", &owned, file.parent_path()}).first->second;
  }

  struct Visit {
    Doc doc;
    std::string pointer;  // within doc.root
    const json* schema;
    std::string path;     // instance path
    int depth;
  };

  void walk_schema(const Doc& doc, const std::string& instance) {
    never_valid_root(doc);
    std::vector<Visit> pending{{doc, "", doc.root, instance, 0}};
    std::set<std::tuple<const json*, std::string>> seen;
    size_t visits = 0;
    while (!pending.empty() && visits++ < kMaxSchemaVisits) {
      Visit v = std::move(pending.back());
      pending.pop_back();
      if (!v.schema->is_object() || v.depth > kMaxSchemaDepth) continue;
      if (!seen.insert({v.schema, v.path}).second) continue;
      const json& s = *v.schema;
      audit_schema(v);
      auto child = [&](const json& sub, const std::string& token_path, const std::string& instance_path) {
        pending.push_back({v.doc, v.pointer + token_path, &sub, instance_path, v.depth + 1});
      };
      auto escape = [](const std::string& name) {
        std::string out;
        text::append_pointer_token(out, name);
        return out;
      };
      if (auto p = s.find("properties"); p != s.end() && p->is_object())
        for (auto& [name, sub] : p->items()) child(sub, "/properties" + escape(name), member_path(v.path, name));
      if (auto p = s.find("patternProperties"); p != s.end() && p->is_object())
        for (auto& [name, sub] : p->items()) child(sub, "/patternProperties" + escape(name), v.path + ".*");
      if (auto a = s.find("additionalProperties"); a != s.end()) child(*a, "/additionalProperties", v.path + ".*");
      if (auto i = s.find("items"); i != s.end()) {
        if (i->is_array())
          for (size_t k = 0; k < i->size(); ++k) child((*i)[k], "/items/" + std::to_string(k), v.path + "[" + std::to_string(k) + "]");
        else
          child(*i, "/items", v.path + "[*]");
      }
      if (auto p = s.find("prefixItems"); p != s.end() && p->is_array())
        for (size_t k = 0; k < p->size(); ++k) child((*p)[k], "/prefixItems/" + std::to_string(k), v.path + "[" + std::to_string(k) + "]");
      if (auto a = s.find("additionalItems"); a != s.end()) child(*a, "/additionalItems", v.path + "[*]");
      for (const char* kw : {"allOf", "anyOf", "oneOf"})
        if (auto l = s.find(kw); l != s.end() && l->is_array())
          for (size_t k = 0; k < l->size(); ++k) child((*l)[k], std::string("/") + kw + "/" + std::to_string(k), v.path);
      for (const char* kw : {"then", "else"})
        if (auto t = s.find(kw); t != s.end()) child(*t, std::string("/") + kw, v.path);
      if (auto r = s.find("$ref"); r != s.end() && r->is_string())
        if (auto target = resolve(v.doc, r->get<std::string>()))
          pending.push_back({target->first, target->second, json_at_pointer(*target->first.root, target->second), v.path,
                             v.depth + 1});
    }
  }

  // A local $ref ("#/$defs/x", "other.schema.json#/$defs/y"): the document
  // and pointer, when it is a JSON Pointer into a file beside the schema.
  std::optional<std::pair<Doc, std::string>> resolve(const Doc& from, const std::string& ref) {
    size_t hash = ref.find('#');
    std::string file = ref.substr(0, hash);
    std::string fragment = hash == std::string::npos ? "" : ref.substr(hash + 1);
    if (!fragment.empty() && fragment[0] != '/') return std::nullopt;  // anchors: not followed
    if (file.find(':') != std::string::npos) return std::nullopt;      // absolute URIs: not followed
    Doc doc = from;
    if (!file.empty()) {
      const Doc* other = schema_doc(from.dir / file);
      if (!other) return std::nullopt;
      doc = *other;
    }
    if (!json_at_pointer(*doc.root, fragment)) return std::nullopt;
    return std::make_pair(doc, fragment);
  }

  void audit_schema(const Visit& v) {
    const json& s = *v.schema;
    std::string where = v.doc.prefix + v.pointer;
    bool array_like = has_type(s, "array") || (!s.contains("type") && (s.contains("items") || s.contains("prefixItems")));
    if (array_like && !s.contains("maxItems") && !(s.contains("items") && s["items"] == false) &&
        !bounded_.count(v.path) && reported_arrays_.insert(v.path).second)
      add("lint.unbounded-array", Severity::warn, v.doc.file, where,
          "the array at " + v.path + " has no bound: nothing rejects it when it grows past what its consumer allocates",
          "add \"maxItems\" to the schema, or a count invariant on " + v.path + "[*] with max and headroom");
    bool string_only = s.contains("type") && (s["type"] == "string" || s["type"] == json::array({"string"}));
    if (string_only && !s.contains("maxLength") && !s.contains("pattern") && !s.contains("enum") &&
        !s.contains("const") && !s.contains("format") && reported_strings_.insert(v.path).second)
      add("lint.unbounded-string", Severity::warn, v.doc.file, where,
          "the string at " + v.path + " has no maxLength, pattern, enum, const or format: any text passes",
          "add \"maxLength\" (what the consumer's buffer holds) or a \"pattern\"");
    if (auto p = s.find("pattern"); p != s.end() && p->is_string()) {
      std::string pattern = p->get<std::string>();
      if (!anchored(pattern))
        add("lint.unanchored-pattern", Severity::warn, v.doc.file, where + "/pattern",
            "pattern " + text::quoted(pattern) + " at " + v.path +
                " is not anchored: JSON Schema patterns match anywhere, so a value only containing a match passes",
            "write \"^" + (pattern.size() && pattern[0] == '^' ? pattern.substr(1) : pattern) +
                (anchored(pattern + "$") ? "" : "$") + "\" if the whole value is meant");
    }
    // A top-level field that looks like a stream's generation or timestamp.
    if (stream_field_.empty() && v.path.rfind("$.", 0) == 0 && v.path.find_first_of(".[", 2) == std::string::npos &&
        stream_like(v.path.substr(2)))
      stream_field_ = v.path;
  }

  // The patterns the loaded contract runs on the PCRE2 fallback (every one
  // its schemas compiled), where each is written.
  void regex_fallback(const Plan& plan) {
    for (const auto& inv : plan.invariants) {
      if (!inv.schema) continue;
      for (const auto& fallback : inv.schema->fallback_patterns()) {
        auto [file, pointer] = place_of(fallback, inv.id);
        add("lint.regex-fallback", Severity::warn, file, pointer,
            "pattern " + text::quoted(fallback.pattern) + " runs on the PCRE2 fallback (it uses " +
                regex::ecma::translate(fallback.pattern).message + "): a backtracking engine, stopped at " +
                regex::undecided_reason(regex::Match::match_limit) + ", and a string it cannot decide fails the check",
            "write it without lookaround and backreferences where you can: RE2 then runs it in linear time");
      }
    }
  }

  // A compiled pattern's file and pointer as lint reports them: a schema
  // file by the path the contract names it by, an inline schema in the contract.
  std::pair<std::string, std::string> place_of(const schema::FallbackPattern& p, const std::string& id) {
    const std::string inline_file = "/" + id + ".inline.json";  // the loader's name for an inline schema
    const json& list = contract_["invariants"];
    if (p.file.size() >= inline_file.size() && p.file.compare(p.file.size() - inline_file.size(), npos, inline_file) == 0)
      for (size_t k = 0; k < list.size(); ++k)
        if (list[k].is_object() && list[k].value("id", "") == id && list[k].contains("inline"))
          return {path_, "/invariants/" + std::to_string(k) + "/inline" + p.pointer};
    std::error_code ec;
    fs::path base = (dir_.empty() ? fs::current_path(ec) : fs::absolute(dir_, ec)).lexically_normal();
    fs::path relative = fs::path(p.file).lexically_relative(base);
    if (ec || relative.empty() || *relative.begin() == "..") return {p.file, p.pointer};
    std::string key = (dir_ / relative).lexically_normal().string();
    schema_doc(key);  // its text, to locate the finding
    return {key, p.pointer};
  }

  // Whether no value satisfies `s` (false reachable through allOf, $ref,
  // not, required properties...); `why` receives the pointer of the cause.
  bool never_valid(const Doc& doc, const json& s, const std::string& pointer, int depth, std::string& why) {
    if (depth > kMaxSchemaDepth) return false;
    if (s.is_boolean()) {
      if (s == false) why = pointer;
      return s == false;
    }
    if (!s.is_object()) return false;
    if (auto n = s.find("not"); n != s.end() && (*n == true || (n->is_object() && n->empty()))) {
      why = pointer + "/not";
      return true;
    }
    for (const char* kw : {"enum", "type"})
      if (auto e = s.find(kw); e != s.end() && e->is_array() && e->empty()) {
        why = pointer + "/" + kw;
        return true;
      }
    if (auto a = s.find("allOf"); a != s.end() && a->is_array())
      for (size_t k = 0; k < a->size(); ++k)
        if (never_valid(doc, (*a)[k], pointer + "/allOf/" + std::to_string(k), depth + 1, why)) return true;
    for (const char* kw : {"anyOf", "oneOf"})
      if (auto a = s.find(kw); a != s.end() && a->is_array() && !a->empty()) {
        bool all = true;
        for (size_t k = 0; k < a->size() && all; ++k)
          all = never_valid(doc, (*a)[k], pointer + "/" + kw + "/" + std::to_string(k), depth + 1, why);
        if (all) return true;
      }
    if (auto r = s.find("$ref"); r != s.end() && r->is_string())
      if (auto target = resolve(doc, r->get<std::string>()))
        if (const json* t = json_at_pointer(*target->first.root, target->second))
          if (t != &s && never_valid(target->first, *t, target->second, depth + 1, why)) return true;
    auto required = s.find("required");
    auto props = s.find("properties");
    if (required != s.end() && required->is_array() && props != s.end() && props->is_object())
      for (const auto& name : *required)
        if (name.is_string())
          if (auto p = props->find(name.get<std::string>()); p != props->end()) {
            std::string token;
            text::append_pointer_token(token, name.get<std::string>());
            if (never_valid(doc, *p, pointer + "/properties" + token, depth + 1, why)) return true;
          }
    return false;
  }

  void never_valid_root(const Doc& doc) {
    std::string why;
    if (!never_valid(doc, *doc.root, "", 0, why)) return;
    add("lint.never-valid", Severity::error, doc.file, doc.prefix,
        "this schema can never validate: no value satisfies " + (why.empty() ? std::string("its root") : doc.prefix + why),
        "remove the false schema (or the not: {}, the empty enum) or make it conditional");
  }

  // Selector text of an invariant's kind key (delta: the one in count()/sum()).
  static std::string selector_of(const json& inv, const std::string& kind) {
    const json& value = inv[kind];
    if (!value.is_string()) return {};
    std::string text = value.get<std::string>();
    if (kind == "delta") {
      for (const char* fn : {"count(", "sum("})
        if (text.rfind(fn, 0) == 0 && text.back() == ')') return text.substr(std::strlen(fn), text.size() - std::strlen(fn) - 1);
      return {};
    }
    return text;
  }

  uint64_t selected(const std::string& each_text, const std::string& target_text) {
    auto target = selector::Selector::compile(target_text);
    if (!target) return 1;  // the loader accepted it; never a finding from here
    std::optional<selector::Selector> each;
    if (!each_text.empty()) {
      auto e = selector::Selector::compile(each_text);
      if (!e) return 1;
      each = std::move(e.value());
    }
    uint64_t n = 0;
    selector::Path path;
    for (auto root : examples_) {
      if (!each) {
        n += target->count(root, path);
        continue;
      }
      each->select(root, path, [&](simdjson::dom::element e, const selector::Path&) {
        selector::Path inner;
        n += target->count(e, inner);
      });
    }
    return n;
  }

  void selects_nothing(const json& inv, const std::string& at, const std::string& kind) {
    if (examples_.empty() || kind.empty()) return;
    std::string target = selector_of(inv, kind);
    if (target.empty()) return;
    std::string each = inv.contains("each") && inv["each"].is_string() ? inv["each"].get<std::string>() : "";
    bool strict = kind == "refs" || kind == "unique";
    Severity severity = strict ? Severity::error : Severity::warn;
    std::string id = inv.value("id", "");
    std::string examples = std::to_string(examples_.size()) + (examples_.size() == 1 ? " example" : " examples");
    if (!each.empty() && selected("", each) == 0) {
      add("lint.selects-nothing", severity, path_, at + "/each",
          "\"each\" of \"" + id + "\" (" + each + ") selects nothing on the " + examples +
              ": the invariant passes without judging anything",
          "check the selector's names against the artifact");
      return;
    }
    if (selected(each, target) == 0)
      add("lint.selects-nothing", severity, path_, at + "/" + kind,
          "\"" + id + "\" selects nothing on the " + examples + " (" + target +
              "): a typo in the selector would make it pass vacuously",
          strict ? "a refs or unique over nothing proves nothing: check the selector against the artifact"
                 : "check the selector's names against the artifact");
    if (kind == "refs" && inv.contains("in") && inv["in"].is_string() && selected("", inv["in"].get<std::string>()) == 0)
      add("lint.selects-nothing", Severity::error, path_, at + "/in",
          "\"in\" of \"" + id + "\" (" + inv["in"].get<std::string>() + ") selects nothing on the " + examples +
              ": every reference would be reported missing",
          "check the selector against the artifact");
  }

  // --- reports --------------------------------------------------------------

  std::vector<Report> reports() {
    std::vector<std::string> files{path_};
    for (const auto& f : findings_)
      if (std::find(files.begin(), files.end(), f.file) == files.end()) files.push_back(f.file);
    std::vector<Report> out;
    for (const auto& file : files) {
      Report r;
      r.contract = "invar lint";
      r.artifact = file;
      std::map<std::string_view, InvariantResult> results;
      for (const auto& rule : kRules) results[rule.id] = {std::string(rule.id), "lint", rule.severity, Outcome::pass, 0, {}};
      auto text = texts_.find(file);
      for (const auto& f : findings_) {
        if (f.file != file) continue;
        Violation v;
        v.invariant = std::string(f.rule);
        v.kind = "lint";
        v.family = "lint";
        v.severity = f.severity;
        v.message = f.message;
        v.pointer = f.pointer;
        v.line = f.line;
        v.column = f.column;
        // A missing key is reported where it belongs: its parent.
        if (v.line == 0 && text != texts_.end())
          if (auto loc = schema::locate_in_document(text->second, file, f.pointer)) {
            v.line = loc->line;
            v.column = loc->column;
          }
        if (!f.hint.empty()) v.explain.push_back("fix: " + f.hint);
        InvariantResult& result = results[f.rule];
        result.outcome = Outcome::fail;
        ++result.violations;
        if (f.severity == Severity::error) {
          result.severity = Severity::error;
          r.verdict = Verdict::reject;
        }
        r.violations.push_back(std::move(v));
      }
      for (const auto& rule : kRules) r.invariants.push_back(results[rule.id]);
      out.push_back(std::move(r));
    }
    return out;
  }

  std::string path_;
  const LintOptions& options_;
  json contract_;
  fs::path dir_;
  std::vector<Finding> findings_;
  std::map<std::string, std::string> texts_;  // file -> text, for locating findings
  std::map<std::string, Doc> docs_;
  std::deque<json> owned_;
  std::set<std::string> bounded_, reported_arrays_, reported_strings_;
  std::set<std::tuple<std::string, std::string, std::string>> reported_;  // (rule, file, pointer)
  std::string stream_field_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;
  std::vector<simdjson::dom::element> examples_;
  std::vector<artifact::DocumentHandle> yaml_examples_;  // own the YAML examples' tapes
};

}  // namespace

const std::vector<LintRule>& lint_rules() { return kRules; }

Result<std::vector<Report>> lint_contract(const std::string& path, const LintOptions& options) {
  return Auditor(path, options).run();
}

}  // namespace invar
