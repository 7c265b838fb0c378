// (e) State files read back: one file of a valid state directory (the LKG
// record, the retention list, waivers, a measures record, the journal, the
// marker, or the stored artifact) is replaced by the input, then the state is
// verified (status), judged against (a dry-run gate) and replayed (backtest).
// With flag 1 the input is "resealed" (a valid checksum is computed for it,
// and for a measures record its payload's digest), so that the field checks
// behind the checksum are reached too.
// Two more streams are signed with a fixed key (from a fixed seed,
// kSignerSeed; fuzz/make-corpus writes the same key for its seeds): "t",
// whose LKG record carries an `attestation`, and "u", with stages canary and
// global, whose global holding carries a signed promotion. What they decode
// is verified as a signing gate (a dry run), a signing rollout step (a dry
// run: verify before sign) and followers (verify_lkg, that key trusted) do.
// Input: [file][flags] bytes.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "fuzz.hpp"
#include "invar/gate.hpp"
#include "invar/sign.hpp"

namespace fs = std::filesystem;

namespace {

const char* kContract = R"j({"contract": "fuzz", "invariants": [
  {"id": "gen", "monotonic": "$.generation", "strict": true},
  {"id": "n", "delta": "count($.items[*])", "max_increase": "50%"},
  {"id": "keys", "churn": "$.items[*].k", "max_removed": "30%", "min_existing": 1},
  {"id": "zone", "immutable": "$.zone"}]})j";

// The signing key's seed and id; fuzz/make-corpus writes the same key file.
constexpr std::string_view kSignerSeed = "invar-fuzz-state-signing-key-32b";
const char* kSignerId = "fuzz-gate";

struct Fixture {
  std::string dir;
  invar::Contract contract;
  invar::GateOptions signing;  // the signing key, its public key trusted
  std::vector<std::string> files;  // relative to dir
  std::vector<std::string> pristine;
};

// As fuzz/make-corpus writes them (Python's json.dump): its signed seeds sign these bytes.
std::string artifact(int generation, int items) {
  std::string list;
  for (int i = 0; i < items; ++i) list += (i ? ", " : "") + std::string("{\"k\": \"") + std::to_string(i) + "\"}";
  return "{\"generation\": " + std::to_string(generation) + ", \"zone\": \"eu\", \"items\": [" + list + "]}";
}

Fixture& fixture() {
  static Fixture* f = [] {
    std::string dir = fuzz::temp_dir("state");
    auto contract = invar::Contract::load_string(kContract, ".", "fuzz.contract.json");
    if (!contract) __builtin_trap();
    auto store = invar::StateStore::open_directory(dir);
    invar::Gate gate(*contract, *store);
    invar::InitOptions init;
    init.by = "fuzzer";
    if (!gate.init("s", init)) __builtin_trap();
    gate.submit("s", artifact(1, 4));
    gate.submit("s", artifact(2, 5));
    gate.waive("s", {"gen", "fuzz", 3'600'000, "fuzzer"});
    auto key = invar::SigningKey::from_seed(kSignerSeed, kSignerId);
    if (!key) __builtin_trap();
    auto keys = invar::TrustedKeys::load_string("{\"keys\": [" + key->trusted_entry() + "]}");
    if (!keys) __builtin_trap();
    invar::GateOptions signing;
    signing.signing_key = std::make_shared<const invar::SigningKey>(*key);
    signing.trusted_keys = std::make_shared<const invar::TrustedKeys>(*keys);
    invar::Gate signer(*contract, *store, signing);
    // Decided the day before the fuzz clock, so that the envelopes are fresh.
    invar::SubmitOptions day_before;
    day_before.now = invar::parse_time("2029-12-31T00:00:00Z");
    if (!signer.init("t", init)) __builtin_trap();
    if (!signer.submit("t", artifact(1, 4), day_before)) __builtin_trap();
    if (!signer.submit("t", artifact(2, 5), day_before)) __builtin_trap();
    std::string policy = fuzz::temp_dir("state-rollout") + "/r.json";
    std::ofstream(policy) << R"({"rollout": "r", "stages": [{"name": "canary", "bake": "1h"}, {"name": "global"}]})";
    invar::InitOptions staged = init;
    std::string seed = artifact(1, 4);
    staged.seed = seed;
    staged.reason = "fuzz";
    staged.rollout_file = policy;
    staged.now = day_before.now;
    if (!signer.init("u", staged)) __builtin_trap();
    if (!signer.submit("u", artifact(2, 5), day_before)) __builtin_trap();
    invar::Rollout::Options step;
    step.now = invar::parse_time("2029-12-31T02:00:00Z");
    step.signing_key = signing.signing_key;
    if (!invar::Rollout(*store).step("u", step)) __builtin_trap();
    auto* out = new Fixture{dir, *contract, signing, {}, {}};
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename() != "lock") out->files.push_back(fs::relative(e.path(), dir).string());
    std::sort(out->files.begin(), out->files.end());  // the first input byte picks one
    for (const auto& file : out->files) out->pristine.push_back(fuzz::slurp(dir + "/" + file));
    return out;
  }();
  return *f;
}

void write(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string reseal_one(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::string(text);
  j.erase("checksum");
  j["checksum"] = invar::digest::sha256(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string reseal(std::string_view text, bool lines) {
  if (!lines) return reseal_one(text);
  std::string out;
  while (!text.empty()) {
    size_t end = text.find('\n');
    out += reseal_one(text.substr(0, end)) + "\n";
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return out;
}

// A measures record: the header line resealed with the payload's size and
// digest, so that the payload decoder is reached with the input's bytes.
std::string reseal_measures(std::string_view text) {
  size_t end = text.find('\n');
  if (end == std::string_view::npos) return reseal_one(text);
  std::string_view payload = text.substr(end + 1);
  auto j = nlohmann::json::parse(text.substr(0, end), nullptr, false);
  if (!j.is_object()) return std::string(text);
  j["payload"] = {{"bytes", payload.size()}, {"sha256", invar::digest::sha256(payload)}};
  return reseal_one(j.dump()) + "\n" + std::string(payload);
}

// The signed stream: a signing gate verifies its LKG record before judging
// (a dry run), and a follower verifies what it would serve, as watch does.
void verify_signed(const Fixture& f, const invar::StateStore& store, std::optional<invar::Time> now) {
  invar::Gate gate(f.contract, store, f.signing);
  invar::SubmitOptions dry;
  dry.dry_run = true;
  dry.now = now;
  auto d = gate.submit("t", artifact(3, 5), dry);
  if (d) invar::render_decision_json(*d, "t");
  invar::Rollout::Options step;
  step.now = now;
  step.dry_run = true;
  step.signing_key = f.signing.signing_key;
  invar::Rollout(store).step("u", step);
  for (const auto& [stream, stage] : {std::pair<const char*, const char*>{"t", ""}, {"u", "canary"}, {"u", "global"}}) {
    invar::Follower follower(store, stream, 0, stage);
    auto change = follower.poll();
    if (!change || !*change) continue;
    const auto& [lkg, bytes, attested] = **change;
    // Also past the record's sequence: the rollback check on what was decoded.
    for (uint64_t min : {uint64_t{0}, lkg.sequence, lkg.sequence + 1}) {
      auto verified = invar::verify_lkg(lkg, *bytes, *f.signing.trusted_keys, attested, min, now);
      if (verified && verified->statement.sequence != lkg.sequence) __builtin_trap();  // verify_lkg's contract
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  Fixture& f = fixture();
  fuzz::Input in(data, size);
  size_t which = in.byte() % f.files.size();
  uint8_t flags = in.byte();
  std::string path = f.dir + "/" + f.files[which];
  bool journal = f.files[which].find("journal") != std::string::npos;
  bool measures = f.files[which].ends_with(".measures.json");
  std::string bytes = !(flags & 1) ? std::string(in.rest())
                      : measures   ? reseal_measures(in.rest())
                                   : reseal(in.rest(), journal);
  write(path, bytes);

  auto store = invar::StateStore::open_directory(f.dir);
  if (store) {
    auto now = invar::parse_time("2030-01-01T00:00:00Z");
    auto status = store->status("s", 0);
    if (status) invar::render_status_human(*status, 0);
    auto history = store->history("s");
    if (history) invar::render_history_human(*history, 50);
    if (status && history) invar::render_html({{*status, *history}}, "fuzz", 0);  // the on-call page
    store->lkg_artifact("s");
    invar::Gate gate(f.contract, *store);
    invar::SubmitOptions dry;
    dry.dry_run = true;
    dry.now = now;
    auto d = gate.submit("s", artifact(3, 5), dry);
    if (d) invar::render_decision_json(*d, "s");
    gate.backtest("s");
    verify_signed(f, *store, now);
  }
  write(path, f.pristine[which]);
  return 0;
}
