// EtcdClient::watch: etcd's watch stream through its JSON gateway. POST
// /v3/watch with a create_request answers with a stream of JSON objects,
// one a line: {"result":{"header":{..."revision"},"created":true}} first,
// then one per batch of events ({"result":{...,"events":[...]}}), or
// {"result":{"canceled":true,"compact_revision":N}} when the revision asked
// for was compacted; an error is {"error":...,"code":N}. The stream is read
// through libcurl's multi interface so that a silent stream still sees the
// deadline and the stop predicate (every kWatchTick: no busy loop). It stays
// open between waits (creating one costs etcd more than a read): a wait
// past revision R uses an open stream that started at or before R+1 (it
// has streamed every change since), skipping the events up to R.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "store/curl_api.hpp"
#include "store/etcd_client.hpp"
#include "store/watch_scan.hpp"

namespace invar::store {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWatchTickMs = 100;  // how often a silent stream looks at its deadline and stop predicate
// Between rounds of members that would not stream: doubling up to the last.
constexpr int64_t kWatchBackoffFirstMs = 100;
constexpr int64_t kWatchBackoffMaxMs = 5000;
// A stream is opened again (from the revision waited past) at least this
// often: one that went silent without closing (a member cut off from the
// others, if it ignores hasleader) delays a follower by at most this much.
constexpr auto kWatchStreamMaxAge = std::chrono::seconds(60);


// libcurl's write callback: what arrived, to the stream's scanner.
size_t on_bytes(char* data, size_t size, size_t n, void* out) {
  static_cast<WatchScan*>(out)->feed(std::string_view(data, size * n));
  return size * n;
}

// Waits `ms` (bounded by the deadline), asking `stop` every tick: true when stopped.
bool pause(int64_t ms, Clock::time_point deadline, const std::function<bool()>& stop) {
  auto now = Clock::now();
  auto until = deadline;
  if (deadline > now && ms < std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count())
    until = now + std::chrono::milliseconds(ms);
  while (Clock::now() < until) {
    if (stop && stop()) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp<int64_t>(left, 1, kWatchTickMs)));
  }
  return stop && stop();
}

}  // namespace

// One watch request and what it streamed; kept open between waits.
struct EtcdClient::WatchStream {
  const CurlApi* api;
  CURLM* multi;
  CURL* easy;
  curl_slist* headers = nullptr;
  std::string member, prefix, body;
  uint64_t from = 0;  // the first revision it streams
  Clock::time_point opened{};
  WatchScan s;
  bool open = false;

  explicit WatchStream(const CurlApi* a) : api(a), multi(a->multi_init()), easy(a->easy_init()) {}
  ~WatchStream() {
    close();
    if (easy) api->easy_cleanup(easy);
    if (multi) api->multi_cleanup(multi);
  }
  void close() {
    if (open) api->multi_remove_handle(multi, easy);  // closes the connection
    if (headers) api->slist_free_all(headers);
    headers = nullptr;
    open = false;
  }
};

void EtcdClient::WatchStreamDeleter::operator()(WatchStream* w) const { delete w; }

namespace {

// Starts `w` on `member`, streaming from revision `from`.
void start(EtcdClient::WatchStream& w, const StoreOptions& o, const std::string& member, const std::string& prefix,
           uint64_t from, const std::string& token) {
  const CurlApi& api = *w.api;
  w.close();
  w.s = WatchScan{};
  w.member = member;
  w.prefix = prefix;
  w.from = from;
  w.opened = Clock::now();
  const json create = {{"key", base64_encode(prefix)},
                       {"range_end", base64_encode(prefix_range_end(prefix))},
                       {"start_revision", std::to_string(from)}};
  w.body = json{{"create_request", create}}.dump();
  bool tls = !o.cacert.empty() || !o.cert.empty();
  std::string url = std::string(tls ? "https://" : "http://") + member + "/v3/watch";
  CURL* c = w.easy;
  api.easy_reset(c);
  api.easy_setopt(c, CURLOPT_URL, url.c_str());
  api.easy_setopt(c, CURLOPT_POST, 1L);
  api.easy_setopt(c, CURLOPT_POSTFIELDS, w.body.data());  // not copied: `w.body` outlives the request
  api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(w.body.size()));
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_bytes);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &w.s);
  api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(o.timeout_ms, 2000)));
  // A member that vanished without closing the connection: found by TCP keepalive.
  api.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  api.easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 10L);
  api.easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
  api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, tls ? "https" : "http");
  if (!o.cacert.empty()) api.easy_setopt(c, CURLOPT_CAINFO, o.cacert.c_str());
  if (!o.cert.empty()) api.easy_setopt(c, CURLOPT_SSLCERT, o.cert.c_str());
  if (!o.key.empty()) api.easy_setopt(c, CURLOPT_SSLKEY, o.key.c_str());
  w.headers = api.slist_append(nullptr, "Content-Type: application/json");
  // A member cut off from the cluster's leader ends the stream (it would
  // otherwise stay silent while the others move on).
  w.headers = api.slist_append(w.headers, "Grpc-Metadata-Hasleader: true");
  if (!token.empty()) w.headers = api.slist_append(w.headers, ("Authorization: " + token).c_str());
  api.easy_setopt(c, CURLOPT_HTTPHEADER, w.headers);
  api.multi_add_handle(w.multi, c);
  w.open = true;
}

// Runs the open stream until it shows a change past `after`, the deadline
// passes or `stop()` says so (the stream stays open), or it ends, fails or
// was compacted (closed). nullopt: it ended or failed (`*why`).
std::optional<WatchEnd> pump(EtcdClient::WatchStream& w, uint64_t after, Clock::time_point deadline,
                             const std::function<bool()>& stop, std::string* why) {
  const CurlApi& api = *w.api;
  while (true) {
    int running = 0;
    api.multi_perform(w.multi, &running);
    if (w.s.newest > after) return WatchEnd::changed;
    if (w.s.compacted || w.s.overflow) {
      w.close();
      return WatchEnd::changed;
    }
    std::optional<CURLcode> result;
    int queued = 0;
    while (CURLMsg* msg = api.multi_info_read(w.multi, &queued))
      if (msg->msg == CURLMSG_DONE) result = msg->data.result;
    if (!w.s.why.empty() || result || !running) {
      long status = 0;
      api.easy_getinfo(w.easy, CURLINFO_RESPONSE_CODE, &status);
      if (!w.s.why.empty()) *why = "etcd member " + w.member + ": " + w.s.why;
      else if (result && *result != CURLE_OK) *why = "etcd member " + w.member + ": " + api.easy_strerror(*result);
      else *why = "etcd member " + w.member + " ended the watch stream (HTTP " + std::to_string(status) + ")";
      w.close();
      return std::nullopt;
    }
    if (stop && stop()) return WatchEnd::stopped;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return WatchEnd::timeout;
    api.multi_poll(w.multi, nullptr, 0, static_cast<int>(std::min<int64_t>(left, kWatchTickMs)), nullptr);
  }
}

const char* named(std::optional<WatchEnd> end) {
  if (!end) return "ended";
  return *end == WatchEnd::changed ? "changed" : *end == WatchEnd::timeout ? "deadline" : "stopped";
}

}  // namespace

WatchEnd EtcdClient::watch(const std::string& prefix, uint64_t after, Clock::time_point deadline,
                           const std::function<bool()>& stop, const std::string& key,
                           std::optional<std::string>* value) {
  if (value) value->reset();
  const CurlApi* api = loaded_api();
  if (!api) return pause(INT64_MAX / 2, deadline, stop) ? WatchEnd::stopped : WatchEnd::timeout;
  std::unique_ptr<WatchStream, WatchStreamDeleter> w;
  {
    std::lock_guard<std::mutex> g(watch_mutex_);  // each waiter its own stream: threads may share the client
    w = std::move(idle_watch_);
  }
  if (!w) w.reset(new WatchStream(api));
  if (!w->multi || !w->easy) return pause(INT64_MAX / 2, deadline, stop) ? WatchEnd::stopped : WatchEnd::timeout;
  // An open stream serves if it has streamed every change since after+1.
  if (w->open && (w->prefix != prefix || w->from > after + 1)) w->close();
  auto give_back = [&](WatchEnd end) {
    std::lock_guard<std::mutex> g(watch_mutex_);
    if (!idle_watch_) idle_watch_ = std::move(w);
    return end;
  };
  int64_t backoff = kWatchBackoffFirstMs;
  const size_t members = endpoints_.members.size();
  size_t next = preferred_member(), failed = 0;
  bool renew = false;
  while (Clock::now() < deadline) {
    if (!w->open) {
      const std::string& member = endpoints_.members[next % members];
      auto token = token_for(member, renew);
      renew = false;
      if (token) start(*w, options_, member, prefix, after + 1, *token);
    }
    if (w->s.key != key) {  // what a reused stream saw of another key says nothing of this one
      w->s.key = key;
      w->s.key_revision = 0;
      w->s.key_value.reset();
    }
    auto started = Clock::now();
    std::string why;
    std::optional<WatchEnd> end;
    if (w->open) end = pump(*w, after, std::min(deadline, w->opened + kWatchStreamMaxAge), stop, &why);
    if (end == WatchEnd::timeout && Clock::now() < deadline) {  // old enough: a new stream from after+1
      w->close();
      continue;
    }
    if (etcd_tracing())
      std::fprintf(stderr, "etcd /v3/watch %s from revision %llu, past %llu: %s after %.2f ms%s%s\n",
                   w->member.c_str(), static_cast<unsigned long long>(w->from),
                   static_cast<unsigned long long>(after), named(end),
                   std::chrono::duration<double, std::milli>(Clock::now() - started).count(),
                   why.empty() ? "" : ": ", why.c_str());
    if (end == WatchEnd::changed && value && w->s.key_revision > after) *value = w->s.key_value;
    if (end) return give_back(*end);
    renew = why.find("invalid auth token") != std::string::npos;  // a simple token expires: a new one
    bool streamed = w->s.created;
    next = (next + 1) % members;
    if (streamed) {  // it streamed, then was lost: resume on the next member, from after+1 (replayed)
      failed = 0;
      backoff = kWatchBackoffFirstMs;
      if (pause(kWatchBackoffFirstMs, deadline, stop)) return give_back(WatchEnd::stopped);  // never a tight loop
    } else if (++failed >= members) {  // a round of members that would not stream
      failed = 0;
      if (pause(backoff, deadline, stop)) return give_back(WatchEnd::stopped);
      backoff = std::min(backoff * 2, kWatchBackoffMaxMs);
    }
  }
  return give_back(stop && stop() ? WatchEnd::stopped : WatchEnd::timeout);
}

}  // namespace invar::store
