#!/usr/bin/env python3
"""Issue 17's large-file run: a 2 GB NDJSON file of DNS records (about 2.2M
records of 30-59 targets each, ~0.9 KB: the default budgets allow 10M selector
matches and 128 MiB of invariant state, so a file of 2 GB in 150-byte records
would need them raised), generated
here (bench/work/dns-2gb.ndjson) and removed after, checked in batches with a
streaming contract (the record schema, each record's targets counted, unique
names; --max-artifact-bytes and --max-nodes raised for its 2 GB and ~150M
values). Prints wall time, peak RSS and minor faults for each thread setting.

  bench/ndjson_2gb.py [INVAR] [--keep]"""
import json, os, random, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = [a for a in sys.argv[1:] if a != "--keep"]
invar = args[0] if args else os.path.join(root, "build/release/invar")
path = os.path.join(root, "bench/work/dns-2gb.ndjson")
target = 2 * 10**9

rng = random.Random(20251118)
if not os.path.exists(path) or os.path.getsize(path) < target:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as out:
        written, i = 0, 0
        while written < target:
            chunk = []
            for _ in range(10000):
                targets = ", ".join('"10.%d.%d.%d"' % (rng.randrange(256), rng.randrange(256), rng.randrange(256))
                                    for _ in range(30 + rng.randrange(30)))
                chunk.append('{"name": "r%09d.ddb.us-east-1.amazonaws.com", "type": "A", "ttl": %d, "plan": "plan-%d", '
                             '"weight": %d, "targets": [%s]}\n' % (i, 5 + rng.randrange(55), 1187 - rng.randrange(4),
                                                                   rng.randrange(100), targets))
                i += 1
            text = "".join(chunk)
            out.write(text)
            written += len(text)
print("%s: %.2f GB" % (os.path.relpath(path, root), os.path.getsize(path) / 1e9))

with open(os.path.join(root, "schemas/dns-plan.schema.json")) as f:
    record = json.load(f)["$defs"]["record"]
record["properties"]["name"] = {"type": "string", "minLength": 1, "maxLength": 253, "pattern": "^[A-Za-z0-9.-]+$"}
contract = tempfile.NamedTemporaryFile("w", suffix=".contract.json", delete=False)
json.dump({"contract": "dns-records", "artifact": {"format": "ndjson"}, "invariants": [
    {"id": "records.schema", "schema": "$[*]", "inline": dict(record, **{"$schema": "https://json-schema.org/draft/2020-12/schema"})},
    {"id": "records.nonempty", "each": "$[*]", "count": "@.targets[*]", "min": 1},
    {"id": "records.unique-name", "unique": "$[*].name"}]}, contract)
contract.close()
try:
    for threads in ([], ["--threads", "1"]):
        command = [invar, "check", "--quiet", "--stats", "--max-artifact-bytes", "4GiB", "--max-nodes", "400000000", "--contract", contract.name] + threads + [path]
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        out, err = child.stdout.read(), child.stderr.read()
        print("  %-12s exit %d wall %.1f s peak RSS %.0f MB faults %d | %s" % (
            " ".join(threads) or "default", os.waitstatus_to_exitcode(status), time.perf_counter() - start,
            usage.ru_maxrss / 1024, usage.ru_minflt, out.strip().splitlines()[-1] if out.strip() else err.strip()))
        for line in err.splitlines():
            if "batches" in line or "peak" in line:
                print("      " + line.strip())
finally:
    os.unlink(contract.name)
    if "--keep" not in sys.argv:
        os.unlink(path)
