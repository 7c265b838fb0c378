#include "common/json_pointer.hpp"

#include <string>

namespace invar {

const nlohmann::json* json_at_pointer(const nlohmann::json& root, std::string_view pointer) {
  const nlohmann::json* at = &root;
  size_t i = 0;
  while (i < pointer.size()) {
    if (pointer[i] != '/') return nullptr;
    size_t next = pointer.find('/', i + 1);
    std::string_view token = pointer.substr(i + 1, next == std::string_view::npos ? std::string_view::npos : next - i - 1);
    std::string unescaped;
    for (size_t k = 0; k < token.size(); ++k) {
      if (token[k] == '~' && k + 1 < token.size()) unescaped += token[++k] == '1' ? '/' : '~';
      else unescaped += token[k];
    }
    if (at->is_object()) {
      auto found = at->find(unescaped);
      if (found == at->end()) return nullptr;
      at = &*found;
    } else if (at->is_array()) {
      if (unescaped.empty() || unescaped.size() > 9 || unescaped.find_first_not_of("0123456789") != std::string::npos)
        return nullptr;
      size_t index = std::stoul(unescaped);
      if (index >= at->size()) return nullptr;
      at = &(*at)[index];
    } else {
      return nullptr;
    }
    if (next == std::string_view::npos) break;
    i = next;
  }
  return at;
}

}  // namespace invar
