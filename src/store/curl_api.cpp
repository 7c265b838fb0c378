#include "store/curl_api.hpp"

#include <dlfcn.h>

#include <cstdlib>

#include <mutex>

namespace invar::store {

namespace {

struct Loaded {
  CurlApi api{};
  bool ok = false;
  std::string why;
};

template <class F>
bool bind(void* library, const char* name, F& out, std::string& why) {
  out = reinterpret_cast<F>(::dlsym(library, name));
  if (!out) why = std::string("libcurl has no ") + name;
  return out != nullptr;
}

Loaded load() {
  Loaded l;
  // INVAR_LIBCURL names another file (the tests name one that is absent).
  const char* name = std::getenv("INVAR_LIBCURL");
  if (!name || !*name) name = "libcurl.so.4";
  void* library = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* error = ::dlerror();
    l.why = std::string("cannot load libcurl (Debian: libcurl4): ") + (error ? error : "unknown error");
    return l;
  }
  CurlApi& a = l.api;
  l.ok = bind(library, "curl_global_init", a.global_init, l.why) && bind(library, "curl_easy_init", a.easy_init, l.why) &&
         bind(library, "curl_easy_cleanup", a.easy_cleanup, l.why) &&
         bind(library, "curl_easy_reset", a.easy_reset, l.why) &&
         bind(library, "curl_easy_setopt", a.easy_setopt, l.why) &&
         bind(library, "curl_easy_perform", a.easy_perform, l.why) &&
         bind(library, "curl_easy_getinfo", a.easy_getinfo, l.why) &&
         bind(library, "curl_easy_strerror", a.easy_strerror, l.why) &&
         bind(library, "curl_slist_append", a.slist_append, l.why) &&
         bind(library, "curl_slist_free_all", a.slist_free_all, l.why) &&
         bind(library, "curl_multi_init", a.multi_init, l.why) &&
         bind(library, "curl_multi_cleanup", a.multi_cleanup, l.why) &&
         bind(library, "curl_multi_add_handle", a.multi_add_handle, l.why) &&
         bind(library, "curl_multi_remove_handle", a.multi_remove_handle, l.why) &&
         bind(library, "curl_multi_perform", a.multi_perform, l.why) &&
         bind(library, "curl_multi_poll", a.multi_poll, l.why) &&
         bind(library, "curl_multi_info_read", a.multi_info_read, l.why);
  if (l.ok && a.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    l.ok = false;
    l.why = "curl_global_init failed";
  }
  return l;  // the library stays loaded for the process's life
}

}  // namespace

const CurlApi* curl_api(std::string* why) {
  static const Loaded loaded = load();
  if (!loaded.ok && why) *why = loaded.why;
  return loaded.ok ? &loaded.api : nullptr;
}

}  // namespace invar::store
