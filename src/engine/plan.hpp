// A compiled contract: the immutable plan every check runs.
#pragma once

#include <string>
#include <vector>

#include "artifact/reader.hpp"
#include "common/files.hpp"
#include "invar/invar.hpp"
#include "invariants/invariant.hpp"

namespace invar {

class Plan {
 public:
  std::string name;
  std::string file;
  std::string digest;  // sha256 of the contract's text: journaled with each decision
  Options options;
  artifact::ReadLimits read_limits;
  std::vector<invariants::Invariant> invariants;
};

// A baseline's measures (the public Baseline's state).
struct BaselineData {
  invariants::Measures measures;
};

struct ContractAccess {
  static const Plan& plan(const Contract& c) { return *c.plan_; }
  static const invariants::Measures& baseline(const Baseline& b) { return b.data_->measures; }
};

namespace contract {

// Parses and compiles contract text. `file` labels errors; `base_dir`
// resolves relative schema paths.
Result<std::shared_ptr<const Plan>> load(std::string_view text, const std::string& file,
                                         const std::string& base_dir, const Options& options);

// Parses contract/schema JSON with located syntax errors (line, column).
Result<nlohmann::json> parse_json(std::string_view text, const std::string& file);

// Compiles the JSON Schema file at `path` (siblings reachable by $ref).
Result<std::shared_ptr<const schema::Validator>> load_schema_file(const std::string& path, const Options& options);

}  // namespace contract
}  // namespace invar
