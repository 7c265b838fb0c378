// Publishing to a file (include/invar/gate.hpp, file_publisher): staged
// beside it under an unpredictable name, renamed over it on commit, read
// back and verified; publishers of one directory serialised by flock(2).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

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
  explicit FilePublisher(std::string path) : path_(std::move(path)) {}
  ~FilePublisher() override {
    if (dir_ && !staged_.empty()) ::unlinkat(dir_->fd(), staged_.c_str(), 0);
    // Closing the directory's descriptor releases the flock.
  }

  std::optional<std::string> file() const override { return path_; }

  std::optional<Error> prepare(std::string_view bytes, const std::string& digest) override {
    if (dir_ && !staged_.empty()) {  // prepared again (a re-judged decision): the new bytes replace the old
      ::unlinkat(dir_->fd(), staged_.c_str(), 0);
      staged_.clear();
    }
    fs::path target(path_);
    name_ = target.filename().string();
    if (name_.empty() || name_ == "." || name_ == "..")
      return usage("--out must name a file, not a directory");
    std::string parent = target.has_parent_path() ? target.parent_path().string() : ".";
    auto dir = files::Dir::open(parent);
    if (!dir) return dir.error();
    dir_.emplace(std::move(dir.value()));
    while (::flock(dir_->fd(), LOCK_EX) != 0)
      if (errno != EINTR) return io("cannot lock the directory of --out");
    if (auto st = dir_->stat(name_); st && S_ISDIR(st->st_mode))
      return usage("--out names an existing directory; it must name a file");
    // Under the lock no other invar is staging here: what is left is a killed gate's.
    auto names = dir_->list();
    if (!names) return names.error();
    for (const auto& n : *names) {
      bool stale = n.rfind("." + name_ + std::string(kStageMark), 0) == 0 ||
                   n.rfind(name_ + std::string(kOldStageMark), 0) == 0;
      auto st = dir_->stat(n);
      if (stale && st && S_ISREG(st->st_mode)) ::unlinkat(dir_->fd(), n.c_str(), 0);
    }
    std::string staged = "." + name_ + std::string(kStageMark) + random_hex();
    int fd = ::openat(dir_->fd(), staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return io("cannot stage the artifact to publish");
    staged_ = staged;
    size_t done = 0;
    while (done < bytes.size()) {
      errno = 0;
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (errno == 0) errno = ENOSPC;  // a short write sets no errno: the device is full
        auto e = io("cannot write the artifact to publish");
        ::close(fd);
        return e;
      }
      done += static_cast<size_t>(n);
    }
    bool ok = ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return io("cannot fsync the artifact to publish");
    digest_ = digest;
    size_ = bytes.size();
    return std::nullopt;
  }

  std::optional<Error> commit() override {
    if (!dir_ || staged_.empty()) return usage("nothing was staged to publish");
    if (::renameat(dir_->fd(), staged_.c_str(), dir_->fd(), name_.c_str()) != 0) return io("cannot publish");
    staged_.clear();
    fault::truncate_point("publish:renamed", path_.c_str());  // another writer, in the tests
    if (auto e = dir_->sync()) return e;
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
    return std::nullopt;
  }

 private:
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
  std::string name_;
  std::optional<files::Dir> dir_;
  std::string staged_;
  std::string digest_;
  size_t size_ = 0;
};

}  // namespace

std::unique_ptr<Publisher> file_publisher(const std::string& path) { return std::make_unique<FilePublisher>(path); }

}  // namespace invar
