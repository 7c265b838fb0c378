#!/usr/bin/env python3
"""Paired whole-process runs on the NDJSON plans (issue 17): invar in batches
(default threads and --threads 1), invar on the whole file (--stream-from 0),
and a bare simdjson parse_many. Each round runs every command once; ratios to
parse_many per round; medians. Peak RSS and minor faults from wait4.

  bench/ndjson_paired.py ROUNDS [INVAR] [BASELINE_PARSE_MANY]

Needs bench/work/dns-{100000,500000}.ndjson (bench/generate.cpp) and the bench
preset's baseline_parse_many. The contract: the DNS record schema as a root
array schema, each record's targets counted, and unique names."""
import json, os, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rounds = int(sys.argv[1])
invar = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "build/release/invar")
parse_many = sys.argv[3] if len(sys.argv) > 3 else os.path.join(root, "build/bench/bench/baseline_parse_many")
with open(os.path.join(root, "schemas/dns-plan.schema.json")) as f:
    record = json.load(f)["$defs"]["record"]
record["properties"]["name"] = {"type": "string", "minLength": 1, "maxLength": 253, "pattern": "^[A-Za-z0-9.-]+$"}
contract = tempfile.NamedTemporaryFile("w", suffix=".contract.json", delete=False)
json.dump({"contract": "dns-records", "artifact": {"format": "ndjson"}, "invariants": [
    {"id": "records.schema", "schema": "$", "inline": {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "array", "minItems": 1, "items": record}},
    {"id": "records.nonempty", "each": "$[*]", "count": "@.targets[*]", "min": 1},
    {"id": "records.unique-name", "unique": "$[*].name"}]}, contract)
contract.close()


def run(command):
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, usage.ru_minflt


for plan in ("bench/work/dns-100000.ndjson", "bench/work/dns-500000.ndjson"):
    plan = os.path.join(root, plan)
    check = [invar, "check", "--quiet", "--contract", contract.name]
    commands = {
        "parse_many": [parse_many, plan],
        "invar ndjson": check + [plan],
        "invar ndjson -t1": check + ["--threads", "1", plan],
        "invar ndjson whole": check + ["--stream-from", "0", plan],
    }
    results = {name: [] for name in commands}
    for command in commands.values():
        run(command)  # warm-up
    for _ in range(rounds):
        for name, command in commands.items():
            results[name].append(run(command))
    print(os.path.relpath(plan, root))
    for name, runs in results.items():
        ratios = [r[0] / b[0] for r, b in zip(runs, results["parse_many"])]
        print("  %-20s wall median %.3f s (%.3f-%.3f) x parse_many %.2f (%.2f-%.2f) peak RSS %.0f MB faults %d" %
              (name, statistics.median(r[0] for r in runs), min(r[0] for r in runs), max(r[0] for r in runs),
               statistics.median(ratios), min(ratios), max(ratios), statistics.median(r[1] for r in runs),
               statistics.median(r[2] for r in runs)))
os.unlink(contract.name)
