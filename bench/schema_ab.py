#!/usr/bin/env python3
"""Schema-only checks, two invar binaries paired (A B A B ...): did a change
to the schema engine make the data plane slower? Each round runs A then B
(then B then A in the next round, so neither always runs first) on each
workload; per workload and thread setting it prints the median wall of each,
the median of the per-pair ratios B/A, user+system CPU, peak RSS and minor
page faults (wait4).

  bench/schema_ab.py A B ROUNDS [WORKDIR]

A and B are invar binaries (for instance the previous commit's, built in a
worktree, and build/release/invar). WORKDIR holds the DNS plans that
build/bench/bench/invar_generate writes (bench/run does; default
bench/work). Workloads: the DNS plan schema on the 1k, 100k and 500k plans
(a pattern on every record name), and the same with --assert-format."""
import os, statistics, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
a_bin, b_bin, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
work = sys.argv[4] if len(sys.argv) > 4 else os.path.join(root, "bench/work")
schema = os.path.join(root, "schemas/dns-plan.schema.json")
workloads = []
for size in ("1000", "100000", "500000"):
    plan = os.path.join(work, "dns-%s.json" % size)
    if not os.path.exists(plan):
        continue
    for threads in ("1", "0"):
        workloads.append(("%s records, --threads %s" % (size, threads),
                          ["check", "--quiet", "--threads", threads, "--schema", schema, plan]))
    workloads.append(("%s records, --assert-format" % size,
                      ["check", "--quiet", "--assert-format", "--schema", schema, plan]))
if not workloads:
    sys.exit("bench/schema_ab.py: no plans in %s (run build/bench/bench/invar_generate %s)" % (work, work))


def run(binary, args):
    start = time.perf_counter()
    child = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit("bench/schema_ab.py: %s %s exited %d" % (binary, " ".join(args), os.waitstatus_to_exitcode(status)))
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, usage.ru_minflt


print("| workload | A wall | B wall | B/A (median of pairs, min-max) | A CPU | B CPU | A / B peak RSS | A / B minor faults |")
print("|---|---|---|---|---|---|---|---|")
for name, args in workloads:
    run(a_bin, args), run(b_bin, args)  # warm-up: page cache, binaries loaded
    a_runs, b_runs = [], []
    for i in range(rounds):
        if i % 2 == 0:
            a_runs.append(run(a_bin, args)); b_runs.append(run(b_bin, args))
        else:
            b_runs.append(run(b_bin, args)); a_runs.append(run(a_bin, args))
    ratios = [b[0] / a[0] for a, b in zip(a_runs, b_runs)]
    med = lambda runs, k: statistics.median(r[k] for r in runs)
    print("| %s | %.1f ms | %.1f ms | %.3f (%.2f-%.2f) | %.1f ms | %.1f ms | %.0f / %.0f MB | %d / %d |" % (
        name, med(a_runs, 0) * 1000, med(b_runs, 0) * 1000, statistics.median(ratios), min(ratios), max(ratios),
        med(a_runs, 1) * 1000, med(b_runs, 1) * 1000, med(a_runs, 2), med(b_runs, 2), med(a_runs, 3), med(b_runs, 3)))
