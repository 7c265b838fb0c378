// invar suggest: a contract (or amendments to one) learned from a stream's
// retained accepted artifacts or from sample files. The contract goes to
// stdout (or --out); notes to stderr.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "invar/suggest.hpp"

namespace invar::cli {

namespace {

struct SuggestArgs {
  StoreFlags store;
  std::string stream;
  std::vector<std::string> samples;
  std::string contract;
  std::string format = "human";
  std::string out;
  bool quiet = false;
  std::string headroom = "50%";
  double quantile = 1.0;
  double margin = 2.0;
  SuggestOptions options;
};

Result<std::vector<Sample>> gather(const SuggestArgs& args) {
  if (!args.store.state.empty() == !args.samples.empty() || args.store.state.empty() != args.stream.empty())
    return Error{ErrorCode::usage,
                 "suggest learns from a stream (--state DIR --stream S) or from sample files (FILE|DIR...), one of them",
                 {}};
  if (!args.samples.empty()) return read_samples(args.samples, 256ull << 20, args.options.max_samples);
  auto store = open_store(args.store);
  if (!store) return store.error();
  auto retained = store->retained(args.stream);
  if (!retained) return retained.error();
  // Learn only from what the contract accepted on its own: an accept under a
  // waiver is an exception someone allowed, not the stream's normal shape.
  auto journal = store->history(args.stream);
  if (!journal) return journal.error();
  std::set<uint64_t> waived;
  for (const auto& r : *journal)
    if (r.event == "decision" && r.verdict == "accept" && !r.waived.empty() && r.lkg_sequence) waived.insert(r.lkg_sequence);
  std::vector<RetainedArtifact> kept;
  for (auto& r : *retained)
    if (!waived.count(r.entry.sequence)) kept.push_back(std::move(r));
  if (kept.size() < retained->size() && args.format == "human")
    std::fprintf(stderr, "suggest: %zu accepted under a waiver left out (learned from what the contract accepted itself)\n",
                 retained->size() - kept.size());
  return samples_of(kept);
}

int run_suggest(SuggestArgs& args) {
  auto fail = [&](const Error& e) {
    print_error(e, args.format);
    return kCannotJudge;
  };
  auto headroom = args.headroom;
  if (!headroom.empty() && headroom.back() == '%') headroom.pop_back();
  char* end = nullptr;
  double h = std::strtod(headroom.c_str(), &end);
  if (headroom.empty() || *end != '\0') return fail({ErrorCode::usage, "--headroom \"" + args.headroom + "\" is not a percentage such as \"50%\"", {}});
  std::vector<std::string> reads = args.samples;
  reads.push_back(args.contract);
  if (!args.out.empty())
    if (auto e = check_output(args.out, "--out", &args.store, reads)) return fail(*e);
  args.options.headroom = h / 100;
  args.options.quantile = args.quantile;
  args.options.margin = args.margin;
  std::string existing, existing_dir;
  if (!args.contract.empty()) {
    std::ifstream in(args.contract, std::ios::binary);
    if (!in) return fail({ErrorCode::io, "cannot read the contract", {args.contract, "", 0, 0}});
    existing.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    existing_dir = args.contract.find('/') == std::string::npos ? "." : args.contract.substr(0, args.contract.rfind('/'));
    if (existing.empty()) return fail({ErrorCode::contract, "the contract is empty", {args.contract, "", 0, 0}});
  }
  auto samples = gather(args);
  if (!samples) return fail(samples.error());
  auto s = suggest(*samples, args.options, existing, existing_dir);
  if (!s) return fail(s.error());
  std::string text = s->contract;
  if (args.format == "json") {
    using json = nlohmann::ordered_json;
    json proposals = json::array();
    for (const auto& p : s->proposals)
      proposals.push_back({{"id", p.id},
                           {"kind", p.kind},
                           {"amends", p.amends},
                           {"evidence", p.evidence},
                           {"invariant", json::parse(p.invariant)}});
    json doc = {{"version", 1},
                {"samples", s->samples},
                {"proposals", proposals},
                {"notes", s->notes},
                {"contract", json::parse(s->contract)}};
    text = doc.dump(2) + "\n";
  } else if (!args.quiet) {
    for (const auto& p : s->proposals)
      std::fprintf(stderr, "suggest: %s %s (%s): %s\n", p.amends ? "amends" : "proposes", p.id.c_str(), p.kind.c_str(),
                   p.evidence.c_str());
    for (const auto& n : s->notes) std::fprintf(stderr, "suggest: note: %s\n", n.c_str());
    std::fprintf(stderr, "suggest: learned from %zu artifacts; replaying them through the suggestion accepts them all%s\n",
                 s->samples, args.contract.empty() ? "" : " (except where a note says the contract rejects some)");
  }
  if (args.out.empty()) {
    std::fputs(text.c_str(), stdout);
    return kAccept;
  }
  if (auto e = write_file_atomically(args.out, text)) return fail(*e);
  return kAccept;
}

}  // namespace

std::function<int()> add_suggest(CLI::App& app) {
  auto args = std::make_shared<SuggestArgs>();
  auto* cmd = app.add_subcommand("suggest", "Propose a contract (or amendments to one) from accepted artifacts");
  cmd->footer("Exit codes: 0 proposed, 3 cannot (fewer than two readable artifacts, bad usage, unreadable state)\n");
  add_store_flags(cmd, args->store, false, false);
  cmd->add_option("--stream", args->stream, "The stream (with --state); gate with a larger --keep to learn from more");
  cmd->add_option("samples", args->samples, "Or learn from these files (a directory: its files in name order)");
  cmd->add_option("--contract", args->contract, "An existing contract to amend (its invariants are kept and checked)");
  cmd->add_option("--name", args->options.name, "The proposed contract's name (default \"suggested\")");
  cmd->add_option("--headroom", args->headroom, "Count bounds: observed max + this, observed min - this (default 50%)");
  cmd->add_option("--quantile", args->quantile,
                  "Delta/churn limits cover this quantile of the observed changes (default 1: all)")
      ->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--margin", args->margin, "Growth limits: that change times this (default 2)")->check(CLI::Range(1.0, 100.0));
  cmd->add_option("--out", args->out, "Write the proposal here (atomically) instead of stdout");
  add_quiet(cmd, args->quiet, "Human format: the contract only, without the evidence on stderr");
  cmd->add_option("--format", args->format, "human: the contract on stdout, evidence on stderr; json: everything")
      ->check(CLI::IsMember({"human", "json"}));
  return [args] { return run_suggest(*args); };
}

}  // namespace invar::cli
