#include "gate/attest.hpp"

#include "common/text.hpp"

namespace invar::gate {

Result<std::string> attest(const GateOptions& options, const LkgRecord& record, std::string_view bytes,
                           std::string_view stage, std::string_view verdict, int64_t now_ms) {
  if (!options.signing_key) return std::string();
  const int64_t window = options.attestation_window_ms;
  if (window <= 0 || now_ms > Time::kMaxMs - window)
    return Error{ErrorCode::usage,
                 "the attestation window must be positive and end before the year 10000 (--attestation-window)", {}};
  Statement statement = make_statement(record.stream, bytes, record.stream, stage, record.sequence, record.contract,
                                       record.contract_digest, verdict, now_ms, now_ms + window);
  return sign_statement(statement, *options.signing_key);
}

namespace {

bool unknown_key(const Error& e) { return e.message.find("no signature by a trusted key") != std::string::npos; }

}  // namespace

Result<VerifiedStatement> verify_decision(const GateOptions& options, const std::string& stream,
                                          std::string_view stage, const std::string& digest, uint64_t sequence,
                                          const std::string& attestation, std::string_view bytes, int64_t now_ms) {
  auto refuse = [](std::string why) { return Error{ErrorCode::signature, std::move(why), {}}; };
  if (!options.signing_key) return Error{ErrorCode::usage, "verifying a signed decision needs a signing key", {}};
  if (attestation.empty()) return refuse("the record carries no envelope");
  auto own = TrustedKeys::load_string("{\"keys\": [" + options.signing_key->trusted_entry() + "]}", "<signing key>");
  if (!own) return own.error();
  VerifyExpectations expect;
  expect.stream = stream;
  expect.stage = std::string(stage);
  expect.now = Time::from_ms(Time::kMinMs);  // no expiry here; a key's not_after is checked below
  const TrustedKeys* used = &*own;
  auto verified = verify(attestation, bytes, *own, expect);
  if (!verified && options.trusted_keys && unknown_key(verified.error())) {
    used = options.trusted_keys.get();
    verified = verify(attestation, bytes, *used, expect);
  }
  if (!verified) return refuse(verified.error().message);
  const Statement& s = verified->statement;
  if ("sha256:" + s.sha256 != digest) return refuse("the subject digest differs from the record's");
  if (s.sequence != sequence)
    return refuse("the envelope's sequence is " + std::to_string(s.sequence) + ", the record's " +
                  std::to_string(sequence) + ": an envelope of another decision");
  if (const TrustedKey* key = used->find(verified->keyid); key && key->not_after_ms && *key->not_after_ms <= now_ms)
    return refuse("key " + verified->keyid + " expired at " + text::format_rfc3339(*key->not_after_ms));
  return verified;
}

store::Status check_attestation(const GateOptions& options, const LkgRecord& record, std::string_view bytes,
                                int64_t now_ms) {
  auto refuse = [&](const std::string& why) {
    return store::state_error(record.stream, "the LKG record (sequence " + std::to_string(record.sequence) + ", " +
                                                 record.digest.substr(0, 19) +
                                                 ") has no valid attestation: forged or corrupted state (" + why +
                                                 "); nothing was judged or published");
  };
  if (!options.signing_key) return std::nullopt;
  if (record.attestation.empty())
    return refuse("the record carries no envelope: no gate with a signing key put it in service; a stream "
                  "accepted before signing was turned on is adopted once with --adopt-unsigned-lkg (docs/signing.md)");
  auto verified = verify_decision(options, record.stream, "", record.digest, record.sequence, record.attestation, bytes,
                                  now_ms);
  if (!verified) {
    if (verified.error().code != ErrorCode::signature) return verified.error();
    return refuse(verified.error().message);
  }
  return std::nullopt;
}

}  // namespace invar::gate
