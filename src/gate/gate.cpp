#include "gate/gate.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <algorithm>

#include "common/digest.hpp"
#include "common/fault.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "engine/evaluate.hpp"

namespace invar {

std::string_view to_string(Action a) {
  switch (a) {
    case Action::accept: return "accept";
    case Action::reject: return "reject";
    case Action::pin: return "pin";
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

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// A journal record of `event` by this process.
JournalRecord journal_record(const char* event, const std::string& stream, int64_t now_ms) {
  JournalRecord rec;
  rec.event = event;
  rec.time_ms = now_ms;
  rec.stream = stream;
  rec.host = hostname();
  rec.pid = getpid();
  return rec;
}

// What is known of the candidate before the lock.
struct Prepared {
  Report report;
  invariants::Measures measures;
  std::unique_ptr<artifact::Document> document;  // null when unreadable
  uint64_t size = 0;
  std::string digest, generation;
};

std::string generation_of(const Plan& plan, const invariants::Measures& measures) {
  for (const auto& inv : plan.invariants)
    if (inv.kind == invariants::Kind::monotonic) {
      auto it = measures.find(inv.id);
      return it == measures.end() ? "" : it->second.value_text;
    }
  return "";
}

std::vector<Waiver> active(const std::vector<Waiver>& waivers, int64_t now_ms) {
  std::vector<Waiver> out;
  for (const auto& w : waivers)
    if (w.expires_ms > now_ms) out.push_back(w);
  return out;
}

// Marks failed invariants with an active waiver as waived.
void apply_waivers(const Plan& plan, const std::vector<Waiver>& waivers, Report& report) {
  for (size_t i = 0; i < plan.invariants.size(); ++i) {
    InvariantResult& r = report.invariants[i];
    if (r.outcome != Outcome::fail || !plan.invariants[i].waivable) continue;
    for (const auto& w : waivers)
      if (w.invariant == r.id) {
        r.outcome = Outcome::waived;
        r.note = "waived by " + w.by + " until " + text::format_rfc3339(w.expires_ms) + ": " + w.reason;
      }
  }
}

Result<Waiver> validate_waiver(const Plan& plan, const WaiverRequest& request, int64_t now_ms) {
  std::string reason = request.reason;
  reason.erase(0, reason.find_first_not_of(" \t\r\n"));
  if (reason.empty()) return usage("a waiver needs a --reason saying why");
  if (request.duration_ms <= 0) return usage("a waiver needs --expires, a positive duration such as \"2h\"");
  if (request.duration_ms > kMaxWaiverMs) return usage("a waiver lasts at most 30d; renew it if it must stay");
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
  return Waiver{inv->id, request.reason, request.by.empty() ? "unknown" : request.by, now_ms,
                       now_ms + request.duration_ms};
}

store::Status record_waiver(store::Store& store, const std::string& stream, const Waiver& waiver, int64_t now_ms) {
  auto existing = store.waivers(stream);
  if (!existing) return existing.error();
  // Expired waivers are dropped; the journal keeps their history.
  std::vector<Waiver> list = active(existing.value(), now_ms);
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const Waiver& w) { return w.invariant == waiver.invariant; }),
             list.end());
  list.push_back(waiver);
  if (auto e = store.set_waivers(stream, list)) return e;
  JournalRecord rec = journal_record("waiver", stream, now_ms);
  rec.waiver = waiver;
  return store.append(stream, rec);
}

// The LKG's measures under `plan`: stored ones when current, else recomputed
// from the stored bytes. nullopt (with a warning) when unreadable under it.
Result<std::optional<invariants::Measures>> baseline_of(const Plan& plan, store::Store& store,
                                                        const std::string& stream, const LkgRecord& lkg,
                                                        std::vector<std::string>& warnings) {
  auto stored = store.measures(stream, lkg.digest);
  if (!stored) return stored.error();
  if (stored.value() && engine::measures_current(plan, *stored.value())) return stored.value();
  auto bytes = store.artifact(stream, lkg.digest);
  if (!bytes) return bytes.error();
  auto read = engine::read(plan, *bytes);
  if (!read.document) {
    warnings.push_back("the LKG cannot be read under this contract (" + read.unreadable->violations.front().message +
                       "); delta-family invariants have no baseline");
    return std::optional<invariants::Measures>();
  }
  return std::optional<invariants::Measures>(engine::measure(plan, read.document->root, read.size));
}

}  // namespace

Flap detect_flap(const std::vector<JournalRecord>& journal, int64_t now_ms, const FlapOptions& options) {
  Flap flap;
  std::vector<const JournalRecord*> decisions;
  for (const auto& r : journal)
    if (r.event == "decision" && r.time_ms >= now_ms - options.window_ms) decisions.push_back(&r);
  uint32_t flips = 0;
  for (size_t i = 1; i < decisions.size(); ++i)
    if ((decisions[i]->verdict == "accept") != (decisions[i - 1]->verdict == "accept")) ++flips;
  flap.flapping = options.alternations > 0 && flips >= options.alternations;
  if (flap.flapping)
    for (const auto* d : decisions) flap.history.push_back(d->verdict + " " + text::format_rfc3339(d->time_ms));
  return flap;
}

std::optional<int64_t> pinned_since(const std::vector<JournalRecord>& journal) {
  std::optional<int64_t> since;
  for (size_t i = journal.size(); i-- > 0;) {
    const auto& d = journal[i];
    if (d.event != "decision") continue;
    if (d.verdict == "accept") break;
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

Result<Decision> submit(const Contract& contract, store::Store& store, const std::string& stream,
                        std::string_view bytes, const GateOptions& gate, const SubmitOptions& options,
                        const Report* refused) {
  const Plan& plan = ContractAccess::plan(contract);
  if (!store::valid_stream_name(stream))
    return usage("stream name " + text::quoted(stream) +
                 " must be 1-128 characters of A-Z a-z 0-9 . _ - (not starting with . or -)");
  if (gate.keep == 0) return usage("--keep must be at least 1 (the LKG is always kept)");
  Publisher* publisher = options.publisher;

  // 1. Before the lock: read, the stateless invariants, the candidate's measures.
  Prepared c;
  if (refused) {
    c.report = *refused;
  } else {
    c.digest = digest::sha256(bytes);
    auto read = engine::read(plan, bytes);
    c.size = read.size;
    if (!read.document) {
      c.report = std::move(*read.unreadable);
    } else {
      c.document = std::move(read.document);
      c.report = engine::start_report(plan);
      engine::evaluate(plan, c.document->root, c.size, engine::Phase::before_lock, 0, nullptr, c.report);
      c.measures = engine::measure(plan, c.document->root, c.size);
      c.generation = generation_of(plan, c.measures);
      engine::finish(plan, c.report);
      if (options.consumer_check && c.report.verdict == Verdict::accept)
        if (auto why = options.consumer_check(bytes)) add_consumer_violation(c.report, *why);
    }
  }

  // 2. Under the lock: the stream as it is now.
  auto lock = store.lock(stream, !options.dry_run);
  if (!lock) return lock.error();
  int64_t now = engine::now_ms(plan, options.now);
  Decision d;
  d.dry_run = options.dry_run;
  d.candidate = c.digest;
  d.generation = c.generation;
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  d.lkg_before = lkg.value();
  auto journal = store.journal(stream, store::kGateJournalRead);
  if (!journal) return journal.error();
  auto waivers = store.waivers(stream);
  if (!waivers) return waivers.error();
  auto retained = store.accepted(stream);  // verified before anything changes
  if (!retained) return retained.error();
  std::vector<Waiver> in_force = active(waivers.value(), now);
  for (const auto& request : options.waive) {
    auto w = validate_waiver(plan, request, now);
    if (!w) return w.error();
    if (!options.dry_run)
      if (auto e = record_waiver(store, stream, *w, now)) return *e;
    in_force.push_back(*w);
  }
  std::optional<invariants::Measures> baseline;
  if (d.lkg_before) {
    auto b = baseline_of(plan, store, stream, *d.lkg_before, d.warnings);
    if (!b) return b.error();
    baseline = std::move(b.value());
  }
  std::string lkg_bytes;
  if (d.lkg_before) {  // verified now: a pin must be able to publish it
    auto b = store.artifact(stream, d.lkg_before->digest);
    if (!b) return b.error();
    lkg_bytes = std::move(b.value());
  }
  if (c.document)
    engine::evaluate(plan, c.document->root, c.size, engine::Phase::under_lock, now, baseline ? &*baseline : nullptr,
                     c.report, &c.measures);
  if (c.document) apply_waivers(plan, in_force, c.report);
  engine::finish(plan, c.report);
  d.report = std::move(c.report);

  d.action = d.report.verdict == Verdict::accept ? Action::accept : (d.lkg_before ? Action::pin : Action::reject);
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
  rec.lkg_before = d.lkg_before ? d.lkg_before->digest : "";
  rec.contract = plan.name;
  rec.contract_digest = plan.digest();
  if (d.action == Action::accept) {
    LkgRecord next;
    next.stream = stream;
    next.sequence = d.lkg_before ? d.lkg_before->sequence + 1 : 1;
    next.digest = d.candidate;
    next.bytes = bytes.size();
    next.generation = d.generation;
    next.accepted_at_ms = now;
    next.contract = plan.name;
    next.contract_digest = plan.digest();
    d.lkg_after = next;
  } else {
    d.lkg_after = d.lkg_before;
  }
  rec.lkg_after = d.lkg_after ? d.lkg_after->digest : "";
  std::vector<JournalRecord> decisions = std::move(journal.value());
  decisions.push_back(rec);
  Flap flap = detect_flap(decisions, now, gate.flap);
  d.flapping = rec.flapping = flap.flapping;
  d.flap_history = std::move(flap.history);
  d.pinned_since_ms = pinned_since(decisions);
  if (d.pinned_since_ms && now - *d.pinned_since_ms > gate.pinned_warn_ms)
    d.warnings.push_back("the stream has been pinned to its LKG for " + text::format_duration(now - *d.pinned_since_ms) +
                         " (since " + text::format_rfc3339(*d.pinned_since_ms) + "), longer than " +
                         text::format_duration(gate.pinned_warn_ms));
  if (d.action == Action::accept) d.artifact = std::make_shared<const std::string>(bytes);
  if (d.action == Action::pin) d.artifact = std::make_shared<const std::string>(std::move(lkg_bytes));
  if (options.dry_run) return d;

  // 3. Stage the publication, commit the state, journal, then publish.
  std::string_view publish = d.artifact ? std::string_view(*d.artifact) : std::string_view();
  if (publisher && d.action != Action::reject)
    if (auto e = publisher->prepare(publish)) return *e;
  if (d.action == Action::accept)
    if (auto e = store.promote(stream, bytes, c.measures, *d.lkg_after, gate.keep)) return *e;
  fault::point("gate:promoted");
  if (auto e = store.append(stream, rec)) return *e;
  if (publisher && d.action != Action::reject)
    if (auto e = publisher->commit()) return *e;
  return d;
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
    refused.artifact = path;
    return submit(contract, store, stream, {}, gate, options, &refused);
  }
  auto d = submit(contract, store, stream, *bytes, gate, options);
  if (d) d->report.artifact = path;
  return d;
}

Result<Waiver> waive(const Contract& contract, store::Store& store, const std::string& stream,
                            const WaiverRequest& request, std::optional<std::chrono::system_clock::time_point> now) {
  const Plan& plan = ContractAccess::plan(contract);
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  auto lock = store.lock(stream, true);
  if (!lock) return lock.error();
  int64_t now_ms = engine::now_ms(plan, now);
  auto w = validate_waiver(plan, request, now_ms);
  if (!w) return w.error();
  if (auto e = record_waiver(store, stream, *w, now_ms)) return *e;
  return w;
}

Result<StreamStatus> status(store::Store& store, const std::string& stream, int64_t now_ms, const GateOptions& options,
                            size_t recent) {
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  auto lock = store.lock(stream, false);
  if (!lock) return lock.error();
  StreamStatus s;
  s.stream = stream;
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  s.lkg = lkg.value();
  if (s.lkg) {  // verify what a pin would publish, and what a gate would compare with
    auto bytes = store.artifact(stream, s.lkg->digest);
    if (!bytes) return bytes.error();
    auto measures = store.measures(stream, s.lkg->digest);
    if (!measures) return measures.error();
  }
  auto accepted = store.accepted(stream);
  if (!accepted) return accepted.error();
  s.retained = accepted->size();
  for (const auto& entry : accepted.value()) {  // every artifact a backtest would read
    auto bytes = store.artifact(stream, entry.digest);
    if (!bytes) return bytes.error();
  }
  if (s.lkg && (accepted->empty() || accepted->back().digest != s.lkg->digest))
    s.warnings.push_back("the retention list does not end with the LKG (a gate was interrupted right after promoting; the next promotion repairs it)");
  auto waivers = store.waivers(stream);
  if (!waivers) return waivers.error();
  s.active_waivers = active(waivers.value(), now_ms);
  auto journal = store.journal(stream);
  if (!journal) return journal.error();
  for (size_t i = journal->size(); i-- > 0 && s.recent.size() < recent;)
    if ((*journal)[i].event == "decision") s.recent.push_back((*journal)[i]);
  Flap f = detect_flap(journal.value(), now_ms, options.flap);
  s.flapping = f.flapping;
  s.flap_history = std::move(f.history);
  s.pinned_since_ms = pinned_since(journal.value());
  if (s.pinned_since_ms && now_ms - *s.pinned_since_ms > options.pinned_warn_ms)
    s.warnings.push_back("pinned to the LKG for " + text::format_duration(now_ms - *s.pinned_since_ms) +
                         ", longer than " + text::format_duration(options.pinned_warn_ms));
  return s;
}

Result<std::vector<BacktestRow>> backtest(const Contract& contract, store::Store& store, const std::string& stream) {
  const Plan& plan = ContractAccess::plan(contract);
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  auto lock = store.lock(stream, false);
  if (!lock) return lock.error();
  auto accepted = store.accepted(stream);
  if (!accepted) return accepted.error();
  std::vector<BacktestRow> rows;
  std::optional<invariants::Measures> previous;
  for (const auto& entry : accepted.value()) {
    auto bytes = store.artifact(stream, entry.digest);
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
                       previous ? &*previous : nullptr, row.report);
      engine::finish(plan, row.report);
      previous = engine::measure(plan, read.document->root, read.size);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace invar::gate
