#include "common/parallel.hpp"

#include <system_error>

namespace invar::parallel {

Pool::Pool(unsigned threads) : threads_(threads ? threads : 1) {
  for (unsigned k = 1; k < threads_; ++k) {
    try {
      helpers_.emplace_back([this] { helper(); });
    } catch (const std::system_error&) {
      break;  // no more threads: those running (and the waiting one) do the work
    }
  }
  threads_ = static_cast<unsigned>(helpers_.size()) + 1;
}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : helpers_) t.join();
}

void Pool::submit(Group& group, std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++group.pending;
    queue_.push_back({&group, std::move(task)});
  }
  changed_.notify_one();
}

void Pool::execute(Task& task) {
  std::exception_ptr failure;
  try {
    task.run();
  } catch (...) {
    failure = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure && !task.group->failure) task.group->failure = failure;
    --task.group->pending;
  }
  changed_.notify_all();
}

void Pool::helper() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    Task task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    execute(task);
    lock.lock();
  }
}

void Pool::wait(Group& group) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (group.pending > 0) {
    if (!queue_.empty()) {  // help: run whatever is queued, this group's or not
      Task task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      execute(task);
      lock.lock();
      continue;
    }
    changed_.wait(lock, [&] { return group.pending == 0 || !queue_.empty(); });
  }
  if (group.failure) std::rethrow_exception(group.failure);
}

void run(Pool& pool, size_t n, const std::function<void(size_t)>& task) {
  Pool::Group group;
  try {
    for (size_t i = 0; i < n; ++i) pool.submit(group, [&task, i] { task(i); });
  } catch (...) {  // out of memory while queueing: let what was queued finish before `group` goes
    try {
      pool.wait(group);
    } catch (...) {
    }
    throw;
  }
  pool.wait(group);
}

}  // namespace invar::parallel
