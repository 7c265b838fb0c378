#!/usr/bin/env python3
"""A generated WAF-style rule set for regex_safe at rule-set scale (issue 34):
patterns shaped like those of OWASP-CRS-like rule sets (long alternations of
keywords factored into tries as regex-assembly tools emit them,
(?i), \\b, nested and negated classes, optional and quantified groups,
bounded repeats, anchors), from about 100 bytes up to 16 KB, plus a share of
genuinely vulnerable ones (a nested quantifier or an overlapping alternation
under a loop, placed next to a big trie) so that refutation is exercised.
The words are made up from syllables here; no rule set's text is copied.
Deterministic (seeded). Writes bench/redos/ruleset.json: a list of
{"pattern", "shape", "intent"} where intent is "safe" or "vulnerable" by
construction ("either" where the shape's verdict is not known in advance).

  python3 bench/redos/ruleset.py [COUNT]"""
import json, os, random, sys

rng = random.Random(34)
SYLLABLES = ["al", "ber", "cal", "do", "ex", "fi", "gra", "hu", "in", "jo", "ka", "lo", "me", "nu", "op", "pre",
             "qu", "ra", "sel", "tor", "un", "ver", "wa", "xy", "ze", "ch", "st", "tr", "ion", "ent", "ate", "ing"]
SEPARATORS = ["", "", "", "", "_", ".", "-", "/", "$"]


def word():
    w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.15:
        w += rng.choice(SEPARATORS) + rng.choice(SYLLABLES)
    return w


def escape(c):
    return "\\" + c if c in ".$/-|()[]{}*+?^\\" else c


def trie(words):
    """The alternation of `words` factored on common prefixes:
    (?:a(?:bc|d(?:e|f))|...), a word that prefixes others as an optional tail."""
    root = {}
    for w in words:
        node = root
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def emit(node):
        end = "" in node
        branches = []
        for c in sorted(k for k in node if k):
            child = node[c]
            # collapse single-child chains into one literal run
            run = escape(c)
            while len(child) == 1 and "" not in child:
                (c2, child), = child.items()
                run += escape(c2)
            branches.append(run + emit(child))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if len(branches) == 1 and len(body) > 1 and not body.startswith("(?:"):
            body = "(?:" + body + ")"
        return body + "?" if end else body

    return emit(root)


def words_for(size):
    """A trie of roughly `size` bytes."""
    out = set()
    while True:  # batches of a quarter more: a trie's size is measured a few times only
        for _ in range(max(8, len(out) // 4)):
            out.add(word())
        if len(trie(sorted(out))) >= size:
            return sorted(out)


SPACE = r"[\s\x0b]"
CLASSES = [r"[^\w\s]", r"[a-z0-9_\-\.]", r"[[:alpha:]\d_]", r"[^\x00-\x1f\x7f]", r"[\"'`]", r"[^\"'`\\]",
           r"[\(\)\[\]\{\}]", r"[^\s\(\)]"]

# Shapes: (name, intent, template with {T} for the trie, the trie's share of the size).
SAFE = [
    ("word-boundary trie", r"(?i)\b(?:{T})\b"),
    ("call", r"(?i)(?:^|[^a-z0-9_])(?:{T})" + SPACE + r"*\("),
    ("quoted keyword", r"(?i)[\"'`;]\s*(?:{T})\b"),
    ("keyword then bounded args", r"(?i)\b(?:{T})" + SPACE + r"*[=\(][^\)]{0,32}\)"),
    ("path segment", r"(?i)(?:^|[/\\])(?:{T})(?:[/\\]|$)"),
    ("file extension", r"(?i)\.(?:{T})$"),
    ("anchored header", r"(?i)^(?:{T})$"),
    ("optional group", r"(?i)\b(?:{T})(?:\s*,\s*[a-z_]{1,16})?\s*="),
    ("nested classes", r"(?i)(?:{T})[^\w\s]{1,4}[[:alpha:]\d_]"),
    ("two tries", r"(?i)\b(?:{T})\s+(?:{U})\b"),
    ("quantified group", r"(?i)^(?:[a-z0-9_\-]{1,24}=[^&]{0,32}&){0,4}(?:{T})="),
    ("anchored prefix loop", r"^[^?#]*\.(?:{T})$"),
    ("list of keywords", r"(?i)^(?:{T})(?:\s*,\s*(?:{U}))*$"),
]
VULNERABLE = [
    ("nested quantifier after trie", r"(?i)\b(?:{T})\s*(?:[a-z]+\s*)*="),
    ("overlapping alternation under star", r"(?i)(?:{T}|[a-z])+;"),
    ("overlapping classes under plus", r"(?i)(?:{T})(?:\w+|[a-z0-9]+)+!"),
    ("loop before trie, unanchored", r"(?i)\s*(?:{T})\s*\("),
    ("two loops around trie", r"(?i)(?:{T})=.*.*;"),
]


def size_of(p):
    return len(p.encode())


def make(target, shape, template):
    overhead = len(template.replace("{T}", "").replace("{U}", ""))
    budget = max(16, target - overhead)
    t = trie(words_for(budget // 2 if "{U}" in template else budget))
    u = trie(words_for(budget // 2)) if "{U}" in template else ""
    return template.replace("{T}", t).replace("{U}", u)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 320
    out, seen = [], set()
    while len(out) < count:
        vulnerable = rng.random() < 0.15
        shape, template = rng.choice(VULNERABLE if vulnerable else SAFE)
        # sizes log-uniform from 100 bytes to 16 KB, a fifth of them past 8 KB
        target = int(100 * (16000 / 100) ** rng.random()) if rng.random() < 0.8 else rng.randint(8000, 16000)
        p = make(target, shape, template)
        if size_of(p) > 16384 or p in seen:
            continue
        seen.add(p)
        out.append({"pattern": p, "shape": shape, "intent": "vulnerable" if vulnerable else "safe"})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ruleset.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=0)
    sizes = sorted(size_of(o["pattern"]) for o in out)
    print("%d patterns (%d vulnerable by construction), %d to %d bytes, median %d, %d over 8 KB -> %s" % (
        len(out), sum(o["intent"] == "vulnerable" for o in out), sizes[0], sizes[-1], sizes[len(sizes) // 2],
        sum(s > 8192 for s in sizes), path))


if __name__ == "__main__":
    main()
