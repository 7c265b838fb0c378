#include "trial/runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace invar::trial {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Outcome = TrialResult::Outcome;

// The raw system calls: glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++.
int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }
int pidfd_kill(int pidfd) { return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0)); }

// The command's environment: nothing of invar's own (tokens, credentials).
const char* const kPath = "PATH=/usr/local/bin:/usr/bin:/bin";

// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int f = -1) {
    if (fd >= 0) close(fd);
    fd = f;
  }
};

// Moves `fd` to a number >= 10, close-on-exec: the child's dup2 onto 0..3
// never overwrites one of the others.
int high(int fd) {
  if (fd < 0) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  close(fd);
  return moved;
}

bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end.reset(high(fds[0]));
  write_end.reset(high(fds[1]));
  return read_end.fd >= 0 && write_end.fd >= 0 && fcntl(read_end.fd, F_SETFL, O_NONBLOCK) == 0;
}

std::optional<std::string> find_in_path(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return name;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::string current_path() {
  const char* p = getenv("PATH");
  return p ? p : "/usr/local/bin:/usr/bin:/bin";
}

// The host's system directories, as Debian lays them out: /usr bound
// read-only; /lib, /bin... recreated as the symlinks they are on merged-/usr
// systems, bound where they are real directories.
const std::vector<std::string>& system_binds() {
  static const std::vector<std::string> binds = [] {
    std::vector<std::string> out{"--ro-bind", "/usr", "/usr"};
    for (const char* dir : {"/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin"}) {
      std::error_code ec;
      auto status = fs::symlink_status(dir, ec);
      if (ec) continue;
      if (fs::is_symlink(status)) {
        auto target = fs::read_symlink(dir, ec);
        if (!ec) out.insert(out.end(), {"--symlink", target.string(), dir});
      } else if (fs::is_directory(status)) {
        out.insert(out.end(), {"--ro-bind", dir, dir});
      }
    }
    for (const char* file : {"/etc/ld.so.cache", "/etc/alternatives"}) {
      std::error_code ec;
      if (fs::exists(file, ec)) out.insert(out.end(), {"--ro-bind", file, file});
    }
    return out;
  }();
  return binds;
}

std::vector<std::string> bwrap_argv(const std::string& bwrap, const std::vector<std::string>& read_only) {
  std::vector<std::string> out{bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"};
  const auto& sys = system_binds();
  out.insert(out.end(), sys.begin(), sys.end());
  out.insert(out.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"});
  for (const auto& p : read_only) out.insert(out.end(), {"--ro-bind", p, p});
  // The root (bwrap's own tmpfs) read-only too: writes go to /tmp or fail.
  out.insert(out.end(), {"--remount-ro", "/", "--chdir", "/tmp", "--info-fd", "3", "--"});
  return out;
}

// What the child needs, built before fork (after it: async-signal-safe calls only).
struct Launch {
  std::string path;  // what to execve
  std::vector<std::string> args;
  std::vector<std::string> env;
  bool sandboxed = false;  // bwrap, under a supervisor; fd 3 is its --info-fd
  TrialLimits limits;
};

// The child's ends of the pipes (numbers >= 10, close-on-exec).
struct ChildFds {
  int in, out, err, info, report, result;  // report: exec's errno; result: the supervisor's Report
};

// What the sandbox's supervisor saw: bwrap's wait status, the CPU of every
// process it reaped, the peak of those bwrap started (not of bwrap itself).
struct Report {
  int status = 0;
  int64_t cpu_us = 0;
  int64_t maxrss_kb = 0;
};

void set_limit(int resource, rlim_t soft, rlim_t hard) {
  rlimit r{soft, hard};
  setrlimit(resource, &r);
}

void default_signals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) sigaction(s, &dfl, nullptr);  // ignored signals stay ignored across exec
}

[[noreturn]] void exec_command(const Launch& l, char* const* argv, char* const* envp, const ChildFds& f) {
  default_signals();
  dup2(f.in, 0);
  dup2(f.out, 1);
  dup2(f.err, 2);
  if (f.info >= 0) dup2(f.info, 3);
  close_range(f.info >= 0 ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC);  // nothing of the host's leaks in
  if (l.limits.memory_bytes > 0) set_limit(RLIMIT_DATA, l.limits.memory_bytes, l.limits.memory_bytes);
  if (l.limits.cpu_ms > 0) {
    rlim_t seconds = static_cast<rlim_t>((l.limits.cpu_ms + 999) / 1000);
    set_limit(RLIMIT_CPU, seconds, seconds + 1);  // SIGXCPU, then SIGKILL a second later
  }
  set_limit(RLIMIT_CORE, 0, 0);
  execve(l.path.c_str(), argv, envp);
  int e = errno;
  [[maybe_unused]] auto n = write(f.report, &e, sizeof e);
  _exit(127);
}

// The forked child of a sandboxed trial: a subreaper that runs bwrap and
// reaps, besides bwrap, the sandbox's init (bwrap does not wait for it), so
// the command's CPU and peak memory reach invar. Its own and bwrap's peak are
// left out: a process forked from invar carries invar's resident size in its
// ru_maxrss (exec keeps the high-water mark), bwrap's init does not.
[[noreturn]] void supervise_sandbox(const Launch& l, char* const* argv, char* const* envp, const ChildFds& f,
                                    pid_t invar) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // invar gone: so are this and, --die-with-parent, the sandbox
  if (getppid() != invar) _exit(1);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t bwrap = fork();
  if (bwrap == 0) exec_command(l, argv, envp, f);
  if (bwrap < 0) {
    int e = errno;
    [[maybe_unused]] auto n = write(f.report, &e, sizeof e);
    _exit(127);
  }
  for (int fd : {f.in, f.out, f.err, f.info, f.report}) close(fd);
  Report r;
  int status;
  rusage ru;
  for (pid_t p; (p = wait4(-1, &status, 0, &ru)) > 0 || errno == EINTR;) {
    if (p <= 0) continue;
    r.cpu_us += (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    if (p == bwrap) r.status = status;
    else r.maxrss_kb = std::max<int64_t>(r.maxrss_kb, ru.ru_maxrss);
  }
  [[maybe_unused]] auto n = write(f.result, &r, sizeof r);
  _exit(0);
}

[[noreturn]] void start_child(const Launch& l, char* const* argv, char* const* envp, const ChildFds& f, pid_t invar) {
  setpgid(0, 0);  // a process group of its own: killed as one
  if (l.sandboxed) supervise_sandbox(l, argv, envp, f, invar);
  exec_command(l, argv, envp, f);
}

// The last `max` bytes written to a stream.
struct Tail {
  std::string text;
  uint64_t max = 0;
  void add(const char* data, size_t n) {
    text.append(data, n);
    if (text.size() > 2 * max + 4096) text.erase(0, text.size() - max);
  }
  std::string get() const { return text.size() > max ? text.substr(text.size() - max) : text; }
};

// Reads what `fd` has now; closes it at its end.
void drain(Fd& fd, Tail& into) {
  char buf[8192];
  while (fd.fd >= 0) {
    ssize_t n = read(fd.fd, buf, sizeof buf);
    if (n > 0) {
      into.add(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      fd.reset();
    } else if (errno != EINTR) {
      if (errno != EAGAIN) fd.reset();
      return;
    }
  }
}

struct Raw {
  int status = 0;  // a wait status
  int64_t cpu_us = 0;
  int64_t maxrss_kb = 0;
  bool timed_out = false;
  std::string lost;  // why invar could not watch it to its end (then killed)
  int64_t wall_ms = 0;
  Tail out, err;
};

// The parent's ends of the pipes (non-blocking).
struct Pipes {
  Fd out, err, info, result;
};

// A number of bwrap's --info-fd JSON ("child-pid": the sandbox's init,
// bwrap's pid 1, as invar sees it; "pid-namespace": its inode).
int64_t info_number(const std::string& info, const char* key) {
  auto at = info.find(fmt::format("\"{}\":", key));
  return at == std::string::npos ? 0 : strtoll(info.c_str() + at + strlen(key) + 3, nullptr, 10);
}

bool wait_readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) > 0;
}

// /proc/PID/stat from its third field (the state) on: the command name
// before it may hold spaces and parentheses.
std::optional<std::string> proc_stat(const std::string& dir) {
  std::ifstream file(dir + "/stat");
  std::string line;
  std::getline(file, line);
  auto close_paren = line.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 > line.size()) return std::nullopt;
  return line.substr(close_paren + 2);
}

// Whether a process of group `pgid` still runs (a zombie does not: its
// reaper, not invar, decides when it goes).
bool group_runs(pid_t pgid) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    auto stat = proc_stat(entry.path().string());
    if (!stat) continue;
    std::istringstream fields(*stat);
    std::string state;
    long ppid = 0, pgrp = 0;
    fields >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != "Z" && state != "X") return true;
  }
  return false;
}

// The CPU and the largest peak of the processes in pid namespace `ns`, read
// from /proc just before the deadline's kill: the kernel reaps a dying
// namespace without accounting (its init ignores SIGCHLD then), so this is
// the only record of what a timed-out tree cost.
void sample_namespace(uint64_t ns, Raw& raw) {
  static const long ticks = sysconf(_SC_CLK_TCK);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string dir = entry.path().string();
    struct stat st {};
    if (stat((dir + "/ns/pid").c_str(), &st) != 0 || st.st_ino != ns) continue;
    auto stat_fields = proc_stat(dir);
    if (!stat_fields) continue;
    std::istringstream fields(*stat_fields);
    std::string skip, line;
    for (int i = 3; i < 14; ++i) fields >> skip;
    int64_t utime = 0, stime = 0, cutime = 0, cstime = 0;
    fields >> utime >> stime >> cutime >> cstime;
    if (ticks > 0) raw.cpu_us += (utime + stime + cutime + cstime) * 1'000'000 / ticks;
    std::ifstream status(dir + "/status");
    while (std::getline(status, line))
      if (line.rfind("VmHWM:", 0) == 0) raw.maxrss_kb = std::max<int64_t>(raw.maxrss_kb, strtoll(line.c_str() + 6, nullptr, 10));
  }
}

// Kills the tree at the deadline: the sandbox's init first (the kernel then
// kills its whole pid namespace; bwrap and the supervisor end), then the
// child's process group (the supervisor and bwrap, or the command itself and
// what it started in its group).
void kill_tree(pid_t pid, int pidfd, int init) {
  if (init >= 0) {
    pidfd_kill(init);
    if (pidfd >= 0) wait_readable(pidfd, 2000);
  }
  kill(-pid, SIGKILL);
}

// Collects the child's status and usage, once it has ended (not yet reaped).
// Nothing it started is left: its group is killed before it is reaped (the
// zombie keeps the group's id from being reused); a sandbox's pid namespace
// is gone once its init is.
void reap(pid_t pid, Pipes& p, int init, bool sandboxed, Raw& raw) {
  siginfo_t si{};
  while (waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  kill(-pid, SIGKILL);
  rusage ru{};
  while (wait4(pid, &raw.status, 0, &ru) < 0 && errno == EINTR) {
  }
  Report r;
  if (sandboxed && read(p.result.fd, &r, sizeof r) == static_cast<ssize_t>(sizeof r)) {
    raw.status = r.status;
    raw.cpu_us = r.cpu_us;
    raw.maxrss_kb = r.maxrss_kb;
  } else if (!sandboxed) {
    // Its ru_maxrss is at least invar's own resident size (a fork keeps the
    // high-water mark across exec): not the command's, so not measured.
    raw.cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    raw.maxrss_kb = 0;
  }
  if (init >= 0) wait_readable(init, 5000);
  // Without a sandbox, the group's processes killed above die asynchronously
  // (their parent is not invar): a bounded wait until none runs.
  for (int i = 0; !sandboxed && i < 2000 && kill(-pid, 0) == 0 && group_runs(pid); ++i) usleep(1000);
}

// Watches the child until it exits or the deadline, capturing its output.
Raw supervise(pid_t pid, Pipes& p, const TrialLimits& limits, Clock::time_point start, bool sandboxed) {
  Raw raw;
  raw.out.max = raw.err.max = limits.max_output;
  Fd pidfd(pidfd_open(pid));
  Fd init;
  std::string info_text;
  uint64_t pid_ns = 0;
  Raw sampled;
  auto deadline = start + std::chrono::milliseconds(limits.timeout_ms);
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      raw.timed_out = true;
      if (pid_ns) sample_namespace(pid_ns, sampled);
      kill_tree(pid, pidfd.fd, init.fd);
      break;
    }
    pollfd fds[4] = {{pidfd.fd, POLLIN, 0}, {p.out.fd, POLLIN, 0}, {p.err.fd, POLLIN, 0}, {p.info.fd, POLLIN, 0}};
    int wait_ms = pidfd.fd >= 0 ? static_cast<int>(std::min<int64_t>(left, 60'000)) : 10;
    if (poll(fds, 4, wait_ms) < 0 && errno != EINTR) {
      raw.lost = fmt::format("cannot watch the trial: {}", std::strerror(errno));
      kill_tree(pid, pidfd.fd, init.fd);
      break;
    }
    drain(p.out, raw.out);
    drain(p.err, raw.err);
    if (p.info.fd >= 0) {
      Tail t{std::string(), 4096};
      drain(p.info, t);
      info_text += t.text;
      if (init.fd < 0 && info_text.find('}') != std::string::npos) {
        auto init_pid = info_number(info_text, "child-pid");
        if (init_pid > 0) init.reset(pidfd_open(static_cast<pid_t>(init_pid)));
        pid_ns = static_cast<uint64_t>(info_number(info_text, "pid-namespace"));
      }
    }
    siginfo_t si{};
    if (pidfd.fd >= 0 ? (fds[0].revents & POLLIN) != 0
                      : waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
      break;
  }
  reap(pid, p, init.fd, sandboxed, raw);
  raw.cpu_us = std::max(raw.cpu_us, sampled.cpu_us);
  raw.maxrss_kb = std::max(raw.maxrss_kb, sampled.maxrss_kb);
  raw.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  drain(p.out, raw.out);
  drain(p.err, raw.err);
  return raw;
}

struct Spawned {
  std::optional<Raw> raw;
  std::string refused;  // why it could not start
};

Spawned spawn(const Launch& l, const std::string& stdin_file) {
  Spawned r;
  Fd in(high(open(stdin_file.empty() ? "/dev/null" : stdin_file.c_str(), O_RDONLY | O_CLOEXEC)));
  if (in.fd < 0) {
    r.refused = fmt::format("cannot open {}: {}", stdin_file, std::strerror(errno));
    return r;
  }
  Pipes p;
  Fd out_w, err_w, info_w, rep_r, rep_w, result_w;
  if (!make_pipe(p.out, out_w) || !make_pipe(p.err, err_w) || !make_pipe(rep_r, rep_w) ||
      (l.sandboxed && (!make_pipe(p.info, info_w) || !make_pipe(p.result, result_w)))) {
    r.refused = fmt::format("cannot create a pipe: {}", std::strerror(errno));
    return r;
  }
  fcntl(rep_r.fd, F_SETFL, 0);  // read blocking: until exec (its end closes) or exec's errno
  std::vector<char*> argv, envp;
  for (const auto& a : l.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : l.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ChildFds f{in.fd, out_w.fd, err_w.fd, info_w.fd, rep_w.fd, result_w.fd};
  pid_t invar = getpid();
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid < 0) {
    r.refused = fmt::format("cannot fork: {}", std::strerror(errno));
    return r;
  }
  if (pid == 0) start_child(l, argv.data(), envp.data(), f, invar);
  setpgid(pid, pid);  // as the child does: whichever runs first
  for (Fd* fd : {&in, &out_w, &err_w, &info_w, &rep_w, &result_w}) fd->reset();
  int exec_errno = 0;
  ssize_t n;
  while ((n = read(rep_r.fd, &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.refused = fmt::format("cannot run {}: {}", l.path, std::strerror(exec_errno));
    return r;
  }
  r.raw = supervise(pid, p, l.limits, start, l.sandboxed);
  return r;
}

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  const char* descr = sigdescr_np(sig);
  return fmt::format("SIG{} ({})", abbrev ? abbrev : std::to_string(sig).c_str(), descr ? descr : "unknown signal");
}

// The end of stderr, then the end of stdout, within `max` bytes in all.
std::string output_tail(const Raw& raw, uint64_t max) {
  std::string err = raw.err.get();
  std::string out = raw.out.get();
  if (err.size() + out.size() <= max) return err + out;
  if (err.size() >= max) return err.substr(err.size() - max);
  return err + out.substr(out.size() - (max - err.size()));
}

// Judges a finished run. Memory is named only when the evidence says so (the
// peak reached 90% of the limit); otherwise the exit or the signal is reported.
void classify(const Raw& raw, const TrialLimits& limits, bool sandboxed, TrialResult& r) {
  r.cpu_ms = raw.cpu_us / 1000;
  r.peak_rss_bytes = static_cast<uint64_t>(raw.maxrss_kb) * 1024;
  r.wall_ms = raw.wall_ms;
  r.output_tail = output_tail(raw, limits.max_output);
  std::string peak = sandboxed ? "peak " + mib(r.peak_rss_bytes) : "peak memory not measured (no sandbox)";
  std::string cost = fmt::format("after {} ms CPU, {}", r.cpu_ms, peak);
  if (raw.timed_out) {
    r.outcome = Outcome::timed_out;
    r.detail = fmt::format("timed out after {} ms (limit {} ms), killed with its process tree; {} ms CPU, {}",
                           r.wall_ms, limits.timeout_ms, r.cpu_ms, peak);
    return;
  }
  if (WIFSIGNALED(raw.status)) {
    r.signal = WTERMSIG(raw.status);
  } else {
    r.exit_code = WEXITSTATUS(raw.status);
    // bwrap reports its command's death by signal N as exit status 128+N (bash's convention).
    if (sandboxed && r.exit_code > 128 && r.exit_code < 128 + 65) r.signal = r.exit_code - 128;
  }
  std::string what = r.signal ? "killed by " + signal_text(r.signal) : fmt::format("exited with status {}", r.exit_code);
  if (r.signal) r.signal_name = std::string("SIG") + (sigabbrev_np(r.signal) ? sigabbrev_np(r.signal) : "?");
  bool over_cpu = limits.cpu_ms > 0 && (r.signal == SIGXCPU || r.cpu_ms > limits.cpu_ms);
  bool over_memory = sandboxed && limits.memory_bytes > 0 && r.peak_rss_bytes * 10 >= limits.memory_bytes * 9;
  if (over_cpu) {
    r.outcome = Outcome::cpu_limit;
    r.detail = fmt::format("CPU limit ({} ms) reached: {} {}", limits.cpu_ms, what, cost);
  } else if ((r.signal || r.exit_code) && over_memory) {
    r.outcome = Outcome::memory_limit;
    r.detail = fmt::format("memory limit ({}) reached: {} {}", mib(limits.memory_bytes), what, cost);
  } else {
    r.outcome = r.signal ? Outcome::signaled : r.exit_code ? Outcome::failed : Outcome::passed;
    r.detail = what + " " + cost;
  }
}

// bwrap's own failure to set up (a path it cannot bind, a command it cannot
// exec) is exit status 1 and a last stderr line "bwrap: ...".
std::optional<std::string> bwrap_failure(const Raw& raw) {
  if (raw.timed_out || !WIFEXITED(raw.status) || WEXITSTATUS(raw.status) != 1) return std::nullopt;
  std::string err = raw.err.get();
  while (!err.empty() && err.back() == '\n') err.pop_back();
  auto line = err.substr(err.rfind('\n') == std::string::npos ? 0 : err.rfind('\n') + 1);
  if (line.rfind("bwrap: ", 0) != 0) return std::nullopt;
  return line;
}

TrialResult refused(std::string why) {
  TrialResult r;
  r.outcome = Outcome::refused;
  r.detail = std::move(why);
  return r;
}

std::optional<std::string> probe(const std::string& path) {
  auto bwrap = find_in_path("bwrap", path);
  if (!bwrap) return "bwrap is not installed (Debian: bubblewrap)";
  Launch l;
  l.path = *bwrap;
  l.args = bwrap_argv(*bwrap, {});
  l.args.push_back("true");
  l.env = {kPath};
  l.sandboxed = true;
  l.limits.timeout_ms = 10'000;
  auto s = spawn(l, "");
  if (!s.raw) return "bwrap cannot run: " + s.refused;
  if (s.raw->timed_out) return "bwrap cannot create namespaces: it did not finish in 10 s";
  if (WIFEXITED(s.raw->status) && WEXITSTATUS(s.raw->status) == 0) return std::nullopt;
  std::string err = s.raw->err.get();
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  for (auto& c : err)
    if (c == '\n') c = ' ';
  return "bwrap cannot create namespaces: " + (err.empty() ? std::string("it failed without a message") : err);
}

TrialResult run_unchecked(const TrialSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) return refused("no command to run");
  if (spec.limits.timeout_ms <= 0) return refused("a trial needs a timeout > 0");
  const bool sandboxed = spec.sandbox == Sandbox::bubblewrap;
  Launch l;
  l.limits = spec.limits;
  l.env = {kPath};
  std::string path = current_path();
  if (sandboxed) {
    if (auto why = sandbox_unavailable()) return refused("the sandbox cannot run: " + *why);
    auto bwrap = find_in_path("bwrap", path);
    if (!bwrap) return refused("the sandbox cannot run: bwrap is not installed (Debian: bubblewrap)");
    std::vector<std::string> binds;
    for (const auto& p : spec.read_only) {
      std::error_code ec;
      auto abs = fs::absolute(p, ec);
      if (ec || !fs::exists(abs, ec)) return refused(fmt::format("{}: no such file to bind into the sandbox", p));
      binds.push_back(abs.lexically_normal().string());
    }
    l.path = *bwrap;
    l.args = bwrap_argv(*bwrap, binds);
    l.args.insert(l.args.end(), spec.argv.begin(), spec.argv.end());
    l.env.insert(l.env.end(), {"HOME=/tmp", "TMPDIR=/tmp"});
    l.sandboxed = true;
  } else {
    auto exe = find_in_path(spec.argv[0], path);
    if (!exe) return refused(fmt::format("{}: command not found in PATH", spec.argv[0]));
    l.path = *exe;
    l.args = spec.argv;
  }
  auto s = spawn(l, spec.stdin_file);
  if (!s.raw) return refused(s.refused);
  if (!s.raw->lost.empty()) return refused(s.raw->lost);
  if (sandboxed) {
    if (auto why = bwrap_failure(*s.raw)) return refused(*why);
  }
  TrialResult r;
  classify(*s.raw, spec.limits, sandboxed, r);
  return r;
}

}  // namespace

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::passed: return "passed";
    case Outcome::failed: return "failed";
    case Outcome::signaled: return "signaled";
    case Outcome::timed_out: return "timed out";
    case Outcome::memory_limit: return "memory limit";
    case Outcome::cpu_limit: return "cpu limit";
    case Outcome::refused: return "refused";
  }
  return "unknown";
}

std::optional<std::string> sandbox_unavailable() {
  static std::mutex mutex;
  static std::map<std::string, std::optional<std::string>> cache;  // by PATH
  std::string path = current_path();
  std::lock_guard lock(mutex);
  auto it = cache.find(path);
  if (it != cache.end()) return it->second;
  auto why = probe(path);
  cache.emplace(path, why);
  return why;
}

TrialResult run(const TrialSpec& spec) {
  try {
    return run_unchecked(spec);
  } catch (const std::exception& e) {
    return refused(std::string("the trial could not run: ") + e.what());
  } catch (...) {
    return refused("the trial could not run");
  }
}

}  // namespace invar::trial
