// The load of bench/fleet-scale (which starts the etcd cluster and prints
// the table): long-lived gates through the library API (include/invar/gate.hpp),
// one per etcd member, each shared by worker threads. A process per decision
// would cost 20-50 ms of CPU each: 150 of them a second is more than two
// cores; through the library a decision costs the judgement and its requests.
//
// Each second (a "tick"), every stream gets a new generation of its ~5 KB
// artifact, submitted by the three gates at once: one promotes it, the others
// find it unchanged (or, judged before that commit, find their commit refused
// and judge again). At the end every stream's journal is read back: the
// LKG's sequence and its generation only ever rise ("inversions": 0).
//
//   invar_fleet_scale --members A,B,C --prefix P [--streams 50] [--duration 60] [--threads 48]
// prints one JSON object (bench/fleet-scale reads it).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "invar/gate.hpp"
#include "invar/invar.hpp"

namespace {

using Clock = std::chrono::steady_clock;

const char* kContract = R"j({"contract": "fleet-scale", "invariants": [
  {"id": "gen", "monotonic": "$.generation", "strict": true},
  {"id": "items", "count": "$.items[*]", "min": 1, "max": 5000},
  {"id": "growth", "delta": "count($.items[*])", "max_increase": "10%"}]})j";

std::string artifact(int stream, int generation) {
  std::string out = "{\"generation\": " + std::to_string(generation) + ", \"stream\": " + std::to_string(stream) +
                    ", \"items\": [";
  for (int i = 0; i < 1000; ++i) out += (i ? ", " : "") + std::to_string(1000 + i);
  return out + "]}";
}

struct Task {
  int stream, gate, generation;
  Clock::time_point due;
};

struct Totals {
  std::mutex mutex;
  std::vector<double> latency_ms, late_ms;
  uint64_t accept = 0, unchanged = 0, pin = 0, reject = 0, errors = 0;
  std::vector<std::string> error_samples;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p / 100 * (v.size() - 1) + 0.5))];
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

// The journal of `stream`, oldest first: the LKG's sequence never falls and
// each accept's generation is above the last accepted one's.
uint64_t inversions(const invar::StateStore& store, const std::string& stream, uint64_t& records) {
  auto history = store.history(stream);
  if (!history) return 1;
  uint64_t out = 0, sequence = 0;
  long long generation = -1;
  for (const auto& r : *history) {
    if (r.event != "decision") continue;
    ++records;
    if (r.lkg_sequence) {
      if (r.lkg_sequence < sequence) ++out;
      sequence = std::max(sequence, r.lkg_sequence);
    }
    if (r.verdict == "accept") {
      long long g = std::atoll(r.generation.c_str());
      if (g <= generation) ++out;
      generation = g;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> members;
  std::string list = arg(argc, argv, "--members", "");
  for (size_t at = 0; at <= list.size();) {
    size_t comma = list.find(',', at);
    members.push_back(list.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  const std::string prefix = arg(argc, argv, "--prefix", "scale");
  const int streams = std::atoi(arg(argc, argv, "--streams", "50").c_str());
  const int duration = std::atoi(arg(argc, argv, "--duration", "60").c_str());
  const int threads = std::atoi(arg(argc, argv, "--threads", "48").c_str());
  if (members.size() != 3 || members[0].empty() || streams < 1 || duration < 1 || threads < 1) {
    std::fprintf(stderr, "usage: invar_fleet_scale --members A,B,C [--prefix P] [--streams N] [--duration S] [--threads T]\n");
    return 2;
  }
  auto contract = invar::Contract::load_string(kContract, ".", "fleet-scale.contract.json");
  if (!contract) {
    std::fprintf(stderr, "contract: %s\n", contract.error().to_string().c_str());
    return 1;
  }
  // Gate i talks to member i first (then fails over to the others).
  std::vector<invar::StateStore> stores;
  std::vector<std::unique_ptr<invar::Gate>> gates;
  for (size_t i = 0; i < 3; ++i) {
    std::string url = "etcd://" + members[i];
    for (size_t k = 0; k < 3; ++k)
      if (k != i) url += "," + members[k];
    auto store = invar::StateStore::open(url + "/" + prefix);
    if (!store) {
      std::fprintf(stderr, "store: %s\n", store.error().to_string().c_str());
      return 1;
    }
    stores.push_back(*store);
    invar::GateOptions options;
    options.create_streams = i == 0;
    gates.push_back(std::make_unique<invar::Gate>(*contract, *store, options));
  }
  auto name = [](int s) { return "s" + std::to_string(s); };
  for (int s = 0; s < streams; ++s) {  // generation 0: creates the stream (not counted)
    auto d = gates[0]->submit(name(s), artifact(s, 0));
    if (!d) {
      std::fprintf(stderr, "setup %s: %s\n", name(s).c_str(), d.error().to_string().c_str());
      return 1;
    }
  }

  std::mutex queue_mutex;
  std::condition_variable ready;
  std::deque<Task> queue;
  bool done = false;
  Totals totals;
  auto worker = [&] {
    for (;;) {
      Task t;
      {
        std::unique_lock<std::mutex> lock(queue_mutex);
        ready.wait(lock, [&] { return done || !queue.empty(); });
        if (queue.empty()) return;
        t = queue.front();
        queue.pop_front();
      }
      auto started = Clock::now();
      auto d = gates[t.gate]->submit(name(t.stream), artifact(t.stream, t.generation));
      auto ended = Clock::now();
      std::lock_guard<std::mutex> g(totals.mutex);
      totals.latency_ms.push_back(std::chrono::duration<double, std::milli>(ended - started).count());
      totals.late_ms.push_back(std::chrono::duration<double, std::milli>(started - t.due).count());
      if (!d) {
        ++totals.errors;
        if (totals.error_samples.size() < 5) totals.error_samples.push_back(d.error().to_string());
        continue;
      }
      switch (d->action) {
        case invar::Action::accept: ++totals.accept; break;
        case invar::Action::unchanged: ++totals.unchanged; break;
        case invar::Action::pin: ++totals.pin; break;
        case invar::Action::reject: ++totals.reject; break;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  const auto start = Clock::now();
  for (int tick = 1; tick <= duration; ++tick) {
    auto due = start + std::chrono::seconds(tick - 1);
    std::this_thread::sleep_until(due);  // the load's schedule: one generation per stream per second
    std::lock_guard<std::mutex> lock(queue_mutex);
    for (int s = 0; s < streams; ++s)
      for (int g = 0; g < 3; ++g) queue.push_back({s, g, tick, due});
    ready.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(queue_mutex);
    done = true;
  }
  ready.notify_all();
  for (auto& t : pool) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  uint64_t bad = 0, records = 0;
  for (int s = 0; s < streams; ++s) bad += inversions(stores[0], name(s), records);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  const uint64_t submits = totals.latency_ms.size();
  std::printf("{\"streams\": %d, \"duration_s\": %d, \"elapsed_s\": %.2f, \"submits\": %llu, "
              "\"submits_per_s\": %.1f, \"promotions_per_s\": %.1f, \"p50_ms\": %.1f, \"p99_ms\": %.1f, "
              "\"late_p99_ms\": %.1f, \"accept\": %llu, \"unchanged\": %llu, \"pin\": %llu, \"reject\": %llu, "
              "\"errors\": %llu, \"inversions\": %llu, \"journal_decisions\": %llu, \"cpu_user_s\": %.2f, "
              "\"cpu_sys_s\": %.2f, \"max_rss_kb\": %ld, \"minor_faults\": %ld",
              streams, duration, elapsed, static_cast<unsigned long long>(submits), submits / elapsed,
              totals.accept / elapsed, percentile(totals.latency_ms, 50), percentile(totals.latency_ms, 99),
              percentile(totals.late_ms, 99), static_cast<unsigned long long>(totals.accept),
              static_cast<unsigned long long>(totals.unchanged), static_cast<unsigned long long>(totals.pin),
              static_cast<unsigned long long>(totals.reject), static_cast<unsigned long long>(totals.errors),
              static_cast<unsigned long long>(bad), static_cast<unsigned long long>(records),
              usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6, usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6,
              usage.ru_maxrss, usage.ru_minflt);
  std::printf(", \"error_samples\": [");
  for (size_t i = 0; i < totals.error_samples.size(); ++i) {
    std::string e = totals.error_samples[i];
    for (auto& c : e)
      if (c == '"' || c == '\\' || c == '\n') c = ' ';
    std::printf("%s\"%s\"", i ? ", " : "", e.c_str());
  }
  std::printf("]}\n");
  return totals.errors || bad ? 1 : 0;
}
