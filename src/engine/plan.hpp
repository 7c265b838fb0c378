// A compiled contract: the immutable plan every check runs.
#pragma once

#include <string>
#include <vector>

#include "artifact/reader.hpp"
#include "invar/invar.hpp"
#include "invariants/invariant.hpp"

namespace invar {

class Plan {
 public:
  std::string name;
  std::string file;
  Options options;
  artifact::ReadLimits read_limits;
  std::vector<invariants::Invariant> invariants;
};

namespace contract {

// Parses and compiles contract text. `file` labels errors; `base_dir`
// resolves relative schema paths.
Result<std::shared_ptr<const Plan>> load(std::string_view text, const std::string& file,
                                         const std::string& base_dir, const Options& options);

// Reads a whole file, refusing it before reading when over `max_bytes`.
Result<std::string> read_file(const std::string& path, uint64_t max_bytes, const char* what);

// Parses contract/schema JSON with located syntax errors (line, column).
Result<nlohmann::json> parse_json(std::string_view text, const std::string& file);

// Compiles the JSON Schema file at `path` (siblings reachable by $ref).
Result<std::shared_ptr<const schema::Validator>> load_schema_file(const std::string& path, const Options& options);

}  // namespace contract
}  // namespace invar
