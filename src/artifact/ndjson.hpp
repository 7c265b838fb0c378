// NDJSON / JSON Lines: one JSON value per line, read as the JSON array of its
// records ("$" is that array; contracts write "$[*]"). Blank lines and a final
// newline are allowed, CRLF line ends too, and a UTF-8 byte order mark at the
// start is skipped. A record over several lines, or two values on one line, is
// refused with its line. The records are joined into one array text that
// simdjson parses strictly; offsets in it map back to the file's.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "artifact/origin.hpp"
#include "artifact/reader.hpp"
#include "artifact/split.hpp"

namespace invar::artifact {

// Where each of `pointers` (into the array) is in the file: the record's line,
// and the column within it (see locate_all).
struct Lines;
std::unordered_map<std::string, Location> locate_all(std::string_view bytes, const Lines& lines,
                                                     const std::vector<std::string>& pointers, uint32_t max_depth);

struct Lines : Origin {
  struct Record {
    uint64_t source = 0;  // byte offset of the record in the file
    uint64_t joined = 0;  // byte offset of the record in `array`
    uint64_t length = 0;  // its bytes (without the line end)
    uint64_t line = 0;    // 1-based
    bool unreadable = false;  // read as null: see `problems`
  };
  std::string array;  // "[r1,r2,...]", then the padding asked for
  size_t length = 0;  // of the array text, without the padding
  std::vector<Record> records;
  // The lines that are not one strict JSON value, each read as null (so the
  // other records keep their index and are still checked), with why.
  std::vector<ReadProblem> problems;

  std::string_view text() const { return std::string_view(array.data(), length); }

  // The file offset of byte `joined` of `array`.
  uint64_t source_offset(uint64_t joined) const;

  std::string_view json_text() const override { return text(); }
  std::string_view expected() const override { return "one strict JSON value per line"; }
  std::unordered_map<std::string, Location> locate_all(std::string_view bytes, const std::vector<std::string>& pointers,
                                                       uint32_t max_depth) const override {
    return artifact::locate_all(bytes, *this, pointers, max_depth);
  }
};

// The records of `bytes`. `padding` bytes follow the array text (the parser's
// padding). A line that is not one value on its own, or whose line number is
// in `unreadable` (a parse found it bad), is read as null with its problem in
// Lines::problems; past kMaxUnreadableLines of them, the first problem is
// returned instead (rule "syntax", located): the file is refused whole.
inline constexpr size_t kMaxUnreadableLines = 16;
std::variant<Lines, ReadProblem> split_lines(std::string_view bytes, size_t padding,
                                             const std::map<uint64_t, ReadProblem>& unreadable = {});

// A problem found in `lines.array`, located in the file instead.
void relocate(const Lines& lines, std::string_view bytes, ReadProblem& problem);

// NDJSON read in batches (engine/stream.cpp): runs of whole lines, each batch
// the text [r1,r2,...]; a line that is not one value on its own ends the split
// (the whole-file read says where and why). The skeleton is "[]".
class LineSplitter : public BatchSplitter {
 public:
  explicit LineSplitter(uint64_t batch_bytes);
  bool feed(std::string_view chunk, const Batch& batch) override;
  bool finish(const Batch& batch) override;
  const std::string& skeleton() const override { return skeleton_; }
  uint64_t batches() const override { return batches_; }
  uint64_t wrapper_values() const override { return 1; }

 private:
  bool line(std::string_view text, const Batch& batch);  // one whole line, its end removed
  bool emit(const Batch& batch);

  uint64_t batch_bytes_;
  std::string skeleton_ = "[]";
  std::string batch_ = "[";
  std::string partial_;  // a line begun in an earlier chunk
  bool first_ = true;    // no byte seen yet (a byte order mark may come)
  bool failed_ = false;
  uint64_t batches_ = 0;
};

}  // namespace invar::artifact
