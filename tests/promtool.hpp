// promtool in the tests: validates a metrics file (Prometheus text format).
#pragma once

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "process.hpp"

namespace test {

// `promtool check metrics` on `path`: its exit code and output; -1 when
// promtool is not installed (scripts/install-deps installs it).
inline std::pair<int, std::string> promtool(const std::string& path) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) return {-1, ""};
  std::string out = path + ".promtool";
  int rc = std::system(("promtool check metrics < '" + path + "' > '" + out + "' 2>&1").c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, test::slurp(out)};
}

inline void require_promtool_accepts(const std::string& path) {
  auto [rc, out] = promtool(path);
  if (rc == -1) {
    if (std::getenv("CI")) FAIL("promtool is not installed (scripts/install-deps installs Debian's prometheus)");
    WARN("promtool is not installed: the metrics file was not validated (scripts/install-deps installs it)");
    return;
  }
  INFO(test::slurp(path));
  INFO(out);
  REQUIRE(rc == 0);
}

}  // namespace test
