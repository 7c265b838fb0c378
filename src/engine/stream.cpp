#include "engine/stream.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "artifact/ndjson.hpp"
#include "artifact/split.hpp"
#include "common/files.hpp"
#include "engine/evaluate.hpp"

namespace invar {

const engine::StreamLayout* Plan::stream_layout(ArtifactFormat format) const {
  if (format == ArtifactFormat::yaml) return nullptr;  // read whole (no batches of YAML yet)
  const size_t k = format == ArtifactFormat::ndjson ? 1 : 0;
  std::call_once(layout_once_[k], [this, format, k] { layout_[k] = engine::layout_of(*this, format); });
  return layout_[k].get();
}

namespace engine {

namespace {

// The reading buffer: the file is read this much at a time.
constexpr size_t kReadChunkBytes = 1 << 20;
// The most the skeleton may hold: beyond, another member is large too, and
// the whole document is read instead.
constexpr uint64_t kMaxSkeletonBytes = 16 << 20;
// NDJSON is read in batches from this size, or from Options::stream_min_bytes if smaller.
constexpr uint64_t kNdjsonStreamMinBytes = 1 << 20;

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Batches handed from the reading thread to the judging threads: at most
// `capacity` in flight, their buffers reused.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}

  // Copies a batch in (with the padding after it); false once stopped.
  bool push(std::string_view bytes) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return stopped_ || in_flight_ < capacity_; });
    if (stopped_) return false;
    ++in_flight_;
    std::string buffer;
    if (!free_.empty()) {
      buffer = std::move(free_.back());
      free_.pop_back();
    }
    lock.unlock();
    buffer.assign(bytes.data(), bytes.size() + artifact::BatchSplitter::kPadding);
    lock.lock();
    ready_.push_back({std::move(buffer), bytes.size()});
    work_.notify_one();
    return true;
  }
  // The next batch; false when stopped, or closed and empty.
  bool pop(std::string& buffer, size_t& length) {
    std::unique_lock lock(mutex_);
    work_.wait(lock, [&] { return stopped_ || closed_ || !ready_.empty(); });
    if (stopped_ || ready_.empty()) return false;
    buffer = std::move(ready_.front().first);
    length = ready_.front().second;
    ready_.pop_front();
    return true;
  }
  void recycle(std::string buffer) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(buffer));
    --in_flight_;
    room_.notify_one();
  }
  void close() { set(closed_); }
  void stop() { set(stopped_); }

 private:
  void set(bool& flag) {
    std::lock_guard lock(mutex_);
    flag = true;
    work_.notify_all();
    room_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable work_, room_;
  std::deque<std::pair<std::string, size_t>> ready_;
  std::vector<std::string> free_;
  size_t capacity_, in_flight_ = 0;
  bool closed_ = false, stopped_ = false;
};

// The member a selector goes through element by element, if any.
void vote(const selector::Selector& s, std::map<std::string, size_t, std::less<>>& votes) {
  if (!s.relative() && !s.first_name().empty() && s.selects_each_at(1)) ++votes[std::string(s.first_name())];
}

// One judging thread's share: its own judges, fed whole batches.
struct Worker {
  Worker(const Plan& plan, const StreamLayout& layout, const invariants::EvalContext& ctx,
         std::shared_ptr<artifact::DocumentPool> pool, unsigned workers)
      : plan(plan), judges(plan.invariants.size()), took(plan.invariants.size()), pool(std::move(pool)) {
    for (size_t i = 0; i < plan.invariants.size(); ++i)
      if (layout.roles[i] == invariants::StreamRole::member)
        judges[i] = invariants::streamed(plan.invariants[i], ctx, layout.splits[i], layout.member, workers);
  }

  // One batch parsed strictly and judged; false when not proven to pass.
  bool judge(std::string_view bytes) {
    auto parse_start = std::chrono::steady_clock::now();
    auto parsed = artifact::parse(bytes, plan.read_limits, /*padded=*/true, /*scan=*/true, 1, pool);
    parse_ms += ms_since(parse_start);
    if (!parsed.document) return passed = false;
    values += parsed.document->values - wrapper_values;  // not the batch's own containers
    if (values > plan.read_limits.max_nodes) return passed = false;
    for (size_t i = 0; i < judges.size(); ++i) {
      if (!judges[i]) continue;
      auto judge_start = std::chrono::steady_clock::now();
      bool ok = judges[i]->batch(parsed.document->root, bytes.size());
      took[i] += ms_since(judge_start);
      if (!ok) return passed = false;
    }
    return true;
  }

  // Judges the queue's batches until it is closed (or one fails: then it stops the queue).
  void drain(BatchQueue& queue) {
    std::string buffer;
    size_t length = 0;
    while (queue.pop(buffer, length)) {
      if (!judge(std::string_view(buffer.data(), length))) queue.stop();
      queue.recycle(std::move(buffer));
    }
  }

  bool merge(Worker& other) {
    passed = passed && other.passed;
    values += other.values;
    parse_ms += other.parse_ms;
    for (size_t i = 0; i < judges.size(); ++i) {
      took[i] += other.took[i];
      if (passed && judges[i]) passed = judges[i]->merge(*other.judges[i]);
    }
    return passed && values <= plan.read_limits.max_nodes;
  }

  const Plan& plan;
  std::vector<std::unique_ptr<invariants::Streamed>> judges;
  std::vector<double> took;
  std::shared_ptr<artifact::DocumentPool> pool;
  uint64_t values = 0, wrapper_values = 0;
  double parse_ms = 0;
  bool passed = true;
};

// Reads the file through the splitter; false when the split fails or a
// batch is not proven to pass.
bool read_split(int fd, uint64_t max_bytes, artifact::BatchSplitter& splitter, const artifact::BatchSplitter::Batch& batch) {
  std::string chunk(kReadChunkBytes, '\0');
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > max_bytes) return false;  // it grew: the whole read refuses it
    if (!splitter.feed(std::string_view(chunk.data(), static_cast<size_t>(n)), batch)) return false;
  }
  return splitter.finish(batch);
}

}  // namespace

std::shared_ptr<const StreamLayout> layout_of(const Plan& plan, ArtifactFormat format) {
  std::map<std::string, size_t, std::less<>> votes;
  if (format == ArtifactFormat::ndjson) {
    votes[""] = 1;  // the records, whatever the selectors say
  } else {
    for (const auto& inv : plan.invariants) {
      if (inv.each) vote(*inv.each, votes);
      vote(inv.target, votes);
      if (inv.refs_in) vote(*inv.refs_in, votes);
    }
  }
  auto best = votes.begin();
  for (auto it = votes.begin(); it != votes.end(); ++it)
    if (it->second > best->second) best = it;
  if (best == votes.end() && format == ArtifactFormat::json && plan.invariants.size() == 1 && plan.invariants[0].kind == invariants::Kind::schema) {
    // A plain schema: the member its root splits on, when exactly one does.
    if (plan.invariants[0].schema && plan.invariants[0].target.depth() == 0) {
      auto names = plan.invariants[0].schema->splittable_members();
      if (names.size() == 1) votes[names.front()] = 1;
    }
    best = votes.begin();
  }
  if (best == votes.end()) return nullptr;
  auto layout = std::make_shared<StreamLayout>();
  layout->member = best->first;
  for (const auto& inv : plan.invariants) {
    std::optional<schema::Validator::MemberSplit> split;
    if (inv.kind == invariants::Kind::schema && inv.schema && inv.target.depth() == 0 && !inv.target.relative())
      split = inv.schema->split_member(layout->member);
    auto role = invariants::stream_role(inv, layout->member, split.has_value());
    if (role == invariants::StreamRole::none) return nullptr;
    layout->roles.push_back(role);
    layout->splits.push_back(std::move(split));
  }
  return layout;
}

std::optional<Report> check_streamed(const Plan& plan, const std::string& path, const CheckContext& context) {
  const ArtifactFormat format = context.format.value_or(plan.format.value_or(ArtifactFormat::json));
  const StreamLayout* layout = plan.stream_layout(format);
  const Options& options = plan.options;
  if (!layout || options.stream_min_bytes == 0 || path == files::kStdin || context.baseline ||
      plan.read_limits.allow_duplicate_keys)
    return std::nullopt;
  auto opened = files::open_for_reading(path, "artifact", true);
  if (!opened) return std::nullopt;
  Descriptor fd(*opened);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  // NDJSON has no skeleton to read again, so batches pay from smaller sizes.
  const uint64_t from = format == ArtifactFormat::ndjson ? std::min(options.stream_min_bytes, kNdjsonStreamMinBytes)
                                                         : options.stream_min_bytes;
  if (size < from || size > plan.read_limits.max_bytes) return std::nullopt;

  const auto start = std::chrono::steady_clock::now();
  invariants::MemoryBudget memory(options.limits.max_invariant_bytes);
  invariants::EvalContext ctx = context_for(plan, size, now_ms(plan, context.now), {}, memory);
  auto pool = options.reuse_parsers ? plan.documents : std::make_shared<artifact::DocumentPool>();
  const unsigned threads = threads_for(plan, size);
  std::vector<Worker> workers;
  for (unsigned w = 0; w < threads; ++w) workers.emplace_back(plan, *layout, ctx, pool, threads);

  const uint64_t batch_bytes = std::max<uint64_t>(options.stream_batch_bytes, 1);
  std::unique_ptr<artifact::BatchSplitter> splitter;
  if (format == ArtifactFormat::ndjson) splitter = std::make_unique<artifact::LineSplitter>(batch_bytes);
  else splitter = std::make_unique<artifact::MemberSplitter>(layout->member, batch_bytes, kMaxSkeletonBytes);
  for (auto& worker : workers) worker.wrapper_values = splitter->wrapper_values();
  std::optional<BatchQueue> queue;
  std::vector<std::thread> running;
  if (threads > 1) {
    queue.emplace(2 * threads);
    try {
      for (auto& worker : workers) running.emplace_back([&queue, &worker] { worker.drain(*queue); });
    } catch (const std::system_error&) {  // no thread to be had: the whole document, as before
      queue->stop();
      for (auto& t : running) t.join();
      return std::nullopt;
    }
  }
  auto batch = [&](std::string_view bytes) { return queue ? queue->push(bytes) : workers[0].judge(bytes); };
  const bool split = read_split(fd.get(), plan.read_limits.max_bytes, *splitter, batch);
  if (queue) {
    queue->close();
    for (auto& t : running) t.join();
  }
  if (!split) return std::nullopt;
  for (size_t w = 1; w < workers.size(); ++w)
    if (!workers[0].merge(workers[w])) return std::nullopt;
  Worker& judges = workers[0];
  if (!judges.passed) return std::nullopt;
  uint64_t values = judges.values;
  double parse_ms = judges.parse_ms;
  std::vector<double>& took = judges.took;

  // The skeleton, strictly read, with the member's array empty.
  std::string skeleton = splitter->skeleton();
  const size_t skeleton_size = skeleton.size();
  skeleton.resize(skeleton_size + artifact::BatchSplitter::kPadding, ' ');
  auto parse_start = std::chrono::steady_clock::now();
  auto parsed = artifact::parse(std::string_view(skeleton.data(), skeleton_size), plan.read_limits, true, true, 1, pool);
  parse_ms += ms_since(parse_start);
  if (!parsed.document) return std::nullopt;
  values += parsed.document->values;
  if (values > plan.read_limits.max_nodes) return std::nullopt;
  simdjson::dom::element root = parsed.document->root;
  simdjson::dom::array emptied;
  auto error = layout->member.empty() ? root.get(emptied) : root.at_key(layout->member).get(emptied);
  if (error != simdjson::SUCCESS || emptied.size() != 0) return std::nullopt;

  Report report = start_report(plan);
  ctx.source = std::string_view(skeleton.data(), skeleton_size);
  for (size_t i = 0; i < plan.invariants.size(); ++i) {
    auto judge_start = std::chrono::steady_clock::now();
    if (judges.judges[i]) {
      if (!judges.judges[i]->finish(root)) return std::nullopt;
    } else {
      std::vector<Violation> found;
      judge(plan.invariants[i], root, size, ctx, nullptr, nullptr, report.invariants[i], found);
      if (!found.empty() || report.invariants[i].outcome == Outcome::fail) return std::nullopt;
    }
    took[i] += ms_since(judge_start);
  }
  finish(plan, report);
  if (report.verdict != Verdict::accept || !report.violations.empty()) return std::nullopt;
  if (context.collect_stats) {
    Stats stats;
    stats.parse_ms = parse_ms;
    stats.evaluate_ms = ms_since(start);
    stats.bytes = size;
    stats.values = values;
    stats.batches = splitter->batches();
    stats.threads = threads;
    for (size_t i = 0; i < plan.invariants.size(); ++i)
      stats.invariants.push_back(
          {plan.invariants[i].id, std::string(invariants::kind_name(plan.invariants[i].kind)), took[i]});
    stats.peak_rss_kb = peak_rss_kb();
    report.stats = std::move(stats);
  }
  return report;
}

}  // namespace engine
}  // namespace invar
