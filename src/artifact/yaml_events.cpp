#include "artifact/yaml_events.hpp"

#include <libfyaml.h>

#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace invar::artifact::yaml {

namespace {

// A batch ends at this many events, or this much text: a few hundred
// kilobytes, which stay in cache between the parser and the builder.
constexpr size_t kBatchEvents = 4096;
constexpr size_t kBatchText = 256 << 10;

void discard(fy_diag*, void*, const char*, size_t) {}

// libfyaml may place an error at the end of input past the last line: such
// a place becomes the end of the last line (YAML's breaks: LF, CRLF, CR).
void clamp_to_input(std::string_view bytes, uint64_t& line, uint64_t& column) {
  uint64_t lines = 1;
  size_t last_start = 0;
  for (size_t i = 0; i < bytes.size(); ++i)
    if (bytes[i] == '\n' || (bytes[i] == '\r' && (i + 1 == bytes.size() || bytes[i + 1] != '\n'))) {
      ++lines;
      last_start = i + 1;
    }
  if (line == 0 || line > lines) {
    line = lines;
    column = line_column(bytes.substr(last_start), bytes.size() - last_start).column;
  }
}

// libfyaml 0.7.12 corrupts its indentation list when it refuses a tab
// after an implicit key inside a complex key (`? a:\t-`), and destroying
// that parser then writes through a bad pointer (found by fuzz_yaml). Such
// parsers are kept instead, reachable from here, never freed: each costs
// what it had allocated (about 4 KB; docs/yaml-compliance.md).
constexpr std::string_view kCorruptingError = "cannot use tab for indentation of block entry";
struct Kept {
  std::mutex mutex;
  std::vector<std::pair<fy_parser*, fy_diag*>> parsers;
};
Kept& kept() {
  static Kept* all = new Kept;  // never destroyed: the parsers in it cannot be
  return *all;
}

// One libfyaml parser over `bytes`, read into batches.
class Source {
 public:
  explicit Source(std::string_view bytes) : bytes_(bytes) {}
  ~Source() {
    if (corrupted_) {
      std::lock_guard lock(kept().mutex);
      try {
        kept().parsers.emplace_back(parser_, diag_);
      } catch (const std::bad_alloc&) {
        // not kept, not freed either: freeing it is what crashes
      }
      return;
    }
    if (parser_) fy_parser_destroy(parser_);
    if (diag_) fy_diag_destroy(diag_);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Fills `batch` (emptied first) with the next events; sets `last` at the end.
  void fill(Batch& batch);

 private:
  bool open();
  void capture(fy_event* e, Batch& batch);
  void locate(fy_token* t, Event& out, char mark = 0) const;
  void add_text(fy_token* t, Batch& batch, uint64_t& at, uint64_t& length) const;
  bool single_quoted(fy_token* token, std::string& out) const;
  bool verbatim(fy_token* token, Event& out) const;
  ReadProblem stream_error();

  std::string_view bytes_;
  fy_diag* diag_ = nullptr;
  fy_parser* parser_ = nullptr;
  bool opened_ = false;
  bool corrupted_ = false;  // see kCorruptingError
  std::string folded_;
};

bool Source::open() {
  opened_ = true;
  fy_diag_cfg diag_cfg;
  fy_diag_cfg_default(&diag_cfg);
  diag_cfg.fp = nullptr;
  diag_cfg.output_fn = discard;
  diag_cfg.level = FYET_ERROR;
  diag_ = fy_diag_create(&diag_cfg);
  if (!diag_) return false;
  fy_diag_set_collect_errors(diag_, true);
  fy_parse_cfg cfg{};
  // The depth is limited by the builder (max_depth), before the parser's own limit.
  cfg.flags = static_cast<fy_parse_cfg_flags>(FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE |
                                              FYPCF_DISABLE_DEPTH_LIMIT | FYPCF_DISABLE_MMAP_OPT);
  cfg.diag = diag_;
  parser_ = fy_parser_create(&cfg);
  return parser_ && fy_parser_set_string(parser_, bytes_.data(), bytes_.size()) == 0;
}

ReadProblem Source::stream_error() {
  ReadProblem p{"syntax", "invalid YAML", "", 0, 0, 0};
  void* iter = nullptr;
  bool first = true;
  while (fy_diag_error* d = fy_diag_errors_iterate(diag_, &iter)) {
    if (d->type != FYET_ERROR) continue;
    corrupted_ = corrupted_ || (d->msg && std::string_view(d->msg) == kCorruptingError);
    if (!first) continue;
    first = false;
    p = ReadProblem{"syntax", d->msg ? d->msg : "invalid YAML", "", 0, uint64_t(d->line) + 1, uint64_t(d->column) + 1};
    clamp_to_input(bytes_, p.line, p.column);
  }
  return p;  // line 0 when libfyaml said nothing: the reader places it
}

// `mark`: the character just before the token that the location should
// include (a scalar's opening quote, an alias's '*').
void Source::locate(fy_token* t, Event& out, char mark) const {
  const fy_mark* m = t ? fy_token_start_mark(t) : nullptr;
  if (!m) return;
  out.located = true;
  out.offset = m->input_pos;
  out.line = uint64_t(m->line) + 1;
  out.column = uint64_t(m->column) + 1;
  if (mark && out.offset > 0 && out.offset <= bytes_.size() && bytes_[out.offset - 1] == mark) {
    --out.offset;
    --out.column;
  }
}

void Source::add_text(fy_token* t, Batch& batch, uint64_t& at, uint64_t& length) const {
  size_t n = 0;
  const char* text = t ? fy_token_get_text(t, &n) : nullptr;
  at = batch.text.size();
  length = text ? n : 0;
  if (length) batch.text.append(text, length);
}

// The text of a single-quoted scalar, folded here from the source: libfyaml
// 0.7.12 leaks its chunk array for scalars of many '' escapes (its issue
// 233, fixed after that release). YAML 1.2 7.3.2: '' is a quote; a line
// break folds to a space, or to one \n per empty line after it; white space
// around breaks goes. False (libfyaml's text is used) when the token's
// marks do not frame the quotes.
bool Source::single_quoted(fy_token* token, std::string& out) const {
  const fy_mark* start = fy_token_start_mark(token);
  const fy_mark* end = fy_token_end_mark(token);
  if (!start || !end || start->input_pos == 0 || end->input_pos < start->input_pos || end->input_pos >= bytes_.size() ||
      bytes_[start->input_pos - 1] != '\'' || bytes_[end->input_pos] != '\'')
    return false;
  const std::string_view raw = bytes_.substr(start->input_pos, end->input_pos - start->input_pos);
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  out.clear();
  size_t empty = 0;  // empty lines since the last text
  bool first = true;
  for (size_t at = 0;;) {
    size_t next = raw.find_first_of("\r\n", at);
    const bool final_line = next == std::string_view::npos;
    std::string_view line = raw.substr(at, final_line ? std::string_view::npos : next - at);
    if (!first)
      while (!line.empty() && blank(line.front())) line.remove_prefix(1);
    if (!final_line)
      while (!line.empty() && blank(line.back())) line.remove_suffix(1);
    if (!first && !final_line && line.empty()) {
      ++empty;
    } else {
      if (!first) out.append(empty ? empty : 1, empty ? '\n' : ' ');
      empty = 0;
      for (size_t k = 0; k < line.size(); ++k) {
        out += line[k];
        if (line[k] == '\'' && k + 1 < line.size() && line[k + 1] == '\'') ++k;
      }
    }
    if (final_line) break;
    first = false;
    at = next + (raw[next] == '\r' && next + 1 < raw.size() && raw[next + 1] == '\n' ? 2 : 1);
  }
  return true;
}

// A plain or double-quoted scalar on one line, without escapes, is its
// source bytes: no copy (libfyaml would allocate its text).
bool Source::verbatim(fy_token* token, Event& out) const {
  const fy_mark* start = fy_token_start_mark(token);
  const fy_mark* end = fy_token_end_mark(token);
  if (!start || !end || end->input_pos < start->input_pos || end->input_pos > bytes_.size()) return false;
  const std::string_view raw = bytes_.substr(start->input_pos, end->input_pos - start->input_pos);
  const bool quoted = out.style == Event::Style::double_quoted;
  if (quoted && (start->input_pos == 0 || end->input_pos >= bytes_.size() || bytes_[start->input_pos - 1] != '"' ||
                 bytes_[end->input_pos] != '"'))
    return false;
  for (char c : raw)  // (not find_first_of: that is a search of the set per byte)
    if (c == '\n' || c == '\r' || (quoted && c == '\\')) return false;
  out.text_in_input = true;
  out.text = start->input_pos;
  out.text_length = raw.size();
  return true;
}

void Source::capture(fy_event* e, Batch& batch) {
  Event out;
  fy_token *tag = nullptr, *anchor = nullptr;
  switch (e->type) {
    case FYET_DOCUMENT_START:
      out.type = Event::Type::document_start;
      locate(e->document_start.document_start, out);
      break;
    case FYET_MAPPING_START:
    case FYET_SEQUENCE_START: {
      const bool mapping = e->type == FYET_MAPPING_START;
      out.type = mapping ? Event::Type::mapping_start : Event::Type::sequence_start;
      fy_token* token = mapping ? e->mapping_start.mapping_start : e->sequence_start.sequence_start;
      tag = mapping ? e->mapping_start.tag : e->sequence_start.tag;
      anchor = mapping ? e->mapping_start.anchor : e->sequence_start.anchor;
      locate(token ? token : (anchor ? anchor : tag), out);
      break;
    }
    case FYET_MAPPING_END:
    case FYET_SEQUENCE_END: out.type = Event::Type::end; break;
    case FYET_ALIAS:
      out.type = Event::Type::alias;
      locate(e->alias.anchor, out, '*');
      add_text(e->alias.anchor, batch, out.text, out.text_length);
      break;
    case FYET_SCALAR: {
      auto& s = e->scalar;
      tag = s.tag;
      anchor = s.anchor;
      const fy_scalar_style style = s.value ? fy_token_scalar_style(s.value) : FYSS_PLAIN;
      out.style = style == FYSS_PLAIN           ? Event::Style::plain
                  : style == FYSS_SINGLE_QUOTED ? Event::Style::single_quoted
                  : style == FYSS_DOUBLE_QUOTED ? Event::Style::double_quoted
                                                : Event::Style::block;
      locate(s.value ? s.value : (s.anchor ? s.anchor : s.tag), out,
             out.style == Event::Style::single_quoted ? '\'' : out.style == Event::Style::double_quoted ? '"' : 0);
      if ((out.style == Event::Style::plain || out.style == Event::Style::double_quoted) && s.value &&
          verbatim(s.value, out)) {
      } else if (out.style == Event::Style::single_quoted && single_quoted(s.value, folded_)) {
        out.text = batch.text.size();
        out.text_length = folded_.size();
        batch.text += folded_;
      } else {
        add_text(s.value, batch, out.text, out.text_length);
        // libfyaml 0.7.12 may count a folded scalar's text a few bytes long
        // (NULs at its end). Only a double-quoted scalar can hold a NUL (an
        // escape): control characters are refused before parsing.
        if (out.style != Event::Style::double_quoted)
          if (const void* nul = std::memchr(batch.text.data() + out.text, 0, out.text_length))
            out.text_length = uint64_t(static_cast<const char*>(nul) - (batch.text.data() + out.text));
      }
      break;
    }
    default: return;  // stream start and end, document end
  }
  if (tag) {
    out.has_tag = true;
    add_text(tag, batch, out.tag, out.tag_length);
  }
  if (anchor) {
    out.has_anchor = true;
    add_text(anchor, batch, out.anchor, out.anchor_length);
  }
  batch.events.push_back(out);
}

void Source::fill(Batch& batch) {
  batch.events.clear();
  batch.text.clear();
  batch.last = false;
  batch.problem.reset();
  batch.input = bytes_;
  try {
    if (!opened_ && !open()) {
      batch.last = true;
      batch.problem = ReadProblem{"size", "cannot allocate a YAML parser for the artifact", "", 0, 0, 0};
      return;
    }
    while (batch.events.size() < kBatchEvents && batch.text.size() < kBatchText) {
      fy_event* e = fy_parser_parse(parser_);
      if (!e) {
        batch.last = true;
        if (fy_parser_get_stream_error(parser_)) batch.problem = stream_error();
        return;
      }
      capture(e, batch);
      fy_parser_event_free(parser_, e);
    }
  } catch (const std::bad_alloc&) {
    batch.last = true;
    batch.problem = ReadProblem{"size", "not enough memory to read the artifact", "", 0, 0, 0};
  }
}

}  // namespace

void read_events(std::string_view bytes, const std::function<bool(const Batch&)>& consume) {
  Source source(bytes);
  Batch batch;  // reused: its events and text stay in cache for the builder
  do source.fill(batch);
  while (consume(batch) && !batch.last);
}

}  // namespace invar::artifact::yaml
