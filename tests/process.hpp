// Runs the invar CLI as a child process (the gate's tests are about
// processes: exit codes, files on disk, races and crashes).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace test {

// In a forked child: replaces it with `invar ARGS...`.
[[noreturn]] inline void exec_invar(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(INVAR_CLI));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(INVAR_CLI, argv.data());
  _exit(127);
}

struct Run {
  int exit = -1;    // the exit code, or -1 when killed by a signal
  int signal = 0;   // the signal that killed it
  std::string out;  // stdout and stderr, interleaved
};

// Runs `invar ARGS...` with `env` ("NAME=value") added to the environment.
// (run(): the same through a wrapper command, such as unshare, whose argv
// `prefix` ends with the invar binary.)
inline Run run(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
               const std::vector<std::string>& env = {}, unsigned seconds = 0);
inline Run invar(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  return run({}, args, env);
}

// Everything readable from `fd` until its end (then closes it).
inline std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// `seconds` > 0: SIGALRM ends the child then (a hang is a result, not a stuck test).
inline Run run(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
               const std::vector<std::string>& env, unsigned seconds) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    if (seconds) alarm(seconds);  // survives exec
    if (prefix.empty()) exec_invar(args);
    std::vector<char*> argv;
    for (const auto& a : prefix) argv.push_back(const_cast<char*>(a.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  Run r;
  r.out = read_all(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exit = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// `invar ARGS...` started with INVAR_FAULT=`point` and INVAR_FAULT_STOP=1:
// `stopped` once it stopped itself there (false: it ended without reaching
// the point). resume() lets it go on and returns how it ended.
struct Paused {
  pid_t pid = -1;
  int out = -1;  // its stdout and stderr
  bool stopped = false;
  int status = 0;  // how it ended, when it did not stop
  Run resume() {
    if (stopped) kill(pid, SIGCONT);
    Run r;
    r.out = read_all(out);
    if (stopped) waitpid(pid, &status, 0);
    if (WIFEXITED(status)) r.exit = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    return r;
  }
};
// Starts `invar ARGS...` with `env` ("NAME=value") added, its stdout and
// stderr into a pipe; returns its pid and the pipe's reading end.
inline std::pair<pid_t, int> spawn_invar(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  int fds[2];
  if (pipe(fds) != 0) return {-1, -1};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    exec_invar(args);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

inline Paused invar_paused_at(const std::string& point, const std::vector<std::string>& args) {
  auto [pid, out] = spawn_invar(args, {"INVAR_FAULT=" + point, "INVAR_FAULT_STOP=1"});
  if (pid < 0) return {};
  Paused p{pid, out, false, 0};
  if (waitpid(pid, &p.status, WUNTRACED) == pid) p.stopped = WIFSTOPPED(p.status);
  return p;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A loopback port nothing listens on now (the kernel's choice).
inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// A temporary directory removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "invar-test-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

}  // namespace test

namespace test {

// Starts `invar ARGS...` and kills it with SIGKILL after `micros`
// microseconds (if it is still running). Returns how it ended.
inline Run invar_killed_after(const std::vector<std::string>& args, unsigned micros) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    exec_invar(args);
  }
  usleep(micros);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  Run r;
  if (WIFEXITED(status)) r.exit = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace test
