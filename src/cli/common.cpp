#include "cli/common.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "invar/gate.hpp"

namespace invar::cli {

const char* const kExitCodes =
    "Exit codes:\n"
    "  0  accept: every artifact satisfies its contract\n"
    "  1  reject: an artifact violates an error-severity invariant (gate: and there is no LKG)\n"
    "  2  pin: (invar gate) the candidate is rejected; the LKG was published instead\n"
    "  3  cannot judge: bad contract or schema, bad usage, unreadable artifact or state; nothing published\n";

void print_error(const Error& e, const std::string& format) {
  std::fprintf(stderr, "invar: error: %s\n", e.to_string().c_str());
  if (format == "json") std::fputs(render_error_json(e).c_str(), stdout);
}

Result<std::optional<Time>> parse_now(const std::string& now) {
  using Now = std::optional<Time>;
  if (now.empty()) return Now();
  auto t = parse_time(now);
  if (!t)
    return Error{ErrorCode::usage,
                 "--now \"" + now + "\" is not an RFC 3339 date-time between 0001-01-01 and 9999-12-31", {}};
  return Now(*t);
}

Result<int64_t> parse_duration_ms(const std::string& value, const std::string& flag) {
  auto d = parse_duration(value);
  if (!d) return Error{ErrorCode::usage, flag + " \"" + value + "\" is not a duration such as \"30m\" or \"2h\"", {}};
  return static_cast<int64_t>(d->count());
}

std::string who(const std::string& by) {
  if (!by.empty()) return by;
  for (const char* name : {"GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR_EMAIL", "CIRCLE_USERNAME",
                           "BITBUCKET_STEP_TRIGGERER_UUID", "USER", "LOGNAME"})
    if (const char* value = std::getenv(name); value && *value) return value;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
  return "";
}

bool use_color(const std::string& format) {
  return format == "human" && isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
}

unsigned threads_or_all(unsigned requested) {
  if (requested) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace invar::cli
