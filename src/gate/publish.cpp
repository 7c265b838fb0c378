// Publishing to a file (include/invar/gate.hpp, file_publisher): staged
// beside it under an unpredictable name, renamed over it on commit, read
// back and verified; publishers of one file serialised by flock(2) on a
// lock file beside it, only around the staging and the rename.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/digest.hpp"
#include "common/fault.hpp"
#include "common/files.hpp"
#include "invar/gate.hpp"

namespace invar {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kStageMark = ".invar-stage-";
constexpr std::string_view kOldStageMark = ".invar-tmp-";  // invar 0.1's staging names
constexpr std::string_view kSidecar = ".intoto.jsonl";        // the attestation beside the artifact
constexpr uint64_t kMaxHeldBytes = 4ull << 30;  // what --out holds is hashed up to this (the artifact ceiling)

std::string random_hex() {
  unsigned char buf[12];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::getrandom(buf + got, sizeof buf - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < got; ++i) {
    out += hex[buf[i] >> 4];
    out += hex[buf[i] & 15];
  }
  return out;
}

class FilePublisher : public Publisher {
 public:
  FilePublisher(std::string path, int64_t timeout_ms) : path_(std::move(path)), timeout_ms_(timeout_ms) {}
  ~FilePublisher() override { discard(); }

  std::optional<std::string> file() const override { return path_; }

  std::optional<Error> prepare(std::string_view bytes, const std::string& digest) override {
    return prepare_attested(bytes, digest, std::nullopt);
  }

  std::optional<Error> prepare_attested(std::string_view bytes, const std::string& digest,
                                        const std::optional<std::string>& attestation) override {
    discard();  // prepared again (a re-judged decision): the new bytes replace the old
    fs::path target(path_);
    name_ = target.filename().string();
    side_name_ = name_ + std::string(kSidecar);
    if (name_.empty() || name_ == "." || name_ == "..")
      return usage("--out must name a file, not a directory");
    if (!dir_) {
      auto dir = files::Dir::open(target.has_parent_path() ? target.parent_path().string() : ".");
      if (!dir) return dir.error();
      dir_.emplace(std::move(dir.value()));
    }
    if (auto st = dir_->stat(name_); st && S_ISDIR(st->st_mode))
      return usage("--out names an existing directory; it must name a file");
    if (auto e = stage(attestation.has_value())) return e;
    if (auto e = write_all(stage_fd_, bytes, "the artifact to publish")) return e;
    if (attestation)
      if (auto e = write_all(side_fd_, *attestation + "\n", "the attestation to publish")) return e;
    digest_ = digest;
    size_ = bytes.size();
    return std::nullopt;
  }

  std::optional<Error> commit() override {
    auto done = commit_unless([] { return Result<std::vector<std::string>>(std::vector<std::string>()); });
    return done ? std::nullopt : std::optional<Error>(done.error());
  }

  // Under the target's lock: what the file holds checked against `later`,
  // the rename, and what is visible then checked. Ordering between gates
  // comes from the fence; the lock only keeps renames and their checks apart.
  Result<bool> commit_unless(const std::function<Result<std::vector<std::string>>()>& later) override {
    if (!dir_ || staged_.empty()) return usage("nothing was staged to publish");
    auto lock = files::TargetLock::acquire(*dir_, name_, timeout_ms_, "the file to publish");
    if (!lock) return lock.error();
    fault::point("publish:locked");
    auto newer = later();
    if (!newer) return newer.error();
    if (!newer->empty()) {  // only when the stream moved on: the file is hashed then
      auto held = dir_->digest(name_, kMaxHeldBytes, "the published artifact");
      if (held && *held && std::find(newer->begin(), newer->end(), (*held)->sha256) != newer->end()) {
        discard();
        return false;
      }
    }
    // The attestation first (or an earlier one removed), durably: a reader
    // that sees the new artifact finds its attestation; one that pairs the
    // new attestation with the old artifact fails its digest check (closed).
    if (!side_staged_.empty()) {
      if (::renameat(dir_->fd(), side_staged_.c_str(), dir_->fd(), side_name_.c_str()) != 0)
        return io("cannot publish the attestation");
      side_staged_.clear();
    } else if (::unlinkat(dir_->fd(), side_name_.c_str(), 0) != 0 && errno != ENOENT && errno != ENAMETOOLONG) {
      return io("cannot remove the attestation " + side_name_ + " of an earlier signed decision");
    }
    if (auto e = dir_->sync()) return *e;
    fault::point("publish:attested");
    if (::renameat(dir_->fd(), staged_.c_str(), dir_->fd(), name_.c_str()) != 0) return io("cannot publish");
    staged_.clear();
    discard();
    fault::truncate_point("publish:renamed", path_.c_str());  // another writer, in the tests
    if (auto e = dir_->sync()) return *e;
    // What is visible now must be what was decided.
    auto published = dir_->digest(name_, size_, "the published artifact");
    if (!published || !*published || (*published)->size != size_ || (*published)->sha256 != digest_) {
      Error e;
      e.code = ErrorCode::io;
      e.message = "the published file does not hold the decided artifact " + digest_.substr(0, 19) +
                  " (another writer changed it); nothing is known to be published";
      e.where.file = path_;
      return e;
    }
    return true;
  }

 private:
  // Creates the staging file, flocked for as long as this gate may rename
  // it; under the target's lock (held briefly), so that the staging files
  // found unlocked then are those of killed gates, and are removed.
  std::optional<Error> stage(bool attested) {
    auto lock = files::TargetLock::acquire(*dir_, name_, timeout_ms_, "the file to publish");
    if (!lock) return lock.error();
    auto names = dir_->list();
    if (!names) return names.error();
    for (const auto& n : *names) {
      bool ours = n.rfind("." + name_ + std::string(kStageMark), 0) == 0 ||
                  n.rfind("." + side_name_ + std::string(kStageMark), 0) == 0 ||
                  n.rfind(name_ + std::string(kOldStageMark), 0) == 0;
      auto st = ours ? dir_->stat(n) : std::nullopt;
      if (!st || !S_ISREG(st->st_mode)) continue;
      int fd = ::openat(dir_->fd(), n.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlinkat(dir_->fd(), n.c_str(), 0);
      if (fd >= 0) ::close(fd);
    }
    if (auto e = create_staged(name_, staged_, stage_fd_, "the artifact")) return e;
    if (attested)
      if (auto e = create_staged(side_name_, side_staged_, side_fd_, "the attestation")) return e;
    return std::nullopt;
  }

  // A staging file for `base`, created exclusively and flocked.
  std::optional<Error> create_staged(const std::string& base, std::string& staged, int& fd, const std::string& what) {
    std::string name = "." + base + std::string(kStageMark) + random_hex();
    int opened = ::openat(dir_->fd(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (opened < 0) return io("cannot stage " + what + " to publish");
    fd = opened;
    staged = name;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return io("cannot lock " + what + " staged to publish");
    return std::nullopt;
  }

  std::optional<Error> write_all(int fd, std::string_view bytes, const std::string& what) {
    size_t done = 0;
    while (done < bytes.size()) {
      errno = 0;
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (errno == 0) errno = ENOSPC;  // a short write sets no errno: the device is full
        return io("cannot write " + what);
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) return io("cannot fsync " + what);
    return std::nullopt;
  }

  // Removes what is staged (if anything) and lets go of it.
  void discard() {
    for (auto [staged, fd] : {std::pair{&staged_, &stage_fd_}, std::pair{&side_staged_, &side_fd_}}) {
      if (dir_ && !staged->empty()) ::unlinkat(dir_->fd(), staged->c_str(), 0);
      staged->clear();
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

  Error io(const std::string& what) const {
    Error e;
    e.code = ErrorCode::io;
    e.message = what + ": " + std::strerror(errno);
    e.where.file = path_;
    return e;
  }
  Error usage(const std::string& what) const {
    Error e;
    e.code = ErrorCode::usage;
    e.message = what;
    e.where.file = path_;
    return e;
  }

  std::string path_;
  int64_t timeout_ms_;
  std::string name_;
  std::optional<files::Dir> dir_;
  std::string staged_;
  int stage_fd_ = -1;  // open (and flocked) from staging to the rename
  std::string side_name_;    // NAME.intoto.jsonl
  std::string side_staged_;  // its staging file, when an attestation is published
  int side_fd_ = -1;
  std::string digest_;
  size_t size_ = 0;
};

}  // namespace

std::unique_ptr<Publisher> file_publisher(const std::string& path, int64_t lock_timeout_ms) {
  return std::make_unique<FilePublisher>(path, lock_timeout_ms);
}

}  // namespace invar
