#!/usr/bin/env python3
"""Paired whole-process runs on the DNS plans as block YAML (issue 17): invar
(default threads and --threads 1) against Sourcemeta jsonschema (`validate`
reads YAML; also --fast) and ajv-cli (reads .yaml through js-yaml), schema
only, the DNS plan schema (2020-12). Each round runs every command once;
ratios to invar per round; medians. Peak RSS and minor faults from wait4.

  bench/yaml_paired.py ROUNDS [INVAR] [SOURCEMETA]

Needs bench/work/dns-{100000,500000}.yaml (bench/generate.cpp) and the peers
(npm install in bench/peers)."""
import os, statistics, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rounds = int(sys.argv[1])
invar = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "build/release/invar")
sourcemeta = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
    root, "bench/peers/node_modules/@sourcemeta/jsonschema/build/github-releases/jsonschema-linux-x86_64")
ajv = os.path.join(root, "bench/peers/node_modules/.bin/ajv")
schema = os.path.join(root, "schemas/dns-plan.schema.json")


def run(command):
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed (the plan must be valid): " + " ".join(command))
    return time.perf_counter() - start, usage.ru_maxrss / 1024, usage.ru_minflt


for plan in ("bench/work/dns-100000.yaml", "bench/work/dns-500000.yaml"):
    plan = os.path.join(root, plan)
    commands = {
        "invar yaml": [invar, "check", "--quiet", "--schema", schema, plan],
        "invar yaml -t1": [invar, "check", "--quiet", "--threads", "1", "--schema", schema, plan],
        "sourcemeta": [sourcemeta, "validate", schema, plan],
        "sourcemeta --fast": [sourcemeta, "validate", "--fast", schema, plan],
        "ajv-cli": [ajv, "validate", "--spec=draft2020", "--strict=false", "-c", "ajv-formats", "-s", schema, "-d", plan],
    }
    results = {name: [] for name in commands}
    for command in commands.values():
        run(command)  # warm-up, and every peer must accept the plan
    for _ in range(rounds):
        for name, command in commands.items():
            results[name].append(run(command))
    print(os.path.relpath(plan, root), "(%.1f MB)" % (os.path.getsize(plan) / 1e6))
    for name, runs in results.items():
        ratios = [r[0] / b[0] for r, b in zip(runs, results["invar yaml"])]
        print("  %-18s wall median %.3f s (%.3f-%.3f) x invar %.2f (%.2f-%.2f) peak RSS %.0f MB faults %d" %
              (name, statistics.median(r[0] for r in runs), min(r[0] for r in runs), max(r[0] for r in runs),
               statistics.median(ratios), min(ratios), max(ratios), statistics.median(r[1] for r in runs),
               statistics.median(r[2] for r in runs)))
