// Signed decisions on the gate's side (docs/signing.md): the envelope of a
// decision that puts an artifact in service, and the check of the stream's
// LKG record's envelope before a gate judges against it or publishes it.
#pragma once

#include <string>
#include <string_view>

#include "invar/gate.hpp"
#include "store/store.hpp"

namespace invar::gate {

// The DSSE envelope of `record` put in service by `verdict` ("accept",
// "seed", "promote", "revert") at `now_ms`, on `stage` ("": the stream's
// LKG), expiring options.attestation_window_ms later; `bytes` are the
// artifact's. "" when the gate has no signing key; ErrorCode::usage when
// the window is not positive or ends past the year 9999.
Result<std::string> attest(const GateOptions& options, const LkgRecord& record, std::string_view bytes,
                           std::string_view stage, std::string_view verdict, int64_t now_ms);

// Whether `record` (the stream's LKG; `bytes` its stored bytes) carries an
// envelope signed by a trusted key (the signing key's own, or one of
// options.trusted_keys not past its not_after at `now_ms`) for these bytes,
// this stream, stage "" and the record's sequence. Expiry is not checked:
// the gate needs to know that a gate signed it, not that it is fresh (an
// idle stream is not forged). ErrorCode::state naming the failed check.
store::Status check_attestation(const GateOptions& options, const LkgRecord& record, std::string_view bytes,
                                int64_t now_ms);

// The same checks for any signed decision: `attestation` signs `bytes`
// (whose digest is `digest`) for `stream`, `stage` and `sequence`, by a
// trusted key, expiry not checked. The statement, or an Error whose message
// is the check that failed (no envelope at all included). With no signing
// key in `options`, ErrorCode::usage: only a signing command verifies so.
Result<VerifiedStatement> verify_decision(const GateOptions& options, const std::string& stream,
                                          std::string_view stage, const std::string& digest, uint64_t sequence,
                                          const std::string& attestation, std::string_view bytes, int64_t now_ms);

}  // namespace invar::gate
