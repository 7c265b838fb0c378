#!/usr/bin/env python3
"""The regex_safe differential corpus (issue 18): hand-written patterns of the
shapes real configs and rule sets use (hostnames, e-mail, URLs, IPs, dates,
versions, WAF-style rules, the classic ReDoS shapes and their repaired
forms), then generated ones (an atom, a quantifier, a nesting, a suffix), all
RE2-compatible (regex_safe needs them to compile under RE2 first).
Deterministic: writes bench/redos/corpus.json."""
import itertools, json, os

hand = [
    # hostnames, domains, e-mail, URLs
    r"^(?:[a-z0-9-]{1,63}\.)+[a-z]{2,63}$", r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$",
    r"^([a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}$", r"^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$",
    r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$", r"^([a-zA-Z0-9_\.\-])+\@(([a-zA-Z0-9\-])+\.)+([a-zA-Z0-9]{2,4})+$",
    r"^[\w.+-]+@[\w-]+\.[\w.-]+$", r"^(\w+[.-]?)*\w+@\w+\.\w+$", r"^([\w-]+\.)*[\w-]+@([\w-]+\.)+[a-z]{2,}$",
    r"^https?://[^\s/$.?#].[^\s]*$", r"^(https?://)?([\da-z.-]+)\.([a-z.]{2,6})([/\w .-]*)*/?$",
    r"^(https?|ftp)://[^\s/$.?#].[^\s]*$", r"^/api/v[0-9]+/[a-z]+(/[a-z0-9-]+)*$", r"^(/[a-zA-Z0-9_.-]+)+/?$",
    r"^[a-z][a-z0-9+.-]*://([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$",
    # IPs, ports, CIDRs
    r"^(\d{1,3}\.){3}\d{1,3}$", r"^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$",
    r"^(\d+\.)+\d+$", r"^(\d+\.?)+$", r"^([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}$", r"^([0-9a-fA-F]*:)+[0-9a-fA-F]*$",
    r"^\d{1,5}$", r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$",
    # dates, times, versions, ids
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", r"^\d+-\d+-\d+$", r"^(\d+)+-\d+$",
    r"^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", r"^(\d+\.)*\d+$", r"^([0-9]+\.?)*[0-9]+$",
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$",
    r"^[a-z]+(?:[-_][a-z]+)*$", r"^[a-z0-9]+(?:-[a-z0-9]+)*$", r"^([a-z]+-?)+$", r"^([a-z]+-?)*[a-z]$",
    r"^[A-Za-z_][A-Za-z0-9_]*$", r"^(\w+\s?)*$", r"^(\w+\s?)+$", r"^[\w\s]+$", r"^(\w|\s)+$", r"^(\w+\s)*\w+$",
    # the classics and their repaired forms
    r"^(a+)+$", r"^(a*)*$", r"^(a|aa)+$", r"^(a|a?)+$", r"^(a|b|ab)*c$", r"^(?:a|a)*$", r"^(.*a){12}$",
    r"^(([a-z])+.)+[A-Z]([a-z])+$", r"^(a+)+b", r"(a+)+b", r"^(a|ab)*c$", r"^(ab|a)*$", r"^a+a+$", r"^a*a*b$",
    r"\s+$", r"^\s+|\s+$", r"^[\s\S]*?x$", r"^.*.*=.*$", r".*.*=.*", r"^(.*)=(.*)$", r"^([^=]*)=(.*)$",
    r"^(\d+)*$", r"^(\d|\d)*$", r"^\d+\d+$", r"^\d+\.\d+$", r"^[^\s]+\s+[^\s]+$", r"^(\S+\s*)+$",
    r"^(x+x+)+y$", r"^(a?){25}a{25}$", r"^(\w+)\s(\w+)$", r"^([a-z]+)(\d+)$", r"^([a-z0-9]+)*@$",
    r"^<([a-z]+)([^<]+)*(?:>(.*)<\/([a-z]+)>|\s+\/>)$", r"^(\s*,\s*)*$", r"^(,|\s)*$", r"^\s*(\w+\s*)*$",
    r"^(a+b?)+$", r"^(ab+)+$", r"^(a|b)*$", r"^(a|b)*a(a|b){10}$", r"^([ab]*a){5}$",
    # WAF-style rule expressions
    r"(?i)union\s+select", r"(?i)(union|select|insert|update|delete)\s+", r"(?i)<script[^>]*>", r"(?i)on\w+\s*=",
    r"(?i)javascript:", r"\.\./", r"(?i)(\%27)|(\')|(\-\-)|(\%23)|(#)", r"(?i)((\%3C)|<)[^\n]+((\%3E)|>)",
    r"(?:\w+=\w+&?)+", r"^(?:[\w-]+=[\w-]*&?)*$", r"(?i)select.*from", r"(?i)select.*from.*where",
    r"(?:.*\s)*x", r"(?:\s*;\s*)+$", r"(?i)(?:\b(?:and|or)\b\s+\d+\s*=\s*\d+)", r"^[^<>]*$", r"(.*)*",
    r"(?i)^(?:get|post|head)$", r"^/(?:[a-z0-9_-]+/)*[a-z0-9_-]+\.(?:php|asp|jsp)$", r"(?:/[^/]+)+\.php",
    r"(\.\.\/)+", r"(?:%2e%2e%2f)+", r"^(?:\d+,)*\d+$", r"^(\d+,?)*$", r"^[\d,]+$", r"^(?:[^,]*,){3}[^,]*$",
]

# Added after the automaton analysis was written, and not used to tune it:
# patterns from public ReDoS advisories (npm and PyPI CVEs; the package and
# CVE in a comment, rewritten only where RE2's syntax differs: \uXXXX as
# \x{XXXX}, (?<n> as (?P<n>, a trailing lookahead dropped) and from public
# rule sets and configs (Prometheus relabelling, nginx, OWASP-style checks).
advisories = [
    r"^((?:\d+)?\.?\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|years?|yrs?|y)?$",  # ms CVE-2015-8315
    r"^\s*|\s*$",  # trim CVE-2020-7753
    r"[\r\n]+$",  # trim-newlines CVE-2021-33623
    r"[\s]+$",  # validator rtrim CVE-2021-3765
    r"^\s+|\s+$",  # lodash trim CVE-2020-28500
    r"[\x1B\x{9B}][[\]()#;?]*(?:(?:(?:(?:;[-a-zA-Z\d\/#&.:=?%@~_]+)*|[a-zA-Z\d]+(?:;[-a-zA-Z\d\/#&.:=?%@~_]*)*)?\x07)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-ntqry=><~]))",  # ansi-regex CVE-2021-3807
    r"^hwb\(\s*([+-]?\d*[\.]?\d+)(?:deg)?\s*,\s*([+-]?[\d\.]+)%\s*,\s*([+-]?[\d\.]+)%\s*(?:,\s*([+-]?[\d\.]+)\s*)?\)$",  # color-string CVE-2021-29060
    r"^data:(?P<type>[^,]*?),(?P<data>[^#]*?)(?:#(?P<hash>.*))?$",  # normalize-url CVE-2021-33502
    r"[\{\[].*[\/]*.*[\}\]]$",  # glob-parent CVE-2020-28469
    r"^(\/?|)([\s\S]*?)((?:\.{1,2}|[^\/]+?|)(\.[^.\/]*|))(?:[\/]*)$",  # path-parse CVE-2021-23343
    r"^([+\-]?\d*n)?\s*(?:([+\-]?)\s*(\d+))?$",  # nth-check CVE-2021-3803
    r"\/\*\s*# sourceMappingURL=(.*)\s*\*\/",  # postcss CVE-2021-23368
    r"^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?://([^\\/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$",  # urllib3 CVE-2021-33503 (URL)
    r"(?:(.*)@)?(\[[^\]]*\]|[^:]*)(?::(\d*))?",  # urllib3 CVE-2021-33503 (authority)
    r"(?:(?:\"|'|\]|\}|\\|\d|(?:nan|infinity|true|false|null|undefined|symbol|math)|`|\-|\+)+[)]*;?((?:\s|-|~|!|{}|\|\||\+)*.*(?:.*=.*)))",  # Cloudflare WAF 2019-07-02
    r"^[\s\x{200c}]+|[\s\x{200c}]+$",  # Stack Overflow outage 2016-07-20
    r" *, *",  # forwarded CVE-2017-16118, fresh CVE-2017-16119
    r".*[\.\/\\]",  # mime CVE-2017-16138
    r"(?i)(?:charset|encoding)\s*=\s*['\"]? *([\w\-]+)",  # charset CVE-2017-16098
    r"^(([^=;]+))\s*=\s*([^\n\r\x00]*)",  # tough-cookie CVE-2017-15010
    r"^(\d+(\.\d+)?)\s*(ms|s|m|h|d|w|y)?$",  # timespan-style durations
    r"^\b_((?:__|[\s\S])+?)_\b",  # marked CVE-2017-17461 (emphasis, lookahead dropped)
    r"^\S+@\S+$",  # is-my-json-valid CVE-2016-2537 (email format)
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",  # WHATWG e-mail
    r"^(?:\s*\w+\s*,?)*$",  # CSV-of-words validators
    r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",  # an e-mail regex from a ReDoS report
    # rule sets and configs
    r"(.+):(\d+)", r"([^:]+)(?::\d+)?;(\d+)", r"__meta_kubernetes_pod_label_(.+)", r"(.*)", r"^(.*)$",
    r"^/api/.*$", r"\.(?:jpg|jpeg|png|gif|ico|css|js)$", r"^(?:www\.)?example\.com$",
    r"(?i)\b(?:select|union|insert)\b.*\b(?:from|into|where)\b",
    r"^(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)$",
    r"(?i)<[^>]*\bon\w+\s*=", r"(?i)(?:\.\./|\.\.\\)+", r"^[A-Za-z0-9+/]*={0,2}$", r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
    r"^([a-z0-9_\.-]+)@([\da-z\.-]+)\.([a-z\.]{2,6})$", r"^#?([a-f0-9]{6}|[a-f0-9]{3})$", r"^(\+\d{1,3}\s?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}$",
    r"(\w+)\s*=\s*\"([^\"]*)\"", r"^\s*#.*$", r"^(?:\s*\S+\s*)+$", r"^(\s*\w+\s*=\s*\w+\s*;?)+$",
]

atoms = ["a", "[a-z]", r"\d", r"\w", ".", "(?:ab)", "(?:a|b)", "(?:a|ab)", r"[a-z0-9-]", r"\s"]
inner_q = ["+", "*", "?", "{1,3}"]
outer_q = ["+", "*", "{2}"]
suffixes = ["$", "b$", "", "!"]
generated = []
for atom, iq, oq, suffix in itertools.product(atoms, inner_q, outer_q, suffixes):
    generated.append("^(?:" + atom + iq + ")" + oq + suffix)
# a deterministic spread of them (every 3rd), plus two-loop sequences
generated = generated[::3]
for a, b in itertools.product(["a", r"\d", r"\w", ".", "[a-c]"], ["a", r"\d", r"[^a]", r"\s", "x"]):
    generated.append("^" + a + "+" + b + "+$")
    generated.append("^" + a + "*" + b + "*" + "!$")

patterns = []
seen = set()
for source, group in (("hand", hand), ("generated", generated), ("advisories", advisories)):
    for p in group:
        if p not in seen:
            seen.add(p)
            patterns.append({"pattern": p, "source": source})
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus.json")
with open(out, "w") as f:
    json.dump(patterns, f, indent=0)
print("%d patterns (%d hand-written, %d generated, %d from advisories and rule sets) -> %s" % (
    len(patterns), sum(p["source"] == "hand" for p in patterns), sum(p["source"] == "generated" for p in patterns),
    sum(p["source"] == "advisories" for p in patterns), out))
