#!/usr/bin/env python3
"""Paired whole-process runs on one DNS plan: each round runs every command
once, in the same order, so each ratio compares runs made side by side.
Prints per command: median wall, its median ratio to the bare simdjson parse
of the same round, median peak RSS and median minor page faults (wait4).

  bench/paired.py PLAN ROUNDS [INVAR] [BASELINE_SIMDJSON] [SOURCEMETA]

Defaults: build/release/invar, build/bench/bench/baseline_simdjson, and
Sourcemeta's native binary from bench/peers/node_modules (bench/run installs
it). The contracts are the bundled DNS contract, the same plus `unique` on
each record's name (written to a temporary file), and the schema alone. The
"whole" rows turn the batched reading off (--stream-from 0): the same check
on the whole document, for the memory and time the batches save or cost."""
import json, os, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
plan, rounds = sys.argv[1], int(sys.argv[2])
invar = sys.argv[3] if len(sys.argv) > 3 else os.path.join(root, "build/release/invar")
parse = sys.argv[4] if len(sys.argv) > 4 else os.path.join(root, "build/bench/bench/baseline_simdjson")
sourcemeta = sys.argv[5] if len(sys.argv) > 5 else os.path.join(
    root, "bench/peers/node_modules/@sourcemeta/jsonschema/build/github-releases/jsonschema-linux-x86_64")
now = "2025-10-20T06:45:00Z"
schema = os.path.join(root, "schemas/dns-plan.schema.json")
contract = os.path.join(root, "rules/dns-plan.contract.json")
with open(contract) as f:
    c = json.load(f)
c.pop("$schema", None)
c["artifact"]["schema"] = schema
c["invariants"].append({"id": "records.unique-name", "unique": "$.records[*].name"})
unique = tempfile.NamedTemporaryFile("w", suffix=".contract.json", delete=False)
json.dump(c, unique)
unique.close()

commands = {
    "simdjson parse": [parse, plan],
    "invar contract": [invar, "check", "--quiet", "--now", now, "--contract", contract, plan],
    "invar contract -t1": [invar, "check", "--quiet", "--threads", "1", "--now", now, "--contract", contract, plan],
    "invar +unique": [invar, "check", "--quiet", "--now", now, "--contract", unique.name, plan],
    "invar +unique -t1": [invar, "check", "--quiet", "--threads", "1", "--now", now, "--contract", unique.name, plan],
    "invar +unique whole": [invar, "check", "--quiet", "--stream-from", "0", "--now", now, "--contract", unique.name, plan],
    "invar +unique whole -t1": [invar, "check", "--quiet", "--stream-from", "0", "--threads", "1", "--now", now,
                                "--contract", unique.name, plan],
    "invar schema": [invar, "check", "--quiet", "--schema", schema, plan],
    "sourcemeta --fast": [sourcemeta, "validate", "--fast", schema, plan],
}


def run(command):
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, usage.ru_minflt


results = {name: [] for name in commands}
for command in commands.values():
    run(command)  # warm-up: the file in the page cache, the binaries loaded once
for _ in range(rounds):
    for name, command in commands.items():
        results[name].append(run(command))
os.unlink(unique.name)
base = results["simdjson parse"]
for name, runs in results.items():
    walls = [r[0] for r in runs]
    ratios = [r[0] / b[0] for r, b in zip(runs, base)]
    print("%-24s wall median %.3f s (%.3f-%.3f)  x bare parse %.2f  peak RSS %.0f MB  minor faults %d" %
          (name, statistics.median(walls), min(walls), max(walls), statistics.median(ratios),
           statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)))
# Batches against the whole document, pair by pair.
for batched, whole in (("invar +unique", "invar +unique whole"), ("invar +unique -t1", "invar +unique whole -t1")):
    ratios = [a[0] / b[0] for a, b in zip(results[batched], results[whole])]
    rss = [a[1] / b[1] for a, b in zip(results[batched], results[whole])]
    print("%-24s x whole document: wall %.2f (%.2f-%.2f), peak RSS %.2f" %
          (batched, statistics.median(ratios), min(ratios), max(ratios), statistics.median(rss)))
# What `unique` adds, pair by pair (the same round's run without it).
for with_unique, without in (("invar +unique", "invar contract"), ("invar +unique -t1", "invar contract -t1")):
    added = [(a[0] - b[0]) * 1000 for a, b in zip(results[with_unique], results[without])]
    print("%-24s adds %.0f ms (median of the pairs; %.0f to %.0f)" %
          (with_unique, statistics.median(added), min(added), max(added)))
