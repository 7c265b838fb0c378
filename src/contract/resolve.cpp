// Local copies of remote schemas (Options::resolve, a contract's "resolve"):
// files and directories read once at load, indexed by "$id". Nothing is
// fetched: a $ref to a URL finds a copy here or the load fails saying so.
#include <algorithm>
#include <filesystem>
#include <set>

#include "common/files.hpp"
#include "common/text.hpp"
#include "engine/plan.hpp"
#include "schema/document.hpp"
#include "schema/uri.hpp"

namespace invar::contract {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool schema_extension(const fs::path& path) {
  auto ext = path.extension().string();
  return ext == ".json" || ext == ".yaml" || ext == ".yml";
}

Error limit_error(const std::string& message) { return Error{ErrorCode::limit, message, {}}; }

// The files `path` names: itself, or the schema files under it (name order).
Result<std::vector<std::string>> files_of(const std::string& path, const Limits& limits, size_t& count) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return Error{ErrorCode::io, "resolve: " + text::quoted(path) + " does not exist", {path, "", 0, 0}};
  if (!fs::is_directory(status)) {
    ++count;
    return std::vector<std::string>{path};
  }
  std::vector<std::string> found;
  // Directory symlinks are not followed (no loops); a file symlink is read.
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || !schema_extension(it->path())) continue;
    if (++count > limits.max_resolve_files)
      return limit_error("resolve: more than max_resolve_files (" + std::to_string(limits.max_resolve_files) +
                         ") schema files under " + text::quoted(path));
    found.push_back(it->path().lexically_normal().string());
  }
  if (ec) return Error{ErrorCode::io, "resolve: cannot list " + text::quoted(path) + ": " + ec.message(), {path, "", 0, 0}};
  std::sort(found.begin(), found.end());
  return found;
}

// The URI a schema document names itself by: "$id", or draft-04's "id"
// (when it says draft-04 or says no dialect), resolved against the file's
// own URI, without a fragment. Empty when it names none.
std::string id_of(const json& doc, const std::string& file) {
  if (!doc.is_object()) return {};
  const json* id = nullptr;
  if (auto it = doc.find("$id"); it != doc.end() && it->is_string()) id = &*it;
  if (!id)
    if (auto it = doc.find("id"); it != doc.end() && it->is_string()) {
      auto declared = doc.find("$schema");
      bool draft4 = declared == doc.end() ||
                    (declared->is_string() && schema::draft_from_uri(declared->get<std::string>()) == schema::Draft::draft4);
      if (draft4) id = &*it;
    }
  if (!id || id->get_ref<const std::string&>().empty()) return {};
  std::error_code ec;
  std::string self = schema::uri::from_path(fs::absolute(file, ec).lexically_normal().string());
  return schema::uri::normalize(schema::uri::split_fragment(schema::uri::resolve(self, id->get<std::string>())).first);
}

}  // namespace

Result<std::shared_ptr<const schema::SchemaIndex>> index_schemas(const std::vector<std::string>& paths,
                                                                 const Options& options,
                                                                 std::vector<LoadWarning>& warnings) {
  if (paths.empty()) return std::shared_ptr<const schema::SchemaIndex>();
  auto index = std::make_shared<schema::SchemaIndex>();
  index->paths = paths;
  std::set<std::string> seen;  // a file named twice (itself and in a directory) is read once
  size_t count = 0;
  uint64_t bytes = 0;
  for (const auto& path : paths) {
    auto files = files_of(path, options.limits, count);
    if (!files) return files.error();
    bool named = files->size() == 1 && files->front() == path;  // given itself: its problems are errors
    for (const auto& file : *files) {
      std::error_code ec;
      if (!seen.insert(fs::weakly_canonical(file, ec).string()).second) continue;
      auto text = files::read_file(file, options.limits.max_contract_bytes, "schema");
      if (text && (bytes += text->size()) > options.limits.max_resolve_bytes)
        return limit_error("resolve: the schemas given are more than max_resolve_bytes (" +
                           std::to_string(options.limits.max_resolve_bytes) + " bytes) together");
      schema::NumberTexts numbers;
      auto doc = text ? schema::read_document(*text, file, &numbers) : Result<json>(text.error());
      if (!doc) {
        if (named) return doc.error();
        warnings.push_back({"resolve-skipped", "skipped (resolve): " + doc.error().message, doc.error().where});
        continue;
      }
      std::string id = id_of(*doc, file);
      if (id.empty()) {
        if (named)
          return Error{ErrorCode::schema,
                       "resolve: the schema has no \"$id\" (draft-04: \"id\"), so no $ref can name it", {file, "", 0, 0}};
        continue;
      }
      index->by_id[id].push_back({file, std::move(doc.value()), std::move(numbers)});
    }
  }
  return std::shared_ptr<const schema::SchemaIndex>(std::move(index));
}

}  // namespace invar::contract
