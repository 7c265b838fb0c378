#include "common/dom.hpp"
#include "artifact/reader.hpp"

#include <sys/mman.h>


#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/memory.hpp"
#include "common/text.hpp"

namespace invar::artifact {

using namespace simdjson;

namespace {

// One open container while scanning: its kind and the current key or index
// (and, when duplicates are looked for, the keys seen so far).
struct ScanFrame {
  bool object;
  uint64_t index = 0;
  std::string key;
  bool has_key = false;
  std::unordered_set<std::string> keys;
};

// The character a one-letter escape stands for (\" \\ \/ \b \f \n \r \t).
char unescaped(char e) {
  switch (e) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return e;
  }
}


std::string pointer_of(const std::vector<ScanFrame>& stack) {
  std::string pointer;
  for (const auto& f : stack) {
    if (f.object) {
      if (f.has_key) text::append_pointer_token(pointer, f.key);
    } else {
      text::append_pointer_index(pointer, f.index);
    }
  }
  return pointer;
}

}  // namespace

namespace {

class Scanner {
 public:
  Scanner(std::string_view s, uint32_t max_depth, bool duplicate_keys, std::vector<BigInteger>* big_integers = nullptr)
      : s_(s), max_depth_(max_depth), duplicate_keys_(duplicate_keys), big_integers_(big_integers) {}

  std::optional<ReadProblem> run();

  // Stops run() at the value at `pointer` (then found() says where it is).
  void stop_at(std::string_view pointer) {
    target_ = std::string(pointer);
    target_depth_ = static_cast<size_t>(std::count(pointer.begin(), pointer.end(), '/'));
  }
  const std::optional<Location>& found() const { return found_; }
  // Records the byte offset of each value at one of `pointers` (run() stops
  // once all are found); offsets() says where.
  void find_all(const std::vector<std::string>& pointers) {
    for (const auto& p : pointers) {
      targets_.insert(p);
      depths_.insert(static_cast<size_t>(std::count(p.begin(), p.end(), '/')));
    }
  }
  const std::unordered_map<std::string, uint64_t>& offsets() const { return offsets_; }

 private:
  std::optional<ReadProblem> fail(std::string rule, std::string message) {
    Location at = line_column(s_, i_);
    return ReadProblem{std::move(rule), std::move(message), pointer_of(stack_), i_, at.line, at.column};
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  std::optional<ReadProblem> scan_string(std::string* out);
  std::optional<ReadProblem> scan_number();
  std::optional<ReadProblem> scan_literal();

  bool at_target() const { return target_ && stack_.size() == target_depth_ && pointer_of(stack_) == *target_; }

  std::string_view s_;
  uint32_t max_depth_;
  bool duplicate_keys_;
  std::vector<BigInteger>* big_integers_;
  size_t i_ = 0;
  std::vector<ScanFrame> stack_;
  std::optional<std::string> target_;
  size_t target_depth_ = 0;
  std::optional<Location> found_;
  std::unordered_set<std::string> targets_;
  std::set<size_t> depths_;
  std::unordered_map<std::string, uint64_t> offsets_;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at s[i], or 0 when invalid.
size_t utf8_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  unsigned c = b(i);
  auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned c1 = b(i + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogate
    return cont(i + 1) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned c1 = b(i + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;
    if (c == 0xF4 && c1 > 0x8F) return 0;
    return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

std::optional<ReadProblem> Scanner::scan_string(std::string* out) {
  ++i_;  // opening quote
  while (true) {
    if (i_ >= s_.size()) return fail("syntax", "unterminated string");
    unsigned char c = static_cast<unsigned char>(s_[i_]);
    if (c == '"') {
      ++i_;
      return std::nullopt;
    }
    if (c < 0x20) return fail("syntax", "control character in string (must be escaped)");
    if (c == '\\') {
      if (i_ + 1 >= s_.size()) return fail("syntax", "unterminated string");
      char e = s_[i_ + 1];
      if (e == 'u') {
        unsigned code = 0;
        for (int k = 0; k < 4; ++k) {
          int h = i_ + 2 + k < s_.size() ? hex_value(s_[i_ + 2 + k]) : -1;
          if (h < 0) return fail("syntax", "bad \\u escape: four hex digits expected");
          code = code * 16 + static_cast<unsigned>(h);
        }
        if (code >= 0xDC00 && code <= 0xDFFF) return fail("utf8", "lone low surrogate in \\u escape");
        if (code >= 0xD800 && code <= 0xDBFF) {
          size_t j = i_ + 6;
          bool pair = j + 5 < s_.size() && s_[j] == '\\' && s_[j + 1] == 'u';
          unsigned low = 0;
          for (int k = 0; pair && k < 4; ++k) {
            int h = hex_value(s_[j + 2 + k]);
            if (h < 0) pair = false;
            low = low * 16 + static_cast<unsigned>(h);
          }
          if (!pair || low < 0xDC00 || low > 0xDFFF)
            return fail("utf8", "high surrogate in \\u escape not followed by a low surrogate");
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          i_ += 6;
        }
        if (out) text::append_utf8(*out, code);  // keys are compared and located decoded
        i_ += 6;
        continue;
      }
      if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos)
        return fail("syntax", "bad escape sequence in string");
      if (out) out->push_back(unescaped(e));
      i_ += 2;
      continue;
    }
    size_t n = utf8_length(s_, i_);
    if (n == 0) return fail("utf8", "invalid UTF-8 byte sequence");
    if (out) out->append(s_.substr(i_, n));
    i_ += n;
  }
}

std::optional<ReadProblem> Scanner::scan_number() {
  size_t start = i_;
  bool integer = true;
  if (s_[i_] == '-') ++i_;
  auto digits = [&] {
    size_t d = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ - d;
  };
  size_t int_start = i_;
  size_t n = digits();
  if (n == 0) return fail("syntax", "expected a digit");
  if (n > 1 && s_[int_start] == '0') {
    i_ = int_start + 1;
    return fail("syntax", "leading zero in number");
  }
  if (i_ < s_.size() && s_[i_] == '.') {
    integer = false;
    ++i_;
    if (digits() == 0) return fail("syntax", "expected a digit after '.'");
  }
  if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
    integer = false;
    ++i_;
    if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
    if (digits() == 0) return fail("syntax", "expected a digit in exponent");
  }
  std::string token(s_.substr(start, i_ - start));
  if (integer) {
    bool negative = token[0] == '-';
    std::string_view mag = std::string_view(token).substr(negative ? 1 : 0);
    const std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
    if (mag.size() > limit.size() || (mag.size() == limit.size() && mag > limit)) {
      if (big_integers_) {
        big_integers_->push_back({pointer_of(stack_), start, std::move(token)});
        return std::nullopt;
      }
      i_ = start;
      return fail("number", "integer " + token + " is outside the 64-bit range");
    }
  } else if (std::isinf(std::strtod(token.c_str(), nullptr))) {
    i_ = start;
    return fail("number", "number " + token + " is outside the double range");
  }
  return std::nullopt;
}

std::optional<ReadProblem> Scanner::scan_literal() {
  for (std::string_view lit : {"true", "false", "null"}) {
    if (s_.substr(i_, lit.size()) == lit) {
      i_ += lit.size();
      return std::nullopt;
    }
  }
  for (std::string_view bad : {"NaN", "Infinity", "-Infinity", "undefined"}) {
    if (s_.substr(i_, bad.size()) == bad)
      return fail("syntax", std::string(bad) + " is not a JSON value");
  }
  return fail("syntax", "expected a JSON value");
}

std::optional<ReadProblem> Scanner::run() {
  enum class State { value, after_value, key };
  State state = State::value;
  bool first_in_container = false;
  while (true) {
    skip_ws();
    if (state == State::value) {
      if (i_ >= s_.size()) return fail(s_.empty() ? "empty" : "syntax", s_.empty() ? "empty input" : "unexpected end of input, a value was expected");
      char c = s_[i_];
      if (!targets_.empty() && depths_.count(stack_.size())) {
        std::string here = pointer_of(stack_);
        if (targets_.count(here)) offsets_.emplace(std::move(here), i_);
        if (offsets_.size() == targets_.size()) return std::nullopt;
      }
      if (at_target()) {
        found_ = line_column(s_, i_);
        if (c == '{' || c == '[') return std::nullopt;
      }
      if (c == '{' || c == '[') {
        if (stack_.size() >= max_depth_)
          return fail("depth", "nesting deeper than max_depth " + std::to_string(max_depth_));
        stack_.push_back(ScanFrame{c == '{', 0, {}, false, {}});
        ++i_;
        first_in_container = true;
        state = c == '{' ? State::key : State::value;
        if (c == '[') {
          skip_ws();
          if (i_ < s_.size() && s_[i_] == ']') {
            ++i_;
            stack_.pop_back();
            state = State::after_value;
          }
        }
        continue;
      }
      std::optional<ReadProblem> p;
      if (c == '"') p = scan_string(nullptr);
      else if (c == '-' || (c >= '0' && c <= '9')) p = scan_number();
      else p = scan_literal();
      if (p) return p;
      if (found_) {
        found_->length = i_ - found_->offset;
        return std::nullopt;
      }
      state = State::after_value;
      continue;
    }
    if (state == State::key) {
      if (i_ < s_.size() && s_[i_] == '}' && first_in_container) {
        ++i_;
        stack_.pop_back();
        state = State::after_value;
        continue;
      }
      if (i_ >= s_.size() || s_[i_] != '"') return fail("syntax", "expected a string key");
      std::string key;
      size_t key_start = i_;
      if (auto p = scan_string(&key)) return p;
      if (duplicate_keys_ && !stack_.back().keys.insert(key).second) {
        i_ = key_start;  // located at the repeated key, pointing at its object
        stack_.back().has_key = false;
        return fail("duplicate-key",
                    "object has the key " + text::quoted(key) + " more than once (readers disagree on which value wins)");
      }
      stack_.back().key = std::move(key);
      stack_.back().has_key = true;
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ':') return fail("syntax", "expected ':' after an object key");
      ++i_;
      state = State::value;
      first_in_container = false;
      continue;
    }
    // after_value
    if (stack_.empty()) {
      if (i_ < s_.size()) return fail("syntax", "trailing content after the JSON value");
      return std::nullopt;
    }
    if (i_ >= s_.size()) return fail("syntax", "unexpected end of input inside a container");
    ScanFrame& top = stack_.back();
    char c = s_[i_];
    if (c == ',') {
      ++i_;
      ++top.index;
      first_in_container = false;
      state = top.object ? State::key : State::value;
    } else if (c == (top.object ? '}' : ']')) {
      ++i_;
      stack_.pop_back();
    } else {
      return fail("syntax", top.object ? "expected ',' or '}' after an object member"
                                       : "expected ',' or ']' after an array element");
    }
  }
}

}  // namespace

std::optional<ReadProblem> locate_problem(std::string_view bytes, uint32_t max_depth, bool duplicate_keys,
                                          std::vector<BigInteger>* big_integers) {
  return Scanner(bytes, max_depth, duplicate_keys, big_integers).run();
}

Location line_column(std::string_view bytes, uint64_t offset) {
  Location at;
  at.offset = offset;
  for (uint64_t k = 0; k < offset && k < bytes.size(); ++k) {
    if (bytes[k] == '\n') {
      ++at.line;
      at.column = 1;
    } else if ((static_cast<unsigned char>(bytes[k]) & 0xC0) != 0x80) {  // a character starts here
      ++at.column;
    }
  }
  return at;
}

std::unordered_map<std::string, Location> locate_all(std::string_view bytes, const std::vector<std::string>& pointers,
                                                     uint32_t max_depth) {
  std::unordered_map<std::string, Location> out;
  if (pointers.empty()) return out;
  Scanner scanner(bytes, max_depth, false);
  scanner.find_all(pointers);
  scanner.run();
  // Line and column of every offset in one pass over the bytes before the last.
  std::vector<std::pair<uint64_t, const std::string*>> found;
  for (const auto& [pointer, offset] : scanner.offsets()) found.emplace_back(offset, &pointer);
  std::sort(found.begin(), found.end());
  Location at;
  uint64_t k = 0;
  for (const auto& [offset, pointer] : found) {
    for (; k < offset && k < bytes.size(); ++k) {
      if (bytes[k] == '\n') {
        ++at.line;
        at.column = 1;
      } else if ((static_cast<unsigned char>(bytes[k]) & 0xC0) != 0x80) {
        ++at.column;
      }
    }
    at.offset = offset;
    out.emplace(*pointer, at);
  }
  return out;
}

std::optional<Location> locate(std::string_view bytes, std::string_view pointer, uint32_t max_depth) {
  Scanner scanner(bytes, max_depth, false);
  scanner.stop_at(pointer);
  scanner.run();
  return scanner.found();
}

namespace {

bool has_duplicate(std::vector<std::string_view>::iterator from, std::vector<std::string_view>::iterator to) {
  if (to - from <= 16) {  // small objects: compare pairs, no sort
    for (auto a = from; a != to; ++a)
      for (auto b = a + 1; b != to; ++b)
        if (text::same(*a, *b)) return true;
    return false;
  }
  std::vector<std::string_view> sorted(from, to);
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

// The scan's fast path: one linear pass over simdjson's tape (the document's
// `tape` and `string_buf`, public members the simdjson headers mark as
// internal; the layout is simdjson 3's, pinned below, and tests plus the
// artifact fuzzer check this pass against the element walk). It only says
// whether the document is clean; the element walk then locates a problem.
static_assert(SIMDJSON_VERSION_MAJOR == 3, "the tape layout read by tape_clean() is simdjson 3's");

bool tape_clean(const dom::document& doc, const ReadLimits& limits, uint64_t& values) {
  const uint64_t* tape = doc.tape.get();
  const uint8_t* strings = doc.string_buf.get();
  constexpr uint64_t kPayload = internal::JSON_VALUE_MASK;
  struct Open {
    bool object;
    bool expect_key;
    size_t keys_from;  // this object's keys in `keys`
  };
  std::vector<Open> open;
  std::vector<std::string_view> keys;
  open.reserve(64), keys.reserve(256);  // no growth for ordinary nesting
  auto value_done = [&] {
    if (!open.empty() && open.back().object) open.back().expect_key = true;
  };
  uint64_t nodes = 0;
  const size_t end = (tape[0] & kPayload) - 1;  // tape[0] opens the root and points past tape[end], which closes it
  for (size_t i = 1; i < end;) {
    const uint64_t word = tape[i];
    switch (static_cast<char>(word >> 56)) {
      case '{':
        ++nodes, ++i;
        open.push_back({true, true, keys.size()});
        break;
      case '[':
        ++nodes, ++i;
        open.push_back({false, false, 0});
        break;
      case '}':
        if (has_duplicate(keys.begin() + static_cast<ptrdiff_t>(open.back().keys_from), keys.end())) return false;
        keys.resize(open.back().keys_from);
        open.pop_back();
        value_done(), ++i;
        break;
      case ']':
        open.pop_back();
        value_done(), ++i;
        break;
      case '"': {
        uint32_t length;
        std::memcpy(&length, strings + (word & kPayload), sizeof length);
        if (length > limits.max_string_bytes) return false;
        if (!open.empty() && open.back().object && open.back().expect_key) {
          if (!limits.allow_duplicate_keys)
            keys.emplace_back(reinterpret_cast<const char*>(strings + (word & kPayload) + sizeof length), length);
          open.back().expect_key = false;
        } else {
          ++nodes;
          value_done();
        }
        ++i;
        break;
      }
      case 'l':
      case 'u':
      case 'd':  // the number is the next word
        ++nodes, i += 2;
        value_done();
        break;
      default:  // t, f, n
        ++nodes, ++i;
        value_done();
        break;
    }
    if (nodes > limits.max_nodes) return false;
  }
  values = nodes;
  return true;
}

// Faulting in the parser's pages (its structural index, then the document's
// tape and strings) one at a time, on the parsing thread, is a quarter of a
// large parse. With a core to spare, a helper faults them in ahead of the
// parser: the index first (stage 1 fills it), then the tape and the strings
// in turn (stage 2), in 1 MiB steps, up to half the input's size in each (so
// that few pages the document never uses are touched), until the parse ends.
// MADV_POPULATE_WRITE is Linux 5.14+; where it fails the helper stops. The
// regions stay inside the buffers: for inputs of kPrefaultMinBytes or more,
// each buffer holds at least half the input plus one step.
class Prefault {
 public:
  Prefault(dom::parser& parser, size_t input_size) {
    auto region = [&](const void* start) {
      auto first = (reinterpret_cast<uintptr_t>(start) + kStep - 1) / kStep * kStep;
      return Region{first, first + input_size / 2 / kStep * kStep};
    };
    index_ = region(parser.implementation->structural_indexes.get());
    document_ = {region(parser.doc.tape.get()), region(parser.doc.string_buf.get())};
    helper_ = std::thread([this] { run(); });
  }
  ~Prefault() {
    stop_ = true;
    helper_.join();
  }

 private:
  static constexpr uintptr_t kStep = 1 << 20;
  struct Region {
    uintptr_t next, end;
  };
  // Faults in the next step of `r`; false when done or when the kernel refuses.
  bool step(Region& r) {
    constexpr int kPopulateWrite = 23;  // MADV_POPULATE_WRITE, absent from older headers
    if (stop_ || r.next >= r.end || ::madvise(reinterpret_cast<void*>(r.next), kStep, kPopulateWrite) != 0) return false;
    r.next += kStep;
    return true;
  }
  void run() {
    while (step(index_)) {
    }
    for (bool more = true; more;) {
      more = false;
      for (auto& r : document_) more |= step(r);
    }
  }
  Region index_;
  std::vector<Region> document_;
  std::atomic<bool> stop_{false};
  std::thread helper_;
};

}  // namespace

std::optional<ReadProblem> scan(const Document& doc, const ReadLimits& limits, uint64_t* values) {
  if (doc.read_strictly) {
    if (values) *values = doc.values;
    return std::nullopt;
  }
  uint64_t counted = 0;
  if (tape_clean(doc.parser.doc, limits, counted)) {
    if (values) *values = counted;
    return std::nullopt;
  }
  return scan_elements(doc.root, limits, values);
}

std::optional<ReadProblem> scan_elements(dom::element root, const ReadLimits& limits, uint64_t* values) {
  // Depth-first walk with an explicit stack: memory O(depth), no recursion,
  // no allocation per node. Each frame remembers the key or index it is at.
  uint64_t nodes = 0;
  struct Frame {
    bool object;
    dom::object::iterator obj_it, obj_end;
    dom::array::iterator arr_it, arr_end;
    uint64_t index = 0;
    std::string_view key;
  };
  std::vector<Frame> stack;
  std::vector<std::string_view> keys;
  auto pointer_here = [&] {
    std::string pointer;
    for (const auto& f : stack) {
      if (f.object) text::append_pointer_token(pointer, f.key);
      else text::append_pointer_index(pointer, f.index - 1);
    }
    return pointer;
  };
  auto too_long = [&](std::string_view s, const char* what) -> std::optional<ReadProblem> {
    if (s.size() <= limits.max_string_bytes) return std::nullopt;
    ReadProblem p;
    p.rule = "string";
    p.message = std::string(what) + " of " + std::to_string(s.size()) + " bytes, over max_string_bytes " +
                std::to_string(limits.max_string_bytes);
    p.pointer = pointer_here();
    return p;
  };
  auto visit = [&](dom::element el) -> std::optional<ReadProblem> {
    if (++nodes > limits.max_nodes) {
      ReadProblem p;
      p.rule = "nodes";
      p.message = "more than max_nodes " + std::to_string(limits.max_nodes) + " values";
      p.pointer = pointer_here();
      return p;
    }
    if (el.type() == dom::element_type::STRING) return too_long(invar::sj::string_of(el), "a string");
    if (el.type() == dom::element_type::OBJECT) {
      dom::object obj = invar::sj::object_of(el);
      for (auto field : obj)
        if (auto p = too_long(field.key, "a key")) return p;
      if (obj.size() > 1 && !limits.allow_duplicate_keys) {
        keys.clear();
        for (auto field : obj) keys.push_back(field.key);
        auto dup = keys.end();
        if (keys.size() <= 16) {  // small objects: compare pairs, no sort
          for (auto a = keys.begin(); a != keys.end() && dup == keys.end(); ++a)
            for (auto b = a + 1; b != keys.end(); ++b)
              if (*a == *b) {
                dup = a;
                break;
              }
        } else {
          std::sort(keys.begin(), keys.end());
          dup = std::adjacent_find(keys.begin(), keys.end());
        }
        if (dup != keys.end()) {
          ReadProblem p;
          p.rule = "duplicate-key";
          p.message = "object has the key " + text::quoted(*dup) +
                      " more than once (readers disagree on which value wins)";
          p.pointer = pointer_here();
          return p;
        }
      }
      Frame f{true, obj.begin(), obj.end(), {}, {}, 0, {}};
      stack.push_back(f);
    } else if (el.type() == dom::element_type::ARRAY) {
      dom::array arr = invar::sj::array_of(el);
      Frame f{false, {}, {}, arr.begin(), arr.end(), 0, {}};
      stack.push_back(f);
    }
    return std::nullopt;
  };
  if (auto p = visit(root)) return p;
  while (!stack.empty()) {
    Frame& top = stack.back();
    dom::element child;
    if (top.object) {
      if (top.obj_it == top.obj_end) {
        stack.pop_back();
        continue;
      }
      top.key = top.obj_it.key();
      child = top.obj_it.value();
      ++top.obj_it;
    } else {
      if (top.arr_it == top.arr_end) {
        stack.pop_back();
        continue;
      }
      child = *top.arr_it;
      ++top.arr_it;
      ++top.index;
    }
    if (auto p = visit(child)) return p;
  }
  if (values) *values = nodes;
  return std::nullopt;
}

namespace {

// Asks for transparent huge pages on a large parser's buffers.
void advise_huge_pages(dom::parser& parser, size_t capacity) {
  memory::advise_huge_pages(parser.implementation->structural_indexes.get(), capacity * sizeof(uint32_t));
  memory::advise_huge_pages(parser.doc.tape.get(), capacity * sizeof(uint64_t));
  memory::advise_huge_pages(parser.doc.string_buf.get(), capacity);
}

}  // namespace

std::unique_ptr<Document> DocumentPool::take() {
  std::lock_guard lock(mutex_);
  if (free_.empty()) return nullptr;
  auto document = std::move(free_.back());
  free_.pop_back();
  return document;
}

void DocumentPool::give(std::unique_ptr<Document> document) {
  std::lock_guard lock(mutex_);
  if (free_.size() < kKept) free_.push_back(std::move(document));
}

void DocumentReturn::operator()(Document* document) const {
  if (pool) pool->give(std::unique_ptr<Document>(document));
  else delete document;
}

ParseResult parse(std::string_view bytes, const ReadLimits& limits, bool padded, bool run_scan, unsigned threads,
                  const std::shared_ptr<DocumentPool>& pool) {
  ParseResult result;
  if (bytes.size() > limits.max_bytes) {
    result.problem = ReadProblem{"size",
                                 "artifact is " + std::to_string(bytes.size()) +
                                     " bytes, over max_bytes " + std::to_string(limits.max_bytes),
                                 "", 0, 0, 0};
    return result;
  }
  const uint32_t max_depth = std::min(limits.max_depth, kHardMaxDepth);
  DocumentHandle doc(pool ? pool->take().release() : nullptr, DocumentReturn{pool});
  if (!doc) doc.reset(new Document());
  // A pooled parser is sized with an eighth to spare, so that an artifact
  // that grows a little between checks still fits it.
  const size_t needed = std::max<size_t>(bytes.size(), 64);
  const bool fresh = doc->parser.capacity() < needed || doc->parser.max_depth() != max_depth ||
                     doc->parser.doc.capacity() < needed;
  if (fresh && doc->parser.allocate(pool ? needed + needed / 8 : needed, max_depth) != SUCCESS) {
    result.problem = ReadProblem{"size", "cannot allocate a parser for the artifact", "", 0, 0, 0};
    return result;
  }
  // Large buffers: huge pages where the kernel has them (the faults all but
  // vanish), else a helper thread that faults pages in ahead of the parser.
  const bool huge = fresh && bytes.size() >= kPrefaultMinBytes && memory::huge_pages_available() &&
                    doc->parser.doc.allocate(doc->parser.capacity()) == SUCCESS;
  if (huge) advise_huge_pages(doc->parser, bytes.size());
  std::optional<Prefault> prefault;
  if (fresh && !huge && threads > 1 && bytes.size() >= kPrefaultMinBytes &&
      doc->parser.doc.allocate(doc->parser.capacity()) == SUCCESS) {
    try {
      prefault.emplace(doc->parser, bytes.size());
    } catch (const std::system_error&) {
      // no thread to spare: the parser takes its own page faults
    }
  }
  auto parsed = doc->parser.parse(bytes.data(), bytes.size(), !padded);
  prefault.reset();
  if (parsed.error() != SUCCESS) {
    auto located = locate_problem(bytes, max_depth);
    if (located) {
      result.problem = std::move(located);
    } else {
      result.problem = ReadProblem{"syntax", error_message(parsed.error()), "", 0, 0, 0};
    }
    return result;
  }
  doc->root = parsed.value_unsafe();
  if (auto problem = run_scan ? scan(*doc, limits, &doc->values) : std::nullopt) {
    result.problem = std::move(problem);
    return result;
  }
  result.document = std::move(doc);
  return result;
}

}  // namespace invar::artifact
