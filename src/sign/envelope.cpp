// DSSE envelopes holding an in-toto Statement v1 with invar's decision
// predicate: building, signing, and the verification distributors run.
#include <simdjson.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "common/digest.hpp"
#include "common/text.hpp"
#include "invar/sign.hpp"
#include "schema/document.hpp"
#include "sign/encoding.hpp"

namespace invar {

using nlohmann::json;

namespace {

const std::vector<std::string_view> kVerdicts = {"accept", "promote", "revert", "seed"};

bool lower_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Error refused(std::string message) { return Error{ErrorCode::signature, std::move(message), {}}; }

}  // namespace

Statement make_statement(std::string_view artifact_name, std::string_view artifact_bytes, std::string_view stream,
                         std::string_view stage, uint64_t sequence, std::string_view contract,
                         std::string_view contract_digest, std::string_view verdict, int64_t decided_at_ms,
                         int64_t expires_ms) {
  return Statement{std::string(artifact_name), digest::sha256_hex(artifact_bytes),  std::string(stream),
                   std::string(stage),         sequence,                            std::string(contract),
                   std::string(contract_digest), std::string(verdict),              decided_at_ms,
                   expires_ms};
}

std::optional<Error> check_statement(const Statement& s) {
  auto bad = [](std::string message) { return Error{ErrorCode::usage, std::move(message), {}}; };
  if (s.name.empty()) return bad("a statement names its artifact (subject name is empty)");
  if (!lower_hex64(s.sha256)) return bad("a statement's sha256 is 64 lowercase hex digits, not " + text::quoted(s.sha256));
  if (s.stream.empty()) return bad("a statement names its stream");
  if (std::find(kVerdicts.begin(), kVerdicts.end(), s.verdict) == kVerdicts.end())
    return bad("a statement's verdict is accept, promote, revert or seed, not " + text::quoted(s.verdict));
  if (!Time::from_ms(s.decided_at_ms) || !Time::from_ms(s.expires_ms))
    return bad("a statement's times are within the years 0001-9999");
  if (s.expires_ms <= s.decided_at_ms) return bad("a statement expires after it was decided");
  // What is signed must read back as it was given: JSON holds UTF-8 only.
  for (const std::string* text : {&s.name, &s.stream, &s.stage, &s.contract, &s.contract_digest})
    if (!simdjson::validate_utf8(text->data(), text->size()))
      return bad("a statement's names are UTF-8: " + text::quoted(*text) + " is not");
  return std::nullopt;
}

std::string statement_json(const Statement& s) {
  json predicate = {{"stream", s.stream},
                    {"stage", s.stage},
                    {"sequence", s.sequence},
                    {"contract", s.contract},
                    {"contract_digest", s.contract_digest},
                    {"verdict", s.verdict},
                    {"decided_at", text::format_rfc3339(s.decided_at_ms)},
                    {"expires", text::format_rfc3339(s.expires_ms)}};
  json statement = {{"_type", kStatementType},
                    {"subject", json::array({{{"name", s.name}, {"digest", {{"sha256", s.sha256}}}}})},
                    {"predicateType", kDecisionPredicateType},
                    {"predicate", predicate}};
  return statement.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string pae(std::string_view payload_type, std::string_view body) {
  std::string out = "DSSEv1 " + std::to_string(payload_type.size()) + " ";
  out.append(payload_type);
  out += " " + std::to_string(body.size()) + " ";
  out.append(body);
  return out;
}

Result<std::string> sign_statement(const Statement& statement, const SigningKey& key) {
  if (auto e = check_statement(statement)) return *e;
  const std::string payload = statement_json(statement);
  const std::string sig = key.sign(pae(kPayloadType, payload));
  json envelope = {{"payloadType", kPayloadType},
                   {"payload", sign::base64_encode(payload)},
                   {"signatures", json::array({{{"keyid", key.keyid()}, {"sig", sign::base64_encode(sig)}}})}};
  return envelope.dump();
}

namespace {

struct Envelope {
  std::string payload_type;
  std::string payload;  // decoded
  struct Signature {
    std::string keyid;
    std::string sig;  // decoded
  };
  std::vector<Signature> signatures;
};

// Check 1: the envelope's shape (DSSE's JSON envelope, nothing else).
Result<Envelope> read_envelope(std::string_view text) {
  auto not_dsse = [](const std::string& why) { return refused("not a DSSE envelope: " + why); };
  if (text.size() > kMaxEnvelopeBytes)
    return Error{ErrorCode::limit, "not a DSSE envelope: larger than " + std::to_string(kMaxEnvelopeBytes) + " bytes", {}};
  auto doc = schema::read_document(text, "<envelope>");
  if (!doc) return not_dsse(doc.error().message);
  if (!doc->is_object()) return not_dsse("not a JSON object");
  for (const auto& [key, value] : doc->items()) {
    (void)value;
    if (key != "payload" && key != "payloadType" && key != "signatures")
      return not_dsse("unknown key " + text::quoted(key) + " (expected payload, payloadType, signatures)");
  }
  auto type = doc->find("payloadType");
  auto payload = doc->find("payload");
  auto sigs = doc->find("signatures");
  if (type == doc->end() || !type->is_string()) return not_dsse("no \"payloadType\" string");
  if (payload == doc->end() || !payload->is_string()) return not_dsse("no \"payload\" string");
  if (sigs == doc->end() || !sigs->is_array() || sigs->empty()) return not_dsse("no \"signatures\"");
  if (sigs->size() > kMaxSignatures)
    return not_dsse(std::to_string(sigs->size()) + " signatures (at most " + std::to_string(kMaxSignatures) + ")");
  Envelope out;
  out.payload_type = type->get<std::string>();
  auto decoded = sign::base64_decode(payload->get<std::string>(), kMaxPayloadBytes);
  if (!decoded)
    return not_dsse("\"payload\" is not base64 of at most " + std::to_string(kMaxPayloadBytes) + " bytes");
  out.payload = std::move(*decoded);
  for (const auto& s : *sigs) {
    if (!s.is_object()) return not_dsse("a signature is not an object");
    for (const auto& [key, value] : s.items()) {
      (void)value;
      if (key != "keyid" && key != "sig") return not_dsse("unknown key " + text::quoted(key) + " in a signature");
    }
    auto keyid = s.find("keyid");
    auto sig = s.find("sig");
    if (keyid != s.end() && !keyid->is_string()) return not_dsse("a signature's \"keyid\" is not a string");
    if (sig == s.end() || !sig->is_string()) return not_dsse("a signature has no \"sig\" string");
    auto raw = sign::base64_decode(sig->get<std::string>(), 1024);
    if (!raw) return not_dsse("a signature's \"sig\" is not base64");
    out.signatures.push_back({keyid == s.end() ? "" : keyid->get<std::string>(), std::move(*raw)});
  }
  return out;
}

// Check 3: a signature by a trusted key, in force at `now_ms`. Returns the key id.
Result<std::string> check_signatures(const Envelope& envelope, const TrustedKeys& keys, int64_t now_ms) {
  const std::string signed_bytes = pae(envelope.payload_type, envelope.payload);
  std::vector<std::string> seen, expired, invalid;
  for (const auto& s : envelope.signatures) {
    seen.push_back(text::quoted(s.keyid));
    const TrustedKey* key = keys.find(s.keyid);
    if (!key) continue;
    if (key->not_after_ms && *key->not_after_ms < now_ms) {
      expired.push_back(text::quoted(s.keyid) + " expired at " + text::format_rfc3339(*key->not_after_ms) +
                        " (its not_after)");
      continue;
    }
    if (s.sig.size() == crypto_sign_BYTES &&
        crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(s.sig.data()),
                                    reinterpret_cast<const unsigned char*>(signed_bytes.data()), signed_bytes.size(),
                                    key->public_key.data()) == 0)
      return s.keyid;
    invalid.push_back(text::quoted(s.keyid));
  }
  auto join = [](const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
    return out;
  };
  if (!invalid.empty()) return refused("signature invalid: the signature by trusted key " + join(invalid) +
                                       " does not verify (the envelope was altered or not signed by that key)");
  if (!expired.empty()) return refused("key expired: trusted key " + join(expired));
  std::string trusted;
  for (const auto& k : keys.keys()) trusted += (trusted.empty() ? "" : ", ") + text::quoted(k.keyid);
  return refused("no signature by a trusted key: the envelope is signed by " + join(seen) + "; trusted: " + trusted);
}

// Check 4: the payload, an in-toto Statement v1 with invar's predicate.
Result<Statement> read_statement(std::string_view payload) {
  auto not_statement = [](const std::string& why) { return refused("not an in-toto Statement v1: " + why); };
  auto malformed = [](const std::string& why) { return refused("predicate malformed: " + why); };
  auto doc = schema::read_document(payload, "<statement>");
  if (!doc) return not_statement(doc.error().message);
  if (!doc->is_object()) return not_statement("not a JSON object");
  auto type = doc->find("_type");
  if (type == doc->end() || *type != kStatementType)
    return not_statement("\"_type\" is not \"" + std::string(kStatementType) + "\"");
  auto subject = doc->find("subject");
  if (subject == doc->end() || !subject->is_array() || subject->size() != 1)
    return not_statement("\"subject\" is not an array of one artifact");
  const json& one = (*subject)[0];
  Statement s;
  auto name = one.is_object() ? one.find("name") : one.end();
  auto dig = one.is_object() ? one.find("digest") : one.end();
  if (!one.is_object() || name == one.end() || !name->is_string() || dig == one.end() || !dig->is_object())
    return not_statement("the subject has no \"name\" and \"digest\"");
  auto sha = dig->find("sha256");
  if (sha == dig->end() || !sha->is_string() || !lower_hex64(sha->get<std::string>()))
    return not_statement("the subject's digest has no \"sha256\" of 64 lowercase hex digits");
  s.name = name->get<std::string>();
  s.sha256 = sha->get<std::string>();
  auto ptype = doc->find("predicateType");
  if (ptype == doc->end() || *ptype != kDecisionPredicateType)
    return malformed("\"predicateType\" is not \"" + std::string(kDecisionPredicateType) + "\"");
  auto p = doc->find("predicate");
  if (p == doc->end() || !p->is_object()) return malformed("no \"predicate\" object");
  static const std::vector<std::string_view> kKeys = {"stream",  "stage",      "sequence", "contract",
                                                       "contract_digest", "verdict", "decided_at", "expires"};
  for (const auto& [key, value] : p->items()) {
    (void)value;
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) return malformed("unknown key " + text::quoted(key));
  }
  for (auto key : kKeys)
    if (!p->contains(key)) return malformed("no \"" + std::string(key) + "\"");
  auto string_of = [&](std::string_view key, std::string& out) {
    const json& v = p->at(std::string(key));
    if (!v.is_string()) return false;
    out = v.get<std::string>();
    return true;
  };
  std::string decided, expires;
  if (!string_of("stream", s.stream) || s.stream.empty()) return malformed("\"stream\" is not a non-empty string");
  if (!string_of("stage", s.stage)) return malformed("\"stage\" is not a string");
  if (!string_of("contract", s.contract) || !string_of("contract_digest", s.contract_digest))
    return malformed("\"contract\" and \"contract_digest\" are not strings");
  if (!string_of("verdict", s.verdict) || std::find(kVerdicts.begin(), kVerdicts.end(), s.verdict) == kVerdicts.end())
    return malformed("\"verdict\" is not accept, promote, revert or seed");
  if (!p->at("sequence").is_number_unsigned())  // nlohmann reads every integer >= 0 as unsigned
    return malformed("\"sequence\" is not an integer from 0 to 2^64-1");
  s.sequence = p->at("sequence").get<uint64_t>();
  std::optional<int64_t> decided_ms, expires_ms;
  if (string_of("decided_at", decided)) decided_ms = text::parse_rfc3339(decided);
  if (string_of("expires", expires)) expires_ms = text::parse_rfc3339(expires);
  if (!decided_ms || !Time::from_ms(*decided_ms)) return malformed("\"decided_at\" is not an RFC 3339 date-time");
  if (!expires_ms || !Time::from_ms(*expires_ms)) return malformed("\"expires\" is not an RFC 3339 date-time");
  s.decided_at_ms = *decided_ms;
  s.expires_ms = *expires_ms;
  return s;
}

// Checks 5-9: what the statement says against the bytes and the expectations.
std::optional<Error> check_claims(const Statement& s, std::string_view bytes, const VerifyExpectations& expect,
                                  int64_t now_ms) {
  const std::string actual = digest::sha256_hex(bytes);
  if (s.sha256 != actual)
    return refused("subject digest differs from the bytes: signed sha256:" + s.sha256 + ", the bytes are sha256:" +
                   actual);
  if (expect.stream && s.stream != *expect.stream)
    return refused("stream differs: signed for stream " + text::quoted(s.stream) + ", expected " +
                   text::quoted(*expect.stream));
  if (expect.stage && s.stage != *expect.stage)
    return refused("stage differs: signed for " + (s.stage.empty() ? "no stage" : "stage " + text::quoted(s.stage)) +
                   ", expected " + (expect.stage->empty() ? "no stage" : "stage " + text::quoted(*expect.stage)));
  if (s.sequence < expect.min_sequence)
    return refused("sequence " + std::to_string(s.sequence) + " is lower than the highest served " +
                   std::to_string(expect.min_sequence) + " (rollback)");
  if (s.expires_ms <= now_ms)
    return refused("expired at " + text::format_rfc3339(s.expires_ms) + " (freeze): the clock says " +
                   text::format_rfc3339(now_ms));
  return std::nullopt;
}

}  // namespace

Result<VerifiedStatement> verify(std::string_view envelope_text, std::string_view artifact_bytes,
                                 const TrustedKeys& keys, const VerifyExpectations& expect) {
  const int64_t now_ms = (expect.now ? *expect.now : Time::now()).ms();
  if (!sign::sodium_ready()) return refused("libsodium cannot start");
  auto envelope = read_envelope(envelope_text);
  if (!envelope) return envelope.error();
  if (envelope->payload_type != kPayloadType)
    return refused("wrong payloadType: " + text::quoted(envelope->payload_type) + ", expected \"" +
                   std::string(kPayloadType) + "\"");
  auto keyid = check_signatures(*envelope, keys, now_ms);
  if (!keyid) return keyid.error();
  auto statement = read_statement(envelope->payload);
  if (!statement) return statement.error();
  if (auto e = check_claims(*statement, artifact_bytes, expect, now_ms)) return *e;
  return VerifiedStatement{std::move(statement.value()), std::move(keyid.value())};
}

std::string verified_json(const VerifiedStatement& v) {
  const Statement& s = v.statement;
  return json{{"name", s.name},
              {"sha256", s.sha256},
              {"stream", s.stream},
              {"stage", s.stage},
              {"sequence", s.sequence},
              {"contract", s.contract},
              {"contract_digest", s.contract_digest},
              {"verdict", s.verdict},
              {"decided_at", text::format_rfc3339(s.decided_at_ms)},
              {"expires", text::format_rfc3339(s.expires_ms)},
              {"keyid", v.keyid}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<VerifiedStatement> verify_envelopes(std::string_view jsonl, std::string_view artifact_bytes,
                                           const TrustedKeys& keys, const VerifyExpectations& expect) {
  if (jsonl.size() > kMaxAttestationBytes)
    return Error{ErrorCode::limit, "an attestation file is at most " + std::to_string(kMaxAttestationBytes) + " bytes",
                 {}};
  std::string reasons;
  size_t envelopes = 0, line = 0;
  std::optional<Error> only;
  while (!jsonl.empty()) {
    ++line;
    size_t end = jsonl.find('\n');
    std::string_view one = jsonl.substr(0, end);
    jsonl.remove_prefix(end == std::string_view::npos ? jsonl.size() : end + 1);
    if (one.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (++envelopes > kMaxEnvelopes)
      return Error{ErrorCode::limit, "more than " + std::to_string(kMaxEnvelopes) + " envelopes in an attestation file",
                   {}};
    auto verified = verify(one, artifact_bytes, keys, expect);
    if (verified) return verified;
    reasons += (reasons.empty() ? "" : "; ") + ("line " + std::to_string(line) + ": ") + verified.error().message;
    only = verified.error();
  }
  if (envelopes == 0) return refused("not a DSSE envelope: the attestation holds no envelope");
  if (envelopes == 1) return *only;
  return Error{ErrorCode::signature, "none of " + std::to_string(envelopes) + " envelopes verifies: " + reasons, {}};
}

}  // namespace invar
