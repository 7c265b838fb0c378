#include "trial/trial.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <system_error>
#include <thread>
#include <filesystem>

#include <fmt/format.h>

#include "common/text.hpp"
#include "engine/evaluate.hpp"
#include "engine/plan.hpp"
#include "invariants/invariant.hpp"
#include "report/escape.hpp"

namespace invar::trial {

namespace fs = std::filesystem;

namespace {

constexpr size_t kShownOutput = 600;  // bytes of the consumer's output a violation quotes (its end)

// A private directory (0700) holding the files a trial's command reads,
// removed with everything in it.
class Scratch {
 public:
  Scratch() {
    std::string tmpl = (fs::temp_directory_path() / "invar-trial-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) dir_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  bool ok() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }

  // Writes `bytes` to `name` (0400); its path, or "" when it cannot.
  std::string write(const std::string& name, std::string_view bytes) {
    std::string path = dir_ + "/" + name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
    if (fd < 0) return "";
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    return done == bytes.size() ? path : "";
  }

 private:
  std::string dir_;
};

std::string substitute(const std::string& arg, const std::string& artifact, const std::string& baseline,
                       const std::string& stream) {
  std::string out;
  for (size_t i = 0; i < arg.size();) {
    auto take = [&](std::string_view key, const std::string& value) {
      if (arg.compare(i, key.size(), key) != 0) return false;
      out += value;
      i += key.size();
      return true;
    };
    if (take("{artifact}", artifact) || take("{baseline}", baseline) || take("{stream}", stream)) continue;
    out += arg[i++];
  }
  return out;
}

// The command for the file at `artifact` (the baseline's path is "" when
// there is none), with what it may read bound read-only.
TrialSpec spec_for(const Definition& def, const std::string& dir, const std::string& artifact,
                   const std::string& baseline, const std::string& stream) {
  TrialSpec spec;
  for (const auto& arg : def.argv) spec.argv.push_back(substitute(arg, artifact, baseline, stream));
  spec.argv.insert(spec.argv.end(), def.inputs.begin(), def.inputs.end());
  spec.read_only.push_back(dir);
  if (def.argv[0].find('/') != std::string::npos) spec.read_only.push_back(def.argv[0]);
  spec.read_only.insert(spec.read_only.end(), def.inputs.begin(), def.inputs.end());
  spec.sandbox = def.sandbox;
  spec.limits = def.limits;
  return spec;
}

std::string cost(const TrialResult& r) {
  if (r.peak_rss_bytes == 0) return fmt::format("{} ms CPU; peak memory not measured (no sandbox)", r.cpu_ms);
  return fmt::format("{} ms CPU, peak {:.1f} MiB", r.cpu_ms, static_cast<double>(r.peak_rss_bytes) / (1 << 20));
}

void add_violation(const invariants::Invariant& inv, const std::string& message, const std::string& expected,
                   const std::string& actual, std::vector<Violation>& report) {
  Violation v;
  v.invariant = inv.id;
  v.kind = "trial";
  v.family = "trial";
  v.severity = inv.severity;
  v.message = message;
  v.expected = expected;
  v.actual = actual;
  v.why = inv.why;
  report.push_back(std::move(v));
}

// The end of the consumer's output, bounded and printable.
std::string output_of(const TrialResult& r) {
  std::string tail = r.output_tail.size() > kShownOutput ? r.output_tail.substr(r.output_tail.size() - kShownOutput)
                                                         : r.output_tail;
  return text::printable(tail);
}

// Compares the candidate's cost with the baseline's, by the definition's ratios.
void compare(const invariants::Invariant& inv, const TrialResult& candidate, const TrialResult& baseline,
             std::vector<Violation>& report, InvariantResult& result) {
  const Definition& def = *inv.trial;
  auto check = [&](const char* what, std::optional<double> ratio, double mine, double theirs, double floor,
                   const std::string& unit) {
    if (!ratio) return;
    double allowed = *ratio * std::max(theirs, floor);
    if (mine <= allowed) return;
    ++result.violations;
    add_violation(inv,
                  fmt::format("the consumer's {} on the candidate is {:.0f}{}, {:.1f}x the baseline's {:.0f}{} (at most "
                              "{}x allowed)",
                              what, mine, unit, mine / std::max(theirs, floor), theirs, unit, *ratio),
                  fmt::format("at most {}x the baseline's {} (floor {:.0f}{})", *ratio, what, floor, unit),
                  fmt::format("{:.0f}{}", mine, unit), report);
  };
  check("CPU time", def.compare_cpu, static_cast<double>(candidate.cpu_ms), static_cast<double>(baseline.cpu_ms),
        static_cast<double>(kCpuFloorMs), " ms");
  if (def.compare_memory && (candidate.peak_rss_bytes == 0 || baseline.peak_rss_bytes == 0)) {
    result.note += "; peak memory is not measured without the sandbox: not compared";
    return;
  }
  check("peak memory", def.compare_memory, static_cast<double>(candidate.peak_rss_bytes) / (1 << 20),
        static_cast<double>(baseline.peak_rss_bytes) / (1 << 20), static_cast<double>(kMemoryFloorBytes) / (1 << 20),
        " MiB");
}

// One trial invariant: the candidate, then (to compare) the baseline;
// `left_ms`: what is left of the trials' total time.
void run_one(const invariants::Invariant& inv, std::string_view bytes, const Context& context, int64_t left_ms,
             std::vector<Violation>& report, InvariantResult& result) {
  Definition def = *inv.trial;
  if (left_ms <= 0) {
    result.outcome = Outcome::fail;
    result.violations = 1;
    add_violation(inv, "the trial was not run: the trials' total time (" + text::format_duration(context.total_ms) +
                           ") was used up",
                  "a trial that ran", "not run", report);
    return;
  }
  def.limits.timeout_ms = std::min(def.limits.timeout_ms, left_ms);
  Scratch scratch;
  std::string artifact = scratch.ok() ? scratch.write("candidate" + context.extension, bytes) : "";
  bool compares = def.compare_cpu || def.compare_memory;
  std::string baseline = compares && context.baseline && scratch.ok()
                             ? scratch.write("baseline" + context.extension, *context.baseline)
                             : "";
  result.outcome = Outcome::fail;
  result.violations = 1;
  if (artifact.empty()) {
    add_violation(inv, "the trial could not run: its candidate file could not be written", "a trial that ran",
                  "no scratch file", report);
    return;
  }
  TrialResult mine = run(spec_for(def, scratch.dir(), artifact, baseline, context.stream));
  if (mine.outcome != TrialResult::Outcome::passed) {
    std::string out = output_of(mine);
    add_violation(inv, "the consumer " + text::quoted(fs::path(def.argv[0]).filename().string()) + " " + mine.detail +
                           (out.empty() ? "" : "; its output ends: " + out),
                  "exit status 0", outcome_name(mine.outcome), report);
    return;
  }
  result.violations = 0;
  result.note = "the consumer accepted it (" + cost(mine) + ")";
  if (compares && baseline.empty()) {
    result.note += "; no baseline to compare its cost with";
  } else if (compares) {
    TrialResult theirs = run(spec_for(def, scratch.dir(), baseline, baseline, context.stream));
    if (theirs.outcome != TrialResult::Outcome::passed)
      result.note += "; the baseline's run did not pass (" + theirs.detail + "): nothing to compare with";
    else
      compare(inv, mine, theirs, report, result);
    result.note += "; the baseline: " + cost(theirs);
  }
  result.outcome = result.violations ? Outcome::fail : Outcome::pass;
}

}  // namespace

std::string trial_extension(ArtifactFormat format) {
  switch (format) {
    case ArtifactFormat::ndjson: return ".ndjson";
    case ArtifactFormat::yaml: return ".yaml";
    default: return ".json";
  }
}

void run_trials(const Plan& plan, std::string_view bytes, const Context& context, Report& report) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < plan.invariants.size(); ++i) {
    if (plan.invariants[i].kind != invariants::Kind::trial || !context.allowed) continue;  // skipped, as judge() left it
    if (report.verdict != Verdict::accept) report.invariants[i].note = "not run: the other invariants rejected the candidate";
    else todo.push_back(i);
  }
  if (todo.empty()) return;
  // At most `jobs` at once, each writing only its own slot; the violations
  // are added in the contract's order.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(context.total_ms);
  std::vector<std::vector<Violation>> found(todo.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t t; (t = next++) < todo.size();) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      run_one(plan.invariants[todo[t]], bytes, context, left.count(), found[t], report.invariants[todo[t]]);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < std::min<size_t>(std::max(context.jobs, 1u), todo.size()); ++j) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // fewer at once
    }
  }
  work();
  for (auto& t : threads) t.join();
  for (auto& f : found) std::move(f.begin(), f.end(), std::back_inserter(report.violations));
  engine::finish(plan, report);
}

}  // namespace invar::trial
