// libcurl, loaded when the etcd backend first needs it (dlopen), not when
// the process starts: libcurl's dependency tree (TLS, HTTP/2, GSSAPI, LDAP...)
// costs about 20 ms of start-up on the machines we measured, six times an
// `invar check` of a small file that never talks to etcd.
#pragma once

#include <curl/curl.h>

#include <string>

namespace invar::store {

struct CurlApi {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL* handle);
  void (*easy_reset)(CURL* handle);
  CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
  CURLcode (*easy_perform)(CURL* handle);
  CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
  const char* (*easy_strerror)(CURLcode code);
  curl_slist* (*slist_append)(curl_slist* list, const char* text);
  void (*slist_free_all)(curl_slist* list);
  // The multi interface: a streaming request (etcd's watch) waited on with a
  // bound, so that a stop flag and a deadline are seen while it is silent.
  CURLM* (*multi_init)();
  CURLMcode (*multi_cleanup)(CURLM* multi);
  CURLMcode (*multi_add_handle)(CURLM* multi, CURL* handle);
  CURLMcode (*multi_remove_handle)(CURLM* multi, CURL* handle);
  CURLMcode (*multi_perform)(CURLM* multi, int* running);
  CURLMcode (*multi_poll)(CURLM* multi, struct curl_waitfd* extra, unsigned extra_count, int timeout_ms, int* ready);
  CURLMsg* (*multi_info_read)(CURLM* multi, int* queued);
};

// The functions, loaded once (thread-safe), with curl_global_init done; null
// when libcurl cannot be loaded, and then `why` says why.
const CurlApi* curl_api(std::string* why = nullptr);

}  // namespace invar::store
