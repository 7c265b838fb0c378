// Followers that verify before they serve (docs/signing.md): invar watch
// --trusted-keys, a persistent Guard (and TypedGuard) with trusted keys, and
// the C ABI's verified guard. The store's records are signed here as a
// signing gate writes them (the attestation in the sealed LKG record), so
// that forged, replayed, expired and re-keyed records can be written too.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "etcd_cluster.hpp"
#include "helpers.hpp"
#include "invar/gate.hpp"
#include "invar/invar.h"
#include "invar/sign.hpp"
#include "process.hpp"
#include "store/etcd_client.hpp"
#include "store/records.hpp"

namespace {

const char* kContract = R"j({"contract": "race", "invariants": [
  {"id": "gen", "monotonic": "$.generation", "strict": true},
  {"id": "items", "count": "$.items[*]", "min": 1, "max": 100}]})j";

const int64_t kDecided = invar::parse_time("2026-12-01T10:00:00Z")->ms();
const int64_t kDay = 86'400'000;
const std::string kFresh = "2026-12-01T12:00:00Z";  // within a day of the decisions
const std::string kLate = "2026-12-03T00:00:00Z";   // past their expiry

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

invar::SigningKey key_of(char fill, const std::string& id) {
  auto key = invar::SigningKey::from_seed(std::string(32, fill), id);
  REQUIRE(key.ok());
  return key.value();
}

std::string trusted(const std::vector<const invar::SigningKey*>& keys) {
  std::string list;
  for (const auto* k : keys) list += (list.empty() ? "" : ",\n  ") + k->trusted_entry();
  return "{\"keys\": [\n  " + list + "\n]}\n";
}

std::string artifact(int generation) { return "{\"generation\": " + std::to_string(generation) + ", \"items\": [1]}\n"; }

// A stream "s" in a state directory, promoted through a gate, its LKG
// records then signed (or not) as a signing gate would.
struct Signed {
  test::TempDir tmp;
  std::string state = tmp / "state";
  std::string out = tmp / "served.json";
  std::string keys_file = tmp / "trusted-keys.json";
  invar::SigningKey key = key_of('k', "gate-2026");
  invar::Contract contract = test::contract(kContract).value();
  invar::StateStore store = invar::StateStore::open_directory(state).value();

  Signed() { test::spit(keys_file, trusted({&key})); }

  // Accepts `generation`; its record is signed by `by` (null: left unsigned).
  invar::LkgRecord accept(int generation, const invar::SigningKey* by, int64_t expires_ms = kDecided + kDay) {
    invar::GateOptions options;
    options.create_streams = true;
    invar::Gate gate(contract, store, options);
    auto d = gate.submit("s", artifact(generation));
    REQUIRE(d.ok());
    REQUIRE(d->action == invar::Action::accept);
    auto lkg = store.lkg("s");
    REQUIRE(lkg.ok());
    invar::LkgRecord record = *lkg.value();
    if (by) record.attestation = attestation(record, artifact(generation), *by, expires_ms);
    write(record);
    return record;
  }

  static std::string attestation(const invar::LkgRecord& r, const std::string& bytes, const invar::SigningKey& by,
                                 int64_t expires_ms = kDecided + kDay, const std::string& stage = "") {
    auto envelope = invar::sign_statement(invar::make_statement("served.json", bytes, r.stream, stage, r.sequence,
                                                                r.contract, r.contract_digest, "accept", kDecided,
                                                                expires_ms),
                                          by);
    REQUIRE(envelope.ok());
    return envelope.value();
  }

  // What a writer of the state directory can write: a correctly sealed record.
  void write(const invar::LkgRecord& record) {
    test::spit(std::filesystem::path(state) / "streams" / "s" / "lkg.json", invar::store::encode_lkg(record));
  }

  test::Run watch(const std::string& now = kFresh, const std::string& keys = "") {
    return test::invar({"watch", "--state", state, "--stream", "s", "--out", out, "--once", "--trusted-keys",
                        keys.empty() ? keys_file : keys, "--now", now});
  }

  invar::Result<invar::Guard> guard(const std::string& now = kFresh) {
    invar::GateOptions options;
    options.trusted_keys = std::make_shared<const invar::TrustedKeys>(invar::TrustedKeys::load_file(keys_file).value());
    return invar::Guard::persistent(contract, store, "s", options, {}, invar::parse_time(now));
  }
};

}  // namespace

TEST_CASE("watch --trusted-keys: a signed LKG is served, its attestation written beside it first", "[sign]") {
  Signed s;
  auto r1 = s.accept(1, &s.key);
  auto w = s.watch();
  INFO(w.out);
  CHECK(w.exit == 0);
  CHECK(test::slurp(s.out) == artifact(1));
  CHECK(test::slurp(s.out + ".intoto.jsonl") == r1.attestation + "\n");
  // What it wrote verifies for its own consumers.
  auto v = test::invar({"verify", s.out, "--trusted-keys", s.keys_file, "--stream", "s", "--stage", "", "--now", kFresh});
  INFO(v.out);
  CHECK(v.exit == 0);
  // The next signed one replaces both.
  auto r2 = s.accept(2, &s.key);
  CHECK(s.watch().exit == 0);
  CHECK(test::slurp(s.out) == artifact(2));
  CHECK(test::slurp(s.out + ".intoto.jsonl") == r2.attestation + "\n");
}

TEST_CASE("watch --trusted-keys: a forged record (valid seal, no envelope) is refused, the old artifact kept",
          "[sign]") {
  Signed s;
  s.accept(1, &s.key);
  REQUIRE(s.watch().exit == 0);
  s.accept(2, nullptr);  // sealed as the store seals, never signed
  auto w = s.watch();
  INFO(w.out);
  CHECK(w.exit == 3);
  CHECK(contains(w.out, "invar watch: refused sequence 2 sha256:"));
  CHECK(contains(w.out, "carries no attestation"));
  CHECK(contains(w.out, "still serving sequence 1"));
  CHECK(test::slurp(s.out) == artifact(1));
  // Nothing served yet: refused the same, nothing written.
  Signed fresh;
  fresh.accept(1, nullptr);
  auto first = fresh.watch();
  CHECK(first.exit == 3);
  CHECK(contains(first.out, "nothing served yet"));
  CHECK_FALSE(std::filesystem::exists(fresh.out));
  CHECK_FALSE(std::filesystem::exists(fresh.out + ".intoto.jsonl"));
  // Without --trusted-keys nothing changes: the unsigned LKG is served.
  auto plain = test::invar({"watch", "--state", fresh.state, "--stream", "s", "--out", fresh.out, "--once"});
  CHECK(plain.exit == 0);
  CHECK(test::slurp(fresh.out) == artifact(1));
}

TEST_CASE("watch --trusted-keys: an older envelope replayed after a newer one was served is refused (rollback)",
          "[sign]") {
  Signed s;
  auto r1 = s.accept(1, &s.key);
  REQUIRE(s.watch().exit == 0);
  s.accept(2, &s.key);
  REQUIRE(s.watch().exit == 0);
  // The old signed record put back, renumbered past what was served (a
  // record put back as it was is refused as a rolled-back state already).
  invar::LkgRecord replayed = r1;
  replayed.sequence = 3;
  s.write(replayed);
  auto w = s.watch();
  INFO(w.out);
  CHECK(w.exit == 3);
  CHECK(contains(w.out, "refused sequence 3"));
  CHECK(contains(w.out, "sequence 1 is lower than the highest served 2 (rollback)"));
  CHECK(test::slurp(s.out) == artifact(2));
  s.write(r1);
  CHECK(s.watch().exit == 3);
  CHECK(test::slurp(s.out) == artifact(2));
  // An envelope of another sequence in a record: refused, even when not lower.
  Signed t;
  auto first = t.accept(1, &t.key);
  invar::LkgRecord renumbered = first;
  renumbered.attestation = Signed::attestation(invar::LkgRecord{first.stream, 9, first.digest, first.bytes,
                                                                first.generation, first.accepted_at_ms, first.contract,
                                                                first.contract_digest},
                                               artifact(1), t.key);
  t.write(renumbered);
  auto other = t.watch();
  CHECK(other.exit == 3);
  CHECK(contains(other.out, "sequence differs: the attestation signs sequence 9, the record says 1"));
}

TEST_CASE("watch --trusted-keys: an expired envelope is refused (freeze)", "[sign]") {
  Signed s;
  s.accept(1, &s.key);
  auto w = s.watch(kLate);
  INFO(w.out);
  CHECK(w.exit == 3);
  CHECK(contains(w.out, "expired at 2026-12-02T10:00:00Z (freeze)"));
  CHECK_FALSE(std::filesystem::exists(s.out));
  CHECK(s.watch(kFresh).exit == 0);
}

TEST_CASE("watch --trusted-keys: unknown and revoked keys are refused, both keys of a rotation accepted", "[sign]") {
  Signed s;
  auto next = key_of('n', "gate-2027");
  auto stranger = key_of('x', "someone");
  std::string rotation = s.tmp / "rotation.json";
  std::string revoked = s.tmp / "revoked.json";
  test::spit(rotation, trusted({&s.key, &next}));
  test::spit(revoked, trusted({&next}));  // gate-2026 removed
  s.accept(1, &s.key);
  CHECK(s.watch(kFresh, rotation).exit == 0);
  s.accept(2, &next);
  CHECK(s.watch(kFresh, rotation).exit == 0);
  CHECK(test::slurp(s.out) == artifact(2));
  s.accept(3, &stranger);
  auto unknown = s.watch(kFresh, rotation);
  INFO(unknown.out);
  CHECK(unknown.exit == 3);
  CHECK(contains(unknown.out, "no signature by a trusted key"));
  s.accept(4, &s.key);
  auto gone = s.watch(kFresh, revoked);
  INFO(gone.out);
  CHECK(gone.exit == 3);
  CHECK(contains(gone.out, "no signature by a trusted key"));
  CHECK(test::slurp(s.out) == artifact(2));
}

TEST_CASE("watch --trusted-keys: bytes changed after signing are refused", "[sign]") {
  Signed s;
  s.accept(1, &s.key);
  REQUIRE(s.watch().exit == 0);
  auto r2 = s.accept(2, nullptr);
  r2.attestation = Signed::attestation(r2, artifact(1), s.key);  // signed for other bytes
  s.write(r2);
  auto w = s.watch();
  INFO(w.out);
  CHECK(w.exit == 3);
  CHECK(contains(w.out, "subject digest differs from the bytes"));
  CHECK(test::slurp(s.out) == artifact(1));
}

TEST_CASE("Guard with trusted keys: verifies the stored LKG at start and on refresh, keeps what it served", "[sign]") {
  Signed s;
  s.accept(1, &s.key);
  auto guard = s.guard();
  REQUIRE(guard.ok());
  REQUIRE(guard->current());
  CHECK(*guard->current() == artifact(1));
  // Forged, then expired at the guard's clock: refused, the old one served.
  s.accept(2, nullptr);
  auto forged = guard->refresh({}, invar::parse_time(kFresh));
  REQUIRE_FALSE(forged.ok());
  CHECK(forged.error().code == invar::ErrorCode::signature);
  CHECK(contains(forged.error().message, "refused sequence 2"));
  CHECK(contains(forged.error().message, "carries no attestation"));
  CHECK(*guard->current() == artifact(1));
  s.accept(3, &s.key);
  auto expired = guard->refresh({}, invar::parse_time(kLate));
  REQUIRE_FALSE(expired.ok());
  CHECK(contains(expired.error().message, "(freeze)"));
  CHECK(*guard->current() == artifact(1));
  auto fresh = guard->refresh({}, invar::parse_time(kFresh));
  REQUIRE(fresh.ok());
  REQUIRE(fresh.value());
  CHECK(fresh.value()->sequence == 3);
  CHECK(*guard->current() == artifact(3));
  // Started on an expired LKG: no guard.
  auto late = s.guard(kLate);
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().code == invar::ErrorCode::signature);
  // Without trusted keys a guard serves what the store holds.
  s.accept(4, nullptr);
  auto plain = invar::Guard::persistent(s.contract, s.store, "s");
  REQUIRE(plain.ok());
  CHECK(*plain->current() == artifact(4));
}

TEST_CASE("TypedGuard refresh: verified, then parsed", "[sign]") {
  Signed s;
  s.accept(1, &s.key);
  auto guard = s.guard();
  REQUIRE(guard.ok());
  invar::TypedGuard<std::string> typed(std::move(guard.value()), [](std::string_view bytes) {
    return invar::Result<std::string>(std::string(bytes));
  });
  REQUIRE(typed.current());
  s.accept(2, nullptr);
  auto refused = typed.refresh(invar::parse_time(kFresh));
  CHECK_FALSE(refused.ok());
  CHECK(*typed.current() == artifact(1));
  s.accept(3, &s.key);
  auto served = typed.refresh(invar::parse_time(kFresh));
  REQUIRE(served.ok());
  CHECK(*typed.current() == artifact(3));
}

TEST_CASE("C ABI: a verified guard and invar_verify_attestation refuse what does not verify", "[sign][capi]") {
  Signed s;
  // The C ABI's clock is the system clock: a window around it.
  const int64_t now = invar::Time::now().ms();
  auto r1 = s.accept(1, &s.key, now + kDay);
  std::string keys_text = test::slurp(s.keys_file);
  invar_trusted_keys* keys = nullptr;
  REQUIRE(invar_trusted_keys_load_string(keys_text.data(), keys_text.size(), &keys) == INVAR_OK);
  invar_contract* contract = nullptr;
  REQUIRE(invar_contract_load_string(kContract, std::strlen(kContract), nullptr, &contract) == INVAR_OK);

  invar_guard* guard = nullptr;
  REQUIRE(invar_guard_new_verified(contract, s.state.c_str(), "s", nullptr, keys, &guard) == INVAR_OK);
  invar_trusted_keys_free(keys);  // the guard keeps its own copy
  keys = nullptr;
  const char* bytes = nullptr;
  size_t len = 0;
  REQUIRE(invar_guard_current(guard, &bytes, &len) == INVAR_OK);
  CHECK(std::string(bytes, len) == artifact(1));
  s.accept(2, nullptr);
  int changed = -1;
  CHECK(invar_guard_refresh(guard, &changed) == INVAR_E_REFUSED);
  CHECK(contains(invar_last_error(), "carries no attestation"));
  CHECK(changed == 0);
  REQUIRE(invar_guard_current(guard, &bytes, &len) == INVAR_OK);
  CHECK(std::string(bytes, len) == artifact(1));
  s.accept(3, &s.key, now + kDay);
  CHECK(invar_guard_refresh(guard, &changed) == INVAR_OK);
  CHECK(changed == 1);
  REQUIRE(invar_guard_current(guard, &bytes, &len) == INVAR_OK);
  CHECK(std::string(bytes, len) == artifact(3));
  invar_guard_free(guard);

  // An expired LKG: no guard. Keys without a state: an argument error.
  REQUIRE(invar_trusted_keys_load_string(keys_text.data(), keys_text.size(), &keys) == INVAR_OK);
  s.accept(4, &s.key, kDecided + kDay);
  guard = nullptr;
  CHECK(invar_guard_new_verified(contract, s.state.c_str(), "s", nullptr, keys, &guard) == INVAR_E_REFUSED);
  CHECK(contains(invar_last_error(), "(freeze)"));
  CHECK(guard == nullptr);
  CHECK(invar_guard_new_verified(contract, nullptr, nullptr, nullptr, keys, &guard) == INVAR_E_ARGUMENT);

  // invar_verify_attestation: verified, bytes changed, expired.
  char* verified = nullptr;
  std::string one = artifact(1);
  CHECK(invar_verify_attestation(keys, r1.attestation.data(), r1.attestation.size(), one.data(), one.size(), "s", "",
                                 1, 0, &verified) == INVAR_OK);
  REQUIRE(verified != nullptr);
  CHECK(contains(verified, "\"sequence\":1"));
  invar_string_free(verified);
  std::string changed_bytes = artifact(9);
  CHECK(invar_verify_attestation(keys, r1.attestation.data(), r1.attestation.size(), changed_bytes.data(),
                                 changed_bytes.size(), "s", "", 0, 0, &verified) == INVAR_E_REFUSED);
  CHECK(contains(invar_last_error(), "subject digest differs"));
  CHECK(verified == nullptr);
  CHECK(invar_verify_attestation(keys, r1.attestation.data(), r1.attestation.size(), one.data(), one.size(), "s", "",
                                 0, now + 2 * kDay, &verified) == INVAR_E_REFUSED);
  CHECK(contains(invar_last_error(), "(freeze)"));
  invar_trusted_keys_free(keys);
  invar_contract_free(contract);
}

TEST_CASE("watch --trusted-keys: a stage's record is verified for its stage, a stage without attestations refused",
          "[sign]") {
  Signed s;
  std::string contract = s.tmp / "c.json", rollout = s.tmp / "r.json", seed = s.tmp / "seed.json";
  test::spit(contract, kContract);
  test::spit(rollout, R"({"rollout": "r", "stages": [{"name": "canary"}, {"name": "global"}]})");
  test::spit(seed, artifact(1));
  REQUIRE(test::invar({"init", "--state", s.state, "--stream", "s", "--contract", contract, "--by", "t", "--rollout",
                       rollout, seed, "--reason", "seed"}).exit == 0);
  auto watch = [&](const std::string& stage, const std::string& out) {
    return test::invar({"watch", "--state", s.state, "--stream", "s", "--stage", stage, "--out", s.tmp / out,
                        "--once", "--trusted-keys", s.keys_file, "--now", kFresh});
  };
  auto global = watch("global", "global.json");
  INFO(global.out);
  CHECK(global.exit == 3);
  // After init every stage holds the seed: the LKG record itself, unsigned here.
  CHECK(contains(global.out, "the LKG record carries no attestation"));
  // The first stage serves the stream's LKG record, which gates sign for stage "" (docs/signing.md):
  // signed so, it verifies; signed for a stage name, it does not.
  auto lkg = s.store.lkg("s");
  REQUIRE(lkg.ok());
  invar::LkgRecord record = *lkg.value();
  record.attestation = Signed::attestation(record, artifact(1), s.key, kDecided + kDay, "canary");
  s.write(record);
  auto named = watch("canary", "named.json");
  INFO(named.out);
  CHECK(named.exit == 3);
  CHECK(contains(named.out, "stage differs"));
  record.attestation = Signed::attestation(record, artifact(1), s.key, kDecided + kDay, "");
  s.write(record);
  auto canary = watch("canary", "canary.json");
  INFO(canary.out);
  CHECK(canary.exit == 0);
  CHECK(test::slurp(s.tmp / "canary.json") == artifact(1));
}

TEST_CASE("watch --trusted-keys on etcd: a forged record (valid seal, no envelope) is refused, the old one kept",
          "[sign][fleet]") {
  auto* etcd = test::shared_etcd();
  if (!etcd) {
    if (test::etcd_installed()) FAIL("the etcd cluster did not answer");
    WARN("etcd is not installed: skipped");
    return;
  }
  Signed s;
  std::string prefix = test::fresh_prefix("signed-follow");
  std::string url = etcd->url(prefix);
  std::string contract = s.tmp / "c.json", one = s.tmp / "g1.json", two = s.tmp / "g2.json";
  test::spit(contract, kContract);
  test::spit(one, artifact(1));
  test::spit(two, artifact(2));
  REQUIRE(test::invar({"init", "--state", url, "--stream", "s", "--contract", contract, "--by", "test"}).exit == 0);
  auto gate = [&](const std::string& file) {
    return test::invar({"gate", "--contract", contract, "--stream", "s", "--state", url, "--out", s.tmp / "gated.json",
                        file});
  };
  REQUIRE(gate(one).exit == 0);
  invar::StoreOptions options;
  invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
  const std::string lkg_key = prefix + "/streams/s/r/lkg";
  auto stored = raw.get(lkg_key);
  REQUIRE(stored);
  REQUIRE(stored.value());
  auto record = invar::store::decode_lkg(stored.value()->value, "lkg");
  REQUIRE(record.ok());
  record->attestation = Signed::attestation(*record, artifact(1), s.key);
  REQUIRE_FALSE(raw.put(lkg_key, invar::store::encode_lkg(*record)));  // signed as a signing gate would
  std::vector<std::string> watch = {"watch", "--state", url, "--stream", "s", "--out", s.out, "--once",
                                    "--trusted-keys", s.keys_file, "--now", kFresh};
  auto first = test::invar(watch);
  INFO(first.out);
  REQUIRE(first.exit == 0);
  REQUIRE(test::slurp(s.out) == artifact(1));
  REQUIRE(gate(two).exit == 0);  // a record sealed as the store seals, never signed
  auto w = test::invar(watch);
  INFO(w.out);
  CHECK(w.exit == 3);
  CHECK(contains(w.out, "refused sequence 2"));
  CHECK(contains(w.out, "carries no attestation"));
  CHECK(test::slurp(s.out) == artifact(1));
}
