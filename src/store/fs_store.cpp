// The filesystem state store (format version 1, docs/state.md):
//
//   DIR/invar-state.json                 marker: format and version
//   DIR/streams/S/lock                   flock(2) target
//   DIR/streams/S/lkg.json               the LKG record (sealed): its rename is a promotion's commit
//   DIR/streams/S/accepted.json          the retention list (sealed)
//   DIR/streams/S/waivers.json           active and expired waivers (sealed)
//   DIR/streams/S/journal.jsonl          one sealed record per line, appended
//   DIR/streams/S/journal.N.jsonl        rotated journals (1 newest)
//   DIR/streams/S/journal.torn-MS.bin    the bytes of a torn append, moved aside
//   DIR/streams/S/objects/HEX.json       artifact bytes, named by SHA-256
//   DIR/streams/S/objects/HEX.measures.json   their measures (a sealed JSON line, then binary keys)
//
// Everything below DIR is reached through directory descriptors (*at(2),
// O_NOFOLLOW): a symbolic link inside the state is an error, never followed.
// Every directory must be owned by this user (or root) and not writable by
// group or others, unless StoreOptions::trust_shared.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>  // renameat2
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "common/digest.hpp"
#include "common/fault.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "store/store.hpp"

namespace invar::store {

bool valid_stream_name(const std::string& stream) {
  if (stream.empty() || stream.size() > 128 || stream[0] == '.' || stream[0] == '-') return false;
  return std::all_of(stream.begin(), stream.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

Result<Fence> sequence_fence(Store& store, const std::string& stream) {
  auto lkg = store.lkg(stream);
  if (!lkg) return lkg.error();
  return Fence{lkg.value() ? lkg.value()->sequence : 0};
}

Error fence_conflict(const std::string& stream, const Fence& fence, uint64_t now) {
  Error e;
  e.code = ErrorCode::conflict;
  e.message = "stream " + text::quoted(stream) + ": the LKG changed while the decision was judged (version " +
              std::to_string(fence.version) + ", now " + std::to_string(now) + "); nothing was written";
  return e;
}

uint64_t content_version(std::string_view text) {
  if (text.empty()) return 0;
  std::string hex = digest::sha256(text).substr(7, 15);  // 60 bits: never 0 in practice, never negative
  return std::stoull(hex, nullptr, 16) | 1;
}

Result<std::vector<std::string>> held_by_rollout(Store& store, const std::string& stream) {
  auto r = store.rollout_record(stream);
  if (!r) return r.error();
  if (r->text.empty()) return std::vector<std::string>{};
  auto state = decode_rollout(r->text, stream + "/rollout");
  if (!state) return state.error();
  return rollout_digests(*state);
}

namespace {

// The rollout fence of decide_in_steps: the records as they are now.
Status check_rollout_fence(Store& store, const std::string& stream, const RolloutFence& fence) {
  auto control = store.control_record(stream);
  if (!control) return control.error();
  auto freeze = store.freeze_record();
  if (!freeze) return freeze.error();
  bool steps_moved = false;
  if (fence.rollout_version) {
    auto rollout = store.rollout_record(stream);
    if (!rollout) return rollout.error();
    steps_moved = rollout->version != *fence.rollout_version;
  }
  if (!steps_moved && control->version == fence.control_version && freeze->version == fence.freeze_version)
    return std::nullopt;
  Error e;
  e.code = ErrorCode::conflict;
  e.message = "stream " + text::quoted(stream) + ": " +
              (freeze->version != fence.freeze_version ? "the location's freeze"
               : steps_moved ? "its stages (another rollout step)" : "its halt, vetoes or freeze") +
              " changed while the decision was judged; nothing was written";
  return e;
}

}  // namespace

Status decide_in_steps(Store& store, const std::string& stream, const Fence& fence, const JournalRecord& record,
                       const Promotion* promotion, bool& committed, const WaiverUse* waivers,
                       const ContractSwitch* switched, const RolloutFence* rollout) {
  committed = false;
  auto now = sequence_fence(store, stream);
  if (!now) return now.error();
  if (now->version != fence.version) return fence_conflict(stream, fence, now->version);
  if (rollout)
    if (auto e = check_rollout_fence(store, stream, *rollout)) return e;
  std::optional<StreamInfo> before;  // put back when the decision fails before its commit
  if (switched) {
    auto info = store.stream_info(stream);
    if (!info) return info.error();
    before = info.value();
    if (auto e = store.set_stream_info(switched->info)) return e;
  }
  auto undo = [&](Error e) -> Status {
    if (before && !committed) store.set_stream_info(*before);  // best effort: the write that failed may fail again
    return e;
  };
  // Used up before the commit: a failure between them loses the waiver, never reuses it.
  if (waivers && waivers->after)
    if (auto v = store.set_waivers(stream, *waivers->after, waivers->version); !v) return undo(v.error());
  // The rollout record before the LKG: a revert cut short here leaves the
  // LKG vetoed, which every reader refuses (fail closed) until it is finished.
  if (rollout && rollout->record) {
    if (auto e = store.write_rollout_record(stream, "rollout", *rollout->record)) return undo(*e);
    committed = true;
  }
  if (rollout && rollout->control) {
    if (auto e = store.write_rollout_record(stream, "control", *rollout->control)) return undo(*e);
    committed = true;
  }
  if (promotion) {
    if (auto e = store.promote(stream, promotion->bytes, *promotion->measures, promotion->record, promotion->keep))
      return undo(*e);
    committed = true;
  }
  if (switched)
    if (auto e = store.append(stream, switched->record)) return undo(*e);
  if (record.event.empty()) return std::nullopt;  // a rollout step that only observed health: not journaled
  if (auto e = store.append(stream, record)) return undo(*e);
  return std::nullopt;
}

std::vector<Accepted> retained_after(const std::vector<Accepted>& list, const LkgRecord& record, uint32_t keep) {
  std::vector<Accepted> entries;
  for (const auto& a : list)
    if (a.sequence < record.sequence && a.digest != record.digest) entries.push_back(a);
  entries.push_back({record.digest, record.generation, record.accepted_at_ms, record.sequence, record.attestation});
  if (entries.size() > keep) entries.erase(entries.begin(), entries.end() - keep);
  return entries;
}

std::vector<Accepted> committed(const std::vector<Accepted>& list, const std::optional<LkgRecord>& lkg) {
  std::vector<Accepted> out;
  if (!lkg) return out;
  for (const auto& a : list)
    if (a.sequence <= lkg->sequence) out.push_back(a);
  return out;
}

namespace {

using files::Dir;

Error io(const std::string& path, const std::string& what, int err = errno) {
  Error e;
  e.code = ErrorCode::io;
  e.message = what + ": " + std::strerror(err);
  e.where.file = path;
  return e;
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// An object file's digest hex when `name` is one ("HEX.json", "HEX.measures.json").
std::optional<std::string> object_hex(const std::string& name) {
  for (std::string_view suffix : {".json", ".measures.json"})
    if (name.size() == 64 + suffix.size() && name.compare(64, std::string::npos, suffix) == 0 &&
        is_hex64(std::string_view(name).substr(0, 64)))
      return name.substr(0, 64);
  return std::nullopt;
}

// A temporary file of Dir::write_atomic for one of `targets`.
bool is_temp_of(const std::string& name, std::initializer_list<std::string_view> targets) {
  for (auto t : targets) {
    std::string prefix = "." + std::string(t) + ".tmp-";
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class FsLock : public Lock {
 public:
  explicit FsLock(int fd) : fd_(fd) {}
  ~FsLock() override {
    if (fd_ < 0) return;
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class FsStore : public Store {
 public:
  FsStore(std::string dir, StoreOptions options) : dir_(std::move(dir)), options_(options) {}

  Result<bool> has_location() override {
    auto r = root(false);
    if (!r) return r.error();
    return *r != nullptr;
  }

  Result<bool> has_stream(const std::string& stream) override {
    auto s = stream_dir(stream, false);
    if (!s) return s.error();
    return s->has_value();
  }

  // The stream is made whole in a hidden directory beside the others, then
  // renamed to its name without replacing one: the rename is the commit, so
  // no gate ever sees it without its seed. (A crash before it leaves a
  // ".init-*" directory, which nothing reads.)
  Status init_stream(const StreamInfo& info, const JournalRecord* record, const Promotion* seed,
                     const std::string* rollout = nullptr) override {
    auto existing = stream_dir(info.stream, false);
    if (!existing) return existing.error();
    if (*existing) return exists_already(info.stream);
    auto streams = streams_dir(true);
    if (!streams) return streams.error();
    const std::string temp = ".init-" + info.stream + "-" + std::to_string(::getpid()) + "-" + std::to_string(wall_ms());
    if (::mkdirat((**streams).fd(), temp.c_str(), 0755) != 0)
      return io((**streams).child(temp), "cannot create directory");
    auto built = build_stream(**streams, temp, info, record, seed, rollout);
    if (!built) {
      int rc = ::renameat2((**streams).fd(), temp.c_str(), (**streams).fd(), info.stream.c_str(), RENAME_NOREPLACE);
      // A file system without RENAME_NOREPLACE: a rename never replaces a non-empty directory.
      if (rc != 0 && errno == EINVAL)
        rc = ::renameat((**streams).fd(), temp.c_str(), (**streams).fd(), info.stream.c_str());
      if (rc == 0) {
        (**streams).sync();  // committed: a failure here loses at most the new stream, never an LKG
        return std::nullopt;
      }
      built = (errno == EEXIST || errno == ENOTEMPTY) ? exists_already(info.stream)
                                                     : io((**streams).child(info.stream), "cannot create the stream");
    }
    remove_tree(**streams, temp);
    return built;
  }

  Result<std::optional<StreamInfo>> stream_info(const std::string& stream) override {
    auto dir = existing(stream);
    if (!dir) return dir.error();
    if (!*dir) return std::optional<StreamInfo>();
    auto text = read_state(**dir, "stream.json");
    if (!text) return text.error();
    if (!*text) return std::optional<StreamInfo>();
    auto info = decode_stream(**text, (*dir)->child("stream.json"));
    if (!info) return info.error();
    if (info->stream != stream)
      return state_error((*dir)->child("stream.json"), "the stream record names another stream; invar will not use it");
    return std::optional<StreamInfo>(std::move(info.value()));
  }

  Status set_stream_info(const StreamInfo& info) override {
    auto dir = stream_dir(info.stream, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(stream_path(info.stream), "the stream's directory is gone");
    return (**dir).write_atomic("stream.json", encode_stream(info), "stream");
  }

  Result<std::unique_ptr<Lock>> lock(const std::string& stream, bool exclusive) override {
    auto s = stream_dir(stream, false);
    if (!s) return s.error();
    if (!*s) {
      if (!exclusive) return std::unique_ptr<Lock>(std::make_unique<FsLock>(-1));  // readers find no records
      Error e;
      e.code = ErrorCode::usage;
      e.message = "stream " + text::quoted(stream) + " does not exist in " + dir_;
      return e;
    }
    const Dir& dir = **s;
    if (exclusive) {
      auto objects = dir.sub("objects", true);
      if (!objects) return objects.error();
      if (auto e = trusted(**objects)) return *e;
    }
    int flags = (exclusive ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    int fd = ::openat(dir.fd(), "lock", flags, 0644);
    if (fd < 0) {
      if (!exclusive && errno == ENOENT) return std::unique_ptr<Lock>(std::make_unique<FsLock>(-1));
      if (errno == ELOOP) return state_error(dir.child("lock"), "is a symbolic link; invar follows none inside its state");
      return io(dir.child("lock"), "cannot open the stream lock");
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return state_error(dir.child("lock"), "is not a regular file");
    }
    while (::flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
      if (errno == EINTR) continue;
      auto e = io(dir.child("lock"), "cannot lock the stream");
      ::close(fd);
      return e;
    }
    // Removed while we waited (an operator deleted the state): nothing here is real any more.
    auto links = dir.links();
    if (!links || *links == 0) {
      ::close(fd);
      return state_error(dir.path(), "the stream's directory was removed while the gate ran; nothing was changed");
    }
    return std::unique_ptr<Lock>(std::make_unique<FsLock>(fd));
  }

  Result<std::vector<std::string>> streams() override {
    auto streams = streams_dir(false);
    if (!streams) return streams.error();
    std::vector<std::string> out;
    if (!*streams) return out;
    auto names = (*streams)->list();
    if (!names) return names.error();
    for (const auto& name : *names) {
      auto st = (*streams)->stat(name);
      if (st && S_ISDIR(st->st_mode) && valid_stream_name(name)) out.push_back(name);
    }
    return out;
  }

  Result<std::optional<LkgRecord>> lkg(const std::string& stream) override {
    auto dir = existing(stream);
    if (!dir) return dir.error();
    if (!*dir) return std::optional<LkgRecord>();
    auto text = read_state(**dir, "lkg.json");
    if (!text) return text.error();
    if (!*text) {
      if (auto e = lkg_evidence(stream, **dir)) return *e;
      return std::optional<LkgRecord>();
    }
    auto rec = decode_lkg(**text, (*dir)->child("lkg.json"));
    if (!rec) return rec.error();
    if (rec->stream != stream)
      return state_error((*dir)->child("lkg.json"), "the LKG record names another stream; invar will not use it");
    return std::optional<LkgRecord>(std::move(rec.value()));
  }

  Result<std::string> artifact(const std::string& stream, const std::string& digest, uint64_t max_bytes) override {
    auto objects = objects_dir(stream);
    if (!objects) return objects.error();
    return verified_object(*objects, digest, max_bytes);
  }

  // Hashed as it is read: the gate verifies the LKG without holding it.
  Status verify_artifact(const std::string& stream, const std::string& digest, uint64_t size) override {
    auto objects = objects_dir(stream);
    if (!objects) return objects.error();
    if (!valid_digest(digest)) return malformed_digest(*objects, digest);
    std::string name = digest.substr(7) + ".json";
    auto found = objects->digest(name, size, "stored artifact");
    if (!found) return stored_read_error(found.error());
    if (auto e = refuse_object(*objects, name, *found ? (*found)->sha256 : "", digest)) return e;
    if ((*found)->size != size)
      return state_error(stream, "the stored LKG has " + std::to_string((*found)->size) + " bytes, its record says " +
                                     std::to_string(size));
    return std::nullopt;
  }

  // The artifact stored in `dir` under `digest`, verified.
  static Result<std::string> verified_object(const Dir& dir, const std::string& digest, uint64_t max_bytes) {
    if (!valid_digest(digest)) return malformed_digest(dir, digest);
    std::string name = digest.substr(7) + ".json";
    auto bytes = dir.read(name, max_bytes, "stored artifact");
    if (!bytes) return stored_read_error(bytes.error());
    if (auto e = refuse_object(dir, name, *bytes ? digest::sha256(**bytes) : "", digest)) return *e;
    return std::move(**bytes);
  }

  // What verified_object() and verify_artifact() refuse, in the same words.
  static Error malformed_digest(const Dir& dir, const std::string& digest) {
    return state_error(dir.path(), "malformed artifact digest " + text::quoted(digest));
  }
  static Error stored_read_error(Error e) {
    if (e.code == ErrorCode::limit) e.message += " (larger than its record says; invar will not use it)";
    e.code = ErrorCode::state;
    return e;
  }
  // `actual`: the stored file's digest, "" when it is gone.
  static Status refuse_object(const Dir& dir, const std::string& name, const std::string& actual,
                              const std::string& digest) {
    if (actual.empty()) return state_error(dir.child(name), "the state refers to an artifact that is gone");
    if (actual != digest)
      return state_error(dir.child(name),
                         "the stored artifact does not match its SHA-256 (corrupted); invar will not use it");
    return std::nullopt;
  }

  Result<std::optional<invariants::Measures>> measures(const std::string& stream, const std::string& digest) override {
    auto objects = objects_dir(stream);
    if (!objects) return objects.error();
    std::string name = digest.substr(7) + ".measures.json";
    auto text = read_state(*objects, name);
    if (!text) return text.error();
    if (!*text) return std::optional<invariants::Measures>();
    auto m = decode_measures(**text, objects->child(name), digest);
    if (!m) return m.error();
    return std::move(m.value());
  }

  Result<std::vector<Accepted>> accepted(const std::string& stream) override {
    auto dir = existing(stream);
    if (!dir) return dir.error();
    if (!*dir) return std::vector<Accepted>();
    auto text = read_state(**dir, "accepted.json");
    if (!text) return text.error();
    if (!*text) return std::vector<Accepted>();
    return decode_accepted(**text, (*dir)->child("accepted.json"));
  }

  Result<std::vector<Waiver>> waivers(const std::string& stream) override {
    auto dir = existing(stream);
    if (!dir) return dir.error();
    if (!*dir) return std::vector<Waiver>();
    auto text = read_state(**dir, "waivers.json");
    if (!text) return text.error();
    if (!*text) return std::vector<Waiver>();
    return decode_waivers(**text, (*dir)->child("waivers.json"));
  }

  Result<JournalRead> journal(const std::string& stream, uint64_t max_bytes) override {
    auto dir = existing(stream);
    if (!dir) return dir.error();
    JournalRead out;
    if (!*dir) return out;
    // The current journal, then rotated ones while the budget lasts.
    std::vector<std::vector<JournalRecord>> parts;
    uint64_t budget = max_bytes;
    for (uint32_t n = 0; n <= options_.journal_keep && budget > 0; ++n) {
      std::string name = journal_name(n);
      auto st = (*dir)->stat(name);
      if (!st) {
        if (n == 0) continue;  // rotated files may exist with no current journal yet
        break;
      }
      uint64_t used = 0;
      auto part = read_journal(**dir, name, budget, n == 0 ? &out.torn_bytes : nullptr, used);
      if (!part) return part.error();
      parts.push_back(std::move(part.value()));
      budget = used >= budget ? 0 : budget - used;
    }
    for (size_t i = parts.size(); i-- > 0;)
      out.records.insert(out.records.end(), parts[i].begin(), parts[i].end());
    return out;
  }

  Status promote(const std::string& stream, std::string_view bytes, const invariants::Measures& measures,
                 const LkgRecord& record, uint32_t keep) override {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(stream_path(stream), "the stream's directory is gone; nothing was changed");
    // 1. The artifact and its measures, under names no committed record uses
    //    yet (already written when stage() was called for them).
    bool staged = false;
    {
      std::lock_guard<std::mutex> g(staged_mutex_);
      staged = staged_ == stream + "/" + record.digest;
      staged_.clear();
    }
    // A stage() of an earlier decision that did not promote may have been
    // pruned since by another gate: skip the write only if the files are there.
    if (staged) {
      auto objects = objects_dir(stream);
      if (!objects) return objects.error();
      std::string hex = record.digest.substr(7);
      auto object = objects->stat(hex + ".json"), stored = objects->stat(hex + ".measures.json");
      staged = object && S_ISREG(object->st_mode) && static_cast<uint64_t>(object->st_size) == bytes.size() &&
               stored && S_ISREG(stored->st_mode);
    }
    if (!staged)
      if (auto e = stage(stream, bytes, measures, record.digest)) return e;
    // 2. The retention list with the new entry: readers ignore entries past
    //    the LKG's sequence, so until the commit it changes nothing.
    auto list = accepted(stream);
    if (!list) return list.error();
    auto entries = retained_after(list.value(), record, keep);
    if (auto e = (**dir).write_atomic("accepted.json", encode_accepted(entries), "promote:accepted")) return e;
    // 3. The LKG record: its rename is the commit.
    if (auto e = (**dir).write_atomic("lkg.json", encode_lkg(record), "promote:lkg")) return e;
    fault::point("promote:committed");
    return std::nullopt;
  }

  Status stage(const std::string& stream, std::string_view bytes, const invariants::Measures& measures,
               const std::string& digest) override {
    auto objects = objects_dir(stream);
    if (!objects) return objects.error();
    std::string hex = digest.substr(7);
    if (auto e = objects->write_atomic(hex + ".json", bytes, "promote:object")) return e;
    if (auto e = objects->write_atomic(hex + ".measures.json", encode_measures(digest, measures), "promote:measures"))
      return e;
    std::lock_guard<std::mutex> g(staged_mutex_);
    staged_ = stream + "/" + digest;
    return std::nullopt;
  }

  Result<Fence> fence(const std::string& stream) override { return sequence_fence(*this, stream); }

  Status decide(const std::string& stream, const Fence& fence, const JournalRecord& record, const Promotion* promotion,
                bool& committed, const WaiverUse* waivers = nullptr, const ContractSwitch* switched = nullptr,
                const RolloutFence* rollout = nullptr) override {
    return decide_in_steps(*this, stream, fence, record, promotion, committed, waivers, switched, rollout);
  }

  Result<Versioned> rollout_record(const std::string& stream) override { return small_record(stream, "rollout.json"); }
  Result<Versioned> control_record(const std::string& stream) override { return small_record(stream, "control.json"); }

  Result<Versioned> small_record(const std::string& stream, const std::string& name) {
    auto dir = existing(stream);
    if (!dir) return dir.error();
    if (!*dir) return Versioned{};
    auto text = read_state(**dir, name);
    if (!text) return text.error();
    if (!*text) return Versioned{};
    return Versioned{**text, content_version(**text)};
  }

  Status write_rollout_record(const std::string& stream, const char* name, const std::string& text) override {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(stream_path(stream), "the stream's directory is gone");
    return (**dir).write_atomic(std::string(name) + ".json", text, "rollout");
  }

  Result<Versioned> freeze_record() override {
    auto r = root(false);
    if (!r) return r.error();
    if (!*r) return Versioned{};
    auto text = read_state(**r, "freeze.json");
    if (!text) return text.error();
    if (!*text) return Versioned{};
    return Versioned{**text, content_version(**text)};
  }

  // Serialised by a location lock; then every stream's exclusive lock is
  // taken and released once: a decision that judged under the old freeze
  // holds its stream's lock until it has committed or given up.
  Result<uint64_t> set_freeze_record(const std::string& text, uint64_t version) override {
    auto r = root(true);
    if (!r) return r.error();
    int fd = ::openat((**r).fd(), ".freeze.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return io((**r).child(".freeze.lock"), "cannot open the freeze lock");
    FsLock held(fd);
    if (::flock(fd, LOCK_EX) != 0) return io((**r).child(".freeze.lock"), "cannot lock");
    auto current = freeze_record();
    if (!current) return current.error();
    if (current->version != version) {
      Error e;
      e.code = ErrorCode::conflict;
      e.message = "the location's freeze changed meanwhile (another freeze or thaw); nothing was written";
      return e;
    }
    if (text.empty()) {
      if (current->version != 0)
        if (auto e = (**r).remove("freeze.json")) return *e;
    } else if (auto e = (**r).write_atomic("freeze.json", text, "freeze")) {
      return *e;
    }
    auto names = streams();
    if (!names) return names.error();
    for (const auto& name : *names) {
      auto barrier = lock(name, true);
      if (!barrier && barrier.error().code != ErrorCode::usage) return barrier.error();  // usage: removed meanwhile
    }
    return content_version(text);
  }

  Result<uint64_t> prune(const std::string& stream) override {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return uint64_t{0};
    auto current = lkg(stream);
    if (!current) return current.error();
    auto list = accepted(stream);
    if (!list) return list.error();
    std::set<std::string> keep;
    if (current.value()) keep.insert(current.value()->digest.substr(7));
    for (const auto& a : committed(list.value(), current.value())) keep.insert(a.digest.substr(7));
    auto held = held_by_rollout(*this, stream);
    if (!held) return held.error();
    for (const auto& d : *held) keep.insert(d.substr(7));
    auto objects = objects_dir(stream);
    if (!objects) return objects.error();
    uint64_t removed = 0;
    if (auto e = remove_unlisted(*objects, keep, &removed)) return *e;
    auto stream_names = (**dir).list();
    if (!stream_names) return stream_names.error();
    for (const auto& name : *stream_names) {
      if (!is_temp_of(name, {"lkg.json", "accepted.json", "waivers.json", "journal.jsonl", "stream.json",
                             "quarantine.json", "rollout.json", "control.json"}))
        continue;
      auto st = (**dir).stat(name);
      if (st && S_ISREG(st->st_mode)) {
        if (auto e = (**dir).remove(name)) return *e;
        ++removed;
      }
    }
    return removed;
  }

  Status reserve(const std::string& stream, const JournalRecord& record) override {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(stream_path(stream), "the stream's directory is gone; nothing was changed");
    uint64_t line = encode_journal(record).size() + 1;
    auto fd = open_journal(**dir);
    if (!fd) return fd.error();
    struct stat st;
    ::fstat(*fd, &st);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (options_.journal_rotate_bytes && size > 0 && size + line > options_.journal_rotate_bytes) {
      ::close(*fd);
      if (auto e = rotate(stream, **dir)) return e;
      fd = open_journal(**dir);
      if (!fd) return fd.error();
      ::fstat(*fd, &st);
      size = static_cast<uint64_t>(st.st_size);
    }
    // Blocks reserved past the end: the append after the commit cannot run
    // out of space. A file system without fallocate gets no guarantee.
    int rc = ::fallocate(*fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(size), static_cast<off_t>(line));
    int err = errno;
    ::close(*fd);
    if (rc != 0 && err != EOPNOTSUPP && err != ENOSYS)
      return io((**dir).child("journal.jsonl"), "cannot reserve space for the journal record", err);
    return std::nullopt;
  }

  Status append(const std::string& stream, const JournalRecord& record) override {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(stream_path(stream), "the stream's directory is gone");
    return append_line(**dir, encode_journal(record) + "\n");
  }

  Result<std::optional<std::string>> repair_journal(const std::string& stream) override {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return std::optional<std::string>();
    auto fd = open_journal(**dir);
    if (!fd) return fd.error();
    struct stat st;
    ::fstat(*fd, &st);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    // The torn line is the bytes after the last newline: at most one record.
    uint64_t from = size > kMaxStateFileBytes ? size - kMaxStateFileBytes : 0;
    std::string tail(static_cast<size_t>(size - from), '\0');
    ssize_t got = ::pread(*fd, tail.data(), tail.size(), static_cast<off_t>(from));
    if (got != static_cast<ssize_t>(tail.size())) {
      auto e = io((**dir).child("journal.jsonl"), "cannot read the journal");
      ::close(*fd);
      return e;
    }
    if (tail.empty() || tail.back() == '\n') {
      ::close(*fd);
      return std::optional<std::string>();
    }
    size_t nl = tail.rfind('\n');
    uint64_t keep = nl == std::string::npos ? from : from + nl + 1;
    std::string aside = "journal.torn-" + std::to_string(wall_ms()) + ".bin";
    if (auto e = (**dir).write_atomic(aside, std::string_view(tail).substr(static_cast<size_t>(keep - from)), "torn")) {
      ::close(*fd);
      return *e;
    }
    if (::ftruncate(*fd, static_cast<off_t>(keep)) != 0 || ::fsync(*fd) != 0) {
      auto e = io((**dir).child("journal.jsonl"), "cannot truncate the torn journal record");
      ::close(*fd);
      return e;
    }
    ::close(*fd);
    return std::optional<std::string>(aside);
  }

  // Under the stream's exclusive lock: nothing else writes the list (`version` is 0).
  Result<uint64_t> set_waivers(const std::string& stream, const std::vector<Waiver>& waivers, uint64_t) override {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(stream_path(stream), "the stream's directory is gone");
    if (auto e = (**dir).write_atomic("waivers.json", encode_waivers(waivers), "waivers")) return *e;
    return uint64_t{0};
  }

  Status quarantine(const std::string& stream, std::string_view bytes, const Quarantined& entry,
                    uint32_t keep) override {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(stream_path(stream), "the stream's directory is gone");
    auto q = (**dir).sub("quarantine", true);
    if (!q) return q.error();
    if (auto e = trusted(**q)) return e;
    auto list = quarantined(stream);
    if (!list) return list.error();
    std::vector<Quarantined> entries;
    for (const auto& old : list.value())
      if (old.digest != entry.digest) entries.push_back(old);
    entries.push_back(entry);
    if (entries.size() > keep) entries.erase(entries.begin(), entries.end() - keep);
    if (keep > 0)
      if (auto e = (**q).write_atomic(entry.digest.substr(7) + ".json", bytes, "quarantine:object")) return e;
    if (auto e = (**dir).write_atomic("quarantine.json", encode_quarantine(entries), "quarantine:list")) return e;
    std::set<std::string> listed;
    for (const auto& e : entries) listed.insert(e.digest.substr(7));
    return remove_unlisted(**q, listed);
  }

  Result<std::vector<Quarantined>> quarantined(const std::string& stream) override {
    auto dir = existing(stream);
    if (!dir) return dir.error();
    if (!*dir) return std::vector<Quarantined>();
    auto text = read_state(**dir, "quarantine.json");
    if (!text) return text.error();
    if (!*text) return std::vector<Quarantined>();
    return decode_quarantine(**text, (*dir)->child("quarantine.json"));
  }

  Result<std::string> quarantined_artifact(const std::string& stream, const std::string& digest,
                                           uint64_t max_bytes) override {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(stream_path(stream), "the stream has no state");
    auto q = (**dir).sub("quarantine", false);
    if (!q) return q.error();
    if (!*q) return state_error((**dir).child("quarantine"), "the quarantine directory is gone");
    if (auto e = trusted(**q)) return *e;
    return verified_object(**q, digest, max_bytes);
  }

  Status check_outside(const std::string& path) override { return files::check_output(path, "--out", {dir_}, {}); }

 private:
  std::string stream_path(const std::string& stream) const { return dir_ + "/streams/" + stream; }

  Error exists_already(const std::string& stream) const {
    return Error{ErrorCode::usage, "stream " + text::quoted(stream) + " exists already in " + dir_, {}};
  }

  // A new stream's files in streams/`name`: its record, journal, and seed.
  Status build_stream(const Dir& streams, const std::string& name, const StreamInfo& info, const JournalRecord* record,
                      const Promotion* seed, const std::string* rollout) {
    auto dir = streams.sub(name, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(streams.child(name), "the directory being created is gone");
    auto objects = (**dir).sub("objects", true);
    if (!objects) return objects.error();
    if (auto e = (**dir).write_atomic("stream.json", encode_stream(info), "stream")) return e;
    if (seed) {
      const std::string hex = seed->record.digest.substr(7);
      if (auto e = (**objects).write_atomic(hex + ".json", seed->bytes, "promote:object")) return e;
      std::string measures = encode_measures(seed->record.digest, *seed->measures);
      if (auto e = (**objects).write_atomic(hex + ".measures.json", measures, "promote:measures")) return e;
      auto entries = retained_after({}, seed->record, seed->keep);
      if (auto e = (**dir).write_atomic("accepted.json", encode_accepted(entries), "promote:accepted")) return e;
      if (auto e = (**dir).write_atomic("lkg.json", encode_lkg(seed->record), "promote:lkg")) return e;
    }
    if (rollout)
      if (auto e = (**dir).write_atomic("rollout.json", *rollout, "rollout")) return e;
    if (record)
      if (auto e = append_line(**dir, encode_journal(*record) + "\n")) return e;
    return std::nullopt;
  }

  // Removes streams/`name` as build_stream() left it (best effort).
  static void remove_tree(const Dir& streams, const std::string& name) {
    if (auto dir = streams.sub(name, false); dir && *dir) {
      if (auto objects = (**dir).sub("objects", false); objects && *objects)
        if (auto names = (**objects).list())
          for (const auto& n : *names) (**objects).remove(n);
      ::unlinkat((**dir).fd(), "objects", AT_REMOVEDIR);
      if (auto names = (**dir).list())
        for (const auto& n : *names) (**dir).remove(n);
    }
    ::unlinkat(streams.fd(), name.c_str(), AT_REMOVEDIR);
  }

  // Deletes the artifacts in `dir` whose digest is not in `keep`, and
  // temporary files of interrupted writes: only regular files named as
  // invar names them.
  static Status remove_unlisted(const Dir& dir, const std::set<std::string>& keep, uint64_t* removed = nullptr) {
    auto names = dir.list();
    if (!names) return names.error();
    for (const auto& name : *names) {
      auto hex = object_hex(name);
      bool ours = (hex && !keep.count(*hex)) || (name[0] == '.' && name.find(".json.tmp-") != std::string::npos &&
                                                 object_hex(name.substr(1, name.find(".tmp-") - 1)));
      if (!ours) continue;
      auto st = dir.stat(name);
      if (!st || !S_ISREG(st->st_mode)) continue;
      if (auto e = dir.remove(name)) return e;
      if (removed && !name.ends_with(".measures.json")) ++*removed;
    }
    return std::nullopt;
  }

  static std::string journal_name(uint32_t n) {
    return n == 0 ? "journal.jsonl" : "journal." + std::to_string(n) + ".jsonl";
  }

  // Refuses a directory another user could have written.
  Status trusted(const Dir& dir) const {
    if (options_.trust_shared) return std::nullopt;
    uid_t me = ::geteuid();
    if (dir.uid() != me && dir.uid() != 0)
      return state_error(dir.path(), "is owned by uid " + std::to_string(dir.uid()) + ", not by this user (uid " +
                                         std::to_string(me) + ") or root; invar will not trust it (--trust-shared-state accepts it)");
    if (dir.mode() & (S_IWGRP | S_IWOTH))
      return state_error(dir.path(), std::string("is writable by ") + ((dir.mode() & S_IWOTH) ? "others" : "its group") +
                                         "; invar will not trust it (chmod go-w, or --trust-shared-state)");
    return std::nullopt;
  }

  // The state directory, opened once and kept: a state removed while a
  // gate runs is then noticed (writes into a removed directory fail)
  // instead of being silently recreated.
  Result<const Dir*> root(bool create) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (root_) return &*root_;
    struct stat st;
    if (::lstat(dir_.c_str(), &st) != 0) {
      if (errno != ENOENT || !create) {
        if (errno == ENOENT) return static_cast<const Dir*>(nullptr);
        return io(dir_, "cannot open the state directory");
      }
      if (auto e = files::make_dirs(dir_)) return *e;
    }
    auto d = Dir::open(dir_);
    if (!d) {
      Error e = d.error();
      if (errno == ENOTDIR) e = state_error(dir_, "the state path exists and is not a directory");
      return e;
    }
    if (auto e = trusted(*d)) return *e;
    auto marker = d->read("invar-state.json", kMaxStateFileBytes, "state marker");
    if (!marker) return marker.error();
    if (*marker) {
      auto j = unseal(**marker, d->child("invar-state.json"), "invar-state");
      if (!j) return j.error();
    } else if (create) {
      if (auto e = d->write_atomic("invar-state.json", seal(nlohmann::json::object(), "invar-state") + "\n", "marker"))
        return *e;
    } else {
      return static_cast<const Dir*>(nullptr);  // a directory, but not (yet) a state: nothing in it
    }
    root_.emplace(std::move(d.value()));
    return &*root_;
  }

  Result<std::optional<Dir>> streams_dir(bool create) {
    auto r = root(create);
    if (!r) return r.error();
    if (!*r) return std::optional<Dir>();
    auto s = (*r)->sub("streams", create);
    if (!s) return s.error();
    if (*s)
      if (auto e = trusted(**s)) return *e;
    return s;
  }

  Result<std::optional<Dir>> stream_dir(const std::string& stream, bool create) {
    if (!valid_stream_name(stream)) return state_error(stream_path(stream), "not a valid stream name");
    auto streams = streams_dir(create);
    if (!streams) return streams.error();
    if (!*streams) return std::optional<Dir>();
    auto s = (*streams)->sub(stream, create);
    if (!s) return s.error();
    if (*s)
      if (auto e = trusted(**s)) return *e;
    return s;
  }

  Result<std::optional<Dir>> existing(const std::string& stream) { return stream_dir(stream, false); }

  Result<Dir> objects_dir(const std::string& stream) {
    auto dir = stream_dir(stream, false);
    if (!dir) return dir.error();
    if (!*dir) return state_error(stream_path(stream), "the stream has no state");
    auto objects = (**dir).sub("objects", false);
    if (!objects) return objects.error();
    if (!*objects) return state_error((**dir).child("objects"), "the stream's objects directory is gone");
    if (auto e = trusted(**objects)) return *e;
    return std::move(**objects);
  }

  // A state file's text (nullopt when absent); any other failure is a state error.
  static Result<std::optional<std::string>> read_state(const Dir& dir, const std::string& name) {
    auto text = dir.read(name, kMaxStateFileBytes, "state file");
    if (!text) {
      Error e = text.error();
      e.code = ErrorCode::state;
      return e;
    }
    return text;
  }

  // lkg.json is absent: fine for a stream that never had an LKG, corrupt
  // for one whose other records show it had one.
  Status lkg_evidence(const std::string& stream, const Dir& dir) {
    std::string why;
    auto list = accepted(stream);
    if (!list) return list.error();
    for (const auto& a : list.value())
      if (a.sequence >= 2) why = "the retention list has promotion " + std::to_string(a.sequence);
    if (why.empty()) {
      auto j = journal(stream, kGateJournalRead);
      if (!j) return j.error();
      for (const auto& r : j->records)
        if (!r.lkg_after.empty() || !r.lkg_before.empty()) why = "the journal records an LKG (" + r.lkg_after + ")";
    }
    if (why.empty()) return std::nullopt;
    return state_error(dir.child("lkg.json"), "is missing, but " + why +
                                                  ": the stream had an LKG and invar will not judge it as a new "
                                                  "stream (restore lkg.json from a backup)");
  }

  static Result<int> open_journal(const Dir& dir) {
    int fd = ::openat(dir.fd(), "journal.jsonl", O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) {
      if (errno == ELOOP) return state_error(dir.child("journal.jsonl"), "is a symbolic link; invar follows none inside its state");
      return io(dir.child("journal.jsonl"), "cannot open the journal");
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return state_error(dir.child("journal.jsonl"), "is not a regular file");
    }
    return fd;
  }

  static Status append_line(const Dir& dir, const std::string& line) {
    auto fd = open_journal(dir);
    if (!fd) return fd.error();
    struct stat st;
    ::fstat(*fd, &st);
    // One write(2) per record: O_APPEND makes it land whole, after the others.
    errno = 0;
    ssize_t n = ::write(*fd, line.data(), line.size());
    int err = errno;
    if (n != static_cast<ssize_t>(line.size())) {
      if (err == 0) err = ENOSPC;  // a short write sets no errno: the device is full
      // Take back what landed: a torn line would make the journal unreadable.
      if (n > 0 && ::ftruncate(*fd, st.st_size) == 0) ::fsync(*fd);
      ::close(*fd);
      return io(dir.child("journal.jsonl"), "cannot append to the journal", err);
    }
    if (::fsync(*fd) != 0) {
      err = errno;
      ::close(*fd);
      return io(dir.child("journal.jsonl"), "cannot fsync the journal", err);
    }
    ::close(*fd);
    return std::nullopt;
  }

  // journal.jsonl -> journal.1.jsonl (older ones shift; the oldest beyond
  // journal_keep goes), then a new journal that starts with a "rotate"
  // record naming the rotated file's digest and the LKG.
  Status rotate(const std::string& stream, const Dir& dir) {
    // Bounded like every state read: a journal past it (from before rotation
    // existed) is rotated without its digest rather than read whole.
    std::string digest = "not digested (over 64 MiB)";
    uint64_t size = 0;
    if (auto st = dir.stat("journal.jsonl")) size = static_cast<uint64_t>(st->st_size);
    auto current = dir.read("journal.jsonl", kMaxStateFileBytes, "journal");
    if (!current && current.error().code != ErrorCode::limit) return current.error();
    if (current && *current) digest = digest::sha256(**current);
    current = Result<std::optional<std::string>>(std::optional<std::string>());  // release it
    auto lkg_record = lkg(stream);
    if (!lkg_record) return lkg_record.error();
    if (options_.journal_keep == 0) {
      if (auto e = dir.remove("journal.jsonl")) return e;
    } else {
      for (uint32_t n = options_.journal_keep; n >= 1; --n)
        if (dir.stat(journal_name(n - 1)) &&
            ::renameat(dir.fd(), journal_name(n - 1).c_str(), dir.fd(), journal_name(n).c_str()) != 0)
          return io(dir.child(journal_name(n - 1)), "cannot rotate the journal");
    }
    if (auto e = dir.sync()) return e;
    JournalRecord rec;
    rec.event = "rotate";
    rec.time_ms = wall_ms();
    rec.stream = stream;
    char host[256] = {0};
    rec.host = ::gethostname(host, sizeof host - 1) == 0 ? host : "unknown";
    rec.pid = ::getpid();
    rec.lkg_after = lkg_record.value() ? lkg_record.value()->digest : "";
    rec.lkg_sequence = lkg_record.value() ? lkg_record.value()->sequence : 0;
    rec.detail = (options_.journal_keep ? journal_name(1) : std::string("the previous journal (not kept)")) + ": " +
                 std::to_string(size) + " bytes, " + digest;
    return append_line(dir, encode_journal(rec) + "\n");
  }

  // The last `budget` bytes of one journal file, verified. `torn`, when
  // given, receives the length of an incomplete last line (else it is an
  // error); `used` the bytes read.
  static Result<std::vector<JournalRecord>> read_journal(const Dir& dir, const std::string& name, uint64_t budget,
                                                         uint64_t* torn, uint64_t& used) {
    std::string path = dir.child(name);
    int fd = ::openat(dir.fd(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
      if (errno == ELOOP) return state_error(path, "is a symbolic link; invar follows none inside its state");
      return io(path, "cannot read the journal");
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return state_error(path, "is not a regular file");
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    uint64_t start = size > budget ? size - budget : 0;
    std::string text(static_cast<size_t>(size - start), '\0');
    ssize_t got = ::pread(fd, text.data(), text.size(), static_cast<off_t>(start));
    ::close(fd);
    if (got != static_cast<ssize_t>(text.size())) return state_error(path, "cannot read the journal");
    used = text.size();
    std::vector<JournalRecord> out;
    size_t pos = 0;
    if (start > 0) pos = text.find('\n') == std::string::npos ? text.size() : text.find('\n') + 1;  // a partial line
    uint64_t line = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      ++line;
      if (end == std::string::npos) {
        if (torn) {
          *torn = text.size() - pos;
          break;
        }
        return state_error(path, "the last journal record is incomplete (truncated); invar will not use the journal");
      }
      auto rec = decode_journal(std::string_view(text).substr(pos, end - pos), path);
      if (!rec) {
        Error e = rec.error();
        e.message = "journal record " + std::to_string(line) + (start ? " of the tail" : "") + ": " + e.message;
        return e;
      }
      out.push_back(std::move(rec.value()));
      pos = end + 1;
    }
    return out;
  }

  std::string dir_;
  StoreOptions options_;
  std::mutex mutex_;
  std::mutex staged_mutex_;
  std::string staged_;  // "STREAM/DIGEST" written by stage(), until the next promote()
  std::optional<Dir> root_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_fs_store(const std::string& dir, const StoreOptions& options) {
  if (dir.empty()) {
    Error e;
    e.code = ErrorCode::usage;
    e.message = "the state directory must not be empty";
    return e;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    Error e;
    e.code = ErrorCode::state;
    e.message = "the state path exists and is not a directory";
    e.where.file = dir;
    return e;
  }
  return std::unique_ptr<Store>(std::make_unique<FsStore>(dir, options));
}

}  // namespace invar::store
