#include "store/records.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "common/digest.hpp"
#include "common/text.hpp"
#include "store/store.hpp"

namespace invar::store {

using nlohmann::json;

namespace {

bool rollout_event(const std::string& event) {
  for (const char* e : {"promote", "revert", "veto", "resume", "freeze", "thaw", "rollout"})
    if (event == e) return true;
  return false;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

template <class T>
bool get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // Only integers of the right sign: converting 1e88 would be undefined.
    if (!it->is_number_integer()) return false;
    if (std::is_unsigned_v<T> && !it->is_number_unsigned()) return false;
  }
  try {
    out = it->get<T>();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

// Optional fields: absent means empty (waivers of invar 0.1 have none).
template <class T>
bool get_optional(const json& j, const char* key, T& out) {
  return !j.contains(key) || get(j, key, out);
}

std::optional<Waiver> waiver_from(const json& j) {
  Waiver w;
  if (!get(j, "invariant", w.invariant) || !get(j, "reason", w.reason) || !get(j, "by", w.by) ||
      !get(j, "created_ms", w.created_ms) || !get(j, "expires_ms", w.expires_ms) ||
      !get_optional(j, "for_candidate", w.for_candidate) || !get_optional(j, "for_generation", w.for_generation) ||
      !get_optional(j, "id", w.id) || !get_optional(j, "used_by", w.used_by) || !get_optional(j, "used_ms", w.used_ms) ||
      !get_optional(j, "approvals", w.approvals) || !get_optional(j, "approved_by", w.approved_by) ||
      !get_optional(j, "approved_ms", w.approved_ms) || w.approvals < 1 || w.approvals > 2)
    return std::nullopt;
  if (w.id.empty()) w.id = waiver_id(w);
  return w;
}

double finite(double v) { return std::isfinite(v) ? v : 0; }

std::optional<Observation> observation_from(const json& j) {
  Observation o;
  if (!j.is_object() || !get(j, "invariant", o.invariant) || !get_optional(j, "kind", o.kind) ||
      !get_optional(j, "measure", o.measure) || !get(j, "value", o.value))
    return std::nullopt;
  for (auto [key, out] : {std::pair{"baseline", &o.baseline}, {"min", &o.min}, {"max", &o.max},
                          {"ratio_min", &o.ratio_min}, {"ratio_max", &o.ratio_max}}) {
    double v = 0;
    if (get(j, key, v)) *out = v;
  }
  return o;
}

// A decision's display fields (messages, bytes, observations): shown, never
// judged by, so one of another shape (a newer writer's) is left out rather
// than refusing the record; the bounds hold whatever the line says.
void read_display(const json& j, JournalRecord& r) {
  std::vector<std::string> messages;
  if (get(j, "messages", messages)) {
    uint64_t omitted = 0;
    get(j, "messages_omitted", omitted);
    if (messages.size() > kJournalMessages) {
      omitted += messages.size() - kJournalMessages;
      messages.resize(kJournalMessages);
    }
    for (auto& m : messages) m = text::clip_utf8(m, kJournalMessageBytes);
    r.messages = std::move(messages);
    r.messages_omitted = omitted;
  }
  uint64_t bytes = 0;
  if (get(j, "bytes", bytes)) r.bytes = bytes;
  auto list = j.find("observations");
  if (list == j.end() || !list->is_array()) return;
  for (const auto& o : *list)
    if (r.observations.size() < kJournalObservations)
      if (auto obs = observation_from(o)) r.observations.push_back(std::move(*obs));
}

}  // namespace

std::string seal(json j, const char* format, int version) {
  j["format"] = format;
  j["version"] = version;
  j.erase("checksum");
  j["checksum"] = digest::sha256(dump(j));
  return dump(j);
}

Error state_error(const std::string& where, const std::string& message, const std::string& pointer) {
  Error e;
  e.code = ErrorCode::state;
  e.message = message;
  e.where.file = where;
  e.where.pointer = pointer;
  return e;
}

Result<json> unseal(std::string_view text, const std::string& where, const char* format, int version) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return state_error(where, "not a valid JSON record (truncated or corrupted); invar will not use it");
  auto f = j.find("format");
  if (f == j.end() || *f != format)
    return state_error(where, std::string("not an ") + format + " record; invar will not use it", "/format");
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_integer())
    return state_error(where, "no format version; invar will not use it", "/version");
  if (*v != version)
    return state_error(where, "format version " + v->dump() + ", but this invar reads version " +
                                  std::to_string(version) + "; invar will not use it", "/version");
  auto c = j.find("checksum");
  if (c == j.end() || !c->is_string()) return state_error(where, "no checksum; invar will not use it", "/checksum");
  std::string expected = c->get<std::string>();
  j.erase("checksum");
  if (digest::sha256(dump(j)) != expected)
    return state_error(where, "checksum mismatch (the file is corrupted); invar will not use it", "/checksum");
  return j;
}

bool valid_digest(const std::string& d) {
  return d.size() == 71 && d.rfind("sha256:", 0) == 0 &&
         std::all_of(d.begin() + 7, d.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string encode_stream(const StreamInfo& info) {
  json r = {{"stream", info.stream},
            {"contract", info.contract},
            {"contract_digest", info.contract_digest},
            {"created_ms", info.created_ms},
            {"created_at", text::format_rfc3339(info.created_ms)},
            {"created_by", info.created_by}};
  if (info.approvals > 1) r["approvals"] = info.approvals;  // absent: 1 (and older records)
  return seal(r, "invar-stream", info.approvals > 1 ? kApprovalStreamVersion : kFormatVersion) + "\n";
}

Result<StreamInfo> decode_stream(std::string_view text, const std::string& where) {
  json peek = json::parse(text, nullptr, false);
  bool v2 = peek.is_object() && peek.contains("version") && peek["version"] == kApprovalStreamVersion;
  auto j = unseal(text, where, "invar-stream", v2 ? kApprovalStreamVersion : kFormatVersion);
  if (!j) return j.error();
  StreamInfo info;
  if (!get(*j, "stream", info.stream) || !get(*j, "contract", info.contract) ||
      !get(*j, "contract_digest", info.contract_digest) || !get(*j, "created_ms", info.created_ms) ||
      !get(*j, "created_by", info.created_by) || !get_optional(*j, "approvals", info.approvals) ||
      info.approvals < 1 || info.approvals > 2 || (info.approvals > 1) != v2)
    return state_error(where, "the stream record is missing fields; invar will not use it");
  return info;
}

std::string encode_lkg(const LkgRecord& record) {
  json r = {{"stream", record.stream},
            {"sequence", record.sequence},
            {"digest", record.digest},
            {"bytes", record.bytes},
            {"generation", record.generation},
            {"accepted_at_ms", record.accepted_at_ms},
            {"accepted_at", text::format_rfc3339(record.accepted_at_ms)},
            {"contract", record.contract},
            {"contract_digest", record.contract_digest}};
  if (!record.attestation.empty()) r["attestation"] = record.attestation;  // absent: unsigned (and older records)
  return seal(r, "invar-lkg") + "\n";
}

Result<LkgRecord> decode_lkg(std::string_view text, const std::string& where) {
  auto j = unseal(text, where, "invar-lkg");
  if (!j) return j.error();
  const json& r = *j;
  LkgRecord rec;
  if (!get(r, "stream", rec.stream) || !get(r, "sequence", rec.sequence) || !get(r, "digest", rec.digest) ||
      !get(r, "bytes", rec.bytes) || !get(r, "generation", rec.generation) ||
      !get(r, "accepted_at_ms", rec.accepted_at_ms) || !get(r, "contract", rec.contract) ||
      !get(r, "contract_digest", rec.contract_digest) || !valid_digest(rec.digest) || rec.sequence == 0)
    return state_error(where, "the LKG record is missing fields; invar will not use it");
  if (r.contains("attestation") && !get(r, "attestation", rec.attestation))
    return state_error(where, "the LKG record's attestation is not a string; invar will not use it", "/attestation");
  return rec;
}

std::string encode_accepted(const std::vector<Accepted>& entries) {
  json list = json::array();
  for (const auto& a : entries) {
    json e = {{"digest", a.digest}, {"generation", a.generation}, {"accepted_at_ms", a.accepted_at_ms},
              {"sequence", a.sequence}};
    if (!a.attestation.empty()) e["attestation"] = a.attestation;  // absent: unsigned (and older records)
    list.push_back(std::move(e));
  }
  return seal({{"entries", list}}, "invar-accepted") + "\n";
}

Result<std::vector<Accepted>> decode_accepted(std::string_view text, const std::string& where) {
  auto j = unseal(text, where, "invar-accepted");
  if (!j) return j.error();
  const json& list = (*j)["entries"];
  if (!list.is_array()) return state_error(where, "\"entries\" is not an array; invar will not use it", "/entries");
  std::vector<Accepted> out;
  for (const auto& e : list) {
    Accepted a;
    if (!get(e, "digest", a.digest) || !get(e, "generation", a.generation) ||
        !get(e, "accepted_at_ms", a.accepted_at_ms) || !get(e, "sequence", a.sequence) || !valid_digest(a.digest) ||
        (e.contains("attestation") && !get(e, "attestation", a.attestation)))
      return state_error(where, "a malformed entry; invar will not use it", "/entries");
    out.push_back(std::move(a));
  }
  return out;
}

std::string waiver_id(const Waiver& w) {
  json what = {w.invariant, w.reason, w.by, w.created_ms, w.expires_ms, w.for_candidate, w.for_generation};
  return digest::sha256(dump(what)).substr(7, 12);
}

json to_json(const Waiver& w) {
  json j = {{"id", w.id.empty() ? waiver_id(w) : w.id},
            {"invariant", w.invariant},
            {"reason", w.reason},
            {"by", w.by},
            {"created_ms", w.created_ms},
            {"expires_ms", w.expires_ms},
            {"expires_at", text::format_rfc3339(w.expires_ms)}};
  if (!w.for_candidate.empty()) j["for_candidate"] = w.for_candidate;
  if (!w.for_generation.empty()) j["for_generation"] = w.for_generation;
  if (!w.used_by.empty()) {
    j["used_by"] = w.used_by;
    j["used_ms"] = w.used_ms;
  }
  if (w.approvals > 1) j["approvals"] = w.approvals;
  if (!w.approved_by.empty()) {
    j["approved_by"] = w.approved_by;
    j["approved_ms"] = w.approved_ms;
  }
  return j;
}

std::string encode_waivers(const std::vector<Waiver>& waivers) {
  json list = json::array();
  bool scoped = false, two_person = false;
  for (const auto& w : waivers) {
    list.push_back(to_json(w));
    scoped = scoped || !w.for_candidate.empty() || !w.for_generation.empty();
    two_person = two_person || w.approvals > 1;
  }
  int version = two_person ? kApprovalWaiversVersion : scoped ? kScopedWaiversVersion : kFormatVersion;
  return seal({{"waivers", list}}, "invar-waivers", version) + "\n";
}

Result<std::vector<Waiver>> decode_waivers(std::string_view text, const std::string& where) {
  json peek = json::parse(text, nullptr, false);
  int version = kApprovalWaiversVersion;  // the newest: what an unknown version is refused against
  for (int v : {kFormatVersion, kScopedWaiversVersion})
    if (peek.is_object() && peek.contains("version") && peek["version"] == v) version = v;
  auto j = unseal(text, where, "invar-waivers", version);
  if (!j) return j.error();
  const json& list = (*j)["waivers"];
  if (!list.is_array()) return state_error(where, "\"waivers\" is not an array", "/waivers");
  std::vector<Waiver> out;
  for (const auto& w : list) {
    auto waiver = waiver_from(w);
    if (!waiver) return state_error(where, "a malformed waiver; invar will not use it", "/waivers");
    out.push_back(*waiver);
  }
  return out;
}

std::string encode_quarantine(const std::vector<Quarantined>& entries) {
  json list = json::array();
  for (const auto& q : entries)
    list.push_back({{"digest", q.digest},
                    {"bytes", q.bytes},
                    {"time_ms", q.time_ms},
                    {"time", text::format_rfc3339(q.time_ms)},
                    {"verdict", q.verdict},
                    {"failed", q.failed}});
  for (size_t i = 0; i < entries.size(); ++i)
    if (!entries[i].reason.empty()) list[i]["reason"] = entries[i].reason;
  return seal({{"entries", list}}, "invar-quarantine") + "\n";
}

Result<std::vector<Quarantined>> decode_quarantine(std::string_view text, const std::string& where) {
  auto j = unseal(text, where, "invar-quarantine");
  if (!j) return j.error();
  const json& list = (*j)["entries"];
  if (!list.is_array()) return state_error(where, "\"entries\" is not an array; invar will not use it", "/entries");
  std::vector<Quarantined> out;
  for (const auto& e : list) {
    Quarantined q;
    if (!get(e, "digest", q.digest) || !get(e, "bytes", q.bytes) || !get(e, "time_ms", q.time_ms) ||
        !get(e, "verdict", q.verdict) || !get(e, "failed", q.failed) || !get_optional(e, "reason", q.reason) ||
        !valid_digest(q.digest))
      return state_error(where, "a malformed entry; invar will not use it", "/entries");
    out.push_back(std::move(q));
  }
  return out;
}

std::string encode_measures(const std::string& digest, const invariants::Measures& measures) {
  std::string payload;
  json m = {{"artifact", digest}, {"measures", invariants::to_json(measures, payload)}};
  m["payload"] = {{"bytes", payload.size()}, {"sha256", digest::sha256(payload)}};
  return seal(m, "invar-measures", kMeasuresVersion) + "\n" + payload;
}

Result<std::optional<invariants::Measures>> decode_measures(std::string_view text, const std::string& where,
                                                            const std::string& digest) {
  // The header is compact JSON: its only newline is the one that ends it.
  size_t end = text.find('\n');
  std::string_view header = text.substr(0, end), payload = end == text.npos ? "" : text.substr(end + 1);
  auto j = unseal(header, where, "invar-measures", kMeasuresVersion);
  if (!j) {
    json peek = json::parse(header, nullptr, false);
    if (peek.is_object() && peek.contains("version") && peek["version"].is_number_integer() &&
        peek["version"].get<int64_t>() < kMeasuresVersion && peek["version"].get<int64_t>() >= 1)
      return std::optional<invariants::Measures>();
    return j.error();
  }
  const json& p = (*j)["payload"];
  if (!p.is_object() || !p.contains("bytes") || p["bytes"] != payload.size())
    return state_error(where, "the measures payload is truncated; invar will not use it", "/payload");
  if (p["sha256"] != digest::sha256(payload))
    return state_error(where, "the measures payload does not match its SHA-256 (corrupted); invar will not use it",
                       "/payload");
  auto m = invariants::measures_from_json((*j)["measures"], payload);
  if (!m || (*j)["artifact"] != digest)
    return state_error(where, "the measures record is malformed; invar will not use it", "/measures");
  return std::optional<invariants::Measures>(std::move(*m));
}

json to_json(const JournalRecord& r) {
  json j = {{"event", r.event},
            {"time_ms", r.time_ms},
            {"time", text::format_rfc3339(r.time_ms)},
            {"stream", r.stream},
            {"host", r.host},
            {"pid", r.pid}};
  if (r.event == "decision" || r.event == "init") {
    j["verdict"] = r.verdict;
    j["candidate"] = r.candidate;
    j["generation"] = r.generation;
    j["failed"] = r.failed;
    j["waived"] = r.waived;
    j["lkg_before"] = r.lkg_before;
    j["contract"] = r.contract;
    j["contract_digest"] = r.contract_digest;
    j["flapping"] = r.flapping;
  }
  if (r.event != "waiver" && r.event != "revoke" && r.event != "approve") j["lkg_after"] = r.lkg_after;
  if (rollout_event(r.event) && !r.candidate.empty()) j["candidate"] = r.candidate;
  if (r.lkg_sequence) j["lkg_sequence"] = r.lkg_sequence;
  if (!r.detail.empty()) j["detail"] = r.detail;
  if (!r.stage.empty()) j["stage"] = r.stage;
  if (!r.totals.empty()) j["totals"] = r.totals;
  if (r.waiver) j["waiver"] = to_json(*r.waiver);
  if (r.event == "decision") {
    if (!r.messages.empty() || r.messages_omitted) {
      j["messages"] = r.messages;
      j["messages_omitted"] = r.messages_omitted;
    }
    if (r.bytes) j["bytes"] = *r.bytes;
    if (!r.observations.empty()) {
      json list = json::array();
      for (const auto& o : r.observations) list.push_back(to_json(o));
      j["observations"] = std::move(list);
    }
  }
  return j;
}

json to_json(const Observation& o) {
  json j = {{"invariant", o.invariant}, {"kind", o.kind}, {"measure", o.measure}, {"value", finite(o.value)}};
  auto put = [&](const char* key, const std::optional<double>& v) {
    if (v && std::isfinite(*v)) j[key] = *v;
  };
  put("baseline", o.baseline);
  put("min", o.min);
  put("max", o.max);
  put("ratio_min", o.ratio_min);
  put("ratio_max", o.ratio_max);
  return j;
}

std::string encode_journal(const JournalRecord& record) { return seal(to_json(record), "invar-journal"); }

Result<JournalRecord> decode_journal(std::string_view line, const std::string& where) {
  auto unsealed = unseal(line, where, "invar-journal");
  if (!unsealed) return unsealed.error();
  const json& j = *unsealed;
  JournalRecord r;
  auto malformed = [&] { return state_error(where, "a malformed journal record; invar will not use it"); };
  if (!get(j, "event", r.event) || !get(j, "time_ms", r.time_ms) || !get(j, "stream", r.stream) ||
      !get(j, "host", r.host) || !get(j, "pid", r.pid))
    return malformed();
  if (j.contains("detail") && !get(j, "detail", r.detail)) return malformed();
  if (j.contains("stage") && !get(j, "stage", r.stage)) return malformed();
  if (j.contains("totals") && (!get(j, "totals", r.totals) || r.totals.size() != 4)) return malformed();
  if (j.contains("lkg_sequence") && !get(j, "lkg_sequence", r.lkg_sequence)) return malformed();
  if (r.event == "decision" || r.event == "init") {
    if (!get(j, "verdict", r.verdict) || !get(j, "candidate", r.candidate) || !get(j, "generation", r.generation) ||
        !get(j, "failed", r.failed) || !get(j, "waived", r.waived) || !get(j, "lkg_before", r.lkg_before) ||
        !get(j, "lkg_after", r.lkg_after) || !get(j, "contract", r.contract) ||
        !get(j, "contract_digest", r.contract_digest) || !get(j, "flapping", r.flapping))
      return malformed();
  } else if (r.event == "waiver" || r.event == "revoke" || r.event == "approve") {
    auto w = j.find("waiver");
    if (w == j.end() || !(r.waiver = waiver_from(*w))) return malformed();
  } else if (r.event == "repair" || r.event == "rotate" || r.event == "contract-change") {
    if (!get(j, "lkg_after", r.lkg_after)) return malformed();
  } else if (rollout_event(r.event)) {
    if (!get(j, "lkg_after", r.lkg_after) || !get_optional(j, "candidate", r.candidate)) return malformed();
  } else {
    return malformed();
  }
  if (r.event == "decision") read_display(j, r);
  return r;
}

Result<WaiverList> Store::waiver_list(const std::string& stream) {
  auto list = waivers(stream);
  if (!list) return list.error();
  return WaiverList{std::move(list.value()), 0};
}

Status Store::verify_artifact(const std::string& stream, const std::string& digest, uint64_t size) {
  auto bytes = artifact(stream, digest, size);
  if (!bytes) return bytes.error();
  if (bytes->size() != size)
    return state_error(stream, "the stored LKG has " + std::to_string(bytes->size()) + " bytes, its record says " +
                                   std::to_string(size));
  return std::nullopt;
}

namespace {

json holding_json(const StageHolding& h) {
  json j = {{"digest", h.digest},     {"bytes", h.bytes},       {"generation", h.generation},
            {"accepted_sequence", h.accepted_sequence}, {"sequence", h.sequence}, {"since_ms", h.since_ms}};
  if (!h.attestation.empty()) j["attestation"] = h.attestation;  // absent: unsigned (and older records)
  return j;
}

bool holding_from(const json& j, StageHolding& h) {
  return j.is_object() && get(j, "digest", h.digest) && get(j, "bytes", h.bytes) && get(j, "generation", h.generation) &&
         get(j, "accepted_sequence", h.accepted_sequence) && get(j, "sequence", h.sequence) &&
         get(j, "since_ms", h.since_ms) && valid_digest(h.digest) &&
         (!j.contains("attestation") || get(j, "attestation", h.attestation));
}

json check_json(const CheckState& c) {
  json j = {{"id", c.id},         {"digest", c.digest}, {"state", c.state},
            {"detail", c.detail}, {"at_ms", c.at_ms},   {"healthy_since_ms", c.healthy_since_ms},
            {"unknown_since_ms", c.unknown_since_ms}};
  if (c.value && std::isfinite(*c.value)) j["value"] = *c.value;
  return j;
}

bool check_from(const json& j, CheckState& c) {
  if (!j.is_object() || !get(j, "id", c.id) || !get(j, "digest", c.digest) || !get(j, "state", c.state) ||
      !get(j, "detail", c.detail) || !get(j, "at_ms", c.at_ms) || !get(j, "healthy_since_ms", c.healthy_since_ms) ||
      !get(j, "unknown_since_ms", c.unknown_since_ms))
    return false;
  if (auto v = j.find("value"); v != j.end()) {
    if (!v->is_number()) return false;
    c.value = v->get<double>();
  }
  return c.state == "healthy" || c.state == "unhealthy" || c.state == "unknown";
}

json freeze_json(const Freeze& f) {
  return {{"reason", f.reason}, {"by", f.by}, {"at_ms", f.at_ms}, {"expires_ms", f.expires_ms}};
}

bool freeze_from(const json& j, Freeze& f) {
  return j.is_object() && get(j, "reason", f.reason) && get(j, "by", f.by) && get(j, "at_ms", f.at_ms) &&
         get(j, "expires_ms", f.expires_ms);
}

json stage_json(const StageState& s) {
  json j = {{"name", s.name}, {"previous", json::array()}, {"health", json::array()}};
  j["lkg"] = s.lkg ? holding_json(*s.lkg) : json(nullptr);
  for (const auto& p : s.previous) j["previous"].push_back(holding_json(p));
  for (const auto& c : s.health) j["health"].push_back(check_json(c));
  return j;
}

bool stage_from(const json& j, StageState& s) {
  if (!j.is_object() || !get(j, "name", s.name) || !j.contains("lkg")) return false;
  const json& lkg = j["lkg"];
  if (!lkg.is_null()) {
    StageHolding h;
    if (!holding_from(lkg, h)) return false;
    s.lkg = std::move(h);
  }
  auto prev = j.find("previous");
  auto health = j.find("health");
  if (prev == j.end() || !prev->is_array() || prev->size() > kMaxStageHistory || health == j.end() ||
      !health->is_array())
    return false;
  for (const auto& p : *prev) {
    StageHolding h;
    if (!holding_from(p, h)) return false;
    s.previous.push_back(std::move(h));
  }
  for (const auto& c : *health) {
    CheckState cs;
    if (!check_from(c, cs)) return false;
    s.health.push_back(std::move(cs));
  }
  return true;
}

}  // namespace

std::string encode_rollout(const RolloutState& r) {
  json j = {{"stream", r.stream},     {"policy", r.policy_source}, {"policy_digest", r.policy_digest},
            {"serial", r.serial},     {"stages", json::array()},   {"vetoed", r.vetoed}};
  for (const auto& s : r.stages) j["stages"].push_back(stage_json(s));
  j["halted"] = nullptr;
  if (r.halted)
    j["halted"] = {{"digest", r.halted->digest}, {"reason", r.halted->reason}, {"by", r.halted->by},
                   {"stage", r.halted->stage},   {"at_ms", r.halted->at_ms}};
  j["frozen"] = r.frozen ? freeze_json(*r.frozen) : json(nullptr);
  return seal(j, "invar-rollout") + "\n";
}

Result<RolloutState> decode_rollout(std::string_view text, const std::string& where) {
  auto j = unseal(text, where, "invar-rollout");
  if (!j) return j.error();
  RolloutState r;
  auto malformed = [&](const char* what) {
    return state_error(where, std::string("the rollout record's ") + what + " is malformed; invar will not use it");
  };
  if (!get(*j, "stream", r.stream) || !get(*j, "policy", r.policy_source) ||
      !get(*j, "policy_digest", r.policy_digest) || !get(*j, "serial", r.serial) || !get(*j, "vetoed", r.vetoed))
    return malformed("header");
  const json& stages = (*j)["stages"];
  if (!stages.is_array() || stages.size() > 16) return malformed("stage list");
  for (const auto& s : stages) {
    StageState st;
    if (!stage_from(s, st)) return malformed("stage list");
    r.stages.push_back(std::move(st));
  }
  if (r.vetoed.size() > kMaxVetoed || !std::all_of(r.vetoed.begin(), r.vetoed.end(), valid_digest))
    return malformed("veto list");
  const json& halted = (*j)["halted"];
  if (!halted.is_null()) {
    Halt h;
    if (!halted.is_object() || !get(halted, "digest", h.digest) || !get(halted, "reason", h.reason) ||
        !get(halted, "by", h.by) || !get(halted, "stage", h.stage) || !get(halted, "at_ms", h.at_ms))
      return malformed("halt");
    r.halted = std::move(h);
  }
  const json& frozen = (*j)["frozen"];
  if (!frozen.is_null()) {
    Freeze f;
    if (!freeze_from(frozen, f)) return malformed("freeze");
    r.frozen = std::move(f);
  }
  return r;
}

std::string encode_control(const RolloutState& r) {
  // What gates are fenced on: the halt, the vetoes and the stream's freeze
  // (the same fields as in the rollout record, which readers use).
  json j = nlohmann::json::parse(encode_rollout(r));
  json control = {{"stream", r.stream}, {"halted", j["halted"]}, {"vetoed", j["vetoed"]}, {"frozen", j["frozen"]}};
  return seal(control, "invar-control") + "\n";
}

std::string encode_freeze(const Freeze& freeze) { return seal(freeze_json(freeze), "invar-freeze") + "\n"; }

Result<Freeze> decode_freeze(std::string_view text, const std::string& where) {
  auto j = unseal(text, where, "invar-freeze");
  if (!j) return j.error();
  Freeze f;
  if (!freeze_from(*j, f)) return state_error(where, "the freeze record is missing fields; invar will not use it");
  return f;
}

std::vector<std::string> rollout_digests(const RolloutState& r) {
  std::vector<std::string> out;
  for (const auto& s : r.stages) {
    if (s.lkg) out.push_back(s.lkg->digest);
    for (const auto& p : s.previous) out.push_back(p.digest);
  }
  return out;
}

}  // namespace invar::store
