// Signed decisions on the gate's side (issue 33, docs/signing.md): gates,
// init and reverts sign what they put in service, store the envelope with
// the LKG record and publish it beside --out; a signing gate verifies the
// stored LKG before it judges against it or publishes it. Driven through
// the CLI; forged records are written as an attacker with write access to
// the store would, with the records encoder (a valid seal, no key).
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "etcd_cluster.hpp"
#include "gate_fixture.hpp"
#include "helpers.hpp"
#include "invar/sign.hpp"
#include "process.hpp"
#include "store/etcd_client.hpp"
#include "store/records.hpp"

using nlohmann::json;
using test::contains;

namespace {

// Keys made by `invar keygen`: "a", "b", "c", each with a trusted-keys file
// listing it alone; "ab" lists a and b (a rotation).
struct Keys {
  test::TempDir tmp;
  std::string key(const std::string& name) const { return tmp / (name + ".key"); }
  std::string trusted(const std::string& name) const { return tmp / (name + ".trusted.json"); }

  Keys() {
    std::vector<std::string> entries;
    for (std::string name : {"a", "b", "c"}) {
      auto r = test::invar({"keygen", "--out", key(name), "--id", "gate-" + name, "--public-out", trusted(name), "-q"});
      INFO(r.out);
      REQUIRE(r.exit == 0);
      auto list = json::parse(test::slurp(trusted(name)));
      entries.push_back(list["keys"][0].dump());
    }
    test::spit(trusted("ab"), "{\"keys\": [" + entries[0] + ", " + entries[1] + "]}");
  }
};

const std::string kT1 = "2026-12-01T10:00:00Z";

std::string sidecar(const test::Fixture& f) { return f.out + ".intoto.jsonl"; }

// `invar verify` of `artifact` with its attestation: the exit code and the statement (json).
std::pair<int, json> verify(const std::string& artifact, const std::string& attestation, const std::string& trusted,
                            const std::string& now = kT1) {
  auto r = test::invar({"verify", artifact, "--attestation", attestation, "--trusted-keys", trusted, "--stream", "s",
                        "--stage", "", "--now", now, "--format", "json"});
  INFO(r.out);
  json j = json::parse(r.out, nullptr, false);
  return {r.exit, j.is_object() && j.contains("statement") ? j["statement"] : json()};
}

std::string lkg_path(const test::Fixture& f) { return f.state + "/streams/s/lkg.json"; }

invar::LkgRecord read_lkg(const test::Fixture& f) {
  auto rec = invar::store::decode_lkg(test::slurp(lkg_path(f)), "lkg.json");
  REQUIRE(rec);
  return *rec;
}

// The record written back whole, sealed by the encoder (what a writer of the store can do).
void write_lkg(const test::Fixture& f, const invar::LkgRecord& rec) {
  test::spit(lkg_path(f), invar::store::encode_lkg(rec));
}

std::vector<std::string> signing(const Keys& k, const std::string& name) {
  return {"--signing-key", k.key(name), "--now", kT1};
}

}  // namespace

TEST_CASE("signed gate: an accept stores its envelope and publishes FILE.intoto.jsonl, which invar verify accepts",
          "[sign][gate]") {
  Keys k;
  test::Fixture f;
  auto r = f.gate(f.artifact(1), signing(k, "a"));
  INFO(r.out);
  REQUIRE(r.exit == 0);
  CHECK_FALSE(read_lkg(f).attestation.empty());
  std::string line = test::slurp(sidecar(f));
  CHECK(line == read_lkg(f).attestation + "\n");
  auto [code, statement] = verify(f.out, sidecar(f), k.trusted("a"));
  CHECK(code == 0);
  CHECK(statement["stream"] == "s");
  CHECK(statement["stage"] == "");
  CHECK(statement["sequence"] == 1);
  CHECK(statement["verdict"] == "accept");
  CHECK(statement["decided_at"] == kT1);
  CHECK(statement["expires"] == "2026-12-08T10:00:00Z");  // the default window, 7d
  CHECK(statement["contract"] == "race");
  CHECK(statement["keyid"] == "gate-a");
  r = f.gate(f.artifact(2), {"--signing-key", k.key("a"), "--now", kT1, "--attestation-window", "1d"});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  std::tie(code, statement) = verify(f.out, sidecar(f), k.trusted("a"));
  CHECK(code == 0);
  CHECK(statement["sequence"] == 2);
  CHECK(statement["expires"] == "2026-12-02T10:00:00Z");
  // Signed by another key than the one trusted: refused.
  CHECK(verify(f.out, sidecar(f), k.trusted("b")).first == 1);
}

TEST_CASE("signed gate: an LKG record sealed correctly but without an envelope is forged state, exit 3, nothing "
          "published (directory)", "[sign][gate]") {
  Keys k;
  test::Fixture f;
  REQUIRE(f.gate(f.artifact(1), signing(k, "a")).exit == 0);
  std::string published = test::slurp(f.out), attestation = test::slurp(sidecar(f));
  auto rec = read_lkg(f);
  rec.attestation.clear();
  write_lkg(f, rec);
  auto r = f.gate(f.artifact(2), signing(k, "a"));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "has no valid attestation: forged or corrupted state"));
  CHECK(contains(r.out, "carries no envelope"));
  CHECK(test::slurp(f.out) == published);
  CHECK(test::slurp(sidecar(f)) == attestation);
  // A pin would publish the LKG: refused as well.
  r = f.gate(f.artifact(0, 0), signing(k, "a"));
  CHECK(r.exit == 3);
  CHECK(test::slurp(f.out) == published);
  CHECK(test::slurp(sidecar(f)) == attestation);
}

TEST_CASE("signed gate: an LKG whose envelope is by an unknown key, or for other bytes, is refused (exit 3)",
          "[sign][gate]") {
  Keys k;
  SECTION("an unknown key") {
    test::Fixture f;
    REQUIRE(f.gate(f.artifact(1), signing(k, "c")).exit == 0);
    auto r = f.gate(f.artifact(2), signing(k, "a"));
    INFO(r.out);
    CHECK(r.exit == 3);
    CHECK(contains(r.out, "no signature by a trusted key"));
    CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  }
  SECTION("bytes swapped: the record and the stored bytes of another accepted artifact, the envelope kept") {
    test::Fixture f;
    REQUIRE(f.gate(f.artifact(1), signing(k, "a")).exit == 0);
    REQUIRE(f.gate(f.artifact(2), signing(k, "a")).exit == 0);
    auto rec = read_lkg(f);  // sequence 2, artifact 2, its envelope
    std::string g1 = test::slurp(f.artifact(1));
    rec.digest = "sha256:" + invar::digest::sha256_hex(g1);
    rec.bytes = g1.size();
    write_lkg(f, rec);
    auto r = f.gate(f.artifact(3), signing(k, "a"));
    INFO(r.out);
    CHECK(r.exit == 3);
    CHECK(contains(r.out, "has no valid attestation"));
    CHECK(contains(r.out, "subject digest differs"));
    CHECK(test::slurp(f.out) == test::slurp(f.artifact(2)));
  }
  SECTION("a record claiming a later sequence, with the envelope of an earlier decision of the same bytes") {
    test::Fixture f;
    REQUIRE(f.gate(f.artifact(1), signing(k, "a")).exit == 0);
    auto first = read_lkg(f);
    REQUIRE(f.gate(f.artifact(2), signing(k, "a")).exit == 0);
    REQUIRE(f.gate(f.artifact(3), signing(k, "a")).exit == 0);  // sequence 3
    auto rec = read_lkg(f);
    rec.sequence = 4;  // a "newer" record, carrying an envelope of sequence 3
    write_lkg(f, rec);
    auto r = f.gate(f.artifact(5), signing(k, "a"));
    INFO(r.out);
    CHECK(r.exit == 3);
    CHECK(contains(r.out, "the envelope's sequence is 3, the record's 4"));
    CHECK(first.sequence == 1);
  }
}

TEST_CASE("signed gate: a rotation, a gate with key B trusting A and B judges against an LKG signed by A",
          "[sign][gate]") {
  Keys k;
  test::Fixture f;
  REQUIRE(f.gate(f.artifact(1), signing(k, "a")).exit == 0);
  auto refused = f.gate(f.artifact(2), signing(k, "b"));  // B alone does not trust A's envelope
  INFO(refused.out);
  CHECK(refused.exit == 3);
  auto args = signing(k, "b");
  args.insert(args.end(), {"--trusted-keys", k.trusted("ab")});
  auto r = f.gate(f.artifact(2), args);
  INFO(r.out);
  REQUIRE(r.exit == 0);
  auto [code, statement] = verify(f.out, sidecar(f), k.trusted("b"));
  CHECK(code == 0);
  CHECK(statement["keyid"] == "gate-b");
  CHECK(statement["sequence"] == 2);
  CHECK(f.gate(f.artifact(3), signing(k, "b")).exit == 0);  // B's own envelope, from now on
}

TEST_CASE("signed gate: a pin publishes the LKG with its attestation, an unchanged decision re-signs it later",
          "[sign][gate]") {
  Keys k;
  test::Fixture f;
  REQUIRE(f.gate(f.artifact(1), signing(k, "a")).exit == 0);
  std::filesystem::remove(f.out);
  std::filesystem::remove(sidecar(f));
  auto r = f.gate(f.artifact(2, 0), signing(k, "a"));  // no items: a violation
  INFO(r.out);
  REQUIRE(r.exit == 2);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  auto [code, statement] = verify(f.out, sidecar(f), k.trusted("a"));
  CHECK(code == 0);
  CHECK(statement["sequence"] == 1);
  CHECK(statement["decided_at"] == kT1);  // the LKG's own envelope: a pin renews nothing
  r = f.gate(f.artifact(1), {"--signing-key", k.key("a"), "--now", "2026-12-05T10:00:00Z"});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  CHECK(contains(r.out, "unchanged"));
  std::tie(code, statement) = verify(f.out, sidecar(f), k.trusted("a"), "2026-12-10T10:00:00Z");
  CHECK(code == 0);  // past the first envelope's expiry (12-08): fresh again
  CHECK(statement["sequence"] == 1);
  CHECK(statement["expires"] == "2026-12-12T10:00:00Z");
  CHECK(read_lkg(f).sequence == 1);
  CHECK(test::slurp(sidecar(f)) == read_lkg(f).attestation + "\n");
  CHECK(f.gate(f.artifact(2), signing(k, "a")).exit == 0);  // the re-signed record verifies
}

TEST_CASE("signed gate: without a signing key nothing is signed, and an earlier sidecar is removed", "[sign][gate]") {
  Keys k;
  test::Fixture f;
  REQUIRE(f.gate(f.artifact(1), signing(k, "a")).exit == 0);
  REQUIRE(std::filesystem::exists(sidecar(f)));
  auto r = f.gate(f.artifact(2));
  INFO(r.out);
  REQUIRE(r.exit == 0);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(2)));
  CHECK_FALSE(std::filesystem::exists(sidecar(f)));
  CHECK(read_lkg(f).attestation.empty());
  // INVAR_SIGNING_KEY_FILE stands for --signing-key; --trusted-keys alone is refused.
  r = f.gate(f.artifact(3), {"--now", kT1, "--adopt-unsigned-lkg", "signing turned on"},
             {"INVAR_SIGNING_KEY_FILE=" + k.key("a")});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  CHECK(verify(f.out, sidecar(f), k.trusted("a")).first == 0);
  r = f.gate(f.artifact(4), {"--trusted-keys", k.trusted("a")});
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "--trusted-keys verifies the stored LKG for a gate that signs"));
}

TEST_CASE("signed gate: an LKG accepted before signing is adopted once with --adopt-unsigned-lkg, journaled",
          "[sign][gate]") {
  Keys k;
  test::Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  auto r = f.gate(f.artifact(1), signing(k, "a"));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "--adopt-unsigned-lkg"));
  auto blank = signing(k, "a");
  blank.insert(blank.end(), {"--adopt-unsigned-lkg", " "});
  r = f.gate(f.artifact(1), blank);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "needs a reason"));
  auto args = signing(k, "a");
  args.insert(args.end(), {"--adopt-unsigned-lkg", "signing turned on (ticket 12)"});
  r = f.gate(f.artifact(1), args);
  INFO(r.out);
  REQUIRE(r.exit == 0);
  CHECK(contains(r.out, "adopted"));
  auto [code, statement] = verify(f.out, sidecar(f), k.trusted("a"));
  CHECK(code == 0);
  CHECK(statement["sequence"] == 1);
  auto journal = f.journal();
  REQUIRE_FALSE(journal.empty());
  CHECK(contains(journal.back().dump(), "signing turned on (ticket 12)"));
  // Adopted: signing gates judge against it from now on.
  CHECK(f.gate(f.artifact(2), signing(k, "a")).exit == 0);
  // An envelope that fails is never adopted.
  auto rec = read_lkg(f);
  rec.attestation[rec.attestation.size() / 2] ^= 1;
  write_lkg(f, rec);
  r = f.gate(f.artifact(3), args);
  CHECK(r.exit == 3);
}

TEST_CASE("signed gate: init --signing-key signs the seed, and a veto's revert signs the LKG it returns to",
          "[sign][gate]") {
  Keys k;
  test::Fixture f;
  f.created = f.state;  // created here, seeded
  auto r = test::invar({"init", "--state", f.state, "--stream", "s", "--contract", f.contract, "--by", "t", "--reason",
                        "the current file", f.artifact(1), "--signing-key", k.key("a"), "--now", kT1});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  auto trusted = invar::TrustedKeys::load_file(k.trusted("a"));
  REQUIRE(trusted);
  invar::VerifyExpectations expect;
  expect.stream = "s";
  expect.now = invar::Time::parse(kT1);
  auto seed = invar::verify(read_lkg(f).attestation, test::slurp(f.artifact(1)), *trusted, expect);
  REQUIRE(seed);
  CHECK(seed->statement.verdict == "seed");
  CHECK(seed->statement.sequence == 1);
  REQUIRE(f.gate(f.artifact(2), signing(k, "a")).exit == 0);  // judged against the signed seed
  std::string bad = "sha256:" + invar::digest::sha256_hex(test::slurp(f.artifact(2)));
  // A veto with a key that does not trust the LKG's signer changes nothing.
  r = test::invar({"veto", "--state", f.state, "--stream", "s", bad, "--reason", "broke", "--by", "t", "--signing-key",
                   k.key("c"), "--now", kT1});
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "has no valid attestation"));
  CHECK(read_lkg(f).sequence == 2);
  // A retained entry whose envelope was stripped (a writer of the store) is never signed back into service.
  const std::string accepted_path = f.state + "/streams/s/accepted.json";
  const std::string accepted = test::slurp(accepted_path);
  auto entries = invar::store::decode_accepted(accepted, "accepted.json");
  REQUIRE(entries);
  REQUIRE(entries->size() == 2);
  CHECK_FALSE(entries->front().attestation.empty());  // the seed's
  entries->front().attestation.clear();
  test::spit(accepted_path, invar::store::encode_accepted(*entries));
  r = test::invar({"veto", "--state", f.state, "--stream", "s", bad, "--reason", "broke", "--by", "t", "--signing-key",
                   k.key("a"), "--now", kT1});
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "no older accepted artifact to return to whose attestation verifies"));
  CHECK(read_lkg(f).sequence == 2);
  test::spit(accepted_path, accepted);
  r = test::invar({"veto", "--state", f.state, "--stream", "s", bad, "--reason", "broke", "--by", "t", "--signing-key",
                   k.key("a"), "--now", kT1});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  auto reverted = invar::verify(read_lkg(f).attestation, test::slurp(f.artifact(1)), *trusted, expect);
  REQUIRE(reverted);
  CHECK(reverted->statement.verdict == "revert");
  CHECK(reverted->statement.sequence == 3);
  r = f.gate(f.artifact(3), signing(k, "a"));  // halted: a pin, of the signed revert
  INFO(r.out);
  CHECK(r.exit == 2);
  auto [code, statement] = verify(f.out, sidecar(f), k.trusted("a"));
  CHECK(code == 0);
  CHECK(statement["verdict"] == "revert");
}

TEST_CASE("signed gate: the attestation is in place before the artifact is renamed (killed between the two)",
          "[sign][gate]") {
  Keys k;
  test::Fixture f;
  REQUIRE(f.gate(f.artifact(1), signing(k, "a")).exit == 0);
  auto r = f.gate(f.artifact(2), signing(k, "a"), {"INVAR_FAULT=publish:attested"});
  REQUIRE(r.signal == SIGKILL);
  // The new attestation, beside the old artifact: a consumer pairing them fails closed.
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  CHECK(verify(f.out, sidecar(f), k.trusted("a")).first == 1);
  auto [code, statement] = verify(f.artifact(2), sidecar(f), k.trusted("a"));
  CHECK(code == 0);
  CHECK(statement["sequence"] == 2);
  // The decision was committed: the same artifact again publishes it.
  r = f.gate(f.artifact(2), signing(k, "a"));
  INFO(r.out);
  CHECK(r.exit == 0);
  CHECK(verify(f.out, sidecar(f), k.trusted("a")).first == 0);
}

TEST_CASE("signed gate: a forged LKG record without an envelope in etcd is exit 3, nothing published", "[sign][gate][fleet]") {
  auto* etcd = test::shared_etcd();
  if (!etcd) {
    if (test::etcd_installed()) FAIL("the etcd cluster did not answer");
    WARN("etcd is not installed: skipped");
    return;
  }
  Keys k;
  test::Fixture f;
  std::string prefix = test::fresh_prefix("signed");
  f.state = etcd->url(prefix);
  REQUIRE(f.gate(f.artifact(1), signing(k, "a")).exit == 0);
  // Unchanged: the record written again with a fresh envelope (same sequence), then judged against.
  auto again = f.gate(f.artifact(1), {"--signing-key", k.key("a"), "--now", "2026-12-05T10:00:00Z"});
  INFO(again.out);
  REQUIRE(again.exit == 0);
  CHECK(verify(f.out, sidecar(f), k.trusted("a"), "2026-12-10T10:00:00Z").first == 0);
  REQUIRE(f.gate(f.artifact(2), signing(k, "a")).exit == 0);
  auto status = f.status();
  CHECK(status["lkg"]["sequence"] == 2);
  invar::StoreOptions options;
  invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
  const std::string lkg_key = prefix + "/streams/s/r/lkg";
  auto stored = raw.get(lkg_key);
  REQUIRE(stored);
  REQUIRE(stored.value());
  auto rec = invar::store::decode_lkg(stored.value()->value, "lkg");
  REQUIRE(rec);
  CHECK_FALSE(rec->attestation.empty());
  rec->attestation.clear();
  REQUIRE_FALSE(raw.put(lkg_key, invar::store::encode_lkg(*rec)));
  auto r = f.gate(f.artifact(3), signing(k, "a"));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "has no valid attestation: forged or corrupted state"));
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(2)));
}

TEST_CASE("signed gate (API): GateOptions::signing_key signs a seed and an accept, file_publisher writes the "
          "attestation, a custom publisher gets the bytes", "[sign][gate][api]") {
  test::TempDir tmp;
  auto contract = test::contract(test::kRaceContract);
  REQUIRE(contract);
  auto store = invar::StateStore::open_directory(tmp / "state");
  REQUIRE(store);
  auto key = invar::SigningKey::generate("api-gate");
  REQUIRE(key);
  invar::GateOptions options;
  options.signing_key = std::make_shared<const invar::SigningKey>(*key);
  options.attestation_window_ms = 3'600'000;
  invar::Gate gate(*contract, *store, options);
  invar::InitOptions init;
  init.by = "test";
  init.reason = "the current file";
  const std::string seed = R"({"generation": 1, "items": [1]})", next = R"({"generation": 2, "items": [1]})";
  init.seed = seed;
  init.now = invar::Time::parse(kT1);
  auto seeded = gate.init("s", init);
  REQUIRE(seeded);
  REQUIRE(seeded.value());
  auto trusted = invar::TrustedKeys::load_string("{\"keys\": [" + key->trusted_entry() + "]}");
  REQUIRE(trusted);
  invar::VerifyExpectations expect;
  expect.stream = "s";
  expect.stage = "";
  expect.now = invar::Time::parse(kT1);
  auto verified = invar::verify(seeded.value()->lkg_after->attestation, seed, *trusted, expect);
  REQUIRE(verified);
  CHECK(verified->statement.verdict == "seed");
  CHECK(verified->statement.expires_ms - verified->statement.decided_at_ms == 3'600'000);
  std::string out = tmp / "out.json";
  auto publisher = invar::file_publisher(out);
  invar::SubmitOptions submit;
  submit.publisher = publisher.get();
  submit.now = invar::Time::parse(kT1);
  auto d = gate.submit("s", next, submit);
  REQUIRE(d);
  REQUIRE(d->action == invar::Action::accept);
  CHECK(test::slurp(out) == next);
  CHECK(test::slurp(out + ".intoto.jsonl") == d->lkg_after->attestation + "\n");
  verified = invar::verify(d->lkg_after->attestation, next, *trusted, expect);
  REQUIRE(verified);
  CHECK(verified->statement.sequence == 2);
  // A publisher of its own (the default prepare_attested): the bytes, as before.
  struct Memory : invar::Publisher {
    std::string staged, published;
    std::optional<invar::Error> prepare(std::string_view bytes, const std::string&) override {
      staged = std::string(bytes);
      return std::nullopt;
    }
    std::optional<invar::Error> commit() override {
      published = staged;
      return std::nullopt;
    }
  } memory;
  submit.publisher = &memory;
  d = gate.submit("s", next, submit);  // unchanged: re-signed
  REQUIRE(d);
  CHECK(d->action == invar::Action::unchanged);
  CHECK(memory.published == next);
  CHECK(invar::verify(d->lkg_after->attestation, next, *trusted, expect));
}

TEST_CASE("signed gate and verifying watch, end to end: served while signed, a forged record never", "[sign][gate]") {
  Keys k;
  test::Fixture f;
  REQUIRE(f.gate(f.artifact(1), signing(k, "a")).exit == 0);
  std::string served = f.tmp / "served.json";
  auto watch = [&](const std::string& now) {
    return test::invar({"watch", "--state", f.state, "--stream", "s", "--out", served, "--once", "--trusted-keys",
                        k.trusted("a"), "--now", now});
  };
  auto first = watch("2026-12-01T11:00:00Z");
  INFO(first.out);
  CHECK(first.exit == 0);
  CHECK(test::slurp(served) == test::slurp(f.artifact(1)));
  CHECK(verify(served, served + ".intoto.jsonl", k.trusted("a"), "2026-12-01T11:00:00Z").first == 0);
  REQUIRE(f.gate(f.artifact(2), signing(k, "a")).exit == 0);
  CHECK(watch("2026-12-01T11:01:00Z").exit == 0);
  CHECK(test::slurp(served) == test::slurp(f.artifact(2)));
  // A writer of the state without the key: a newer record for bytes no gate judged, sealed correctly.
  invar::LkgRecord forged = read_lkg(f);
  forged.sequence += 1;
  write_lkg(f, forged);
  auto refused = watch("2026-12-01T11:02:00Z");
  CHECK(refused.exit == 3);
  CHECK(contains(refused.out, "sequence differs"));
  forged.attestation.clear();
  write_lkg(f, forged);
  refused = watch("2026-12-01T11:03:00Z");
  CHECK(refused.exit == 3);
  CHECK(contains(refused.out, "carries no attestation"));
  CHECK(test::slurp(served) == test::slurp(f.artifact(2)));  // still serving the signed one
  // ... and the gate refuses to judge against it (forged state).
  CHECK(f.gate(f.artifact(3), signing(k, "a")).exit == 3);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(2)));
}

namespace {

// A signed stream "s" with stages (bake 1h each, no health checks), seeded
// at kT1 by a gate with key "a": every stage holds the signed seed.
struct Staged {
  Keys k;
  test::Fixture f;
  std::string rollout_path = f.state + "/streams/s/rollout.json";

  explicit Staged(const std::string& stages) {
    f.created = f.state;
    std::string rollout = f.tmp / "r.json";
    test::spit(rollout, R"({"rollout": "r", "stages": [)" + stages + "]}");
    auto r = test::invar({"init", "--state", f.state, "--stream", "s", "--contract", f.contract, "--by", "t", "--reason",
                          "seed", "--rollout", rollout, f.artifact(1), "--signing-key", k.key("a"), "--now", kT1});
    INFO(r.out);
    REQUIRE(r.exit == 0);
  }
  test::Run step(const std::string& now) {
    return test::invar({"rollout", "--state", f.state, "--stream", "s", "--signing-key", k.key("a"), "--now", now});
  }
  invar::RolloutState record() {
    auto r = invar::store::decode_rollout(test::slurp(rollout_path), "rollout.json");
    REQUIRE(r);
    return *r;
  }
  // Written back sealed by the encoder: what a writer of the store without the key can do.
  void write(const invar::RolloutState& r) { test::spit(rollout_path, invar::store::encode_rollout(r)); }
  invar::StageHolding holding(const std::string& stage) {
    for (const auto& s : record().stages)
      if (s.name == stage && s.lkg) return *s.lkg;
    FAIL("stage " << stage << " holds nothing");
    return {};
  }
  // The holding's envelope verified for `stage` and the artifact's bytes.
  invar::Result<invar::VerifiedStatement> verified(const std::string& stage, const std::string& artifact) {
    auto trusted = invar::TrustedKeys::load_file(k.trusted("a"));
    REQUIRE(trusted);
    invar::VerifyExpectations expect;
    expect.stream = "s";
    expect.stage = stage;
    expect.now = invar::Time::parse(kT1);
    return invar::verify(holding(stage).attestation, test::slurp(artifact), *trusted, expect);
  }
};

const std::string kT2 = "2026-12-01T12:00:00Z", kT3 = "2026-12-01T14:00:00Z";

}  // namespace

TEST_CASE("signed rollout: a promotion is signed for its stage, served by a verifying watch of that stage, a forged "
          "holding never, and a revert of the stage is signed", "[sign][rollout]") {
  Staged s(R"({"name": "canary", "bake": "1h"}, {"name": "global"})");
  REQUIRE(s.f.gate(s.f.artifact(2), signing(s.k, "a")).exit == 0);  // LKG sequence 2, in canary
  auto r = s.step(kT2);
  INFO(r.out);
  REQUIRE(r.exit == 0);
  invar::StageHolding global = s.holding("global");
  CHECK(global.digest == "sha256:" + invar::digest::sha256_hex(test::slurp(s.f.artifact(2))));
  auto promoted = s.verified("global", s.f.artifact(2));
  REQUIRE(promoted);
  CHECK(promoted->statement.verdict == "promote");
  CHECK(promoted->statement.stage == "global");
  CHECK(promoted->statement.sequence == global.sequence);
  CHECK(promoted->statement.contract == "race");
  CHECK(promoted->statement.decided_at_ms == invar::Time::parse(kT2)->ms());
  CHECK(promoted->statement.expires_ms == invar::Time::parse(kT2)->ms() + 7 * 86'400'000LL);

  std::string served = s.f.tmp / "global.json";
  auto watch = [&](const std::string& now) {
    return test::invar({"watch", "--state", s.f.state, "--stream", "s", "--stage", "global", "--out", served, "--once",
                        "--trusted-keys", s.k.trusted("a"), "--now", now});
  };
  auto w = watch(kT2);
  INFO(w.out);
  REQUIRE(w.exit == 0);
  CHECK(test::slurp(served) == test::slurp(s.f.artifact(2)));
  auto v = test::invar({"verify", served, "--trusted-keys", s.k.trusted("a"), "--stream", "s", "--stage", "global",
                        "--now", kT2});
  INFO(v.out);
  CHECK(v.exit == 0);

  // A writer of the store without the key: a newer holding of global, sealed, not signed for it.
  const invar::RolloutState before = s.record();
  SECTION("no attestation") {
    invar::RolloutState forged = before;
    forged.stages[1].lkg->sequence += 10;
    forged.stages[1].lkg->attestation.clear();
    s.write(forged);
    auto refused = watch(kT2);
    CHECK(refused.exit == 3);
    CHECK(contains(refused.out, "the record of stage \"global\" carries no attestation"));
    CHECK(test::slurp(served) == test::slurp(s.f.artifact(2)));
  }
  SECTION("the first stage's envelope copied") {
    invar::RolloutState forged = before;
    forged.stages[1].lkg->sequence += 10;
    forged.stages[1].lkg->attestation = read_lkg(s.f).attestation;  // signed for stage ""
    s.write(forged);
    auto refused = watch(kT2);
    CHECK(refused.exit == 3);
    CHECK(contains(refused.out, "stage differs"));
    CHECK(test::slurp(served) == test::slurp(s.f.artifact(2)));
  }
  SECTION("a veto reverts global to its previous holding, signed \"revert\", which the watch serves") {
    std::string bad = "sha256:" + invar::digest::sha256_hex(test::slurp(s.f.artifact(2)));
    auto veto = test::invar({"veto", "--state", s.f.state, "--stream", "s", bad, "--reason", "broke", "--by", "t",
                             "--signing-key", s.k.key("a"), "--now", kT3});
    INFO(veto.out);
    REQUIRE(veto.exit == 0);
    auto reverted = s.verified("global", s.f.artifact(1));
    REQUIRE(reverted);
    CHECK(reverted->statement.verdict == "revert");
    CHECK(reverted->statement.stage == "global");
    CHECK(reverted->statement.sequence == s.holding("global").sequence);
    CHECK(s.holding("global").sequence > global.sequence);
    auto back = watch(kT3);
    INFO(back.out);
    CHECK(back.exit == 0);
    CHECK(test::slurp(served) == test::slurp(s.f.artifact(1)));
  }
}

TEST_CASE("signed rollout: a step whose stage holding cannot be verified promotes nothing (exit 3), and a signing "
          "revert skips a previous holding that does not verify", "[sign][rollout]") {
  Staged s(R"({"name": "canary", "bake": "1h"}, {"name": "eu", "bake": "1h"}, {"name": "global"})");
  REQUIRE(s.f.gate(s.f.artifact(2), signing(s.k, "a")).exit == 0);
  auto r = s.step(kT2);  // canary -> eu, signed
  INFO(r.out);
  REQUIRE(r.exit == 0);
  REQUIRE(s.verified("eu", s.f.artifact(2)));
  const invar::RolloutState signed_state = s.record();
  SECTION("eu's holding without its envelope") {
    invar::RolloutState forged = signed_state;
    forged.stages[1].lkg->attestation.clear();
    s.write(forged);
    const std::string written = test::slurp(s.rollout_path);
    r = s.step(kT3);
    INFO(r.out);
    CHECK(r.exit == 3);
    CHECK(contains(r.out, "not promoting"));
    CHECK(contains(r.out, "no valid attestation"));
    CHECK(test::slurp(s.rollout_path) == written);  // nothing changed: global still holds the seed
  }
  SECTION("eu's holding with the LKG's envelope (stage \"\") copied") {
    invar::RolloutState forged = signed_state;
    forged.stages[1].lkg->attestation = read_lkg(s.f).attestation;
    s.write(forged);
    const std::string written = test::slurp(s.rollout_path);
    r = s.step(kT3);
    INFO(r.out);
    CHECK(r.exit == 3);
    CHECK(contains(r.out, "stage differs"));
    CHECK(test::slurp(s.rollout_path) == written);
  }
  SECTION("verified, it is promoted") {
    r = s.step(kT3);
    INFO(r.out);
    REQUIRE(r.exit == 0);
    auto promoted = s.verified("global", s.f.artifact(2));
    REQUIRE(promoted);
    CHECK(promoted->statement.verdict == "promote");
    // global's previous holding (the seed) stripped of its envelope: a signing revert does not return to it.
    invar::RolloutState forged = s.record();
    REQUIRE(forged.stages[2].previous.size() == 1);
    forged.stages[2].previous.back().attestation.clear();
    s.write(forged);
    std::string bad = "sha256:" + invar::digest::sha256_hex(test::slurp(s.f.artifact(2)));
    auto veto = test::invar({"veto", "--state", s.f.state, "--stream", "s", bad, "--reason", "broke", "--by", "t",
                             "--signing-key", s.k.key("a"), "--now", kT3});
    INFO(veto.out);
    REQUIRE(veto.exit == 0);
    CHECK(contains(veto.out, "not reverting stage \"global\""));
    CHECK_FALSE(s.record().stages[2].lkg);  // nothing verified to return to: the stage is empty
  }
}

TEST_CASE("signed rollout (API): Rollout::step with a signing key signs the promotion, a Follower and a Guard of the "
          "stage verify it", "[sign][rollout][api]") {
  test::TempDir tmp;
  auto contract = test::contract(test::kRaceContract);
  REQUIRE(contract);
  auto store = invar::StateStore::open_directory(tmp / "state");
  REQUIRE(store);
  auto key = invar::SigningKey::generate("api-gate");
  REQUIRE(key);
  auto trusted = invar::TrustedKeys::load_string("{\"keys\": [" + key->trusted_entry() + "]}");
  REQUIRE(trusted);
  invar::GateOptions options;
  options.signing_key = std::make_shared<const invar::SigningKey>(*key);
  invar::Gate gate(*contract, *store, options);
  std::string policy = tmp / "r.json";
  test::spit(policy, R"({"rollout": "r", "stages": [{"name": "canary", "bake": "1h"}, {"name": "global"}]})");
  const std::string seed = R"({"generation": 1, "items": [1]})", next = R"({"generation": 2, "items": [1]})";
  invar::InitOptions init;
  init.by = "test";
  init.reason = "seed";
  init.seed = seed;
  init.rollout_file = policy;
  init.now = invar::Time::parse(kT1);
  REQUIRE(gate.init("s", init));
  invar::SubmitOptions submit;
  submit.now = invar::Time::parse(kT1);
  REQUIRE(gate.submit("s", next, submit));
  invar::Rollout::Options step;
  step.now = invar::Time::parse(kT2);
  REQUIRE(invar::Rollout(*store).step("s", step));  // without a key: promoted unsigned
  invar::Follower unsigned_follower(*store, "s", 0, "global");
  auto unsigned_change = unsigned_follower.poll();
  REQUIRE(unsigned_change);
  REQUIRE(unsigned_change.value());
  CHECK_FALSE(invar::verify_lkg(unsigned_change.value()->lkg, *unsigned_change.value()->artifact, *trusted, "global", 0,
                                invar::Time::parse(kT2)));
  // The next artifact, promoted by a signing step.
  const std::string third = R"({"generation": 3, "items": [1]})";
  REQUIRE(gate.submit("s", third, submit));
  step.signing_key = options.signing_key;
  step.now = invar::Time::parse(kT3);
  REQUIRE(invar::Rollout(*store).step("s", step));
  invar::Follower follower(*store, "s", 0, "global");
  auto change = follower.poll();
  REQUIRE(change);
  REQUIRE(change.value());
  CHECK(*change.value()->artifact == third);
  CHECK(change.value()->stage == "global");
  auto verified =
      invar::verify_lkg(change.value()->lkg, *change.value()->artifact, *trusted, "global", 0, invar::Time::parse(kT3));
  REQUIRE(verified);
  CHECK(verified->statement.verdict == "promote");
  invar::GateOptions following;
  following.trusted_keys = std::make_shared<const invar::TrustedKeys>(*trusted);
  auto guard = invar::Guard::persistent(*contract, *store, "s", following, "global", invar::Time::parse(kT3));
  REQUIRE(guard);
  CHECK(*guard->current() == third);
}
