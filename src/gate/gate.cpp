#include "gate/gate.hpp"

#include <fcntl.h>
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

namespace invar::gate {

namespace fs = std::filesystem;

std::string_view to_string(Action a) {
  switch (a) {
    case Action::accept: return "accept";
    case Action::reject: return "reject";
    case Action::pin: return "pin";
  }
  return "?";
}

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

struct Flap {
  bool flapping = false;
  std::vector<std::string> history;
};

// Alternations between accept and not-accept among the decisions within the
// window (the journal's, then `current` if given).
Flap detect_flap(const std::vector<store::JournalRecord>& journal, const store::JournalRecord* current, int64_t now_ms,
                 const FlapOptions& options) {
  Flap flap;
  std::vector<const store::JournalRecord*> decisions;
  for (const auto& r : journal)
    if (r.event == "decision" && r.time_ms >= now_ms - options.window_ms) decisions.push_back(&r);
  if (current) decisions.push_back(current);
  uint32_t flips = 0;
  for (size_t i = 1; i < decisions.size(); ++i)
    if ((decisions[i]->verdict == "accept") != (decisions[i - 1]->verdict == "accept")) ++flips;
  flap.flapping = options.alternations > 0 && flips >= options.alternations;
  if (flap.flapping)
    for (const auto* d : decisions) flap.history.push_back(d->verdict + " " + text::format_rfc3339(d->time_ms));
  return flap;
}

// Since when the stream has been serving its LKG instead of new candidates.
std::optional<int64_t> pinned_since(const std::vector<store::JournalRecord>& journal,
                                    const store::JournalRecord* current) {
  std::vector<const store::JournalRecord*> decisions;
  for (const auto& r : journal)
    if (r.event == "decision") decisions.push_back(&r);
  if (current) decisions.push_back(current);
  if (decisions.empty() || decisions.back()->verdict != "pin") return std::nullopt;
  int64_t since = decisions.back()->time_ms;
  for (size_t i = decisions.size(); i-- > 0;) {
    if (decisions[i]->verdict == "accept") break;
    if (decisions[i]->verdict == "pin") since = decisions[i]->time_ms;
  }
  return since;
}

std::vector<store::Waiver> active(const std::vector<store::Waiver>& waivers, int64_t now_ms) {
  std::vector<store::Waiver> out;
  for (const auto& w : waivers)
    if (w.expires_ms > now_ms) out.push_back(w);
  return out;
}

// Marks failed invariants with an active waiver as waived.
void apply_waivers(const Plan& plan, const std::vector<store::Waiver>& waivers, Report& report) {
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

Result<store::Waiver> validate_waiver(const Plan& plan, const WaiverRequest& request, int64_t now_ms) {
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
  return store::Waiver{inv->id, request.reason, request.by.empty() ? "unknown" : request.by, now_ms,
                       now_ms + request.duration_ms};
}

store::Status record_waiver(store::Store& store, const std::string& stream, const store::Waiver& waiver, int64_t now_ms) {
  auto existing = store.waivers(stream);
  if (!existing) return existing.error();
  // Expired waivers are dropped; the journal keeps their history.
  std::vector<store::Waiver> list = active(existing.value(), now_ms);
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const store::Waiver& w) { return w.invariant == waiver.invariant; }),
             list.end());
  list.push_back(waiver);
  if (auto e = store.set_waivers(stream, list)) return e;
  store::JournalRecord rec;
  rec.event = "waiver";
  rec.time_ms = now_ms;
  rec.stream = stream;
  rec.host = hostname();
  rec.pid = getpid();
  rec.waiver = waiver;
  return store.append(stream, rec);
}

// The LKG's measures under `plan`: stored ones when current, else recomputed
// from the stored bytes. nullopt (with a warning) when unreadable under it.
Result<std::optional<invariants::Measures>> baseline_of(const Plan& plan, store::Store& store,
                                                        const std::string& stream, const store::LkgRecord& lkg,
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

Result<Decision> submit(const Contract& contract, store::Store& store, std::string_view bytes, const Options& options,
                        Publisher* publisher, const Report* refused) {
  const Plan& plan = ContractAccess::plan(contract);
  if (!store::valid_stream_name(options.stream))
    return usage("stream name " + text::quoted(options.stream) +
                 " must be 1-128 characters of A-Z a-z 0-9 . _ - (not starting with . or -)");
  if (options.keep == 0) return usage("--keep must be at least 1 (the LKG is always kept)");

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
    }
  }

  // 2. Under the lock: the stream as it is now.
  auto lock = store.lock(options.stream, !options.dry_run);
  if (!lock) return lock.error();
  int64_t now = engine::now_ms(options.now);
  Decision d;
  d.dry_run = options.dry_run;
  d.candidate = c.digest;
  d.generation = c.generation;
  auto lkg = store.lkg(options.stream);
  if (!lkg) return lkg.error();
  d.lkg_before = lkg.value();
  auto journal = store.journal(options.stream, store::kGateJournalRead);
  if (!journal) return journal.error();
  auto waivers = store.waivers(options.stream);
  if (!waivers) return waivers.error();
  auto retained = store.accepted(options.stream);  // verified before anything changes
  if (!retained) return retained.error();
  std::vector<store::Waiver> in_force = active(waivers.value(), now);
  for (const auto& request : options.waive) {
    auto w = validate_waiver(plan, request, now);
    if (!w) return w.error();
    if (!options.dry_run)
      if (auto e = record_waiver(store, options.stream, *w, now)) return *e;
    in_force.push_back(*w);
  }
  std::optional<invariants::Measures> baseline;
  if (d.lkg_before) {
    auto b = baseline_of(plan, store, options.stream, *d.lkg_before, d.warnings);
    if (!b) return b.error();
    baseline = std::move(b.value());
  }
  std::string lkg_bytes;
  if (d.lkg_before) {  // verified now: a pin must be able to publish it
    auto b = store.artifact(options.stream, d.lkg_before->digest);
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
  store::JournalRecord rec;
  rec.event = "decision";
  rec.time_ms = now;
  rec.stream = options.stream;
  rec.host = hostname();
  rec.pid = getpid();
  rec.verdict = std::string(to_string(d.action));
  rec.candidate = d.candidate;
  rec.generation = d.generation;
  for (const auto& r : d.report.invariants) {
    if (r.outcome == Outcome::fail && r.severity == Severity::error) rec.failed.push_back(r.id);
    if (r.outcome == Outcome::waived) rec.waived.push_back(r.id);
  }
  for (const auto& v : d.report.violations)
    if (v.kind == "artifact" && std::find(rec.failed.begin(), rec.failed.end(), v.invariant) == rec.failed.end())
      rec.failed.push_back(v.invariant);
  rec.lkg_before = d.lkg_before ? d.lkg_before->digest : "";
  rec.contract = plan.name;
  rec.contract_digest = plan.digest;
  if (d.action == Action::accept) {
    store::LkgRecord next;
    next.stream = options.stream;
    next.sequence = d.lkg_before ? d.lkg_before->sequence + 1 : 1;
    next.digest = d.candidate;
    next.bytes = bytes.size();
    next.generation = d.generation;
    next.accepted_at_ms = now;
    next.contract = plan.name;
    next.contract_digest = plan.digest;
    d.lkg_after = next;
  } else {
    d.lkg_after = d.lkg_before;
  }
  rec.lkg_after = d.lkg_after ? d.lkg_after->digest : "";
  Flap flap = detect_flap(journal.value(), &rec, now, options.flap);
  d.flapping = rec.flapping = flap.flapping;
  d.flap_history = std::move(flap.history);
  d.pinned_since_ms = pinned_since(journal.value(), &rec);
  if (d.pinned_since_ms && now - *d.pinned_since_ms > options.pinned_warn_ms)
    d.warnings.push_back("the stream has been pinned to its LKG for " + text::format_duration(now - *d.pinned_since_ms) +
                         " (since " + text::format_rfc3339(*d.pinned_since_ms) + "), longer than " +
                         text::format_duration(options.pinned_warn_ms));
  if (options.dry_run) return d;

  // 3. Stage the publication, commit the state, journal, then publish.
  std::string_view publish = d.action == Action::accept ? bytes : std::string_view(lkg_bytes);
  if (publisher && d.action != Action::reject)
    if (auto e = publisher->prepare(publish)) return *e;
  if (d.action == Action::accept)
    if (auto e = store.promote(options.stream, bytes, c.measures, *d.lkg_after, options.keep)) return *e;
  fault::point("gate:promoted");
  if (auto e = store.append(options.stream, rec)) return *e;
  if (publisher && d.action != Action::reject)
    if (auto e = publisher->commit()) return *e;
  return d;
}

Result<Decision> submit_file(const Contract& contract, store::Store& store, const std::string& path,
                             const Options& options, Publisher* publisher) {
  const Plan& plan = ContractAccess::plan(contract);
  auto bytes = files::read_file(path, plan.read_limits.max_bytes, "artifact");
  if (!bytes) {
    if (bytes.error().code != ErrorCode::limit) return bytes.error();
    // Over the size limit: a verdict (reject/pin), not an inability to judge.
    Report refused = engine::unreadable(plan, "size", bytes.error().message + " (refused before reading)", "",
                                        engine::size_expectation(plan), bytes.error().message);
    refused.artifact = path;
    return submit(contract, store, {}, options, publisher, &refused);
  }
  auto d = submit(contract, store, *bytes, options, publisher);
  if (d) d->report.artifact = path;
  return d;
}

namespace {

class FilePublisher : public Publisher {
 public:
  explicit FilePublisher(std::string path) : path_(std::move(path)) {}
  ~FilePublisher() override {
    if (!staged_.empty()) ::unlink(staged_.c_str());
  }

  std::optional<Error> prepare(std::string_view bytes) override {
    staged_ = path_ + ".invar-tmp-" + std::to_string(getpid());
    int fd = ::open(staged_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return io("cannot write the artifact to publish");
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        auto e = io("cannot write the artifact to publish");
        ::close(fd);
        return e;
      }
      done += static_cast<size_t>(n);
    }
    bool ok = ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return io("cannot fsync the artifact to publish");
    return std::nullopt;
  }

  std::optional<Error> commit() override {
    if (::rename(staged_.c_str(), path_.c_str()) != 0) return io("cannot publish");
    staged_.clear();
    std::string dir = fs::path(path_).has_parent_path() ? fs::path(path_).parent_path().string() : ".";
    return files::sync_dir(dir);
  }

 private:
  Error io(const std::string& what) const {
    Error e;
    e.code = ErrorCode::io;
    e.message = what + ": " + std::strerror(errno);
    e.where.file = path_;
    return e;
  }
  std::string path_;
  std::string staged_;
};

}  // namespace

std::unique_ptr<Publisher> file_publisher(const std::string& path) { return std::make_unique<FilePublisher>(path); }

Result<store::Waiver> waive(const Contract& contract, store::Store& store, const std::string& stream,
                            const WaiverRequest& request, std::optional<std::chrono::system_clock::time_point> now) {
  const Plan& plan = ContractAccess::plan(contract);
  if (!store::valid_stream_name(stream)) return usage("stream name " + text::quoted(stream) + " is not valid");
  auto lock = store.lock(stream, true);
  if (!lock) return lock.error();
  int64_t now_ms = engine::now_ms(now);
  auto w = validate_waiver(plan, request, now_ms);
  if (!w) return w.error();
  if (auto e = record_waiver(store, stream, *w, now_ms)) return *e;
  return w;
}

Result<StreamStatus> status(store::Store& store, const std::string& stream, int64_t now_ms, const FlapOptions& flap,
                            int64_t pinned_warn_ms, size_t recent) {
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
  Flap f = detect_flap(journal.value(), nullptr, now_ms, flap);
  s.flapping = f.flapping;
  s.flap_history = std::move(f.history);
  s.pinned_since_ms = pinned_since(journal.value(), nullptr);
  if (s.pinned_since_ms && now_ms - *s.pinned_since_ms > pinned_warn_ms)
    s.warnings.push_back("pinned to the LKG for " + text::format_duration(now_ms - *s.pinned_since_ms) +
                         ", longer than " + text::format_duration(pinned_warn_ms));
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
