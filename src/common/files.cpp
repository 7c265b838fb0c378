#include "common/files.hpp"
#include "common/digest.hpp"
#include "common/memory.hpp"

#include <fcntl.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <thread>
#include <utility>

#include "common/fault.hpp"
#include "common/text.hpp"

namespace invar::files {

namespace fs = std::filesystem;

namespace {

Error io_error(const std::string& path, const std::string& what) {
  Error e;
  e.code = ErrorCode::io;
  e.message = what + ": " + std::strerror(errno);
  e.where.file = path;
  return e;
}


// The size of the regular file open as `fd`; or why it cannot be read
// (over `max_bytes`: ErrorCode::limit, before anything is read).
Result<uint64_t> checked_size(int fd, const std::string& path, uint64_t max_bytes, const char* what) {
  Error e;
  e.code = ErrorCode::io;
  e.where.file = path;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    e.message = std::string("cannot read ") + what + ": " + std::strerror(errno);
    return e;
  }
  // Standard input may be a pipe or a terminal: read to its end, bounded below.
  if (!S_ISREG(st.st_mode) && path == "<stdin>" && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode)))
    return uint64_t{0};
  if (!S_ISREG(st.st_mode)) {
    e.message = std::string("cannot read ") + what + ": not a regular file";
    return e;
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    e.code = ErrorCode::limit;
    e.message = std::string(what) + " is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                std::to_string(max_bytes) + " bytes";
    return e;
  }
  return static_cast<uint64_t>(st.st_size);
}

Error grew_past(const std::string& path, uint64_t max_bytes, const char* what) {
  Error e;
  e.code = ErrorCode::limit;
  e.message = std::string(what) + " is over the limit of " + std::to_string(max_bytes) + " bytes (read as a stream)";
  e.where.file = path;
  return e;
}

}  // namespace

Result<int> open_for_reading(const std::string& path, const char* what, bool follow_links, int dir_fd) {
  // O_NONBLOCK: a FIFO swapped in for the file must not block the open.
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow_links ? 0 : O_NOFOLLOW);
  int fd = ::openat(dir_fd, path.c_str(), flags);
  if (fd < 0) {
    if (errno == ELOOP && !follow_links) {
      Error e;
      e.code = ErrorCode::io;
      e.message = std::string("cannot read ") + what + ": it is a symbolic link (not followed)";
      e.where.file = path;
      return e;
    }
    return io_error(path, std::string("cannot read ") + what);
  }
  return fd;
}

Result<std::string> read_fd(int fd, const std::string& path, uint64_t max_bytes, const char* what, size_t padding) {
  auto size = checked_size(fd, path, max_bytes, what);
  if (!size) return size.error();
  std::string bytes;
  bytes.reserve(static_cast<size_t>(*size) + padding);
  memory::advise_huge_pages(bytes.data(), bytes.capacity());
  // Read to the end rather than trusting st_size: files under /proc say 0
  // and have content; a file may also grow while it is read. The expected
  // size is read in place; what follows (usually nothing: one read that
  // returns 0) goes through a stack buffer, so that probing for the end
  // touches no new memory.
  char more[16 * 1024];
  size_t expected = static_cast<size_t>(std::min<uint64_t>(*size, max_bytes + 1));
  while (true) {
    size_t at = bytes.size();
    if (at > max_bytes) return grew_past(path, max_bytes, what);
    ssize_t n;
    if (at < expected) {
      bytes.resize(expected);
      n = ::read(fd, bytes.data() + at, expected - at);
      bytes.resize(at + static_cast<size_t>(std::max<ssize_t>(n, 0)));
      if (n == 0) break;
    } else {
      size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof more, max_bytes - at + 1));
      n = ::read(fd, more, want);
      if (n > 0) bytes.append(more, static_cast<size_t>(n));
      if (n == 0) break;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(path, std::string("cannot read ") + what);
  }
  if (bytes.size() > max_bytes) return grew_past(path, max_bytes, what);
  if (bytes.capacity() < bytes.size() + padding) bytes.reserve(bytes.size() + padding);
  return bytes;
}

Result<std::string> read_file(const std::string& path, uint64_t max_bytes, const char* what, size_t padding) {
  if (path == kStdin) return read_fd(STDIN_FILENO, "<stdin>", max_bytes, what, padding);
  auto fd = open_for_reading(path, what, true);
  if (!fd) return fd.error();
  auto bytes = read_fd(*fd, path, max_bytes, what, padding);
  ::close(*fd);
  return bytes;
}

Result<Mapping> Mapping::open(const std::string& path, uint64_t max_bytes, const char* what, size_t padding) {
  // Opened first (without blocking on a FIFO), then sized from the file
  // actually opened.
  auto opened = open_for_reading(path, what, true);
  if (!opened) return opened.error();
  int fd = *opened;
  auto size = checked_size(fd, path, max_bytes, what);
  if (!size) {
    ::close(fd);
    return size.error();
  }
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  Mapping m;
  if (*size == 0) {
    // Possibly a stream that reports no size (/proc): read it, then copy it
    // into an anonymous mapping with the padding.
    auto bytes = read_fd(fd, path, max_bytes, what, 0);
    ::close(fd);
    if (!bytes) return bytes.error();
    m.size_ = bytes->size();
    m.mapped_ = (m.size_ + padding + page - 1) / page * page;
    if (m.mapped_ == 0) m.mapped_ = page;
    m.base_ = ::mmap(nullptr, m.mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m.base_ == MAP_FAILED) {
      m.base_ = nullptr;
      return io_error(path, std::string("cannot map ") + what);
    }
    if (m.size_) std::memcpy(m.base_, bytes->data(), m.size_);
    ::mprotect(m.base_, m.mapped_, PROT_READ);
    return m;
  }
  // Reserve the file's pages and the padding's as zero pages, then map the
  // file over the start: the bytes past its end read as zeros.
  m.size_ = static_cast<size_t>(*size);
  m.mapped_ = (m.size_ + padding + page - 1) / page * page;
  m.base_ = ::mmap(nullptr, m.mapped_, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m.base_ == MAP_FAILED) {
    m.base_ = nullptr;
    auto e = io_error(path, std::string("cannot map ") + what);
    ::close(fd);
    return e;
  }
  if (::mmap(m.base_, m.size_, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) == MAP_FAILED) {
    auto e = io_error(path, std::string("cannot map ") + what);
    ::close(fd);
    return e;
  }
  ::close(fd);
  return m;
}

Mapping::Mapping(Mapping&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), mapped_(std::exchange(other.mapped_, 0)),
      size_(std::exchange(other.size_, 0)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    if (base_) ::munmap(base_, mapped_);
    base_ = std::exchange(other.base_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Mapping::~Mapping() {
  if (base_) ::munmap(base_, mapped_);
}

std::optional<Error> sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error(dir, "cannot open directory");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error(dir, "cannot fsync directory");
  return std::nullopt;
}

std::optional<Error> make_dirs(const std::string& dir) {
  std::error_code ec;
  fs::path path(dir);
  if (fs::is_directory(path, ec)) return std::nullopt;
  if (path.has_parent_path() && path.parent_path() != path)
    if (auto e = make_dirs(path.parent_path().string())) return e;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return io_error(dir, "cannot create directory");
  std::string parent = path.has_parent_path() ? path.parent_path().string() : ".";
  return sync_dir(parent.empty() ? "." : parent);
}

// Dir: everything below a directory reached through its descriptor.

Result<Dir> Dir::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error(path, "cannot open directory");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    auto e = io_error(path, "cannot stat directory");
    ::close(fd);
    return e;
  }
  return Dir(fd, path, st.st_uid, st.st_mode);
}

Result<std::optional<Dir>> Dir::sub(const std::string& name, bool create) const {
  std::string path = child(name);
  if (create && ::mkdirat(fd_, name.c_str(), 0755) == 0) {
    if (auto e = sync()) return *e;
  } else if (create && errno != EEXIST) {
    return io_error(path, "cannot create directory");
  }
  int fd = ::openat(fd_, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && !create) return std::optional<Dir>();
    if (errno == ELOOP || errno == ENOTDIR) {
      // O_NOFOLLOW|O_DIRECTORY on a link fails with ENOTDIR: ask what it is.
      struct stat st;
      bool link = errno == ELOOP ||
                  (::fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
      Error e;
      e.code = ErrorCode::state;
      e.message = link ? "is a symbolic link; invar follows none inside its state" : "is not a directory";
      e.where.file = path;
      return e;
    }
    return io_error(path, "cannot open directory");
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    auto e = io_error(path, "cannot stat directory");
    ::close(fd);
    return e;
  }
  return std::optional<Dir>(Dir(fd, path, st.st_uid, st.st_mode));
}

Dir::Dir(Dir&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), uid_(other.uid_), mode_(other.mode_) {}

Dir& Dir::operator=(Dir&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    uid_ = other.uid_;
    mode_ = other.mode_;
  }
  return *this;
}

Dir::~Dir() {
  if (fd_ >= 0) ::close(fd_);
}

Result<uint64_t> Dir::links() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return io_error(path_, "cannot stat directory");
  return static_cast<uint64_t>(st.st_nlink);
}

Result<std::optional<std::string>> Dir::read(const std::string& name, uint64_t max_bytes, const char* what,
                                             size_t padding) const {
  std::string path = child(name);
  int fd = ::openat(fd_, name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    Error e = io_error(path, std::string("cannot read ") + what);
    if (errno == ELOOP) e.message = std::string("cannot read ") + what + ": it is a symbolic link (not followed)";
    return e;
  }
  auto bytes = read_fd(fd, path, max_bytes, what, padding);
  ::close(fd);
  if (!bytes) return bytes.error();
  return std::optional<std::string>(std::move(bytes.value()));
}

Result<std::optional<Dir::Digest>> Dir::digest(const std::string& name, uint64_t max_bytes, const char* what) const {
  std::string path = child(name);
  int fd = ::openat(fd_, name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<Digest>();
    Error e = io_error(path, std::string("cannot read ") + what);
    if (errno == ELOOP) e.message = std::string("cannot read ") + what + ": it is a symbolic link (not followed)";
    return e;
  }
  auto size = checked_size(fd, path, max_bytes, what);
  if (!size) {
    ::close(fd);
    return size.error();
  }
  digest::Sha256 hash;
  std::vector<char> chunk(1 << 20);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = io_error(path, std::string("cannot read ") + what);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > max_bytes) {
      ::close(fd);
      return grew_past(path, max_bytes, what);
    }
    hash.update(std::string_view(chunk.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return std::optional<Digest>(Digest{total, "sha256:" + hash.finish_hex()});
}

std::optional<Error> Dir::write_atomic(const std::string& name, std::string_view bytes, const char* fault_prefix) const {
  // Unique across processes even where two share a pid (PID namespaces).
  static std::atomic<uint64_t> counter{0};
  uint64_t nonce = 0;
  if (::getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof nonce))
    nonce = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(nonce));
  std::string tmp = "." + name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + suffix;
  int fd = ::openat(fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(child(tmp), "cannot create temporary file");
  size_t done = 0;
  while (done < bytes.size()) {
    errno = 0;
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (errno == 0) errno = ENOSPC;  // a short write sets no errno: the device is full
      auto e = io_error(child(name), "cannot write");
      ::close(fd);
      ::unlinkat(fd_, tmp.c_str(), 0);
      return e;
    }
    done += static_cast<size_t>(n);
    if (done >= bytes.size() / 2) fault::point((std::string(fault_prefix) + ":half-written").c_str());
  }
  if (::fsync(fd) != 0) {
    auto e = io_error(child(name), "cannot fsync");
    ::close(fd);
    ::unlinkat(fd_, tmp.c_str(), 0);
    return e;
  }
  ::close(fd);
  fault::point((std::string(fault_prefix) + ":written").c_str());
  if (::renameat(fd_, tmp.c_str(), fd_, name.c_str()) != 0) {
    auto e = io_error(child(name), "cannot rename into place");
    ::unlinkat(fd_, tmp.c_str(), 0);
    return e;
  }
  fault::point((std::string(fault_prefix) + ":renamed").c_str());
  return sync();
}

std::optional<struct stat> Dir::stat(const std::string& name) const {
  struct stat st;
  if (::fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
  return st;
}

Result<std::vector<std::string>> Dir::list() const {
  int fd = ::openat(fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error(path_, "cannot list directory");
  DIR* d = ::fdopendir(fd);
  if (!d) {
    auto e = io_error(path_, "cannot list directory");
    ::close(fd);
    return e;
  }
  std::vector<std::string> names;
  while (struct dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<Error> Dir::remove(const std::string& name) const {
  if (::unlinkat(fd_, name.c_str(), 0) != 0 && errno != ENOENT) return io_error(child(name), "cannot remove");
  return std::nullopt;
}

std::optional<Error> Dir::sync() const {
  if (::fsync(fd_) != 0) return io_error(path_, "cannot fsync directory");
  return std::nullopt;
}

namespace {

std::optional<std::string> resolved(const std::string& path) {
  char* r = ::realpath(path.c_str(), nullptr);
  if (!r) return std::nullopt;
  std::string out = r;
  std::free(r);
  return out;
}

// What the holder of a TargetLock wrote into it: its pid, or "" when unknown.
std::string holder_pid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
  return pid;
}

}  // namespace

Result<TargetLock> TargetLock::acquire(const Dir& dir, const std::string& name, int64_t timeout_ms, const char* what) {
  std::string lock_name = file_name(name);
  int fd = ::openat(dir.fd(), lock_name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(dir.child(lock_name), std::string("cannot open the lock of ") + what);
  TargetLock lock(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return io_error(dir.child(lock_name), std::string("the lock of ") + what + " is not a regular file");
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms));
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return io_error(dir.child(lock_name), std::string("cannot lock ") + what);
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string pid = holder_pid(fd);
      Error e;
      e.code = ErrorCode::io;
      e.message = std::string(what) + " is locked by another invar (" + (pid.empty() ? "pid unknown" : "pid " + pid) +
                  ", as " + lock_name + " says) for longer than " + text::format_duration(timeout_ms) +
                  "; nothing was written";
      e.where.file = dir.child(name);
      return e;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The pid names the holder to whoever times out waiting (informative only).
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
  }
  return lock;
}

TargetLock& TargetLock::operator=(TargetLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

TargetLock::~TargetLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

Result<std::pair<std::string, std::string>> split_file_path(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    Error e;
    e.code = ErrorCode::usage;
    e.message = "\"" + path + "\" names a directory, not a file";
    return e;
  }
  return std::pair<std::string, std::string>{std::move(parent), std::move(name)};
}

std::optional<Error> update_locked(const std::string& path, int64_t timeout_ms, const char* what, uint64_t max_bytes,
                                   const std::function<std::optional<std::string>(const std::string&)>& update,
                                   const char* fault_prefix) {
  auto split = split_file_path(path);
  if (!split) return split.error();
  const auto& [parent, name] = split.value();
  fault::point((std::string(fault_prefix) + ":locking").c_str());
  auto dir = Dir::open(parent);
  if (!dir) return dir.error();
  auto lock = TargetLock::acquire(*dir, name, timeout_ms, what);
  if (!lock) return lock.error();
  auto current = dir->read(name, max_bytes, what);
  if (!current) return current.error();
  auto next = update(current->value_or(""));
  if (!next) return std::nullopt;
  return dir->write_atomic(name, *next, fault_prefix);
}

std::optional<Error> check_output(const std::string& path, const std::string& flag,
                                  const std::vector<std::string>& dirs, const std::vector<std::string>& reads) {
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  auto out_dir = resolved(parent);
  if (path.empty() || !out_dir) return std::nullopt;  // the write itself says what is wrong
  auto refuse = [&](const std::string& why) {
    Error e;
    e.code = ErrorCode::usage;
    e.message = flag + " " + why;
    e.where.file = path;
    return e;
  };
  for (const auto& dir : dirs) {
    auto d = dir.empty() ? std::nullopt : resolved(dir);
    if (d && (*out_dir == *d || out_dir->rfind(*d == "/" ? *d : *d + "/", 0) == 0))
      return refuse("is inside the state directory " + dir +
                    "; write it outside (nothing but a gate's own records may change the state)");
  }
  std::string out = *out_dir + (*out_dir == "/" ? "" : "/") + name;
  struct stat out_st;
  bool exists = ::lstat(path.c_str(), &out_st) == 0;
  for (const auto& r : reads) {
    if (r.empty() || r == kStdin) continue;
    struct stat in_st;
    bool same_file = exists && ::stat(r.c_str(), &in_st) == 0 && in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino;
    if (same_file || resolved(r) == out)
      return refuse("names " + r + ", a file this command reads or writes; write elsewhere");
  }
  return std::nullopt;
}

}  // namespace invar::files
