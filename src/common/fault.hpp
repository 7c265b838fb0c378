// Fault injection for the crash tests: compiled in only into the tests' own
// copies of the library and CLI (-DINVAR_FAULT_INJECTION=ON, the default
// with tests; CMakeLists.txt's INVAR_FAULT_SOURCES), never into what is
// installed or packaged. When the environment variable
// INVAR_FAULT names a point, the process kills itself with SIGKILL there,
// as a power cut or an OOM kill would (with INVAR_FAULT_STOP=1 it stops
// itself with SIGSTOP instead, once, as a paused VM would, and goes on when
// continued); or, at a truncation point, the file is truncated to nothing
// there, as a writer rewriting it in place would.
#pragma once

#if !defined(INVAR_FAULT_INJECTION) && !defined(INVAR_FAULT_FREE)
#error "a file with fault points must be listed in INVAR_FAULT_SOURCES (CMakeLists.txt)"
#endif

#ifdef INVAR_FAULT_INJECTION
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#endif

namespace invar::fault {

inline void point([[maybe_unused]] const char* name) {
#ifdef INVAR_FAULT_INJECTION
  const char* wanted = std::getenv("INVAR_FAULT");
  if (!wanted || std::strcmp(wanted, name) != 0) return;
  if (!std::getenv("INVAR_FAULT_STOP")) std::raise(SIGKILL);
  ::unsetenv("INVAR_FAULT");  // stopped once: a point reached again (a decision judged again) goes on
  std::raise(SIGSTOP);
#endif
}

inline void truncate_point([[maybe_unused]] const char* name, [[maybe_unused]] const char* path) {
#ifdef INVAR_FAULT_INJECTION
  const char* wanted = std::getenv("INVAR_FAULT");
  if (wanted && std::strcmp(wanted, name) == 0 && ::truncate(path, 0) != 0) std::abort();
#endif
}

}  // namespace invar::fault
