// Schema compilation: index every resource, anchor and subschema by URI,
// compile the root, then resolve $ref/$dynamicRef targets until none remain.
#include <algorithm>
#include <iterator>
#include <cmath>
#include <fstream>
#include <sstream>
#include <tuple>
#include <sys/stat.h>

#include "artifact/reader.hpp"
#include "common/json_pointer.hpp"
#include "common/text.hpp"
#include "regex/regex.hpp"
#include "schema/document.hpp"
#include "schema/node.hpp"
#include "schema/schema.hpp"
#include "schema/uri.hpp"

namespace invar::schema {

using nlohmann::json;

namespace {

// Where a schema JSON value sits, learnt while indexing.
struct Place {
  std::string base;                                       // base URI for its $ref
  const std::string* resource;                            // its resource's URI
  std::vector<std::pair<std::string, std::string>> scopes;  // (resource URI, pointer) pairs
  std::string location;                                   // for messages
  std::string file;                                       // document file/URI for errors
  std::string pointer;                                    // pointer within that document
  Draft draft;
  bool third_party = false;  // in a document from CompileOptions::resolved
};

const char* const kSingle[] = {"additionalProperties", "propertyNames", "contains", "not", "if", "then",
                               "else", "unevaluatedItems", "unevaluatedProperties", "additionalItems",
                               "contentSchema", "items"};
const char* const kArrays[] = {"allOf", "anyOf", "oneOf", "prefixItems", "items"};
// The name a $recursiveAnchor (2019-09) is kept under among the dynamic
// anchors: '$' cannot start an anchor name, so it meets no $dynamicAnchor.
constexpr std::string_view kRecursiveAnchor = "$recursive";

// Whether a schema object holds nothing but "$ref" and keywords that assert
// nothing: evaluating it is evaluating its target.
bool only_annotations_besides_ref(const nlohmann::json& s) {
  static const std::string_view kInert[] = {"$ref",    "$id",         "$anchor",    "$schema",  "$comment",
                                            "$defs",   "definitions", "title",      "description", "default",
                                            "examples", "deprecated", "readOnly",   "writeOnly"};
  for (const auto& [key, value] : s.items())
    if (std::find(std::begin(kInert), std::end(kInert), key) == std::end(kInert)) return false;
  return true;
}

const char* const kMaps[] = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
                             "dependencies"};

std::string file_label(const std::string& uri) {
  if (uri.rfind("file://", 0) == 0) {
    size_t slash = uri.rfind('/');
    return uri.substr(slash + 1);
  }
  return uri;
}

std::string file_of(const std::string& uri) {
  return uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
}

// Whether `n` is only what the evaluator's leaf fast path checks.
bool is_leaf(const Node& n) {
  return !n.is_boolean && !n.ref && !n.dynamic_ref && !n.has_branches && !n.has_object_keywords &&
         !n.has_array_keywords && !n.has_unevaluated && !n.unevaluated_properties && !n.unevaluated_items &&
         !n.const_value && (!n.enum_values || n.enum_strings) && !n.exact_bounds && !n.multiple_of &&
         !n.format_assertion;
}

// Whether `n` is a closed object schema (Node::closed_object).
bool is_closed_object(const Node& n) {
  const Node* extra = n.additional_properties;
  return !n.is_boolean && !n.ref && !n.dynamic_ref && !n.has_branches && !n.has_unevaluated &&
         !n.unevaluated_properties && !n.unevaluated_items && !n.enum_values && !n.const_value && extra &&
         extra->is_boolean && !extra->boolean_value && n.pattern_properties.empty() && !n.property_names &&
         n.required_by_mask && n.dependent_required.empty() && n.dependent_schemas.empty() && !n.min_properties &&
         !n.max_properties;
}

// Node::property_slots for `n`'s properties (when there are at most 127).
std::vector<int8_t> property_slots(const Node& n) {
  if (n.properties.empty() || n.properties.size() > 127) return {};
  std::vector<int8_t> slots(256, Node::kNoProperty);
  for (size_t k = 0; k < n.properties.size(); ++k) {
    int8_t& slot = slots[Node::property_slot(n.properties[k].first)];
    slot = slot == Node::kNoProperty ? static_cast<int8_t>(k) : Node::kSlotShared;
  }
  return slots;
}

class Compiler {
 public:
  Compiler(Registry& reg, const CompileOptions& opts) : reg_(reg), opts_(opts) {}

  const Node* run(const json& root, const std::string& uri) {
    const json& doc = reg_.documents.emplace_back(root);
    validation_vocabulary_ = uses_validation_vocabulary(root);
    format_vocabulary_ = uses_vocabulary(root, "https://json-schema.org/draft/2020-12/vocab/format-assertion");
    add_document(doc, uri, numbers_of(uri));
    const Node* node = compile(&doc);
    resolve_pending();
    if (!error_)
      for (Node& n : reg_.nodes) {
        n.leaf = is_leaf(n), n.closed_object = is_closed_object(n);
        n.property_slots = property_slots(n);
      }
    return error_ ? nullptr : node;
  }

  std::optional<Error> error_;
  std::vector<Warning> warnings_;

 private:
  const std::string* intern(const std::string& s) { return &*reg_.resource_names.insert(s).first; }

  void fail(const Place& at, const std::string& keyword, const std::string& message) {
    if (error_) return;
    Error e;
    e.code = ErrorCode::schema;
    e.message = message;
    e.where.file = at.file;
    e.where.pointer = at.pointer;
    if (!keyword.empty()) text::append_pointer_token(e.where.pointer, keyword);
    error_ = std::move(e);
  }

  void warn(const Place& at, const std::string& keyword, const std::string& message) {
    if (warnings_.size() > kMaxWarnings) return;
    Warning w{at.file, at.pointer, message};
    text::append_pointer_token(w.pointer, keyword);
    if (warnings_.size() == kMaxWarnings) w = {at.file, "", "more warnings than " + std::to_string(kMaxWarnings) + ": not listed"};
    warnings_.push_back(std::move(w));
  }

  const NumberTexts* numbers_of(const std::string& uri) const {
    auto it = opts_.numbers.find(uri);
    return it == opts_.numbers.end() ? nullptr : &it->second;
  }

  // `numbers`: the document's exact numbers, by pointer (CompileOptions::numbers);
  // `file`: where the document was read, when its URI is not that file's.
  void add_document(const json& doc, const std::string& uri, const NumberTexts* numbers = nullptr,
                    const std::string& file = "", bool third_party = false) {
    if (numbers)
      for (const auto& [pointer, text] : *numbers)
        if (const json* at = json_at_pointer(doc, pointer); at && at->is_number()) reg_.exact_numbers[at] = text;
    std::string base = uri::normalize(uri::split_fragment(uri).first);
    const std::string* resource = intern(base);
    reg_.index[base] = &doc;
    Place place{base, resource, {{base, ""}}, file_label(base) + "#", file.empty() ? file_of(base) : file, "",
                opts_.default_draft, third_party};
    walk(doc, std::move(place));
  }

  // The dialect a "$schema" URI names: an official one, or a registered
  // metaschema that declares one (followed a few steps, never in a loop).
  std::optional<Draft> dialect_of(const std::string& metaschema_uri, int steps = 0) {
    if (auto d = draft_from_uri(metaschema_uri)) return d;
    if (steps >= 4) return std::nullopt;
    auto pre = opts_.preloaded.find(metaschema_uri);
    if (pre == opts_.preloaded.end()) pre = opts_.preloaded.find(uri::normalize(metaschema_uri));
    if (pre == opts_.preloaded.end() || !pre->second.is_object()) return std::nullopt;
    auto declared = pre->second.find("$schema");
    if (declared == pre->second.end() || !declared->is_string()) return std::nullopt;
    return dialect_of(declared->get<std::string>(), steps + 1);
  }

  // A resource root's "$schema" sets the dialect of everything under it.
  void switch_dialect(const json& j, Place& place) {
    auto declared = j.find("$schema");
    if (declared == j.end()) return;
    bool resource_root = place.pointer.empty() || j.contains("$id") || j.contains("id");
    if (!resource_root) return;
    if (!declared->is_string()) return fail(place, "$schema", "\"$schema\" must be a URI (a string)");
    const auto& text = declared->get_ref<const std::string&>();
    auto draft = dialect_of(text);
    if (!draft)
      return fail(place, "$schema",
                  "unknown \"$schema\" " + text::quoted(text) + ": invar evaluates " + dialect_uris() +
                      " (a custom metaschema must be registered beforehand and declare one of these)");
    place.draft = *draft;
  }

  void walk(const json& j, Place place) {
    if (walk_depth_ > 512) return;  // documents are parsed with a depth limit; this is a backstop
    if (j.is_object()) {
      switch_dialect(j, place);
      bool hidden_by_ref = ref_hides_siblings(place.draft) && j.contains("$ref");
      auto id = j.find(std::string(id_keyword(place.draft)));
      if (!hidden_by_ref && id != j.end() && id->is_string()) {
        const auto& text = id->get_ref<const std::string&>();
        if (place.draft <= Draft::draft7 && !text.empty() && text[0] == '#') {
          reg_.index[uri::split_fragment(place.base).first + text] = &j;
        } else {
          std::string resolved = uri::normalize(uri::split_fragment(uri::resolve(place.base, text)).first);
          place.base = resolved;
          place.resource = intern(resolved);
          place.scopes.push_back({resolved, ""});
        }
      }
      if (place.draft >= Draft::draft2019_09)
        if (auto a = j.find("$anchor"); a != j.end() && a->is_string())
          reg_.index[*place.resource + "#" + a->get<std::string>()] = &j;
      if (place.draft == Draft::draft2020_12)
        if (auto a = j.find("$dynamicAnchor"); a != j.end() && a->is_string()) {
          std::string key = *place.resource + "#" + a->get<std::string>();
          reg_.index[key] = &j;
          dynamic_targets_.push_back({key, &j});
        }
      if (place.draft == Draft::draft2019_09)
        if (auto a = j.find("$recursiveAnchor"); a != j.end() && *a == true)
          dynamic_targets_.push_back({*place.resource + "#" + std::string(kRecursiveAnchor), &j});
    }
    for (const auto& [res, ptr] : place.scopes) reg_.index.emplace(ptr.empty() ? res : res + "#" + ptr, &j);
    places_.emplace(&j, place);
    if (!j.is_object()) return;
    ++walk_depth_;
    auto child = [&](const json& c, std::initializer_list<std::string_view> tokens) {
      Place p = place;
      for (auto& [res, ptr] : p.scopes)
        for (auto t : tokens) text::append_pointer_token(ptr, t);
      for (auto t : tokens) {
        text::append_pointer_token(p.location, t);
        text::append_pointer_token(p.pointer, t);
      }
      walk(c, std::move(p));
    };
    for (const char* kw : kSingle) {
      auto it = j.find(kw);
      if (it != j.end()) child(*it, {kw});  // any value: compile() says when it is not a schema
    }
    for (const char* kw : kArrays) {
      auto it = j.find(kw);
      if (it != j.end() && it->is_array())
        for (size_t i = 0; i < it->size(); ++i) child((*it)[i], {kw, std::to_string(i)});
    }
    for (const char* kw : kMaps) {
      auto it = j.find(kw);
      if (it != j.end() && it->is_object())
        for (auto& [name, sub] : it->items()) child(sub, {kw, name});
    }
    --walk_depth_;
  }

  // Reads a schema document by URI: preloaded ones, or files under file_root.
  const json* load_document(const std::string& doc_uri) {
    if (reg_.index.count(doc_uri)) return reg_.index[doc_uri];
    auto pre = opts_.preloaded.find(doc_uri);
    if (pre != opts_.preloaded.end()) {
      const json& doc = reg_.documents.emplace_back(pre->second);
      add_document(doc, doc_uri, numbers_of(doc_uri));
      return &doc;
    }
    if (auto bundled = bundled_metaschema(doc_uri); !bundled.empty()) {
      const json& doc = reg_.documents.emplace_back(json::parse(bundled));
      add_document(doc, doc_uri);
      return &doc;
    }
    if (opts_.resolved)
      if (auto copy = opts_.resolved->by_id.find(doc_uri); copy != opts_.resolved->by_id.end() && copy->second.size() == 1) {
        const json& doc = reg_.documents.emplace_back(copy->second.front().document);
        add_document(doc, doc_uri, &copy->second.front().numbers, copy->second.front().file, /*third_party=*/true);
        return &doc;
      }
    if (opts_.file_root.empty() || doc_uri.rfind("file://", 0) != 0) return nullptr;
    std::string path = doc_uri.substr(7);
    std::string root = opts_.file_root;
    if (!root.empty() && root.back() != '/') root += '/';
    if (path.rfind(root, 0) != 0 || path.find("/../") != std::string::npos) return nullptr;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
    if (static_cast<uint64_t>(st.st_size) > opts_.max_document_bytes) return nullptr;
    std::ifstream in(path, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    std::string bytes = buf.str();
    NumberTexts numbers;
    auto parsed = read_document(bytes, path, &numbers);  // JSON, or YAML by the extension
    if (!parsed) return nullptr;
    const json& doc = reg_.documents.emplace_back(std::move(parsed.value()));
    add_document(doc, doc_uri, &numbers);
    return &doc;
  }

  const json* lookup(const std::string& target) {
    std::string key = uri::normalize(target);
    auto it = reg_.index.find(key);
    if (it != reg_.index.end()) return it->second;
    auto [doc_uri, fragment] = uri::split_fragment(key);
    const json* doc = load_document(doc_uri);
    if (!doc) return nullptr;
    it = reg_.index.find(key);
    if (it != reg_.index.end()) return it->second;
    if (!fragment.empty() && fragment[0] != '/') return nullptr;  // unknown anchor
    // A JSON Pointer to a place the index did not visit (inside an unknown keyword).
    std::string decoded = uri::percent_decode(fragment);
    const json* at = json_at_pointer(*doc, decoded);
    if (!at) return nullptr;
    if (!places_.count(at)) {
      const Place& doc_place = places_.at(doc);
      Place p = doc_place;
      p.location = file_label(doc_uri) + "#" + decoded;
      p.pointer = decoded;
      p.scopes = {{doc_uri, decoded}};
      walk(*at, std::move(p));
    }
    return at;
  }

  // Whether the root's metaschema (known beforehand) lists `vocabulary` in
  // its "$vocabulary" (required or not: invar supports it either way).
  bool uses_vocabulary(const json& root, std::string_view vocabulary) {
    if (!root.is_object() || !root.contains("$schema") || !root["$schema"].is_string()) return false;
    auto pre = opts_.preloaded.find(uri::normalize(root["$schema"].get<std::string>()));
    if (pre == opts_.preloaded.end() || !pre->second.is_object()) return false;
    auto vocab = pre->second.find("$vocabulary");
    return vocab != pre->second.end() && vocab->is_object() && vocab->contains(std::string(vocabulary));
  }

  // $vocabulary: a root whose metaschema (known beforehand) leaves out the
  // validation vocabulary turns its keywords (type, enum, bounds...) off.
  bool uses_validation_vocabulary(const json& root) {
    if (!root.is_object() || !root.contains("$schema") || !root["$schema"].is_string()) return true;
    std::string meta = uri::normalize(root["$schema"].get<std::string>());
    auto pre = opts_.preloaded.find(meta);
    if (pre == opts_.preloaded.end() || !pre->second.is_object()) return true;
    auto vocab = pre->second.find("$vocabulary");
    if (vocab == pre->second.end() || !vocab->is_object()) return true;
    return vocab->contains("https://json-schema.org/draft/2020-12/vocab/validation") ||
           vocab->contains("https://json-schema.org/draft/2019-09/vocab/validation");
  }

  // The value of keyword `kw` in schema `j`, when present and defined by the
  // schema's draft (a keyword of another draft is an error unless
  // allow_unknown_keywords, and then it is ignored, never evaluated).
  static const json* keyword(const json& j, const Place& at, std::string_view kw) {
    if (!defines_keyword(at.draft, kw)) return nullptr;
    auto it = j.find(kw);
    return it == j.end() ? nullptr : &*it;
  }

  std::optional<uint64_t> count_of(const json& j, const Place& at, const char* kw) {
    const json* it = keyword(j, at, kw);
    if (!it) return std::nullopt;
    if (it->is_number_unsigned()) return it->get<uint64_t>();
    if (it->is_number_float() && it->get<double>() >= 0 && std::floor(it->get<double>()) == it->get<double>()) {
      double d = it->get<double>();  // 2^64 and beyond: no count can reach it
      return d >= 18446744073709551615.0 ? UINT64_MAX : static_cast<uint64_t>(d);
    }
    fail(at, kw, std::string("\"") + kw + "\" must be a non-negative integer");
    return std::nullopt;
  }

  std::optional<Bound> number_at(const json& j, const Place& at, const char* kw) {
    const json* it = keyword(j, at, kw);
    if (!it) return std::nullopt;
    if (!it->is_number()) {
      std::string hint = it->is_boolean() && std::string_view(kw).rfind("exclusive", 0) == 0
                             ? " (a boolean here is draft-04's form: declare \"$schema\" or choose the dialect draft-04)"
                             : "";
      fail(at, kw, std::string("\"") + kw + "\" must be a number" + hint);
      return std::nullopt;
    }
    // The exact text of an integer nlohmann holds as a double, or of a 64-bit one past 2^53.
    std::string text;
    if (auto exact = reg_.exact_numbers.find(it); exact != reg_.exact_numbers.end()) text = exact->second;
    else if (it->is_number_unsigned()) text = std::to_string(it->get<uint64_t>());
    else if (it->is_number_integer()) text = std::to_string(it->get<int64_t>());
    return Bound::of(it->get<double>(), std::move(text));
  }

  const Node* sub(const json& j, const Place& at, const char* kw) {
    const json* it = keyword(j, at, kw);
    if (!it || !(it->is_object() || it->is_boolean())) return nullptr;
    return compile(it);
  }

  std::vector<const Node*> sub_list(const json& j, const Place& at, const char* kw) {
    std::vector<const Node*> out;
    const json* it = keyword(j, at, kw);
    if (!it) return out;
    if (!it->is_array() || it->empty()) {
      fail(at, kw, std::string("\"") + kw + "\" must be a non-empty array of schemas");
      return out;
    }
    for (const auto& s : *it) {
      if (!(s.is_object() || s.is_boolean())) {
        fail(at, kw, std::string("\"") + kw + "\" must contain only schemas");
        return {};
      }
      out.push_back(compile(&s));
    }
    return out;
  }

  // Unknown keywords, by whose schema it is: false when one is an error.
  bool known_keywords_only(const json& s, const Place& at) {
    KeywordPolicy policy = opts_.allow_unknown_keywords ? KeywordPolicy::ignore
                           : at.third_party             ? opts_.resolved_unknown_keywords
                                                        : opts_.unknown_keywords;
    if (policy == KeywordPolicy::ignore) return true;
    for (const auto& [key, value] : s.items()) {
      if (defines_keyword(at.draft, key) || is_annotation_keyword(key)) continue;
      std::string what = "unknown keyword " + text::quoted(key) +
                         text::did_you_mean(key, {keywords(at.draft).begin(), keywords(at.draft).end()}) + " in a " +
                         std::string(dialect(at.draft).name) + " schema";
      if (policy == KeywordPolicy::warn) {
        warn(at, key, what + ": ignored, as the specification says (an annotation)");
        continue;
      }
      fail(at, key,
           what + ": the specification ignores it, so a typo would accept what the schema means to refuse "
                  "(--unknown-keywords warn|ignore, or the contract's \"unknown_keywords\", lets such keywords be)");
      return false;
    }
    return true;
  }

  uint8_t type_bit(const std::string& name) {
    if (name == "null") return kNull;
    if (name == "boolean") return kBoolean;
    if (name == "object") return kObject;
    if (name == "array") return kArray;
    if (name == "number") return kNumber;
    if (name == "integer") return kInteger;
    if (name == "string") return kString;
    return 0;
  }

  // "pattern" (`property` null) or a key of "patternProperties".
  std::unique_ptr<regex::Pattern> pattern(const std::string& text, const Place& at, const std::string& keyword,
                                          const std::string* property = nullptr) {
    auto compiled = regex::compile_ecma(text, opts_.regex_max_mem, opts_.regex_fallback == RegexFallback::pcre2);
    std::string pointer = at.pointer;
    text::append_pointer_token(pointer, keyword);
    if (property) text::append_pointer_token(pointer, *property);
    if (compiled.pattern) {
      if (compiled.pattern->fallback()) reg_.fallback_patterns.push_back({at.file, pointer, text});
      return std::move(compiled.pattern);
    }
    Place where = at;
    where.pointer = pointer;
    fail(where, "", pattern_error(text, compiled));
    return nullptr;
  }

  static std::string pattern_error(const std::string& text, const regex::CompileOutcome& c) {
    using Failure = regex::CompileOutcome::Failure;
    std::string p = "pattern " + text::quoted(text);
    std::string offset = " (at offset " + std::to_string(c.offset) + ")";
    switch (c.failure) {
      case Failure::syntax: return p + " is not a valid ECMA-262 regular expression: " + c.error + offset;
      case Failure::unsupported:
        return p + " uses " + c.error + offset +
               ", which no linear-time regex engine runs: refused by default; \"regex_fallback\": \"pcre2\" in the "
               "contract (--regex-fallback pcre2, Options::regex_fallback) runs it on PCRE2 under a match limit";
      case Failure::too_large: return p + " cannot run on RE2: " + c.error + offset;
      case Failure::fallback: return p + " does not compile under PCRE2 (the regex fallback): " + c.error;
      case Failure::engine: break;
    }
    return p + " does not compile under RE2: " + c.error;
  }

  // Keywords of the validation vocabulary (and format). False on a compile error.
  bool compile_validation(Node& n, const json& s, const Place& at) {
    if (const json* t = keyword(s, at, "type")) {
      std::vector<json> names = t->is_array() ? t->get<std::vector<json>>() : std::vector<json>{*t};
      for (const auto& name : names) {
        uint8_t bit = name.is_string() ? type_bit(name.get<std::string>()) : 0;
        if (!bit) return fail(at, "type", "unknown type " + name.dump()), false;
        n.types |= bit;
      }
    }
    if (const json* e = keyword(s, at, "enum")) {
      if (!e->is_array()) return fail(at, "enum", "\"enum\" must be an array"), false;
      n.enum_values = e;
      n.enum_strings.emplace();
      for (const auto& value : *e) {
        if (!value.is_string()) {
          n.enum_strings.reset();
          break;
        }
        n.enum_strings->push_back(value.get<std::string>());
      }
    }
    n.const_value = keyword(s, at, "const");

    n.minimum = number_at(s, at, "minimum");
    n.maximum = number_at(s, at, "maximum");
    if (at.draft == Draft::draft4) {
      // draft-04: exclusiveMinimum/exclusiveMaximum are booleans that make
      // minimum/maximum exclusive.
      for (auto [kw, bound, exclusive] : {std::tuple{"exclusiveMinimum", &n.minimum, &n.exclusive_minimum},
                                          std::tuple{"exclusiveMaximum", &n.maximum, &n.exclusive_maximum}}) {
        const json* flag = keyword(s, at, kw);
        if (!flag) continue;
        if (!flag->is_boolean())
          return fail(at, kw, std::string("\"") + kw + "\" must be a boolean in a draft-04 schema"), false;
        if (*flag == true && *bound) {
          *exclusive = *bound;
          bound->reset();
        }
      }
    } else {
      n.exclusive_minimum = number_at(s, at, "exclusiveMinimum");
      n.exclusive_maximum = number_at(s, at, "exclusiveMaximum");
    }
    n.multiple_of = number_at(s, at, "multipleOf");
    if (n.multiple_of && n.multiple_of->value <= 0) fail(at, "multipleOf", "\"multipleOf\" must be greater than 0");
    for (const auto* b : {&n.minimum, &n.maximum, &n.exclusive_minimum, &n.exclusive_maximum, &n.multiple_of})
      n.exact_bounds |= *b && !(*b)->exact.empty();
    n.min_length = count_of(s, at, "minLength");
    n.max_length = count_of(s, at, "maxLength");
    if (const json* p = keyword(s, at, "pattern")) {
      if (!p->is_string()) return fail(at, "pattern", "\"pattern\" must be a string"), false;
      n.pattern_text = p->get<std::string>();
      n.pattern = pattern(n.pattern_text, at, "pattern");
    }
    n.min_properties = count_of(s, at, "minProperties");
    n.max_properties = count_of(s, at, "maxProperties");
    n.min_items = count_of(s, at, "minItems");
    n.max_items = count_of(s, at, "maxItems");
    return !error_;
  }

  void compile_dependencies(Node& n, const json& s, const Place& at) {
    auto add = [&](const char* keyword_name, const json* map, bool allow_arrays, bool allow_schemas) {
      if (!map || !map->is_object()) return;
      for (auto& [name, dep] : map->items()) {
        if (dep.is_array() && allow_arrays) {
          std::vector<std::string> names;
          for (const auto& d : dep)
            if (d.is_string()) names.push_back(d.get<std::string>());
          n.dependent_required.push_back({name, std::move(names), keyword_name});
        } else if ((dep.is_object() || dep.is_boolean()) && allow_schemas) {
          n.dependent_schemas.push_back({name, compile(&dep)});
        }
      }
    };
    // 2019-09 and 2020-12 metaschemas still define "dependencies" (for
    // compatibility): it keeps its meaning there.
    add("dependencies", keyword(s, at, "dependencies"), true, true);
    if (at.draft >= Draft::draft2019_09) {
      add("dependentRequired", keyword(s, at, "dependentRequired"), true, false);
      add("dependentSchemas", keyword(s, at, "dependentSchemas"), false, true);
    }
  }

  const Node* compile(const json* j) {
    auto done = compiled_.find(j);
    if (done != compiled_.end()) return done->second;
    Node& n = reg_.nodes.emplace_back();
    compiled_[j] = &n;
    if (error_) return &n;
    auto place = places_.find(j);
    if (place == places_.end()) {  // not reached by the index (past its depth backstop)
      if (!error_) error_ = Error{ErrorCode::limit, "a schema nested too deeply to index", {}};
      return &n;
    }
    const Place& at = place->second;
    n.location = at.location;
    n.resource = at.resource;
    if (j->is_boolean()) {
      n.is_boolean = true;
      n.boolean_value = j->get<bool>();
      return &n;
    }
    if (!j->is_object()) {
      fail(at, "", "a schema must be an object or a boolean");
      return &n;
    }
    const json& s = *j;
    if (!known_keywords_only(s, at)) return &n;

    bool hides_siblings = ref_hides_siblings(at.draft);
    if (const json* ref = keyword(s, at, "$ref")) {
      if (!ref->is_string()) return fail(at, "$ref", "\"$ref\" must be a string"), &n;
      pending_.push_back({&n, uri::resolve(at.base, ref->get<std::string>()), RefKind::plain, at, "$ref"});
      n.ref_only = hides_siblings || only_annotations_besides_ref(s);
      if (hides_siblings) return &n;
    }
    if (const json* ref = keyword(s, at, "$dynamicRef"); ref && ref->is_string())
      pending_.push_back({&n, uri::resolve(at.base, ref->get<std::string>()), RefKind::dynamic, at, "$dynamicRef"});
    if (const json* ref = keyword(s, at, "$recursiveRef"); ref && ref->is_string())
      pending_.push_back({&n, uri::resolve(at.base, ref->get<std::string>()), RefKind::recursive, at, "$recursiveRef"});

    if (validation_vocabulary_ && !compile_validation(n, s, at)) return &n;
    // "format" is its own vocabulary's (format-annotation, format-assertion), not validation's.
    if (const json* f = keyword(s, at, "format"); f && f->is_string()) {
      n.format = f->get<std::string>();
      n.format_assertion = opts_.format_assertion || format_vocabulary_;
    }

    if (const json* p = keyword(s, at, "properties"); p && p->is_object()) {
      for (auto& [name, sub_schema] : p->items()) n.properties.push_back({name, compile(&sub_schema)});
      std::sort(n.properties.begin(), n.properties.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    if (const json* p = keyword(s, at, "patternProperties"); p && p->is_object()) {
      for (auto& [text, sub_schema] : p->items()) {
        n.pattern_properties.push_back({pattern(text, at, "patternProperties", &text), compile(&sub_schema)});
        n.pattern_property_texts.push_back(text);
      }
    }
    n.additional_properties = sub(s, at, "additionalProperties");
    n.property_names = sub(s, at, "propertyNames");
    if (const json* r = keyword(s, at, "required")) {
      if (!r->is_array()) return fail(at, "required", "\"required\" must be an array of strings"), &n;
      for (const auto& name : *r) {
        if (!name.is_string()) return fail(at, "required", "\"required\" must be an array of strings"), &n;
        n.required.push_back(name.get<std::string>());
      }
    }
    n.required_by_mask = n.properties.size() <= 64;
    for (const auto& name : n.required) {
      auto it = std::find_if(n.properties.begin(), n.properties.end(), [&](const auto& p) { return p.first == name; });
      if (it == n.properties.end()) n.required_by_mask = false;
      else n.required_mask |= uint64_t(1) << (it - n.properties.begin());
    }
    compile_dependencies(n, s, at);

    // Items: "items" as an array (and "additionalItems") up to 2019-09,
    // "prefixItems" (and "items" for the rest) in 2020-12.
    const json* items = keyword(s, at, "items");
    if (at.draft <= Draft::draft2019_09 && items && items->is_array()) {
      for (const auto& item : *items) n.prefix_items.push_back(compile(&item));
      n.items = sub(s, at, "additionalItems");
    } else {
      if (const json* p = keyword(s, at, "prefixItems"); p && p->is_array())
        for (const auto& item : *p) n.prefix_items.push_back(compile(&item));
      n.items = sub(s, at, "items");
    }
    n.min_contains = count_of(s, at, "minContains");
    n.max_contains = count_of(s, at, "maxContains");
    n.unevaluated_items = sub(s, at, "unevaluatedItems");
    n.unevaluated_properties = sub(s, at, "unevaluatedProperties");
    n.has_unevaluated = n.unevaluated_items || n.unevaluated_properties;
    n.contains = sub(s, at, "contains");
    if (const json* u = keyword(s, at, "uniqueItems"); u && u->is_boolean()) n.unique_items = u->get<bool>();

    n.all_of = sub_list(s, at, "allOf");
    n.any_of = sub_list(s, at, "anyOf");
    n.one_of = sub_list(s, at, "oneOf");
    n.not_schema = sub(s, at, "not");
    n.if_schema = sub(s, at, "if");
    if (n.if_schema) {
      n.then_schema = sub(s, at, "then");
      n.else_schema = sub(s, at, "else");
    }
    n.has_branches = !n.all_of.empty() || !n.any_of.empty() || !n.one_of.empty() || n.not_schema || n.if_schema;
    n.has_object_keywords = !n.properties.empty() || !n.pattern_properties.empty() || n.additional_properties ||
                            n.property_names || !n.required.empty() || !n.dependent_required.empty() ||
                            !n.dependent_schemas.empty() || n.min_properties || n.max_properties;
    n.has_array_keywords = !n.prefix_items.empty() || n.items || n.contains || n.min_items || n.max_items ||
                           n.unique_items;
    return &n;
  }

  void resolve_pending() {
    size_t dynamic_done = 0;
    while (!error_) {
      if (pending_.empty()) {
        if (dynamic_done == dynamic_targets_.size()) return;
        for (; dynamic_done < dynamic_targets_.size(); ++dynamic_done) {
          const auto& [key, target] = dynamic_targets_[dynamic_done];
          reg_.dynamic_anchors[key] = compile(target);
        }
        continue;
      }
      Pending p = std::move(pending_.back());
      pending_.pop_back();
      const json* target = lookup(p.target);
      if (!target) return fail(p.at, p.keyword, unresolved(p.keyword, p.target));
      const Node* node = compile(target);
      if (p.kind == RefKind::plain) {
        p.node->ref = node;
        continue;
      }
      // $dynamicRef/$recursiveRef: the static target, unless it carries the
      // matching dynamic anchor: then the outermost one in the dynamic scope.
      p.node->dynamic_ref = node;
      if (!target->is_object()) continue;
      if (p.kind == RefKind::dynamic) {
        std::string fragment = uri::split_fragment(p.target).second;
        auto anchor = target->find("$dynamicAnchor");
        if (anchor != target->end() && anchor->is_string() && *anchor == fragment) p.node->dynamic_anchor = fragment;
      } else {
        auto anchor = target->find("$recursiveAnchor");
        if (anchor != target->end() && *anchor == true) p.node->dynamic_anchor = kRecursiveAnchor;
      }
    }
  }

  // Why `target` is not found, and what would find it.
  std::string unresolved(const std::string& keyword, const std::string& target) {
    std::string doc_uri = uri::split_fragment(uri::normalize(target)).first;
    std::string what = "cannot resolve " + keyword + " " + text::quoted(target);
    if (opts_.resolved)
      if (auto copy = opts_.resolved->by_id.find(doc_uri); copy != opts_.resolved->by_id.end()) {
        if (copy->second.size() > 1)
          return what + ": two schemas given to resolve claim \"$id\" " + text::quoted(doc_uri) + ": " +
                 copy->second[0].file + " and " + copy->second[1].file + " (keep one)";
        return what + ": " + copy->second.front().file + " (\"$id\" " + text::quoted(doc_uri) +
               ") has no such anchor or location";
      }
    if (reg_.index.count(doc_uri)) return what + ": the document has no such anchor or location";
    if (doc_uri.rfind("file://", 0) == 0)
      return what + ": no such schema file beside the schema (files in its directory and below are followed)";
    std::string given;
    if (opts_.resolved && !opts_.resolved->paths.empty()) {
      given = " (the schemas given, from";
      for (const auto& path : opts_.resolved->paths) given += " " + path;
      given += ", have none)";
    }
    return what + ": no local copy of " + text::quoted(doc_uri) + given +
           ". invar never fetches a schema: give a copy whose \"$id\" is " + text::quoted(doc_uri) +
           " with --resolve FILE_OR_DIR (or the contract's \"resolve\")";
  }

  enum class RefKind { plain, dynamic, recursive };
  struct Pending {
    Node* node;
    std::string target;
    RefKind kind;
    Place at;
    std::string keyword;
  };

  Registry& reg_;
  const CompileOptions& opts_;
  std::map<const json*, Place> places_;
  std::map<const json*, Node*> compiled_;
  std::vector<Pending> pending_;
  std::vector<std::pair<std::string, const json*>> dynamic_targets_;  // (resource#anchor, schema)
  int walk_depth_ = 0;
  bool validation_vocabulary_ = true;
  bool format_vocabulary_ = false;  // the metaschema lists the format-assertion vocabulary: format asserts
};

}  // namespace

Validator::Validator() : registry_(std::make_shared<Registry>()) {}
Validator::~Validator() = default;
Validator::Validator(Validator&&) noexcept = default;

const std::vector<FallbackPattern>& Validator::fallback_patterns() const { return registry_->fallback_patterns; }

Result<std::shared_ptr<const Validator>> Validator::compile(const json& document, const std::string& uri,
                                                            const CompileOptions& options) {
  std::shared_ptr<Validator> v(new Validator());
  v->registry_->format_assertion = options.format_assertion;
  Compiler compiler(*v->registry_, options);
  v->root_ = compiler.run(document, uri);
  if (compiler.error_) return *compiler.error_;
  v->warnings_ = std::move(compiler.warnings_);
  v->uri_ = uri;
  v->options_ = std::make_shared<const CompileOptions>(options);
  return std::shared_ptr<const Validator>(std::move(v));
}

namespace {

// Root keywords that cannot see a member's value (besides through
// "properties"): what items_of_member allows at the root.
bool blind_to_member_values(std::string_view keyword) {
  static constexpr std::string_view kAllowed[] = {
      "$schema", "$id", "id", "$defs", "definitions", "$comment", "$anchor", "title", "description", "default",
      "examples", "deprecated", "readOnly", "writeOnly", "type", "required", "properties", "additionalProperties",
      "minProperties", "maxProperties", "propertyNames", "dependentRequired"};
  return keyword.rfind("x-", 0) == 0 || std::find(std::begin(kAllowed), std::end(kAllowed), keyword) != std::end(kAllowed);
}

}  // namespace

std::optional<Validator::MemberSplit> Validator::split_member(std::string_view name) const {
  if (!root_ || start_depth_ != 0 || !options_ || registry_->documents.empty() || !registry_->dynamic_anchors.empty())
    return std::nullopt;
  const json& doc = registry_->documents.front();
  if (!doc.is_object() || root_->ref_only) return std::nullopt;
  static constexpr std::string_view kMemberAllowed[] = {"type",     "items",      "minItems", "maxItems",
                                                        "title",    "description", "$comment", "default",
                                                        "examples", "deprecated", "readOnly", "writeOnly"};
  auto allowed = [](std::string_view keyword) {
    return keyword.rfind("x-", 0) == 0 ||
           std::find(std::begin(kMemberAllowed), std::end(kMemberAllowed), keyword) != std::end(kMemberAllowed);
  };
  const json* member = &doc;  // "": the root is the array
  if (name.empty()) {
    for (const auto& [keyword, value] : doc.items())
      if (!allowed(keyword) && keyword != "$schema" && keyword != "$id" && keyword != "id" && keyword != "$defs" &&
          keyword != "definitions" && keyword != "$anchor")
        return std::nullopt;
  } else {
    for (const auto& [keyword, value] : doc.items())
      if (!blind_to_member_values(keyword)) return std::nullopt;
    auto properties = doc.find("properties");
    if (properties == doc.end() || !properties->is_object()) return std::nullopt;
    auto it = properties->find(std::string(name));
    if (it == properties->end() || !it->is_object()) return std::nullopt;
    member = &*it;
    for (const auto& [keyword, value] : member->items())
      if (!allowed(keyword)) return std::nullopt;
  }
  auto items = member->find("items");
  if (items == member->end() || !(items->is_object() || items->is_boolean())) return std::nullopt;  // not a tuple
  MemberSplit split;
  auto bound = [&](const char* keyword, uint64_t& out) {
    auto it = member->find(keyword);
    if (it == member->end()) return true;
    if (!it->is_number() || (it->is_number_float() && it->get<double>() != std::floor(it->get<double>())) ||
        it->get<double>() < 0 || it->get<double>() > 1e18)
      return false;
    out = static_cast<uint64_t>(it->get<double>());
    return true;
  };
  uint64_t max = 0;
  if (!bound("minItems", split.min_items) || !bound("maxItems", max)) return std::nullopt;
  if (member->contains("maxItems")) split.max_items = max;
  // The items node, compiled with the root (same registry): found by its location.
  std::string location = root_->location;
  if (!name.empty())
    for (std::string_view token : {std::string_view("properties"), name}) text::append_pointer_token(location, token);
  text::append_pointer_token(location, "items");
  const Node* node = nullptr;
  for (const Node& n : registry_->nodes)
    if (n.location == location && n.resource == root_->resource) node = &n;
  if (!node) return std::nullopt;
  std::shared_ptr<Validator> element(new Validator());
  element->registry_ = registry_;
  element->root_ = node;
  element->start_depth_ = name.empty() ? 1 : 2;  // the root (then properties/<name>) entered before items
  split.items = std::move(element);
  if (!member->contains("minItems") && !member->contains("maxItems")) {
    split.root = shared_from_this();
    return split;
  }
  // The root less the bounds the element count is checked against instead.
  json without = doc;
  json& bounded = name.empty() ? without : without["properties"][std::string(name)];
  bounded.erase("minItems");
  bounded.erase("maxItems");
  auto root = compile(without, uri_, *options_);
  if (!root) return std::nullopt;
  split.root = std::move(root.value());
  return split;
}

std::vector<std::string> Validator::splittable_members() const {
  std::vector<std::string> names;
  if (registry_->documents.empty()) return names;
  const json& doc = registry_->documents.front();
  auto properties = doc.is_object() ? doc.find("properties") : doc.end();
  if (properties == doc.end() || !properties->is_object()) return names;
  for (const auto& [name, ignored] : properties->items())
    if (split_member(name)) names.push_back(name);
  return names;
}

}  // namespace invar::schema
