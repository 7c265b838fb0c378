// The filesystem state store (format version 1, docs/state.md):
//
//   DIR/invar-state.json                 marker: format and version
//   DIR/streams/S/lock                   flock(2) target
//   DIR/streams/S/lkg.json               the LKG record (sealed)
//   DIR/streams/S/accepted.json          the retention list (sealed)
//   DIR/streams/S/waivers.json           active and expired waivers (sealed)
//   DIR/streams/S/journal.jsonl          one sealed record per line, appended
//   DIR/streams/S/objects/HEX.json       artifact bytes, named by SHA-256
//   DIR/streams/S/objects/HEX.measures.json   their measures (sealed)
//
// "Sealed": a JSON object with "format", "version" and "checksum", the
// SHA-256 of its compact serialization without "checksum".
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <type_traits>

#include "common/digest.hpp"
#include "common/fault.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "store/store.hpp"

namespace invar::store {

using nlohmann::json;
namespace fs = std::filesystem;

bool valid_stream_name(const std::string& stream) {
  if (stream.empty() || stream.size() > 128 || stream[0] == '.' || stream[0] == '-') return false;
  return std::all_of(stream.begin(), stream.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

json to_json(const Waiver& w) {
  return {{"invariant", w.invariant},
          {"reason", w.reason},
          {"by", w.by},
          {"created_ms", w.created_ms},
          {"expires_ms", w.expires_ms},
          {"expires_at", text::format_rfc3339(w.expires_ms)}};
}

json to_json(const JournalRecord& r) {
  json j = {{"event", r.event},
            {"time_ms", r.time_ms},
            {"time", text::format_rfc3339(r.time_ms)},
            {"stream", r.stream},
            {"host", r.host},
            {"pid", r.pid}};
  if (r.event == "decision") {
    j["verdict"] = r.verdict;
    j["candidate"] = r.candidate;
    j["generation"] = r.generation;
    j["failed"] = r.failed;
    j["waived"] = r.waived;
    j["lkg_before"] = r.lkg_before;
    j["lkg_after"] = r.lkg_after;
    j["contract"] = r.contract;
    j["contract_digest"] = r.contract_digest;
    j["flapping"] = r.flapping;
  }
  if (r.waiver) j["waiver"] = to_json(*r.waiver);
  return j;
}

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string seal(json j, const char* format) {
  j["format"] = format;
  j["version"] = kFormatVersion;
  j.erase("checksum");
  j["checksum"] = digest::sha256(dump(j));
  return dump(j);
}

Error state_error(const std::string& file, const std::string& message, const std::string& pointer = {}) {
  Error e;
  e.code = ErrorCode::state;
  e.message = message;
  e.where.file = file;
  e.where.pointer = pointer;
  return e;
}

// Parses and verifies one sealed record of `format`.
Result<json> unseal(std::string_view text, const std::string& file, const char* format) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return state_error(file, "not a valid JSON record (truncated or corrupted); invar will not use it");
  auto f = j.find("format");
  if (f == j.end() || *f != format)
    return state_error(file, std::string("not an ") + format + " record; invar will not use it", "/format");
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_integer())
    return state_error(file, "no format version; invar will not use it", "/version");
  if (*v != kFormatVersion)
    return state_error(file, "format version " + v->dump() + ", but this invar reads version " +
                                 std::to_string(kFormatVersion) + "; invar will not use it", "/version");
  auto c = j.find("checksum");
  if (c == j.end() || !c->is_string()) return state_error(file, "no checksum; invar will not use it", "/checksum");
  std::string expected = c->get<std::string>();
  j.erase("checksum");
  if (digest::sha256(dump(j)) != expected)
    return state_error(file, "checksum mismatch (the file is corrupted); invar will not use it", "/checksum");
  return j;
}

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

class FsLock : public Lock {
 public:
  explicit FsLock(int fd) : fd_(fd) {}
  ~FsLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class FsStore : public Store {
 public:
  explicit FsStore(std::string dir) : dir_(std::move(dir)) {}

  Status check_marker(bool create) {
    std::string path = dir_ + "/invar-state.json";
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      if (!create) return std::nullopt;
      if (auto e = files::make_dirs(dir_ + "/streams")) return e;
      return files::write_atomic(path, seal(json::object(), "invar-state") + "\n", "marker");
    }
    auto text = files::read_file(path, kMaxStateFileBytes, "state marker");
    if (!text) return text.error();
    auto j = unseal(*text, path, "invar-state");
    if (!j) return j.error();
    return std::nullopt;
  }

  Result<std::unique_ptr<Lock>> lock(const std::string& stream, bool exclusive) override {
    if (auto e = check_marker(exclusive)) return *e;
    std::string dir = stream_dir(stream);
    if (exclusive) {
      if (auto e = files::make_dirs(dir + "/objects")) return *e;
    }
    std::string path = dir + "/lock";
    int fd = ::open(path.c_str(), (exclusive ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (!exclusive && errno == ENOENT) return std::unique_ptr<Lock>(std::make_unique<Lock>());  // no such stream yet
      Error e;
      e.code = ErrorCode::io;
      e.message = std::string("cannot open the stream lock: ") + std::strerror(errno);
      e.where.file = path;
      return e;
    }
    while (::flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
      if (errno == EINTR) continue;
      Error e;
      e.code = ErrorCode::io;
      e.message = std::string("cannot lock the stream: ") + std::strerror(errno);
      e.where.file = path;
      ::close(fd);
      return e;
    }
    return std::unique_ptr<Lock>(std::make_unique<FsLock>(fd));
  }

  Result<std::vector<std::string>> streams() override {
    if (auto e = check_marker(false)) return *e;
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_ + "/streams", ec))
      if (entry.is_directory() && valid_stream_name(entry.path().filename().string()))
        out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<std::optional<LkgRecord>> lkg(const std::string& stream) override {
    std::string path = stream_dir(stream) + "/lkg.json";
    auto j = read_sealed(path, "invar-lkg");
    if (!j) return j.error();
    if (!*j) return std::optional<LkgRecord>();
    const json& r = **j;
    LkgRecord rec;
    if (!get(r, "stream", rec.stream) || !get(r, "sequence", rec.sequence) || !get(r, "digest", rec.digest) ||
        !get(r, "bytes", rec.bytes) || !get(r, "generation", rec.generation) ||
        !get(r, "accepted_at_ms", rec.accepted_at_ms) || !get(r, "contract", rec.contract) ||
        !get(r, "contract_digest", rec.contract_digest) || rec.stream != stream || !digest_ok(rec.digest))
      return state_error(path, "the LKG record is missing fields or names another stream; invar will not use it");
    return std::optional<LkgRecord>(rec);
  }

  Result<std::string> artifact(const std::string& stream, const std::string& digest) override {
    if (!digest_ok(digest)) return state_error(stream_dir(stream), "malformed artifact digest " + text::quoted(digest));
    std::string path = object_path(stream, digest, ".json");
    auto bytes = files::read_file(path, UINT64_MAX, "stored artifact");
    if (!bytes) {
      Error e = bytes.error();
      e.code = ErrorCode::state;
      e.message += " (the state refers to an artifact that is gone)";
      return e;
    }
    if (digest::sha256(*bytes) != digest)
      return state_error(path, "the stored artifact does not match its SHA-256 (corrupted); invar will not use it");
    return bytes;
  }

  Result<std::optional<invariants::Measures>> measures(const std::string& stream, const std::string& digest) override {
    std::string path = object_path(stream, digest, ".measures.json");
    auto j = read_sealed(path, "invar-measures");
    if (!j) return j.error();
    if (!*j) return std::optional<invariants::Measures>();
    auto m = invariants::measures_from_json((**j)["measures"]);
    if (!m || (**j)["artifact"] != digest)
      return state_error(path, "the measures record is malformed; invar will not use it", "/measures");
    return std::optional<invariants::Measures>(std::move(*m));
  }

  Result<std::vector<Accepted>> accepted(const std::string& stream) override {
    std::string path = stream_dir(stream) + "/accepted.json";
    auto j = read_sealed(path, "invar-accepted");
    if (!j) return j.error();
    std::vector<Accepted> out;
    if (!*j) return out;
    const json& list = (**j)["entries"];
    if (!list.is_array()) return state_error(path, "\"entries\" is not an array; invar will not use it", "/entries");
    for (const auto& e : list) {
      Accepted a;
      if (!get(e, "digest", a.digest) || !get(e, "generation", a.generation) ||
          !get(e, "accepted_at_ms", a.accepted_at_ms) || !get(e, "sequence", a.sequence) || !digest_ok(a.digest))
        return state_error(path, "a malformed entry; invar will not use it", "/entries");
      out.push_back(std::move(a));
    }
    return out;
  }

  Result<std::vector<Waiver>> waivers(const std::string& stream) override {
    std::string path = stream_dir(stream) + "/waivers.json";
    auto j = read_sealed(path, "invar-waivers");
    if (!j) return j.error();
    std::vector<Waiver> out;
    if (!*j) return out;
    const json& list = (**j)["waivers"];
    if (!list.is_array()) return state_error(path, "\"waivers\" is not an array", "/waivers");
    for (const auto& w : list) {
      auto waiver = waiver_from(w);
      if (!waiver) return state_error(path, "a malformed waiver; invar will not use it", "/waivers");
      out.push_back(*waiver);
    }
    return out;
  }

  Result<std::vector<JournalRecord>> journal(const std::string& stream, uint64_t max_bytes) override {
    std::string path = stream_dir(stream) + "/journal.jsonl";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    std::vector<JournalRecord> out;
    if (fd < 0) {
      if (errno == ENOENT) return out;
      Error e;
      e.code = ErrorCode::io;
      e.message = std::string("cannot read the journal: ") + std::strerror(errno);
      e.where.file = path;
      return e;
    }
    off_t size = ::lseek(fd, 0, SEEK_END);
    off_t start = size > static_cast<off_t>(max_bytes) ? size - static_cast<off_t>(max_bytes) : 0;
    std::string text(static_cast<size_t>(size - start), '\0');
    ssize_t got = ::pread(fd, text.data(), text.size(), start);
    ::close(fd);
    if (got != static_cast<ssize_t>(text.size())) return state_error(path, "cannot read the journal");
    size_t pos = 0;
    if (start > 0) pos = text.find('\n') == std::string::npos ? text.size() : text.find('\n') + 1;  // a partial line
    uint64_t line = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      ++line;
      if (end == std::string::npos)
        return state_error(path, "the last journal record is incomplete (truncated); invar will not use the journal");
      auto j = unseal(std::string_view(text).substr(pos, end - pos), path, "invar-journal");
      if (!j) {
        Error e = j.error();
        e.message = "journal record " + std::to_string(line) + (start ? " of the tail" : "") + ": " + e.message;
        return e;
      }
      auto rec = record_from(*j);
      if (!rec) return state_error(path, "journal record " + std::to_string(line) + " is malformed");
      out.push_back(std::move(*rec));
      pos = end + 1;
    }
    return out;
  }

  Status promote(const std::string& stream, std::string_view bytes, const invariants::Measures& measures,
                 const LkgRecord& record, uint32_t keep) override {
    // 1. The artifact and its measures, under names no reader uses yet.
    if (auto e = files::write_atomic(object_path(stream, record.digest, ".json"), bytes, "promote:object")) return e;
    json m = {{"artifact", record.digest}, {"measures", invariants::to_json(measures)}};
    if (auto e = files::write_atomic(object_path(stream, record.digest, ".measures.json"),
                                     seal(m, "invar-measures") + "\n", "promote:measures"))
      return e;
    // 2. The LKG record: its rename is the commit.
    json r = {{"stream", record.stream},
              {"sequence", record.sequence},
              {"digest", record.digest},
              {"bytes", record.bytes},
              {"generation", record.generation},
              {"accepted_at_ms", record.accepted_at_ms},
              {"accepted_at", text::format_rfc3339(record.accepted_at_ms)},
              {"contract", record.contract},
              {"contract_digest", record.contract_digest}};
    if (auto e = files::write_atomic(stream_dir(stream) + "/lkg.json", seal(r, "invar-lkg") + "\n", "promote:lkg"))
      return e;
    fault::point("promote:committed");
    // 3. The retention list; only now may anything go, and never the LKG.
    auto list = accepted(stream);
    if (!list) return list.error();
    std::vector<Accepted> entries = list.value();
    // The same bytes accepted again move to the end rather than being kept twice.
    std::erase_if(entries, [&](const Accepted& a) { return a.digest == record.digest; });
    entries.push_back({record.digest, record.generation, record.accepted_at_ms, record.sequence});
    if (entries.size() > keep) entries.erase(entries.begin(), entries.end() - keep);
    if (auto e = write_accepted(stream, entries)) return e;
    return prune(stream, entries, record.digest);
  }

  Status append(const std::string& stream, const JournalRecord& record) override {
    std::string path = stream_dir(stream) + "/journal.jsonl";
    std::string line = seal(to_json(record), "invar-journal") + "\n";
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return io(path, "cannot open the journal");
    // One write(2) per record: O_APPEND makes it land whole, after the others.
    ssize_t n = ::write(fd, line.data(), line.size());
    bool ok = n == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return io(path, "cannot append to the journal");
    return std::nullopt;
  }

  Status set_waivers(const std::string& stream, const std::vector<Waiver>& waivers) override {
    json list = json::array();
    for (const auto& w : waivers) list.push_back(to_json(w));
    return files::write_atomic(stream_dir(stream) + "/waivers.json", seal({{"waivers", list}}, "invar-waivers") + "\n",
                               "waivers");
  }

 private:
  std::string stream_dir(const std::string& stream) const { return dir_ + "/streams/" + stream; }

  static bool digest_ok(const std::string& d) {
    return d.size() == 71 && d.rfind("sha256:", 0) == 0 &&
           std::all_of(d.begin() + 7, d.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  }

  std::string object_path(const std::string& stream, const std::string& digest, const char* suffix) const {
    return stream_dir(stream) + "/objects/" + digest.substr(7) + suffix;
  }

  static Error io(const std::string& path, const std::string& what) {
    Error e;
    e.code = ErrorCode::io;
    e.message = what + ": " + std::strerror(errno);
    e.where.file = path;
    return e;
  }

  // nullopt when the file does not exist; an Error when it is unusable.
  Result<std::optional<json>> read_sealed(const std::string& path, const char* format) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::optional<json>();
    auto text = files::read_file(path, kMaxStateFileBytes, "state file");
    if (!text) {
      Error e = text.error();
      e.code = ErrorCode::state;
      return e;
    }
    auto j = unseal(*text, path, format);
    if (!j) return j.error();
    return std::optional<json>(std::move(j.value()));
  }

  Status write_accepted(const std::string& stream, const std::vector<Accepted>& entries) {
    json list = json::array();
    for (const auto& a : entries)
      list.push_back({{"digest", a.digest},
                      {"generation", a.generation},
                      {"accepted_at_ms", a.accepted_at_ms},
                      {"sequence", a.sequence}});
    return files::write_atomic(stream_dir(stream) + "/accepted.json", seal({{"entries", list}}, "invar-accepted") + "\n",
                               "promote:accepted");
  }

  // Deletes stored artifacts outside the retention list (and temporary files
  // of interrupted writes: under the exclusive lock nobody else is writing).
  Status prune(const std::string& stream, const std::vector<Accepted>& entries, const std::string& lkg) {
    std::set<std::string> keep = {lkg.substr(7)};
    for (const auto& a : entries) keep.insert(a.digest.substr(7));
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(stream_dir(stream) + "/objects", ec)) {
      std::string name = entry.path().filename().string();
      std::string hex = name.substr(0, name.find('.'));
      if (name[0] == '.' || !keep.count(hex)) fs::remove(entry.path(), ec);
    }
    for (const auto& entry : fs::directory_iterator(stream_dir(stream), ec)) {
      std::string name = entry.path().filename().string();
      if (name[0] == '.' && name.find(".tmp-") != std::string::npos) fs::remove(entry.path(), ec);
    }
    return std::nullopt;
  }

  static std::optional<Waiver> waiver_from(const json& j) {
    Waiver w;
    if (!get(j, "invariant", w.invariant) || !get(j, "reason", w.reason) || !get(j, "by", w.by) ||
        !get(j, "created_ms", w.created_ms) || !get(j, "expires_ms", w.expires_ms))
      return std::nullopt;
    return w;
  }

  static std::optional<JournalRecord> record_from(const json& j) {
    JournalRecord r;
    if (!get(j, "event", r.event) || !get(j, "time_ms", r.time_ms) || !get(j, "stream", r.stream) ||
        !get(j, "host", r.host) || !get(j, "pid", r.pid))
      return std::nullopt;
    if (r.event == "decision") {
      if (!get(j, "verdict", r.verdict) || !get(j, "candidate", r.candidate) || !get(j, "generation", r.generation) ||
          !get(j, "failed", r.failed) || !get(j, "waived", r.waived) || !get(j, "lkg_before", r.lkg_before) ||
          !get(j, "lkg_after", r.lkg_after) || !get(j, "contract", r.contract) ||
          !get(j, "contract_digest", r.contract_digest) || !get(j, "flapping", r.flapping))
        return std::nullopt;
    } else if (r.event == "waiver") {
      auto w = j.find("waiver");
      if (w == j.end() || !(r.waiver = waiver_from(*w))) return std::nullopt;
    } else {
      return std::nullopt;
    }
    return r;
  }

  std::string dir_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_fs_store(const std::string& dir) {
  if (dir.empty()) {
    Error e;
    e.code = ErrorCode::usage;
    e.message = "the state directory must not be empty";
    return e;
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    Error e;
    e.code = ErrorCode::state;
    e.message = "the state path exists and is not a directory";
    e.where.file = dir;
    return e;
  }
  return std::unique_ptr<Store>(std::make_unique<FsStore>(dir));
}

}  // namespace invar::store
