#include "cli/common.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/text.hpp"

namespace invar::cli {

const char* const kExitCodes =
    "Exit codes:\n"
    "  0  accept: every artifact satisfies its contract\n"
    "  1  reject: an artifact violates an error-severity invariant (gate: and there is no LKG)\n"
    "  2  pin: (invar gate) the candidate is rejected; the LKG was published instead\n"
    "  3  cannot judge: bad contract or schema, bad usage, unreadable artifact or state; nothing published\n";

void print_error(const Error& e, const std::string& format) {
  std::fprintf(stderr, "invar: error: %s\n", e.to_string().c_str());
  if (format == "json") {
    nlohmann::json j = {{"version", 1},
                        {"verdict", "error"},
                        {"error",
                         {{"code", to_string(e.code)},
                          {"message", e.message},
                          {"file", e.where.file},
                          {"pointer", e.where.pointer},
                          {"line", e.where.line},
                          {"column", e.where.column}}}};
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

Result<std::optional<std::chrono::system_clock::time_point>> parse_now(const std::string& now) {
  using Now = std::optional<std::chrono::system_clock::time_point>;
  if (now.empty()) return Now();
  auto ms = text::parse_rfc3339(now);
  if (!ms) return Error{ErrorCode::usage, "--now " + text::quoted(now) + " is not an RFC 3339 date-time", {}};
  return Now(std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms)));
}

Result<int64_t> parse_duration_ms(const std::string& value, const std::string& flag) {
  auto d = text::parse_duration(value);
  if (!d) return Error{ErrorCode::usage, flag + " " + text::quoted(value) + " is not a duration such as \"30m\" or \"2h\"", {}};
  return static_cast<int64_t>(d->count());
}

std::string who() {
  if (const char* user = std::getenv("USER"); user && *user) return user;
  return "uid " + std::to_string(getuid());
}

bool use_color(const std::string& format) {
  return format == "human" && isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
}

}  // namespace invar::cli
