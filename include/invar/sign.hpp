// Signed decisions (docs/signing.md): Ed25519 keys (libsodium), and DSSE
// envelopes holding an in-toto Statement v1 whose predicate says which
// decision put an artifact in service (stream, stage, sequence, contract,
// verdict, expiry). A distributor verifies an envelope against the bytes it is
// about to load before serving them.
//
// ```cpp fragment
// auto keys = invar::TrustedKeys::load_file("trusted-keys.json");
// if (!keys) { std::cerr << keys.error().to_string() << "\n"; return 3; }
// invar::VerifyExpectations expect;
// expect.stream = "features";
// expect.min_sequence = highest_served;
// auto verified = invar::verify_envelopes(envelopes, bytes, *keys, expect);
// if (!verified) { /* keep serving the previous artifact; verified.error() says which check failed */ }
// ```
//
// Thread-safety: SigningKey and TrustedKeys are immutable once loaded and may
// be used from any number of threads at once; every function is reentrant.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invar/invar.hpp"

#pragma GCC visibility push(default)

namespace invar {

// The formats (docs/signing.md).
inline constexpr std::string_view kPayloadType = "application/vnd.in-toto+json";  // DSSE payloadType
inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kDecisionPredicateType = "https://invar.dev/decision/v1";
inline constexpr std::string_view kPrivateKeyType = "invar-ed25519-private-key";
// The environment variable naming the signing key file when no --signing-key is given.
inline constexpr const char* kSigningKeyEnv = "INVAR_SIGNING_KEY_FILE";

// Limits: input past one is refused (ErrorCode::limit or ErrorCode::signature), never read further.
inline constexpr size_t kMaxEnvelopeBytes = 1 << 20;         // one envelope (one line of FILE.intoto.jsonl)
inline constexpr size_t kMaxPayloadBytes = 256 << 10;        // its decoded payload (the Statement)
inline constexpr size_t kMaxSignatures = 16;                 // signatures in one envelope
inline constexpr size_t kMaxEnvelopes = 64;                  // envelopes (lines) verify_envelopes reads
inline constexpr size_t kMaxAttestationBytes = 8 << 20;      // a FILE.intoto.jsonl
inline constexpr size_t kMaxTrustedKeysBytes = 1 << 20;      // a trusted-keys file
inline constexpr size_t kMaxTrustedKeys = 256;               // keys in it
inline constexpr size_t kMaxKeyIdBytes = 128;                // a key id: [A-Za-z0-9._:@/+-], 1-128 bytes

// An Ed25519 private key (the key a gate signs with). The secret bytes are
// wiped when the object is destroyed.
class SigningKey {
 public:
  // A new random key. `keyid` empty: "ed25519:" followed by the first 16 hex
  // digits of the SHA-256 of the 32-byte public key; else it must be a valid
  // key id (ErrorCode::usage otherwise).
  static Result<SigningKey> generate(const std::string& keyid = {});
  // The key of a 32-byte seed (tests, and keys held elsewhere); `keyid` as for generate().
  static Result<SigningKey> from_seed(std::string_view seed, const std::string& keyid = {});
  // Reads a private key file (docs/signing.md: {"type", "keyid", "private"}).
  // Refused (ErrorCode::usage, saying to chmod 600) when the file is
  // accessible by its group or others, as ssh refuses such a key; located
  // errors for a malformed file; never reads more than 64 KiB.
  static Result<SigningKey> load_file(const std::string& path);
  // load_file() of `flag_value` when not empty, else of the file the
  // environment variable INVAR_SIGNING_KEY_FILE names; nullopt when neither is set.
  static Result<std::optional<SigningKey>> load_configured(const std::string& flag_value);

  SigningKey(const SigningKey& other) = default;
  SigningKey& operator=(const SigningKey& other) = default;
  ~SigningKey();

  const std::string& keyid() const { return keyid_; }
  // The public key, base64 (standard alphabet, padded).
  std::string public_base64() const;
  // The private key file's content (one JSON object and a newline).
  std::string private_file() const;
  // The key's entry for a trusted-keys file: {"keyid": ..., "public": ...}.
  std::string trusted_entry() const;
  // Writes private_file() to `path`, created exclusively (an existing file,
  // even a link, is refused: ErrorCode::io) with mode 0600, and fsynced.
  std::optional<Error> save_file(const std::string& path) const;
  // The Ed25519 signature of `message` (64 bytes).
  std::string sign(std::string_view message) const;

 private:
  SigningKey() = default;
  std::array<unsigned char, 64> secret_{};  // libsodium's: seed then public key
  std::array<unsigned char, 32> public_{};
  std::string keyid_;
};

// A public key trusted to sign decisions, until `not_after_ms` when given.
struct TrustedKey {
  std::string keyid;
  std::array<unsigned char, 32> public_key{};
  std::optional<int64_t> not_after_ms;  // past it (at the verification clock) the key verifies nothing
};

// The trusted-keys file: {"keys": [{"keyid", "public", "not_after"?}]}.
// Rotation: list the old and the new key; revocation: remove the key.
class TrustedKeys {
 public:
  // Strict: unknown keys, a key id that is not valid or repeated, bad base64,
  // a public key not of 32 bytes, a not_after that is not RFC 3339, an empty
  // list: located errors (file:line:column, JSON Pointer), all at once
  // (ErrorCode::usage; ErrorCode::syntax for bad JSON, ErrorCode::limit over
  // kMaxTrustedKeysBytes or kMaxTrustedKeys, ErrorCode::io when unreadable).
  static Result<TrustedKeys> load_file(const std::string& path);
  // The same for text in memory; `name` labels errors.
  static Result<TrustedKeys> load_string(std::string_view text, const std::string& name = "<trusted-keys>");

  const std::vector<TrustedKey>& keys() const { return keys_; }
  // The key with this id, or null.
  const TrustedKey* find(std::string_view keyid) const;

 private:
  std::vector<TrustedKey> keys_;
};

// What a decision's attestation says (the Statement's subject and predicate).
struct Statement {
  std::string name;             // the artifact's name (subject name)
  std::string sha256;           // 64 lowercase hex digits: the artifact's SHA-256 (subject digest)
  std::string stream;           // not empty
  std::string stage;            // "" for a stream without stages
  uint64_t sequence = 0;        // the stream's decision sequence: higher is newer
  std::string contract;         // the contract's name
  std::string contract_digest;  // "sha256:..." of the compiled contract
  std::string verdict;          // "accept", "promote", "revert" or "seed"
  int64_t decided_at_ms = 0;    // Unix epoch milliseconds
  int64_t expires_ms = 0;       // not served at or after this instant (the stream's freshness window)
};

// The Statement of a decision, its subject's digest computed from `artifact_bytes`.
Statement make_statement(std::string_view artifact_name, std::string_view artifact_bytes, std::string_view stream,
                         std::string_view stage, uint64_t sequence, std::string_view contract,
                         std::string_view contract_digest, std::string_view verdict, int64_t decided_at_ms,
                         int64_t expires_ms);

// Why `statement` cannot be signed (an empty name or stream, a digest that is
// not 64 lowercase hex digits, an unknown verdict, a time outside the years
// 0001-9999, expires not after decided_at, a name that is not UTF-8):
// ErrorCode::usage; nullopt when it can.
std::optional<Error> check_statement(const Statement& statement);

// The in-toto Statement v1 JSON of `statement` (the envelope's payload).
std::string statement_json(const Statement& statement);

// DSSE's pre-authentication encoding, what a signature covers:
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body (LEN: decimal byte count).
std::string pae(std::string_view payload_type, std::string_view body);

// The DSSE envelope of `statement` signed by `key`: one line of JSON (no
// newline) {"payload": base64, "payloadType": kPayloadType, "signatures":
// [{"keyid", "sig"}]}, for FILE.intoto.jsonl. check_statement()'s error when
// the statement cannot be signed.
Result<std::string> sign_statement(const Statement& statement, const SigningKey& key);

// What a distributor expects of the artifact it is about to serve.
struct VerifyExpectations {
  std::optional<std::string> stream;  // nullopt: any stream
  std::optional<std::string> stage;   // nullopt: any stage; "": a stream without stages
  uint64_t min_sequence = 0;          // the highest sequence served so far: lower is a rollback
  std::optional<Time> now;            // the clock for expiry and not_after; nullopt: the system clock
};

struct VerifiedStatement {
  Statement statement;
  std::string keyid;  // the trusted key whose signature verified
};

// One line of JSON: {"name", "sha256", "stream", "stage", "sequence",
// "contract", "contract_digest", "verdict", "decided_at", "expires" (RFC
// 3339), "keyid"} (invar verify --format json, the C ABI).
std::string verified_json(const VerifiedStatement& verified);

// Verifies `envelope` (one DSSE envelope) for `artifact_bytes`. The checks,
// in order, each refusal an Error (ErrorCode::signature, or ErrorCode::limit
// over a limit) whose message names the check that failed:
//  1. "not a DSSE envelope": over kMaxEnvelopeBytes, not JSON, keys or types
//     other than DSSE's, no signature or more than kMaxSignatures, bad base64;
//  2. "wrong payloadType": not kPayloadType;
//  3. the signatures, each matched to a trusted key by its keyid: "no
//     signature by a trusted key" (naming the key ids seen), "key K expired"
//     (its not_after is past), "signature invalid" (by trusted key K);
//  4. "not an in-toto Statement v1" / "predicate malformed": the payload;
//  5. "subject digest differs from the bytes";
//  6. "stream differs", 7. "stage differs" (when expected);
//  8. "sequence N is lower than the highest served M (rollback)";
//  9. "expired at T (freeze)": expires is at or before now.
// Never crashes, and is bounded, on any input.
Result<VerifiedStatement> verify(std::string_view envelope, std::string_view artifact_bytes, const TrustedKeys& keys,
                                 const VerifyExpectations& expect);

// verify() of each line of a FILE.intoto.jsonl (blank lines skipped, at most
// kMaxEnvelopes, the text at most kMaxAttestationBytes): the first envelope
// that verifies. Refused with each line's reason when none does.
Result<VerifiedStatement> verify_envelopes(std::string_view jsonl, std::string_view artifact_bytes,
                                           const TrustedKeys& keys, const VerifyExpectations& expect);

}  // namespace invar

#pragma GCC visibility pop
