// EtcdClient::watch: etcd's watch stream through its JSON gateway. POST
// /v3/watch with a create_request answers with a stream of JSON objects,
// one a line: {"result":{"header":{..."revision"},"created":true}} first,
// then one per batch of events ({"result":{...,"events":[...]}}), or
// {"result":{"canceled":true,"compact_revision":N}} when the revision asked
// for was compacted; an error is {"error":...,"code":N}. The stream is read
// through libcurl's multi interface so that a silent stream still sees the
// deadline and the stop predicate (every kWatchTick: no busy loop).
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "store/curl_api.hpp"
#include "store/etcd_client.hpp"

namespace invar::store {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWatchTickMs = 100;  // how often a silent stream looks at its deadline and stop predicate
// One message of the stream (events carry the stream's small records, never
// chunks): past this, the stream is dropped and the caller reads instead.
constexpr size_t kMaxWatchMessage = 8u << 20;
// Between rounds of members that would not stream: doubling up to the last.
constexpr int64_t kWatchBackoffFirstMs = 100;
constexpr int64_t kWatchBackoffMaxMs = 5000;

bool tracing() {
  static const bool on = [] {
    const char* v = std::getenv("INVAR_ETCD_TRACE");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

uint64_t number(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_string()) return std::strtoull(it->get<std::string>().c_str(), nullptr, 10);
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  return 0;
}

// What the stream said so far, and where the scan of a message that is
// not complete yet stands (each byte is scanned once).
struct Stream {
  std::string buffer;  // from the start of the message not yet complete
  size_t scanned = 0;
  int depth = 0;
  bool in_string = false, escaped = false;
  bool created = false;
  std::optional<WatchEnd> end;  // set: the wait is over
  std::string why;              // set: the stream failed
};

// One complete message.
void on_message(Stream& s, std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    s.why = "a watch message that is not JSON";
    return;
  }
  if (j.contains("error")) {
    s.why = j.value("message", std::string("error ") + std::to_string(number(j, "code")));
    return;
  }
  const json result = j.value("result", json::object());
  if (!result.is_object()) return;
  if (result.value("created", false)) s.created = true;
  if (number(result, "compact_revision")) {  // past the revision asked for: only a read sees the current state
    s.end = WatchEnd::changed;
    return;
  }
  if (result.value("canceled", false)) {
    s.why = "etcd canceled the watch: " + result.value("cancel_reason", std::string("no reason given"));
    return;
  }
  auto events = result.find("events");
  if (events != result.end() && events->is_array() && !events->empty()) s.end = WatchEnd::changed;
}

// Splits what arrived into messages: JSON objects, whatever separates them.
size_t on_bytes(char* data, size_t size, size_t n, void* out) {
  Stream& s = *static_cast<Stream*>(out);
  if (s.end || !s.why.empty()) return size * n;  // over: the stream is closed next
  s.buffer.append(data, size * n);
  for (size_t i = s.scanned; i < s.buffer.size() && !s.end && s.why.empty(); ++i) {
    char c = s.buffer[i];
    if (s.in_string) {
      if (s.escaped) s.escaped = false;
      else if (c == '\\') s.escaped = true;
      else if (c == '"') s.in_string = false;
    } else if (c == '"') {
      s.in_string = true;
    } else if (c == '{') {
      if (s.depth++ == 0) {  // what came before a message is a separator
        s.buffer.erase(0, i);
        i = 0;
      }
    } else if (c == '}' && s.depth > 0 && --s.depth == 0) {
      on_message(s, std::string_view(s.buffer).substr(0, i + 1));
      s.buffer.erase(0, i + 1);
      i = static_cast<size_t>(-1);  // the loop's ++i: from the start of what is left
    }
    s.scanned = i + 1;
  }
  if (s.depth == 0 && !s.in_string) {  // only separators left
    s.buffer.clear();
    s.scanned = 0;
  }
  if (s.buffer.size() > kMaxWatchMessage && !s.end) s.end = WatchEnd::changed;  // the caller reads instead
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

namespace {

// Sets `c` up for one watch request; returns its headers (the caller frees them).
curl_slist* prepare(const CurlApi& api, CURL* c, const StoreOptions& o, const std::string& member,
                    const std::string& body, const std::string& token, Stream& s) {
  bool tls = !o.cacert.empty() || !o.cert.empty();
  std::string url = std::string(tls ? "https://" : "http://") + member + "/v3/watch";
  api.easy_reset(c);
  api.easy_setopt(c, CURLOPT_URL, url.c_str());
  api.easy_setopt(c, CURLOPT_POST, 1L);
  api.easy_setopt(c, CURLOPT_POSTFIELDS, body.data());  // not copied: `body` outlives the request
  api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_bytes);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &s);
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
  curl_slist* headers = api.slist_append(nullptr, "Content-Type: application/json");
  // A member cut off from the cluster's leader ends the stream (it would
  // otherwise stay silent while the others move on).
  headers = api.slist_append(headers, "Grpc-Metadata-Hasleader: true");
  if (!token.empty()) headers = api.slist_append(headers, ("Authorization: " + token).c_str());
  api.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  return headers;
}

// Runs the request until the stream says something final, ends, the
// deadline passes or `stop()` says so. nullopt: it ended or failed
// (`*result` when libcurl finished it).
std::optional<WatchEnd> pump(const CurlApi& api, CURLM* m, CURL* c, Stream& s, Clock::time_point deadline,
                             const std::function<bool()>& stop, std::optional<CURLcode>* result) {
  api.multi_add_handle(m, c);
  std::optional<WatchEnd> end;
  while (true) {
    int running = 0;
    api.multi_perform(m, &running);
    if (s.end || !s.why.empty()) break;
    int queued = 0;
    while (CURLMsg* msg = api.multi_info_read(m, &queued))
      if (msg->msg == CURLMSG_DONE) *result = msg->data.result;
    if (*result || !running) break;
    if (stop && stop()) {
      end = WatchEnd::stopped;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      end = WatchEnd::timeout;
      break;
    }
    api.multi_poll(m, nullptr, 0, static_cast<int>(std::min<int64_t>(left, kWatchTickMs)), nullptr);
  }
  api.multi_remove_handle(m, c);  // closes the stream
  return s.end ? s.end : end;
}

}  // namespace

std::optional<WatchEnd> EtcdClient::watch_on(void* multi, void* handle, const std::string& member,
                                             const std::string& prefix, uint64_t after, Clock::time_point deadline,
                                             const std::function<bool()>& stop, bool* created, std::string* why) {
  const json create = {{"key", base64_encode(prefix)},
                       {"range_end", base64_encode(prefix_range_end(prefix))},
                       {"start_revision", std::to_string(after + 1)}};
  const std::string body = json{{"create_request", create}}.dump();
  bool renew = false;
  for (int attempt = 0; attempt < 2; ++attempt) {  // again once with a new token (a simple token expires)
    auto token = token_for(member, renew);
    if (!token) {
      *why = token.error().message;
      return std::nullopt;
    }
    Stream s;
    CURL* c = static_cast<CURL*>(handle);
    curl_slist* headers = prepare(*api_, c, options_, member, body, *token, s);
    auto started = Clock::now();
    std::optional<CURLcode> result;
    auto end = pump(*api_, static_cast<CURLM*>(multi), c, s, deadline, stop, &result);
    long status = 0;
    api_->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    api_->slist_free_all(headers);
    *created = *created || s.created;
    if (tracing())
      std::fprintf(stderr, "etcd /v3/watch %s from revision %llu: %s after %.2f ms\n", member.c_str(),
                   static_cast<unsigned long long>(after + 1),
                   end == WatchEnd::changed   ? "changed"
                   : end == WatchEnd::timeout ? "deadline"
                   : end == WatchEnd::stopped ? "stopped"
                                              : "ended",
                   std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    if (end) return end;
    if (!s.why.empty()) *why = "etcd member " + member + ": " + s.why;
    else if (result && *result != CURLE_OK) *why = "etcd member " + member + ": " + api_->easy_strerror(*result);
    else *why = "etcd member " + member + " ended the watch stream (HTTP " + std::to_string(status) + ")";
    if (token->empty() || why->find("invalid auth token") == std::string::npos || renew) return std::nullopt;
    renew = true;
  }
  return std::nullopt;
}

WatchEnd EtcdClient::watch(const std::string& prefix, uint64_t after, Clock::time_point deadline,
                           const std::function<bool()>& stop) {
  if (!api_) return pause(INT64_MAX / 2, deadline, stop) ? WatchEnd::stopped : WatchEnd::timeout;
  struct Handles {
    const CurlApi* api;
    CURLM* multi;
    CURL* easy;
    ~Handles() {
      if (easy) api->easy_cleanup(easy);
      if (multi) api->multi_cleanup(multi);
    }
  } h{api_, api_->multi_init(), api_->easy_init()};
  if (!h.multi || !h.easy) return pause(INT64_MAX / 2, deadline, stop) ? WatchEnd::stopped : WatchEnd::timeout;
  int64_t backoff = kWatchBackoffFirstMs;
  const size_t members = endpoints_.members.size();
  size_t next = preferred_member();
  while (Clock::now() < deadline) {
    bool created = false;
    for (size_t k = 0; k < members && Clock::now() < deadline; ++k) {
      const std::string& member = endpoints_.members[(next + k) % members];
      std::string why;
      auto end = watch_on(h.multi, h.easy, member, prefix, after, deadline, stop, &created, &why);
      if (end) return *end;
      if (created) {  // it streamed, then was lost: resume on the next member
        next = (next + k + 1) % members;
        break;
      }
    }
    if (created) {
      backoff = kWatchBackoffFirstMs;
      if (pause(kWatchBackoffFirstMs, deadline, stop)) return WatchEnd::stopped;  // never a tight loop
      continue;
    }
    if (pause(backoff, deadline, stop)) return WatchEnd::stopped;
    backoff = std::min(backoff * 2, kWatchBackoffMaxMs);
  }
  return stop && stop() ? WatchEnd::stopped : WatchEnd::timeout;
}

}  // namespace invar::store
