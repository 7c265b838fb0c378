// Fork-join over a fixed set of tasks: the only concurrency inside one check.
#pragma once

#include <cstddef>
#include <functional>

namespace invar::parallel {

// Runs task(i) once for every i in [0, n), on up to `threads` threads (the
// calling thread is one of them; 0 and 1 mean only it), and returns when
// all have run. Threads take the next task as they finish one, so tasks are
// best listed longest first. The first exception a task throws is rethrown
// here after every thread has stopped.
void run(size_t n, unsigned threads, const std::function<void(size_t)>& task);

}  // namespace invar::parallel
