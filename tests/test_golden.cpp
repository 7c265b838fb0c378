// Golden cases kept as JSON data (tests/cases/examples.json): every bundled
// incident example with its contract, clock and expected verdict.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "helpers.hpp"

TEST_CASE("incident examples give their expected verdicts", "[golden]") {
  std::ifstream in(test::source("tests/cases/examples.json"));
  auto cases = nlohmann::json::parse(in);
  REQUIRE(cases.size() >= 10);
  for (const auto& c : cases) {
    std::string label = c["contract"].get<std::string>() + " on " + c["artifact"].get<std::string>();
    INFO(label);
    auto contract = invar::Contract::load_file(test::source(c["contract"]));
    REQUIRE(contract);
    invar::CheckContext ctx;
    if (c.contains("now"))
      ctx.now = std::chrono::system_clock::time_point(
          std::chrono::milliseconds(*invar::text::parse_rfc3339(c["now"].get<std::string>())));
    auto report = contract->check_file(test::source(c["artifact"]), ctx);
    REQUIRE(report);
    CHECK(invar::to_string(report->verdict) == c["verdict"].get<std::string>());
    CHECK(test::failed(*report) == c["failed"].get<std::vector<std::string>>());
  }
}
