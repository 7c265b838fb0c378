// The invar command line: a thin layer over the library (include/invar).
//
// Exit codes (stable): 0 accept, 1 reject, 3 cannot judge (bad contract,
// bad usage, unreadable input). 2 is reserved for `invar gate` (pin).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "invar/invar.hpp"

namespace {

constexpr int kAccept = 0;
constexpr int kReject = 1;
constexpr int kCannotJudge = 3;

const char* const kExitCodes =
    "Exit codes:\n"
    "  0  accept: every artifact satisfies its contract\n"
    "  1  reject: an artifact violates an error-severity invariant\n"
    "  2  pin: (invar gate) publish the last-known-good instead\n"
    "  3  cannot judge: bad contract or schema, bad usage, unreadable artifact\n";

struct CheckArgs {
  std::string contract;
  std::string schema;
  std::vector<std::string> artifacts;
  std::string now;
  std::string format = "human";
  bool quiet = false;
  bool assert_format = false;
};

void print_error(const invar::Error& e, const std::string& format) {
  std::fprintf(stderr, "invar: error: %s\n", e.to_string().c_str());
  if (format == "json") {
    nlohmann::json j = {{"version", 1},
                        {"verdict", "error"},
                        {"error",
                         {{"code", invar::to_string(e.code)},
                          {"message", e.message},
                          {"file", e.where.file},
                          {"pointer", e.where.pointer},
                          {"line", e.where.line},
                          {"column", e.where.column}}}};
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

int run_check(const CheckArgs& args) {
  invar::Options options;
  options.format_assertion = args.assert_format;
  invar::CheckContext context;
  if (!args.now.empty()) {
    auto ms = invar::text::parse_rfc3339(args.now);
    if (!ms) {
      invar::Error e{invar::ErrorCode::usage, "--now " + invar::text::quoted(args.now) + " is not an RFC 3339 date-time", {}};
      print_error(e, args.format);
      return kCannotJudge;
    }
    context.now = std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms));
  }
  auto contract = args.contract.empty() ? invar::Contract::from_schema_file(args.schema, options)
                                        : invar::Contract::load_file(args.contract, options);
  if (!contract) {
    print_error(contract.error(), args.format);
    return kCannotJudge;
  }
  bool color = args.format == "human" && isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
  std::vector<invar::Report> reports;
  int code = kAccept;
  for (const auto& path : args.artifacts) {
    auto report = contract->check_file(path, context);
    if (!report) {
      print_error(report.error(), "human");
      code = kCannotJudge;
      continue;
    }
    if (report->verdict == invar::Verdict::reject && code == kAccept) code = kReject;
    if (args.format == "human") {
      std::fputs(invar::render_human(*report, {color, args.quiet}).c_str(), stdout);
    }
    reports.push_back(std::move(report.value()));
  }
  if (args.format == "json") std::fputs(invar::render_json(reports).c_str(), stdout);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"invar: a gate for generated configuration artifacts", "invar"};
  app.footer(kExitCodes);
  app.set_version_flag("--version", "invar 0.1.0");
  app.require_subcommand(1);

  CheckArgs check;
  auto* cmd = app.add_subcommand("check", "Check artifacts against a contract (or a JSON Schema), statelessly");
  cmd->footer(kExitCodes);
  auto* contract_opt = cmd->add_option("--contract", check.contract, "Contract file (JSON, see docs/contract-language.md)");
  auto* schema_opt = cmd->add_option("--schema", check.schema, "Check against this JSON Schema alone (2020-12 or draft-07)");
  contract_opt->excludes(schema_opt);
  cmd->add_option("artifacts", check.artifacts, "Artifact files to check")->required();
  cmd->add_option("--now", check.now, "The clock for freshness invariants (RFC 3339); default: the system clock");
  cmd->add_option("--format", check.format, "Output format")->check(CLI::IsMember({"human", "json"}));
  cmd->add_flag("--quiet,-q", check.quiet, "Human format: print only the summary line per artifact");
  cmd->add_flag("--assert-format", check.assert_format,
                "Treat JSON Schema \"format\" as an assertion for date-time, ipv4, ipv6, hostname, uuid");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kCannotJudge;
  }
  if (cmd->parsed()) {
    if (check.contract.empty() == check.schema.empty()) {
      std::fprintf(stderr, "invar: error: check needs exactly one of --contract or --schema\n");
      return kCannotJudge;
    }
    return run_check(check);
  }
  return kCannotJudge;
}
