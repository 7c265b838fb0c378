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
// The one place contract Options become schema CompileOptions.
schema::CompileOptions compile_options(const Options& options, schema::Draft draft, std::string file_root);

// Compiles the JSON Schema file at `path` (siblings reachable by $ref);
// `draft` for a schema without "$schema" (none: Options::default_dialect).
Result<std::shared_ptr<const schema::Validator>> load_schema_file(const std::string& path, const Options& options,
                                                                  std::optional<schema::Draft> draft = std::nullopt);
// The official metaschema of the dialect the schema file at `path` declares.
Result<std::shared_ptr<const schema::Validator>> load_metaschema_of(const std::string& path, const Options& options);

}  // namespace contract
}  // namespace invar
