// File access with the guarantees invar promises: sizes are checked before
// reading, and writes are atomic and durable (write a temporary file, fsync,
// rename over the target, fsync the directory).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <optional>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "invar/invar.hpp"

namespace invar::files {

// Reads a whole regular file, refusing it before reading when over
// `max_bytes` (ErrorCode::limit). `what` names the file in messages.
// `padding` extra bytes are allocated (not part of the string) after the
// content: simdjson parses such a buffer in place, without copying it.
// The file is opened first (O_NONBLOCK: a FIFO never blocks), then checked
// with fstat(2) on that descriptor, then read to its end: a file whose size
// says 0 (/proc) is read as a stream, still bounded by `max_bytes`.
// "-" is standard input (read to its end, bounded the same way; named
// "<stdin>" in messages).
Result<std::string> read_file(const std::string& path, uint64_t max_bytes, const char* what, size_t padding = 0);
inline constexpr const char* kStdin = "-";
// How reports name `path` ("<stdin>" for "-").
inline std::string display_name(const std::string& path) { return path == kStdin ? "<stdin>" : path; }

// Opens `path` (relative to `dir_fd`) for reading without blocking; with
// `follow_links` false a symbolic link is refused (O_NOFOLLOW).
Result<int> open_for_reading(const std::string& path, const char* what, bool follow_links, int dir_fd = -100);
// read_file() of an open descriptor (not closed); `path` names it in messages.
Result<std::string> read_fd(int fd, const std::string& path, uint64_t max_bytes, const char* what, size_t padding = 0);

// A read-only memory map of a whole regular file (refused over `max_bytes`
// as read_file does), followed by at least `padding` zero bytes. No copy:
// the pages are the page cache's. If another process truncates the file
// while it is mapped, touching a lost page raises SIGBUS in this process
// (Options::map_files says who must handle it).
class Mapping {
 public:
  static Result<Mapping> open(const std::string& path, uint64_t max_bytes, const char* what, size_t padding);
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  std::string_view bytes() const { return {static_cast<const char*>(base_), size_}; }

 private:
  Mapping() = default;
  void* base_ = nullptr;
  size_t mapped_ = 0;  // bytes reserved: the file's pages and the padding's
  size_t size_ = 0;
};

// fsync on a directory, so that a rename or a new file in it is durable.
std::optional<Error> sync_dir(const std::string& dir);

// Creates `dir` and its parents (each made durable).
std::optional<Error> make_dirs(const std::string& dir);

// An open directory that everything below it is reached through (*at(2)
// calls on its descriptor), never through a symbolic link: what a path's
// later replacement by a link cannot redirect. Move-only; closes on
// destruction.
class Dir {
 public:
  // Opens `path` (symbolic links in it are followed: the caller chose it).
  static Result<Dir> open(const std::string& path);
  // Opens the subdirectory `name` (a single component, never a link),
  // creating it (mode 0755, made durable) when `create`. nullopt when it
  // does not exist and `create` is false.
  Result<std::optional<Dir>> sub(const std::string& name, bool create) const;

  Dir(Dir&& other) noexcept;
  Dir& operator=(Dir&& other) noexcept;
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  ~Dir();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  std::string child(const std::string& name) const { return path_ + "/" + name; }
  // The directory's owner and mode (fstat(2) when it was opened).
  uint32_t uid() const { return uid_; }
  uint32_t mode() const { return mode_; }
  // Hard links to it: 0 once it was removed while open.
  Result<uint64_t> links() const;

  // Reads the regular file `name` (never through a link), bounded by
  // `max_bytes`; nullopt when it does not exist.
  Result<std::optional<std::string>> read(const std::string& name, uint64_t max_bytes, const char* what,
                                          size_t padding = 0) const;
  // What read() would return, hashed as it is read (1 MiB at a time, never
  // held whole): its size and "sha256:..." digest. Refused the same way.
  struct Digest {
    uint64_t size = 0;
    std::string sha256;
  };
  Result<std::optional<Digest>> digest(const std::string& name, uint64_t max_bytes, const char* what) const;
  // Replaces `name` atomically and durably: a temporary file created
  // exclusively (O_EXCL|O_NOFOLLOW), written, fsynced, renamed over `name`,
  // then the directory fsynced. `fault_prefix` names the fault injection
  // points passed on the way ("<prefix>:half-written", ":written", ":renamed").
  std::optional<Error> write_atomic(const std::string& name, std::string_view bytes,
                                    const char* fault_prefix = "write") const;
  // lstat(2) of `name`: nullopt when it does not exist.
  std::optional<struct stat> stat(const std::string& name) const;
  // Names in the directory (not "." or "..").
  Result<std::vector<std::string>> list() const;
  std::optional<Error> remove(const std::string& name) const;
  std::optional<Error> sync() const;

 private:
  Dir(int fd, std::string path, uint32_t uid, uint32_t mode) : fd_(fd), path_(std::move(path)), uid_(uid), mode_(mode) {}
  int fd_ = -1;
  std::string path_;
  uint32_t uid_ = 0;
  uint32_t mode_ = 0;
};

// An exclusive lock on the file `name` of a directory, for the writers
// that replace it (publications, metrics): flock(2) on ".NAME.invar-lock"
// beside it, which holds the holder's pid. The lock file is never removed
// (removing it would race with its next holder). Released on destruction,
// and by the kernel when the holder dies.
class TargetLock {
 public:
  // Waits at most `timeout_ms` (polled; 0: one try). Past it an Error
  // (ErrorCode::io) naming the holder's pid: a time limit ends a run, it
  // never decides anything. `what` names the lock's user in that message.
  static Result<TargetLock> acquire(const Dir& dir, const std::string& name, int64_t timeout_ms, const char* what);
  static std::string file_name(const std::string& name) { return "." + name + ".invar-lock"; }

  TargetLock(TargetLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  TargetLock& operator=(TargetLock&& other) noexcept;
  TargetLock(const TargetLock&) = delete;
  TargetLock& operator=(const TargetLock&) = delete;
  ~TargetLock();

 private:
  explicit TargetLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// A file path's directory ("." when it has none) and name; a usage error
// when the name is empty, "." or "..": it names a directory.
Result<std::pair<std::string, std::string>> split_file_path(const std::string& path);

// Replaces the file `path` (atomically, Dir::write_atomic) under its
// TargetLock, waited for at most `timeout_ms`: `update` gets its content
// then ("" when there is none; read up to `max_bytes`) and returns the new
// content, or nullopt to leave the file as it is. Fault points
// "<fault_prefix>:locking" (before the lock), then write_atomic's.
std::optional<Error> update_locked(const std::string& path, int64_t timeout_ms, const char* what, uint64_t max_bytes,
                                   const std::function<std::optional<std::string>(const std::string&)>& update,
                                   const char* fault_prefix);

// The one check of every path a command writes (--out, --metrics): refused
// (ErrorCode::usage, naming `flag`) when its directory, symbolic links
// resolved, is or is inside one of `dirs` (the state, its blobs), or when it
// is one of the files the command reads, `reads` (the same file by inode,
// or the same resolved path). Paths that do not exist yet pass.
std::optional<Error> check_output(const std::string& path, const std::string& flag,
                                  const std::vector<std::string>& dirs, const std::vector<std::string>& reads);

}  // namespace invar::files
