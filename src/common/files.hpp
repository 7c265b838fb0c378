// File access with the guarantees invar promises: sizes are checked before
// reading, and writes are atomic and durable (write a temporary file, fsync,
// rename over the target, fsync the directory).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "invar/invar.hpp"

namespace invar::files {

// Reads a whole regular file, refusing it before reading when over
// `max_bytes` (ErrorCode::limit). `what` names the file in messages.
// `padding` extra bytes are allocated (not part of the string) after the
// content: simdjson parses such a buffer in place, without copying it.
Result<std::string> read_file(const std::string& path, uint64_t max_bytes, const char* what, size_t padding = 0);

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

// Replaces `path` with `bytes` atomically. `fault_prefix` names the fault
// injection points passed on the way ("<prefix>:written", ":renamed").
std::optional<Error> write_atomic(const std::string& path, std::string_view bytes, const char* fault_prefix = "write");

// fsync on a directory, so that a rename or a new file in it is durable.
std::optional<Error> sync_dir(const std::string& dir);

// Creates `dir` and its parents (each made durable).
std::optional<Error> make_dirs(const std::string& dir);

}  // namespace invar::files
