// The project file (invar.json, docs/ci.md "One invocation for a repository"):
// which contract or schema judges which files of a repository, so that
// `invar check` alone checks it all. Its format, its glob matcher, where it
// is found, and the files under its root.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invar/invar.hpp"

namespace invar::cli::project {

inline constexpr const char* kFileName = "invar.json";
// The files and directories a walk visits; past this it is a named limit.
inline constexpr size_t kMaxWalkEntries = 1'000'000;
// Directories nested deeper than this under the root are a named limit too.
inline constexpr size_t kMaxWalkDepth = 256;

// Whether `path` (relative, '/'-separated) matches `pattern`: "*" any run of
// characters but '/', "?" one character but '/', a whole segment "**" any
// number of segments (none included); everything else literal. Bounded work:
// O(pattern segments x path segments) segment matches, each O(n x m).
bool glob_match(std::string_view pattern, std::string_view path);

// One entry: its globs, and exactly one of a contract or a schema (paths
// resolved against the project file's directory), with its options.
struct Entry {
  size_t index = 0;
  std::vector<std::string> files;
  std::string contract;
  std::string schema;
  std::vector<std::string> resolve;
  std::optional<bool> assert_format;
  std::optional<UnknownKeywords> unknown_keywords;
  std::optional<RegexFallback> regex_fallback;
  std::optional<bool> many_documents;
  std::optional<bool> yaml_merge_keys;
  std::string default_dialect;
};

struct Project {
  std::string file;  // the project file, as found or given
  std::string root;  // its directory
  std::vector<Entry> entries;
  std::vector<std::string> exclude;
  // The contract unit tests `invar test` runs (globs); empty: every
  // *.test.json under the root.
  std::vector<std::string> tests;
  std::string text;  // the file's bytes, to locate errors in
};

// invar.json in `start` or a directory above it; the walk stops at a
// directory holding .git (after looking there) or at the filesystem root.
std::optional<std::string> find(const std::string& start);

// Reads and validates `file`: every unknown key and wrong value is a located
// error (line, column, pointer), the first carrying the others.
Result<Project> load(const std::string& file);

// An error about entry `index`, located in the project file.
Error entry_error(const Project& project, size_t index, ErrorCode code, const std::string& message);

// Whether an entry's globs match `rel` (relative to the root) and no exclude does.
bool covers(const Project& project, const Entry& entry, std::string_view rel);
bool excluded(const Project& project, std::string_view rel);

// The regular files under `under` (a directory inside the root, relative to
// it; "" the root), relative to the root, sorted; .git and excluded
// directories are skipped, symbolic links to directories not followed.
Result<std::vector<std::string>> walk(const Project& project, const std::string& under);

// Whether `rel` has an extension invar reads (.json .yaml .yml .ndjson .jsonl).
bool known_extension(std::string_view rel);

// What `invar check [TARGETS]` judges with the project: each file (named as
// the working directory reaches it) with each entry that covers it, in path
// order. `targets`: directories and files inside the root ("-" refused);
// none: the root. A walked file no entry covers is skipped (listed in
// `unmatched` when its extension is known); a file named that none covers
// is in `uncovered`.
struct Job {
  std::string path;
  size_t entry = 0;
};
struct Selection {
  std::vector<Job> jobs;
  std::vector<std::string> unmatched;
  std::vector<std::string> uncovered;
};
Result<Selection> select(const Project& project, const std::vector<std::string>& targets);

// `base` with the entry's options (its "resolve" after the command line's).
Options entry_options(const Entry& entry, Options base);

}  // namespace invar::cli::project
