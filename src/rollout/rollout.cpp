#include "rollout/rollout.hpp"

#include <algorithm>
#include <chrono>

#include "common/fault.hpp"
#include "common/text.hpp"
#include "gate/attest.hpp"
#include "gate/gate.hpp"
#include "rollout/policy.hpp"
#include "rollout/state.hpp"
#include "store/records.hpp"

namespace invar::rollout {

namespace {

Error usage(std::string message) { return Error{ErrorCode::usage, std::move(message), {}}; }

std::string short_digest(const std::string& digest) { return digest.substr(0, 19); }

StageHolding holding_of(const LkgRecord& lkg) {
  return {lkg.digest, lkg.bytes, lkg.generation, lkg.sequence, lkg.sequence, lkg.accepted_at_ms, lkg.attestation};
}

// A command's view of the stream under its exclusive lock, and what it
// writes: the rollout record (always), the LKG (a revert of the first
// stage), one journal record (event "": none, a step that only observed
// health), and evidence after the commit.
struct Work {
  std::unique_ptr<store::Lock> lock;
  store::Fence fence;
  Now read;
  RolloutState state;
  std::optional<RolloutPolicy> policy;
  std::optional<LkgRecord> lkg;
  int64_t now = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  JournalRecord rec;
  bool write = false;
  std::optional<LkgRecord> revert_to;  // the first stage's (the stream's LKG) new record
  std::string revert_bytes;
  invariants::Measures revert_measures;
  std::vector<std::pair<Quarantined, std::string>> evidence;  // quarantined after the commit, with the bytes
  RolloutReport report;
  GateOptions signing;  // the command's signing key (if any): a revert signs, and verifies what it returns to
};

using Apply = std::function<store::Status(store::Store&, Work&)>;

uint64_t next_serial(Work& w) {
  w.state.serial = std::max(w.state.serial, w.lkg ? w.lkg->sequence : uint64_t{0}) + 1;
  return w.state.serial;
}

// The first stage mirrors the stream's LKG (the record that decides);
// its health starts again when the LKG changed.
void mirror_first_stage(Work& w) {
  if (w.state.stages.empty()) return;
  StageState& first = w.state.stages.front();
  std::optional<StageHolding> now = w.lkg ? std::optional<StageHolding>(holding_of(*w.lkg)) : std::nullopt;
  bool same = first.lkg && now && first.lkg->digest == now->digest && first.lkg->sequence == now->sequence;
  if (same || (!first.lkg && !now)) return;
  if (!now || !first.lkg || first.lkg->digest != now->digest) first.health.clear();
  first.lkg = now;
}

GateOptions signing_options(const CommandOptions& options) {
  GateOptions signing;
  signing.signing_key = options.signing_key;
  signing.trusted_keys = options.trusted_keys;
  signing.attestation_window_ms = options.attestation_window_ms;
  return signing;
}

// What a holding's attestation names: "" while it is an LKG record as
// accepted (holding_of: the gate's envelope), else the stage it was
// promoted or reverted into (a stage's serial is always past its
// accepted_sequence).
std::string attested_stage(const StageHolding& h, const std::string& stage) {
  return h.sequence == h.accepted_sequence ? std::string() : stage;
}

// Verify before sign (docs/signing.md): what a signing command puts in
// service in a stage must carry a valid envelope by a trusted key for its
// bytes, the stream, where it is and its sequence; else a writer of the
// store without the key would get bytes no gate signed signed. The
// statement (its contract is the promotion's), or the failed check.
Result<VerifiedStatement> verify_holding(store::Store& store, const Work& w, const StageHolding& h,
                                         const std::string& stage, std::string& bytes) {
  auto read = store.artifact(w.state.stream, h.digest, h.bytes);
  if (!read) return read.error();
  bytes = std::move(read.value());
  return gate::verify_decision(w.signing, w.state.stream, attested_stage(h, stage), h.digest, h.sequence, h.attestation,
                               bytes, w.now);
}

// Signs `h` into `stage` by `verdict` ("promote", "revert"), judged under
// the contract its verified envelope names.
store::Status sign_holding(Work& w, StageHolding& h, const std::string& stage, const char* verdict,
                           const VerifiedStatement& from, std::string_view bytes) {
  LkgRecord record{w.state.stream, h.sequence, h.digest, h.bytes, h.generation, h.since_ms,
                   from.statement.contract, from.statement.contract_digest};
  auto envelope = gate::attest(w.signing, record, bytes, stage, verdict, w.now);
  if (!envelope) return envelope.error();
  h.attestation = std::move(envelope.value());
  return std::nullopt;
}

store::Status read_work(store::Store& store, const std::string& stream, const CommandOptions& options, Work& w) {
  auto lock = store.lock(stream, !options.dry_run);
  if (!lock) return lock.error();
  w.lock = std::move(lock.value());
  auto fence = store.fence(stream);
  if (!fence) return fence.error();
  w.fence = *fence;
  auto read = read_now(store, stream);
  if (!read) return read.error();
  w.read = std::move(read.value());
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  w.lkg = lkg.value();
  w.now = options.now_ms;
  w.signing = signing_options(options);
  if (options.signing_key && w.lkg) {  // a command that signs trusts no LKG a trusted key did not sign
    auto bytes = store.artifact(stream, w.lkg->digest, w.lkg->bytes);
    if (!bytes) return bytes.error();
    if (auto e = gate::check_attestation(signing_options(options), *w.lkg, *bytes, w.now)) return e;
  }
  w.state = w.read.state.value_or(RolloutState{stream, "", "", 0, {}, std::nullopt, {}, std::nullopt});
  if (!w.state.policy_source.empty()) {
    auto policy = policy_from_source(w.state.policy_source);
    if (!policy) return policy.error();
    if (policy->stages.size() != w.state.stages.size())
      return store::state_error(stream + "/rollout", "the rollout record's stages do not match its rollout; invar "
                                                     "will not use it");
    w.policy = std::move(policy.value());
  }
  mirror_first_stage(w);
  w.rec = gate::journal_record("", stream, w.now);
  return std::nullopt;
}

// The report's view of the state (each command then says what it did).
void describe(Work& w) {
  RolloutReport& r = w.report;
  r.stream = w.state.stream;
  r.policy = w.policy ? w.policy->name : "";
  r.halted = w.state.halted;
  r.frozen = w.state.frozen;
  r.location_frozen = w.read.location;
  r.vetoed = w.state.vetoed;
  Now after = w.read;
  after.state = w.state;
  r.stopped = stopped(after, w.now);
  std::vector<StageReport> stages;
  for (size_t i = 0; i < w.state.stages.size(); ++i) {
    const StageState& s = w.state.stages[i];
    StageReport sr;
    sr.name = s.name;
    sr.lkg = s.lkg;
    sr.health = s.health;
    sr.state = s.lkg ? "settled" : "empty";
    if (i < r.stages.size() && r.stages[i].name == s.name && !r.stages[i].state.empty()) {
      sr.state = r.stages[i].state;
      sr.detail = r.stages[i].detail;
      sr.next_ms = r.stages[i].next_ms;
    }
    stages.push_back(std::move(sr));
  }
  r.stages = std::move(stages);
}

// Writes what `w` decided: fenced on everything it read.
Result<bool> commit(store::Store& store, const std::string& stream, const CommandOptions& options, Work& w) {
  store::RolloutFence fence = w.read.fence;
  fence.record = store::encode_rollout(w.state);
  if (std::string control = store::encode_control(w.state); control != w.read.control) fence.control = control;
  const LkgRecord* lkg_after = w.revert_to ? &*w.revert_to : (w.lkg ? &*w.lkg : nullptr);
  w.rec.lkg_after = lkg_after ? lkg_after->digest : "";
  w.rec.lkg_sequence = lkg_after ? lkg_after->sequence : 0;
  std::optional<store::Promotion> promotion;
  if (w.revert_to && options.signing_key) {  // the LKG a revert returns to is put in service: signed
    auto envelope = gate::attest(signing_options(options), *w.revert_to, w.revert_bytes, "", "revert", w.now);
    if (!envelope) return envelope.error();
    w.revert_to->attestation = std::move(*envelope);
  }
  if (w.revert_to) promotion = store::Promotion{w.revert_bytes, &w.revert_measures, *w.revert_to, 10};
  if (!w.rec.event.empty())
    if (auto e = store.reserve(stream, w.rec)) return *e;
  fault::point("rollout:judged");
  bool committed = false;
  auto written = store.decide(stream, w.fence, w.rec, promotion ? &*promotion : nullptr, committed, nullptr, nullptr,
                              &fence);
  if (written && written->code == ErrorCode::conflict && !committed) return false;
  if (written && !committed) return *written;
  if (written)
    w.report.warnings.push_back("the change is committed but its journal record could not be written (" +
                                written->to_string() + ")");
  return true;
}

// Evidence and collection after a commit: failures are warnings.
void after_commit(store::Store& store, const std::string& stream, const CommandOptions& options, Work& w) {
  for (const auto& [entry, bytes] : w.evidence)
    if (options.quarantine > 0)
      if (auto e = store.quarantine(stream, bytes, entry, options.quarantine))
        w.report.warnings.push_back("the reverted artifact could not be quarantined (" + e->to_string() + ")");
  if (w.revert_to)
    if (auto pruned = store.prune(stream); !pruned)
      w.report.warnings.push_back("old stored artifacts could not be pruned (" + pruned.error().to_string() + ")");
}

Result<RolloutReport> run(store::Store& store, const std::string& stream, const CommandOptions& options,
                          const Apply& apply) {
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  if (auto e = gate::require_stream(store, stream)) return *e;
  for (uint32_t attempt = 1;; ++attempt) {
    Work w;
    if (auto e = read_work(store, stream, options, w)) return *e;
    if (auto e = apply(store, w)) return *e;
    describe(w);
    if (!w.write || options.dry_run) return std::move(w.report);
    auto written = commit(store, stream, options, w);
    if (!written) return written.error();
    if (*written) {
      after_commit(store, stream, options, w);
      return std::move(w.report);
    }
    if (attempt < kMaxAttempts) {
      w.lock.reset();
      gate::back_off(attempt);
      continue;
    }
    return Error{ErrorCode::conflict, "stream " + text::quoted(stream) + " changed under each of " +
                                            std::to_string(attempt) + " attempts (gates or other rollouts are "
                                            "deciding on it); nothing was changed", {}};
  }
}

// ---- reverts ----------------------------------------------------------

bool is_vetoed(const RolloutState& s, const std::string& digest) {
  return std::find(s.vetoed.begin(), s.vetoed.end(), digest) != s.vetoed.end();
}

// The first stage (the stream's LKG) back to the newest retained artifact
// that is neither `bad` nor vetoed: a new LKG record (the next sequence).
store::Status revert_first_stage(store::Store& store, Work& w, const std::string& bad) {
  auto list = store.accepted(w.state.stream);
  if (!list) return list.error();
  auto retained = store::committed(*list, w.lkg);
  std::sort(retained.begin(), retained.end(), [](const auto& a, const auto& b) { return a.sequence > b.sequence; });
  for (const auto& a : retained) {
    if (a.digest == bad || is_vetoed(w.state, a.digest)) continue;
    auto bytes = store.artifact(w.state.stream, a.digest, store::kMaxStoredArtifact);
    if (!bytes) return bytes.error();
    if (w.signing.signing_key) {  // signed for service again: only what a trusted key signed then
      LkgRecord then{w.state.stream, a.sequence, a.digest, bytes->size(), a.generation, a.accepted_at_ms, "", ""};
      then.attestation = a.attestation;
      if (auto e = gate::check_attestation(w.signing, then, *bytes, w.now)) {
        w.report.warnings.push_back("not reverting to " + short_digest(a.digest) + ": " + e->message);
        continue;
      }
    }
    auto measures = store.measures(w.state.stream, a.digest);
    if (!measures) return measures.error();
    w.revert_measures = measures.value().value_or(invariants::Measures{});
    w.revert_bytes = std::move(bytes.value());
    w.revert_to = LkgRecord{w.state.stream, w.lkg->sequence + 1, a.digest, w.revert_bytes.size(), a.generation,
                            w.now, w.lkg->contract, w.lkg->contract_digest};
    if (!w.state.stages.empty()) {
      w.state.stages.front().lkg = holding_of(*w.revert_to);
      w.state.stages.front().health.clear();
    }
    return std::nullopt;
  }
  return usage("cannot revert: the stream's LKG " + short_digest(bad) + " has no older accepted artifact to return "
               "to" + std::string(w.signing.signing_key ? " whose attestation verifies" : "") +
               " (gate a fixed artifact instead); nothing was changed");
}

// A later stage back to the newest of its previous holdings that is
// neither `bad` nor vetoed (empty when none is left). Signing, only to one
// whose envelope verifies (the others are skipped with a warning), signed
// "revert" for the stage.
store::Status revert_stage(store::Store& store, Work& w, StageState& s, const std::string& bad) {
  s.health.clear();
  while (!s.previous.empty()) {
    StageHolding h = s.previous.back();
    s.previous.pop_back();
    if (h.digest == bad || is_vetoed(w.state, h.digest)) continue;
    std::optional<VerifiedStatement> verified;
    std::string bytes;
    if (w.signing.signing_key) {
      auto v = verify_holding(store, w, h, s.name, bytes);
      if (!v) {  // unreadable bytes too: a revert goes on to an older one rather than stop
        w.report.warnings.push_back("not reverting stage " + text::quoted(s.name) + " to " + short_digest(h.digest) +
                                    ": its holding has no valid attestation (" + v.error().message + ")");
        continue;
      }
      verified = std::move(v.value());
    }
    h.sequence = next_serial(w);
    h.since_ms = w.now;
    h.attestation.clear();
    if (verified)
      if (auto e = sign_holding(w, h, s.name, "revert", *verified, bytes)) return e;
    s.lkg = std::move(h);
    return std::nullopt;
  }
  s.lkg.reset();
  return std::nullopt;
}

// Takes `bad` back from every stage holding it, vetoes it and halts the
// stream; `stage` and `check` name the failed check ("" for a veto).
// `bad` by value: callers pass a stage's own digest, which the revert replaces.
store::Status revert(store::Store& store, Work& w, const std::string bad, const std::string& reason,
                     const std::string& stage, const std::string& check, const std::string& by) {
  std::vector<std::string> moved;
  if (w.lkg && w.lkg->digest == bad) {
    if (auto e = revert_first_stage(store, w, bad)) return e;
    moved.push_back((w.state.stages.empty() ? std::string("the stream") : w.state.stages.front().name) + " -> " +
                    short_digest(w.revert_to->digest));
  }
  for (size_t i = 1; i < w.state.stages.size(); ++i) {
    StageState& s = w.state.stages[i];
    if (!s.lkg || s.lkg->digest != bad) continue;
    if (auto e = revert_stage(store, w, s, bad)) return e;
    moved.push_back(s.name + " -> " + (s.lkg ? short_digest(s.lkg->digest) : std::string("(empty)")));
  }
  if (!is_vetoed(w.state, bad)) w.state.vetoed.push_back(bad);
  if (w.state.vetoed.size() > kMaxVetoed) w.state.vetoed.erase(w.state.vetoed.begin());
  if (!w.state.halted) w.state.halted = Halt{bad, reason, by, stage, w.now};
  auto bytes = store.artifact(w.state.stream, bad, store::kMaxStoredArtifact);
  if (bytes)
    w.evidence.push_back({Quarantined{bad, bytes->size(), w.now, "revert", {check.empty() ? "veto" : check}, reason},
                          std::move(bytes.value())});
  w.rec.event = "revert";
  w.rec.candidate = bad;
  w.rec.stage = stage;
  std::string where;
  for (const auto& m : moved) where += (where.empty() ? "" : ", ") + m;
  w.rec.detail = reason + "; reverted: " + (where.empty() ? "no stage held it" : where) + "; the stream is halted";
  w.report.actions.push_back("reverted " + short_digest(bad) + " (" + (where.empty() ? "no stage held it" : where) +
                             "): " + reason);
  w.write = true;
  return std::nullopt;
}

// ---- a step -----------------------------------------------------------

void record_health(CheckState& s, const HealthCheck& check, const HealthResult& r, const std::string& digest,
                   int64_t now) {
  if (s.id != check.id || s.digest != digest) s = CheckState{check.id, digest, "", std::nullopt, "", 0, 0, 0};
  s.state = std::string(to_string(r.state));
  s.value = r.value;
  s.detail = r.detail;
  s.at_ms = now;
  if (r.state == HealthResult::State::healthy) {
    if (!s.healthy_since_ms) s.healthy_since_ms = now;
    s.unknown_since_ms = 0;
  } else if (r.state == HealthResult::State::unknown) {
    s.healthy_since_ms = 0;
    if (!s.unknown_since_ms) s.unknown_since_ms = now;
  } else {
    s.healthy_since_ms = s.unknown_since_ms = 0;
  }
}

// Whether two evaluations of a check are on the same course: same artifact,
// state, and since when.
bool same_course(const CheckState& a, const CheckState& b) {
  return a.id == b.id && a.digest == b.digest && a.state == b.state && a.healthy_since_ms == b.healthy_since_ms &&
         a.unknown_since_ms == b.unknown_since_ms;
}

// Evaluates the stage's checks for what it holds (all of them, within what
// is left of the step's timeout: past it, a check is unknown).
void evaluate_stage(Work& w, size_t i, const CommandOptions& options) {
  const RolloutStage& def = w.policy->stages[i];
  StageState& s = w.state.stages[i];
  std::vector<CheckState> after(def.health.size());
  for (size_t k = 0; k < def.health.size(); ++k) {
    const HealthCheck& check = def.health[k];
    for (const auto& old : s.health)
      if (old.id == check.id) after[k] = old;
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - w.started);
    int64_t left = w.policy->step_timeout_ms - spent.count();
    HealthResult r;
    if (left <= 0) {
      r = HealthResult{check.id, HealthResult::State::unknown, std::nullopt,
                       "not evaluated: the step's health timeout (" + text::format_duration(w.policy->step_timeout_ms) +
                           ") was used up"};
    } else {
      HealthContext context{w.state.stream, s.name, s.lkg->digest, left};
      r = options.evaluate ? options.evaluate(check, context) : evaluate_health(check, context);
    }
    record_health(after[k], check, r, s.lkg->digest, w.now);
  }
  // Kept when a check changed state (a check's "for" and the unknown limit
  // count from it): a write on every step would fence out the gates.
  for (size_t k = 0; k < after.size(); ++k)
    if (k >= s.health.size() || !same_course(s.health[k], after[k])) w.write = true;
  s.health = std::move(after);
}

enum class Verdict { wait, promote, revert };

struct StageVerdict {
  Verdict verdict = Verdict::wait;
  std::string reason, check;
};

// Whether what stage `i` holds reverts (a check unhealthy, or unknown past
// the limit), waits (its bake time, a check's "for", a check unknown), or
// may move on; the stage's report says which.
StageVerdict judge_stage(Work& w, size_t i) {
  const RolloutStage& def = w.policy->stages[i];
  const StageState& s = w.state.stages[i];
  StageReport& rep = w.report.stages[i];
  std::vector<std::string> waits;
  int64_t next = s.lkg->since_ms + def.bake_ms;
  if (w.now < next) waits.push_back("bake " + text::format_duration(next - w.now) + " left");
  else next = 0;
  for (size_t k = 0; k < def.health.size(); ++k) {
    const CheckState& c = s.health[k];
    const std::string where = "health check " + text::quoted(c.id) + " in stage " + text::quoted(s.name);
    if (c.state == "unhealthy") return {Verdict::revert, where + " failed: " + c.detail, c.id};
    if (c.state == "unknown") {
      int64_t unknown_for = w.now - c.unknown_since_ms;
      if (unknown_for >= w.policy->unknown_limit_ms)
        return {Verdict::revert,
                where + " could not be evaluated for " + text::format_duration(unknown_for) + " (the limit is " +
                    text::format_duration(w.policy->unknown_limit_ms) + "): " + c.detail,
                c.id};
      waits.push_back(c.id + " unknown since " + text::format_rfc3339(c.unknown_since_ms) + " (" + c.detail +
                      "; reverts at " + text::format_rfc3339(c.unknown_since_ms + w.policy->unknown_limit_ms) + ")");
      rep.state = "holding";
      continue;
    }
    int64_t healthy_until = c.healthy_since_ms + def.health[k].for_ms;
    if (w.now < healthy_until) {
      waits.push_back(c.id + " healthy for " + text::format_duration(w.now - c.healthy_since_ms) + " of " +
                      text::format_duration(def.health[k].for_ms));
      next = std::max(next, healthy_until);
    }
  }
  if (waits.empty()) return {Verdict::promote, "", ""};
  if (rep.state.empty()) rep.state = "baking";
  for (const auto& why : waits) rep.detail += (rep.detail.empty() ? "" : "; ") + why;
  rep.next_ms = next;
  return {Verdict::wait, "", ""};
}

// Moves what stage `i` holds on to the next. Signing, it verifies it first
// (the first stage's: the LKG record, which decides) and signs "promote";
// a holding that does not verify is not promoted: ErrorCode::state.
store::Status promote(store::Store& store, Work& w, size_t i) {
  StageState& to = w.state.stages[i + 1];
  StageHolding from = *w.state.stages[i].lkg;
  if (i == 0 && w.lkg) from.attestation = w.lkg->attestation;  // it mirrors the LKG record, whose envelope is current
  std::optional<VerifiedStatement> verified;
  std::string bytes;
  if (w.signing.signing_key) {
    auto v = verify_holding(store, w, from, w.state.stages[i].name, bytes);
    if (!v && v.error().code != ErrorCode::signature) return v.error();
    if (!v)
      return store::state_error(w.state.stream + "/rollout",
                                "not promoting " + short_digest(from.digest) + " from stage " +
                                    text::quoted(w.state.stages[i].name) + " to " + text::quoted(to.name) +
                                    ": what the stage holds has no valid attestation: forged or corrupted state (" +
                                    v.error().message + "); nothing was changed");
    verified = std::move(v.value());
  }
  if (to.lkg) {
    to.previous.push_back(*to.lkg);
    if (to.previous.size() > kMaxStageHistory) to.previous.erase(to.previous.begin());
  }
  StageHolding h = from;
  h.sequence = next_serial(w);
  h.since_ms = w.now;
  h.attestation.clear();
  if (verified)
    if (auto e = sign_holding(w, h, to.name, "promote", *verified, bytes)) return e;
  to.lkg = h;
  to.health.clear();
  std::string line = short_digest(h.digest) + " from " + w.state.stages[i].name + " to " + to.name;
  if (w.rec.event.empty()) {
    w.rec.event = "promote";
    w.rec.candidate = h.digest;
    w.rec.stage = to.name;
    w.rec.detail = "promoted " + line;
  } else {
    w.rec.detail += "; promoted " + line;
  }
  w.report.actions.push_back("promoted " + line);
  w.report.stages[i].state = "promoted";
  w.write = true;
  return std::nullopt;
}

// Whether what stage `i` holds is in flight: not yet in the next stage
// (and newer than what it holds), or baking in the last stage.
bool in_flight(const Work& w, size_t i) {
  const StageState& s = w.state.stages[i];
  if (!s.lkg) return false;
  if (i + 1 == w.state.stages.size()) return w.now < s.lkg->since_ms + w.policy->stages[i].bake_ms;
  const auto& next = w.state.stages[i + 1].lkg;
  return !next || (next->digest != s.lkg->digest && s.lkg->accepted_sequence > next->accepted_sequence);
}

// A step runs the stored rollout's commands only when its caller allows it.
store::Status check_exec_allowed(const Work& w, const CommandOptions& options) {
  if (options.allow_exec || options.evaluate) return std::nullopt;
  for (const auto& stage : w.policy->stages)
    for (const auto& check : stage.health)
      if (check.kind == HealthCheck::Kind::exec)
        return usage("the rollout of stream " + text::quoted(w.state.stream) + " has an exec health check (" +
                     text::quoted(check.id) + " in stage " + text::quoted(stage.name) + "): its command comes from "
                     "the state store, so it runs only with --allow-exec (whoever can write the state chooses it)");
  return std::nullopt;
}

store::Status apply_step(store::Store& store, Work& w, const CommandOptions& options) {
  if (!w.policy) return usage("stream " + text::quoted(w.state.stream) + " has no stages: give it a rollout with "
                              "`invar init --rollout FILE` or `invar rollout --set FILE`");
  if (auto e = check_exec_allowed(w, options)) return e;
  w.report.stages.assign(w.state.stages.size(), StageReport{});
  for (size_t i = 0; i < w.state.stages.size(); ++i) w.report.stages[i].name = w.state.stages[i].name;
  if (w.lkg && is_vetoed(w.state, w.lkg->digest))  // a revert cut short (the directory writes in steps)
    return revert(store, w, w.lkg->digest, "finishing the revert of " + short_digest(w.lkg->digest), "", "veto",
                  options.by);
  Now now = w.read;
  now.state = w.state;
  if (!stopped(now, w.now).empty()) return std::nullopt;  // held: the report says why
  for (size_t i = w.state.stages.size(); i-- > 0;) {
    if (!in_flight(w, i)) continue;
    evaluate_stage(w, i, options);
    StageVerdict v = judge_stage(w, i);
    if (v.verdict == Verdict::revert) {
      w.report.stages[i].state = "reverted";
      return revert(store, w, w.state.stages[i].lkg->digest, v.reason, w.state.stages[i].name, v.check, options.by);
    }
    if (v.verdict == Verdict::promote && i + 1 < w.state.stages.size())
      if (auto e = promote(store, w, i)) return e;
    if (v.verdict == Verdict::promote && i + 1 == w.state.stages.size()) w.report.stages[i].state = "settled";
  }
  return std::nullopt;
}

// ---- vetoes, resumes, freezes, changes --------------------------------

// `given` as a full digest, or a unique prefix (8+ hex digits, "sha256:"
// optional) of an artifact the stream holds or retains.
Result<std::string> resolve_digest(store::Store& store, const Work& w, const std::string& given) {
  std::string hex = given.rfind("sha256:", 0) == 0 ? given.substr(7) : given;
  if (hex.size() < 8 || hex.size() > 64 ||
      !std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
    return usage("the artifact to veto must be a digest (sha256:HEX, or at least 8 of its lowercase hex digits), not " +
                 text::quoted(given));
  std::vector<std::string> known;
  if (w.lkg) known.push_back(w.lkg->digest);
  for (const auto& d : store::rollout_digests(w.state)) known.push_back(d);
  auto list = store.accepted(w.state.stream);
  if (!list) return list.error();
  for (const auto& a : *list) known.push_back(a.digest);
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  std::vector<std::string> match;
  for (const auto& d : known)
    if (d.compare(7, hex.size(), hex) == 0) match.push_back(d);
  if (match.size() == 1) return match.front();
  if (match.empty() && hex.size() == 64) return "sha256:" + hex;  // never accepted: vetoed ahead of any gate
  return usage(match.empty() ? "no artifact of stream " + text::quoted(w.state.stream) + " matches " + given
                             : given + " matches several artifacts; give more digits");
}

// A freeze or thaw of every stream, journaled in each (after the freeze
// record is written: it is what decides; a journal that cannot be written
// is a warning).
void journal_everywhere(store::Store& store, const char* event, const std::string& detail, int64_t now,
                        RolloutReport& report) {
  auto streams = store.streams();
  if (!streams) {
    report.warnings.push_back("the " + std::string(event) + " was not journaled: " + streams.error().to_string());
    return;
  }
  for (const auto& stream : *streams) {
    auto lock = store.lock(stream, true);
    std::optional<std::optional<LkgRecord>> lkg;
    if (lock)
      if (auto l = store.lkg(stream)) lkg = l.value();
    JournalRecord rec = gate::journal_record(event, stream, now);
    rec.detail = detail;
    if (lkg && *lkg) {
      rec.lkg_after = (*lkg)->digest;
      rec.lkg_sequence = (*lkg)->sequence;
    }
    store::Status e = !lock ? store::Status(lock.error()) : !lkg ? store::Status(Error{ErrorCode::state, "its LKG cannot be read", {}})
                                                                 : store.reserve(stream, rec);
    if (!e) e = store.append(stream, rec);
    if (e) report.warnings.push_back("the " + std::string(event) + " was not journaled in stream " + stream + ": " +
                                     e->to_string());
  }
}

store::Status require_reason(const CommandOptions& options, const char* what) {
  if (options.reason.empty() || options.reason.size() > 1024)
    return usage(std::string(what) + " needs a reason (--reason, 1-1024 characters): it is journaled");
  return std::nullopt;
}

}  // namespace

Result<RolloutReport> step(store::Store& store, const std::string& stream, const CommandOptions& options) {
  return run(store, stream, options, [&](store::Store& s, Work& w) { return apply_step(s, w, options); });
}

Result<RolloutReport> veto(store::Store& store, const std::string& stream, const std::string& digest,
                           const CommandOptions& options) {
  if (auto e = require_reason(options, "a veto")) return *e;
  return run(store, stream, options, [&](store::Store& s, Work& w) -> store::Status {
    auto bad = resolve_digest(s, w, digest);
    if (!bad) return bad.error();
    w.state.halted.reset();  // a veto's own halt says why, even over an older one
    store::Status e = revert(s, w, *bad, "vetoed by " + options.by + ": " + options.reason, "", "", options.by);
    if (!e) w.rec.event = "veto";
    return e;
  });
}

Result<RolloutReport> resume(store::Store& store, const std::string& stream, const CommandOptions& options) {
  if (auto e = require_reason(options, "a resume")) return *e;
  return run(store, stream, options, [&](store::Store&, Work& w) -> store::Status {
    if (!w.state.halted) return usage("stream " + text::quoted(stream) + " is not halted; nothing to resume");
    w.rec.event = "resume";
    w.rec.candidate = w.state.halted->digest;
    w.rec.detail = "resumed by " + options.by + ": " + options.reason + " (halted since " +
                   text::format_rfc3339(w.state.halted->at_ms) + ": " + w.state.halted->reason + ")";
    w.report.actions.push_back(w.rec.detail);
    w.state.halted.reset();
    w.write = true;
    return std::nullopt;
  });
}

Result<RolloutReport> freeze(store::Store& store, const std::string& stream, int64_t expires_ms,
                             const CommandOptions& options) {
  if (auto e = require_reason(options, "a freeze")) return *e;
  if (expires_ms && expires_ms <= options.now_ms) return usage("the freeze's expiry is not in the future");
  Freeze f{options.reason, options.by, options.now_ms, expires_ms};
  if (stream.empty()) {
    for (uint32_t attempt = 1; attempt <= kMaxAttempts; ++attempt) {
      auto current = store.freeze_record();
      if (!current) return current.error();
      auto set = store.set_freeze_record(store::encode_freeze(f), current->version);
      if (set) {
        RolloutReport r;
        r.location_frozen = f;
        r.actions.push_back("froze every stream: " + options.reason);
        journal_everywhere(store, "freeze", "every stream frozen by " + options.by +
                           (expires_ms ? " until " + text::format_rfc3339(expires_ms) : "") + ": " + options.reason,
                           options.now_ms, r);
        return r;
      }
      if (set.error().code != ErrorCode::conflict) return set.error();
    }
    return Error{ErrorCode::conflict, "the freeze kept changing under this command; nothing was written", {}};
  }
  return run(store, stream, options, [&](store::Store&, Work& w) -> store::Status {
    w.state.frozen = f;
    w.rec.event = "freeze";
    w.rec.detail = "frozen by " + options.by + (expires_ms ? " until " + text::format_rfc3339(expires_ms) : "") +
                   ": " + options.reason;
    w.report.actions.push_back(w.rec.detail);
    w.write = true;
    return std::nullopt;
  });
}

Result<RolloutReport> thaw(store::Store& store, const std::string& stream, const CommandOptions& options) {
  if (auto e = require_reason(options, "a thaw")) return *e;
  if (stream.empty()) {
    auto current = store.freeze_record();
    if (!current) return current.error();
    if (current->text.empty()) return usage("no freeze of every stream is in force; nothing to thaw");
    auto set = store.set_freeze_record("", current->version);
    if (!set) return set.error();
    RolloutReport r;
    r.actions.push_back("thawed every stream: " + options.reason);
    journal_everywhere(store, "thaw", "every stream thawed by " + options.by + ": " + options.reason, options.now_ms, r);
    return r;
  }
  return run(store, stream, options, [&](store::Store&, Work& w) -> store::Status {
    if (!w.state.frozen) return usage("stream " + text::quoted(stream) + " is not frozen; nothing to thaw");
    w.state.frozen.reset();
    w.rec.event = "thaw";
    w.rec.detail = "thawed by " + options.by + ": " + options.reason;
    w.report.actions.push_back(w.rec.detail);
    w.write = true;
    return std::nullopt;
  });
}

namespace {

// The stages of `policy`, keeping what the stages of the same name hold.
std::vector<StageState> restage(Work& w, const RolloutPolicy& policy) {
  std::vector<StageState> out(policy.stages.size());
  auto old_stage = [&](const std::string& name) -> const StageState* {
    for (const auto& s : w.state.stages)
      if (s.name == name) return &s;
    return nullptr;
  };
  for (size_t k = 0; k < out.size(); ++k) {
    out[k].name = policy.stages[k].name;
    if (const StageState* old = old_stage(out[k].name)) out[k] = *old;
  }
  for (size_t k = 1; k < out.size(); ++k) {
    if (old_stage(out[k].name)) continue;
    const StageState* from = nullptr;  // the nearest stage after it, else before it, that holds something
    for (size_t m = k + 1; m < out.size() && !from; ++m)
      if (const StageState* o = old_stage(out[m].name); o && o->lkg) from = o;
    for (size_t m = k; m-- > 0 && !from;)
      if (out[m].lkg) from = &out[m];
    if (from && from->lkg) out[k].lkg = from->lkg;
    else if (w.lkg) out[k].lkg = holding_of(*w.lkg);  // a stream getting its first stages: they hold its LKG
    if (out[k].lkg) {  // a new sequence: no envelope signs it (docs/signing.md: not signed)
      out[k].lkg->sequence = next_serial(w);
      out[k].lkg->since_ms = w.now;
      out[k].lkg->attestation.clear();
    }
  }
  return out;
}

std::string stage_names(const std::vector<StageState>& stages) {
  std::string out;
  for (const auto& s : stages) out += (out.empty() ? "" : " -> ") + s.name;
  return out.empty() ? "(none)" : out;
}

}  // namespace

Result<RolloutReport> set_policy(store::Store& store, const std::string& stream, const RolloutPolicy& policy,
                                 const CommandOptions& options) {
  if (auto e = require_reason(options, "a change of stages")) return *e;
  return run(store, stream, options, [&](store::Store&, Work& w) -> store::Status {
    if (w.state.policy_digest == policy.digest) return std::nullopt;  // the same stages: nothing to change
    std::string before = stage_names(w.state.stages);
    w.state.stages = restage(w, policy);
    w.state.policy_source = policy.source;
    w.state.policy_digest = policy.digest;
    w.policy = policy;
    mirror_first_stage(w);
    w.rec.event = "rollout";
    w.rec.detail = "stages set to " + stage_names(w.state.stages) + " (rollout " + policy.name + ", " +
                   short_digest(policy.digest) + "; were " + before + ") by " + options.by + ": " + options.reason;
    w.report.actions.push_back(w.rec.detail);
    w.write = true;
    return std::nullopt;
  });
}

std::string initial_record(const std::string& stream, const RolloutPolicy& policy, const LkgRecord* seed) {
  RolloutState state{stream, policy.source, policy.digest, seed ? seed->sequence : 0, {}, std::nullopt, {},
                     std::nullopt};
  for (const auto& s : policy.stages) {
    StageState st;
    st.name = s.name;
    if (seed) st.lkg = holding_of(*seed);
    state.stages.push_back(std::move(st));
  }
  return store::encode_rollout(state);
}

Result<RolloutReport> report(store::Store& store, const std::string& stream, int64_t now_ms) {
  CommandOptions options;
  options.now_ms = now_ms;
  options.dry_run = true;
  return run(store, stream, options, [](store::Store&, Work& w) -> store::Status {
    if (!w.policy) return std::nullopt;
    w.report.stages.assign(w.state.stages.size(), StageReport{});
    for (size_t i = 0; i < w.state.stages.size(); ++i) {
      w.report.stages[i].name = w.state.stages[i].name;
      if (!in_flight(w, i)) continue;
      StageReport& rep = w.report.stages[i];
      if (w.state.stages[i].health.size() != w.policy->stages[i].health.size()) {
        rep.state = "baking";
        continue;
      }
      // In flight is never "settled": what the next step will do is said.
      StageVerdict v = judge_stage(w, i);
      if (v.verdict == Verdict::promote) {
        rep.state = "baking";
        rep.detail = "baked and healthy as last evaluated: the next step evaluates it again and moves it on";
      } else if (v.verdict == Verdict::revert) {
        rep.state = "holding";
        rep.detail = "the next step reverts it unless its checks recover: " + v.reason;
      }
    }
    return std::nullopt;
  });
}

Result<std::optional<StageHolding>> stage_holding(store::Store& store, const std::string& stream,
                                                  const std::string& stage) {
  auto now = read_now(store, stream);
  if (!now) return now.error();
  size_t index = 0;
  if (now->state && !now->state->stages.empty()) {
    auto found = stage_index(*now->state, stage);
    if (!found) return found.error();
    index = *found;
  } else if (!stage.empty()) {
    return usage("stream " + text::quoted(stream) + " has no stages (no rollout): follow it without --stage");
  }
  std::optional<StageHolding> held;
  if (index == 0) {
    auto lkg = store.lkg(stream);
    if (!lkg) return lkg.error();
    if (lkg.value()) held = holding_of(*lkg.value());
  } else {
    held = now->state->stages[index].lkg;
  }
  if (held && vetoed(*now, held->digest))
    return store::state_error(stream, "what the stage holds (" + short_digest(held->digest) + ") was vetoed and its "
                                      "revert did not finish: it is not served; run `invar rollout` to finish it");
  return held;
}

}  // namespace invar::rollout
