// A small client of etcd's v3 API through its JSON gateway (POST /v3/...),
// over libcurl: ranges, puts, transactions and deletes, with failover between
// members and a bounded time per request. docs/fleet.md says why the
// gateway and not gRPC. Keys and values are bytes (base64 on the wire).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "invar/gate.hpp"
#include "invar/invar.hpp"

namespace invar::store {

struct EtcdEndpoints {
  std::vector<std::string> members;  // "127.0.0.1:2379"
  std::string prefix;                // every key starts with it ("invar/")
};

// "etcd://HOST:PORT[,HOST:PORT...][/PREFIX]": the members and the key
// prefix (default "invar"); an Error (ErrorCode::usage) saying what is wrong.
Result<EtcdEndpoints> parse_etcd_url(const std::string& url);

struct KeyValue {
  std::string key, value;
  uint64_t create_revision = 0, mod_revision = 0;
};

// One read: the key `key` alone, or every key starting with it (`prefix`),
// by key or oldest first by creation (`by_creation`), at most `limit` (0:
// all), newest first when `descending`.
struct RangeRequest {
  std::string key;
  bool prefix = true;
  uint64_t limit = 0;
  bool by_creation = false, descending = false, keys_only = false;
};

// What one read found: the keys (up to its limit) and how many keys the
// range holds in all.
struct RangeResult {
  std::vector<KeyValue> kvs;
  uint64_t count = 0;
};

// One operation of a transaction.
struct TxnOp {
  enum Kind { put, remove_prefix, remove_key } kind = put;
  std::string key, value;
};
// A condition of a transaction: the key's mod_revision equals `mod_revision`
// (0: the key does not exist), or (exists) the key exists.
struct TxnCompare {
  std::string key;
  uint64_t mod_revision = 0;
  bool exists = false;
};

// How EtcdClient::watch ended.
enum class WatchEnd {
  changed,  // a key changed after the revision (or etcd compacted past it): read again
  timeout,  // the deadline passed with no change seen (or no member would stream)
  stopped,  // the stop predicate said so
};

class EtcdClient {
 public:
  // Checks nothing yet: the first request does (and authenticates).
  EtcdClient(EtcdEndpoints endpoints, StoreOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  const std::string& prefix() const { return endpoints_.prefix; }

  Result<std::optional<KeyValue>> get(const std::string& key);
  // Keys starting with `prefix`, by key, or oldest first by creation when
  // `by_creation`; at most `limit` (0: all), newest first when `descending`.
  Result<std::vector<KeyValue>> range(const std::string& prefix, uint64_t limit = 0, bool by_creation = false,
                                      bool descending = false, bool keys_only = false);
  Result<uint64_t> count(const std::string& prefix);
  // Several reads in one request, at one revision (a read-only transaction:
  // no raft proposal), their results in order: at `revision` (0: the
  // current one), which goes to `*read_revision` when given.
  Result<std::vector<RangeResult>> read(const std::vector<RangeRequest>& reads, uint64_t revision = 0,
                                        uint64_t* read_revision = nullptr);
  std::optional<Error> put(const std::string& key, const std::string& value);
  std::optional<Error> remove_prefix(const std::string& prefix);
  // Deletes the keys in [from, to).
  std::optional<Error> remove_range(const std::string& from, const std::string& to);
  // All of `ops` when every compare holds: true; else nothing: false.
  // `reads` run after the ops, in the same transaction (they see its
  // writes); their results go to `read_results` when it succeeded.
  Result<bool> txn(const std::vector<TxnCompare>& compares, const std::vector<TxnOp>& ops,
                   const std::vector<RangeRequest>& reads = {}, std::vector<RangeResult>* read_results = nullptr);
  // Waits on etcd's watch stream (the gateway's POST /v3/watch, in
  // src/store/etcd_watch.cpp) until a key starting with `prefix` changes at
  // a revision past `after` (events since after+1 are replayed: none is
  // missed across a lost stream, which is opened again on the next member),
  // until `deadline`, or until `stop()` (asked every kWatchTick). A
  // compaction past `after` ends it as `changed`: the caller reads the
  // current state and watches from there. Members that refuse the stream
  // are tried again with a bounded backoff until the deadline. When it
  // ends as `changed` and `key` changed past `after`, `*value` gets its
  // newest value as the stream carried it (nullopt otherwise, or deleted):
  // a hint of what a read will find, not a read.
  WatchEnd watch(const std::string& prefix, uint64_t after, std::chrono::steady_clock::time_point deadline,
                 const std::function<bool()>& stop, const std::string& key = {},
                 std::optional<std::string>* value = nullptr);

 private:
  Result<nlohmann::json> call(const std::string& path, const nlohmann::json& body);
  // The same with the body as JSON text (large puts are written without a DOM).
  Result<nlohmann::json> call_text(const std::string& path, const std::string& text);
  // `refused`: etcd answered with an error every member would give (such as
  // too many operations in a transaction): not worth another member.
  Result<nlohmann::json> post(const std::string& member, const std::string& path, const std::string& body,
                              bool& refused);
  std::optional<Error> authenticate(const std::string& member);
  // The token for a request to `member` ("" without authentication), a new
  // one when `renew`; the member that answered last (the watch starts there).
  Result<std::string> token_for(const std::string& member, bool renew);
  size_t preferred_member();

  EtcdEndpoints endpoints_;
  StoreOptions options_;
  size_t preferred_ = 0;  // the member that answered last
  std::string token_;
  const struct CurlApi* api_ = nullptr;  // null: libcurl could not be loaded (api_error_ says why)
  std::string api_error_;
  // Requests in flight at once: one per handle (connection), up to
  // kMaxHandles per client; the pool, the token and the preferred member
  // are under mutex_.
  void* acquire_handle();
  void release_handle(void* handle);
  struct HandleScope;
  // libcurl, loaded on first use (null: it could not be, api_error_ says why).
  const struct CurlApi* loaded_api();
  std::string current_token();
  std::mutex mutex_;
  std::condition_variable handle_free_;
  std::vector<void*> idle_handles_;
  size_t handles_ = 0;

 public:
  struct WatchStream;  // src/store/etcd_watch.cpp
  struct WatchStreamDeleter {
    void operator()(WatchStream* w) const;
  };

 private:
  std::mutex watch_mutex_;
  std::unique_ptr<WatchStream, WatchStreamDeleter> idle_watch_;  // open between waits (watch())
};

std::string base64_encode(std::string_view bytes);
// The end of the range of keys starting with `prefix` (etcd's range_end).
std::string prefix_range_end(const std::string& prefix);
std::optional<std::string> base64_decode(std::string_view text);
// Fields of an etcd JSON answer, whatever its shape (a member answering
// something else is an error the caller reports, never an exception):
// a number (the gateway writes 64-bit ones as strings; 0 when absent), a
// flag (true only when a boolean true), a text (`fallback` unless a
// string), a member (null unless `j` is an object holding it).
uint64_t etcd_number(const nlohmann::json& j, const char* key);
bool etcd_flag(const nlohmann::json& j, const char* key);
std::string etcd_text(const nlohmann::json& j, const char* key, std::string fallback);
const nlohmann::json& etcd_field(const nlohmann::json& j, const char* key);
// INVAR_ETCD_TRACE=1: one line per request on stderr (path, member, bytes
// each way, milliseconds), to see where a gate's time goes (docs/fleet.md).
bool etcd_tracing();

}  // namespace invar::store
