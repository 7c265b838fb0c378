#!/usr/bin/env python3
"""The gate against check, paired (issue 16's gate target): each round
seeds a fresh directory stream with PLAN as its LKG, then runs, side by
side, `invar gate` of the next generation of PLAN (an accept: stored,
promoted and published) and `invar check --baseline PLAN` of the same
candidate. Prints median wall, the median gate/check ratio of the pairs,
median peak RSS and minor faults, and the stored measures' size.

  bench/gate_paired.py PLAN ROUNDS [INVAR]

PLAN is a DNS plan of bench/generate (its "generation" is bumped by one for
the candidate, written next to it and removed after)."""
import os, re, shutil, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
plan, rounds = sys.argv[1], int(sys.argv[2])
invar = sys.argv[3] if len(sys.argv) > 3 else os.path.join(root, "build/release/invar")
now = "2025-10-20T06:45:00Z"
contract = os.path.join(root, "rules/dns-plan.contract.json")
work = tempfile.mkdtemp(prefix="invar-gate-bench-")
with open(plan) as f:
    text = f.read()
candidate = os.path.join(work, "candidate.json")
with open(candidate, "w") as f:
    f.write(re.sub(r'"generation": (\d+)', lambda m: '"generation": %d' % (int(m.group(1)) + 1), text, count=1))
del text
state, out = os.path.join(work, "state"), os.path.join(work, "published.json")


def run(command):
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, usage.ru_minflt, os.waitstatus_to_exitcode(status)


def seed():
    shutil.rmtree(state, ignore_errors=True)
    subprocess.run([invar, "init", "--contract", contract, "--state", state, "--stream", "s", "--reason", "bench",
                    "--now", now, plan], check=True, stdout=subprocess.DEVNULL)


gate = [invar, "gate", "--quiet", "--contract", contract, "--state", state, "--stream", "s", "--now", now, "--out", out,
        candidate]
check = [invar, "check", "--quiet", "--contract", contract, "--baseline", plan, "--now", now, candidate]
results = {"invar gate": [], "invar check --baseline": []}
seed()
run(gate)  # warm-up: the files in the page cache
run(check)
for _ in range(rounds):
    seed()
    results["invar gate"].append(run(gate))
    results["invar check --baseline"].append(run(check))
    for name, runs in results.items():
        if runs[-1][3] != 0:
            sys.exit("%s exited %d" % (name, runs[-1][3]))
measures = [os.path.getsize(os.path.join(state, "streams/s/objects", n))
            for n in os.listdir(os.path.join(state, "streams/s/objects")) if n.endswith(".measures.json")]
shutil.rmtree(work)
base = results["invar check --baseline"]
for name, runs in results.items():
    walls = [r[0] for r in runs]
    ratios = [r[0] / b[0] for r, b in zip(runs, base)]
    rss = [r[1] / b[1] for r, b in zip(runs, base)]
    print("%-24s wall median %.3f s (%.3f-%.3f)  x check %.2f  peak RSS %.0f MB (x check %.2f)  minor faults %d" %
          (name, statistics.median(walls), min(walls), max(walls), statistics.median(ratios),
           statistics.median(r[1] for r in runs), statistics.median(rss), statistics.median(r[2] for r in runs)))
print("stored measures: %d bytes, %.1f%% of the artifact's %d" %
      (max(measures), 100.0 * max(measures) / os.path.getsize(plan), os.path.getsize(plan)))
