/* invar's C ABI: for consumers and distributors written in C, Rust, Go,
 * Python or Lua. Opaque handles, explicit free functions, status codes.
 *
 * ```c fragment
 * invar_contract* contract = NULL;
 * if (invar_contract_load("rules/feature-file.contract.json", &contract) != INVAR_OK) {
 *   fprintf(stderr, "%s\n", invar_last_error());
 *   return 3;
 * }
 * invar_guard* guard = NULL;
 * invar_guard_new(contract, NULL, NULL, &guard);         // in memory
 * invar_report* decision = NULL;
 * invar_guard_update(guard, bytes, len, 0, &decision);   // never leaves you without a config
 * invar_report_free(decision);
 * const char* config; size_t config_len;
 * invar_guard_current(guard, &config, &config_len);      // use this
 * ```
 * (tests/doc_examples.sh compiles every example of these headers.)
 *
 * Contract of every call:
 * - It returns an invar_status: INVAR_OK, or an error code whose message is
 *   invar_last_error() (per thread, valid until the thread's next call).
 * - No C++ exception crosses this boundary; an unexpected one is INVAR_E_INTERNAL.
 * - NULL handles and NULL output pointers are INVAR_E_ARGUMENT, never a crash.
 * - Every handle an invar_*_new/load/check/submit/update call returns through
 *   an out parameter must be released with its invar_*_free; freeing NULL is a
 *   no-op. Strings returned as char* are released with invar_string_free.
 * - Byte buffers are (pointer, length) pairs and need not be NUL-terminated.
 *
 * Thread-safety: a contract may be used from any number of threads at once;
 * gates and guards too (calls on one stream are serialised). A report is
 * immutable. invar_guard_current's pointer stays valid until the next
 * invar_guard_update on that guard or invar_guard_free (an
 * invar_guard_refresh that serves a newer artifact keeps the old one alive
 * until then, or until invar_guard_release_replaced).
 */
#ifndef INVAR_INVAR_H
#define INVAR_INVAR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INVAR_API __attribute__((visibility("default")))

typedef enum invar_status {
  INVAR_OK = 0,
  INVAR_E_ARGUMENT = 1, /* a NULL handle or pointer, or a meaningless value */
  INVAR_E_IO = 2,       /* a file could not be read or written */
  INVAR_E_CONTRACT = 3, /* the contract (or a schema, selector, regex in it) does not load */
  INVAR_E_LIMIT = 4,    /* a named resource limit was exceeded */
  INVAR_E_STATE = 5,    /* the state directory is corrupted or of another version */
  INVAR_E_USAGE = 6,    /* e.g. a bad stream name, a waiver without a reason */
  INVAR_E_INTERNAL = 7, /* a bug or out of memory: nothing was changed */
  INVAR_E_REFUSED = 8   /* an attestation does not verify: invar_last_error() names the check that failed */
} invar_status;

/* A report's verdict, or a gate's / guard's decision. INVAR_UNCHANGED: the
 * candidate was the LKG's bytes (a retry); the LKG is served, nothing changed. */
typedef enum invar_verdict { INVAR_ACCEPT = 0, INVAR_REJECT = 1, INVAR_PIN = 2, INVAR_UNCHANGED = 3 } invar_verdict;

typedef struct invar_contract invar_contract;
typedef struct invar_report invar_report;
typedef struct invar_gate invar_gate;
typedef struct invar_guard invar_guard;
typedef struct invar_trusted_keys invar_trusted_keys;

/* One violation; the strings belong to the report and live as long as it. */
typedef struct invar_violation {
  const char* invariant; /* invariant id, or "artifact.syntax" etc. */
  const char* kind;
  const char* family;
  const char* severity; /* "error" or "warn" */
  const char* message;
  const char* pointer;  /* JSON Pointer into the artifact */
  const char* expected;
  const char* actual;
  const char* baseline; /* delta family: the LKG's value, else "" */
  const char* why;
} invar_violation;

/* The calling thread's message for its last failed call ("" after success). */
INVAR_API const char* invar_last_error(void);
INVAR_API const char* invar_version(void);
INVAR_API void invar_string_free(char* s);

/* Contracts: compiled once, immutable, shareable between threads. */
INVAR_API invar_status invar_contract_load(const char* path, invar_contract** out);
/* `base_dir` resolves relative schema paths (NULL: "."). */
INVAR_API invar_status invar_contract_load_string(const char* text, size_t len, const char* base_dir,
                                                  invar_contract** out);
INVAR_API void invar_contract_free(invar_contract* contract);

/* Stateless check. `now_ms` (Unix epoch milliseconds, 0: the system clock;
 * outside the years 0001-9999: INVAR_E_ARGUMENT) is the clock for freshness; `baseline` (NULL: none) the artifact the delta
 * family compares with. Unreadable bytes are a reject, not an error. */
/* invar_check, also running the contract's `trial` invariants (the
 * consumer's own commands, in a sandbox: docs/trial.md) when the others
 * accept; with a baseline, a trial's "compare" runs the command on it too.
 * A contract that runs commands is code: call this only for trusted ones. */
INVAR_API invar_status invar_check_trials(const invar_contract* contract, const char* bytes, size_t len,
                                          const char* baseline, size_t baseline_len, int64_t now_ms,
                                          invar_report** out);
INVAR_API invar_status invar_check(const invar_contract* contract, const char* bytes, size_t len,
                                   const char* baseline, size_t baseline_len, int64_t now_ms, invar_report** out);

/* Gates over a state location (docs/gate.md): a directory, or
 * "etcd://HOST:PORT[,HOST:PORT...][/PREFIX]" (docs/fleet.md, default options). The decision is a report whose
 * verdict is INVAR_ACCEPT, INVAR_REJECT or INVAR_PIN; on accept and pin,
 * invar_report_artifact gives the bytes to publish. */
INVAR_API invar_status invar_gate_open(const invar_contract* contract, const char* state_dir, invar_gate** out);
INVAR_API invar_status invar_gate_submit(invar_gate* gate, const char* stream, const char* bytes, size_t len,
                                         int64_t now_ms, invar_report** out);
/* Creates `stream` in the gate's state (gates refuse streams that were not
 * created). `seed` (NULL with seed_len 0: none) is a first LKG, judged by
 * the stateless invariants, and needs a `reason`; `by` names who (required).
 * `out` (may be NULL) receives the seed's decision: INVAR_ACCEPT (it is the
 * LKG) or INVAR_REJECT (nothing was created). A stream that exists is
 * INVAR_E_USAGE. */
INVAR_API invar_status invar_gate_init(invar_gate* gate, const char* stream, const char* seed, size_t seed_len,
                                       const char* reason, const char* by, invar_report** out);
/* The same, giving the stream stages (docs/rollout.md): `rollout_file` is a
 * rollout file (JSON or YAML), every stage holds the seed, if any. */
INVAR_API invar_status invar_gate_init_staged(invar_gate* gate, const char* stream, const char* seed, size_t seed_len,
                                              const char* reason, const char* by, const char* rollout_file,
                                              invar_report** out);
INVAR_API void invar_gate_free(invar_gate* gate);

/* Staged rollouts (docs/rollout.md) of the stream `stream` at `location` (a
 * directory or "etcd://..."). `now_ms` 0: the system clock. `json_out` (may
 * be NULL) receives the report as JSON (schemas/rollout-report.schema.json);
 * free it with invar_string_free. invar_rollout_step: one step (promote what
 * baked and is healthy, revert what is not). invar_rollout_veto: takes an
 * artifact (sha256:HEX or 8+ of its hex digits) back from every stage and
 * halts the stream; `reason` and `by` are required. A step on a stream whose
 * rollout has an exec health check is refused (INVAR_E_USAGE): those
 * commands come from the state store (see docs/rollout.md, --allow-exec). */
INVAR_API invar_status invar_rollout_step(const char* location, const char* stream, int64_t now_ms, char** json_out);
INVAR_API invar_status invar_rollout_veto(const char* location, const char* stream, const char* digest,
                                          const char* reason, const char* by, int64_t now_ms, char** json_out);

/* Guarded loading for consumers. With `state_dir` and `stream` NULL the
 * last-known-good lives in memory; with both, in that stream of the state
 * location (a directory, or "etcd://HOST:PORT[,...][/PREFIX]"), and a
 * restarted consumer starts with it. */
INVAR_API invar_status invar_guard_new(const invar_contract* contract, const char* state_dir, const char* stream,
                                       invar_guard** out);
/* A persistent guard of a stream with stages serving `stage` (NULL: the
 * last stage, what everyone gets); an update it accepts enters the first
 * stage and is served only by a guard of that stage. */
INVAR_API invar_status invar_guard_new_staged(const invar_contract* contract, const char* state_dir, const char* stream,
                                              const char* stage, invar_guard** out);
/* A persistent guard (state_dir and stream required; stage as for
 * invar_guard_new_staged) that serves only an LKG whose attestation verifies
 * against `keys` (copied: free them when you like; NULL: as
 * invar_guard_new_staged): a signature by a trusted key in force, the
 * subject equal to the bytes' SHA-256, the stream and the stage followed, a
 * sequence not lower than the highest served, not expired at the system
 * clock (docs/signing.md). A stored LKG that does not verify: INVAR_E_REFUSED
 * (invar_last_error() names the check), no guard; on invar_guard_refresh:
 * INVAR_E_REFUSED, and the artifact in service stays. */
INVAR_API invar_status invar_guard_new_verified(const invar_contract* contract, const char* state_dir,
                                                const char* stream, const char* stage, const invar_trusted_keys* keys,
                                                invar_guard** out);
/* Judges `bytes`; `decision` (may be NULL) receives the decision report. The
 * guard keeps serving its current artifact unless the candidate is accepted. */
INVAR_API invar_status invar_guard_update(invar_guard* guard, const char* bytes, size_t len, int64_t now_ms,
                                          invar_report** decision);
/* An in-memory guard's first artifact, judged by the stateless invariants
 * only (as `invar init --seed`): a contract whose delta-family invariants say
 * require_baseline rejects every update of a guard never seeded. `decision`
 * (may be NULL) receives the decision: INVAR_ACCEPT (now in service) or
 * INVAR_REJECT (nothing changed). INVAR_E_USAGE when the guard serves an
 * artifact already or is persistent (seed its stream with invar_gate_init). */
INVAR_API invar_status invar_guard_seed(invar_guard* guard, const char* bytes, size_t len, int64_t now_ms,
                                        invar_report** decision);
/* The artifact in service: *bytes is NULL (and *len 0) before any was accepted. */
INVAR_API invar_status invar_guard_current(const invar_guard* guard, const char** bytes, size_t* len);
/* A persistent guard fed by its stream (gates elsewhere promote, this guard
 * follows): one look at the stored LKG. *changed (may be NULL) is 1 when a
 * newer LKG than the one in service was read, verified, and is now served;
 * 0 when there is none (always, for an in-memory guard). An error (the state
 * cannot be read; INVAR_E_REFUSED: a guard with trusted keys refused the new
 * LKG's attestation) leaves the artifact in service as it was: call it again
 * later, from a timer or a loop. */
INVAR_API invar_status invar_guard_refresh(invar_guard* guard, int* changed);
/* Frees the artifacts refreshes replaced, which the guard keeps for the
 * pointers invar_guard_current gave out before (they stay valid until the next
 * invar_guard_update). A follower that never calls invar_guard_update calls
 * this once no thread uses an older pointer, or it keeps every artifact it
 * served. The artifact in service is not touched. */
INVAR_API invar_status invar_guard_release_replaced(invar_guard* guard);
INVAR_API void invar_guard_free(invar_guard* guard);

/* Reports. */
INVAR_API invar_verdict invar_report_verdict(const invar_report* report); /* INVAR_REJECT for NULL */
INVAR_API size_t invar_report_violation_count(const invar_report* report);
INVAR_API invar_status invar_report_violation(const invar_report* report, size_t index, invar_violation* out);
/* For a decision: the artifact in service after it (NULL on reject). */
INVAR_API invar_status invar_report_artifact(const invar_report* report, const char** bytes, size_t* len);
/* The report as JSON (schemas/report.schema.json, or decision.schema.json
 * for a gate's or guard's decision) or as human text; free with invar_string_free. */
INVAR_API char* invar_report_json(const invar_report* report);
INVAR_API char* invar_report_text(const invar_report* report);
/* The report in any format of `invar check --format` ("human", "json",
 * "sarif", "junit", "github", "tap"); NULL for an unknown name (then
 * invar_last_error lists the valid ones) or a NULL report. Free with
 * invar_string_free. */
INVAR_API char* invar_report_render(const invar_report* report, const char* format);
/* Where violation `index` is in the artifact's text: 1-based line and
 * column (in characters); both 0 when unknown. */
INVAR_API invar_status invar_report_violation_location(const invar_report* report, size_t index, uint64_t* line,
                                                       uint64_t* column);
INVAR_API void invar_report_free(invar_report* report);

/* Signed decisions (docs/signing.md). Trusted keys: a trusted-keys file
 * {"keys": [{"keyid", "public", "not_after"?}]}, immutable once loaded and
 * shareable between threads; a malformed file (not JSON included) is
 * INVAR_E_USAGE, its message located (file:line:column). */
INVAR_API invar_status invar_trusted_keys_load(const char* path, invar_trusted_keys** out);
INVAR_API invar_status invar_trusted_keys_load_string(const char* text, size_t len, invar_trusted_keys** out);
INVAR_API void invar_trusted_keys_free(invar_trusted_keys* keys);
/* Verifies, before serving `bytes`, the attestation `envelopes` (a
 * FILE.intoto.jsonl: one DSSE envelope a line, any one verifying suffices):
 * a signature by a trusted key in force, the subject's SHA-256 equal to the
 * bytes', the stream `stream` (NULL: any), the stage `stage` (NULL: any; "":
 * a stream without stages), a sequence not lower than `min_sequence` (the
 * highest served so far), not expired at `now_ms` (0: the system clock).
 * INVAR_OK when verified; INVAR_E_REFUSED (invar_last_error() names the
 * check that failed) when not; INVAR_E_LIMIT over a limit. `verified_json`
 * (may be NULL) receives, when verified, {"name", "sha256", "stream",
 * "stage", "sequence", "contract", "contract_digest", "verdict",
 * "decided_at", "expires", "keyid"}: free it with invar_string_free. */
INVAR_API invar_status invar_verify_attestation(const invar_trusted_keys* keys, const char* envelopes,
                                                size_t envelopes_len, const char* bytes, size_t len,
                                                const char* stream, const char* stage, uint64_t min_sequence,
                                                int64_t now_ms, char** verified_json);

#ifdef __cplusplus
}
#endif

#endif /* INVAR_INVAR_H */
