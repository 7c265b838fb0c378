// invar's stateful half: gates that decide accept / reject / pin against a
// stream's last-known-good (LKG), the state store they share, and the Guard
// that consumers embed to keep serving their LKG through a bad update.
//
// ```cpp fragment
// auto contract = invar::Contract::load_file("rules/dns-plan.contract.json");
// auto store = invar::StateStore::open_directory("/var/lib/invar");
// invar::Gate gate(*contract, *store);
// auto decision = gate.submit("dynamodb-us-east-1", bytes);
// if (!decision) { /* cannot judge: publish nothing */ }
// else if (decision->action != invar::Action::reject) publish(*decision->artifact);
// ```
//
// Semantics (docs/gate.md): stateless invariants are evaluated before the
// stream's lock; baseline comparisons and freshness under it, against the LKG
// as it is then. Promotion is atomic and crash-safe. Nothing here throws on
// bad input: errors are Results (ErrorCode::state for a corrupted store).
//
// Thread-safety: Gate, StateStore and Guard may be used from any number of
// threads; calls on one stream are serialised by the store's lock (across
// processes too, for a directory store; on etcd they are fenced instead, each
// thread judging on its own snapshot).
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invar/invar.hpp"
#include "invar/rollout.hpp"
#include "invar/sign.hpp"

// The public API has default visibility; everything else in libinvar is hidden.
#pragma GCC visibility push(default)

namespace invar {

// accept: the candidate is the new LKG; pin: it is rejected and the LKG is
// published again; reject: rejected, and no LKG to publish; unchanged: the
// candidate is the LKG's bytes (a retry): the LKG is published, nothing changes.
enum class Action { accept, reject, pin, unchanged };
std::string_view to_string(Action a);

// The LKG of a stream, as stored.
struct LkgRecord {
  std::string stream;
  uint64_t sequence = 0;        // promotions on this stream so far (1 = first)
  std::string digest;           // "sha256:..." of the artifact bytes
  uint64_t bytes = 0;
  std::string generation;       // the contract's first monotonic invariant's value ("" if none)
  int64_t accepted_at_ms = 0;   // Unix epoch milliseconds
  std::string contract;         // the contract it was accepted under: name and digest
  std::string contract_digest;
  // The DSSE envelope (one line of JSON, include/invar/sign.hpp) of the
  // decision that put it in service, signed by the gate's key; "" when the
  // gate signs nothing. Stored with the record, under its seal.
  std::string attestation{};
};

// One entry of a stream's retention list (the last N accepted artifacts).
struct Accepted {
  std::string digest;
  std::string generation;
  int64_t accepted_at_ms = 0;
  uint64_t sequence = 0;
  // The envelope its LKG record carried (LkgRecord::attestation; the last,
  // when an unchanged decision re-signed it); "" unsigned. A signing revert
  // returns only to an entry whose envelope verifies.
  std::string attestation{};
};

// A rejected candidate kept as evidence (GateOptions::quarantine): its bytes
// are stored under `digest` beside the stream's state.
struct Quarantined {
  std::string digest;
  uint64_t bytes = 0;
  int64_t time_ms = 0;               // when it was judged
  std::string verdict;               // "reject", "pin", or "revert" (a rollout or a veto took it back)
  std::vector<std::string> failed;   // the invariants (or the health check) it failed
  std::string reason{};              // a revert's evidence: the check, its value, when; or the veto's reason
};

struct Waiver {
  std::string invariant;
  std::string reason;
  std::string by;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  // Scoped (at most one of the two): it waives only this candidate
  // ("sha256:HEX"), or only a candidate of this generation (the contract's
  // first monotonic value), and only once: the accept it lets through uses
  // it up, in the same fenced decision.
  std::string for_candidate{};
  std::string for_generation{};
  std::string id{};          // 12 hex digits naming it (invar waive --revoke ID)
  std::string used_by{};     // a scoped waiver used up: the candidate it let through ...
  int64_t used_ms = 0;       // ... and when; no longer in force
  // Two-person waivers (StreamInfo::approvals 2): the people it needs, set
  // when recorded; with 2 it is in force only once a second actor approved
  // it (StateStore::approve_waiver).
  uint32_t approvals = 1;
  std::string approved_by{};
  int64_t approved_ms = 0;
};

// A number one invariant measured of a candidate (Decision::observed, and
// the journal): what operators watch between incidents.
struct Observation {
  std::string invariant;
  std::string kind;
  // count: "count" (nodes selected; without `each`); delta: "count", "sum" or
  // "bytes"; churn: "keys"; monotonic: "value" (a number); freshness:
  // "age_seconds" (one timestamp, without `each`, at the decision's clock)
  std::string measure;
  double value = 0;
  std::optional<double> baseline;  // the LKG's, for delta and churn
  // The contract's thresholds on `value` where it has them: count min and
  // max (less headroom); delta the bounds max_decrease/max_increase allow
  // from the baseline; freshness max_age in seconds. For a delta whose
  // limits are percentages, also the bounds on value / baseline.
  std::optional<double> min{}, max{};
  std::optional<double> ratio_min{}, ratio_max{};
};

// One line of a stream's decision journal.
struct JournalRecord {
  // "decision", "init" (the stream was created; verdict "seed" when a first
  // LKG came with it, else "create"), "waiver", "revoke" (a waiver revoked:
  // `waiver` is it, `detail` who and why), "approve" (a two-person waiver
  // approved: `waiver` is it, approved_by and approved_ms set), "contract-change", "repair"
  // (the gate fixed what a crash or a full disk left: `detail` says what) or
  // "rotate" (first of a new journal file)
  std::string event;
  int64_t time_ms = 0;
  std::string stream;
  std::string host;
  int64_t pid = 0;
  // decision
  std::string verdict;  // "accept", "reject", "pin"
  std::string candidate;
  std::string generation;
  std::vector<std::string> failed;  // error-severity invariants that failed
  std::vector<std::string> waived;
  std::string lkg_before, lkg_after;
  // lkg_after's sequence (0: none, or a record of an older invar): the
  // gate refuses an LKG older than the newest its journal records.
  uint64_t lkg_sequence = 0;
  std::string contract, contract_digest;
  bool flapping = false;
  // decision: decisions on the stream so far, this one included, by action
  // (accept, reject, pin, unchanged); empty in records of invar 0.1
  std::vector<uint64_t> totals;
  // waiver
  std::optional<Waiver> waiver;
  // init, contract-change, repair and rotate: what happened (lkg_after: the LKG then)
  std::string detail;
  // Rollouts (docs/rollout.md): "promote" (`candidate` moved to `stage`),
  // "revert" (`candidate` taken back from every stage holding it; `stage`:
  // where its check failed, "" for a veto), "veto", "resume", "freeze",
  // "thaw", "rollout" (the stages set or changed); `detail` says what and why.
  std::string stage{};
  // decision (what `invar history` and the on-call page show; absent in
  // records of older invar): the violations' messages ("id: message"), at
  // most kJournalMessages of at most kJournalMessageBytes each, and how many
  // were left out; the candidate's size; its observations (at most
  // kJournalObservations) with the contract's thresholds.
  std::vector<std::string> messages{};
  uint64_t messages_omitted = 0;
  std::optional<uint64_t> bytes{};
  std::vector<Observation> observations{};
};

// The journal's bounds on what a decision record carries (docs/state.md).
inline constexpr size_t kJournalMessages = 8;
inline constexpr size_t kJournalMessageBytes = 300;
inline constexpr size_t kJournalObservations = 16;

// Who a stream was created for (stream.json): a gate running another
// contract on it needs SubmitOptions::contract_change.
struct StreamInfo {
  std::string stream;
  std::string contract;  // the contract's name
  std::string contract_digest;
  int64_t created_ms = 0;
  std::string created_by;
  // Distinct people a waiver needs (1 or 2), set at init (InitOptions::
  // approvals); a record without it (older invar) reads as 1.
  uint32_t approvals = 1;
};

struct WaiverRequest {
  std::string invariant;
  std::string reason;     // required, not blank
  int64_t duration_ms = 0;  // required; it must end within 30 days of the system clock
  std::string by;         // who (recorded): 1-64 of A-Z a-z 0-9 . _ @ + -
  // Scope it to one candidate (then used once; see Waiver): its digest
  // ("sha256:" optional; 64 hex digits, or a prefix of at least 12 of a
  // candidate the stream keeps: LKG, retained or quarantined) ...
  std::string for_candidate{};
  // ... or the generation of the candidate (the contract's first monotonic value).
  std::string for_generation{};
};

struct FlapOptions {
  uint32_t alternations = 3;      // accept<->not-accept flips that make a stream flapping (0: off)
  int64_t window_ms = 3'600'000;  // ... within this window (1h)
  // A flapping stream is no longer flapping once its last `clear_after`
  // decisions were all accepts (or the LKG's bytes again), before the window
  // has moved past its flips. 0: only the window clears it.
  uint32_t clear_after = 0;
};

// A Gate's configuration.
//
//   option          default  meaning
//   keep            10       accepted artifacts kept per stream for backtests (>= 1)
//   quarantine      5        rejected candidates kept per stream as evidence (0: none; at most 1000)
//   flap            3 in 1h  see FlapOptions
//   pinned_warn_ms  1h       warn when a stream has been pinned longer
struct GateOptions {
  // A gate on a stream that does not exist: false (default) refuses it
  // (ErrorCode::usage, naming `invar init`); true creates it first.
  bool create_streams = false;
  uint32_t keep = 10;
  uint32_t quarantine = 5;
  FlapOptions flap;
  int64_t pinned_warn_ms = 3'600'000;
  // Signed decisions (docs/signing.md). With `signing_key`, every decision
  // that puts an artifact in service is signed (LkgRecord::attestation, and
  // FILE.intoto.jsonl beside a published file), valid for
  // `attestation_window_ms` from the decision. `trusted_keys` (the signing
  // key's own public key is always trusted too) verify what is read from
  // the store before it is used: an LKG without a valid attestation is
  // forged or corrupted state. Followers (watch, a persistent Guard) with
  // `trusted_keys` serve only what verifies.
  std::shared_ptr<const SigningKey> signing_key{};
  std::shared_ptr<const TrustedKeys> trusted_keys{};
  int64_t attestation_window_ms = 7 * 86'400'000LL;
  // Migration (docs/signing.md): with a signing key, an LKG record that
  // carries no envelope (accepted before signing was turned on) is trusted
  // for this decision, which signs it (accept: the new LKG; unchanged or
  // pin: the LKG re-signed), journaled with this reason. "": refused (exit 3).
  // An envelope that is present but fails is never adopted.
  std::string adopt_unsigned_lkg{};
};

// Where the artifact to publish goes: prepare() stages the bytes (nothing
// visible yet) and checks every precondition of publishing them; commit()
// makes them visible and verifies that what is visible has `digest`. Both
// run under the stream's lock, prepare() before the state changes and
// commit() after: a publication that cannot happen never advances the LKG.
// prepare() may be called again before commit() (a decision judged again
// because another gate changed the LKG): the new bytes replace the staged ones.
class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual std::optional<Error> prepare(std::string_view bytes, const std::string& digest) = 0;
  // prepare() with the decision's attestation (one DSSE envelope line, or
  // nullopt when the gate signs nothing), to publish with the bytes: the
  // file publisher writes it to FILE.intoto.jsonl, renamed into place
  // before the artifact (without one, it removes a FILE.intoto.jsonl left
  // by earlier signed decisions, before the artifact is renamed). What a
  // gate calls; this default publishes the bytes only.
  virtual std::optional<Error> prepare_attested(std::string_view bytes, const std::string& digest,
                                                [[maybe_unused]] const std::optional<std::string>& attestation) {
    return prepare(bytes, digest);
  }
  virtual std::optional<Error> commit() = 0;
  // What a gate calls: commit(), unless the target then holds one of
  // `later()`, the artifacts of the stream's decisions after this one (a
  // gate paused after its decision must not publish over them); false,
  // nothing published, then. The file publisher asks under its lock; this
  // default, which cannot see its target, commits.
  virtual Result<bool> commit_unless([[maybe_unused]] const std::function<Result<std::vector<std::string>>()>& later) {
    if (auto e = commit()) return *e;
    return true;
  }
  // The file it publishes to, if it is one (a gate refuses one inside its state).
  virtual std::optional<std::string> file() const { return std::nullopt; }
};

// Publishes to a file: a staging file beside `path`, created exclusively
// under an unpredictable name without following links, written and
// fsynced; renamed over `path` on commit, the directory fsynced, and the
// published file read back and checked against the decision's digest.
// Publishers of one file are serialised only around the rename and its
// checks, by flock(2) on ".NAME.invar-lock" beside it (which holds the
// holder's pid), waited for at most `lock_timeout_ms`: past it an Error
// naming that pid, nothing published. Each staging file is flocked by its
// gate: those of killed gates are removed by the next. An existing
// directory at `path` is refused. With an attestation (prepare_attested),
// "PATH.intoto.jsonl" is staged the same way and renamed first, under the
// same lock: a reader that sees the new artifact finds its attestation.
std::unique_ptr<Publisher> file_publisher(const std::string& path, int64_t lock_timeout_ms = 30'000);

// A consumer's own check of a candidate (its parse step): nullopt when it can
// use the bytes, else why not. Runs only when the contract accepts.
using ConsumerCheck = std::function<std::optional<std::string>(std::string_view bytes)>;

struct SubmitOptions {
  bool dry_run = false;  // evaluate and report; change nothing, publish nothing (shadow mode)
  // The clock; Options::clock (the system clock) when unset. Read again under the lock.
  std::optional<Time> now;
  std::vector<WaiverRequest> waive;  // recorded (unless dry_run) before deciding
  Publisher* publisher = nullptr;    // where to publish; none: the caller publishes Decision::artifact
  // The stream was created for another contract (by name): judge anyway and
  // record the change (journal "contract-change") with the decision, in its
  // fenced commit (an Error before it changes nothing); without it, an Error.
  bool contract_change = false;
  ConsumerCheck consumer_check;      // failing it is a violation "consumer.check"
  // Decision::observed is filled on every judged decision (the journal keeps
  // it for the on-call page); this flag is kept for callers of older invar.
  bool observe = false;
};

struct Decision {
  Action action = Action::reject;
  Report report;
  std::string candidate;   // "sha256:..." ("" when the file was refused unread)
  std::string generation;  // the first monotonic invariant's value, if any
  std::optional<LkgRecord> lkg_before, lkg_after;
  // What is in service after the decision: the candidate on accept, the LKG
  // on pin, null on reject.
  std::shared_ptr<const std::string> artifact;
  bool flapping = false;
  std::vector<std::string> flap_history;  // "accept 2025-...Z", oldest first: the last 16 within the window
  std::optional<int64_t> pinned_since_ms;
  std::vector<std::string> warnings;
  bool dry_run = false;
  bool quarantined = false;  // the rejected candidate's bytes were kept (see Quarantined)
  // Decisions on the stream so far, this one included, by action (indexed by
  // Action): counters for monitoring, kept in the journal.
  std::array<uint64_t, 4> decisions_total{};
  double judge_ms = 0;  // wall time from reading the candidate to the decision
  std::vector<Observation> observed;  // when the candidate was read
};

struct StreamStatus {
  std::string stream;
  std::optional<LkgRecord> lkg;
  std::vector<JournalRecord> recent;  // the last decisions, newest first
  std::optional<int64_t> pinned_since_ms;
  bool flapping = false;
  std::vector<std::string> flap_history;
  std::vector<Waiver> active_waivers;
  std::vector<Waiver> awaiting_approval;  // two-person waivers not yet approved (not expired)
  uint64_t retained = 0;  // accepted artifacts kept (all verified)
  std::vector<Quarantined> quarantined;  // oldest first
  std::array<uint64_t, 4> decisions_total{};  // decisions so far by action (indexed by Action)
  std::vector<std::string> warnings;
  // Its stages (docs/rollout.md): when it has any, or is halted, frozen
  // (or every stream is), or refuses vetoed artifacts; else nullopt.
  std::optional<RolloutReport> rollout;
  // Reverts and vetoes in the journal records read (the journal's kept
  // part: it may go down when old journals are dropped).
  uint64_t reverts_total = 0;
};

// Creating a stream (Gate::init).
struct InitOptions {
  // A first LKG: judged by the stateless invariants (no baseline exists);
  // needs a reason. Without one the stream starts empty.
  std::optional<std::string_view> seed;
  std::string seed_file;  // or the file holding it (read under the contract's max_bytes)
  std::string reason;
  std::string by;  // who (recorded), as for waivers
  // Distinct people a waiver of this stream needs: 1, or 2 (the second
  // approves it: StateStore::approve_waiver). Fixed for the stream's life.
  uint32_t approvals = 1;
  std::optional<Time> now;
  // Stages (docs/rollout.md): the stream's rollout, written with it (every
  // stage holds the seed, if any); or the rollout file to load it from.
  std::optional<RolloutPolicy> rollout;
  std::string rollout_file;
};

// One stored accepted artifact with its bytes (StateStore::retained).
struct RetainedArtifact {
  Accepted entry;
  std::string bytes;
};

struct BacktestRow {
  Accepted entry;
  Report report;  // under the new contract, the previous accepted artifact as baseline
};

#pragma GCC visibility pop
namespace store {
class Store;  // internal (src/store)
}
#pragma GCC visibility push(default)

// Where gates keep their state. The embedded backend is a directory (format
// in docs/state.md). Copies share the same store.
// A state store's configuration.
//
//   option                default  meaning
//   trust_shared          false    use a state whose directories are owned by another user
//                                  (not root) or writable by group or others (refused by default:
//                                  whoever can write the state can choose what is published)
//   journal_rotate_bytes  8 MiB    a stream's journal is rotated before it passes this (0: never)
//   journal_keep          4        rotated journals kept per stream (journal.1.jsonl is the newest)
//
// etcd (a location "etcd://HOST:PORT[,HOST:PORT...][/PREFIX]", docs/fleet.md):
//   timeout_ms            5000     each request to a member (then the next member is tried)
//   cacert, cert, key     ""       TLS: the CA to trust, the client certificate and key (https)
//   user, password        ""       etcd authentication (the CLI reads the password from INVAR_ETCD_PASSWORD)
//   max_artifact_bytes    64 MiB   an artifact stored in etcd (in 768 KiB chunks); larger is refused
//   journal_keep_records  10000    journal records kept per stream (the oldest are deleted)
//   journal_keep_ms       90 days  older journal records are deleted too, except a stream's newest 64
//   blobs_dir             ""       a directory shared by the gates (NFS, a mounted volume) that
//                                  holds artifacts over max_artifact_bytes, content-addressed
//                                  and verified like chunks; "": such artifacts are refused
//   orphan_grace_ms       10 min   stored artifacts outside the LKG and the retention list are
//                                  collected once older than this (a commit checks its artifact
//                                  still exists, so a shorter grace costs retries, never safety)
struct StoreOptions {
  bool trust_shared = false;
  uint64_t journal_rotate_bytes = 8ull << 20;
  uint32_t journal_keep = 4;
  int64_t timeout_ms = 5000;
  std::string cacert, cert, key, user, password;
  uint64_t max_artifact_bytes = 64ull << 20;
  uint64_t journal_keep_records = 10000;
  int64_t journal_keep_ms = 90ll * 24 * 3'600'000;
  int64_t orphan_grace_ms = 600'000;
  std::string blobs_dir;
};

class StateStore {
 public:
  // Opens (does not yet create) the directory store at `dir`.
  static Result<StateStore> open_directory(const std::string& dir, const StoreOptions& options = {});
  // A location: "etcd://..." (the etcd backend) or a directory path.
  static Result<StateStore> open(const std::string& location, const StoreOptions& options = {});

  // Streams with state, sorted.
  Result<std::vector<std::string>> streams() const;
  // Reads and verifies everything stored for `stream` (checksums, digests):
  // an Error (ErrorCode::state) when anything is corrupted.
  Result<StreamStatus> status(const std::string& stream, int64_t now_ms, const GateOptions& options = {},
                              size_t recent = 10) const;
  // The journal, oldest first (the last 16 MiB of it).
  Result<std::vector<JournalRecord>> history(const std::string& stream) const;
  // The LKG's record (not its bytes); nullopt when the stream has none.
  Result<std::optional<LkgRecord>> lkg(const std::string& stream) const;
  // The LKG's bytes, verified; nullopt when the stream has none.
  Result<std::optional<std::string>> lkg_artifact(const std::string& stream) const;
  // The retained accepted artifacts (the LKG last), oldest first, verified.
  Result<std::vector<RetainedArtifact>> retained(const std::string& stream) const;
  // The quarantined candidates, oldest first.
  Result<std::vector<Quarantined>> quarantine(const std::string& stream) const;
  // The waivers recorded on `stream` (in force, used up, or expired but not
  // yet dropped), oldest first.
  Result<std::vector<Waiver>> waivers(const std::string& stream) const;
  // Revokes the waiver `id` (Waiver::id) of `stream`, journaled ("revoke",
  // with `by` and `reason`, both required) at `now_ms`: from then on no
  // decision uses it (a gate that judged with it meanwhile finds its commit
  // refused and judges again). Returns it; an Error (ErrorCode::usage) when
  // the stream has no such waiver.
  Result<Waiver> revoke_waiver(const std::string& stream, const std::string& id, const std::string& by,
                               const std::string& reason, int64_t now_ms) const;
  // Approves the two-person waiver `id` of `stream` as `by` (`reason`
  // optional), journaled ("approve") at `now_ms`: from then on it is in
  // force. Returns it; an Error (ErrorCode::usage) when the stream has no
  // such waiver (or it was revoked), it needs no approval, is expired, used
  // up or approved already, or `by` is the actor who recorded it.
  Result<Waiver> approve_waiver(const std::string& stream, const std::string& id, const std::string& by,
                                const std::string& reason, int64_t now_ms) const;
  // Any artifact the stream keeps (the LKG, a retained accepted one, a
  // quarantined one) by its digest or a unique prefix of at least 8 hex
  // digits ("sha256:" optional); verified. An Error (ErrorCode::usage) when
  // none or several match.
  Result<std::string> artifact(const std::string& stream, const std::string& digest) const;
  // Repairs what interrupted writers left in `stream` under its exclusive
  // lock, journaling each repair: a torn journal line moved aside, an LKG
  // committed without its journal record, stored objects outside the LKG
  // and the retention list (etcd: once older than orphan_grace_ms). Returns
  // one line per repair; none when there was nothing to repair.
  Result<std::vector<std::string>> repair(const std::string& stream);

 private:
  friend class Gate;
  friend class Guard;
  friend class Follower;
  friend class Rollout;
  explicit StateStore(std::shared_ptr<store::Store> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<store::Store> impl_;
};

// Follows a stream's LKG in a store, for distributors that serve only what
// gates accepted (invar watch and a following Guard are built on it). Each
// poll() reads the LKG record once, so it cannot miss the latest promotion
// across restarts, lost connections or etcd compactions; it may skip
// intermediate ones, and it never goes back to an older sequence. wait()
// sleeps until the next poll() is worth it: on etcd, until its watch stream
// reports a change (push); elsewhere, for the whole timeout (polling).
// A stream with stages (docs/rollout.md): it follows one stage, by default
// the last (what everyone gets); a stage's sequence rises with each change
// of the stage, a revert included; what a stage holds is never served once
// vetoed.
class Follower {
 public:
  struct Change {
    LkgRecord lkg;  // a later stage's: its sequence is the stage's, its accepted_at_ms when it entered the stage
    std::shared_ptr<const std::string> artifact;  // verified against lkg.digest
    // What its attestation must name: "" for the stream's LKG record (without
    // stages, or the first stage, which serves it), else the stage holding it.
    std::string stage{};
  };
  // `sequence`: the sequence already served (0: none). `stage`: "" for the
  // last stage (or the stream's LKG, without stages).
  Follower(StateStore store, std::string stream, uint64_t sequence = 0, std::string stage = {});
  // One look: the LKG when its sequence is past the one served; nullopt
  // when it is the one served, or the stream has no LKG yet; an Error when
  // the store cannot be read, the LKG fails verification, or it is older
  // than the one served (ErrorCode::state: the state was rolled back; give
  // a restarted follower the sequence it served). Call served() once the
  // change is in service (until then, the next poll() returns it again).
  Result<std::optional<Change>> poll();
  void served(uint64_t sequence) { sequence_ = std::max(sequence_, sequence); }
  uint64_t sequence() const { return sequence_; }
  // Returns when the state poll() reads may have changed since its last
  // read (etcd: a change of the stream's records past that read's revision,
  // replayed across lost streams; a compaction past it counts as one), after
  // `timeout_ms` at most, or once `stop()` says so (asked every 100 ms).
  // Without etcd it waits the whole timeout. True when woken by a change.
  // Call poll() next, whatever it returned: a wake is a hint, never data.
  bool wait(int64_t timeout_ms, const std::function<bool()>& stop = {});

 private:
  StateStore store_;
  std::string stream_;
  uint64_t sequence_ = 0;
  std::string stage_;
  uint64_t revision_ = 0;    // of the last poll()'s read (etcd; 0: none)
  bool read_failed_ = false;  // the last poll() could not read (wait() retries sooner)
};

// What a follower (invar watch --trusted-keys, a persistent Guard with
// GateOptions::trusted_keys) checks before it serves an LKG
// (docs/signing.md): `record`'s attestation verified for `bytes` by `keys`
// as verify() does (a trusted key's signature, the subject's digest,
// record.stream, `stage`, a sequence not lower than `min_sequence`, the
// highest served, not expired at `now`: nullopt, the system clock), then
// its sequence equal to the record's. A record without an attestation is
// refused: fail closed. An Error (ErrorCode::signature) names the check.
Result<VerifiedStatement> verify_lkg(const LkgRecord& record, std::string_view bytes, const TrustedKeys& keys,
                                     const std::string& stage, uint64_t min_sequence, std::optional<Time> now = {});

// The rollout controller of a stream's stages (docs/rollout.md): each call
// is one fenced, journaled decision, like a gate's, on any backend.
//
//   option      default        meaning
//   now         system clock   the clock every bake time and window is judged by
//   by          ""             who (journaled; required by veto, resume, freeze, thaw, set)
//   reason      ""             why (required by the same)
//   quarantine  10             reverted artifacts kept per stream as evidence
//   evaluate    evaluate_health  the health checks (tests and embedders may replace it)
//   allow_exec  false          run the stored rollout's exec checks (commands from the state
//                              store: a step refuses a rollout that has one without it)
//   dry_run     false          judge and report, write nothing
//   signing_key none           sign reverts and stage promotions, verifying first what they put
//                              in service (the LKG, a stage's holding; docs/signing.md)
class Rollout {
 public:
  struct Options {
    std::optional<Time> now;
    std::string by, reason;
    uint32_t quarantine = 10;
    std::function<HealthResult(const HealthCheck&, const HealthContext&)> evaluate;
    bool allow_exec = false;
    bool dry_run = false;
    // A revert that changes the stream's LKG signs it (verdict "revert",
    // docs/signing.md), valid for attestation_window_ms; so do a promotion
    // into a stage ("promote") and a revert of a stage ("revert"), for the
    // stage. With a key, the stream's LKG, and a stage's holding before it
    // is promoted, must carry an envelope by it or by one of `trusted_keys`
    // (as for a gate): else ErrorCode::state, nothing changed; a stage is
    // reverted only to a previous holding whose envelope verifies.
    std::shared_ptr<const SigningKey> signing_key{};
    std::shared_ptr<const TrustedKeys> trusted_keys{};
    int64_t attestation_window_ms = 7 * 86'400'000LL;
  };
  explicit Rollout(StateStore store) : store_(std::move(store)) {}

  // One step: promotes what baked and is healthy (one stage per step),
  // reverts what a check failed (or could not evaluate past the rollout's
  // unknown_limit), reports what waits and until when.
  Result<RolloutReport> step(const std::string& stream, const Options& options) const;
  // Takes an artifact (a digest, or a unique prefix of 8+ hex digits) back
  // from every stage, quarantines it, refuses it from then on, halts the stream.
  Result<RolloutReport> veto(const std::string& stream, const std::string& digest, const Options& options) const;
  Result<RolloutReport> resume(const std::string& stream, const Options& options) const;
  // `stream` "": every stream of the location. `expires_ms` 0: until thawed.
  Result<RolloutReport> freeze(const std::string& stream, int64_t expires_ms, const Options& options) const;
  Result<RolloutReport> thaw(const std::string& stream, const Options& options) const;
  // Sets or changes the stream's stages (journaled).
  Result<RolloutReport> set(const std::string& stream, const RolloutPolicy& policy, const Options& options) const;
  // The stages as they are (no write, no health evaluated).
  Result<RolloutReport> status(const std::string& stream, int64_t now_ms) const;

 private:
  StateStore store_;
};

class Gate {
 public:
  Gate(Contract contract, StateStore store, GateOptions options = {});

  // Judges `bytes` for `stream` (1-128 of A-Z a-z 0-9 . _ -). On accept the
  // candidate becomes the LKG and is published; on a violation the LKG is
  // published (pin), or nothing when there is none (reject). An Error means
  // the gate could not judge: nothing was published or changed.
  Result<Decision> submit(const std::string& stream, std::string_view bytes, const SubmitOptions& options = {}) const;

  // Reads the artifact at `path` (refused unread, as a violation
  // "artifact.size", when over the contract's max_bytes) and submits it.
  // A missing or unreadable file is an Error.
  Result<Decision> submit_file(const std::string& stream, const std::string& path,
                               const SubmitOptions& options = {}) const;

  // Records a waiver for one invariant on `stream`: refused (ErrorCode::usage)
  // without a reason, without an expiry in (0, 30 days], for an id not in the
  // contract or one declared "waivable": false.
  // `now` is when the waiver starts (default: the contract's clock); its end
  // is capped at 30 days from the system clock, whatever `now` says.
  Result<Waiver> waive(const std::string& stream, const WaiverRequest& request,
                       std::optional<Time> now = {}) const;
  // Several at once: all are validated before any is recorded.
  Result<std::vector<Waiver>> waive(const std::string& stream, const std::vector<WaiverRequest>& requests,
                                    std::optional<Time> now = {}) const;

  // Creates `stream` (and the state location), recorded as created for this
  // contract; an Error (ErrorCode::usage) when it exists, and
  // (ErrorCode::conflict, nothing written) when another writer created it
  // while this init ran. The stream, its journal record and the seed are
  // committed as one unit. With a seed: nullopt never; the decision is
  // accept (the seed is the LKG, journaled as "init"/"seed") or reject
  // (nothing was created). Without: nullopt.
  Result<std::optional<Decision>> init(const std::string& stream, const InitOptions& options) const;

  // Replays the stream's stored accepted artifacts (oldest first) through this
  // gate's contract; a row whose report rejects would flip.
  Result<std::vector<BacktestRow>> backtest(const std::string& stream) const;

  const Contract& contract() const { return contract_; }

 private:
  Contract contract_;
  StateStore store_;
  GateOptions options_;
};

// A guarded loader for consumers: holds the artifact in service and never
// leaves the consumer without one once it had one. update() checks a new
// candidate: accepted, it is the one to use; otherwise the one in service is
// kept (pin) and the decision says why. Never throws.
class Guard {
 public:
  struct Update {
    std::shared_ptr<const std::string> artifact;  // use this now (null only before any was accepted)
    Decision decision;
  };

  // The LKG lives in memory only (a restarted consumer starts empty).
  explicit Guard(Contract contract, GateOptions options = {});
  // The LKG is `stream` in `store`, shared with gates and kept across
  // restarts: the Guard starts with the stored LKG.
  // With stages, it serves `stage` ("" : the last); an update() it accepts
  // enters the first stage, and is served only by a guard of that stage.
  // With `options.trusted_keys` it serves only an LKG whose attestation
  // verifies (verify_lkg(), expiry at `now`, nullopt: the system clock):
  // a stored LKG that does not is an Error (ErrorCode::signature).
  static Result<Guard> persistent(Contract contract, StateStore store, const std::string& stream,
                                  GateOptions options = {}, const std::string& stage = {},
                                  std::optional<Time> now = {});

  // Thread-safe; updates are serialised. `check` runs the consumer's own
  // parse step on an accepted candidate; failing it pins.
  Update update(std::string_view bytes, const ConsumerCheck& check = {}, std::optional<Time> now = {});
  std::shared_ptr<const std::string> current() const;

  // An in-memory Guard's first artifact, judged by the stateless invariants
  // only (as `invar init --seed`): what a contract whose delta-family
  // invariants say require_baseline needs, or it rejects every update. The
  // decision is accept (now served, the baseline of later updates) or reject
  // (nothing changed). An Error (ErrorCode::usage) when the guard serves an
  // artifact already or is persistent (seed its stream with Gate::init).
  Result<Decision> seed(std::string_view bytes, std::optional<Time> now = {});

  // Fed by a store watch (a persistent Guard): one look at the stream's LKG
  // (Follower::poll). When gates promoted a newer one than the guard serves
  // and it passes `check`, the guard serves it and returns its record;
  // nullopt when there is nothing newer (always, for an in-memory Guard).
  // An Error when the store cannot be read or `check` refuses the new LKG
  // (ErrorCode::usage, with the reason): the guard keeps serving what it
  // had, and a later refresh() tries again. Call it from a timer or loop.
  // With GateOptions::trusted_keys, the new LKG's attestation is verified
  // first (verify_lkg(): min_sequence the highest served, expiry at `now`,
  // nullopt: the system clock); refused, an Error (ErrorCode::signature)
  // naming the check, and the guard keeps serving what it had.
  Result<std::optional<LkgRecord>> refresh(const ConsumerCheck& check = {}, std::optional<Time> now = {});

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// A Guard whose consumer parses the bytes into a T: a parse failure is a pin,
// not a crash. `parse` returns the value or an Error saying why not.
template <class T>
class TypedGuard {
 public:
  using Parse = std::function<Result<T>(std::string_view bytes)>;
  struct Update {
    std::shared_ptr<const T> value;  // use this now (null only before any was accepted)
    Decision decision;
  };

  // Parses the guard's current artifact, if any (a stored LKG the parse step
  // refuses leaves the TypedGuard empty until an update is accepted).
  TypedGuard(Guard guard, Parse parse) : guard_(std::move(guard)), parse_(std::move(parse)) {
    if (auto bytes = guard_.current()) {
      auto parsed = parse_(*bytes);
      if (parsed) value_ = std::make_shared<const T>(std::move(parsed.value()));
    }
  }

  Update update(std::string_view bytes, std::optional<Time> now = {}) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::shared_ptr<const T> parsed;
    auto check = parse_into(parsed);
    auto u = guard_.update(bytes, check, now);
    if (u.decision.action == Action::accept && parsed) value_ = parsed;
    return {value_, std::move(u.decision)};
  }

  std::shared_ptr<const T> current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return value_;
  }

  // Guard::refresh (a persistent guard: its attestation verified first,
  // with trusted keys), then the parse step: a new LKG it refuses is an
  // Error and the value in service is kept.
  Result<std::optional<LkgRecord>> refresh(std::optional<Time> now = {}) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::shared_ptr<const T> parsed;
    auto check = parse_into(parsed);
    auto r = guard_.refresh(check, now);
    if (r && r.value() && parsed) value_ = parsed;
    return r;
  }

  // Guard::seed, after the parse step: bytes it refuses are an Error.
  Result<Decision> seed(std::string_view bytes, std::optional<Time> now = {}) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto parsed = parse_(bytes);
    if (!parsed) return Error{ErrorCode::usage, "the seed does not parse: " + parsed.error().to_string(), {}};
    auto d = guard_.seed(bytes, now);
    if (d && d->action == Action::accept) value_ = std::make_shared<const T>(std::move(parsed.value()));
    return d;
  }

 private:
  // The Guard's check step: parses a candidate into `parsed`, or says why not.
  ConsumerCheck parse_into(std::shared_ptr<const T>& parsed) const {
    return [this, &parsed](std::string_view candidate) -> std::optional<std::string> {
      auto r = parse_(candidate);
      if (!r) return r.error().to_string();
      parsed = std::make_shared<const T>(std::move(r.value()));
      return std::nullopt;
    };
  }

  Guard guard_;
  Parse parse_;
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

// Rendering of the stateful commands' results (human text, and JSON following
// schemas/decision.schema.json for decisions).
std::string render_decision_human(const Decision& decision, const RenderOptions& options = {});
std::string render_decision_json(const Decision& decision, const std::string& stream);
std::string render_status_human(const StreamStatus& status, int64_t now_ms);
// One line: "STREAM: healthy ..." or what needs a person (`status -q`).
std::string render_status_line(const StreamStatus& status, int64_t now_ms);
// Whether a stream needs a person: it serves its LKG instead of new
// artifacts (pinned), or its rollout stopped (halted, or a freeze in force
// at `now_ms`). `invar status` exits 2 then.
bool needs_attention(const StreamStatus& status, int64_t now_ms);
// `now_ms`: whether a freeze is in force (status reads at that clock).
std::string render_status_json(const std::vector<StreamStatus>& statuses, const std::vector<Error>& errors,
                               int64_t now_ms);
// A rollout command's report, or the stages as they are (`invar rollout`,
// veto, resume, freeze, thaw; schemas/rollout-report.schema.json). Times
// are shown as how long ago / how long until `now_ms`.
std::string render_rollout_human(const RolloutReport& report, int64_t now_ms);
std::string render_rollout_json(const RolloutReport& report, int64_t now_ms);
// History lines mark the decisions whose candidate is in `quarantine`;
// quiet: one line per record, without the decisions' messages.
std::string render_history_human(const std::vector<JournalRecord>& records, size_t limit,
                                 const std::vector<Quarantined>& quarantine = {}, bool quiet = false);
std::string render_history_json(const std::string& stream, const std::vector<JournalRecord>& records, size_t limit,
                                const std::vector<Quarantined>& quarantine = {});
// The on-call page (`invar status --html`, `invar history --html`; docs/gate.md):
// one self-contained HTML document (inline CSS, plots as inline SVG; no
// script, nothing fetched) with, per stream, a banner (healthy, pinned,
// halted, frozen, flapping), the LKG, each stage's, the waivers in force, the
// quarantine with each candidate's messages, plots of the journal's
// decisions (bytes, counts, delta ratios, a numeric generation; the last
// kHtmlMaxPoints, thresholds as dashed lines, rejects red) and the last
// `listed` decisions with their messages. Times in UTC.
struct StreamPage {
  StreamStatus status;
  std::vector<JournalRecord> journal;  // oldest first, as StateStore::history reads it
};
inline constexpr size_t kHtmlMaxPoints = 500;
std::string render_html(const std::vector<StreamPage>& streams, const std::string& title, int64_t now_ms,
                        size_t listed = 50);

// Prometheus text exposition format (for node_exporter's textfile
// collector): per stream, decisions by verdict, the LKG's age, pinned
// seconds, flapping; from a decision also its measured values and how long
// judging took. docs/gate.md lists the metrics.
std::string render_metrics(const std::vector<StreamStatus>& statuses, int64_t now_ms);
// The same for the stream a gate just decided on, at the decision's clock.
std::string render_metrics(const Decision& decision, const std::string& stream, int64_t now_ms);
// Whether the metrics `fresh` are older than `existing` (a text
// render_metrics wrote): for a stream of `fresh`, `existing` counts more
// decisions of a verdict, or a higher LKG sequence. A writer never replaces
// newer metrics with older ones (a gate paused between its decision and its
// metrics): Prometheus would read a counter reset.
bool metrics_older(std::string_view fresh, std::string_view existing);

// Replaces the file at `path` with `bytes` atomically (a temporary file
// beside it, fsynced, renamed over it): a reader sees the old file or the
// new one, whole. For metrics files; an Error when it cannot.
std::optional<Error> write_file_atomically(const std::string& path, std::string_view bytes);
std::string render_backtest_human(const std::vector<BacktestRow>& rows, const std::string& contract);
std::string render_backtest_json(const std::vector<BacktestRow>& rows, const std::string& stream);
std::string render_waiver(const Waiver& waiver, const std::string& stream, bool json);
// `invar waivers`: each waiver with its scope, actor, expiry and state at
// `now_ms` ("active", "used", "expired", "pending": starts later).
std::string render_waivers(const std::vector<Waiver>& waivers, const std::string& stream, int64_t now_ms, bool json);
// The error object of `--format json` ({"version": 1, "verdict": "error", ...}).
std::string render_error_json(const Error& error);

}  // namespace invar

#pragma GCC visibility pop
