#include "artifact/ndjson.hpp"

#include <algorithm>

#include "artifact/blocks.hpp"

namespace invar::artifact {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Why `line` is not one whole JSON value on its own, judged by its structure
// only (the parse judges the rest): a ',' outside any container, or a
// container or string left open at the line's end. `at`: where.
std::optional<std::string> structure_problem(std::string_view line, uint64_t& at) {
  int64_t depth = 0;
  bool in_string = false, escaped = false;
  size_t i = 0;
  auto comma = [&](size_t k) {
    at = k;
    return std::optional<std::string>("more than one value on this line (NDJSON: one JSON value per line)");
  };
#if defined(__SSE2__)
  // Whole 64-byte blocks: only the brackets and commas outside strings.
  uint64_t inside_carry = 0;
  for (; line.size() - i >= 64; i += 64) {
    simd::Block block(line.data() + i);
    const uint64_t quotes = block.quote & ~simd::escaped_bytes(block.backslash, escaped);
    const uint64_t inside = simd::prefix_xor(quotes) ^ inside_carry;
    inside_carry = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
    for (uint64_t s = (block.open | block.close | block.comma) & ~inside; s; s &= s - 1) {
      const size_t k = i + static_cast<size_t>(__builtin_ctzll(s));
      const char c = line[k];
      if (c == '[' || c == '{') ++depth;
      else if (c == ']' || c == '}') --depth;
      else if (depth <= 0) return comma(k);
    }
  }
  in_string = inside_carry != 0;
#endif
  for (; i < line.size(); ++i) {
    char c = line[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') ++depth;
    else if (c == ']' || c == '}') --depth;
    else if (c == ',' && depth <= 0) return comma(i);
  }
  if (in_string || depth > 0) {
    at = line.size();
    return "the value does not end on its line (NDJSON: one JSON value per line)";
  }
  return std::nullopt;
}

}  // namespace

uint64_t Lines::source_offset(uint64_t joined) const {
  auto after = std::upper_bound(records.begin(), records.end(), joined,
                                [](uint64_t at, const Record& r) { return at < r.joined; });
  if (after == records.begin()) return 0;
  const Record& r = *(after - 1);
  return r.source + std::min(joined - r.joined, r.length);
}

std::variant<Lines, ReadProblem> split_lines(std::string_view bytes, size_t padding,
                                             const std::map<uint64_t, ReadProblem>& unreadable) {
  Lines lines;
  lines.array.reserve(bytes.size() + 2 + padding);
  lines.array += '[';
  size_t at = bytes.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  uint64_t line = 1;
  while (at <= bytes.size()) {
    size_t end = bytes.find('\n', at);
    if (end == std::string_view::npos) end = bytes.size();
    size_t last = end;
    while (last > at && blank(bytes[last - 1])) --last;
    size_t first = at;
    while (first < last && blank(bytes[first])) ++first;
    if (first < last) {
      std::string_view text = bytes.substr(at, last - at);
      uint64_t where = 0;
      std::optional<ReadProblem> bad;
      if (auto found = unreadable.find(line); found != unreadable.end()) {
        bad = found->second;
      } else if (auto problem = structure_problem(text, where)) {
        Location loc = line_column(bytes, at + where);
        bad = ReadProblem{"syntax", "line " + std::to_string(line) + ": " + *problem, "", at + where, loc.line,
                          loc.column};
      }
      if (bad) {
        bad->pointer = "/" + std::to_string(lines.records.size());
        if (lines.problems.size() == kMaxUnreadableLines) return lines.problems.front();
        lines.problems.push_back(std::move(*bad));
      }
      if (!lines.records.empty()) lines.array += ',';
      lines.records.push_back({at, lines.array.size(), text.size(), line, bad.has_value()});
      lines.array.append(bad ? std::string_view("null") : text);
    }
    if (end == bytes.size()) break;
    at = end + 1;
    ++line;
  }
  lines.array += ']';
  lines.length = lines.array.size();
  lines.array.resize(lines.length + padding, ' ');
  return lines;
}

void relocate(const Lines& lines, std::string_view bytes, ReadProblem& problem) {
  if (problem.line == 0) return;  // not located in the text (a scan's problem is located by its pointer)
  uint64_t offset = lines.source_offset(problem.offset);
  Location loc = line_column(bytes, offset);
  // What the parser says of the array of records, said of the lines.
  if (problem.message.find("after an array element") != std::string::npos)
    problem.message = "more than one value on this line (NDJSON: one JSON value per line)";
  problem.offset = offset;
  problem.line = loc.line;
  problem.column = loc.column;
}

std::unordered_map<std::string, Location> locate_all(std::string_view bytes, const Lines& lines,
                                                     const std::vector<std::string>& pointers, uint32_t max_depth) {
  std::unordered_map<std::string, Location> out;
  for (const auto& pointer : pointers) {
    if (pointer.empty()) {
      out.emplace(pointer, Location{});
      continue;
    }
    size_t slash = pointer.find('/', 1);
    std::string_view first = std::string_view(pointer).substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    if (first.empty() || first.size() > 18 || !std::all_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    uint64_t index = std::stoull(std::string(first));
    if (index >= lines.records.size()) continue;
    const auto& record = lines.records[index];
    std::string_view text = bytes.substr(record.source, record.length);
    auto inner = locate(text, slash == std::string::npos ? std::string_view() : std::string_view(pointer).substr(slash),
                        max_depth);
    if (!inner) continue;
    Location loc = *inner;
    loc.offset += record.source;
    loc.line = record.line;
    out.emplace(pointer, loc);
  }
  return out;
}

LineSplitter::LineSplitter(uint64_t batch_bytes) : batch_bytes_(batch_bytes) {}

bool LineSplitter::line(std::string_view text, const Batch& batch) {
  size_t last = text.size();
  while (last > 0 && blank(text[last - 1])) --last;
  text = text.substr(0, last);
  size_t first = 0;
  while (first < text.size() && blank(text[first])) ++first;
  if (first == text.size()) return true;  // a blank line
  uint64_t where = 0;
  if (structure_problem(text, where)) return false;
  if (batch_.size() > 1) batch_ += ',';
  batch_.append(text);
  return batch_.size() < batch_bytes_ || emit(batch);
}

bool LineSplitter::emit(const Batch& batch) {
  const size_t length = batch_.size() + 1;
  batch_ += ']';
  batch_.resize(length + kPadding, ' ');
  ++batches_;
  bool go_on = batch(std::string_view(batch_.data(), length));
  batch_.resize(1);
  return go_on;
}

bool LineSplitter::feed(std::string_view chunk, const Batch& batch) {
  if (failed_) return false;
  if (first_ && !chunk.empty()) {
    // A byte order mark split across chunks is not followed: the whole read decides.
    if (chunk.substr(0, 3) == "\xEF\xBB\xBF") chunk.remove_prefix(3);
    first_ = false;
  }
  size_t at = 0;
  for (;;) {
    size_t end = chunk.find('\n', at);
    if (end == std::string_view::npos) {
      partial_.append(chunk.substr(at));
      return true;
    }
    bool ok;
    if (partial_.empty()) {
      ok = line(chunk.substr(at, end - at), batch);
    } else {
      partial_.append(chunk.substr(at, end - at));
      ok = line(partial_, batch);
      partial_.clear();
    }
    if (!ok) {
      failed_ = true;
      return false;
    }
    at = end + 1;
  }
}

bool LineSplitter::finish(const Batch& batch) {
  if (failed_) return false;
  if (!partial_.empty() && !line(partial_, batch)) return false;
  partial_.clear();
  return batch_.size() == 1 || emit(batch);
}

}  // namespace invar::artifact
