#!/usr/bin/env python3
"""regex_safe (consumer "backtracking") against recheck 4.5 on bench/redos/corpus.json
(issue 18): recheck labels each pattern (node, bench/peers); invar judges them all in one
check (a contract with regex_safe over an array of the patterns). Prints the agreement and
every disagreement.

  python3 bench/redos/differential.py [INVAR]"""
import json, os, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
invar = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build/release/invar")
corpus = json.load(open(os.path.join(here, "corpus.json")))
patterns = [c["pattern"] for c in corpus]

labels = json.loads(subprocess.run(["node", os.path.join(here, "recheck.js")], input=json.dumps(patterns),
                                   capture_output=True, text=True, check=True, cwd=here).stdout)

with tempfile.TemporaryDirectory() as tmp:
    artifact = os.path.join(tmp, "patterns.json")
    json.dump({"p": patterns}, open(artifact, "w"))
    contract = os.path.join(tmp, "c.json")
    json.dump({"contract": "redos", "invariants": [
        {"id": "re2", "regex_safe": "$.p[*]", "consumer": "re2"},
        {"id": "bt", "regex_safe": "$.p[*]", "consumer": "backtracking"}]}, open(contract, "w"))
    run = subprocess.run([invar, "check", "--format", "json", "--contract", contract, artifact],
                         capture_output=True, text=True)
    report = json.loads(run.stdout)
    report = report[0] if isinstance(report, list) else report
    reports = report.get("reports", [report])[0] if "reports" in report else report

re2_bad, flagged = set(), {}
for v in reports["violations"]:
    i = int(v["pointer"].split("/")[-1])
    if v["invariant"] == "re2":
        re2_bad.add(i)
    elif v["invariant"] == "bt":
        flagged[i] = v["actual"]  # "exponential", "polynomial, degree N" or "unproven"

rows = {"tp": [], "fn": [], "fp": [], "tn": []}
skipped = []
for i, (p, lab) in enumerate(zip(patterns, labels)):
    if i in re2_bad or lab["status"] not in ("safe", "vulnerable"):
        skipped.append((p, "not RE2" if i in re2_bad else "recheck: " + lab["status"]))
        continue
    vulnerable, f = lab["status"] == "vulnerable", i in flagged
    rows[("t" if vulnerable == f else "f") + ("p" if f else "n")].append((p, lab, flagged.get(i)))
vul = len(rows["tp"]) + len(rows["fn"])
safe = len(rows["tn"]) + len(rows["fp"])
print("corpus: %d patterns; judged %d (%d vulnerable and %d safe by recheck), skipped %d" % (
    len(patterns), vul + safe, vul, safe, len(skipped)))
print("recall: %d of %d vulnerable flagged (%.1f%%); false positives: %d of %d safe (%.1f%%); agreement %.1f%%" % (
    len(rows["tp"]), vul, 100.0 * len(rows["tp"]) / max(vul, 1), len(rows["fp"]), safe,
    100.0 * len(rows["fp"]) / max(safe, 1), 100.0 * (len(rows["tp"]) + len(rows["tn"])) / max(vul + safe, 1)))
sources = [c.get("source", "?") for c in corpus]
for source in sorted(set(sources)):
    mine = {k: [r for r in v if sources[patterns.index(r[0])] == source] for k, v in rows.items()}
    v_, s_ = len(mine["tp"]) + len(mine["fn"]), len(mine["tn"]) + len(mine["fp"])
    print("  %-10s recall %d of %d, false positives %d of %d" % (source, len(mine["tp"]), v_, len(mine["fp"]), s_))


def recheck_says(lab):
    return "exponential" if lab["complexity"] == "exponential" else "polynomial, degree %s" % lab["degree"]


same = [r for r in rows["tp"] if r[2] == recheck_says(r[1])]
print("complexity: %d of %d flagged vulnerable patterns have recheck's complexity (and degree)" % (
    len(same), len(rows["tp"])))
for p, lab, mine in rows["tp"]:
    if mine != recheck_says(lab):
        print("  %-50s invar: %s; recheck: %s" % (p, mine, recheck_says(lab)))
for name, title in (("fn", "missed (recheck: vulnerable)"), ("fp", "flagged, recheck: safe")):
    print("\n%s: %d" % (title, len(rows[name])))
    for p, lab, why in rows[name]:
        print("  %-50s recheck: %s%s; invar: %s" % (p, lab["complexity"] or "", " degree %s" % lab["degree"] if lab["degree"] else "", why))
print("\nskipped: %d" % len(skipped))
for p, why in skipped:
    print("  %-50s %s" % (p, why))
