// The public stateful API (include/invar/gate.hpp) over src/gate and src/store.
#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "common/digest.hpp"
#include "common/text.hpp"
#include "engine/evaluate.hpp"
#include "gate/gate.hpp"
#include "rollout/rollout.hpp"
#include "rollout/state.hpp"
#include "invar/gate.hpp"

namespace invar {

namespace {

// A reader's shared lock on an existing stream: a usage Error for a bad
// name or a stream nobody created.
Result<std::unique_ptr<store::Lock>> read_lock(store::Store& store, const std::string& stream) {
  if (!store::valid_stream_name(stream))
    return Error{ErrorCode::usage, "stream name \"" + stream + "\" is not valid", {}};
  if (auto e = gate::require_stream(store, stream)) return *e;
  return store.lock(stream, false);
}

}  // namespace

Result<StateStore> StateStore::open_directory(const std::string& dir, const StoreOptions& options) {
  auto s = store::open_fs_store(dir, options);
  if (!s) return s.error();
  return StateStore(std::shared_ptr<store::Store>(std::move(s.value())));
}

Result<StateStore> StateStore::open(const std::string& location, const StoreOptions& options) {
  if (location.rfind("etcd://", 0) == 0) {
    auto s = store::open_etcd_store(location, options);
    if (!s) return s.error();
    return StateStore(std::shared_ptr<store::Store>(std::move(s.value())));
  }
  if (location.find("://") != std::string::npos)
    return Error{ErrorCode::usage,
                 "state location \"" + location + "\": the only URL scheme is etcd:// (a plain path is a directory)", {}};
  return open_directory(location, options);
}

Result<std::vector<std::string>> StateStore::streams() const {
  auto location = impl_->has_location();
  if (!location) return location.error();
  if (!*location)
    return Error{ErrorCode::usage, "there is no invar state at this location (create one with `invar init`)", {}};
  return impl_->streams();
}

Result<StreamStatus> StateStore::status(const std::string& stream, int64_t now_ms, const GateOptions& options,
                                        size_t recent) const {
  auto status = gate::status(*impl_, stream, now_ms, options, recent);
  if (!status) return status;
  auto r = rollout::report(*impl_, stream, now_ms);
  if (!r) return r.error();  // a rollout record that fails its checks is corruption, as any state file
  bool frozen = (r->frozen && r->frozen->active(now_ms)) || (r->location_frozen && r->location_frozen->active(now_ms));
  if (!r->stages.empty() || r->halted || frozen || !r->vetoed.empty()) status->rollout = std::move(r.value());
  return status;
}

Result<std::vector<std::string>> StateStore::repair(const std::string& stream) {
  return gate::repair(*impl_, stream, Time::now().ms());
}

Result<std::vector<JournalRecord>> StateStore::history(const std::string& stream) const {
  auto lock = read_lock(*impl_, stream);
  if (!lock) return lock.error();
  auto journal = impl_->journal(stream);
  if (!journal) return journal.error();
  return std::move(journal->records);
}

Result<std::optional<LkgRecord>> StateStore::lkg(const std::string& stream) const {
  auto lock = read_lock(*impl_, stream);
  if (!lock) return lock.error();
  return impl_->lkg(stream);
}

Result<std::optional<std::string>> StateStore::lkg_artifact(const std::string& stream) const {
  auto lock = read_lock(*impl_, stream);
  if (!lock) return lock.error();
  auto lkg = impl_->lkg(stream);
  if (!lkg) return lkg.error();
  if (!lkg.value()) return std::optional<std::string>();
  auto bytes = impl_->artifact(stream, lkg.value()->digest, lkg.value()->bytes);
  if (!bytes) return bytes.error();
  return std::optional<std::string>(std::move(bytes.value()));
}

Result<std::vector<RetainedArtifact>> StateStore::retained(const std::string& stream) const {
  auto lock = read_lock(*impl_, stream);
  if (!lock) return lock.error();
  auto lkg = impl_->lkg(stream);
  if (!lkg) return lkg.error();
  auto accepted = impl_->accepted(stream);
  if (!accepted) return accepted.error();
  std::vector<RetainedArtifact> out;
  for (const auto& entry : store::committed(accepted.value(), lkg.value())) {
    auto bytes = impl_->artifact(stream, entry.digest, store::kMaxStoredArtifact);
    if (!bytes) return bytes.error();
    out.push_back({entry, std::move(bytes.value())});
  }
  return out;
}

Result<std::vector<Quarantined>> StateStore::quarantine(const std::string& stream) const {
  auto lock = read_lock(*impl_, stream);
  if (!lock) return lock.error();
  return impl_->quarantined(stream);
}

Result<std::vector<Waiver>> StateStore::waivers(const std::string& stream) const {
  auto lock = read_lock(*impl_, stream);
  if (!lock) return lock.error();
  return impl_->waivers(stream);
}

Result<Waiver> StateStore::revoke_waiver(const std::string& stream, const std::string& id, const std::string& by,
                                         const std::string& reason, int64_t now_ms) const {
  return gate::revoke_waiver(*impl_, stream, id, by, reason, now_ms);
}

Result<Waiver> StateStore::approve_waiver(const std::string& stream, const std::string& id, const std::string& by,
                                          const std::string& reason, int64_t now_ms) const {
  return gate::approve_waiver(*impl_, stream, id, by, reason, now_ms);
}

Result<std::string> StateStore::artifact(const std::string& stream, const std::string& digest) const {
  std::string hex = digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
  bool is_hex = hex.size() >= 8 && hex.size() <= 64 &&
                hex.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!is_hex)
    return Error{ErrorCode::usage,
                 "\"" + digest + "\" is not a digest: give sha256:HEX or at least 8 of its lowercase hex digits", {}};
  auto lock = read_lock(*impl_, stream);
  if (!lock) return lock.error();
  auto lkg = impl_->lkg(stream);
  if (!lkg) return lkg.error();
  auto accepted = impl_->accepted(stream);
  if (!accepted) return accepted.error();
  auto quarantined = impl_->quarantined(stream);
  if (!quarantined) return quarantined.error();
  // Every digest the stream keeps, and where its bytes are.
  std::map<std::string, bool> kept;  // digest -> quarantined
  for (const auto& a : store::committed(accepted.value(), lkg.value())) kept[a.digest] = false;
  if (lkg.value()) kept[lkg.value()->digest] = false;
  for (const auto& q : quarantined.value()) kept.emplace(q.digest, true);
  std::vector<std::pair<std::string, bool>> matches;
  for (const auto& [d, q] : kept)
    if (d.compare(7, hex.size(), hex) == 0) matches.emplace_back(d, q);
  if (matches.empty())
    return Error{ErrorCode::usage,
                 "stream \"" + stream + "\" keeps no artifact " + digest +
                     " (it keeps its LKG, its retained accepted artifacts and its quarantine: see `invar status` "
                     "and `invar history`)",
                 {}};
  if (matches.size() > 1)
    return Error{ErrorCode::usage,
                 "\"" + digest + "\" matches " + std::to_string(matches.size()) + " artifacts; give more digits", {}};
  const auto& [full, in_quarantine] = matches.front();
  return in_quarantine ? impl_->quarantined_artifact(stream, full, store::kMaxStoredArtifact)
                       : impl_->artifact(stream, full, store::kMaxStoredArtifact);
}

Gate::Gate(Contract contract, StateStore store, GateOptions options)
    : contract_(std::move(contract)), store_(std::move(store)), options_(options) {}

Result<Decision> Gate::submit(const std::string& stream, std::string_view bytes, const SubmitOptions& options) const {
  return gate::submit(contract_, *store_.impl_, stream, bytes, options_, options);
}

Result<Decision> Gate::submit_file(const std::string& stream, const std::string& path,
                                   const SubmitOptions& options) const {
  return gate::submit_file(contract_, *store_.impl_, stream, path, options_, options);
}

Result<Waiver> Gate::waive(const std::string& stream, const WaiverRequest& request, std::optional<Time> now) const {
  auto w = gate::waive(contract_, *store_.impl_, stream, {request}, now);
  if (!w) return w.error();
  return w->front();
}

Result<std::vector<Waiver>> Gate::waive(const std::string& stream, const std::vector<WaiverRequest>& requests,
                                        std::optional<Time> now) const {
  return gate::waive(contract_, *store_.impl_, stream, requests, now);
}

Result<std::optional<Decision>> Gate::init(const std::string& stream, const InitOptions& options) const {
  return gate::init(contract_, *store_.impl_, stream, options, options_);
}

Result<std::vector<BacktestRow>> Gate::backtest(const std::string& stream) const {
  return gate::backtest(contract_, *store_.impl_, stream);
}

// ---------------------------------------------------------------------------
// Guard

struct Guard::State {
  std::optional<Gate> gate;  // over the stream's store: in memory, or shared
  GateOptions options;       // the gate's (seed() builds another over a fresh store)
  std::string stream;
  mutable std::mutex mutex;
  std::shared_ptr<const std::string> current;
  std::optional<Follower> follower;  // a persistent guard's: the LKG sequence served
  bool serves_first_stage = true;    // what it accepts is what it serves (no stages, or the first one)
};

namespace {

// With trusted keys, a persistent guard serves only an LKG whose
// attestation verifies (docs/signing.md); `served` is the highest sequence served.
store::Status verify_followed(const GateOptions& options, const Follower::Change& change, uint64_t served,
                              std::optional<Time> now) {
  if (!options.trusted_keys) return std::nullopt;
  auto verified = verify_lkg(change.lkg, *change.artifact, *options.trusted_keys, change.stage, served, now);
  if (verified) return std::nullopt;
  Error e = verified.error();
  e.code = ErrorCode::signature;
  e.message = "refused sequence " + std::to_string(change.lkg.sequence) + " " + change.lkg.digest + ": " + e.message;
  return e;
}

constexpr size_t kGuardJournal = 64;  // decisions an in-memory guard remembers (flap detection, pinned-since)
constexpr const char* kGuardStream = "guard";

}  // namespace

Guard::Guard(Contract contract, GateOptions options) : state_(std::make_shared<State>()) {
  // The gate's own decisions, over a store in memory: the LKG is the last
  // accepted candidate, and only it is kept.
  options.create_streams = true;
  options.keep = 1;
  options.quarantine = 0;
  StateStore store(std::shared_ptr<store::Store>(store::open_mem_store(kGuardJournal)));
  state_->gate.emplace(std::move(contract), std::move(store), options);
  state_->options = options;
  state_->stream = kGuardStream;
}

Result<Decision> Guard::seed(std::string_view bytes, std::optional<Time> now) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.follower)
    return Error{ErrorCode::usage,
                 "a persistent guard serves its stream's LKG: seed the stream with `invar init --seed` (Gate::init)", {}};
  if (s.current)
    return Error{ErrorCode::usage, "the guard serves an artifact already: a seed is only its first one", {}};
  try {
    // A fresh store in memory, as `invar init` creates a stream: the guard's
    // earlier decisions (rejects, without an LKG) are forgotten.
    Gate fresh(s.gate->contract(), StateStore(std::shared_ptr<store::Store>(store::open_mem_store(kGuardJournal))),
               s.options);
    InitOptions init;
    init.seed = bytes;
    init.reason = "Guard::seed";
    init.by = "guard";
    init.now = now;
    auto d = fresh.init(s.stream, init);
    if (!d) return d.error();
    Decision decision = std::move(*d.value());  // a seed's init always decides
    if (decision.action == Action::accept) {
      s.gate.emplace(std::move(fresh));
      s.current = decision.artifact;
    }
    return decision;
  } catch (const std::exception& e) {  // such as std::bad_alloc: nothing changed
    return Error{ErrorCode::io, std::string("the guard failed while judging its seed: ") + e.what(), {}};
  }
}

Result<Guard> Guard::persistent(Contract contract, StateStore store, const std::string& stream, GateOptions options,
                                const std::string& stage, std::optional<Time> now) {
  Follower follower(store, stream, 0, stage);
  auto first = follower.poll();  // the stored LKG, verified
  if (!first) return first.error();
  if (first.value())
    if (auto e = verify_followed(options, *first.value(), 0, now)) return *e;
  auto rollout = rollout::read_now(*store.impl_, stream);
  if (!rollout) return rollout.error();
  const auto& stages = rollout->state ? rollout->state->stages : std::vector<StageState>{};
  bool first_stage = stages.empty() || (stage.empty() ? stages.size() == 1 : stage == stages.front().name);
  Guard guard(contract, options);
  guard.state_->gate.reset();
  guard.state_->gate.emplace(std::move(contract), std::move(store), options);
  guard.state_->options = options;
  guard.state_->stream = stream;
  guard.state_->serves_first_stage = first_stage;
  if (first.value()) {
    guard.state_->current = first.value()->artifact;
    follower.served(first.value()->lkg.sequence);
  }
  guard.state_->follower.emplace(std::move(follower));
  return guard;
}

Result<std::optional<LkgRecord>> Guard::refresh(const ConsumerCheck& check, std::optional<Time> now) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.follower) return std::optional<LkgRecord>();
  try {
    auto change = s.follower->poll();
    if (!change) return change.error();
    if (!change.value()) return std::optional<LkgRecord>();
    Follower::Change& c = *change.value();
    if (auto e = verify_followed(s.options, c, s.follower->sequence(), now)) {
      e->message += "; the guard keeps serving what it had";  // the next refresh() looks again
      return *e;
    }
    if (check)
      if (auto why = check(*c.artifact)) {  // not served: the next refresh() looks at it again
        return Error{ErrorCode::usage, "the consumer cannot use LKG sequence " + std::to_string(c.lkg.sequence) + " (" +
                                           c.lkg.digest + "): " + *why + "; the guard keeps serving what it had", {}};
      }
    s.current = c.artifact;
    s.follower->served(c.lkg.sequence);
    return std::optional<LkgRecord>(c.lkg);
  } catch (const std::exception& e) {
    return Error{ErrorCode::io, std::string("the guard failed while following its stream: ") + e.what(), {}};
  }
}

Guard::Update Guard::update(std::string_view bytes, const ConsumerCheck& check, std::optional<Time> now) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  Update out;
  try {
    SubmitOptions options;
    options.now = now;
    options.consumer_check = check;
    auto d = s.gate->submit(s.stream, bytes, options);
    if (!d) {
      // Cannot judge (e.g. the store is unreadable): keep serving what we have.
      out.decision.action = s.current ? Action::pin : Action::reject;
      out.decision.report.verdict = Verdict::reject;
      out.decision.warnings.push_back("the gate could not judge: " + d.error().to_string());
      out.decision.artifact = s.current;
    } else {
      out.decision = std::move(d.value());
      if (out.decision.action == Action::accept && !s.serves_first_stage) {
        out.decision.warnings.push_back("accepted into the stream's first stage; this guard serves a later one, which "
                                        "receives it when the rollout promotes it");
      } else if (out.decision.action == Action::accept) {
        s.current = out.decision.artifact;
        if (s.follower && out.decision.lkg_after) s.follower->served(out.decision.lkg_after->sequence);
      }
    }
  } catch (const std::exception& e) {  // such as std::bad_alloc: the consumer keeps its artifact
    out.decision = Decision();
    out.decision.action = s.current ? Action::pin : Action::reject;
    out.decision.warnings.push_back(std::string("the guard failed while judging: ") + e.what());
    out.decision.artifact = s.current;
  }
  out.artifact = s.current;
  return out;
}

Follower::Follower(StateStore store, std::string stream, uint64_t sequence, std::string stage)
    : store_(std::move(store)), stream_(std::move(stream)), sequence_(sequence), stage_(std::move(stage)) {}

namespace {

// The name of the stage a follower of `stage` ("": the last) follows; "" without stages.
Result<std::string> followed_stage(store::Store& store, const std::string& stream, const std::string& stage) {
  auto now = rollout::read_now(store, stream);
  if (!now) return now.error();
  if (!stage.empty() || !now->state || now->state->stages.empty()) return stage;
  return now->state->stages.back().name;
}

// What a follower of `stage` serves, as an LKG record: the stream's own for
// the first stage (or without stages), else the stage's holding with its
// attestation. `*lkg_record` is set when that attestation names stage ""
// (the LKG record, or a holding that is an LKG record as accepted:
// StageHolding::attestation).
Result<std::optional<LkgRecord>> followed(store::Store& store, const std::string& stream, const std::string& stage,
                                          bool* lkg_record) {
  *lkg_record = false;
  auto held = rollout::stage_holding(store, stream, stage);
  if (!held) return held.error();
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  if (!held.value()) return std::optional<LkgRecord>();
  if (lkg.value() && lkg.value()->digest == held.value()->digest && lkg.value()->sequence == held.value()->sequence) {
    *lkg_record = true;
    return lkg;
  }
  const StageHolding& h = *held.value();
  LkgRecord record{stream, h.sequence, h.digest, h.bytes, h.generation, h.since_ms, "", ""};
  record.attestation = h.attestation;
  *lkg_record = h.sequence == h.accepted_sequence;
  return std::optional<LkgRecord>(std::move(record));
}

}  // namespace

Result<std::optional<Follower::Change>> Follower::poll() {
  auto lock = read_lock(*store_.impl_, stream_);  // the record and its bytes at one revision (etcd)
  read_failed_ = !lock;
  if (!lock) return lock.error();
  // wait() waits past it (the latest, not the highest: a restored etcd starts lower).
  if (lock.value() && lock.value()->revision()) revision_ = lock.value()->revision();
  bool lkg_record = false;
  auto lkg = followed(*store_.impl_, stream_, stage_, &lkg_record);
  if (!lkg) return lkg.error();
  if (lkg.value() && lkg.value()->sequence < sequence_)  // or gone: lkg() refuses a stream that had one
    return Error{ErrorCode::state,
                 "stream " + text::quoted(stream_) + ": the LKG in the store (sequence " +
                     std::to_string(lkg.value()->sequence) + ", " + lkg.value()->digest.substr(0, 19) +
                     ") is older than the one already served (sequence " + std::to_string(sequence_) +
                     "): the state was rolled back (a restore, or an old value written again); the newer one stays "
                     "in service",
                 {}};
  if (!lkg.value() || lkg.value()->sequence <= sequence_) return std::optional<Change>();
  auto bytes = store_.impl_->artifact(stream_, lkg.value()->digest, lkg.value()->bytes);  // verified against the digest
  if (!bytes) return bytes.error();
  // What the attestation must name: gates sign the stream's LKG record for
  // stage "" (the first stage serves it); rollouts sign a later stage's
  // holding for its stage.
  std::string attested;
  if (!lkg_record) {
    auto stage = followed_stage(*store_.impl_, stream_, stage_);
    if (!stage) return stage.error();
    attested = std::move(stage.value());
  }
  return std::optional<Change>(
      Change{*lkg.value(), std::make_shared<const std::string>(std::move(bytes.value())), std::move(attested)});
}

bool Follower::wait(int64_t timeout_ms, const std::function<bool()>& stop) {
  constexpr int64_t kTickMs = 100;          // how often a sleeping follower asks `stop`
  constexpr int64_t kReadRetryMs = 1000;    // after a read that failed, on a store that pushes: read again soon
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  auto deadline = started + std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0));
  store::Wake woke = store::Wake::unsupported;
  if (!read_failed_ && revision_) woke = store_.impl_->wait_for_change(stream_, revision_, deadline, stop);
  else if (read_failed_ && revision_) deadline = std::min(deadline, started + std::chrono::milliseconds(kReadRetryMs));
  if (woke != store::Wake::unsupported) return woke == store::Wake::change;
  while (Clock::now() < deadline && !(stop && stop())) {  // polling: sleep the timeout
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp<int64_t>(left, 1, kTickMs)));
  }
  return false;
}

std::shared_ptr<const std::string> Guard::current() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->current;
}

// ---------------------------------------------------------------------------
// Rollout

namespace {

rollout::CommandOptions command_options(const Rollout::Options& o) {
  rollout::CommandOptions c;
  c.now_ms = o.now.value_or(Time::now()).ms();
  c.by = o.by;
  c.reason = o.reason;
  c.quarantine = o.quarantine;
  c.evaluate = o.evaluate;
  c.allow_exec = o.allow_exec;
  c.dry_run = o.dry_run;
  c.signing_key = o.signing_key;
  c.trusted_keys = o.trusted_keys;
  c.attestation_window_ms = o.attestation_window_ms;
  return c;
}

store::Status require_actor(const Rollout::Options& o) {
  if (o.by.empty() || o.by.size() > 64) return Error{ErrorCode::usage, "who is acting is required (--by NAME)", {}};
  return std::nullopt;
}

}  // namespace

Result<RolloutReport> Rollout::step(const std::string& stream, const Options& options) const {
  Options o = options;
  if (o.by.empty()) o.by = "rollout";
  return rollout::step(*store_.impl_, stream, command_options(o));
}

Result<RolloutReport> Rollout::veto(const std::string& stream, const std::string& digest, const Options& options) const {
  if (auto e = require_actor(options)) return *e;
  return rollout::veto(*store_.impl_, stream, digest, command_options(options));
}

Result<RolloutReport> Rollout::resume(const std::string& stream, const Options& options) const {
  if (auto e = require_actor(options)) return *e;
  return rollout::resume(*store_.impl_, stream, command_options(options));
}

Result<RolloutReport> Rollout::freeze(const std::string& stream, int64_t expires_ms, const Options& options) const {
  if (auto e = require_actor(options)) return *e;
  return rollout::freeze(*store_.impl_, stream, expires_ms, command_options(options));
}

Result<RolloutReport> Rollout::thaw(const std::string& stream, const Options& options) const {
  if (auto e = require_actor(options)) return *e;
  return rollout::thaw(*store_.impl_, stream, command_options(options));
}

Result<RolloutReport> Rollout::set(const std::string& stream, const RolloutPolicy& policy, const Options& options) const {
  if (auto e = require_actor(options)) return *e;
  return rollout::set_policy(*store_.impl_, stream, policy, command_options(options));
}

Result<RolloutReport> Rollout::status(const std::string& stream, int64_t now_ms) const {
  return rollout::report(*store_.impl_, stream, now_ms);
}

}  // namespace invar
