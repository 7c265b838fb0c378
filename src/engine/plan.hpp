// A compiled contract: the immutable plan every check runs.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "artifact/reader.hpp"
#include "artifact/yaml.hpp"
#include "common/digest.hpp"
#include "common/files.hpp"
#include "invar/invar.hpp"
#include "invariants/invariant.hpp"

namespace invar {

namespace engine {
struct StreamLayout;
}

class Plan {
 public:
  std::string name;
  std::string file;
  std::string text;  // the contract's (or schema's) text, for digest()
  Options options;
  artifact::ReadLimits read_limits;
  std::optional<ArtifactFormat> format;  // the contract's artifact.format, when it says
  artifact::YamlOptions yaml;            // how YAML is read (artifact.documents, artifact.yaml, limits)
  std::vector<invariants::Invariant> invariants;
  std::vector<LoadWarning> warnings;  // Contract::warnings()
  // Parsers kept between checks (Options::reuse_parsers).
  std::shared_ptr<artifact::DocumentPool> documents = std::make_shared<artifact::DocumentPool>();

  // sha256 of `text`, journaled with each decision; computed on first use
  // (a check never needs it). Safe from any number of threads.
  const std::string& digest() const {
    std::call_once(digest_once_, [this] { digest_ = digest::sha256(text); });
    return digest_;
  }

  // How check_file may read large artifacts of `format` in batches
  // (engine/stream.hpp); null when the invariants need the whole document.
  // Computed on first use.
  const engine::StreamLayout* stream_layout(ArtifactFormat format) const;

 private:
  mutable std::once_flag digest_once_, layout_once_[2];
  mutable std::string digest_;
  mutable std::shared_ptr<const engine::StreamLayout> layout_[2];  // by format
};

// A baseline for the delta family (the public Baseline's state, a gate's
// LKG): its measures, and its artifact's bytes read again, only when a
// violation must name churn keys that only the baseline has (empty, or
// nullopt: the keys are counted, not named).
struct BaselineData {
  invariants::Measures measures;
  std::function<std::optional<std::string>()> artifact;
  std::optional<ArtifactFormat> format;  // how `artifact` reads (unset: the plan's)
};

struct ContractAccess {
  static const Plan& plan(const Contract& c) { return *c.plan_; }
  static const BaselineData& baseline(const Baseline& b) { return *b.data_; }
};

namespace contract {

// Parses and compiles contract text. `file` labels errors; `base_dir`
// resolves relative schema paths.
Result<std::shared_ptr<const Plan>> load(std::string_view text, const std::string& file,
                                         const std::string& base_dir, const Options& options);

// Parses a contract or schema document with located syntax errors (line,
// column): JSON, or YAML when `file` ends in .yaml/.yml (schema::read_document,
// which also keeps the exact texts of integers past 64 bits).
Result<nlohmann::json> parse_json(std::string_view text, const std::string& file);

// Options::default_dialect as a draft (empty: schema::kDefaultDraft).
Result<schema::Draft> default_draft(const Options& options);

// What the schemas of one contract (or one --schema) compile with besides
// Options: the contract's own settings.
struct SchemaSetup {
  std::shared_ptr<const schema::SchemaIndex> resolved;  // the contract's "resolve", then Options::resolve
  std::optional<UnknownKeywords> unknown_keywords;       // the contract's (it wins over Options::unknown_keywords)
};

// The one place contract Options become schema CompileOptions.
schema::CompileOptions compile_options(const Options& options, schema::Draft draft, std::string file_root,
                                       const SchemaSetup& setup = {});

// Reads the schema files and directories of `paths` and indexes them by
// "$id" (resolve.cpp). A file named itself must read and have an "$id"; a
// file found in a directory that does not is skipped (a warning when it
// does not read). Null when `paths` is empty.
Result<std::shared_ptr<const schema::SchemaIndex>> index_schemas(const std::vector<std::string>& paths,
                                                                 const Options& options,
                                                                 std::vector<LoadWarning>& warnings);

// Compiles the JSON Schema file at `path` (siblings reachable by $ref);
// `draft` for a schema without "$schema" (none: Options::default_dialect).
// Its warnings are appended to `warnings`, when given.
Result<std::shared_ptr<const schema::Validator>> load_schema_file(const std::string& path, const Options& options,
                                                                  std::optional<schema::Draft> draft = std::nullopt,
                                                                  const SchemaSetup& setup = {},
                                                                  std::vector<LoadWarning>* warnings = nullptr);

// A schema's warnings as LoadWarnings; located by line and column when in
// the file `text` was read from.
void add_warnings(const schema::Validator& validator, const std::string& path, std::string_view text,
                  std::vector<LoadWarning>& warnings);
// The official metaschema of the dialect the schema file at `path` declares.
Result<std::shared_ptr<const schema::Validator>> load_metaschema_of(const std::string& path, const Options& options);

}  // namespace contract
}  // namespace invar
