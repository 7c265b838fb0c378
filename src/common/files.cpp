#include "common/files.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "common/fault.hpp"

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


// The size of a regular file, from stat() of `path` or, when `fd` >= 0,
// fstat() of that open file; or why it cannot be read (over `max_bytes`:
// ErrorCode::limit, before anything is read).
Result<uint64_t> checked_size(const std::string& path, uint64_t max_bytes, const char* what, int fd = -1) {
  Error e;
  e.code = ErrorCode::io;
  e.where.file = path;
  struct stat st;
  if ((fd >= 0 ? ::fstat(fd, &st) : ::stat(path.c_str(), &st)) != 0) {
    e.message = std::string("cannot read ") + what + ": " + std::strerror(errno);
    return e;
  }
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

}  // namespace

Result<std::string> read_file(const std::string& path, uint64_t max_bytes, const char* what, size_t padding) {
  auto size = checked_size(path, max_bytes, what);
  if (!size) return size.error();
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(path, std::string("cannot read ") + what);
  std::string bytes;
  bytes.reserve(static_cast<size_t>(*size) + padding);
  bytes.resize(static_cast<size_t>(*size));
  in.read(bytes.data(), static_cast<std::streamsize>(*size));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

Result<Mapping> Mapping::open(const std::string& path, uint64_t max_bytes, const char* what, size_t padding) {
  // Refused before opening (a FIFO would block the open), then sized from
  // the file actually opened (it may have been replaced in between).
  if (auto refused = checked_size(path, max_bytes, what); !refused) return refused.error();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return io_error(path, std::string("cannot read ") + what);
  auto size = checked_size(path, max_bytes, what, fd);
  if (!size) {
    ::close(fd);
    return size.error();
  }
  // Reserve the file's pages and the padding's as zero pages, then map the
  // file over the start: the bytes past its end read as zeros.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  Mapping m;
  m.size_ = static_cast<size_t>(*size);
  m.mapped_ = (m.size_ + padding + page - 1) / page * page;
  m.base_ = ::mmap(nullptr, m.mapped_, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m.base_ == MAP_FAILED) {
    m.base_ = nullptr;
    auto e = io_error(path, std::string("cannot map ") + what);
    ::close(fd);
    return e;
  }
  if (m.size_ && ::mmap(m.base_, m.size_, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) == MAP_FAILED) {
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

std::optional<Error> write_atomic(const std::string& path, std::string_view bytes, const char* fault_prefix) {
  static std::atomic<uint64_t> counter{0};
  fs::path target(path);
  std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::string tmp = (fs::path(dir) / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(counter++)))
                        .string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(tmp, "cannot create temporary file");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto e = io_error(tmp, "cannot write");
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<size_t>(n);
    if (done >= bytes.size() / 2) fault::point((std::string(fault_prefix) + ":half-written").c_str());
  }
  if (::fsync(fd) != 0) {
    auto e = io_error(tmp, "cannot fsync");
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  }
  ::close(fd);
  fault::point((std::string(fault_prefix) + ":written").c_str());
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = io_error(path, "cannot rename into place");
    ::unlink(tmp.c_str());
    return e;
  }
  fault::point((std::string(fault_prefix) + ":renamed").c_str());
  return sync_dir(dir);
}

}  // namespace invar::files
