#include "gate/gate.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <algorithm>
#include <cctype>
#include <functional>
#include <random>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "common/digest.hpp"
#include "common/fault.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "engine/evaluate.hpp"
#include "engine/observe.hpp"
#include "gate/attest.hpp"
#include "rollout/rollout.hpp"
#include "rollout/state.hpp"
#include "trial/trial.hpp"

namespace invar {

std::string_view to_string(Action a) {
  switch (a) {
    case Action::accept: return "accept";
    case Action::reject: return "reject";
    case Action::pin: return "pin";
    case Action::unchanged: return "unchanged";
  }
  return "?";
}

}  // namespace invar

namespace invar::gate {

namespace fs = std::filesystem;

namespace {

Error usage(const std::string& message) {
  Error e;
  e.code = ErrorCode::usage;
  e.message = message;
  return e;
}

// What is known of the candidate before the lock.
struct Prepared {
  Report report;
  invariants::Measures measures;
  artifact::DocumentHandle document;  // null when unreadable
  std::shared_ptr<const artifact::Origin> origin;  // NDJSON and YAML: how the document maps to the bytes
  std::vector<artifact::Ambiguity> ambiguous;      // YAML for a YAML 1.1 consumer
  uint64_t ambiguous_total = 0;
  std::vector<artifact::ReadProblem> unreadable_records;  // NDJSON lines read as null
  uint64_t size = 0;
  std::string digest, generation;
  // The text the document was parsed from: `bytes` itself, or NDJSON's array.
  std::string_view text(std::string_view bytes) const { return origin ? origin->json_text() : bytes; }
};

std::string generation_of(const Plan& plan, const invariants::Measures& measures) {
  for (const auto& inv : plan.invariants)
    if (inv.kind == invariants::Kind::monotonic) {
      auto it = measures.find(inv.id);
      return it == measures.end() ? "" : it->second.value_text;
    }
  return "";
}

bool has_generation(const Plan& plan) {
  return std::any_of(plan.invariants.begin(), plan.invariants.end(),
                     [](const auto& inv) { return inv.kind == invariants::Kind::monotonic; });
}

// A two-person waiver (Waiver::approvals 2) nobody has approved yet.
bool unapproved(const Waiver& w) { return w.approvals > 1 && w.approved_by.empty(); }

// Waivers in force at `now`: started, not yet expired, not used up, and
// approved when they need a second person.
std::vector<Waiver> active(const std::vector<Waiver>& waivers, int64_t now_ms) {
  std::vector<Waiver> out;
  for (const auto& w : waivers)
    if (w.created_ms <= now_ms && w.expires_ms > now_ms && w.used_by.empty() && !unapproved(w)) out.push_back(w);
  return out;
}

// Waivers that would be in force at `now` but for a second approver.
std::vector<Waiver> awaiting_approval(const std::vector<Waiver>& waivers, int64_t now_ms) {
  std::vector<Waiver> out;
  for (const auto& w : waivers)
    if (w.expires_ms > now_ms && w.used_by.empty() && unapproved(w)) out.push_back(w);
  return out;
}

bool scoped(const Waiver& w) { return !w.for_candidate.empty() || !w.for_generation.empty(); }

// Whether `w` may waive a failure of this candidate (its scope, if any, names it).
bool covers(const Waiver& w, const std::string& candidate, const std::string& generation) {
  if (!w.for_candidate.empty()) return w.for_candidate == candidate;
  if (!w.for_generation.empty()) return !generation.empty() && w.for_generation == generation;
  return true;
}

// A warning for each failed, waivable invariant that a waiver awaiting its
// second approver would have waived: the decision stands without it.
void warn_unapproved(const Plan& plan, const std::vector<Waiver>& waiting, const std::string& candidate,
                     const std::string& generation, const Report& report, std::vector<std::string>& warnings) {
  for (size_t i = 0; i < plan.invariants.size(); ++i) {
    const InvariantResult& r = report.invariants[i];
    if (r.outcome != Outcome::fail || !plan.invariants[i].waivable) continue;
    for (const auto& w : waiting)
      if (w.invariant == r.id && covers(w, candidate, generation))
        warnings.push_back("waiver " + w.id + " for " + r.id + " awaits a second approver (invar waive --approve " +
                           w.id + " --by NAME): it did not apply");
  }
}

// Marks failed invariants with an active waiver that covers the candidate
// as waived; returns the ids of the waivers that waived something.
std::vector<std::string> apply_waivers(const Plan& plan, const std::vector<Waiver>& waivers, const std::string& candidate,
                                       const std::string& generation, Report& report) {
  std::vector<std::string> used;
  for (size_t i = 0; i < plan.invariants.size(); ++i) {
    InvariantResult& r = report.invariants[i];
    if (r.outcome != Outcome::fail || !plan.invariants[i].waivable) continue;
    const Waiver* by = nullptr;  // a stream-wide waiver before a scoped one (which it would use up)
    for (const auto& w : waivers)
      if (w.invariant == r.id && covers(w, candidate, generation) && (!by || (scoped(*by) && !scoped(w)))) by = &w;
    if (!by) continue;
    r.outcome = Outcome::waived;
    std::string approved = by->approved_by.empty() ? "" : ", approved by " + by->approved_by;
    r.note = "waived by " + by->by + approved + " until " + text::format_rfc3339(by->expires_ms) + " (waiver " +
             by->id + (scoped(*by) ? ", for this candidate, once" : "") + "): " + by->reason;
    if (std::find(used.begin(), used.end(), by->id) == used.end()) used.push_back(by->id);
  }
  return used;
}

// What an accept that waivers let through writes with its decision: fenced
// on the list, and the scoped ones it used marked used (by `candidate`).
store::WaiverUse use_waivers(const store::WaiverList& list, const std::vector<std::string>& used,
                             const std::string& candidate, int64_t now_ms) {
  store::WaiverUse use{list.version, std::nullopt};
  std::vector<Waiver> after = list.waivers;
  bool changed = false;
  for (auto& w : after)
    if (scoped(w) && w.used_by.empty() && std::find(used.begin(), used.end(), w.id) != used.end()) {
      w.used_by = candidate;
      w.used_ms = now_ms;
      changed = true;
    }
  if (changed) use.after = std::move(after);
  return use;
}

bool valid_actor(const std::string& by) {
  if (by.empty() || by.size() > 64) return false;
  return std::all_of(by.begin(), by.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '@' || c == '+' || c == '-';
  });
}

int64_t system_ms() { return Time::now().ms(); }

Result<Waiver> validate_waiver(const Plan& plan, const WaiverRequest& request, int64_t now_ms) {
  std::string reason = request.reason;
  reason.erase(0, reason.find_first_not_of(" \t\r\n"));
  if (reason.empty()) return usage("a waiver needs a --reason saying why");
  if (request.duration_ms <= 0) return usage("a waiver needs --expires, a positive duration such as \"2h\"");
  if (request.duration_ms > kMaxWaiverMs) return usage("a waiver lasts at most 30d; renew it if it must stay");
  // The cap is on the real clock: a caller's clock (--now) cannot stretch it.
  if (now_ms > Time::kMaxMs - request.duration_ms || now_ms + request.duration_ms > system_ms() + kMaxWaiverMs)
    return usage("a waiver must end within 30d of the system clock (" + text::format_rfc3339(system_ms()) +
                 "); the clock given starts it at " + text::format_rfc3339(now_ms));
  if (request.by.empty())
    return usage("a waiver needs an identifiable actor: give --by NAME (none was found in the CI environment, "
                 "$USER, $LOGNAME or the login name)");
  if (!valid_actor(request.by))
    return usage("the waiver's actor " + text::quoted(request.by) +
                 " is not a name: 1-64 of A-Z a-z 0-9 . _ @ + - (who is waiving must be identifiable)");
  const invariants::Invariant* inv = nullptr;
  for (const auto& i : plan.invariants)
    if (i.id == request.invariant) inv = &i;
  if (!inv) {
    std::string ids;
    for (const auto& i : plan.invariants) ids += (ids.empty() ? "" : ", ") + i.id;
    return usage("no invariant " + text::quoted(request.invariant) + " in contract " + text::quoted(plan.name) +
                 " (ids: " + ids + ")");
  }
  if (!inv->waivable)
    return usage("invariant " + text::quoted(inv->id) + " is declared \"waivable\": false and cannot be waived");
  if (!request.for_candidate.empty() && !request.for_generation.empty())
    return usage("a waiver is for one candidate: give --for DIGEST or --for-generation N, not both");
  if (!request.for_generation.empty() && !has_generation(plan))
    return usage("contract " + text::quoted(plan.name) +
                 " has no monotonic invariant, so its candidates have no generation: scope the waiver with --for DIGEST");
  Waiver w{inv->id, request.reason, request.by, now_ms, now_ms + request.duration_ms};
  w.for_candidate = request.for_candidate;  // resolved to a full digest by resolve_scope()
  w.for_generation = request.for_generation;
  return w;
}

// The hex digits of a digest or prefix ("sha256:" optional, any case), or "" when it is not one.
std::string digest_hex(std::string text) {
  if (text.rfind("sha256:", 0) == 0) text.erase(0, 7);
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  if (text.empty() || text.size() > 64 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
    return "";
  return text;
}

// A waiver's --for: a full digest, or a prefix of at least 12 hex digits of
// exactly one candidate the stream keeps (the LKG, retained, quarantined)
// or of `extra` (the candidate being gated); the waiver then names it whole.
Result<std::string> resolve_candidate(store::Store& store, const std::string& stream, const std::string& given,
                                      const std::string& extra) {
  std::string hex = digest_hex(given);
  if (hex.size() < 12)
    return usage("--for " + text::quoted(given) + " is not a candidate's SHA-256: give its 64 hex digits, or at least 12");
  if (hex.size() == 64) return "sha256:" + hex;
  std::set<std::string> kept;
  if (!extra.empty()) kept.insert(extra);
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  if (lkg.value()) kept.insert(lkg.value()->digest);
  auto accepted = store.accepted(stream);
  if (!accepted) return accepted.error();
  for (const auto& a : accepted.value()) kept.insert(a.digest);
  auto quarantined = store.quarantined(stream);
  if (!quarantined) return quarantined.error();
  for (const auto& q : quarantined.value()) kept.insert(q.digest);
  std::vector<std::string> matches;
  for (const auto& d : kept)
    if (d.rfind("sha256:" + hex, 0) == 0) matches.push_back(d);
  if (matches.size() == 1) return matches.front();
  return usage(std::string(matches.empty() ? "no candidate the stream keeps (LKG, retained, quarantined) starts with "
                                           : "several candidates the stream keeps start with ") +
               hex + ": give the candidate's 64 hex digits");
}

// Completes `w`'s scope (a --for prefix resolved) and names it.
store::Status resolve_scope(store::Store& store, const std::string& stream, Waiver& w, const std::string& extra = "") {
  if (!w.for_candidate.empty()) {
    auto digest = resolve_candidate(store, stream, w.for_candidate, extra);
    if (!digest) return digest.error();
    w.for_candidate = *digest;
  }
  w.id = store::waiver_id(w);
  return std::nullopt;
}

// Rewrites the stream's waiver list with `change` (read, changed, written
// fenced on the version read: a racing writer makes it read again), then
// journals `rec`. Returns the list written.
Result<store::WaiverList> change_waivers(store::Store& store, const std::string& stream, const JournalRecord& rec,
                                         const std::function<Result<std::vector<Waiver>>(const std::vector<Waiver>&)>& change) {
  if (auto e = store.reserve(stream, rec)) return *e;
  for (uint32_t attempt = 1;; ++attempt) {
    auto list = store.waiver_list(stream);
    if (!list) return list.error();
    auto next = change(list->waivers);
    if (!next) return next.error();
    fault::point("gate:waivers-read");
    auto version = store.set_waivers(stream, *next, list->version);
    if (!version && version.error().code == ErrorCode::conflict && attempt < kMaxWaiverWrites) continue;
    if (!version) return version.error();
    if (auto e = store.append(stream, rec)) return *e;
    return store::WaiverList{std::move(*next), *version};
  }
}

Result<store::WaiverList> record_waiver(store::Store& store, const std::string& stream, const Waiver& waiver,
                                        int64_t now_ms) {
  JournalRecord rec = journal_record("waiver", stream, now_ms);
  rec.waiver = waiver;
  return change_waivers(store, stream, rec, [&](const std::vector<Waiver>& existing) -> Result<std::vector<Waiver>> {
    // Expired waivers are dropped (the journal keeps their history); the
    // same invariant with the same scope is renewed.
    std::vector<Waiver> list;
    for (const auto& w : existing)
      if (w.expires_ms > now_ms && !(w.invariant == waiver.invariant && w.for_candidate == waiver.for_candidate &&
                                     w.for_generation == waiver.for_generation))
        list.push_back(w);
    list.push_back(waiver);
    return list;
  });
}

// Runs `prepare` while a thread stages the candidate in the store (serially
// when no thread can be started); the first error, if any.
store::Status stage_beside(store::Store& store, const std::string& stream, std::string_view bytes,
                           const invariants::Measures& measures, const std::string& digest,
                           const std::function<std::optional<Error>()>& prepare) {
  store::Status staged;
  std::optional<std::thread> helper;
  try {
    helper.emplace([&] { staged = store.stage(stream, bytes, measures, digest); });
  } catch (const std::system_error&) {
    staged = store.stage(stream, bytes, measures, digest);
  }
  auto prepared = prepare();
  if (helper) helper->join();
  return prepared ? prepared : staged;
}

// The LKG's bytes from the store, verified, of the size its record says.
Result<std::string> lkg_artifact(store::Store& store, const std::string& stream, const LkgRecord& lkg) {
  auto b = store.artifact(stream, lkg.digest, lkg.bytes);
  if (!b) return b.error();
  if (b->size() != lkg.bytes)
    return store::state_error(stream, "the stored LKG has " + std::to_string(b->size()) + " bytes, its record says " +
                                          std::to_string(lkg.bytes));
  return b;
}

// The LKG as a baseline under `plan`: its stored measures when current,
// else measured again from its bytes; its bytes are read again only to name
// churn keys in a violation. `unreadable` (not a Result error: the gate
// still decides, fail-closed) says why the LKG cannot be read under `plan`.
struct LkgBaseline {
  std::optional<BaselineData> data;
  std::string unreadable;
};

Result<LkgBaseline> baseline_of(const Plan& plan, store::Store& store, const std::string& stream,
                                const LkgRecord& lkg) {
  LkgBaseline out;
  auto artifact = [&store, stream, lkg]() -> std::optional<std::string> {
    auto bytes = lkg_artifact(store, stream, lkg);
    return bytes ? std::optional<std::string>(std::move(*bytes)) : std::nullopt;
  };
  auto stored = store.measures(stream, lkg.digest);
  if (!stored) return stored.error();
  if (stored.value() && engine::measures_current(plan, *stored.value())) {
    out.data = BaselineData{std::move(*stored.value()), artifact};
    return out;
  }
  auto bytes = lkg_artifact(store, stream, lkg);
  if (!bytes) return bytes.error();
  auto read = engine::read(plan, *bytes);
  if (!read.document) {
    out.unreadable = read.unreadable->violations.front().message;
    return out;
  }
  out.data = BaselineData{engine::measure(plan, read.document->root, read.size, read.text(*bytes)), artifact};
  return out;
}

bool has_delta_family(const Plan& plan) {
  for (const auto& inv : plan.invariants)
    if (invariants::compares_with_baseline(inv.kind)) return true;
  return false;
}

// The violation that pins a candidate when the stream's LKG cannot be read
// under the contract: judging it as a stream without an LKG would let an
// older artifact through.
void add_unreadable_baseline(Report& report, const LkgRecord& lkg, const std::string& why) {
  Violation v;
  v.invariant = "baseline.unreadable";
  v.kind = "baseline";
  v.family = "artifact";
  v.message = "the stream's LKG " + lkg.digest.substr(0, 19) + " (sequence " + std::to_string(lkg.sequence) +
              ") cannot be read under this contract (" + why +
              "): the delta-family invariants have no baseline, so nothing new is accepted (fail closed)";
  v.expected = "an LKG this contract can read";
  v.actual = why;
  v.baseline = lkg.digest;
  report.violations.push_back(std::move(v));
}

// Whether the journal records the promotion of `lkg` (its accept or seed,
// at its acceptance time, or a repair naming it). Not "the last record names
// it": gates of a fleet read the journal after the LKG, and may find the
// record of a newer promotion there.
bool journaled(const std::vector<JournalRecord>& journal, const LkgRecord& lkg) {
  // The last record naming an LKG names this one (a long run of pins may
  // have pushed the accept out of the journal tail that was read).
  for (size_t i = journal.size(); i-- > 0;)
    if (journal[i].event != "waiver") {
      if (journal[i].lkg_after == lkg.digest) return true;
      break;
    }
  for (size_t i = journal.size(); i-- > 0;) {
    const auto& r = journal[i];
    if ((r.event == "repair" || r.event == "revert" || r.event == "veto") && r.lkg_after == lkg.digest) return true;
    if ((r.event == "decision" || r.event == "init") && r.candidate == lkg.digest && r.lkg_after == lkg.digest &&
        r.time_ms == lkg.accepted_at_ms)
      return true;
  }
  return false;
}

// The journal records written before a decision (repairs), and the
// contract switch written with it: each names the LKG they were judged on.
std::vector<JournalRecord*> journaled_now(std::vector<JournalRecord>& repairs,
                                          std::optional<store::ContractSwitch>& switched) {
  std::vector<JournalRecord*> out;
  for (auto& r : repairs) out.push_back(&r);
  if (switched) out.push_back(&switched->record);
  return out;
}

// Refuses an LKG older than the journal says it is: its record was rolled
// back (an etcd restore of that key, a replayed old value, an lkg.json put
// back from a backup). Judging against it would let through what the
// journal shows was superseded. (A restore of the journal with it is not
// seen here: followers keep the sequence they served, see Follower.)
store::Status check_not_rolled_back(const std::string& stream, const std::vector<JournalRecord>& journal,
                                    const std::optional<LkgRecord>& lkg) {
  const JournalRecord* newest = nullptr;
  for (const auto& r : journal)
    if (r.lkg_sequence > (newest ? newest->lkg_sequence : 0)) newest = &r;
  if (!newest || (lkg && lkg->sequence >= newest->lkg_sequence)) return std::nullopt;
  std::string have = lkg ? "(sequence " + std::to_string(lkg->sequence) + ", " + lkg->digest.substr(0, 19) + ")" : "";
  return store::state_error(
      stream, "the stream's LKG " + have + " is older than its journal says: a " + newest->event + " record of " +
                  text::format_rfc3339(newest->time_ms) + " records the LKG at sequence " +
                  std::to_string(newest->lkg_sequence) + " (" + newest->lkg_after.substr(0, 19) +
                  "). The LKG record was rolled back (a restore, or an old value written again), and invar will not "
                  "judge against it: put back the record of sequence " + std::to_string(newest->lkg_sequence) +
                  " (or re-create the stream); nothing was judged or published");
}

// Why an init whose stream did not exist when it began found it at its
// commit: another init, or a gate --create, made it meanwhile.
Error created_meanwhile(store::Store& store, const std::string& stream) {
  Error e;
  e.code = ErrorCode::conflict;
  e.message = "stream " + text::quoted(stream) + " was created while this init ran (by another `invar init` or an "
              "`invar gate --create`)";
  auto lkg = store.lkg(stream);
  if (lkg && lkg.value())
    e.message += ", and an LKG appeared: sequence " + std::to_string(lkg.value()->sequence) + " (" +
                 lkg.value()->digest.substr(0, 19) + ")";
  e.message += "; this init changed nothing";
  return e;
}

size_t action_index(std::string_view verdict) {
  for (Action a : {Action::accept, Action::reject, Action::pin, Action::unchanged})
    if (to_string(a) == verdict) return static_cast<size_t>(a);
  return 4;
}

}  // namespace

namespace {

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

void back_off(uint32_t attempt) {
  thread_local std::minstd_rand random(static_cast<uint32_t>(getpid()) ^
                                       static_cast<uint32_t>(std::hash<std::thread::id>()(std::this_thread::get_id())));
  std::uniform_int_distribution<int> ms(1, 5 * static_cast<int>(std::min<uint32_t>(attempt, 8)));
  std::this_thread::sleep_for(std::chrono::milliseconds(ms(random)));
}

JournalRecord journal_record(const char* event, const std::string& stream, int64_t now_ms) {
  JournalRecord rec;
  rec.event = event;
  rec.time_ms = now_ms;
  rec.stream = stream;
  rec.host = hostname();
  rec.pid = getpid();
  return rec;
}

std::array<uint64_t, 4> decision_totals(const std::vector<JournalRecord>& journal) {
  std::array<uint64_t, 4> totals{};
  // The last record that carries totals, plus the decisions after it
  // (recorded by an invar that kept none); from 0 when none carries them.
  for (size_t i = journal.size(); i-- > 0;) {
    const auto& r = journal[i];
    if (r.event != "decision") continue;
    if (r.totals.size() == 4) {
      for (size_t k = 0; k < 4; ++k) totals[k] += r.totals[k];
      break;
    }
    if (size_t k = action_index(r.verdict); k < 4) ++totals[k];
  }
  return totals;
}

store::Status require_stream(store::Store& store, const std::string& stream) {
  auto exists = store.has_stream(stream);
  if (!exists) return exists.error();
  if (*exists) return std::nullopt;
  auto location = store.has_location();
  if (!location) return location.error();
  return usage(std::string(*location ? "stream " + text::quoted(stream) + " does not exist in this state"
                                     : "there is no invar state at this location") +
               ": streams are created on purpose, with `invar init --state ... --stream " + stream +
               " --contract ...` (or `invar gate --create`); nothing was judged or published");
}

// The people a waiver of `stream` needs (StreamInfo::approvals; 1 for a
// stream record of an older invar).
Result<uint32_t> stream_approvals(store::Store& store, const std::string& stream) {
  auto info = store.stream_info(stream);
  if (!info) return info.error();
  return info.value() ? info.value()->approvals : 1u;
}

Flap detect_flap(const std::vector<JournalRecord>& journal, int64_t now_ms, const FlapOptions& options) {
  Flap flap;
  std::vector<const JournalRecord*> decisions;
  for (const auto& r : journal)
    if (r.event == "decision" && r.time_ms >= now_ms - options.window_ms) decisions.push_back(&r);
  // "unchanged" (the LKG's bytes again) counts as a good candidate: a retry
  // after an accept is no flip; the good file after a bad one is.
  auto good = [](const JournalRecord* d) { return d->verdict == "accept" || d->verdict == "unchanged"; };
  uint32_t flips = 0;
  for (size_t i = 1; i < decisions.size(); ++i)
    if (good(decisions[i]) != good(decisions[i - 1])) ++flips;
  flap.flapping = options.alternations > 0 && flips >= options.alternations;
  if (flap.flapping && options.clear_after > 0 && decisions.size() >= options.clear_after &&
      std::all_of(decisions.end() - options.clear_after, decisions.end(), good))
    flap.flapping = false;  // settled: the last clear_after decisions were all good
  if (flap.flapping)  // the last kFlapHistory of them: enough to see the pattern
    for (size_t i = decisions.size() > kFlapHistory ? decisions.size() - kFlapHistory : 0; i < decisions.size(); ++i)
      flap.history.push_back(decisions[i]->verdict + " " + text::format_rfc3339(decisions[i]->time_ms));
  return flap;
}

std::optional<int64_t> pinned_since(const std::vector<JournalRecord>& journal) {
  std::optional<int64_t> since;
  for (size_t i = journal.size(); i-- > 0;) {
    const auto& d = journal[i];
    if (d.event != "decision") continue;
    if (d.verdict == "accept" || d.verdict == "unchanged") break;  // serving a candidate that passed
    if (d.verdict == "pin") since = d.time_ms;
    else break;  // a reject: no LKG, nothing pinned
  }
  return since;
}

void add_consumer_violation(Report& report, const std::string& message) {
  Violation v;
  v.invariant = "consumer.check";
  v.kind = "consumer";
  v.family = "artifact";
  v.message = "the consumer cannot use the artifact: " + message;
  v.expected = "an artifact the consumer's parse step accepts";
  v.actual = message;
  report.violations.push_back(std::move(v));
  report.verdict = Verdict::reject;
}

// The digests of the stream's LKGs after `sequence` (still retained): what
// a decision of that sequence must not publish over.
Result<std::vector<std::string>> later_lkgs(store::Store& store, const std::string& stream, uint64_t sequence) {
  std::vector<std::string> later;
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  if (!*lkg || lkg.value()->sequence <= sequence) return later;
  auto list = store.accepted(stream);
  if (!list) return list.error();
  for (const auto& a : store::committed(*list, *lkg))
    if (a.sequence > sequence) later.push_back(a.digest);
  later.push_back(lkg.value()->digest);
  return later;
}

// A gate running another contract than the stream's: refused without
// `allowed` (--contract-change); with it, the switch to write with the
// decision (never before it: an exit 3 leaves the stream as it was).
Result<std::optional<store::ContractSwitch>> contract_switch(const Plan& plan, const std::string& stream,
                                                             const std::optional<StreamInfo>& info, bool allowed,
                                                             int64_t now) {
  if (!info || info->contract == plan.name) return std::optional<store::ContractSwitch>();
  if (!allowed)
    return usage("stream " + text::quoted(stream) + " was created for contract " + text::quoted(info->contract) +
                 ", and this gate runs " + text::quoted(plan.name) +
                 ": give --contract-change to judge it under the new contract (journaled)");
  store::ContractSwitch switched{*info, journal_record("contract-change", stream, now)};
  switched.info.contract = plan.name;
  switched.info.contract_digest = plan.digest();
  switched.record.detail = "the stream's contract changed from " + info->contract + " (" +
                           info->contract_digest.substr(0, 19) + ") to " + plan.name + " (" +
                           plan.digest().substr(0, 19) + ")";
  return std::optional<store::ContractSwitch>(std::move(switched));
}

// Step "read" and the first "judge", before the lock: the candidate read
// under the contract's limits, the stateless invariants, its digest and
// measures (or `refused`, a report the caller already made).
Prepared read_and_judge(const Plan& plan, std::string_view bytes, const Report* refused, bool owned,
                        const ConsumerCheck& consumer_check) {
  Prepared c;
  if (refused) {
    c.report = *refused;
  } else {
    // As check does: the strict-reading scan runs beside the invariants, and
    // so do the digest and the measures (one more task on the threads there
    // are); a reading problem replaces the invariants' results.
    auto read = engine::read(plan, bytes, owned, /*scan=*/false);
    c.size = read.size;
    if (!read.document) {
      c.digest = digest::sha256(bytes);
      c.report = std::move(*read.unreadable);
    } else {
      c.document = std::move(read.document);
      c.origin = std::move(read.origin);
      c.ambiguous = std::move(read.ambiguous);
      c.ambiguous_total = read.ambiguous_total;
      c.unreadable_records = std::move(read.unreadable_records);
      c.report = engine::start_report(plan);
      std::optional<artifact::ReadProblem> problem;
      engine::evaluate(plan, c.document->root, c.size, engine::Phase::before_lock, 0, nullptr, c.report, nullptr,
                       nullptr, [&] {
                         c.digest = digest::sha256(bytes);
                         problem = artifact::scan(*c.document, plan.read_limits, &c.document->values);
                         if (!problem) c.measures = engine::measure(plan, c.document->root, c.size, c.text(bytes));
                       });
      if (problem) {
        c.report = engine::unreadable(plan, *problem);
        c.document.reset();
      }
    }
    if (c.document) {
      c.generation = generation_of(plan, c.measures);
      engine::add_ambiguities(c.ambiguous, c.ambiguous_total, c.report);
      engine::add_unreadable_records(plan, c.unreadable_records, c.report);
      engine::finish(plan, c.report);
      if (consumer_check && c.report.verdict == Verdict::accept)
        if (auto why = consumer_check(bytes)) add_consumer_violation(c.report, *why);
    }
  }
  return c;
}

// Step "decide": the LKG after the decision (for an accept, the candidate's
// record, the next sequence).
std::optional<LkgRecord> lkg_after(const Plan& plan, const std::string& stream, const Decision& d, uint64_t size,
                                   int64_t now) {
  if (d.action != Action::accept) return d.lkg_before;
  LkgRecord next;
  next.stream = stream;
  next.sequence = d.lkg_before ? d.lkg_before->sequence + 1 : 1;
  next.digest = d.candidate;
  next.bytes = size;
  next.generation = d.generation;
  next.accepted_at_ms = now;
  next.contract = plan.name;
  next.contract_digest = plan.digest();
  return next;
}

// The report's violations as the journal keeps them: "id: message", the
// first kJournalMessages, each cut to kJournalMessageBytes, and how many
// more there were (those past the report's own cap included).
void journal_messages(const Report& report, JournalRecord& rec) {
  uint64_t total = 0;
  std::unordered_set<std::string_view> ids;
  for (const auto& r : report.invariants) total += r.violations, ids.insert(r.id);
  uint64_t listed_of_invariants = 0;
  for (const auto& v : report.violations) {
    if (ids.count(v.invariant)) ++listed_of_invariants;
    if (rec.messages.size() < kJournalMessages)
      rec.messages.push_back(text::clip_utf8(
          (v.severity == Severity::warn ? "(warning) " : "") + v.invariant + ": " + v.message, kJournalMessageBytes));
  }
  // Violations counted by an invariant but past the report's cap were not listed.
  uint64_t unlisted = total > listed_of_invariants ? total - listed_of_invariants : 0;
  rec.messages_omitted = report.violations.size() - rec.messages.size() + unlisted;
}

// Step "journal": the decision's record (the caller adds totals, flapping
// and the judgements' count).
JournalRecord decision_record(const Plan& plan, const std::string& stream, const Decision& d, int64_t now) {
  JournalRecord rec = journal_record("decision", stream, now);
  rec.verdict = std::string(to_string(d.action));
  rec.candidate = d.candidate;
  rec.generation = d.generation;
  for (const auto& r : d.report.invariants) {
    if (r.outcome == Outcome::fail && r.severity == Severity::error) rec.failed.push_back(r.id);
    if (r.outcome == Outcome::waived) rec.waived.push_back(r.id);
  }
  for (const auto& v : d.report.violations)
    if (v.family == "artifact" && std::find(rec.failed.begin(), rec.failed.end(), v.invariant) == rec.failed.end())
      rec.failed.push_back(v.invariant);
  for (const auto& v : d.report.violations)  // a trial's evidence: what the consumer did (bounded)
    if (v.family == "trial" && rec.detail.size() < 1000)
      rec.detail += (rec.detail.empty() ? "trial " : "; trial ") + v.invariant + ": " + v.message.substr(0, 300);
  rec.lkg_before = d.lkg_before ? d.lkg_before->digest : "";
  rec.contract = plan.name;
  rec.contract_digest = plan.digest();
  rec.lkg_after = d.lkg_after ? d.lkg_after->digest : "";
  rec.lkg_sequence = d.lkg_after ? d.lkg_after->sequence : 0;
  journal_messages(d.report, rec);
  for (size_t i = 0; i < d.observed.size() && i < kJournalObservations; ++i) rec.observations.push_back(d.observed[i]);
  return rec;
}

// Step "publish", after the commit: never over a later decision's artifact
// (a gate paused here past its lock, on etcd); a failure names what stands.
store::Status publish_decision(Publisher& publisher, store::Store& store, const std::string& stream, Decision& d) {
  auto published = publisher.commit_unless([&] { return later_lkgs(store, stream, d.lkg_after->sequence); });
  if (published && !*published)
    d.warnings.push_back("nothing was published: " + publisher.file().value_or("the target") +
                         " already holds the artifact of a later decision on the stream");
  if (published) return std::nullopt;
  Error e = published.error();
  if (d.action == Action::accept)
    e.message += "; the candidate was accepted and is the LKG (sequence " + std::to_string(d.lkg_after->sequence) +
                 "): gate the same artifact again to publish it";
  return e;
}

// What a judgement under the lock starts from: the stream as it is now.
struct StreamNow {
  std::optional<store::ContractSwitch> switched;  // written with the decision
  std::vector<JournalRecord> repairs;             // journaled before the decision
  std::vector<JournalRecord> journal;             // its newest records (store::kGateJournalRead)
};

// Step "fence"'s reads, under the lock: the stream's record (a contract
// switch), a torn journal moved aside, the LKG (into `d`), refused when
// older than the journal says, and an LKG committed without its record.
Result<StreamNow> read_stream_now(const Plan& plan, store::Store& store, const std::string& stream,
                                  const SubmitOptions& options, int64_t now, Decision& d) {
  StreamNow at;
  auto& [switched, repairs, journal_records] = at;
  auto info = store.stream_info(stream);
  if (!info) return info.error();
  // A deliberate contract change: written with the decision, never before it.
  auto wanted_switch = contract_switch(plan, stream, info.value(), options.contract_change, now);
  if (!wanted_switch) return wanted_switch.error();
  switched = std::move(wanted_switch.value());
  if (!options.dry_run) {
    auto torn = store.repair_journal(stream);
    if (!torn) return torn.error();
    if (torn.value()) {
      JournalRecord r = journal_record("repair", stream, now);
      r.detail = "an incomplete journal record (a write cut short by a full disk or a crash) was moved to " +
                 *torn.value();
      repairs.push_back(std::move(r));
    }
  }
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  d.lkg_before = lkg.value();
  auto journal = store.journal(stream, store::kGateJournalRead);
  if (!journal) return journal.error();
  if (auto e = check_not_rolled_back(stream, journal->records, d.lkg_before)) return *e;
  journal_records = std::move(journal->records);
  if (journal->torn_bytes)
    d.warnings.push_back("the journal ends with an incomplete record (" + std::to_string(journal->torn_bytes) +
                         " bytes); the next gate moves it aside");
  if (d.lkg_before) {
    if (!journaled(journal_records, *d.lkg_before)) {
      JournalRecord r = journal_record("repair", stream, now);
      r.lkg_after = d.lkg_before->digest;
      r.detail = "the LKG " + d.lkg_before->digest + " (sequence " + std::to_string(d.lkg_before->sequence) +
                 ") was committed without its journal record (a gate died or failed right after its commit)";
      repairs.push_back(std::move(r));
    }
    for (auto* r : journaled_now(repairs, switched)) {
      r->lkg_after = d.lkg_before->digest;
      r->lkg_sequence = d.lkg_before->sequence;
    }
  }
  return at;
}

namespace {

// The checks of a submit before anything is read: its options, and the
// stream (created first, with GateOptions::create_streams).
store::Status check_request(const Plan& plan, store::Store& store, const std::string& stream, const GateOptions& gate,
                            const SubmitOptions& options, Publisher* publisher) {
  if (!store::valid_stream_name(stream))
    return usage("stream name " + text::quoted(stream) +
                 " must be 1-128 characters of A-Z a-z 0-9 . _ - (not starting with . or -)");
  if (gate.keep == 0) return usage("--keep must be at least 1 (the LKG is always kept)");
  if (gate.quarantine > kMaxQuarantine)
    return usage("--quarantine keeps at most " + std::to_string(kMaxQuarantine) + " rejected candidates per stream");
  if (publisher)
    if (auto file = publisher->file())
      if (auto e = store.check_outside(*file)) return *e;
  if (gate.create_streams && !options.dry_run) {
    auto exists = store.has_stream(stream);
    if (!exists) return exists.error();
    if (!*exists) {
      StreamInfo info{stream, plan.name, plan.digest(), Time::now().ms(), "invar gate --create"};
      if (auto e = store.create_stream(info); e && e->code != ErrorCode::usage) return *e;  // usage: created meanwhile
    }
  }
  return require_stream(store, stream);
}

// One judgement under the stream's lock: what steps "fence", "judge" and
// "decide" found, for "stage", "commit" and "publish".
struct Judgement {
  std::unique_ptr<store::Lock> lock;
  store::Fence fence;
  rollout::Now rollout;
  int64_t now = 0;
  Decision d;
  StreamNow at;
  store::WaiverList waivers;
  std::vector<Waiver> in_force;          // waivers judged with
  std::vector<Waiver> recorded_waivers;  // --waive: recorded before the decision
  std::vector<std::string> waived_by;    // the ids of the waivers that waived a failure
  std::vector<Waiver> unapproved;        // waivers awaiting a second approver (not judged with)
  JournalRecord rec;
  bool adopt = false;   // an unsigned LKG trusted for this decision (GateOptions::adopt_unsigned_lkg)
  bool resign = false;  // the LKG's record written again with a new envelope (unchanged, an adoption)
  std::optional<invariants::Measures> lkg_measures;  // the LKG's, for writing its record again
};

// With a signing key, the LKG's envelope verified (gate/attest.hpp) before
// anything is judged against it or published: its bytes are read for it.
store::Status check_lkg_signed(store::Store& store, const std::string& stream, const GateOptions& gate, Judgement& j) {
  if (!gate.signing_key || !j.d.lkg_before) return std::nullopt;
  const LkgRecord& lkg = *j.d.lkg_before;
  if (lkg.attestation.empty() && !gate.adopt_unsigned_lkg.empty()) {
    j.adopt = true;
    return std::nullopt;
  }
  auto bytes = lkg_artifact(store, stream, lkg);
  if (!bytes) return bytes.error();
  return check_attestation(gate, lkg, *bytes, j.now);
}

// Step "fence": the lock, the versions a decision is fenced on (taken
// before what they version is read), and the stream as it is now.
store::Status fence_and_read(const Plan& plan, store::Store& store, const std::string& stream, const Prepared& c,
                             const SubmitOptions& options, uint32_t attempt, Judgement& j) {
  auto lock = store.lock(stream, !options.dry_run);
  if (!lock) return lock.error();
  j.lock = std::move(lock.value());
  auto fence = store.fence(stream);  // before the LKG is read: a change after it is a conflict
  if (!fence) return fence.error();
  j.fence = *fence;
  auto rollout = rollout::read_now(store, stream);
  if (!rollout) return rollout.error();
  j.rollout = std::move(rollout.value());
  j.rollout.fence.rollout_version.reset();  // promotions meanwhile do not refuse an admission
  j.now = engine::now_ms(plan, options.now);
  j.d.dry_run = options.dry_run;
  j.d.candidate = c.digest;
  j.d.generation = c.generation;
  auto state_now = read_stream_now(plan, store, stream, options, j.now, j.d);
  if (!state_now) return state_now.error();
  j.at = std::move(state_now.value());
  if (j.d.lkg_before && rollout::vetoed(j.rollout, j.d.lkg_before->digest))
    return store::state_error(stream, "the stream's LKG " + j.d.lkg_before->digest.substr(0, 19) +
                                          " was vetoed and its revert did not finish: run `invar rollout` (or the "
                                          "veto again) to finish it; nothing was judged or published");
  auto waivers = store.waiver_list(stream);
  if (!waivers) return waivers.error();
  j.waivers = std::move(waivers.value());
  auto retained = store.accepted(stream);  // verified before anything changes
  if (!retained) return retained.error();
  j.in_force = active(j.waivers.waivers, j.now);
  j.unapproved = awaiting_approval(j.waivers.waivers, j.now);
  uint32_t approvals = 1;
  if (!options.waive.empty()) {
    auto needed = stream_approvals(store, stream);
    if (!needed) return needed.error();
    approvals = *needed;
  }
  for (const auto& request : options.waive) {
    auto w = validate_waiver(plan, request, j.now);
    if (!w) return w.error();
    w->approvals = approvals;
    if (auto e = resolve_scope(store, stream, *w, c.digest)) return *e;
    j.recorded_waivers.push_back(*w);
    if (attempt != 1) continue;  // judged again: read back with the list (maybe used up meanwhile)
    if (unapproved(*w)) {
      j.unapproved.push_back(*w);
      j.d.warnings.push_back("waiver " + w->id + " for " + w->invariant + " is recorded awaiting a second approver " +
                             "(this stream needs two people): it does not apply to this candidate");
    } else {
      j.in_force.push_back(*w);
    }
  }
  return std::nullopt;
}

// The violation that keeps a candidate out of a halted or frozen stream, or
// out of any stream that vetoed it: the report never reads "accept" then.
void add_rollout_violation(Report& report, const char* id, const std::string& message, const std::string& expected) {
  Violation v;
  v.invariant = id;
  v.kind = "rollout";
  v.family = "artifact";
  v.message = message;
  v.expected = expected;
  report.violations.push_back(std::move(v));
  report.verdict = Verdict::reject;
}

// The contract's trials (a gate runs them: docs/trial.md), compared with the
// LKG's bytes when one asks to; after the other invariants accepted.
void run_trials(const Plan& plan, store::Store& store, const std::string& stream, std::string_view bytes,
                const Judgement& j, Report& report) {
  bool compares = false, any = false;
  for (const auto& inv : plan.invariants)
    if (inv.kind == invariants::Kind::trial) {
      any = true;
      compares = compares || inv.trial->compare_cpu || inv.trial->compare_memory;
    }
  if (!any || report.verdict != Verdict::accept) return;
  std::optional<std::string> lkg;
  if (compares && j.d.lkg_before)
    if (auto b = lkg_artifact(store, stream, *j.d.lkg_before)) lkg = std::move(b.value());
  trial::Context context{true, lkg ? std::optional<std::string_view>(*lkg) : std::nullopt, stream,
                         trial::trial_extension(plan.format.value_or(ArtifactFormat::json))};
  trial::run_trials(plan, bytes, context, report);
}

// Step "judge": the candidate against the LKG under the lock, the waivers
// in force, and the rollout's halt, freeze and vetoes.
store::Status judge_locked(const Plan& plan, store::Store& store, const std::string& stream, std::string_view bytes,
                           const Report* refused, Prepared& c, Judgement& j) {
  Decision& d = j.d;
  LkgBaseline baseline;
  if (d.lkg_before) {
    // Verified now, whatever the verdict: a pin must be able to publish it.
    if (auto e = store.verify_artifact(stream, d.lkg_before->digest, d.lkg_before->bytes)) return *e;
    auto base = baseline_of(plan, store, stream, *d.lkg_before);
    if (!base) return base.error();
    baseline = std::move(base.value());
    if (baseline.data) j.lkg_measures = baseline.data->measures;
    if (d.lkg_before->contract_digest != plan.digest())
      d.warnings.push_back("the contract changed: the LKG was accepted under " + d.lkg_before->contract + " (" +
                           d.lkg_before->contract_digest.substr(0, 19) + "), this gate runs " + plan.name + " (" +
                           plan.digest().substr(0, 19) + ")");
  }
  // A retry of the LKG's own bytes that still passes the stateless
  // invariants (and the consumer's check): nothing to judge against itself.
  const bool retry = !refused && d.lkg_before && c.digest == d.lkg_before->digest && c.document &&
                     c.report.verdict == Verdict::accept;
  if (retry) {
    for (size_t i = 0; i < plan.invariants.size(); ++i)
      if (invariants::judged_under_lock(plan.invariants[i].kind)) {
        c.report.invariants[i].outcome = Outcome::skipped;
        c.report.invariants[i].note = "unchanged: the candidate is the LKG's bytes";
      }
  } else if (c.document) {
    engine::evaluate(plan, c.document->root, c.size, engine::Phase::under_lock, j.now,
                     baseline.data ? &*baseline.data : nullptr, c.report, &c.measures, nullptr, {}, c.text(bytes));
  }
  if (!retry && c.document && d.lkg_before && !baseline.unreadable.empty() && has_delta_family(plan)) {
    add_unreadable_baseline(c.report, *d.lkg_before, baseline.unreadable);
    for (size_t i = 0; i < plan.invariants.size(); ++i)
      if (c.report.invariants[i].outcome == Outcome::skipped && invariants::compares_with_baseline(plan.invariants[i].kind))
        c.report.invariants[i].note = "the stream's LKG cannot be read under this contract (see baseline.unreadable)";
  }
  if (c.document) j.waived_by = apply_waivers(plan, j.in_force, c.digest, c.generation, c.report);
  if (c.document) warn_unapproved(plan, j.unapproved, c.digest, c.generation, c.report, d.warnings);
  engine::finish(plan, c.report);
  if (!retry && c.document) run_trials(plan, store, stream, bytes, j, c.report);
  if (rollout::vetoed(j.rollout, c.digest))
    add_rollout_violation(c.report, "rollout.vetoed",
                          "the candidate " + c.digest.substr(0, 19) + " was vetoed on this stream (a failed health "
                          "check or an operator's veto took it back): it is refused by digest",
                          "an artifact the stream has not vetoed");
  else if (auto why = rollout::stopped(j.rollout, j.now); !why.empty() && !retry)
    add_rollout_violation(c.report, "rollout.stopped", why + ": nothing new is admitted",
                          "a stream that is neither halted nor frozen");
  if (c.document) engine::locate_violations(plan, bytes, c.report, c.origin.get());
  d.report = std::move(c.report);
  if (c.document)  // for the journal, whether or not the caller asked (SubmitOptions::observe)
    d.observed = engine::observe(plan, c.document->root, c.measures, baseline.data ? &baseline.data->measures : nullptr,
                                 j.now);
  d.action = retry ? Action::unchanged
                   : d.report.verdict == Verdict::accept ? Action::accept
                                                         : (d.lkg_before ? Action::pin : Action::reject);
  return std::nullopt;
}

// Step "decide"'s signature (GateOptions::signing_key): an accept's new LKG;
// an unchanged decision's LKG re-signed with a fresh expiry (a stream
// regenerated but not changed stays fresh), as is an adopted unsigned LKG.
// Pins do not renew the LKG's envelope: nothing was accepted.
store::Status sign_decision(const GateOptions& gate, const std::string& stream, Judgement& j) {
  Decision& d = j.d;
  if (!gate.signing_key || !d.artifact || !d.lkg_after) return std::nullopt;
  j.resign = d.action == Action::unchanged || (j.adopt && d.action == Action::pin);
  if (j.resign && !j.lkg_measures) {  // its measures could not be read under this contract: not written again
    j.resign = false;
    if (j.adopt) return store::state_error(stream, "the unsigned LKG cannot be adopted by a pin: it cannot be read "
                                                   "under this contract; adopt it with a decision that accepts");
  }
  if (d.action != Action::accept && !j.resign) return std::nullopt;
  auto envelope = attest(gate, *d.lkg_after, *d.artifact, "", "accept", j.now);
  if (!envelope) return envelope.error();
  d.lkg_after->attestation = std::move(*envelope);
  if (j.adopt) {
    std::string adopted = "the unsigned LKG " + d.lkg_before->digest.substr(0, 19) + " (sequence " +
                          std::to_string(d.lkg_before->sequence) + ") was adopted (--adopt-unsigned-lkg: " +
                          gate.adopt_unsigned_lkg + ")" +
                          (d.action == Action::accept ? " and superseded by a signed accept" : " and signed");
    j.rec.detail += (j.rec.detail.empty() ? "" : "; ") + adopted;
    d.warnings.push_back(adopted);
  }
  return std::nullopt;
}

// Step "decide": the LKG after it, its journal record with the stream's
// totals and flapping, and the artifact it publishes.
store::Status decide_locked(const Plan& plan, store::Store& store, const std::string& stream, const GateOptions& gate,
                            std::string_view bytes, const std::shared_ptr<const std::string>& owned,
                            const std::vector<std::string>& refusals, uint32_t attempt, Judgement& j) {
  Decision& d = j.d;
  d.lkg_after = lkg_after(plan, stream, d, bytes.size(), j.now);
  j.rec = decision_record(plan, stream, d, j.now);
  if (!d.candidate.empty()) j.rec.bytes = bytes.size();  // unknown when refused unread
  if (!refusals.empty()) {
    std::string judged = "judged " + std::to_string(attempt) + " times: " + std::to_string(refusals.size()) +
                         " write(s) refused because another writer changed the stream meanwhile (fenced)";
    j.rec.detail += (j.rec.detail.empty() ? "" : "; ") + judged;
    d.warnings.push_back(judged);
  }
  d.decisions_total = decision_totals(j.at.journal);
  ++d.decisions_total[static_cast<size_t>(d.action)];
  j.rec.totals.assign(d.decisions_total.begin(), d.decisions_total.end());
  std::vector<JournalRecord> decisions = std::move(j.at.journal);
  decisions.push_back(j.rec);
  Flap flap = detect_flap(decisions, j.now, gate.flap);
  d.flapping = j.rec.flapping = flap.flapping;
  d.flap_history = std::move(flap.history);
  d.pinned_since_ms = pinned_since(decisions);
  if (d.pinned_since_ms && j.now - *d.pinned_since_ms > gate.pinned_warn_ms)
    d.warnings.push_back("the stream has been pinned to its LKG for " + text::format_duration(j.now - *d.pinned_since_ms) +
                         " (since " + text::format_rfc3339(*d.pinned_since_ms) + "), longer than " +
                         text::format_duration(gate.pinned_warn_ms));
  if (j.at.switched) d.warnings.push_back(j.at.switched->record.detail);
  for (const auto& r : j.at.repairs) d.warnings.push_back("repaired: " + r.detail);
  if (d.action == Action::accept) d.artifact = owned ? owned : std::make_shared<const std::string>(bytes);
  if (d.action == Action::pin || d.action == Action::unchanged) {
    auto lkg_bytes = lkg_artifact(store, stream, *d.lkg_before);
    if (!lkg_bytes) return lkg_bytes.error();
    d.artifact = std::make_shared<const std::string>(std::move(*lkg_bytes));
  }
  return d.dry_run ? std::nullopt : sign_decision(gate, stream, j);
}

// Step "stage": everything that can fail before the commit (repairs and
// waivers journaled, the publication staged, journal space reserved); until
// the commit a failure leaves the LKG and what is published as they were.
// Returns the waivers an accept uses (fenced on them, scoped ones used up).
Result<std::optional<store::WaiverUse>> stage_decision(store::Store& store, const std::string& stream,
                                                       std::string_view bytes, const Prepared& c, Publisher* publisher,
                                                       uint32_t attempt, Judgement& j) {
  const Decision& d = j.d;
  for (const auto& r : j.at.repairs) {
    if (auto e = store.reserve(stream, r)) return *e;
    if (auto e = store.append(stream, r)) return *e;
  }
  if (attempt == 1)  // recorded once; a judgement again finds them in force
    for (const auto& w : j.recorded_waivers) {
      auto recorded = record_waiver(store, stream, w, j.now);
      if (!recorded) return recorded.error();
      j.waivers = std::move(*recorded);
    }
  std::optional<store::WaiverUse> waiver_use;
  if (d.action == Action::accept && !j.waived_by.empty())
    waiver_use = use_waivers(j.waivers, j.waived_by, d.candidate, j.now);
  std::string_view publish = d.artifact ? std::string_view(*d.artifact) : std::string_view();
  std::string publish_digest = d.action == Action::accept ? d.candidate : (d.lkg_before ? d.lkg_before->digest : "");
  std::optional<std::string> attestation;  // with a signing key: the envelope of what is published
  if (j.d.lkg_after && !j.d.lkg_after->attestation.empty()) attestation = j.d.lkg_after->attestation;
  if (publisher && d.action == Action::accept) {
    // Two large durable writes, side by side: the publication staged, and
    // the artifact stored for the promotion (committed below).
    if (auto e = stage_beside(store, stream, bytes, c.measures, d.candidate,
                              [&] { return publisher->prepare_attested(publish, publish_digest, attestation); }))
      return *e;
  } else if (publisher && d.action != Action::reject) {
    if (auto e = publisher->prepare_attested(publish, publish_digest, attestation)) return *e;
  }
  if (j.at.switched)
    if (auto e = store.reserve(stream, j.at.switched->record)) return *e;
  if (auto e = store.reserve(stream, j.rec)) return *e;
  return waiver_use;
}

// Steps "publish" and "journal" after the commit: the decision stands, and
// what fails now is a warning or an error that names what stands.
store::Status after_commit(store::Store& store, const std::string& stream, const GateOptions& gate,
                           Publisher* publisher, std::string_view bytes, const Report* refused, Judgement& j) {
  Decision& d = j.d;
  if (d.action == Action::accept)
    if (auto pruned = store.prune(stream); !pruned)
      d.warnings.push_back("old stored artifacts could not be pruned (" + pruned.error().to_string() +
                           "); the next gate retries");
  if (publisher && d.action != Action::reject)
    if (auto e = publish_decision(*publisher, store, stream, d)) return *e;
  // Evidence: the rejected bytes, kept after the decision is published (a
  // failure here loses no decision; it is a warning).
  if ((d.action == Action::pin || d.action == Action::reject) && !refused && gate.quarantine > 0) {
    Quarantined q{d.candidate, bytes.size(), j.now, j.rec.verdict, j.rec.failed};
    if (auto e = store.quarantine(stream, bytes, q, gate.quarantine))
      d.warnings.push_back("the rejected candidate could not be quarantined (" + e->to_string() + ")");
    else
      d.quarantined = true;
  }
  return std::nullopt;
}

}  // namespace

Result<Decision> submit(const Contract& contract, store::Store& store, const std::string& stream,
                        std::string_view bytes, const GateOptions& gate, const SubmitOptions& options,
                        const Report* refused, std::shared_ptr<const std::string> owned) {
  const Plan& plan = ContractAccess::plan(contract);
  Publisher* publisher = options.dry_run ? nullptr : options.publisher;
  if (auto e = check_request(plan, store, stream, gate, options, publisher)) return *e;
  // Step "read" (and the stateless judging) before the lock.
  const auto started = std::chrono::steady_clock::now();
  // The store may prepare the candidate beside the judgement (the etcd
  // backend deflates a large one); ended before `bytes` can be released.
  struct PrepareDone {
    store::Store& store;
    ~PrepareDone() { store.prepare_done(); }
  } prepare_done{store};
  if (!refused && !options.dry_run) store.prepare_object(bytes);
  Prepared c = read_and_judge(plan, bytes, refused, owned != nullptr, options.consumer_check);
  // Under the lock, judged again (at most kMaxJudgements times) when the
  // write is refused because another writer changed the stream meanwhile:
  // a decision is fenced, not merely locked.
  const Report before_lock = c.report;
  std::vector<std::string> refusals;
  for (uint32_t attempt = 1;; ++attempt) {
    c.report = before_lock;
    Judgement j;
    if (auto e = fence_and_read(plan, store, stream, c, options, attempt, j)) return *e;
    if (auto e = check_lkg_signed(store, stream, gate, j)) return *e;
    if (auto e = judge_locked(plan, store, stream, bytes, refused, c, j)) return *e;
    if (auto e = decide_locked(plan, store, stream, gate, bytes, owned, refusals, attempt, j)) return *e;
    j.d.judge_ms = engine::ms_since(started);
    if (options.dry_run) return std::move(j.d);
    fault::point("gate:judged");
    auto waiver_use = stage_decision(store, stream, bytes, c, publisher, attempt, j);
    if (!waiver_use) return waiver_use.error();
    // Step "commit": fenced on the LKG, the waivers used and the rollout state as judged.
    // An LKG signed again (unchanged, adopted) is its record written again: same sequence, new envelope.
    store::Promotion promotion{bytes, &c.measures, j.d.lkg_after.value_or(LkgRecord{}), gate.keep};
    if (j.resign) promotion = {*j.d.artifact, &*j.lkg_measures, *j.d.lkg_after, gate.keep};
    bool committed = false;
    auto written = store.decide(stream, j.fence, j.rec, j.d.action == Action::accept || j.resign ? &promotion : nullptr,
                                committed,
                                *waiver_use ? &**waiver_use : nullptr, j.at.switched ? &*j.at.switched : nullptr,
                                &j.rollout.fence);
    if (written && written->code == ErrorCode::conflict && !committed) {
      refusals.push_back(written->message);
      if (attempt < kMaxJudgements) {
        j.lock.reset();
        back_off(attempt);
        continue;
      }
      written->message = "the stream changed under each of " + std::to_string(attempt) +
                         " judgements (other gates or rollouts are deciding on it); nothing was decided or published "
                         "(the last refusal: " + refusals.back() + ")";
      return *written;
    }
    fault::point("gate:promoted");
    if (written) {
      if (!committed) return *written;
      j.d.warnings.push_back("the decision is committed but its journal record could not be written (" +
                             written->to_string() + "); the next gate records the repair");
    }
    if (auto e = after_commit(store, stream, gate, publisher, bytes, refused, j)) return *e;
    return std::move(j.d);
  }
}

Result<Decision> submit_file(const Contract& contract, store::Store& store, const std::string& stream,
                             const std::string& path, const GateOptions& gate, const SubmitOptions& options) {
  const Plan& plan = ContractAccess::plan(contract);
  auto bytes = files::read_file(path, plan.read_limits.max_bytes, "artifact", simdjson::SIMDJSON_PADDING);
  if (!bytes) {
    if (bytes.error().code != ErrorCode::limit) return bytes.error();
    // Over the size limit: a verdict (reject/pin), not an inability to judge.
    Report refused = engine::unreadable(plan, "size", bytes.error().message + " (refused before reading)", "",
                                        engine::size_expectation(plan), bytes.error().message);
    refused.artifact = files::display_name(path);
    return submit(contract, store, stream, {}, gate, options, &refused);
  }
  auto owned = std::make_shared<const std::string>(std::move(*bytes));
  auto d = submit(contract, store, stream, *owned, gate, options, nullptr, owned);
  if (d) d->report.artifact = files::display_name(path);
  return d;
}

namespace {

// A seed, judged by the stateless invariants (there is nothing to compare
// it with); `c` receives its digest, size and measures.
Result<Decision> judge_seed(const Plan& plan, const InitOptions& opts, int64_t now, Prepared& c) {
  std::string reason = opts.reason;
  reason.erase(0, reason.find_first_not_of(" \t\r\n"));
  if (reason.empty()) return usage("seeding a stream's first LKG needs a --reason saying why it can be trusted");
  std::string_view bytes = *opts.seed;
  c.digest = digest::sha256(bytes);
  auto read = engine::read(plan, bytes);
  c.size = read.size;
  Decision d;
  d.candidate = c.digest;
  if (!read.document) {
    d.report = std::move(*read.unreadable);
  } else {
    d.report = engine::start_report(plan);
    engine::evaluate(plan, read.document->root, c.size, engine::Phase::before_lock, now, nullptr, d.report);
    c.measures = engine::measure(plan, read.document->root, c.size, read.text(bytes));
    d.generation = generation_of(plan, c.measures);
    for (size_t i = 0; i < plan.invariants.size(); ++i)
      if (invariants::judged_under_lock(plan.invariants[i].kind)) {
        d.report.invariants[i].outcome = Outcome::skipped;
        d.report.invariants[i].note = "a seed is judged by the stateless invariants only";
      }
  }
  engine::finish(plan, d.report);
  d.action = d.report.verdict == Verdict::accept ? Action::accept : Action::reject;
  return d;
}

}  // namespace

Result<std::optional<Decision>> init(const Contract& contract, store::Store& store, const std::string& stream,
                                     const InitOptions& options, const GateOptions& gate) {
  const Plan& plan = ContractAccess::plan(contract);
  if (!store::valid_stream_name(stream))
    return usage("stream name " + text::quoted(stream) +
                 " must be 1-128 characters of A-Z a-z 0-9 . _ - (not starting with . or -)");
  int64_t now = engine::now_ms(plan, options.now);
  auto exists = store.has_stream(stream);
  if (!exists) return exists.error();
  if (*exists) return usage("stream " + text::quoted(stream) + " exists already; nothing was changed");
  std::string by = options.by;
  if (by.empty()) return usage("init needs an identifiable actor: give --by NAME");
  if (!valid_actor(by)) return usage("the actor " + text::quoted(by) + " is not a name: 1-64 of A-Z a-z 0-9 . _ @ + -");
  if (options.approvals < 1 || options.approvals > 2)
    return usage("--approvals is 1 (one person's waivers) or 2 (a second person approves each waiver)");
  std::optional<Decision> d;
  Prepared c;
  std::string file_bytes;
  InitOptions opts = options;
  if (!opts.rollout_file.empty()) {
    auto policy = load_rollout(opts.rollout_file);
    if (!policy) return policy.error();
    opts.rollout = std::move(policy.value());
  }
  if (!opts.seed_file.empty()) {
    auto bytes = files::read_file(opts.seed_file, plan.read_limits.max_bytes, "seed artifact");
    if (!bytes) return bytes.error();
    file_bytes = std::move(bytes.value());
    opts.seed = file_bytes;
  }
  if (opts.seed) {
    auto judged = judge_seed(plan, opts, now, c);
    if (!judged) return judged.error();
    d = std::move(judged.value());
    if (d->action == Action::reject) return d;  // nothing is created for a seed that fails its contract
  }
  fault::point("init:judged");
  // One fenced unit: the stream, its journal record and its seed, written
  // only if the stream does not exist (nor an LKG) when they are committed.
  JournalRecord rec = journal_record("init", stream, now);
  rec.verdict = d ? "seed" : "create";
  rec.contract = plan.name;
  rec.contract_digest = plan.digest();
  rec.detail = "created for contract " + plan.name + " by " + by + (d ? ": " + opts.reason : "");
  if (opts.approvals > 1) rec.detail += " (waivers need two people)";
  if (opts.rollout) rec.detail += " (rollout " + opts.rollout->name + ", " + std::to_string(opts.rollout->stages.size()) +
                                  " stages)";
  std::optional<store::Promotion> seed;
  if (d) {
    rec.candidate = c.digest;
    rec.generation = d->generation;
    rec.lkg_after = c.digest;
    rec.lkg_sequence = 1;
    LkgRecord first{stream, 1, c.digest, opts.seed->size(), d->generation, now, plan.name, plan.digest()};
    auto envelope = attest(gate, first, *opts.seed, "", "seed", now);  // "" without a signing key
    if (!envelope) return envelope.error();
    first.attestation = std::move(*envelope);
    seed.emplace(store::Promotion{*opts.seed, &c.measures, first, 1});
  }
  std::optional<std::string> stages;
  if (opts.rollout) stages = rollout::initial_record(stream, *opts.rollout, seed ? &seed->record : nullptr);
  if (auto e = store.init_stream({stream, plan.name, plan.digest(), now, by, opts.approvals}, &rec, seed ? &*seed : nullptr,
                                 stages ? &*stages : nullptr)) {
    if (e->code == ErrorCode::usage) return created_meanwhile(store, stream);
    return *e;
  }
  if (d) {
    d->action = Action::accept;
    d->lkg_after = seed->record;
    d->artifact = std::make_shared<const std::string>(*opts.seed);
  }
  return d;
}

Result<std::vector<Waiver>> waive(const Contract& contract, store::Store& store, const std::string& stream,
                                  const std::vector<WaiverRequest>& requests, std::optional<Time> now) {
  const Plan& plan = ContractAccess::plan(contract);
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  if (requests.empty()) return usage("name at least one invariant id to waive");
  if (auto e = require_stream(store, stream)) return *e;
  auto approvals = stream_approvals(store, stream);
  if (!approvals) return approvals.error();
  int64_t now_ms = engine::now_ms(plan, now);
  std::vector<Waiver> out;
  for (const auto& request : requests) {  // all valid, or none recorded
    auto w = validate_waiver(plan, request, now_ms);
    if (!w) return w.error();
    w->approvals = *approvals;
    out.push_back(*w);
  }
  auto lock = store.lock(stream, true);
  if (!lock) return lock.error();
  for (auto& w : out)  // all resolved before any is recorded
    if (auto e = resolve_scope(store, stream, w)) return *e;
  for (const auto& w : out)
    if (auto recorded = record_waiver(store, stream, w, now_ms); !recorded) return recorded.error();
  return out;
}

Result<Waiver> revoke_waiver(store::Store& store, const std::string& stream, const std::string& id, const std::string& by,
                             const std::string& reason, int64_t now_ms) {
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  if (auto e = require_stream(store, stream)) return *e;
  if (by.empty() || !valid_actor(by))
    return usage("revoking a waiver needs an identifiable actor: --by NAME (1-64 of A-Z a-z 0-9 . _ @ + -)");
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) return usage("revoking a waiver needs a --reason saying why");
  auto lock = store.lock(stream, true);
  if (!lock) return lock.error();
  auto current = store.waiver_list(stream);
  if (!current) return current.error();
  auto is_it = [&](const Waiver& w) { return w.id == id; };
  auto found = std::find_if(current->waivers.begin(), current->waivers.end(), is_it);
  auto missing = [&] { return usage("stream " + text::quoted(stream) + " has no waiver " + text::quoted(id) + " (see invar waivers)"); };
  if (found == current->waivers.end()) return missing();
  JournalRecord rec = journal_record("revoke", stream, now_ms);
  rec.waiver = *found;
  rec.detail = "revoked by " + by + ": " + reason;
  auto revoked = change_waivers(store, stream, rec, [&](const std::vector<Waiver>& existing) -> Result<std::vector<Waiver>> {
    std::vector<Waiver> list = existing;
    if (std::erase_if(list, is_it) == 0) return missing();
    return list;
  });
  if (!revoked) return revoked.error();
  return *rec.waiver;
}

// Why `by` may not approve `w` at `now_ms`, or "" when it may.
std::string approval_refused(const Waiver& w, const std::string& by, int64_t now_ms) {
  if (w.approvals < 2) return "waiver " + w.id + " needs no approval: its stream takes one person's waivers";
  if (!w.approved_by.empty()) return "waiver " + w.id + " was approved already, by " + text::quoted(w.approved_by);
  if (!w.used_by.empty()) return "waiver " + w.id + " was used up already";
  if (w.expires_ms <= now_ms) return "waiver " + w.id + " expired at " + text::format_rfc3339(w.expires_ms);
  if (w.by == by)
    return "waiver " + w.id + " was recorded by " + text::quoted(by) + ": a second, different person must approve it";
  return "";
}

Result<Waiver> approve_waiver(store::Store& store, const std::string& stream, const std::string& id, const std::string& by,
                              const std::string& reason, int64_t now_ms) {
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  if (auto e = require_stream(store, stream)) return *e;
  if (by.empty() || !valid_actor(by))
    return usage("approving a waiver needs an identifiable actor: --by NAME (1-64 of A-Z a-z 0-9 . _ @ + -)");
  auto lock = store.lock(stream, true);
  if (!lock) return lock.error();
  auto is_it = [&](const Waiver& w) { return w.id == id; };
  auto missing = [&] {
    return usage("stream " + text::quoted(stream) + " has no waiver " + text::quoted(id) +
                 " (revoked, expired and dropped, or never recorded: see invar waivers)");
  };
  auto current = store.waiver_list(stream);
  if (!current) return current.error();
  auto found = std::find_if(current->waivers.begin(), current->waivers.end(), is_it);
  if (found == current->waivers.end()) return missing();
  if (auto why = approval_refused(*found, by, now_ms); !why.empty()) return usage(why);
  JournalRecord rec = journal_record("approve", stream, now_ms);
  rec.waiver = *found;
  rec.waiver->approved_by = by;
  rec.waiver->approved_ms = now_ms;
  rec.detail = "approved by " + by;
  if (reason.find_first_not_of(" \t\r\n") != std::string::npos) rec.detail += ": " + reason;
  auto approved = change_waivers(store, stream, rec, [&](const std::vector<Waiver>& existing) -> Result<std::vector<Waiver>> {
    std::vector<Waiver> list = existing;  // read again: it may have changed since
    auto it = std::find_if(list.begin(), list.end(), is_it);
    if (it == list.end()) return missing();
    if (auto why = approval_refused(*it, by, now_ms); !why.empty()) return usage(why);
    it->approved_by = by;
    it->approved_ms = now_ms;
    return list;
  });
  if (!approved) return approved.error();
  return *rec.waiver;
}

Result<std::vector<std::string>> repair(store::Store& store, const std::string& stream, int64_t now_ms) {
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  if (auto e = require_stream(store, stream)) return *e;
  auto lock = store.lock(stream, true);
  if (!lock) return lock.error();
  std::vector<std::string> done;
  auto journal_repair = [&](const std::string& detail, const std::string& lkg_after) -> store::Status {
    JournalRecord r = journal_record("repair", stream, now_ms);
    r.detail = detail;
    r.lkg_after = lkg_after;
    if (auto e = store.reserve(stream, r)) return e;
    if (auto e = store.append(stream, r)) return e;
    done.push_back(detail);
    return std::nullopt;
  };
  auto torn = store.repair_journal(stream);
  if (!torn) return torn.error();
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  const std::string lkg_digest = lkg.value() ? lkg.value()->digest : "";
  if (torn.value())
    if (auto e = journal_repair("an incomplete journal record (a write cut short by a full disk or a crash) was moved to " +
                                    *torn.value(), lkg_digest))
      return *e;
  if (lkg.value()) {
    auto journal = store.journal(stream, store::kGateJournalRead);
    if (!journal) return journal.error();
    if (!journaled(journal->records, *lkg.value()))
      if (auto e = journal_repair("the LKG " + lkg_digest + " (sequence " + std::to_string(lkg.value()->sequence) +
                                      ") was committed without its journal record (a gate died or failed right after its commit)",
                                  lkg_digest))
        return *e;
  }
  auto removed = store.prune(stream);
  if (!removed) return removed.error();
  if (*removed)
    if (auto e = journal_repair("collected " + std::to_string(*removed) +
                                    " stored object(s) outside the LKG and the retention list (left by interrupted gates)",
                                lkg_digest))
      return *e;
  return done;
}

Result<StreamStatus> status(store::Store& store, const std::string& stream, int64_t now_ms, const GateOptions& options,
                            size_t recent) {
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  if (auto e = require_stream(store, stream)) return *e;
  auto lock = store.lock(stream, false);
  if (!lock) return lock.error();
  StreamStatus s;
  s.stream = stream;
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  s.lkg = lkg.value();
  if (s.lkg) {  // verify what a pin would publish, and what a gate would compare with
    auto bytes = store.artifact(stream, s.lkg->digest, s.lkg->bytes);
    if (!bytes) return bytes.error();
    auto measures = store.measures(stream, s.lkg->digest);
    if (!measures) return measures.error();
  }
  auto stored = store.accepted(stream);
  if (!stored) return stored.error();
  auto accepted = store::committed(stored.value(), s.lkg);
  s.retained = accepted.size();
  for (const auto& entry : accepted) {  // every artifact a backtest would read
    auto bytes = store.artifact(stream, entry.digest, store::kMaxStoredArtifact);
    if (!bytes) return bytes.error();
  }
  if (s.lkg && (accepted.empty() || accepted.back().digest != s.lkg->digest))
    s.warnings.push_back("the retention list does not end with the LKG (written by an older invar; the next promotion repairs it)");
  if (stored->size() > accepted.size())
    s.warnings.push_back("the retention list holds an entry of a promotion that never committed (a gate was stopped "
                         "before its commit); it is ignored, and the next promotion drops it");
  auto waivers = store.waivers(stream);
  if (!waivers) return waivers.error();
  s.active_waivers = active(waivers.value(), now_ms);
  s.awaiting_approval = awaiting_approval(waivers.value(), now_ms);
  auto journal = store.journal(stream);
  if (!journal) return journal.error();
  const auto& records = journal->records;
  for (size_t i = records.size(); i-- > 0 && s.recent.size() < recent;)
    if (records[i].event == "decision") s.recent.push_back(records[i]);
  if (journal->torn_bytes)
    s.warnings.push_back("the journal ends with an incomplete record (" + std::to_string(journal->torn_bytes) +
                         " bytes: a write cut short by a full disk or a crash); the next gate moves it aside");
  if (s.lkg) {
    if (!journaled(records, *s.lkg))
      s.warnings.push_back("the LKG (sequence " + std::to_string(s.lkg->sequence) +
                           ") has no journal record: a gate died or failed right after committing it; the next gate "
                           "journals the repair");
  }
  s.decisions_total = decision_totals(records);
  s.reverts_total = static_cast<uint64_t>(std::count_if(
      records.begin(), records.end(), [](const JournalRecord& r) { return r.event == "revert" || r.event == "veto"; }));
  auto quarantined = store.quarantined(stream);
  if (!quarantined) return quarantined.error();
  s.quarantined = std::move(quarantined.value());
  Flap f = detect_flap(records, now_ms, options.flap);
  s.flapping = f.flapping;
  s.flap_history = std::move(f.history);
  s.pinned_since_ms = pinned_since(records);
  if (s.pinned_since_ms && now_ms - *s.pinned_since_ms > options.pinned_warn_ms)
    s.warnings.push_back("pinned to the LKG for " + text::format_duration(now_ms - *s.pinned_since_ms) +
                         ", longer than " + text::format_duration(options.pinned_warn_ms));
  return s;
}

Result<std::vector<BacktestRow>> backtest(const Contract& contract, store::Store& store, const std::string& stream) {
  const Plan& plan = ContractAccess::plan(contract);
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  if (auto e = require_stream(store, stream)) return *e;
  auto lock = store.lock(stream, false);
  if (!lock) return lock.error();
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  auto accepted = store.accepted(stream);
  if (!accepted) return accepted.error();
  std::vector<BacktestRow> rows;
  std::optional<BaselineData> previous;
  for (const auto& entry : store::committed(accepted.value(), lkg.value())) {
    auto bytes = store.artifact(stream, entry.digest, store::kMaxStoredArtifact);
    if (!bytes) return bytes.error();
    BacktestRow row;
    row.entry = entry;
    auto read = engine::read(plan, *bytes);
    if (!read.document) {
      row.report = std::move(*read.unreadable);
      previous.reset();
    } else {
      row.report = engine::start_report(plan);
      // Judged as of its acceptance: freshness uses the time it was accepted.
      engine::evaluate(plan, read.document->root, read.size, engine::Phase::all, entry.accepted_at_ms,
                       previous ? &*previous : nullptr, row.report, nullptr, nullptr, {}, *bytes);
      engine::finish(plan, row.report);
      previous = BaselineData{engine::measure(plan, read.document->root, read.size, read.text(*bytes)),
                              [kept = std::make_shared<const std::string>(std::move(*bytes))] {
                                return std::optional<std::string>(*kept);
                              }};
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace invar::gate
