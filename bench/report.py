#!/usr/bin/python3
"""Markdown tables and the issue's targets from one bench/run.

usage: report.py RESULTS SIZE...   (RESULTS: lines "key<TAB>wall seconds<TAB>peak RSS MB";
wall is "timeout" when a run did not finish). Every ratio compares two
measurements of this one run.
"""
import sys

PEERS = ["ajv-2020", "ajv-draft7", "sourcemeta-fast", "sourcemeta", "cfworker", "python"]
ROWS = ["simdjson", "nlohmann", "invar-contract", "invar-contract-1t", "invar-2020", "invar-2020-1t",
        "invar-draft7"] + PEERS


def load(path):
    wall, rss = {}, {}
    with open(path) as f:
        for line in f:
            key, w, r = line.rstrip("\n").split("\t")
            wall[key] = None if w == "timeout" else float(w)
            rss[key] = None if r in ("-", "") else float(r)
    return wall, rss


def ms(seconds):
    return "timeout" if seconds is None else f"{seconds * 1000:.1f}"


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def main():
    wall, rss = load(sys.argv[1])
    sizes = [int(s) for s in sys.argv[2:]]
    targets = []  # (target, measured, holds)

    for n in sizes:
        print(f"\n## DNS plan, {n} records\n")
        print("| tool | wall ms | x simdjson parse | peak RSS MB | x simdjson RSS |")
        print("|---|---|---|---|---|")
        base_w, base_r = wall.get(f"simdjson/{n}"), rss.get(f"simdjson/{n}")
        for k in ROWS:
            key = f"{k}/{n}"
            if key not in wall:
                continue
            r = rss.get(key)
            print(f"| {k} | {ms(wall[key])} | {ratio(wall[key], base_w)} | "
                  f"{'-' if r is None else f'{r:.0f}'} | {ratio(r, base_r)} |")

        # Schema only: the slower of invar's two drafts against the fastest peer.
        ours = max(w for w in (wall.get(f"invar-2020/{n}"), wall.get(f"invar-draft7/{n}")) if w is not None)
        peers = {p: wall[f"{p}/{n}"] for p in PEERS if wall.get(f"{p}/{n}") is not None}
        fastest = min(peers, key=peers.get)
        targets.append((f"schema only, {n} records: faster than every peer",
                        f"{ms(ours)} ms vs {fastest} {ms(peers[fastest])} ms", ours < peers[fastest]))
        if n >= 100000:
            targets.append((f"schema only, {n} records: >= 3x faster than the fastest peer",
                            f"{peers[fastest] / ours:.2f}x", peers[fastest] / ours >= 3))
        if n == max(sizes) and n >= 500000:
            c = wall[f"invar-contract/{n}"]
            targets.append((f"{n} records + contract: time <= 2.0x bare simdjson parse",
                            f"{ms(c)} vs {ms(base_w)} ms = {c / base_w:.2f}x", c / base_w <= 2.0))
            cr = rss[f"invar-contract/{n}"]
            targets.append((f"{n} records + contract: peak RSS <= 1.25x bare simdjson parse",
                            f"{cr:.0f} vs {base_r:.0f} MB = {cr / base_r:.2f}x", cr / base_r <= 1.25))

    if 100000 in sizes and 500000 in sizes:
        for k in ("invar-contract", "invar-2020"):
            g = wall[f"{k}/500000"] / wall[f"{k}/100000"]
            targets.append((f"linear growth ({k}): time(500k) / time(100k) <= 5.5", f"{g:.2f}", g <= 5.5))

    print("\n## Feature files (bundled contract)\n")
    print("| entries | nlohmann parse ms | simdjson parse ms | invar check ms | x nlohmann |")
    print("|---|---|---|---|---|")
    for n in (60, 10000):
        print(f"| {n} | {ms(wall[f'f-nlohmann/{n}'])} | {ms(wall[f'f-simdjson/{n}'])} | "
              f"{ms(wall[f'f-invar/{n}'])} | {ratio(wall[f'f-invar/{n}'], wall[f'f-nlohmann/{n}'])} |")
    small = wall["f-invar/60"] / wall["f-nlohmann/60"]
    targets.append(("60-entry feature file: <= 1.5x a program that only parses it with nlohmann",
                    f"{ms(wall['f-invar/60'])} vs {ms(wall['f-nlohmann/60'])} ms = {small:.2f}x", small <= 1.5))

    print("\n## Linear-time matching: 1 MB of 'a' then '!' (10 s timeout)\n")
    print("| tool | ^a+$ ms | ^(a+)+$ ms | ratio |")
    print("|---|---|---|---|")
    for t in ("invar", "ajv", "python"):
        lin, nest = wall.get(f"redos-{t}-linear"), wall.get(f"redos-{t}-nested")
        # A run killed by `timeout 10` counts as 10 s.
        shown = ratio(nest if nest is not None else 10.0, lin)
        print(f"| {t} | {ms(lin)} | {ms(nest)} | {shown} |")
    r = wall["redos-invar-nested"] / wall["redos-invar-linear"]
    targets.append(("^(a+)+$ costs <= 2x ^a+$ on 1 MB", f"{r:.2f}x", r <= 2))

    print("\n## Targets (issue 6)\n")
    print("| target | measured | holds |")
    print("|---|---|---|")
    for name, measured, holds in targets:
        print(f"| {name} | {measured} | {'yes' if holds else 'NO'} |")


if __name__ == "__main__":
    main()
