#include "rollout/health.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "store/curl_api.hpp"

extern char** environ;

namespace invar {

std::string_view to_string(HealthResult::State state) {
  switch (state) {
    case HealthResult::State::healthy: return "healthy";
    case HealthResult::State::unhealthy: return "unhealthy";
    case HealthResult::State::unknown: return "unknown";
  }
  return "unknown";
}

HealthResult evaluate_health(const HealthCheck& check, const HealthContext& context) {
  try {
    HealthResult r = check.kind == HealthCheck::Kind::exec ? rollout::evaluate_exec(check, context)
                                                           : rollout::evaluate_prometheus(check, context);
    r.id = check.id;
    return r;
  } catch (const std::exception& e) {  // out of memory, mostly: unknown, never healthy
    HealthResult r;
    r.id = check.id;
    r.detail = std::string("the check could not be evaluated: ") + e.what();
    return r;
  } catch (...) {
    HealthResult r;
    r.id = check.id;
    r.detail = "the check could not be evaluated";
    return r;
  }
}

}  // namespace invar

namespace invar::rollout {

using nlohmann::json;
using State = HealthResult::State;

namespace {

HealthResult make(State state, std::string detail, std::optional<double> value = std::nullopt) {
  HealthResult r;
  r.state = state;
  r.detail = std::move(detail);
  r.value = value;
  return r;
}
HealthResult unknown(std::string detail) { return make(State::unknown, std::move(detail)); }

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool safe_name(std::string_view s) {
  for (char c : s)
    if (!name_char(c) && c != '.' && c != '-') return false;
  return true;
}

// "s" escaped for messages (text::printable), cut at `max` bytes.
std::string in_quotes(std::string_view s, size_t max) {
  std::string out = "\"";
  for (char c : text::printable(s.substr(0, max))) out += c == '"' ? std::string("\\\"") : std::string(1, c);
  return out + (s.size() > max ? "...\"" : "\"");
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// A sample value as Prometheus writes it: a decimal, "NaN", "+Inf", "-Inf".
std::optional<double> parse_sample(const std::string& s) {
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string string_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// {name="value", ...}: at most 8 labels, values cut at 64 characters.
std::string labels(const json* metric) {
  if (!metric || !metric->is_object() || metric->empty()) return "";
  std::string out = " {";
  size_t n = 0;
  for (auto it = metric->begin(); it != metric->end(); ++it) {
    if (n++ == 8) {
      out += ", ...";
      break;
    }
    if (n > 1) out += ", ";
    out += text::printable(it.key().substr(0, 64)) + "=";
    out += in_quotes(it->is_string() ? it->get<std::string>() : it->dump(), 64);
  }
  return out + "}";
}

std::string bounds(const HealthCheck& check) {
  if (check.min && check.max) return "[" + number(*check.min) + ", " + number(*check.max) + "]";
  return check.max ? "max " + number(*check.max) : "min " + number(*check.min);
}

struct Sample {
  double value = 0;
  const json* metric = nullptr;
};

// The samples of an instant vector or a scalar; an error text otherwise.
std::string samples_of(const json& data, std::vector<Sample>& out) {
  std::string type = string_at(data, "resultType");
  auto result = data.find("result");
  if (type != "vector" && type != "scalar")
    return "the query returns a " + text::quoted(type, 16) + ": an instant vector or a scalar is needed";
  if (result == data.end() || !result->is_array()) return "the answer has no result";
  auto take = [&](const json& pair, const json* metric) -> std::string {
    if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) return "a sample is not [time, \"value\"]";
    std::string text = pair[1].get<std::string>();
    auto v = parse_sample(text);
    if (!v) return "sample value " + text::quoted(text, 32) + labels(metric) + " is not a number";
    if (std::isnan(*v)) return "sample value NaN" + labels(metric) + " is not a number";
    out.push_back({*v, metric});
    return "";
  };
  if (type == "scalar") return take(*result, nullptr);
  for (const json& s : *result) {
    if (!s.is_object() || !s.contains("value")) return "a sample of the vector has no value";
    auto metric = s.find("metric");
    std::string why = take(s["value"], metric == s.end() ? nullptr : &*metric);
    if (!why.empty()) return why;
  }
  return "";
}

// How far `v` is beyond the bounds (<= 0: within; the larger, the closer to one).
double excess(const HealthCheck& check, double v) {
  double e = -std::numeric_limits<double>::infinity();
  if (check.max) e = std::max(e, v - *check.max);
  if (check.min) e = std::max(e, *check.min - v);
  return std::isnan(e) ? 0 : e;
}

}  // namespace

bool expand_query(std::string_view query, const HealthContext& context, std::string& out) {
  if (!safe_name(context.stage) || !safe_name(context.stream)) return false;
  out.clear();
  for (size_t i = 0; i < query.size();) {
    bool replaced = false;
    for (auto [token, name] : {std::pair<std::string_view, const std::string*>{"$stage", &context.stage},
                               {"$stream", &context.stream}}) {
      size_t end = i + token.size();
      if (query.substr(i, token.size()) == token && (end == query.size() || !name_char(query[end]))) {
        out += *name;
        i = end;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += query[i++];
  }
  return true;
}

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (name_char(static_cast<char>(c)) || c == '-' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

HealthResult judge_prometheus_answer(const HealthCheck& check, long http_status, std::string_view body) {
  json j = json::parse(body, nullptr, false);
  std::string http = "HTTP " + std::to_string(http_status);
  if (j.is_discarded() || !j.is_object())
    return unknown(http_status == 200 ? "the answer is not JSON" : "Prometheus answered " + http);
  if (string_at(j, "status") == "error")
    return unknown("the query failed (" + http + "): " + text::quoted(string_at(j, "errorType"), 32) + ": " +
                   in_quotes(string_at(j, "error"), 300));
  if (http_status != 200) return unknown("Prometheus answered " + http);
  if (string_at(j, "status") != "success") return unknown("the answer's status is not \"success\"");
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) return unknown("the answer has no data");
  std::vector<Sample> samples;
  std::string why = samples_of(*data, samples);
  if (!why.empty()) return unknown(why);
  if (samples.empty()) return unknown("the query returned no samples (no series matched)");
  size_t worst = 0, outside = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (excess(check, samples[i].value) > 0) ++outside;
    if (excess(check, samples[i].value) > excess(check, samples[worst].value)) worst = i;
  }
  const Sample& w = samples[worst];
  std::string seen = number(w.value) + labels(w.metric);
  if (outside) {
    bool above = check.max && w.value > *check.max;
    std::string bound = above ? "max " + number(*check.max) : "min " + number(*check.min);
    std::string count = samples.size() > 1 ? " (" + std::to_string(outside) + " of " +
                                                 std::to_string(samples.size()) + " samples outside)"
                                           : "";
    return make(State::unhealthy, seen + (above ? " is above " : " is below ") + bound + count, w.value);
  }
  if (samples.size() == 1) return make(State::healthy, seen + " is within " + bounds(check), w.value);
  return make(State::healthy,
              std::to_string(samples.size()) + " samples within " + bounds(check) + "; the closest to a bound: " + seen,
              w.value);
}

namespace {

struct Sink {
  std::string body;
  bool over = false;
};

size_t collect(char* data, size_t size, size_t n, void* out) {
  auto* sink = static_cast<Sink*>(out);
  if (sink->body.size() + size * n > kMaxPrometheusAnswer) {
    sink->over = true;
    return 0;  // ends the transfer (CURLE_WRITE_ERROR)
  }
  sink->body.append(data, size * n);
  return size * n;
}

// The base URL (no trailing "/"), or why it cannot be queried.
std::string base_url(const std::string& url, std::string& base) {
  std::string lower = url.substr(0, 8);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.rfind("http://", 0) != 0 && lower.rfind("https://", 0) != 0)
    return "the url must start with http:// or https://";
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f || c == '?' || c == '#') return "the url has a space, a query or a fragment";
  base = url;
  while (base.size() > 8 && base.back() == '/') base.pop_back();
  return "";
}

}  // namespace

HealthResult evaluate_prometheus(const HealthCheck& check, const HealthContext& context) {
  if (!check.min && !check.max) return unknown("the check has neither min nor max");
  std::string base, query, why = base_url(check.url, base);
  if (!why.empty()) return unknown(why);
  if (!expand_query(check.query, context, query))
    return unknown("the stage or stream name has characters other than [A-Za-z0-9._-]");
  if (context.deadline_ms <= 0) return unknown("no time left to query Prometheus");
  long timeout = static_cast<long>(std::min<int64_t>(context.deadline_ms, std::numeric_limits<long>::max()));
  const store::CurlApi* api = store::curl_api(&why);
  if (!api) return unknown(why + ": Prometheus checks need it");
  std::unique_ptr<CURL, void (*)(CURL*)> c(api->easy_init(), api->easy_cleanup);
  if (!c) return unknown("cannot start an HTTP client (libcurl)");
  // Prometheus also ends the query itself at the deadline.
  std::string target = base + "/api/v1/query?query=" + percent_encode(query) + "&timeout=" + std::to_string(timeout) + "ms";
  Sink sink;
  char error[CURL_ERROR_SIZE] = {};
  api->easy_setopt(c.get(), CURLOPT_URL, target.c_str());
  api->easy_setopt(c.get(), CURLOPT_HTTPGET, 1L);
  api->easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, collect);
  api->easy_setopt(c.get(), CURLOPT_WRITEDATA, &sink);
  api->easy_setopt(c.get(), CURLOPT_ERRORBUFFER, error);
  api->easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, timeout);
  api->easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  api->easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = api->easy_perform(c.get());
  if (sink.over) return unknown("the answer is larger than 1 MiB (the limit)");
  if (rc == CURLE_OPERATION_TIMEDOUT) return unknown("no answer within " + text::format_duration(timeout));
  if (rc != CURLE_OK)
    return unknown("Prometheus is unreachable: " + text::printable(*error ? error : api->easy_strerror(rc)));
  long status = 0;
  api->easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
  return judge_prometheus_answer(check, status, sink.body);
}

void OutputTail::append(std::string_view bytes) {
  buffer_.append(bytes.data(), bytes.size());
  if (buffer_.size() > 2 * capacity_) {
    buffer_.erase(0, buffer_.size() - capacity_);
    dropped_ = true;
  }
}

std::string OutputTail::text() const {
  if (buffer_.size() <= capacity_) return buffer_;
  return buffer_.substr(buffer_.size() - capacity_);
}

std::string OutputTail::last_line() const {
  std::string t = text();
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  size_t nl = t.find_last_of('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;  // its stdout and stderr
  int error = 0;
};

// The parent's environment with INVAR_STAGE, INVAR_STREAM and INVAR_DIGEST set.
std::vector<std::string> child_environment(const HealthContext& context) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view v(*e);
    if (v.rfind("INVAR_STAGE=", 0) == 0 || v.rfind("INVAR_STREAM=", 0) == 0 || v.rfind("INVAR_DIGEST=", 0) == 0)
      continue;
    env.emplace_back(v);
  }
  env.push_back("INVAR_STAGE=" + context.stage);
  env.push_back("INVAR_STREAM=" + context.stream);
  env.push_back("INVAR_DIGEST=" + context.digest);
  return env;
}

std::vector<char*> pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Starts argv (PATH searched, no shell) in a process group of its own,
// stdin /dev/null, stdout and stderr into a pipe; default signal handling.
Child spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {-1, -1, errno};  // close-on-exec: no other thread's child inherits it
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);  // a parent ignoring SIGPIPE does not pass it on
  auto args = pointers(argv), envp = pointers(env);
  Child child;
  int rc = posix_spawnp(&child.pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return {-1, -1, rc};
  }
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  child.out = fds[0];
  return child;
}

// Reads what is available (at most 64 KiB: a flood does not hold the
// deadline off); false at the end of the output.
bool drain(int fd, OutputTail& tail) {
  char buf[4096];
  for (size_t total = 0; total < 65536;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      tail.append(std::string_view(buf, static_cast<size_t>(n)));
      total += static_cast<size_t>(n);
    } else if (n == 0) {
      return false;
    } else if (errno != EINTR) {
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }
  return true;
}

// Whether the child has ended, without reaping it: its pid, and so its
// process group's id, stays reserved until waitpid. (An error, such as a
// parent ignoring SIGCHLD, counts as ended.)
bool ended(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno != EINTR;
  return info.si_pid != 0;
}

struct Ending {
  bool timed_out = false;
  bool reaped = false;
  int status = 0;
};

// Collects the child's output until it ends or the time is up; then kills
// its process group (what it left running; all of it at the timeout) and
// reaps it.
Ending supervise(const Child& child, int64_t timeout_ms, OutputTail& tail) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
  // Wakes poll when the child ends; kernels before 5.3 have none: a 10 ms tick then.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child.pid, 0));
  bool open = true;
  Ending e;
  while (!ended(child.pid)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) {
      e.timed_out = true;
      break;
    }
    pollfd fds[2];
    nfds_t n = 0;
    if (open) fds[n++] = {child.out, POLLIN, 0};
    if (pidfd >= 0) fds[n++] = {pidfd, POLLIN, 0};
    int wait = static_cast<int>(std::min<int64_t>(left, pidfd >= 0 ? 1'000'000 : 10));
    if (poll(fds, n, wait) > 0 && open && fds[0].revents) open = drain(child.out, tail);
  }
  if (open) drain(child.out, tail);  // what it wrote before it ended
  close(child.out);
  if (pidfd >= 0) close(pidfd);
  kill(-child.pid, SIGKILL);
  kill(child.pid, SIGKILL);  // had it left its group
  int status = 0;
  pid_t r;
  while ((r = waitpid(child.pid, &status, 0)) < 0 && errno == EINTR) {
  }
  e.reaped = r == child.pid;
  e.status = status;
  return e;
}

std::string signal_name(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  const char* description = sigdescr_np(signal);
  std::string out = abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
  return description ? out + " (" + description + ")" : out;
}

// ": last line" and the output's tail when it has more than that line.
std::string output_of(const OutputTail& tail) {
  std::string last = tail.last_line(), all = tail.text();
  while (!all.empty() && std::isspace(static_cast<unsigned char>(all.back()))) all.pop_back();
  if (last.empty()) return "";
  std::string out = ": " + text::printable(last.substr(0, 300)) + (last.size() > 300 ? "..." : "");
  if (all != last)
    out += "; output" + std::string(tail.truncated() ? " (last 2 KiB)" : "") + ": " + in_quotes(all, kExecOutputTail);
  return out;
}

}  // namespace

HealthResult evaluate_exec(const HealthCheck& check, const HealthContext& context) {
  if (check.argv.empty() || check.argv[0].empty()) return unknown("the check has no command");
  int64_t timeout = std::min(check.timeout_ms, context.deadline_ms);
  if (timeout <= 0) return unknown("no time left to run the command");
  std::string command = in_quotes(check.argv[0], 80);
  Child child = spawn(check.argv, child_environment(context));
  if (child.pid < 0) return unknown("cannot run " + command + ": " + std::system_category().message(child.error));
  OutputTail tail;
  Ending e = supervise(child, timeout, tail);
  if (e.timed_out)
    return unknown(command + " timed out after " + text::format_duration(timeout) + " (killed)" + output_of(tail));
  if (!e.reaped) return unknown(command + ": its exit status is not available (is SIGCHLD ignored?)");
  if (WIFSIGNALED(e.status))
    return unknown(command + " was killed by " + signal_name(WTERMSIG(e.status)) + output_of(tail));
  if (!WIFEXITED(e.status)) return unknown(command + " ended without an exit status");
  int code = WEXITSTATUS(e.status);
  if (code == 0) return make(State::healthy, "exited with status 0", 0);
  return make(State::unhealthy, "exited with status " + std::to_string(code) + output_of(tail), code);
}

}  // namespace invar::rollout
