// The project file: format, glob matcher, discovery, walk (project.hpp).
#include "cli/project.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/text.hpp"
#include "schema/document.hpp"

namespace invar::cli::project {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// One segment (no '/') against one pattern segment: "*" and "?". Greedy with
// one backtrack point: O(pattern x text) at worst.
bool segment_match(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) {
  const auto p = segments(pattern);
  const auto s = segments(path);
  // ok[i][j]: p[i..] matches s[j..]; filled from the end (no recursion, no blow-up).
  const size_t width = s.size() + 1;
  std::vector<char> ok((p.size() + 1) * width, 0);
  ok[p.size() * width + s.size()] = 1;
  for (size_t i = p.size(); i-- > 0;) {
    for (size_t j = s.size() + 1; j-- > 0;) {
      bool match;
      if (p[i] == "**")  // none of s[j..], or s[j] and more
        match = ok[(i + 1) * width + j] || (j < s.size() && ok[i * width + j + 1]);
      else
        match = j < s.size() && segment_match(p[i], s[j]) && ok[(i + 1) * width + j + 1];
      ok[i * width + j] = match;
    }
  }
  return ok[0];
}

std::optional<std::string> find(const std::string& start) {
  std::error_code ec;
  fs::path dir = fs::absolute(start, ec).lexically_normal();
  if (ec) return std::nullopt;
  while (true) {
    if (fs::is_regular_file(dir / kFileName, ec)) {
      fs::path shown = (dir / kFileName).lexically_relative(fs::current_path(ec));
      return (shown.empty() ? dir / kFileName : shown).string();
    }
    if (fs::exists(dir / ".git", ec) || !dir.has_relative_path()) return std::nullopt;
    dir = dir.parent_path();
  }
}

namespace {

class ProjectLoader {
 public:
  explicit ProjectLoader(const std::string& file) : file_(file) {}

  Result<Project> load(const json& doc) {
    Project project;
    project.file = file_;
    project.root = fs::path(file_).parent_path().string();
    if (!doc.is_object()) return fail("", "a project file is a JSON object");
    static const std::vector<std::string_view> kTop = {"entries", "exclude", "tests"};
    for (auto& [key, value] : doc.items()) {
      (void)value;
      if (key != "$schema" && !known(key, kTop))
        note("/" + key, "unknown key " + text::quoted(key) + text::did_you_mean(key, kTop) + " (expected entries, exclude, tests)");
    }
    auto entries = doc.find("entries");
    if (entries == doc.end() || !entries->is_array() || entries->empty()) {
      note(entries == doc.end() ? "" : "/entries", "\"entries\" must be a non-empty array of entries");
    } else {
      for (size_t i = 0; i < entries->size(); ++i) project.entries.push_back(entry((*entries)[i], i));
    }
    if (auto exclude = doc.find("exclude"); exclude != doc.end())
      project.exclude = globs(*exclude, "/exclude");
    if (auto tests = doc.find("tests"); tests != doc.end()) project.tests = globs(*tests, "/tests");
    if (!errors_.empty()) {
      Error first = errors_.front();
      first.also.assign(errors_.begin() + 1, errors_.end());
      return first;
    }
    return project;
  }

 private:
  static bool known(const std::string& key, const std::vector<std::string_view>& keys) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }
  void note(const std::string& at, const std::string& message) {
    if (errors_.size() < 20) errors_.push_back(Error{ErrorCode::usage, message, {file_, at, 0, 0}});
  }
  Error fail(const std::string& at, const std::string& message) { return Error{ErrorCode::usage, message, {file_, at, 0, 0}}; }

  std::string path_of(const std::string& given) const {
    fs::path p(given);
    return p.is_absolute() ? p.string() : (fs::path(file_).parent_path() / p).lexically_normal().string();
  }

  std::vector<std::string> globs(const json& value, const std::string& at) {
    std::vector<std::string> out;
    if (!value.is_array()) {
      note(at, "must be an array of glob patterns");
      return out;
    }
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string here = at + "/" + std::to_string(i);
      const auto& g = value[i];
      if (!g.is_string() || g.get<std::string>().empty()) {
        note(here, "a glob pattern is a non-empty string");
        continue;
      }
      const auto& s = g.get<std::string>();
      bool dots = false;
      for (auto seg : segments(s)) dots = dots || seg == ".." || seg == "." || seg.empty();
      if (s.front() == '/' || dots)
        note(here, "a glob pattern is relative to the project root, without empty, \".\" or \"..\" segments: " +
                       text::quoted(s));
      else
        out.push_back(s);
    }
    return out;
  }

  Entry entry(const json& value, size_t index) {
    Entry e;
    e.index = index;
    const std::string at = "/entries/" + std::to_string(index);
    if (!value.is_object()) {
      note(at, "an entry is an object with \"files\" and one of \"contract\" or \"schema\"");
      return e;
    }
    static const std::vector<std::string_view> kKeys = {"files", "contract", "schema", "options"};
    for (auto& [key, v] : value.items()) {
      (void)v;
      if (!known(key, kKeys))
        note(at + "/" + key, "unknown key " + text::quoted(key) + text::did_you_mean(key, kKeys) +
                                 " (expected files, contract, schema, options)");
    }
    if (auto files = value.find("files"); files == value.end())
      note(at, "an entry needs \"files\": the glob patterns of the files it judges");
    else if ((e.files = globs(*files, at + "/files")).empty() && files->is_array() && files->empty())
      note(at + "/files", "\"files\" must name at least one glob pattern");
    for (const char* key : {"contract", "schema"}) {
      auto it = value.find(key);
      if (it == value.end()) continue;
      if (!it->is_string() || it->get<std::string>().empty())
        note(at + "/" + key, std::string("\"") + key + "\" is the path of a file (relative to the project file)");
      else
        (std::string_view(key) == "contract" ? e.contract : e.schema) = path_of(it->get<std::string>());
    }
    if (value.contains("contract") == value.contains("schema"))
      note(at, "an entry needs exactly one of \"contract\" or \"schema\"");
    if (auto options = value.find("options"); options != value.end()) entry_options(*options, at + "/options", e);
    return e;
  }

  void entry_options(const json& o, const std::string& at, Entry& e) {
    if (!o.is_object()) return note(at, "\"options\" is an object");
    static const std::vector<std::string_view> kKeys = {"resolve",        "assert_format", "unknown_keywords",
                                                        "regex_fallback", "documents",     "yaml_merge_keys",
                                                        "default_dialect"};
    auto one_of = [&](const std::string& key, const json& v, std::vector<std::string_view> choices) -> std::string {
      if (v.is_string() && known(v.get<std::string>(), choices)) return v.get<std::string>();
      std::string given = v.is_string() ? v.get<std::string>() : v.dump();
      std::string list;
      for (auto c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
      note(at + "/" + key, "\"" + key + "\" is one of " + list + ", not " + text::quoted(given) +
                               text::did_you_mean(given, choices));
      return {};
    };
    for (auto& [key, v] : o.items()) {
      const std::string here = at + "/" + key;
      if (!known(key, kKeys)) {
        note(here, "unknown key " + text::quoted(key) + text::did_you_mean(key, kKeys) +
                       " (expected resolve, assert_format, unknown_keywords, regex_fallback, documents, "
                       "yaml_merge_keys, default_dialect)");
      } else if (key == "resolve") {
        if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); }))
          note(here, "\"resolve\" is an array of paths (schema files or directories)");
        else
          for (const auto& p : v) e.resolve.push_back(path_of(p.get<std::string>()));
      } else if (key == "assert_format" || key == "yaml_merge_keys") {
        if (!v.is_boolean()) note(here, "\"" + key + "\" is true or false");
        else (key == "assert_format" ? e.assert_format : e.yaml_merge_keys) = v.get<bool>();
      } else if (key == "unknown_keywords") {
        auto c = one_of(key, v, {"error", "warn", "ignore"});
        if (c == "error") e.unknown_keywords = UnknownKeywords::error;
        if (c == "warn") e.unknown_keywords = UnknownKeywords::warn;
        if (c == "ignore") e.unknown_keywords = UnknownKeywords::ignore;
      } else if (key == "regex_fallback") {
        auto c = one_of(key, v, {"none", "pcre2"});
        if (!c.empty()) e.regex_fallback = c == "pcre2" ? RegexFallback::pcre2 : RegexFallback::none;
      } else if (key == "documents") {
        auto c = one_of(key, v, {"one", "many"});
        if (!c.empty()) e.many_documents = c == "many";
      } else if (!v.is_string()) {
        note(here, "\"default_dialect\" is the name of a JSON Schema dialect, such as \"draft-07\"");
      } else {
        e.default_dialect = v.get<std::string>();
      }
      if ((key == "documents" || key == "yaml_merge_keys") && e.schema.empty())
        note(here, "\"" + key + "\" applies to a schema entry: a contract says how it reads YAML in \"artifact\"");
    }
  }

  std::string file_;
  std::vector<Error> errors_;
};

}  // namespace

Result<Project> load(const std::string& file) {
  auto bytes = files::read_file(file, 1u << 20, "project file");
  if (!bytes) return bytes.error();
  auto doc = schema::read_document(*bytes, file);
  if (!doc) return doc.error();
  auto project = ProjectLoader(file).load(*doc);
  if (project) {
    project.value().text = std::move(bytes.value());
    return project;
  }
  Error e = project.error();
  auto place = [&](Error& x) {
    if (auto found = schema::locate_in_document(*bytes, file, x.where.pointer)) {
      x.where.line = found->line;
      x.where.column = found->column;
    }
  };
  place(e);
  for (auto& more : e.also) place(more);
  return e;
}

Error entry_error(const Project& project, size_t index, ErrorCode code, const std::string& message) {
  Error e{code, message, {project.file, "/entries/" + std::to_string(index), 0, 0}};
  if (auto found = schema::locate_in_document(project.text, project.file, e.where.pointer)) {
    e.where.line = found->line;
    e.where.column = found->column;
  }
  return e;
}

bool excluded(const Project& project, std::string_view rel) {
  return std::any_of(project.exclude.begin(), project.exclude.end(),
                     [&](const std::string& g) { return glob_match(g, rel); });
}

bool covers(const Project& project, const Entry& entry, std::string_view rel) {
  return !excluded(project, rel) &&
         std::any_of(entry.files.begin(), entry.files.end(), [&](const std::string& g) { return glob_match(g, rel); });
}

bool known_extension(std::string_view rel) {
  for (std::string_view ext : {".json", ".yaml", ".yml", ".ndjson", ".jsonl"})
    if (rel.size() > ext.size() && rel.substr(rel.size() - ext.size()) == ext) return true;
  return false;
}

namespace {

struct Walker {
  const Project& project;
  std::vector<std::string> files;
  size_t visited = 0;

  std::optional<Error> walk(const fs::path& dir, const std::string& rel, size_t depth = 0) {
    if (depth > kMaxWalkDepth)
      return Error{ErrorCode::limit, "directories nested more than " + std::to_string(kMaxWalkDepth) +
                                         " deep under the project root: " + text::quoted(rel), {project.file, "", 0, 0}};
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      if (++visited > kMaxWalkEntries)
        return Error{ErrorCode::limit, "more than " + std::to_string(kMaxWalkEntries) +
                                           " files and directories under the project root (exclude some)", {project.file, "", 0, 0}};
      const std::string name = it->path().filename().string();
      if (name == ".git") continue;
      const std::string child = rel.empty() ? name : rel + "/" + name;
      std::error_code type_ec;
      const bool link = it->is_symlink(type_ec);
      if (it->is_directory(type_ec)) {
        if (link || excluded(project, child)) continue;  // links to directories are not followed
        if (auto e = walk(it->path(), child, depth + 1)) return e;
      } else if (it->is_regular_file(type_ec) && !excluded(project, child)) {
        files.push_back(child);
      }
    }
    if (ec) return Error{ErrorCode::io, "cannot list " + text::quoted(dir.string()) + ": " + ec.message(), {dir.string(), "", 0, 0}};
    return std::nullopt;
  }
};

}  // namespace

Result<std::vector<std::string>> walk(const Project& project, const std::string& under) {
  Walker walker{project, {}, 0};
  fs::path dir = project.root.empty() ? fs::path(".") : fs::path(project.root);
  if (!under.empty()) dir /= under;
  if (auto e = walker.walk(dir, under)) return *e;
  std::sort(walker.files.begin(), walker.files.end());
  return walker.files;
}

Result<Selection> select(const Project& project, const std::vector<std::string>& targets) {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  const fs::path root = fs::absolute(project.root.empty() ? "." : project.root, ec).lexically_normal();
  auto name = [&](const std::string& rel) {  // as the working directory reaches it
    fs::path full = rel.empty() ? root : root / rel;
    fs::path shown = full.lexically_relative(cwd);
    return (shown.empty() ? full : shown).generic_string();
  };
  struct Target {
    std::string rel;
    bool named;
  };
  std::vector<Target> files;
  std::vector<std::string> list = targets.empty() ? std::vector<std::string>{root.string()} : targets;
  for (const auto& t : list) {
    Error refused{ErrorCode::usage, "", {}};
    if (t == files::kStdin) {
      refused.message = "standard input (\"-\") needs --contract or --schema: the project file judges files by their path";
      return refused;
    }
    fs::path rel = fs::absolute(t, ec).lexically_normal().lexically_relative(root);
    std::string r = rel.generic_string();
    if (r.ends_with("/")) r.pop_back();
    if (rel.empty() || r == ".." || r.starts_with("../")) {
      refused.message = text::quoted(t) + " is outside the project's root " + text::quoted(name("")) + " (" +
                        project.file + ")";
      return refused;
    }
    if (r == ".") r.clear();
    if (fs::is_directory(fs::path(project.root.empty() ? "." : project.root) / r, ec)) {
      auto walked = walk(project, r);
      if (!walked) return walked.error();
      for (auto& f : walked.value()) files.push_back({std::move(f), false});
    } else {
      files.push_back({r, true});
    }
  }
  std::sort(files.begin(), files.end(), [](const Target& a, const Target& b) { return a.rel < b.rel; });
  files.erase(std::unique(files.begin(), files.end(), [](const Target& a, const Target& b) { return a.rel == b.rel; }),
              files.end());
  Selection out;
  for (const auto& f : files) {
    bool any = false;
    for (const auto& e : project.entries) {
      if (!covers(project, e, f.rel)) continue;
      out.jobs.push_back({name(f.rel), e.index});
      any = true;
    }
    if (any) continue;
    if (f.named) out.uncovered.push_back(name(f.rel));
    else if (known_extension(f.rel)) out.unmatched.push_back(name(f.rel));
  }
  return out;
}

Options entry_options(const Entry& entry, Options base) {
  base.resolve.insert(base.resolve.end(), entry.resolve.begin(), entry.resolve.end());
  if (entry.assert_format) base.format_assertion = *entry.assert_format;
  if (entry.unknown_keywords) base.unknown_keywords = entry.unknown_keywords;
  if (entry.regex_fallback) base.regex_fallback = *entry.regex_fallback;
  if (entry.many_documents) base.schema_reading.many_documents = *entry.many_documents;
  if (entry.yaml_merge_keys) base.schema_reading.merge_keys = *entry.yaml_merge_keys;
  if (!entry.default_dialect.empty()) base.default_dialect = entry.default_dialect;
  return base;
}

}  // namespace invar::cli::project
