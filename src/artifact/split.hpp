// Splitting one array member of a root object into batches of whole
// elements, from bytes fed in chunks: the reading side of the bounded-memory
// path (engine/stream.cpp). A quote- and escape-aware scan of the structure
// only; it validates nothing. Every batch and the skeleton are parsed
// strictly afterwards, and whatever the scan cannot follow ends the split
// (the caller then reads the whole document, which says what is wrong).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace invar::artifact {

// What engine/stream.cpp reads a file through: batches of whole elements,
// then what is left of the file (the skeleton).
class BatchSplitter {
 public:
  virtual ~BatchSplitter() = default;
  // Receives a batch's text, followed by at least kPadding bytes the parser
  // may read; returns false to stop.
  using Batch = std::function<bool(std::string_view)>;
  static constexpr size_t kPadding = 64;  // at least simdjson::SIMDJSON_PADDING

  // The next bytes of the file. False once the split has failed or a batch
  // returned false.
  virtual bool feed(std::string_view chunk, const Batch& batch) = 0;
  // At the end of the file: false when it could not be split as a whole.
  virtual bool finish(const Batch& batch) = 0;
  // The rest of the file as a document, the batched array empty.
  virtual const std::string& skeleton() const = 0;
  virtual uint64_t batches() const = 0;
  // Values a batch's text holds besides its elements (its own containers).
  virtual uint64_t wrapper_values() const = 0;
};

class MemberSplitter : public BatchSplitter {
 public:
  // `member`: the key as written in the file (a key written with escapes is
  // not recognised). Batches gather about `batch_bytes` of elements; the
  // skeleton may hold at most `max_skeleton_bytes`.
  MemberSplitter(std::string member, uint64_t batch_bytes, uint64_t max_skeleton_bytes);

  // A batch is the text {"<member>":[e1,e2,...]} of consecutive whole elements.
  bool feed(std::string_view chunk, const Batch& batch) override;
  // False when the file did not hold the member's array as a whole (or feed
  // failed). The last batch was given by feed().
  bool finish(const Batch& batch) override;

  // The file with the member's array emptied ("<member>":[]), once finish()
  // returned true.
  const std::string& skeleton() const override { return skeleton_; }
  uint64_t batches() const override { return batches_; }
  uint64_t wrapper_values() const override { return 2; }

 private:
  enum class Where { before, inside, after };
  bool emit(const Batch& batch, bool last);
  void keep(std::string_view bytes);
  // Inside the member's array: whole 64-byte blocks from `at` (SIMD masks),
  // calling boundary(comma) for each ',' between elements. Returns where it
  // stopped: before the last partial block, or at the array's closing ']'
  // (`closed`).
  template <class Boundary>
  const char* blocks(const char* at, const char* end, Boundary& boundary, bool& closed);

  std::string member_;
  uint64_t batch_bytes_, max_skeleton_bytes_;
  std::string skeleton_;
  std::string batch_;        // the open batch: prefix, elements so far
  size_t prefix_ = 0;        // the prefix's length in batch_
  Where where_ = Where::before;
  bool failed_ = false;
  // The scan's state across chunks.
  bool in_string_ = false, escaped_ = false;
  uint32_t depth_ = 0;
  bool started_ = false;      // the root's '{' was seen
  bool expect_key_ = false;   // at depth 1, the next string is a key
  bool key_matches_ = false;  // the key being read may be the member (inside a key string)
  size_t key_at_ = 0;         // characters of the key read so far
  bool member_next_ = false;  // the member's key was read: its value comes next
  bool separated_ = false;    // a boundary (',') was seen in the member's array
  uint64_t batches_ = 0;
};

}  // namespace invar::artifact
