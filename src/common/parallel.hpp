// The only concurrency inside one check: a small pool whose threads, and any
// thread waiting on it, run queued tasks. A task may queue more tasks and
// wait for them (a schema splitting an array while the invariants run):
// waiting runs queued work instead of blocking, so nothing deadlocks and no
// more threads run than the pool was given.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace invar::parallel {

class Pool {
 public:
  // Tasks submitted together and waited for together.
  class Group {
   public:
    Group() = default;
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;

   private:
    friend class Pool;
    size_t pending = 0;  // guarded by the pool's mutex
    std::exception_ptr failure;
  };

  // `threads` in all, counting the thread that waits: threads - 1 helpers
  // are started (none for 0 or 1; then tasks run in wait()).
  explicit Pool(unsigned threads);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  unsigned threads() const { return threads_; }
  void submit(Group& group, std::function<void()> task);
  // Runs queued tasks until every task of `group` has finished, then
  // rethrows the first exception one of them threw.
  void wait(Group& group);

 private:
  struct Task {
    Group* group;
    std::function<void()> run;
  };
  void execute(Task& task);  // runs it and marks it done; `mutex_` not held
  void helper();

  unsigned threads_;
  std::mutex mutex_;
  std::condition_variable changed_;  // a task was queued or finished, or the pool stops
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> helpers_;
};

// Runs task(i) once for every i in [0, n) on `pool` and waits for them all.
void run(Pool& pool, size_t n, const std::function<void(size_t)>& task);

}  // namespace invar::parallel
