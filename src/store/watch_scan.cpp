#include "store/watch_scan.hpp"

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>

#include "store/etcd_client.hpp"

namespace invar::store {

using nlohmann::json;

namespace {

std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t event_revision(const json& event) {
  auto kv = event.find("kv");
  return kv != event.end() && kv->is_object() ? etcd_number(*kv, "mod_revision") : 0;
}

// One complete message.
void on_message(WatchScan& s, std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    s.why = "a watch message that is not JSON";
    return;
  }
  if (j.contains("error")) {
    s.why = etcd_text(j, "message", "error " + std::to_string(etcd_number(j, "code")));
    return;
  }
  const json& result = etcd_field(j, "result");
  if (!result.is_object()) return;
  if (etcd_flag(result, "created")) s.created = true;
  if (etcd_number(result, "compact_revision")) {
    s.compacted = true;
    return;
  }
  if (etcd_flag(result, "canceled")) {
    s.why = "etcd canceled the watch: " + etcd_text(result, "cancel_reason", "no reason given");
    return;
  }
  auto events = result.find("events");
  if (events == result.end() || !events->is_array()) return;
  for (const auto& e : *events) {
    // No revision on an event (not seen from etcd 3.4): the header's, at least as new.
    uint64_t r = event_revision(e);
    if (!r) r = etcd_number(etcd_field(result, "header"), "revision");
    if (!r) r = UINT64_MAX;  // nothing says when: a change for every waiter
    s.newest = std::max(s.newest, r);
    auto kv = e.find("kv");
    const uint64_t own = event_revision(e);  // without its own revision: no value is reported
    if (s.key.empty() || !own || own < s.key_revision || kv == e.end() || !kv->is_object()) continue;
    auto k = base64_decode(text_of(*kv, "key"));
    if (!k || *k != s.key) continue;
    s.key_revision = own;
    s.key_value = text_of(e, "type") == "DELETE" ? std::nullopt : base64_decode(text_of(*kv, "value"));
  }
}

}  // namespace

void WatchScan::feed(std::string_view bytes) {
  WatchScan& s = *this;
  if (over()) return;  // the stream is closed next
  s.buffer.append(bytes);
  for (size_t i = s.scanned; i < s.buffer.size() && !over(); ++i) {
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
  if (s.buffer.size() > kMaxWatchMessage) s.overflow = true;
}

}  // namespace invar::store
