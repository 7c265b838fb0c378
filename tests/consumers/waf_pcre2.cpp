// A consumer for trial tests: Cloudflare's WAF, 2 July 2019. A new rule's
// regex, `.*(?:.*=.*)` at its end, backtracked catastrophically in the
// backtracking engine on ordinary requests and took every core to 100%. This
// WAF runs every rule of a rule set over sample requests with PCRE2's
// interpreter (backtracking, no JIT), under a match limit high enough that
// the 2019 rule burns seconds of CPU on a triggering request.
//
// usage: waf_pcre2 [--steps] RULESET SAMPLE... (the format of examples/cloudflare-2019-waf/)
// Prints each match; --steps also counts the pattern items PCRE2 tried
// (auto-callouts, which slow it down: the count is the deterministic measure
// of the work, the CPU time without --steps the realistic one).
// exit 0: every rule ran on every sample (a match limit reached is reported,
// as a WAF would log it); 2: unreadable ruleset or sample, or a rule that does not compile.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

constexpr uint32_t kMatchLimit = 1'000'000'000;  // PCRE2's default is 10 million: the 2019 engine had no such cap

struct Rule {
  std::string id;
  std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)> code{nullptr, pcre2_code_free};
};

int fail(const std::string& message) {
  std::fprintf(stderr, "waf_pcre2: %s\n", message.c_str());
  return 2;
}

bool slurp(const char* path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// The rules of `doc`, compiled; an error names the rule.
std::string compile(const nlohmann::json& doc, bool steps, std::vector<Rule>& rules) {
  if (!doc.is_object() || !doc.contains("rules") || !doc["rules"].is_array())
    return "not a rule set (an object with a \"rules\" array)";
  for (const auto& r : doc["rules"]) {
    if (!r.is_object() || !r.contains("expression") || !r["expression"].is_string())
      return "rule " + std::to_string(rules.size()) + " has no \"expression\" string";
    const std::string expression = r["expression"];
    int error = 0;
    PCRE2_SIZE offset = 0;
    Rule rule;
    rule.id = r.value("id", std::to_string(rules.size()));
    rule.code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expression.data()), expression.size(),
                                  steps ? PCRE2_AUTO_CALLOUT : 0, &error, &offset, nullptr));
    if (!rule.code) {
      PCRE2_UCHAR text[256];
      pcre2_get_error_message(error, text, sizeof text);
      return "rule " + rule.id + " does not compile at offset " + std::to_string(offset) + ": " +
             reinterpret_cast<const char*>(text);
    }
    rules.push_back(std::move(rule));
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  const bool steps = argc > 1 && std::strcmp(argv[1], "--steps") == 0;
  const int first = steps ? 2 : 1;
  if (argc < first + 2) return fail("usage: waf_pcre2 [--steps] RULESET SAMPLE...");
  std::string text;
  if (!slurp(argv[first], text)) return fail(std::string("cannot read ") + argv[first]);
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  std::vector<Rule> rules;
  if (doc.is_discarded()) return fail(std::string(argv[first]) + " is not JSON");
  if (auto error = compile(doc, steps, rules); !error.empty()) return fail(std::string(argv[first]) + ": " + error);

  std::unique_ptr<pcre2_match_context, decltype(&pcre2_match_context_free)> context(
      pcre2_match_context_create(nullptr), pcre2_match_context_free);
  pcre2_set_match_limit(context.get(), kMatchLimit);
  uint64_t items = 0;
  if (steps)
    pcre2_set_callout(context.get(), [](pcre2_callout_block*, void* n) { return ++*static_cast<uint64_t*>(n), 0; },
                      &items);
  for (int s = first + 1; s < argc; ++s) {
    std::string request;
    if (!slurp(argv[s], request)) return fail(std::string("cannot read ") + argv[s]);
    for (const auto& rule : rules) {
      std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
          pcre2_match_data_create_from_pattern(rule.code.get(), nullptr), pcre2_match_data_free);
      const int rc = pcre2_match(rule.code.get(), reinterpret_cast<PCRE2_SPTR>(request.data()), request.size(), 0, 0,
                                 data.get(), context.get());
      if (rc >= 0) std::printf("rule %s matched %s\n", rule.id.c_str(), argv[s]);
      else if (rc != PCRE2_ERROR_NOMATCH) std::printf("rule %s: pcre2 error %d on %s\n", rule.id.c_str(), rc, argv[s]);
    }
  }
  if (steps) std::printf("pcre2 steps: %" PRIu64 "\n", items);
  return 0;
}
