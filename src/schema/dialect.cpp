#include "schema/dialect.hpp"

#include <algorithm>
#include <iterator>

#include "schema/metaschemas.hpp"

namespace invar::schema {

namespace {

constexpr Dialect kDialects[] = {
    {Draft::draft4, "draft-04", "http://json-schema.org/draft-04/schema"},
    {Draft::draft6, "draft-06", "http://json-schema.org/draft-06/schema"},
    {Draft::draft7, "draft-07", "http://json-schema.org/draft-07/schema"},
    {Draft::draft2019_09, "2019-09", "https://json-schema.org/draft/2019-09/schema"},
    {Draft::draft2020_12, "2020-12", "https://json-schema.org/draft/2020-12/schema"},
};

constexpr std::string_view kDraft4[] = {
    "$schema", "id", "$ref", "$comment", "definitions", "$defs", "allOf", "anyOf", "oneOf", "not", "items", "additionalItems",
    "properties", "patternProperties", "additionalProperties", "dependencies", "type", "enum", "multipleOf",
    "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
    "minItems", "uniqueItems", "maxProperties", "minProperties", "required", "format", "title", "description",
    "default"};
constexpr std::string_view kDraft6[] = {
    "$schema", "$id", "$ref", "$comment", "definitions", "$defs", "allOf", "anyOf", "oneOf", "not", "items", "additionalItems",
    "contains", "properties", "patternProperties", "additionalProperties", "propertyNames", "dependencies", "type",
    "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
    "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties", "required",
    "format", "title", "description", "default", "examples"};
constexpr std::string_view kDraft7[] = {
    "$schema", "$id", "$ref", "$comment", "definitions", "$defs", "allOf", "anyOf", "oneOf", "not", "if", "then",
    "else", "items", "additionalItems", "contains", "properties", "patternProperties", "additionalProperties",
    "propertyNames", "dependencies", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties",
    "minProperties", "required", "format", "contentEncoding", "contentMediaType", "title", "description", "default",
    "readOnly", "writeOnly", "examples"};
constexpr std::string_view kDraft2019[] = {
    "$schema", "$id", "$ref", "$anchor", "$recursiveRef", "$recursiveAnchor", "$vocabulary", "$comment", "$defs",
    "definitions", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "items",
    "additionalItems", "contains", "properties", "patternProperties", "additionalProperties", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum",
    "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems",
    "maxContains", "minContains", "maxProperties", "minProperties", "required", "dependentRequired", "format",
    "contentEncoding", "contentMediaType", "contentSchema", "title", "description", "default", "deprecated",
    "readOnly", "writeOnly", "examples", "dependencies"};
constexpr std::string_view kDraft2020[] = {
    "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary", "$comment", "$defs",
    "definitions", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "prefixItems", "items",
    "contains", "properties", "patternProperties", "additionalProperties", "propertyNames", "unevaluatedItems",
    "unevaluatedProperties", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains",
    "minContains", "maxProperties", "minProperties", "required", "dependentRequired", "format", "contentEncoding",
    "contentMediaType", "contentSchema", "title", "description", "default", "deprecated", "readOnly", "writeOnly",
    "examples", "dependencies"};

std::string_view without_empty_fragment(std::string_view uri) {
  if (!uri.empty() && uri.back() == '#') uri.remove_suffix(1);
  return uri;
}

}  // namespace

std::span<const Dialect> dialects() { return kDialects; }

const Dialect& dialect(Draft draft) { return kDialects[static_cast<int>(draft)]; }

std::optional<Draft> draft_from_name(std::string_view name) {
  static constexpr std::pair<std::string_view, Draft> kAliases[] = {
      {"draft-04", Draft::draft4}, {"draft4", Draft::draft4},   {"4", Draft::draft4},
      {"draft-06", Draft::draft6}, {"draft6", Draft::draft6},   {"6", Draft::draft6},
      {"draft-07", Draft::draft7}, {"draft7", Draft::draft7},   {"7", Draft::draft7},
      {"2019-09", Draft::draft2019_09}, {"draft2019-09", Draft::draft2019_09},
      {"2020-12", Draft::draft2020_12}, {"draft2020-12", Draft::draft2020_12}};
  for (const auto& [alias, draft] : kAliases)
    if (alias == name) return draft;
  return draft_from_uri(name);
}

std::optional<Draft> draft_from_uri(std::string_view uri) {
  uri = without_empty_fragment(uri);
  for (const auto& d : kDialects)
    if (d.uri == uri) return d.draft;
  return std::nullopt;
}

std::string dialect_names() {
  std::string out;
  for (const auto& d : kDialects) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

std::string dialect_uris() {
  std::string out;
  for (const auto& d : kDialects)
    out += (out.empty() ? "" : ", ") + std::string(d.name) + " \"" + std::string(d.uri) + "\"";
  return out;
}

std::span<const std::string_view> keywords(Draft draft) {
  switch (draft) {
    case Draft::draft4: return kDraft4;
    case Draft::draft6: return kDraft6;
    case Draft::draft7: return kDraft7;
    case Draft::draft2019_09: return kDraft2019;
    case Draft::draft2020_12: return kDraft2020;
  }
  return kDraft2020;
}

bool defines_keyword(Draft draft, std::string_view keyword) {
  auto list = keywords(draft);
  return std::find(list.begin(), list.end(), keyword) != list.end();
}

bool is_annotation_keyword(std::string_view keyword) {
  static constexpr std::string_view kAnnotations[] = {
      // VS Code's and other editors' JSON language service
      "markdownDescription", "markdownEnumDescriptions", "enumDescriptions", "enumItemLabels", "deprecationMessage",
      "errorMessage", "patternErrorMessage", "defaultSnippets", "doNotSuggest", "suggestSortText", "allowComments",
      "allowTrailingCommas", "markdownDeprecationMessage", "editPresentation", "scope", "order", "tags", "ignoreSync",
      "restricted", "included",
      // TypeScript generators, OpenAPI
      "tsType", "tsEnumNames", "nullable", "example", "discriminator", "externalDocs", "xml",
      // annotations of a later draft, in an earlier one
      "$comment", "deprecated", "examples", "readOnly", "writeOnly", "contentEncoding", "contentMediaType",
      "contentSchema", "title", "description", "default"};
  return keyword.rfind("x-", 0) == 0 ||
         std::find(std::begin(kAnnotations), std::end(kAnnotations), keyword) != std::end(kAnnotations);
}

std::string_view bundled_metaschema(std::string_view uri) {
  uri = without_empty_fragment(uri);
  for (const auto& m : kBundledMetaschemas)
    if (m.uri == uri) return m.text;
  return {};
}

}  // namespace invar::schema
