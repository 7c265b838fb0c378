// What followers check of an LKG before they serve it (invar watch
// --trusted-keys, a persistent Guard with trusted keys): its attestation.
#include "invar/gate.hpp"
#include "invar/sign.hpp"

namespace invar {

Result<VerifiedStatement> verify_lkg(const LkgRecord& record, std::string_view bytes, const TrustedKeys& keys,
                                     const std::string& stage, uint64_t min_sequence, std::optional<Time> now) {
  if (record.attestation.empty()) {
    // Fail closed: an unsigned record is what a writer without the key writes.
    std::string whose = stage.empty() ? std::string("the LKG record") : "the record of stage \"" + stage + "\"";
    return Error{ErrorCode::signature,
                 whose + " carries no attestation (" +
                     (stage.empty() ? std::string("its gate signs nothing, or the record was written by someone "
                                                  "without the key")
                                    : std::string("this stage's records are not signed, or the record was written "
                                                  "by someone without the key")) +
                     ")",
                 {}};
  }
  VerifyExpectations expect;
  expect.stream = record.stream;
  expect.stage = stage;
  expect.min_sequence = min_sequence;
  expect.now = now;
  auto verified = verify_envelopes(record.attestation, bytes, keys, expect);
  if (!verified) return verified.error();
  // A signed decision of another sequence in this record: an old envelope
  // replayed into a newer record, or a record renumbered.
  if (verified->statement.sequence != record.sequence)
    return Error{ErrorCode::signature,
                 "sequence differs: the attestation signs sequence " + std::to_string(verified->statement.sequence) +
                     ", the record says " + std::to_string(record.sequence),
                 {}};
  return verified;
}

}  // namespace invar
