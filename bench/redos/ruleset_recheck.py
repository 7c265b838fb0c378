#!/usr/bin/env python3
"""recheck 4.5 (bench/peers) on bench/redos/ruleset.json against regex_safe's verdicts (from
bench/regex_ruleset ... VERDICTS_JSON). recheck runs in chunks of 10 patterns (results kept in
OUT as they come: the 16 KB rules take recheck seconds each); prints the agreement and every
disagreement.
  python3 bench/redos/ruleset_recheck.py VERDICTS_JSON [OUT]   (RECHECK=path/to/recheck)"""
import json, os, subprocess, sys
from collections import Counter

here = os.path.dirname(os.path.abspath(__file__))
corpus = json.load(open(os.path.join(here, "ruleset.json")))
verdicts = json.load(open(sys.argv[1]))
out_path = sys.argv[2] if len(sys.argv) > 2 else "/tmp/ruleset_recheck.json"
labels = json.load(open(out_path)) if os.path.exists(out_path) else {}
patterns = [c["pattern"] for c in corpus]
for start in range(0, len(patterns), 10):
    if str(start) in labels:
        continue
    chunk = patterns[start:start + 10]
    run = subprocess.run(["node", "recheck.js"], input=json.dumps(chunk), capture_output=True, text=True, cwd=here)
    try:
        got = json.loads(run.stdout)
    except ValueError:
        got = [{"status": "error"}] * len(chunk)
    for i, lab in enumerate(got):
        labels[str(start + i)] = lab
    json.dump(labels, open(out_path, "w"))
counts, differ = Counter(), []
for k, lab in sorted(labels.items(), key=lambda kv: int(kv[0])):
    i, mine = int(k), verdicts[int(k)]
    counts[(lab["status"], "safe" if mine == "safe" else mine)] += 1
    if (lab["status"] == "vulnerable") != (mine not in ("safe",)) and lab["status"] in ("safe", "vulnerable"):
        differ.append((i, len(patterns[i]), corpus[i]["shape"], mine, lab))
print("%d patterns labelled by recheck; (recheck, invar): %s" % (len(labels), dict(counts)))
for d in differ:
    print("  #%d %d bytes %s: invar %s; recheck %s" % d)
