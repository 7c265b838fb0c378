#include "store/etcd_client.hpp"

#include "store/curl_api.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/text.hpp"

namespace invar::store {

using nlohmann::json;

namespace {

Error usage(std::string message) { return Error{ErrorCode::usage, std::move(message), {}}; }
Error unreachable(std::string message) { return Error{ErrorCode::io, std::move(message), {}}; }

// The end of the range of keys starting with `prefix`.
std::string range_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}


size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}


// The gRPC codes of gateway answers that every member would give alike
// (InvalidArgument, such as too many operations in a transaction;
// ResourceExhausted, such as etcd's space quota; FailedPrecondition;
// OutOfRange, such as a compacted revision): the request itself is refused.
bool refused_by_etcd(const json& answer) {
  uint64_t code = etcd_number(answer, "code");
  return code == 3 || code == 8 || code == 9 || code == 11;
}

}  // namespace

// Both run over whole chunks (768 KiB) per request: written into a buffer
// sized once, a table lookup per character.
std::string base64_encode(std::string_view bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out((bytes.size() + 2) / 3 * 4, '=');
  const auto* in = reinterpret_cast<const uint8_t*>(bytes.data());
  char* o = out.data();
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3, o += 4) {
    uint32_t v = (uint32_t(in[i]) << 16) | (uint32_t(in[i + 1]) << 8) | in[i + 2];
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[(v >> 12) & 63];
    o[2] = alphabet[(v >> 6) & 63];
    o[3] = alphabet[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = uint32_t(in[i]) << 16;
    if (i + 1 < bytes.size()) v |= uint32_t(in[i + 1]) << 8;
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[(v >> 12) & 63];
    if (i + 1 < bytes.size()) o[2] = alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  static const auto table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int k = 0; k < 64; ++k) t[static_cast<uint8_t>(alphabet[k])] = static_cast<int8_t>(k);
    return t;
  }();
  if (text.size() % 4) return std::nullopt;
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  std::string out(text.size() / 4 * 3 - pad, '\0');
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  char* o = out.data();
  const size_t full = text.size() - (pad ? 4 : 0);  // quads without padding
  for (size_t i = 0; i < full; i += 4, o += 3) {
    int a = table[in[i]], b = table[in[i + 1]], c = table[in[i + 2]], d = table[in[i + 3]];
    if ((a | b | c | d) < 0) return std::nullopt;
    uint32_t n = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    o[0] = static_cast<char>(n >> 16);
    o[1] = static_cast<char>((n >> 8) & 0xff);
    o[2] = static_cast<char>(n & 0xff);
  }
  if (pad) {
    const uint8_t* q = in + full;
    int a = table[q[0]], b = table[q[1]], c = pad == 2 ? 0 : table[q[2]];
    if (a < 0 || b < 0 || c < 0 || (pad == 2 && q[2] != '=')) return std::nullopt;
    uint32_t n = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6);
    o[0] = static_cast<char>(n >> 16);
    if (pad == 1) o[1] = static_cast<char>((n >> 8) & 0xff);
  }
  return out;
}

Result<EtcdEndpoints> parse_etcd_url(const std::string& url) {
  const std::string scheme = "etcd://";
  if (url.rfind(scheme, 0) != 0) return usage("an etcd location starts with etcd://, not " + text::quoted(url));
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string hosts = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "invar" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (prefix.empty()) prefix = "invar";
  EtcdEndpoints out;
  out.prefix = prefix + "/";
  size_t start = 0;
  while (start <= hosts.size()) {
    size_t comma = hosts.find(',', start);
    std::string member = hosts.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t colon = member.rfind(':');
    bool port_ok = colon != std::string::npos && colon + 1 < member.size() &&
                   member.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
                   member.size() - colon - 1 <= 5 && std::stoul(member.substr(colon + 1)) <= 65535;
    bool host_ok = colon != std::string::npos && colon > 0 &&
                   member.find_first_of(" /@?#") == std::string::npos;
    if (!port_ok || !host_ok)
      return usage("etcd location " + text::quoted(url) + ": " + text::quoted(member) +
                   " is not HOST:PORT (expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX])");
    out.members.push_back(member);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {

// Connections of one client in flight at once (threads sharing a Gate);
// more callers wait for one to be free.
constexpr size_t kMaxHandles = 8;
// The handle of the call this thread is making (set by call_text()).
thread_local void* t_handle = nullptr;

// libcurl is loaded (~20 ms, curl_api.hpp) on a thread started with the
// first client, while the process reads and judges its artifact; the first
// request waits for it if it is not done. Joined at exit.
struct CurlLoader {
  std::thread thread;
  ~CurlLoader() {
    if (thread.joinable()) thread.join();
  }
};

void start_loading_curl() {
  static CurlLoader loader;
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      loader.thread = std::thread([] { curl_api(); });
    } catch (const std::system_error&) {
      // no thread: the first request loads it
    }
  });
}

}  // namespace

EtcdClient::EtcdClient(EtcdEndpoints endpoints, StoreOptions options)
    : endpoints_(std::move(endpoints)), options_(std::move(options)) {
  start_loading_curl();
}

EtcdClient::~EtcdClient() {
  for (void* handle : idle_handles_) api_->easy_cleanup(static_cast<CURL*>(handle));  // every handle is idle now
}

void* EtcdClient::acquire_handle() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!api_ && api_error_.empty()) api_ = curl_api(&api_error_);  // once: loaded, or why not
  handle_free_.wait(lock, [this] { return !idle_handles_.empty() || handles_ < kMaxHandles; });
  if (!idle_handles_.empty()) {
    void* handle = idle_handles_.back();
    idle_handles_.pop_back();
    return handle;
  }
  ++handles_;
  lock.unlock();
  void* handle = api_ ? api_->easy_init() : nullptr;
  if (!handle) {
    lock.lock();
    --handles_;
  }
  return handle;
}

void EtcdClient::release_handle(void* handle) {
  if (!handle) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_handles_.push_back(handle);
  }
  handle_free_.notify_one();
}

std::string EtcdClient::current_token() {
  std::lock_guard<std::mutex> lock(mutex_);
  return token_;
}

std::string prefix_range_end(const std::string& prefix) { return range_end(prefix); }

uint64_t etcd_number(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_string()) return std::strtoull(it->get<std::string>().c_str(), nullptr, 10);
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return static_cast<uint64_t>(std::max<int64_t>(it->get<int64_t>(), 0));
  return 0;
}

bool etcd_flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string etcd_text(const json& j, const char* key, std::string fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

const json& etcd_field(const json& j, const char* key) {
  static const json none;
  auto it = j.find(key);
  return it != j.end() ? *it : none;
}

bool etcd_tracing() {
  static const bool on = [] {
    const char* v = std::getenv("INVAR_ETCD_TRACE");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

Result<json> EtcdClient::post(const std::string& member, const std::string& path, const std::string& body,
                               bool& refused) {
  refused = false;
  CURL* c = static_cast<CURL*>(t_handle);  // the caller's HandleScope
  if (!api_) return unreachable(api_error_ + ": the etcd backend needs it");
  if (!c) return unreachable("cannot start an HTTP client (libcurl)");
  bool tls = !options_.cacert.empty() || !options_.cert.empty();
  std::string url = std::string(tls ? "https://" : "http://") + member + path;
  std::string response;
  api_->easy_reset(c);
  api_->easy_setopt(c, CURLOPT_URL, url.c_str());
  api_->easy_setopt(c, CURLOPT_POST, 1L);
  api_->easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  api_->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  api_->easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  api_->easy_setopt(c, CURLOPT_WRITEDATA, &response);
  api_->easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  api_->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(options_.timeout_ms, 2000)));
  api_->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  api_->easy_setopt(c, CURLOPT_PROTOCOLS_STR, tls ? "https" : "http");
  if (!options_.cacert.empty()) api_->easy_setopt(c, CURLOPT_CAINFO, options_.cacert.c_str());
  if (!options_.cert.empty()) api_->easy_setopt(c, CURLOPT_SSLCERT, options_.cert.c_str());
  if (!options_.key.empty()) api_->easy_setopt(c, CURLOPT_SSLKEY, options_.key.c_str());
  struct curl_slist* headers = api_->slist_append(nullptr, "Content-Type: application/json");
  const std::string token = current_token();
  std::string auth = "Authorization: " + token;
  if (!token.empty() && path != "/v3/auth/authenticate") headers = api_->slist_append(headers, auth.c_str());
  api_->easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  auto started = std::chrono::steady_clock::now();
  CURLcode rc = api_->easy_perform(c);
  api_->slist_free_all(headers);
  if (etcd_tracing())
    std::fprintf(stderr, "etcd %s %s sent %zu received %zu %.2f ms\n", path.c_str(), member.c_str(), body.size(),
                 response.size(),
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  if (rc != CURLE_OK) return unreachable("etcd member " + member + ": " + api_->easy_strerror(rc));
  long status = 0;
  api_->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  json j = json::parse(response, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error{ErrorCode::state, "etcd member " + member + " answered " + std::to_string(status) + " with no JSON", {}};
  if (status != 200) {
    std::string message = etcd_text(j, "message", etcd_text(j, "error", "HTTP " + std::to_string(status)));
    Error e{ErrorCode::io, "etcd member " + member + ": " + message, {}};
    if (message.find("authentication") != std::string::npos || message.find("permission denied") != std::string::npos ||
        message.find("user name") != std::string::npos || message.find("token") != std::string::npos)
      e.code = ErrorCode::usage;  // wrong credentials: no other member will take them either
    else if ((refused = refused_by_etcd(j)))
      e.message = "etcd refused the request (member " + member + "): " + message;
    return e;
  }
  return j;
}

std::optional<Error> EtcdClient::authenticate(const std::string& member) {
  if (options_.user.empty() || !current_token().empty()) return std::nullopt;
  bool refused = false;
  auto r = post(member, "/v3/auth/authenticate", json{{"name", options_.user}, {"password", options_.password}}.dump(),
                refused);
  if (!r) return r.error();
  std::string token = etcd_text(*r, "token", "");
  if (!token.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    token_ = token;
  }
  if (token.empty()) return usage("etcd refused the credentials of user " + text::quoted(options_.user));
  return std::nullopt;
}

// This thread's handle for one call (post() uses it), back to the pool after it.
struct EtcdClient::HandleScope {
  EtcdClient* client;
  explicit HandleScope(EtcdClient* c) : client(c) { t_handle = client->acquire_handle(); }
  ~HandleScope() {
    void* handle = t_handle;
    t_handle = nullptr;
    client->release_handle(handle);
  }
  HandleScope(const HandleScope&) = delete;
  HandleScope& operator=(const HandleScope&) = delete;
};

const CurlApi* EtcdClient::loaded_api() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!api_ && api_error_.empty()) api_ = curl_api(&api_error_);  // once: loaded, or why not
  return api_;
}

Result<std::string> EtcdClient::token_for(const std::string& member, bool renew) {
  if (renew) {
    std::lock_guard<std::mutex> lock(mutex_);
    token_.clear();
  }
  HandleScope held(this);
  if (auto e = authenticate(member)) return *e;
  return current_token();
}

size_t EtcdClient::preferred_member() {
  std::lock_guard<std::mutex> lock(mutex_);
  return preferred_;
}

Result<json> EtcdClient::call(const std::string& path, const json& body) { return call_text(path, body.dump()); }

Result<json> EtcdClient::call_text(const std::string& path, const std::string& text) {
  HandleScope held(this);
  size_t preferred = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    preferred = preferred_;
  }
  std::string failures;
  for (size_t k = 0; k < endpoints_.members.size(); ++k) {
    size_t i = (preferred + k) % endpoints_.members.size();
    const std::string& member = endpoints_.members[i];
    if (auto e = authenticate(member)) {
      if (e->code == ErrorCode::usage) return *e;
      failures += (failures.empty() ? "" : "; ") + e->message;
      continue;
    }
    bool refused = false;
    auto r = post(member, path, text, refused);
    if (!r && !current_token().empty() && r.error().message.find("invalid auth token") != std::string::npos) {
      // A simple token expires (etcd's --auth-token-ttl, 5 min by default): a long-running
      // watcher authenticates again, once.
      {
        std::lock_guard<std::mutex> lock(mutex_);
        token_.clear();
      }
      if (auto e = authenticate(member)) return *e;
      r = post(member, path, text, refused);
    }
    if (r) {
      std::lock_guard<std::mutex> lock(mutex_);
      preferred_ = i;
      return r;
    }
    if (r.error().code == ErrorCode::usage || refused) return r.error();  // etcd's answer, not unreachable
    failures += (failures.empty() ? "" : "; ") + r.error().message;
  }
  return unreachable("etcd is unreachable (each member within " + std::to_string(options_.timeout_ms) +
                     " ms, --state-timeout): " + failures);
}

namespace {

json range_body(const RangeRequest& r, uint64_t revision) {
  json body = {{"key", base64_encode(r.key)}};
  if (revision) body["revision"] = std::to_string(revision);
  if (r.prefix) body["range_end"] = base64_encode(range_end(r.key));
  if (r.limit) body["limit"] = std::to_string(r.limit);
  if (r.prefix) {
    body["sort_target"] = r.by_creation ? "CREATE" : "KEY";
    body["sort_order"] = r.descending ? "DESCEND" : "ASCEND";
  }
  if (r.keys_only) body["keys_only"] = true;
  return body;
}

Result<RangeResult> range_result(const json& response) {
  RangeResult out;
  out.count = etcd_number(response, "count");
  auto kvs = response.find("kvs");
  if (kvs == response.end() || !kvs->is_array()) return out;
  for (const auto& kv : *kvs) {
    auto field = [&kv](const char* name) -> std::string_view {  // not copied: a value is up to 1 MiB of base64
      auto it = kv.find(name);
      return it != kv.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>()) : std::string_view();
    };
    auto key = base64_decode(field("key"));
    auto value = base64_decode(field("value"));
    if (!key || !value) return Error{ErrorCode::state, "etcd returned a key or value that is not base64", {}};
    out.kvs.push_back({std::move(*key), std::move(*value), etcd_number(kv, "create_revision"), etcd_number(kv, "mod_revision")});
  }
  return out;
}

}  // namespace

Result<std::vector<RangeResult>> EtcdClient::read(const std::vector<RangeRequest>& reads, uint64_t revision,
                                                  uint64_t* read_revision) {
  std::vector<RangeResult> out;
  if (reads.size() == 1) {
    auto r = call("/v3/kv/range", range_body(reads[0], revision));
    if (!r) return r.error();
    if (read_revision) *read_revision = etcd_number(etcd_field(*r, "header"), "revision");
    auto kvs = range_result(*r);
    if (!kvs) return kvs.error();
    out.push_back(std::move(*kvs));
    return out;
  }
  json success = json::array();
  for (const auto& r : reads) success.push_back({{"request_range", range_body(r, revision)}});
  auto r = call("/v3/kv/txn", {{"success", success}});
  if (!r) return r.error();
  if (read_revision) *read_revision = etcd_number(etcd_field(*r, "header"), "revision");
  const json& responses = etcd_field(*r, "responses");
  if (!responses.is_array() || responses.size() != reads.size())
    return Error{ErrorCode::state, "etcd answered a read of " + std::to_string(reads.size()) + " ranges with " +
                                       std::to_string(responses.is_array() ? responses.size() : 0) + " results", {}};
  for (const auto& one : responses) {
    auto kvs = range_result(etcd_field(one, "response_range"));
    if (!kvs) return kvs.error();
    out.push_back(std::move(*kvs));
  }
  return out;
}

Result<std::optional<KeyValue>> EtcdClient::get(const std::string& key) {
  RangeRequest r;
  r.key = key;
  r.prefix = false;
  auto kvs = read({r});
  if (!kvs) return kvs.error();
  if (kvs->front().kvs.empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(kvs->front().kvs.front()));
}

Result<std::vector<KeyValue>> EtcdClient::range(const std::string& prefix, uint64_t limit, bool by_creation,
                                                bool descending, bool keys_only) {
  auto kvs = read({{prefix, true, limit, by_creation, descending, keys_only}});
  if (!kvs) return kvs.error();
  return std::move(kvs->front().kvs);
}

Result<uint64_t> EtcdClient::count(const std::string& prefix) {
  auto r = call("/v3/kv/range",
                {{"key", base64_encode(prefix)}, {"range_end", base64_encode(range_end(prefix))}, {"count_only", true}});
  if (!r) return r.error();
  return etcd_number(*r, "count");
}

std::optional<Error> EtcdClient::put(const std::string& key, const std::string& value) {
  auto r = call("/v3/kv/put", {{"key", base64_encode(key)}, {"value", base64_encode(value)}});
  if (!r) return r.error();
  return std::nullopt;
}

std::optional<Error> EtcdClient::remove_prefix(const std::string& prefix) {
  auto r = call("/v3/kv/deleterange",
                {{"key", base64_encode(prefix)}, {"range_end", base64_encode(range_end(prefix))}});
  if (!r) return r.error();
  return std::nullopt;
}

std::optional<Error> EtcdClient::remove_range(const std::string& from, const std::string& to) {
  auto r = call("/v3/kv/deleterange", {{"key", base64_encode(from)}, {"range_end", base64_encode(to)}});
  if (!r) return r.error();
  return std::nullopt;
}

Result<bool> EtcdClient::txn(const std::vector<TxnCompare>& compares, const std::vector<TxnOp>& ops,
                             const std::vector<RangeRequest>& reads, std::vector<RangeResult>* read_results) {
  json compare = json::array();
  for (const auto& c : compares) {
    if (c.exists)
      compare.push_back({{"key", base64_encode(c.key)}, {"target", "CREATE"}, {"result", "GREATER"},
                         {"create_revision", "0"}});
    else
      compare.push_back({{"key", base64_encode(c.key)}, {"target", "MOD"}, {"result", "EQUAL"},
                         {"mod_revision", std::to_string(c.mod_revision)}});
  }
  // Written as text: a put's value is base64 (nothing to escape), and a
  // chunk is 1 MiB of it that a DOM would copy twice.
  size_t size = 64;
  for (const auto& op : ops) size += 64 + (op.key.size() + op.value.size()) * 4 / 3;
  std::string text = "{\"compare\":" + compare.dump() + ",\"success\":[";
  text.reserve(text.size() + size);
  bool first = true;
  auto next = [&] { text += first ? "" : ","; first = false; };
  for (const auto& op : ops) {
    next();
    if (op.kind == TxnOp::put) {
      text += "{\"request_put\":{\"key\":\"" + base64_encode(op.key) + "\",\"value\":\"";
      text += base64_encode(op.value);
      text += "\"}}";
    } else if (op.kind == TxnOp::remove_key) {
      text += json{{"request_delete_range", {{"key", base64_encode(op.key)}}}}.dump();
    } else {
      text += json{{"request_delete_range", {{"key", base64_encode(op.key)}, {"range_end", base64_encode(range_end(op.key))}}}}
                  .dump();
    }
  }
  for (const auto& read : reads) {
    next();
    text += json{{"request_range", range_body(read, 0)}}.dump();
  }
  text += "]}";
  auto r = call_text("/v3/kv/txn", text);
  if (!r) return r.error();
  const bool succeeded = etcd_flag(*r, "succeeded");
  if (succeeded && read_results && !reads.empty()) {
    const json& responses = etcd_field(*r, "responses");
    if (!responses.is_array() || responses.size() != ops.size() + reads.size())
      return Error{ErrorCode::state, "etcd answered a transaction with " +
                                         std::to_string(responses.is_array() ? responses.size() : 0) + " results for " +
                                         std::to_string(ops.size() + reads.size()) + " requests", {}};
    read_results->clear();
    for (size_t i = ops.size(); i < responses.size(); ++i) {
      auto kvs = range_result(etcd_field(responses[i], "response_range"));
      if (!kvs) return kvs.error();
      read_results->push_back(std::move(*kvs));
    }
  }
  return succeeded;
}

}  // namespace invar::store
