// The JSON Schema dialects invar evaluates, what each one defines, and the
// official metaschemas bundled into the binary (so a $ref to them, and
// `invar check --metaschema`, work offline).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace invar::schema {

// In publication order: comparisons (draft <= Draft::draft7) mean "this draft
// or an older one".
enum class Draft { draft4, draft6, draft7, draft2019_09, draft2020_12 };

inline constexpr Draft kDefaultDraft = Draft::draft2020_12;

struct Dialect {
  Draft draft;
  std::string_view name;  // "draft-04" ... "2020-12": what options and messages say
  std::string_view uri;   // the metaschema's $id, without an empty fragment
};

std::span<const Dialect> dialects();
const Dialect& dialect(Draft draft);

// "draft-07", "draft7", "7", "2020-12", "draft2020-12" ..., or a dialect's
// metaschema URI ("http://json-schema.org/draft-07/schema#"): the dialect, or none.
std::optional<Draft> draft_from_name(std::string_view name);
// An official metaschema URI ("http://json-schema.org/draft-07/schema#",
// with or without the empty fragment): its dialect, or none.
std::optional<Draft> draft_from_uri(std::string_view uri);
// "draft-04, draft-06, draft-07, 2019-09, 2020-12".
std::string dialect_names();
// Each dialect's name and URI, for an error about an unknown "$schema".
std::string dialect_uris();

// Keywords the draft defines (every vocabulary, annotations included), plus
// "definitions", "$defs" and "$comment" in every draft: schemas keep $ref
// targets under either name, and comment, whatever their draft.
std::span<const std::string_view> keywords(Draft draft);
bool defines_keyword(Draft draft, std::string_view keyword);

// An annotation keyword of a known vocabulary outside the draft's own: an
// editor's (markdownDescription, deprecationMessage, defaultSnippets,
// enumDescriptions...), TypeScript's tsType, OpenAPI's nullable and example,
// "x-" prefixed ones, and a later draft's annotations (deprecated, examples,
// readOnly, writeOnly, content*). Never an error: none of them asserts.
bool is_annotation_keyword(std::string_view keyword);

// The keyword that names a resource: "id" in draft-04, "$id" after.
inline std::string_view id_keyword(Draft d) { return d == Draft::draft4 ? "id" : "$id"; }
// Up to draft-07, "$ref" makes its siblings ignored.
inline bool ref_hides_siblings(Draft d) { return d <= Draft::draft7; }

// The official metaschema documents (each dialect's, and the 2019-09 and
// 2020-12 vocabulary metaschemas), by URI without an empty fragment; empty
// when the URI is not one of them. Built from the Debian package
// python3-jsonschema's copies (see cmake/EmbedMetaschemas.cmake).
std::string_view bundled_metaschema(std::string_view uri);

}  // namespace invar::schema
