#include <fmt/format.h>
#include <simdjson.h>

#include "invar/invar.hpp"

namespace invar {

std::string_view version() { return INVAR_VERSION; }

std::string build_info() {
  return fmt::format("invar {}\nbuilt with simdjson {}.{}.{}, RE2 {}, fmt {}.{}.{}\n", INVAR_VERSION,
                     int(simdjson::SIMDJSON_VERSION_MAJOR), int(simdjson::SIMDJSON_VERSION_MINOR),
                     int(simdjson::SIMDJSON_VERSION_REVISION), INVAR_RE2_VERSION[0] ? INVAR_RE2_VERSION : "(unknown)",
                     FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
}

}  // namespace invar
