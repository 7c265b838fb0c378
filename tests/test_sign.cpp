// Signed decisions (docs/signing.md): keys, DSSE envelopes with an in-toto
// Statement v1, every refusal of verify(), the C ABI, keygen and verify.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "invar/invar.h"
#include "invar/sign.hpp"
#include "process.hpp"
#include "sign/encoding.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const int64_t kDecided = invar::parse_time("2026-12-01T10:00:00Z")->ms();
const int64_t kHour = 3'600'000;
const std::string kArtifact = R"({"generation": 7, "items": [1, 2, 3]})";

invar::SigningKey key_of(char fill, const std::string& id = {}) {
  auto key = invar::SigningKey::from_seed(std::string(32, fill), id);
  REQUIRE(key.ok());
  return key.value();
}

std::string trusted(const std::vector<std::string>& entries) {
  std::string list;
  for (const auto& e : entries) list += (list.empty() ? "" : ",\n  ") + e;
  return "{\"keys\": [\n  " + list + "\n]}";
}

invar::TrustedKeys keys_of(const std::vector<std::string>& entries) {
  auto keys = invar::TrustedKeys::load_string(trusted(entries));
  INFO((keys ? "" : keys.error().to_string()));
  REQUIRE(keys.ok());
  return keys.value();
}

invar::Statement statement(uint64_t sequence = 5, const std::string& stage = "") {
  return invar::make_statement("features.json", kArtifact, "features", stage, sequence, "feature-file",
                               "sha256:" + std::string(64, 'c'), "accept", kDecided, kDecided + 24 * kHour);
}

std::string envelope(const invar::SigningKey& key, const invar::Statement& s = statement()) {
  auto e = invar::sign_statement(s, key);
  REQUIRE(e.ok());
  return e.value();
}

invar::VerifyExpectations expect(int64_t at = kDecided + kHour) {
  invar::VerifyExpectations x;
  x.stream = "features";
  x.stage = "";
  x.now = invar::Time::from_ms(at);
  return x;
}

// The refusal's message; "" when it verified.
std::string refusal(const std::string& env, const invar::TrustedKeys& keys, const invar::VerifyExpectations& x,
                    const std::string& bytes = kArtifact) {
  auto v = invar::verify(env, bytes, keys, x);
  if (v) return "";
  return v.error().message;
}

// `env` with its JSON changed by `edit`.
std::string edited(const std::string& env, const std::function<void(json&)>& edit) {
  json j = json::parse(env);
  edit(j);
  return j.dump();
}

}  // namespace

TEST_CASE("sign: PAE is DSSE's pre-authentication encoding (the specification's test vector)", "[sign]") {
  CHECK(invar::pae("http://example.com/HelloWorld", "hello world") ==
        "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  CHECK(invar::pae("", "") == "DSSEv1 0  0 ");
}

TEST_CASE("sign: Ed25519 is RFC 8032's (its test 1)", "[sign]") {
  auto hex = [](std::string_view h) {
    std::string out;
    for (size_t i = 0; i < h.size(); i += 2) out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
    return out;
  };
  auto key = invar::SigningKey::from_seed(hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  REQUIRE(key.ok());
  CHECK(key->public_base64() ==
        invar::sign::base64_encode(hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")));
  CHECK(key->sign("") == hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065"
                             "224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"));
}

TEST_CASE("sign: base64 is strict: standard or URL-safe, nothing else", "[sign]") {
  using invar::sign::base64_decode;
  CHECK(base64_decode("aGVsbG8gd29ybGQ=", 100) == std::optional<std::string>("hello world"));
  CHECK(base64_decode("aGVsbG8gd29ybGQ", 100) == std::optional<std::string>("hello world"));
  CHECK(base64_decode("-_8=", 100) == std::optional<std::string>("\xfb\xff"));
  CHECK(base64_decode("+/8=", 100) == std::optional<std::string>("\xfb\xff"));
  CHECK_FALSE(base64_decode("aGVs bG8=", 100));
  CHECK_FALSE(base64_decode("aGVsbG9=", 100));  // a stray bit after the last byte
  CHECK_FALSE(base64_decode("aGVsbG8gd29ybGQ=", 10));
  CHECK(base64_decode("", 10) == std::optional<std::string>(""));
}

TEST_CASE("sign: a signed statement verifies, and says what it verified", "[sign]") {
  auto key = key_of('a');
  auto keys = keys_of({key.trusted_entry()});
  const std::string env = envelope(key);
  CHECK(env.find('\n') == std::string::npos);  // one line of FILE.intoto.jsonl
  json j = json::parse(env);
  CHECK(j["payloadType"] == "application/vnd.in-toto+json");
  CHECK(j["signatures"].size() == 1);
  CHECK(j["signatures"][0]["keyid"] == key.keyid());
  auto payload = invar::sign::base64_decode(j["payload"].get<std::string>(), 1 << 20);
  REQUIRE(payload);
  json st = json::parse(*payload);
  CHECK(st["_type"] == "https://in-toto.io/Statement/v1");
  CHECK(st["predicateType"] == "https://invar.dev/decision/v1");
  CHECK(st["subject"][0]["name"] == "features.json");
  CHECK(st["subject"][0]["digest"]["sha256"] == statement().sha256);
  CHECK(st["predicate"]["decided_at"] == "2026-12-01T10:00:00Z");
  CHECK(st["predicate"]["expires"] == "2026-12-02T10:00:00Z");

  auto v = invar::verify(env, kArtifact, keys, expect());
  INFO((v ? "" : v.error().message));
  REQUIRE(v.ok());
  CHECK(v->keyid == key.keyid());
  CHECK(v->statement.stream == "features");
  CHECK(v->statement.sequence == 5);
  CHECK(v->statement.verdict == "accept");
  CHECK(v->statement.expires_ms == kDecided + 24 * kHour);
  CHECK(json::parse(invar::verified_json(*v))["keyid"] == key.keyid());
  // No expectations: any stream and stage.
  invar::VerifyExpectations any;
  any.now = invar::Time::from_ms(kDecided);
  CHECK(invar::verify(env, kArtifact, keys, any).ok());
}

TEST_CASE("sign: key ids are derived from the public key unless named", "[sign]") {
  auto key = key_of('a');
  CHECK(key.keyid().rfind("ed25519:", 0) == 0);
  CHECK(key.keyid().size() == 8 + 16);
  CHECK(key_of('a').keyid() == key.keyid());
  CHECK(key_of('b').keyid() != key.keyid());
  CHECK(key_of('a', "gate-2026").keyid() == "gate-2026");
  CHECK_FALSE(invar::SigningKey::from_seed(std::string(32, 'a'), "has space").ok());
  CHECK_FALSE(invar::SigningKey::from_seed(std::string(31, 'a')).ok());
  auto fresh = invar::SigningKey::generate();
  REQUIRE(fresh.ok());
  CHECK(fresh->keyid() != key.keyid());
}

TEST_CASE("sign: a rotation trusts two keys: both verify", "[sign]") {
  auto old_key = key_of('a', "gate-old");
  auto new_key = key_of('b', "gate-new");
  auto keys = keys_of({old_key.trusted_entry(), new_key.trusted_entry()});
  CHECK(refusal(envelope(old_key), keys, expect()) == "");
  CHECK(refusal(envelope(new_key), keys, expect()) == "");
}

TEST_CASE("sign: a revoked (removed) key and an unknown key are refused", "[sign]") {
  auto revoked = key_of('a', "gate-old");
  auto current = key_of('b', "gate-new");
  auto keys = keys_of({current.trusted_entry()});
  std::string why = refusal(envelope(revoked), keys, expect());
  CHECK(why.find("no signature by a trusted key") == 0);
  CHECK(why.find("\"gate-old\"") != std::string::npos);
  CHECK(why.find("trusted: \"gate-new\"") != std::string::npos);
  // A key nobody listed, even with a trusted key's id: its signature does not verify.
  auto stranger = key_of('c', "gate-new");
  CHECK(refusal(envelope(stranger), keys, expect()).find("signature invalid") == 0);
}

TEST_CASE("sign: a key past its not_after verifies nothing", "[sign]") {
  auto key = key_of('a', "k");
  const std::string pub = key.public_base64();
  auto keys = keys_of({R"({"keyid": "k", "public": ")" + pub + R"(", "not_after": "2026-12-01T12:00:00Z"})"});
  CHECK(refusal(envelope(key), keys, expect(kDecided + kHour)) == "");
  std::string why = refusal(envelope(key), keys, expect(kDecided + 3 * kHour));
  CHECK(why.find("key expired") == 0);
  CHECK(why.find("2026-12-01T12:00:00Z") != std::string::npos);
}

TEST_CASE("sign: bytes changed after signing are refused", "[sign]") {
  auto key = key_of('a');
  auto keys = keys_of({key.trusted_entry()});
  std::string changed = kArtifact;
  changed[15] = '8';
  std::string why = refusal(envelope(key), keys, expect(), changed);
  CHECK(why.find("subject digest differs from the bytes") == 0);
}

TEST_CASE("sign: rollback, freeze, another stream or stage are refused", "[sign]") {
  auto key = key_of('a');
  auto keys = keys_of({key.trusted_entry()});
  auto x = expect();
  x.min_sequence = 5;
  CHECK(refusal(envelope(key), keys, x) == "");  // the one served: not lower
  x.min_sequence = 6;
  CHECK(refusal(envelope(key), keys, x) == "sequence 5 is lower than the highest served 6 (rollback)");

  std::string why = refusal(envelope(key), keys, expect(kDecided + 24 * kHour));
  CHECK(why.find("expired at 2026-12-02T10:00:00Z (freeze)") == 0);

  x = expect();
  x.stream = "routes";
  CHECK(refusal(envelope(key), keys, x).find("stream differs") == 0);
  x = expect();
  x.stage = "canary";
  CHECK(refusal(envelope(key), keys, x) == "stage differs: signed for no stage, expected stage \"canary\"");
  CHECK(refusal(envelope(key, statement(5, "canary")), keys, x) == "");
  x.stage = "all";
  CHECK(refusal(envelope(key, statement(5, "canary")), keys, x).find("stage differs") == 0);
}

TEST_CASE("sign: a tampered payload, signature or payloadType is refused", "[sign]") {
  auto key = key_of('a');
  auto keys = keys_of({key.trusted_entry()});
  const std::string env = envelope(key);
  // Another statement's payload under this envelope's signature (a replay with a higher sequence).
  json other = json::parse(envelope(key, statement(99)));
  CHECK(refusal(edited(env, [&](json& j) { j["payload"] = other["payload"]; }), keys, expect())
            .find("signature invalid") == 0);
  // One bit of the signature.
  std::string sig = json::parse(env)["signatures"][0]["sig"];
  sig[10] = sig[10] == 'A' ? 'B' : 'A';
  CHECK(refusal(edited(env, [&](json& j) { j["signatures"][0]["sig"] = sig; }), keys, expect())
            .find("signature invalid") == 0);
  CHECK(refusal(edited(env, [&](json& j) { j["payloadType"] = "application/json"; }), keys, expect()) ==
        "wrong payloadType: \"application/json\", expected \"application/vnd.in-toto+json\"");
  // A signature made over another payloadType does not verify under this one (the type is inside PAE).
  json forged = json::parse(env);
  std::string payload = *invar::sign::base64_decode(forged["payload"].get<std::string>(), 1 << 20);
  forged["signatures"][0]["sig"] = invar::sign::base64_encode(key.sign(invar::pae("application/json", payload)));
  CHECK(refusal(forged.dump(), keys, expect()).find("signature invalid") == 0);
  // A signature over a statement without invar's predicate: signed, but refused.
  json bare = json::parse(payload);
  bare["predicateType"] = "https://slsa.dev/provenance/v1";
  std::string bare_payload = bare.dump();
  json resigned = json::parse(env);
  resigned["payload"] = invar::sign::base64_encode(bare_payload);
  resigned["signatures"][0]["sig"] =
      invar::sign::base64_encode(key.sign(invar::pae(invar::kPayloadType, bare_payload)));
  CHECK(refusal(resigned.dump(), keys, expect()).find("predicate malformed") == 0);
}

TEST_CASE("sign: what is not a DSSE envelope is refused, within its limits", "[sign]") {
  auto key = key_of('a');
  auto keys = keys_of({key.trusted_entry()});
  const std::string env = envelope(key);
  for (const std::string& bad : {std::string(""), std::string("[]"), std::string("{"), std::string("null"),
                                 std::string(R"({"payload": "", "payloadType": "x"})"),
                                 std::string(R"({"payload": "%%", "payloadType": "x", "signatures": [{"sig": ""}]})")}) {
    CAPTURE(bad);
    CHECK(refusal(bad, keys, expect()).find("not a DSSE envelope") == 0);
  }
  CHECK(refusal(edited(env, [](json& j) { j["extra"] = 1; }), keys, expect()).find("unknown key") !=
        std::string::npos);
  json many = json::parse(env);
  for (int i = 0; i < 16; ++i) many["signatures"].push_back(many["signatures"][0]);
  CHECK(refusal(many.dump(), keys, expect()) == "not a DSSE envelope: 17 signatures (at most 16)");
  auto big = invar::verify(std::string(invar::kMaxEnvelopeBytes + 1, ' '), kArtifact, keys, expect());
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code == invar::ErrorCode::limit);
  // Deep nesting is a refusal, not a stack overflow.
  CHECK(refusal(std::string(100000, '[') + std::string(100000, ']'), keys, expect()).find("not a DSSE") == 0);
}

TEST_CASE("sign: an attestation file of several envelopes: one that verifies suffices", "[sign]") {
  auto old_key = key_of('a', "old");
  auto new_key = key_of('b', "new");
  auto keys = keys_of({new_key.trusted_entry()});
  const std::string jsonl = envelope(old_key) + "\n\n" + envelope(new_key) + "\n";
  auto v = invar::verify_envelopes(jsonl, kArtifact, keys, expect());
  REQUIRE(v.ok());
  CHECK(v->keyid == "new");
  auto none = invar::verify_envelopes(envelope(old_key) + "\n" + envelope(old_key), kArtifact, keys, expect());
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("none of 2 envelopes verifies: line 1: no signature by a trusted key") == 0);
  CHECK(invar::verify_envelopes("\n \n", kArtifact, keys, expect()).error().message.find("no envelope") !=
        std::string::npos);
}

TEST_CASE("sign: the trusted-keys file is read strictly, with located errors", "[sign]") {
  auto key = key_of('a', "a");
  const std::string pub = key.public_base64();
  auto error_of = [](const std::string& text) {
    auto keys = invar::TrustedKeys::load_string(text, "trusted.json");
    REQUIRE_FALSE(keys.ok());
    return keys.error();
  };
  auto e = error_of("{\"keys\": [\n  {\"keyid\": \"a\", \"public\": \"" + pub + "\", \"not_before\": 1}\n]}");
  CHECK(e.message.find("unknown key \"not_before\"") == 0);
  CHECK(e.where.file == "trusted.json");
  CHECK(e.where.pointer == "/keys/0/not_before");
  CHECK(e.where.line == 2);
  CHECK(e.where.column > 1);
  CHECK(error_of(R"({"keys": [{"keyid": "a", "public": "not base64!"}]})").where.pointer == "/keys/0/public");
  CHECK(error_of(R"({"keys": [{"keyid": "a", "public": "AAAA"}]})").message ==
        "\"public\" is 3 bytes: an Ed25519 public key is 32");
  e = error_of("{\"keys\": [{\"keyid\": \"a\", \"public\": \"" + pub + "\"},\n {\"keyid\": \"a\", \"public\": \"" +
               pub + "\"}]}");
  CHECK(e.message == "key id \"a\" is listed twice");
  CHECK(e.where.line == 2);
  CHECK(error_of(R"({"keys": []})").message.find("non-empty") != std::string::npos);
  CHECK(error_of(R"({"keys": [{"keyid": "a b", "public": ""}]})").also.size() == 1);  // both errors at once
  CHECK(error_of("{\"keys\": [{\"keyid\": \"a\", \"public\": \"" + pub + "\", \"not_after\": \"tomorrow\"}]}")
            .where.pointer == "/keys/0/not_after");
  CHECK(error_of("{\"keys\": 1, \"keys\": 2}").code == invar::ErrorCode::syntax);  // duplicate keys
}

TEST_CASE("sign: a signing key file: saved 0600, never overwritten, refused when others can read it", "[sign]") {
  test::TempDir dir;
  auto key = key_of('a', "gate");
  const std::string path = dir / "gate.key";
  REQUIRE_FALSE(key.save_file(path).has_value());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = key.save_file(path);
  REQUIRE(again.has_value());
  CHECK(again->message.find("exists") != std::string::npos);
  auto loaded = invar::SigningKey::load_file(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->keyid() == "gate");
  CHECK(loaded->public_base64() == key.public_base64());
  ::chmod(path.c_str(), 0640);
  auto refused = invar::SigningKey::load_file(path);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("accessible by group or others (mode 0640)") != std::string::npos);
  CHECK(refused.error().message.find("chmod 600") != std::string::npos);
  ::chmod(path.c_str(), 0600);
  // The environment variable names the file when no flag does.
  ::setenv(invar::kSigningKeyEnv, path.c_str(), 1);
  auto configured = invar::SigningKey::load_configured("");
  ::unsetenv(invar::kSigningKeyEnv);
  REQUIRE(configured.ok());
  REQUIRE(configured->has_value());
  CHECK((*configured)->keyid() == "gate");
  auto none = invar::SigningKey::load_configured("");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  // A malformed key file: located.
  std::ofstream(dir / "bad.key") << "{\"type\": \"invar-ed25519-private-key\",\n \"keyid\": \"k\", \"private\": \"AAAA\"}";
  ::chmod((dir / "bad.key").c_str(), 0600);
  auto bad = invar::SigningKey::load_file(dir / "bad.key");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().where.pointer == "/private");
  CHECK(bad.error().where.line == 2);
}

TEST_CASE("sign: a statement that cannot be signed is refused", "[sign]") {
  auto key = key_of('a');
  auto s = statement();
  s.verdict = "reject";
  CHECK_FALSE(invar::sign_statement(s, key).ok());
  s = statement();
  s.sha256 = "ABC";
  CHECK_FALSE(invar::sign_statement(s, key).ok());
  s = statement();
  s.expires_ms = s.decided_at_ms;
  CHECK_FALSE(invar::sign_statement(s, key).ok());
  s = statement();
  s.stream.clear();
  CHECK_FALSE(invar::sign_statement(s, key).ok());
  s = statement();
  s.name = "caf\xe9.json";  // Latin-1: would not read back as it was signed
  CHECK_FALSE(invar::sign_statement(s, key).ok());
}

TEST_CASE("sign: the C ABI verifies attestations", "[sign][capi]") {
  auto key = key_of('a', "gate");
  const std::string keys_text = trusted({key.trusted_entry()});
  invar_trusted_keys* keys = nullptr;
  REQUIRE(invar_trusted_keys_load_string(keys_text.data(), keys_text.size(), &keys) == INVAR_OK);
  const std::string env = envelope(key) + "\n";
  const int64_t now = kDecided + kHour;
  char* out = nullptr;
  REQUIRE(invar_verify_attestation(keys, env.data(), env.size(), kArtifact.data(), kArtifact.size(), "features", "",
                                   5, now, &out) == INVAR_OK);
  REQUIRE(out != nullptr);
  json v = json::parse(out);
  invar_string_free(out);
  CHECK(v["sequence"] == 5);
  CHECK(v["keyid"] == "gate");
  CHECK(invar_verify_attestation(keys, env.data(), env.size(), kArtifact.data(), kArtifact.size(), "features", nullptr,
                                 6, now, &out) == INVAR_E_REFUSED);
  CHECK(out == nullptr);
  CHECK(std::string(invar_last_error()).find("(rollback)") != std::string::npos);
  CHECK(invar_verify_attestation(keys, env.data(), env.size(), "{}", 2, nullptr, nullptr, 0, now, nullptr) ==
        INVAR_E_REFUSED);
  CHECK(std::string(invar_last_error()).find("subject digest differs") != std::string::npos);
  CHECK(invar_verify_attestation(keys, env.data(), env.size(), kArtifact.data(), kArtifact.size(), nullptr, nullptr, 0,
                                 kDecided + 25 * kHour, nullptr) == INVAR_E_REFUSED);
  CHECK(std::string(invar_last_error()).find("(freeze)") != std::string::npos);
  CHECK(invar_verify_attestation(nullptr, env.data(), env.size(), "", 0, nullptr, nullptr, 0, now, nullptr) ==
        INVAR_E_ARGUMENT);
  CHECK(invar_verify_attestation(keys, nullptr, 3, "", 0, nullptr, nullptr, 0, now, nullptr) == INVAR_E_ARGUMENT);
  invar_trusted_keys_free(keys);
  invar_trusted_keys_free(nullptr);
  invar_trusted_keys* bad = nullptr;
  CHECK(invar_trusted_keys_load_string("{\"keys\": 1}", 11, &bad) == INVAR_E_USAGE);
  CHECK(invar_trusted_keys_load_string("{\"keys\": [", 10, &bad) == INVAR_E_USAGE);  // not JSON
  CHECK(bad == nullptr);
  CHECK(invar_trusted_keys_load("/nonexistent/trusted.json", &bad) == INVAR_E_IO);
  CHECK(invar_trusted_keys_load(nullptr, &bad) == INVAR_E_ARGUMENT);
}

TEST_CASE("sign: invar keygen and invar verify", "[sign][cli]") {
  test::TempDir dir;
  auto made = test::invar({"keygen", "--out", dir / "gate.key", "--id", "gate-1", "--public-out", dir / "trusted.json"});
  INFO(made.out);
  REQUIRE(made.exit == 0);
  CHECK(made.out.find("\n{\"keyid\":\"gate-1\",\"public\":\"") != std::string::npos);  // after the note on stderr
  struct stat st {};
  REQUIRE(::stat((dir / "gate.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = test::invar({"keygen", "--out", dir / "gate.key"});
  CHECK(again.exit == 3);
  CHECK(again.out.find("exists") != std::string::npos);

  // Sign with the key keygen wrote; the CLI verifies with the trusted-keys file it wrote.
  auto key = invar::SigningKey::load_file(dir / "gate.key");
  REQUIRE(key.ok());
  std::ofstream(dir / "features.json") << kArtifact;
  std::ofstream(dir / "features.json.intoto.jsonl") << envelope(*key) << "\n";
  const std::string now = "--now=2026-12-01T11:00:00Z";
  auto ok = test::invar({"verify", dir / "features.json", "--trusted-keys", dir / "trusted.json", "--stream",
                         "features", "--stage", "", "--min-sequence", "5", now});
  INFO(ok.out);
  CHECK(ok.exit == 0);
  CHECK(ok.out.find("verified: ") == 0);
  CHECK(ok.out.find("stream features, no stage, sequence 5, accept, signed by gate-1, expires 2026-12-02T10:00:00Z") !=
        std::string::npos);
  auto json_out = test::invar({"verify", dir / "features.json", "--attestation", dir / "features.json.intoto.jsonl",
                               "--trusted-keys", dir / "trusted.json", "--format", "json", now});
  CHECK(json_out.exit == 0);
  json j = json::parse(json_out.out);
  CHECK(j["verified"] == true);
  CHECK(j["statement"]["keyid"] == "gate-1");

  auto rollback = test::invar({"verify", dir / "features.json", "--trusted-keys", dir / "trusted.json",
                               "--min-sequence", "6", "--format", "json", now});
  CHECK(rollback.exit == 1);
  j = json::parse(rollback.out);
  CHECK(j["verified"] == false);
  CHECK(j["reason"] == "sequence 5 is lower than the highest served 6 (rollback)");
  auto frozen = test::invar({"verify", dir / "features.json", "--trusted-keys", dir / "trusted.json",
                             "--now=2026-12-03T00:00:00Z"});
  CHECK(frozen.exit == 1);
  CHECK(frozen.out.find("refused: ") == 0);
  CHECK(frozen.out.find("(freeze)") != std::string::npos);
  auto no_keys = test::invar({"verify", dir / "features.json", "--trusted-keys", dir / "missing.json", now});
  CHECK(no_keys.exit == 3);
  std::ofstream(dir / "bad-trusted.json") << R"({"keys": [{"keyid": "x", "public": "AAAA"}]})";
  auto bad_keys = test::invar({"verify", dir / "features.json", "--trusted-keys", dir / "bad-trusted.json", now});
  CHECK(bad_keys.exit == 3);
  CHECK(bad_keys.out.find("bad-trusted.json:1:") != std::string::npos);
  auto no_attestation = test::invar({"verify", dir / "trusted.json", "--trusted-keys", dir / "trusted.json", now});
  CHECK(no_attestation.exit == 3);
  std::ofstream(dir / "garbage.jsonl") << "not json\n";
  auto garbage = test::invar({"verify", dir / "features.json", "--attestation", dir / "garbage.jsonl",
                              "--trusted-keys", dir / "trusted.json", now});
  CHECK(garbage.exit == 1);
  CHECK(garbage.out.find("refused: ") == 0);
  CHECK(garbage.out.find("not a DSSE envelope") != std::string::npos);
  // Another key's envelope beside the trusted one's: one that verifies suffices.
  std::ofstream(dir / "two.jsonl") << envelope(key_of('z', "other")) << "\n" << envelope(*key) << "\n";
  auto two = test::invar({"verify", dir / "features.json", "--attestation", dir / "two.jsonl", "--trusted-keys",
                          dir / "trusted.json", "-q", now});
  CHECK(two.exit == 0);
  CHECK(two.out.empty());
  auto stdin_without = test::invar({"verify", "-", "--trusted-keys", dir / "trusted.json", now});
  CHECK(stdin_without.exit == 3);
  CHECK(stdin_without.out.find("needs --attestation") != std::string::npos);
}

TEST_CASE("sign: the statements invar signs follow schemas/decision-attestation.schema.json", "[sign][schemas]") {
  auto schema = invar::Contract::from_schema_file(std::string(INVAR_SOURCE_DIR) + "/schemas/decision-attestation.schema.json");
  REQUIRE(schema.ok());
  for (const auto& s : {statement(), statement(18, "canary")}) {
    const std::string payload = invar::statement_json(s);
    CAPTURE(payload);
    CHECK(schema->check(payload).verdict == invar::Verdict::accept);
  }
  json extra = json::parse(invar::statement_json(statement()));
  extra["predicate"]["approved_by"] = "someone";
  CHECK(schema->check(extra.dump()).verdict == invar::Verdict::reject);
  extra = json::parse(invar::statement_json(statement()));
  extra["predicate"]["verdict"] = "reject";
  CHECK(schema->check(extra.dump()).verdict == invar::Verdict::reject);
}
