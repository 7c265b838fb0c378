#include "artifact/yaml.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_set>

#include "artifact/yaml_events.hpp"
#include "common/memory.hpp"
#include "artifact/yaml_scalar.hpp"

namespace invar::artifact {

namespace {

static_assert(simdjson::SIMDJSON_VERSION_MAJOR == 3, "the tape written here is simdjson 3's (see tape_clean in reader.cpp)");
constexpr uint64_t kPayload = simdjson::internal::JSON_VALUE_MASK;
constexpr uint64_t kMaxCount = simdjson::internal::JSON_COUNT_MASK;

uint64_t word(char type, uint64_t payload) { return (uint64_t(uint8_t(type)) << 56) | payload; }
char type_of(uint64_t w) { return static_cast<char>(w >> 56); }

std::string escape_segment(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 1);
  out += '/';
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// `s` for a message: quoted, cut at `max` bytes, line breaks and other
// control characters escaped (a message is one line).
std::string quoted(std::string_view s, size_t max = 60) {
  std::string out = "\"";
  for (char c : s.substr(0, max)) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) out += "\\x" + std::string(1, "0123456789abcdef"[(c >> 4) & 15]) + "0123456789abcdef"[c & 15];
    else out += c;
  }
  if (s.size() > max) out += "...";
  return out + "\"";
}

constexpr std::string_view kCoreTags = "tag:yaml.org,2002:";
constexpr const char* kUntaggedHint = "; to read such nodes as if untagged, set \"yaml\": {\"tags\": \"untagged\"}";

// One of the core schema's tags: !!str, !!int, !!float, !!bool, !!null, !!map, !!seq.
bool core_tag(std::string_view tag) {
  if (tag.substr(0, kCoreTags.size()) != kCoreTags) return false;
  const std::string_view name = tag.substr(kCoreTags.size());
  for (std::string_view core : {"str", "int", "float", "bool", "null", "map", "seq"})
    if (name == core) return true;
  return false;
}

// `text` as a JSON integer ("-" and digits, no leading zero) when it is a
// decimal integer of the core schema ([-+]?[0-9]+); else "".
std::string decimal_integer(std::string_view text) {
  std::string out;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    if (text[0] == '-') out = "-";
    text.remove_prefix(1);
  }
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return "";
  const size_t lead = text.find_first_not_of('0');
  if (lead == std::string_view::npos) return "0";
  return out.append(text.substr(lead));
}

// The first byte of `bytes` that is not valid UTF-8 ("utf8"), or a control
// character YAML does not allow in a stream (C0 but tab and line breaks, DEL,
// C1 but NEL: "syntax"); bytes.size() when there is none.
size_t first_unreadable(std::string_view bytes, std::string& rule) {
  auto c1_control = [&](size_t i) {  // bytes[i] is 0xC2
    const auto next = static_cast<unsigned char>(bytes[i + 1]);
    return next < 0xA0 && next != 0x85;
  };
  if (simdjson::validate_utf8(bytes.data(), bytes.size())) {
    // Valid UTF-8: only control characters are looked for, 16 bytes at a
    // time (GCC's and Clang's vector extension: SSE2 or NEON, else scalar
    // code), byte by byte only in a block that may hold one.
    using Bytes = unsigned char __attribute__((vector_size(16)));
    auto bad_at = [&](size_t i) {
      const auto c = static_cast<unsigned char>(bytes[i]);
      return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F || (c == 0xC2 && c1_control(i));
    };
    size_t i = 0;
    for (; i + 16 <= bytes.size(); i += 16) {
      Bytes v;
      std::memcpy(&v, bytes.data() + i, 16);
      const auto flagged = ((v < 0x20) & (v != '\t') & (v != '\n') & (v != '\r')) | (v == 0x7F) | (v == 0xC2);
      uint64_t halves[2];
      std::memcpy(halves, &flagged, 16);
      if (halves[0] | halves[1])
        for (size_t k = i; k < i + 16; ++k)
          if (bad_at(k)) {
            rule = "syntax";
            return k;
          }
    }
    for (; i < bytes.size(); ++i)
      if (bad_at(i)) {
        rule = "syntax";
        return i;
      }
    return bytes.size();
  }
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
      rule = "syntax";
      return i;
    }
    if (c < 0x80) {
      ++i;
      continue;
    }
    const size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > bytes.size() || !simdjson::validate_utf8(bytes.data() + i, n)) {
      rule = "utf8";
      return i;
    }
    if (c == 0xC2 && c1_control(i)) {
      rule = "syntax";
      return i;
    }
    i += n;
  }
  return i;
}

// A growable array that becomes the document's own buffer (no copy at the
// end) and leaves its capacity untouched until written (no zeroing): the
// capacity is reserved generously, and pages never written cost nothing.
template <class T>
class Buffer {
 public:
  size_t size() const { return size_; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](size_t i) { return data_[i]; }
  T operator[](size_t i) const { return data_[i]; }
  void reserve(size_t n) {
    if (n <= capacity_) return;
    size_t capacity = std::max(n, capacity_ * 2);
    std::unique_ptr<T[]> grown(new T[capacity]);
    memory::advise_huge_pages(grown.get(), capacity * sizeof(T));  // filled front to back: a fault per 2 MiB
    if (size_) std::memcpy(grown.get(), data_.get(), size_ * sizeof(T));
    data_ = std::move(grown);
    capacity_ = capacity;
  }
  void push_back(T v) {
    if (size_ == capacity_) reserve(size_ + 1);
    data_[size_++] = v;
  }
  // Grows without initialising, or shrinks.
  void resize(size_t n) {
    reserve(n);
    size_ = n;
  }
  std::unique_ptr<T[]> release() { return std::move(data_); }

 private:
  std::unique_ptr<T[]> data_;
  size_t size_ = 0, capacity_ = 0;
};

class Builder {
 public:
  Builder(std::string_view bytes, const ReadLimits& limits, const YamlOptions& options,
          const std::unordered_set<std::string>* wanted, std::unordered_map<std::string, Location>* found)
      : bytes_(bytes), limits_(limits), options_(options), wanted_(wanted), found_(found) {}

  YamlResult run();

 private:
  struct Key {
    uint64_t offset;  // in strings_
    Location where;
  };
  struct Frame {
    bool mapping = false;
    size_t start = 0;  // the '{' or '[' word
    uint64_t count = 0;
    bool expect_key = true;
    uint64_t nodes_at_start = 0;
    uint32_t depth_below = 0;  // levels of nesting inside this container
    std::string anchor;
    std::vector<Key> keys;
    std::unordered_map<std::string_view, size_t> index;  // over keys_, once a mapping is large
    uint64_t key = 0;  // mapping: the key whose value is being read (offset in strings_)
    bool merge_pending = false;
    size_t merge_begin = 0;
    std::vector<std::pair<size_t, size_t>> merges;  // tape ranges of "<<" values
    Location merge_at;  // the first "<<" key (a second is refused)

    // Empties it for another container, keeping what its vectors hold room for.
    void reset(bool is_mapping, size_t at, uint64_t nodes) {
      mapping = is_mapping;
      start = at;
      count = 0;
      expect_key = true;
      nodes_at_start = nodes;
      depth_below = 0;
      anchor.clear();
      keys.clear();
      if (!index.empty()) index = {};  // not clear(): that would touch every bucket of a large one, each time
      key = 0;
      merge_pending = false;
      merges.clear();
    }
  };
  // The open containers. Frames popped stay allocated for the next push: a
  // million small mappings make no million allocations.
  class Frames {
   public:
    bool empty() const { return depth_ == 0; }
    size_t size() const { return depth_; }
    Frame& back() { return all_[depth_ - 1]; }
    const Frame& back() const { return all_[depth_ - 1]; }
    Frame* begin() { return all_.data(); }
    Frame* end() { return all_.data() + depth_; }
    const Frame* begin() const { return all_.data(); }
    const Frame* end() const { return all_.data() + depth_; }
    Frame& push() {
      if (depth_ == all_.size()) all_.emplace_back();
      return all_[depth_++];
    }
    void pop() { --depth_; }

   private:
    std::vector<Frame> all_;
    size_t depth_ = 0;
  };
  struct Anchor {
    size_t begin = 0, end = 0;
    uint64_t nodes = 0;
    uint32_t depth = 0;  // levels, counting the node itself when a container
    bool open = true;
    bool moved = false;  // inside a mapping rewritten by merge keys
    std::string text;    // a scalar's text as written, when keys_as_text may make it a key
  };

  bool event(const yaml::Event& e, const yaml::Batch& batch);
  bool scalar(const yaml::Event& e, const yaml::Batch& batch);
  bool start(const yaml::Event& e, const yaml::Batch& batch);
  bool end();
  bool alias(const yaml::Event& e, const yaml::Batch& batch);
  bool key_from(std::string_view text, const Location& where);
  bool merge_ready(Frame& f);
  void rebuild_merged(Frame& f);
  void value_done();
  bool nodes_added(uint64_t n, const Location& where);
  void note_location(const Location& where, bool alias);

  uint64_t add_string(std::string_view s);
  std::string_view string_at(uint64_t offset) const;
  void copy(const uint64_t* from, size_t begin, size_t end, int64_t shift);
  size_t skip(const uint64_t* t, size_t i) const;
  std::string pointer() const;
  Location location(const yaml::Event& e) {
    if (e.located) last_ = Location{e.offset, 0, e.line, e.column};
    return last_;
  }
  void add_anchor(const yaml::Event& e, const yaml::Batch& batch, const Anchor& a) {
    anchors_[std::string(batch.text_of(e.anchor, e.anchor_length))] = a;
  }
  // Records the problem (at `at`, else where the reading is) and returns false.
  bool fail(std::string rule, std::string message, const Location& where, std::optional<std::string> at = {}) {
    problem_ = ReadProblem{std::move(rule), std::move(message), at ? std::move(*at) : pointer(), where.offset,
                           where.line, where.column};
    return false;
  }
  // `text`, a message's suggestion of a contract setting; "" in a document (it has none).
  std::string hint(std::string_view text) const { return options_.document ? "" : std::string(text); }
  bool in_key_position() const { return !frames_.empty() && frames_.back().mapping && frames_.back().expect_key; }

  std::string_view bytes_;
  const ReadLimits& limits_;
  const YamlOptions& options_;
  const std::unordered_set<std::string>* wanted_;
  std::unordered_map<std::string, Location>* found_;

  Buffer<uint64_t> tape_;
  Buffer<uint8_t> strings_;
  Frames frames_;
  std::unordered_map<std::string, Anchor> anchors_;
  uint64_t nodes_ = 0, alias_nodes_ = 0, documents_ = 0;
  Location last_;
  std::optional<ReadProblem> problem_;
  std::vector<Ambiguity> ambiguous_;
  uint64_t ambiguous_total_ = 0;
  std::vector<std::string> big_integers_;
};

// `s` must not point into strings_ (it may move).
uint64_t Builder::add_string(std::string_view s) {
  const uint64_t at = strings_.size();
  const auto length = static_cast<uint32_t>(s.size());
  const uint8_t* before = strings_.data();
  strings_.resize(at + sizeof length + s.size() + 1);
  if (strings_.data() != before)  // the key indexes view strings_
    for (auto& frame : frames_)
      if (!frame.index.empty()) frame.index = {};
  std::memcpy(strings_.data() + at, &length, sizeof length);
  if (!s.empty()) std::memcpy(strings_.data() + at + sizeof length, s.data(), s.size());
  strings_[at + sizeof length + s.size()] = 0;
  return at;
}

std::string_view Builder::string_at(uint64_t offset) const {
  uint32_t length;
  std::memcpy(&length, strings_.data() + offset, sizeof length);
  return {reinterpret_cast<const char*>(strings_.data() + offset + sizeof length), length};
}

// Appends words [begin, end) of `from` to the tape; container words point
// `shift` further (their new place less their old). `from` may be the tape
// itself when the caller reserved the room first.
void Builder::copy(const uint64_t* from, size_t begin, size_t end, int64_t shift) {
  for (size_t i = begin; i < end; ++i) {
    const uint64_t w = from[i];
    switch (type_of(w)) {
      case '{':
      case '[':
        tape_.push_back((w & ~uint64_t(0xFFFFFFFF)) | uint32_t(int64_t(uint32_t(w)) + shift));
        break;
      case '}':
      case ']':
        tape_.push_back(word(type_of(w), uint64_t(int64_t(w & kPayload) + shift)));
        break;
      case 'l':
      case 'u':
      case 'd':
        tape_.push_back(w);
        tape_.push_back(from[++i]);
        break;
      default:
        tape_.push_back(w);
    }
  }
}

size_t Builder::skip(const uint64_t* t, size_t i) const {
  switch (type_of(t[i])) {
    case '{':
    case '[': return uint32_t(t[i]);
    case 'l':
    case 'u':
    case 'd': return i + 2;
    default: return i + 1;
  }
}

std::string Builder::pointer() const {
  std::string p;
  for (const auto& f : frames_) {
    if (f.mapping) {
      if (!f.expect_key || f.merge_pending) p += escape_segment(string_at(f.key));
    } else {
      p += "/" + std::to_string(f.count);
    }
  }
  return p;
}

void Builder::note_location(const Location& where, bool is_alias) {
  if (!wanted_) return;
  std::string p = pointer();
  if (wanted_->count(p)) found_->try_emplace(p, where);
  if (is_alias)  // values inside the expansion: at the alias
    for (const auto& w : *wanted_)
      if (w.size() > p.size() && w.compare(0, p.size(), p) == 0 && w[p.size()] == '/') found_->try_emplace(w, where);
}

bool Builder::nodes_added(uint64_t n, const Location& where) {
  nodes_ += n;
  if (nodes_ > limits_.max_nodes)
    return fail("nodes", "more than max_nodes (" + std::to_string(limits_.max_nodes) + ") values, aliases expanded",
                where);
  return true;
}

void Builder::value_done() {
  if (frames_.empty()) return;
  Frame& f = frames_.back();
  if (f.mapping) {
    if (f.merge_pending) {
      f.merges.emplace_back(f.merge_begin, tape_.size());
      f.merge_pending = false;
    }
    f.expect_key = true;
  } else {
    ++f.count;
  }
}

// A key: string text (not pointing into strings_), checked for duplicates,
// written to the tape.
bool Builder::key_from(std::string_view text, const Location& where) {
  Frame& f = frames_.back();
  if (text.size() > limits_.max_string_bytes)
    return fail("string", "a key of " + std::to_string(text.size()) + " bytes, over max_string_bytes (" +
                              std::to_string(limits_.max_string_bytes) + ")", where);
  if (!limits_.allow_duplicate_keys) {
    constexpr size_t kIndexFrom = 16;
    const Key* first = nullptr;
    if (f.keys.size() >= kIndexFrom) {
      if (f.index.empty())
        for (size_t k = 0; k < f.keys.size(); ++k) f.index.emplace(string_at(f.keys[k].offset), k);
      // string_at views point into strings_, which may move: the index is rebuilt when it does.
      if (auto it = f.index.find(text); it != f.index.end()) first = &f.keys[it->second];
    } else {
      for (const auto& k : f.keys)
        if (string_at(k.offset) == text) first = &k;
    }
    if (first)
      return fail("duplicate-key",
                  "duplicate key " + quoted(text) + " (first at line " + std::to_string(first->where.line) +
                      ", column " + std::to_string(first->where.column) + ")",
                  where, pointer() + escape_segment(text));
  }
  const uint64_t at = add_string(text);
  if (!limits_.allow_duplicate_keys) {
    f.keys.push_back({at, where});
    if (!f.index.empty()) f.index.emplace(string_at(at), f.keys.size() - 1);
  }
  tape_.push_back(word('"', at));
  f.key = at;
  f.expect_key = false;
  if (f.count < kMaxCount) ++f.count;
  return true;
}

bool Builder::scalar(const yaml::Event& e, const yaml::Batch& batch) {
  const Location where = location(e);
  const bool plain = e.style == yaml::Event::Style::plain;
  const std::string_view text = batch.value(e);
  const std::string_view tag = e.has_tag ? batch.text_of(e.tag, e.tag_length) : std::string_view();

  yaml::CoreScalar value;  // a string unless typed below
  bool untyped = plain && tag.empty();
  if (!tag.empty() && tag != "!") {
    const bool core = core_tag(tag);
    std::optional<yaml::CoreScalar> typed;
    if (core) typed = yaml::resolve_tagged(tag.substr(kCoreTags.size()), text);
    if (typed) {
      value = *typed;
    } else if (!core && options_.untagged) {
      untyped = plain;  // read as if it had no tag
    } else {
      return fail("tag", "tag " + std::string(tag) + " on " + quoted(text) +
                             " is not one invar reads (the core schema's !!str, !!int, !!float, !!bool, !!null)" +
                             hint(core ? "" : kUntaggedHint),
                  where);
    }
  }
  if (untyped) {
    value = yaml::resolve_core(text);
    if (options_.consumer_yaml11)
      if (auto r = yaml::yaml11_differs(text); r && ++ambiguous_total_ <= options_.max_ambiguities) {
        std::string p = pointer();
        if (in_key_position()) p += escape_segment(text);
        ambiguous_.push_back({std::move(p), where, std::string(text), r->yaml12, r->yaml11});
      }
  }
  using Kind = yaml::CoreScalar::Kind;
  if (in_key_position()) {
    if (value.kind != Kind::string && !options_.keys_as_text)
      return fail("key", "the key " + quoted(text) +
                             " is not a string in YAML 1.2 (JSON keys are strings: quote it" +
                             hint("; to read such keys as their text, set \"yaml\": {\"keys\": \"text\"}") + ")",
                  where, pointer());
    if (plain && tag.empty() && text == "<<") {
      if (!options_.merge_keys)
        return fail("merge-key",
                    options_.document ? "a merge key (<<) is refused (a key named << is written quoted)"
                                      : "a merge key (<<) is refused: to merge, set \"yaml\": {\"merge_keys\": "
                                        "\"allow\"} in the contract; for a key named <<, quote it",
                    where, pointer());
      Frame& f = frames_.back();
      // A 1.1 parser lets the second's values win, invar the first's: refused,
      // whatever duplicate_keys says (one "<<" takes a sequence of mappings).
      if (!f.merges.empty())
        return fail("duplicate-key",
                    "duplicate merge key << (first at line " + std::to_string(f.merge_at.line) + ", column " +
                        std::to_string(f.merge_at.column) +
                        "): YAML 1.1 parsers let the last one's values win; merge several mappings with one: "
                        "<<: [*a, *b]",
                    where, pointer() + escape_segment("<<"));
      f.merge_at = where;
      f.merge_pending = true;
      f.merge_begin = tape_.size();
      f.expect_key = false;
      f.key = add_string("<<");
      return true;
    }
    if (e.has_anchor) add_anchor(e, batch, Anchor{tape_.size(), tape_.size() + 1, 1, 0, false, false, {}});
    return key_from(text, where);
  }
  if (wanted_) note_location(where, false);
  if (text.size() > limits_.max_string_bytes)
    return fail("string", "a string of " + std::to_string(text.size()) + " bytes, over max_string_bytes (" +
                              std::to_string(limits_.max_string_bytes) + ")", where);
  const size_t begin = tape_.size();
  switch (value.kind) {
    case Kind::null: tape_.push_back(word('n', 0)); break;
    case Kind::boolean: tape_.push_back(word(value.boolean ? 't' : 'f', 0)); break;
    case Kind::integer:
      tape_.push_back(word('l', 0));
      tape_.push_back(static_cast<uint64_t>(value.integer));
      break;
    case Kind::unsigned_integer:
      tape_.push_back(word('u', 0));
      tape_.push_back(value.unsigned_integer);
      break;
    case Kind::floating: {
      uint64_t bits;
      std::memcpy(&bits, &value.floating, sizeof bits);
      tape_.push_back(word('d', 0));
      tape_.push_back(bits);
      break;
    }
    case Kind::non_finite: {
      if (std::isnan(value.floating))
        return fail("number", quoted(text) +
                                  " is not a number (NaN), refused always: it fails no comparison, so no invariant could "
                                  "judge it", where);
      if (!options_.allow_infinity)
        return fail("number", quoted(text) +
                                  " is not a finite number (JSON has no .inf or .nan" +
                                  hint("; to read infinities, set \"yaml\": {\"infinity\": \"allow\"}") + ")",
                    where);
      uint64_t bits;
      std::memcpy(&bits, &value.floating, sizeof bits);
      tape_.push_back(word('d', 0));
      tape_.push_back(bits);
      break;
    }
    case Kind::out_of_range: {
      std::string digits = decimal_integer(text);
      if (!options_.document || digits.empty() || tag == "tag:yaml.org,2002:float")
        return fail("number", quoted(text) + " is out of range for a 64-bit integer or a double", where);
      tape_.push_back(word('d', 0));
      tape_.push_back(kBigIntegerNaN | (big_integers_.size() & kBigIntegerMask));
      big_integers_.push_back(std::move(digits));
      break;
    }
    case Kind::string: tape_.push_back(word('"', add_string(text))); break;
  }
  if (e.has_anchor)
    add_anchor(e, batch, Anchor{begin, tape_.size(), 1, 0, false, false, options_.keys_as_text ? std::string(text) : ""});
  if (!nodes_added(1, where)) return false;
  value_done();
  return true;
}

bool Builder::start(const yaml::Event& e, const yaml::Batch& batch) {
  const bool mapping = e.type == yaml::Event::Type::mapping_start;
  const Location where = location(e);
  if (in_key_position())
    return fail("key", std::string("a ") + (mapping ? "mapping" : "sequence") +
                           " used as a key (JSON keys are strings)", where, pointer());
  if (e.has_tag) {
    const std::string_view tag = batch.text_of(e.tag, e.tag_length);
    const bool core = core_tag(tag);
    if (tag != "!" && tag != (mapping ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq") &&
        (core || !options_.untagged))
      return fail("tag", "tag " + std::string(tag) + " on a " + (mapping ? "mapping" : "sequence") +
                             " is not one invar reads (!!map, !!seq)" + hint(core ? "" : kUntaggedHint),
                  where);
  }
  if (frames_.size() + 1 > limits_.max_depth)
    return fail("depth", "nesting deeper than max_depth (" + std::to_string(limits_.max_depth) + ")", where);
  if (wanted_) note_location(where, false);
  if (!nodes_added(1, where)) return false;
  Frame& f = frames_.push();
  f.reset(mapping, tape_.size(), nodes_ - 1);
  if (e.has_anchor) {
    f.anchor.assign(batch.text_of(e.anchor, e.anchor_length));
    anchors_[f.anchor] = Anchor{};  // open: an alias to it now would recurse
  }
  tape_.push_back(word(mapping ? '{' : '[', 0));
  return true;
}

// The "<<" values of a mapping: a mapping, or a sequence of mappings.
bool Builder::merge_ready(Frame& f) {
  for (auto [begin, end] : f.merges) {
    bool ok = type_of(tape_[begin]) == '{';
    if (type_of(tape_[begin]) == '[') {
      ok = true;
      for (size_t i = begin + 1; i + 1 < end; i = skip(tape_.data(), i)) ok = ok && type_of(tape_[i]) == '{';
    }
    if (!ok) return fail("merge-key", "a merge key's value must be a mapping or a sequence of mappings", last_);
  }
  return true;
}

// Rewrites the mapping at f.start: its own pairs, then each merged pair whose
// key it does not already have (earlier merges first), as YAML 1.1 says.
void Builder::rebuild_merged(Frame& f) {
  const std::vector<uint64_t> old(tape_.data() + f.start, tape_.data() + tape_.size());
  tape_.resize(f.start);
  // Container words in `old` hold tape indexes; `old` is indexed from f.start.
  auto next = [&](size_t i) {
    const char t = type_of(old[i]);
    return t == '{' || t == '[' ? size_t(uint32_t(old[i])) - f.start : skip(old.data(), i);
  };
  std::unordered_set<std::string_view> keys;
  std::vector<std::pair<size_t, size_t>> pairs;  // local ranges in `old`: key word, then value
  size_t m = 0;
  for (size_t i = 1; i < old.size();) {
    if (m < f.merges.size() && f.merges[m].first - f.start == i) {
      i = f.merges[m++].second - f.start;
      continue;
    }
    const size_t after = next(i + 1);
    if (keys.insert(string_at(old[i] & kPayload)).second) pairs.emplace_back(i, after);
    i = after;
  }
  auto merge_from = [&](size_t object) {  // local index of a '{' in `old`
    for (size_t i = object + 1; type_of(old[i]) != '}';) {
      const size_t after = next(i + 1);
      if (keys.insert(string_at(old[i] & kPayload)).second) pairs.emplace_back(i, after);
      i = after;
    }
  };
  for (auto [begin, end] : f.merges) {
    const size_t b = begin - f.start;
    if (type_of(old[b]) == '{') merge_from(b);
    else
      for (size_t i = b + 1; i + 1 < end - f.start; i = next(i)) merge_from(i);
  }
  tape_.push_back(word('{', 0));
  for (auto [begin, end] : pairs) {
    tape_.reserve(tape_.size() + (end - begin));
    copy(old.data(), begin, end, int64_t(tape_.size()) - int64_t(f.start + begin));
  }
  f.count = std::min<uint64_t>(pairs.size(), kMaxCount);
  // Anchors inside moved: an alias to one is refused rather than misread.
  for (auto& [name, anchor] : anchors_)
    if (!anchor.open && anchor.begin > f.start) anchor.moved = true;
}

bool Builder::end() {
  Frame& f = frames_.back();
  if (!f.merges.empty()) {
    if (!merge_ready(f)) return false;
    rebuild_merged(f);
  }
  const size_t close = tape_.size();
  tape_.push_back(word(f.mapping ? '}' : ']', f.start));
  tape_[f.start] = word(f.mapping ? '{' : '[', (std::min(f.count, kMaxCount) << 32) | (close + 1));
  if (!f.anchor.empty()) anchors_[f.anchor] = Anchor{f.start, tape_.size(), nodes_ - f.nodes_at_start, f.depth_below + 1, false, false, {}};
  const uint32_t depth = f.depth_below + 1;
  frames_.pop();
  if (!frames_.empty()) frames_.back().depth_below = std::max(frames_.back().depth_below, depth);
  value_done();
  return true;
}

bool Builder::alias(const yaml::Event& e, const yaml::Batch& batch) {
  const Location where = location(e);
  const std::string_view name = batch.text_of(e.text, e.text_length);
  auto it = anchors_.find(std::string(name));
  const std::string shown = "*" + std::string(name);
  if (it == anchors_.end()) return fail("alias", "alias " + shown + " names no anchor before it", where);
  const Anchor a = it->second;
  if (a.open) return fail("alias", "alias " + shown + " is inside the node it names (a recursive alias)", where);
  if (a.moved) return fail("alias", "alias " + shown + " names a node inside a mapping with merge keys (not supported)", where);
  if (in_key_position()) {
    if (options_.keys_as_text && a.end - a.begin <= 2 && type_of(tape_[a.begin]) != '{' &&
        type_of(tape_[a.begin]) != '[' && type_of(tape_[a.begin]) != '"') {
      const std::string key = a.text;  // a copy: anchors_ may change
      return key_from(key, where);
    }
    if (a.end - a.begin != 1 || type_of(tape_[a.begin]) != '"')
      return fail("key", "alias " + shown + " used as a key names a value that is not a string", where, pointer());
    const std::string key(string_at(tape_[a.begin] & kPayload));  // a copy: strings_ may move
    return key_from(key, where);
  }
  if (frames_.size() + a.depth > limits_.max_depth)
    return fail("depth", "alias " + shown + " nests deeper than max_depth (" + std::to_string(limits_.max_depth) + ")",
                where);
  alias_nodes_ += a.nodes;
  if (alias_nodes_ > options_.max_alias_nodes)
    return fail("aliases", "aliases expand to more than max_alias_nodes (" + std::to_string(options_.max_alias_nodes) +
                               ") values", where);
  if (!nodes_added(a.nodes, where)) return false;
  if (wanted_) note_location(where, true);
  tape_.reserve(tape_.size() + (a.end - a.begin));
  copy(tape_.data(), a.begin, a.end, int64_t(tape_.size()) - int64_t(a.begin));
  if (!frames_.empty()) frames_.back().depth_below = std::max(frames_.back().depth_below, a.depth);
  value_done();
  return true;
}

bool Builder::event(const yaml::Event& e, const yaml::Batch& batch) {
  using Type = yaml::Event::Type;
  switch (e.type) {
    case Type::document_start:
      ++documents_;
      anchors_.clear();  // anchors do not cross documents
      if (documents_ > 1 && !options_.many_documents)
        return fail("documents",
                    options_.document
                        ? "a second YAML document (a contract or schema file holds one)"
                        : "a second YAML document (the contract reads one; set \"documents\": \"many\" to read them all)",
                    location(e), "");
      return true;
    case Type::mapping_start:
    case Type::sequence_start: return start(e, batch);
    case Type::end: return end();
    case Type::scalar: return scalar(e, batch);
    case Type::alias: return alias(e, batch);
  }
  return true;
}

YamlResult Builder::run() {
  YamlResult result;
  if (bytes_.size() > limits_.max_bytes) {
    result.problem = ReadProblem{"size", "artifact is " + std::to_string(bytes_.size()) + " bytes, over max_bytes " +
                                             std::to_string(limits_.max_bytes), "", 0, 0, 0};
    return result;
  }
  std::string rule;
  if (size_t bad = first_unreadable(bytes_, rule); bad < bytes_.size()) {
    Location at = line_column(bytes_, bad);
    char code[16];
    const bool c1 = rule == "syntax" && bytes_[bad] == '\xC2';  // then a second byte follows
    std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned char>(bytes_[bad + (c1 ? 1 : 0)]));
    result.problem = ReadProblem{rule,
                                 rule == "utf8" ? "invalid UTF-8 (YAML artifacts are read as UTF-8)"
                                                : std::string("a control character (") + code + ") that YAML does not allow",
                                 "", bad, at.line, at.column};
    return result;
  }
  // Room for usual YAML without growing (block YAML takes about a word of
  // tape per 8 bytes, flow YAML at most one per byte; a string takes its bytes
  // plus 5): untouched room costs address space only.
  tape_.reserve(bytes_.size() / 2 + 64);
  strings_.reserve(bytes_.size() + bytes_.size() / 2 + 64 + simdjson::SIMDJSON_PADDING);
  tape_.push_back(word('r', 0));
  if (options_.many_documents) {
    frames_.push().reset(false, 1, 0);
    tape_.push_back(word('[', 0));
  }
  bool ok = true;
  yaml::read_events(bytes_, [&](const yaml::Batch& batch) {
    for (const auto& e : batch.events)
      if (!event(e, batch)) return ok = false;
    if (batch.problem) {
      ok = false;
      problem_ = batch.problem;
      if (problem_->rule == "syntax" && !problem_->line) {  // unlocated: where the reading got to
        problem_->line = last_.line;
        problem_->column = last_.column;
      }
    }
    return true;
  });
  if (ok && documents_ == 0 && !options_.many_documents) {
    if (options_.empty_as_null) {
      if (wanted_) note_location(Location{}, false);
      tape_.push_back(word('n', 0));
      nodes_ = 1;
    } else {
      ok = false;
      problem_ = ReadProblem{"empty",
                             options_.document ? "the file holds no YAML document"
                                               : "the artifact holds no YAML document (to read such a file as null, "
                                                 "set \"yaml\": {\"empty\": \"null\"})",
                             "", 0, 0, 0};
    }
  }
  if (!ok) {
    result.problem = std::move(problem_);
    return result;
  }
  if (options_.many_documents) {
    frames_.back().expect_key = false;
    end();
  }
  tape_.push_back(word('r', 0));
  tape_[0] = word('r', tape_.size());
  DocumentHandle doc(new Document(), DocumentReturn{});
  auto& d = doc->parser.doc;
  const size_t strings = strings_.size();
  strings_.resize(strings + simdjson::SIMDJSON_PADDING);
  std::memset(strings_.data() + strings, 0, simdjson::SIMDJSON_PADDING);
  d.tape = tape_.release();
  d.string_buf = strings_.release();
  doc->root = d.root();
  doc->values = nodes_;
  doc->read_strictly = true;  // keys, strings and nodes were checked here
  result.document = std::move(doc);
  result.ambiguous = std::move(ambiguous_);
  result.ambiguous_total = ambiguous_total_;
  result.big_integers = std::move(big_integers_);
  return result;
}

}  // namespace

YamlResult read_yaml(std::string_view bytes, const ReadLimits& limits, const YamlOptions& options) {
  try {
    return Builder(bytes, limits, options, nullptr, nullptr).run();
  } catch (const std::bad_alloc&) {
    YamlResult out;
    out.problem = ReadProblem{"size", "not enough memory to read the artifact", "", 0, 0, 0};
    return out;
  }
}

std::unordered_map<std::string, Location> locate_all_yaml(std::string_view bytes, const ReadLimits& limits,
                                                          const YamlOptions& options,
                                                          const std::vector<std::string>& pointers) {
  std::unordered_map<std::string, Location> found;
  const std::unordered_set<std::string> wanted(pointers.begin(), pointers.end());
  try {
    Builder(bytes, limits, options, &wanted, &found).run();
  } catch (const std::bad_alloc&) {
    // unlocated: the report keeps its pointers
  }
  return found;
}

}  // namespace invar::artifact
