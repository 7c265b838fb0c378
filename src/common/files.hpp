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

// Replaces `path` with `bytes` atomically. `fault_prefix` names the fault
// injection points passed on the way ("<prefix>:written", ":renamed").
std::optional<Error> write_atomic(const std::string& path, std::string_view bytes, const char* fault_prefix = "write");

// fsync on a directory, so that a rename or a new file in it is durable.
std::optional<Error> sync_dir(const std::string& dir);

// Creates `dir` and its parents (each made durable).
std::optional<Error> make_dirs(const std::string& dir);

}  // namespace invar::files
