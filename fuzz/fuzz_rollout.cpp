// (k) Rollouts (docs/rollout.md): rollout files and the records a staged
// stream keeps. Input: [mode][flags] bytes; mode % 6 picks:
//   0, 1, 2  the bytes as a rollout file named .json, .yaml or neither (the
//            text decides): a valid policy's canonical source reads back
//            (policy_from_source) as the same policy, source and digest;
//            mode 2 also reads the bytes as a stored canonical source
//   3, 4     the bytes as a rollout record (decode_rollout) or a freeze
//            record (decode_freeze): what decodes encodes to a record that
//            decodes to the same value (the same encoding, the same digests)
//   5        the bytes as one record of a staged stream's state directory
//            (rollout.json, control.json, or the location's freeze.json,
//            flags % 3), then status, a dry-run step with health drawn from
//            the flags, a follower of each stage and a dry-run gate
// With flag 4 (modes 3-5) the bytes, when a JSON object, are resealed (a
// valid format, version and checksum) so that the field checks are reached.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "fuzz.hpp"
#include "invar/gate.hpp"
#include "rollout/policy.hpp"
#include "store/records.hpp"

namespace fs = std::filesystem;

namespace {

const char* kContract = R"j({"contract": "fuzz", "invariants": [
  {"id": "gen", "monotonic": "$.generation", "strict": true},
  {"id": "zone", "immutable": "$.zone"}]})j";

// Health is injected (no network, no processes): the checks' kinds only name them.
const char* kRollout = R"j({"rollout": "fuzz", "unknown_limit": "5m", "stages": [
  {"name": "canary", "bake": "1m", "health": [
    {"id": "rate", "prometheus": {"url": "http://127.0.0.1:9", "query": "up", "max": 1, "for": "30s"}},
    {"id": "smoke", "exec": ["true"]}]},
  {"name": "region", "bake": "2m", "health": [
    {"id": "rate", "prometheus": {"url": "http://127.0.0.1:9", "query": "up", "min": 0}}]},
  {"name": "global"}]})j";

constexpr int64_t kMinute = 60'000;
const int64_t kStart = 1'900'000'000'000;  // 2030-03-17

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string artifact(int generation) {
  return "{\"generation\": " + std::to_string(generation) + ", \"zone\": \"eu\"}";
}

invar::HealthResult healthy(const invar::HealthCheck& c, const invar::HealthContext&) {
  return {c.id, invar::HealthResult::State::healthy, 0.0, "fuzz"};
}

struct Fixture {
  std::string dir;
  invar::Contract contract;
  std::vector<std::string> files;  // rollout.json, control.json, freeze.json (relative to dir)
  std::vector<std::string> pristine;
};

// A stream with three stages, each holding another generation: 3 in the
// canary and 2 in region (both baking), 1 in global; a vetoed digest, a
// freeze of every stream until kStart + 14 minutes.
Fixture& fixture() {
  static Fixture* f = [] {
    std::string dir = fuzz::temp_dir("rollout");
    auto contract = invar::Contract::load_string(kContract, ".", "fuzz.contract.json");
    auto policy = invar::parse_rollout(kRollout, "fuzz.rollout.json");
    check(contract && policy);
    auto store = invar::StateStore::open_directory(dir);
    check(!!store);
    invar::Gate gate(*contract, *store);
    invar::InitOptions init;
    init.by = "fuzzer";
    init.reason = "seed";
    const std::string seed = artifact(1);
    init.seed = seed;
    init.rollout = *policy;
    init.now = *invar::Time::from_ms(kStart);
    check(!!gate.init("s", init));
    invar::Rollout rollout(*store);
    auto at = [](int64_t ms) { return *invar::Time::from_ms(ms); };
    auto submit = [&](int generation, int64_t ms) {
      invar::SubmitOptions o;
      o.now = at(ms);
      auto d = gate.submit("s", artifact(generation), o);
      check(!!d);
    };
    auto step = [&](int64_t ms) {
      invar::Rollout::Options o;
      o.now = at(ms);
      o.by = "rollout";
      o.evaluate = healthy;
      check(!!rollout.step("s", o));
    };
    submit(2, kStart + kMinute);
    step(kStart + 2 * kMinute);
    step(kStart + 3 * kMinute);
    submit(3, kStart + 4 * kMinute);
    step(kStart + 4 * kMinute);
    invar::Rollout::Options veto;
    veto.now = at(kStart + 11 * kMinute);
    veto.by = "fuzzer";
    veto.reason = "seed";
    check(!!rollout.veto("s", "sha256:" + std::string(64, 'e'), veto));
    check(!!rollout.resume("s", veto));
    check(!!rollout.freeze("", kStart + 14 * kMinute, veto));
    auto* out = new Fixture{dir, *contract, {"streams/s/rollout.json", "streams/s/control.json", "freeze.json"}, {}};
    for (const auto& file : out->files) {
      out->pristine.push_back(fuzz::slurp(dir + "/" + file));
      check(!out->pristine.back().empty());
    }
    return out;
  }();
  return *f;
}

void write(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string reseal(std::string_view text, const char* format) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::string(text);
  return invar::store::seal(std::move(j), format) + "\n";
}

// A valid policy's canonical form reads back as itself; any stored source
// that reads back is canonical.
void policy_file(std::string_view text, const std::string& name, bool stored) {
  auto p = invar::parse_rollout(text, name);
  if (p) {
    check(p->digest == invar::digest::sha256(p->source));
    auto back = invar::rollout::policy_from_source(p->source);
    check(back && back->source == p->source && back->digest == p->digest && back->name == p->name &&
          back->stages.size() == p->stages.size());
  } else {
    check(!p.error().message.empty());
  }
  if (!stored) return;
  auto s = invar::rollout::policy_from_source(text);
  if (s) check(s->source == text && s->digest == invar::digest::sha256(text));
}

void rollout_record(std::string_view text) {
  using namespace invar::store;
  auto r = decode_rollout(text, "fuzz");
  if (!r) return;
  std::string once = encode_rollout(*r);
  auto again = decode_rollout(once, "fuzz");
  check(!!again);
  check(encode_rollout(*again) == once);
  check(rollout_digests(*again) == rollout_digests(*r));
  check(again->vetoed == r->vetoed && again->stream == r->stream && again->policy_source == r->policy_source &&
        again->serial == r->serial && again->halted.has_value() == r->halted.has_value() &&
        again->frozen.has_value() == r->frozen.has_value());
  auto control = nlohmann::json::parse(encode_control(*r), nullptr, false);
  check(control.is_object());
  invar::rollout::policy_from_source(r->policy_source);
}

void freeze_record(std::string_view text) {
  using namespace invar::store;
  auto f = decode_freeze(text, "fuzz");
  if (!f) return;
  std::string once = encode_freeze(*f);
  auto again = decode_freeze(once, "fuzz");
  check(again && encode_freeze(*again) == once && again->reason == f->reason && again->by == f->by &&
        again->at_ms == f->at_ms && again->expires_ms == f->expires_ms);
}

// The stream's state with one record replaced: read, stepped (dry run) and followed.
void state(std::string_view bytes, uint8_t flags) {
  Fixture& f = fixture();
  size_t which = flags % 3;
  static const char* kFormats[] = {"invar-rollout", "invar-control", "invar-freeze"};
  std::string path = f.dir + "/" + f.files[which];
  write(path, (flags & 4) ? reseal(bytes, kFormats[which]) : std::string(bytes));
  auto store = invar::StateStore::open_directory(f.dir);
  if (store) {
    auto now = *invar::Time::from_ms(kStart + (flags >> 5) * 3 * kMinute);
    invar::Rollout rollout(*store);
    auto status = rollout.status("s", kStart + 20 * kMinute);
    if (status) invar::render_rollout_human(*status, kStart + 20 * kMinute);
    invar::Rollout::Options o;
    o.now = now;
    o.by = "rollout";
    o.dry_run = true;
    const auto health = static_cast<invar::HealthResult::State>((flags >> 3) % 3);
    o.evaluate = [health](const invar::HealthCheck& c, const invar::HealthContext&) {
      return invar::HealthResult{c.id, health, 1.0, "fuzz"};
    };
    auto stepped = rollout.step("s", o);
    if (stepped) invar::render_rollout_json(*stepped, kStart);
    for (const char* stage : {"", "canary", "region", "global", "none"}) {
      invar::Follower follower(*store, "s", 0, stage);
      follower.poll();
    }
    invar::Gate gate(f.contract, *store);
    invar::SubmitOptions dry;
    dry.dry_run = true;
    dry.now = now;
    gate.submit("s", artifact(4), dry);
    store->status("s", 0);
  }
  write(path, f.pristine[which]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > fuzz::kMaxInput) return 0;
  fuzz::Input in(data, size);
  uint8_t mode = in.byte() % 6;
  uint8_t flags = in.byte();
  std::string_view bytes = in.rest();
  switch (mode) {
    case 0: policy_file(bytes, "f.rollout.json", false); break;
    case 1: policy_file(bytes, "f.rollout.yaml", false); break;
    case 2: policy_file(bytes, "f.rollout", true); break;
    case 3: rollout_record((flags & 4) ? reseal(bytes, "invar-rollout") : std::string(bytes)); break;
    case 4: freeze_record((flags & 4) ? reseal(bytes, "invar-freeze") : std::string(bytes)); break;
    default: state(bytes, flags); break;
  }
  return 0;
}
