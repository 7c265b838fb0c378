#!/usr/bin/env bash
# End-to-end tests of the invar CLI: exit codes, messages, output formats.
# Needs INVAR (the binary) and SRC (the source tree). Prints "N passed, N failed".
set -u
cd "$SRC"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

# expect NAME CODE PATTERN -- COMMAND...: runs COMMAND, checks its exit code and
# that stdout+stderr contain PATTERN (a fixed string; empty: no check).
expect() {
  local name=$1 code=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne $code ]]; then
    echo "FAIL $name: exit $rc, expected $code"; echo "$out" | head -20; failed=$((failed + 1)); return
  fi
  if [[ -n $pattern ]] && ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAIL $name: output lacks: $pattern"; echo "$out" | head -20; failed=$((failed + 1)); return
  fi
  passed=$((passed + 1))
}

F=rules/feature-file.contract.json
expect "accept" 0 "ACCEPT examples/cloudflare-2025-features/good.json (contract bot-features): 5 invariants, 4 passed, 0 failed, 0 warned, 1 skipped" -- \
  "$INVAR" check --contract $F examples/cloudflare-2025-features/good.json
expect "reject" 1 "x features.bounded [count] at examples/cloudflare-2025-features/bad.json:4:15 /features: count of \$.features[*] is 212, over the headroom limit 160 by 52" -- \
  "$INVAR" check --contract $F examples/cloudflare-2025-features/bad.json
expect "reject explains the excess" 1 'database: "default" x106, "r0" x106' -- \
  "$INVAR" check --contract $F examples/cloudflare-2025-features/bad.json
expect "reject names the repeated value" 1 '"bot_score" appears 2 times (/features/0/name, /features/106/name)' -- \
  "$INVAR" check --contract $F examples/cloudflare-2025-features/bad.json
expect "worst verdict wins" 1 "ACCEPT examples/cloudflare-2025-features/good.json" -- \
  "$INVAR" check --contract $F examples/cloudflare-2025-features/bad.json examples/cloudflare-2025-features/good.json
expect "quiet" 1 "REJECT examples/cloudflare-2025-features/bad.json (contract bot-features): 5 invariants, 1 passed, 3 failed, 0 warned, 1 skipped" -- \
  "$INVAR" check --quiet --contract $F examples/cloudflare-2025-features/bad.json
out=$("$INVAR" check --quiet --contract $F examples/cloudflare-2025-features/bad.json)
if [[ $(wc -l <<<"$out") -eq 1 ]]; then passed=$((passed + 1)); else echo "FAIL quiet prints one line"; failed=$((failed + 1)); fi

expect "json format" 1 '"verdict": "reject"' -- "$INVAR" check --format json --contract $F examples/cloudflare-2025-features/bad.json
expect "json lists every violation" 1 '"pointer": "/features/211/database"' -- \
  "$INVAR" check --format json --contract $F examples/cloudflare-2025-features/bad.json
expect "json error" 3 '"code": "contract"' -- "$INVAR" check --format json --contract tests/contracts/unknown-kind.json examples/cloudflare-2025-features/good.json
# Exit 3 is stated on stdout in the machine formats, never an accept (what action.yml's steps read).
out=$("$INVAR" check --format json --contract tests/contracts/unknown-kind.json examples/cloudflare-2025-features/good.json 2>/dev/null)
if [[ $(grep -c '"verdict"' <<<"$out") -eq 1 ]] && grep -qF '"verdict": "error"' <<<"$out"; then passed=$((passed + 1)); else echo "FAIL json error is one document saying error"; echo "$out" | head; failed=$((failed + 1)); fi
out=$("$INVAR" check --format json --contract $F "$work/absent.json" 2>/dev/null)
if grep -qF '"verdict": "error"' <<<"$out" && ! grep -qF '"accept"' <<<"$out"; then passed=$((passed + 1)); else echo "FAIL json missing artifact says error"; echo "$out" | head; failed=$((failed + 1)); fi
out=$("$INVAR" check --format json --threads 9999 --contract $F examples/cloudflare-2025-features/good.json 2>/dev/null)
if grep -qF '"verdict": "error"' <<<"$out" && grep -qF -- '--threads' <<<"$out"; then passed=$((passed + 1)); else echo "FAIL json bad option says error"; echo "$out" | head; failed=$((failed + 1)); fi
out=$("$INVAR" check --format github --contract $F "$work/absent.json" 2>/dev/null)
if grep -q '^::error .*title=invar cannot judge::' <<<"$out"; then passed=$((passed + 1)); else echo "FAIL github missing artifact is an ::error"; echo "$out" | head; failed=$((failed + 1)); fi

expect "--now drives freshness" 1 "timestamp 2025-10-20T04:10:00Z is 2h39m old, over max_age 10m" -- \
  "$INVAR" check --now 2025-10-20T06:49:00Z --contract rules/dns-plan.contract.json examples/aws-2025-dns/stale.json
expect "bad --now" 3 'invar: error: --now "yesterday" is not an RFC 3339 date-time' -- \
  "$INVAR" check --now yesterday --contract rules/dns-plan.contract.json examples/aws-2025-dns/good.json

expect "schema mode accepts" 0 "ACCEPT" -- "$INVAR" check --schema schemas/feature-file.schema.json examples/cloudflare-2025-features/good.json
expect "schema mode rejects" 1 "at tests/contracts/bad-feature-type.json:7:35 /features/2/type: value is not one of the allowed values" -- \
  "$INVAR" check --schema schemas/feature-file.schema.json tests/contracts/bad-feature-type.json
expect "format assertion" 1 "string is not a valid date-time" -- \
  "$INVAR" check --assert-format --schema schemas/feature-file.schema.json tests/contracts/bad-feature-type.json

expect "contract error" 3 "invar: error: tests/contracts/unknown-kind.json:3:47: /invariants/0/cardinality: unknown invariant kind \"cardinality\"" -- \
  "$INVAR" check --contract tests/contracts/unknown-kind.json examples/cloudflare-2025-features/good.json
expect "contract syntax error" 3 "invar: error: tests/contracts/truncated.json:4:1: /invariants/0: unexpected end of input, a value was expected" -- \
  "$INVAR" check --contract tests/contracts/truncated.json examples/cloudflare-2025-features/good.json
expect "missing contract" 3 "invar: error: nope.json: cannot read contract: No such file or directory" -- \
  "$INVAR" check --contract nope.json examples/cloudflare-2025-features/good.json
expect "missing artifact" 3 "invar: error: nope.json: cannot read artifact: No such file or directory" -- \
  "$INVAR" check --contract $F nope.json
expect "directory as artifact" 3 "cannot read artifact: not a regular file" -- "$INVAR" check --contract $F examples

# Bad artifacts: a verdict (reject) with a located reason, never a crash.
printf '' > "$work/empty.json"
printf '{"version": 1, "features": [' > "$work/truncated.json"
printf '{"version": 1, "features": [], "version": 2}' > "$work/dup.json"
printf '{"version": 1, "features": ["\xff"]}' > "$work/utf8.json"
printf '{"version": 1, "features": []} trailing' > "$work/trailing.json"
printf '{"version": NaN, "features": []}' > "$work/nan.json"
expect "empty artifact" 1 "x artifact.empty [artifact] at $work/empty.json:1:1 /: empty input" -- "$INVAR" check --contract $F "$work/empty.json"
expect "truncated artifact" 1 "x artifact.syntax [artifact] at $work/truncated.json:1:29 /features/0: unexpected end of input, a value was expected" -- \
  "$INVAR" check --contract $F "$work/truncated.json"
expect "duplicate keys" 1 'x artifact.duplicate-key [artifact] at '"$work"'/dup.json:1:1 /: object has the key "version" more than once' -- \
  "$INVAR" check --contract $F "$work/dup.json"
expect "invalid UTF-8" 1 "x artifact.utf8 [artifact] at $work/utf8.json:1:30 /features/0: invalid UTF-8 byte sequence" -- \
  "$INVAR" check --contract $F "$work/utf8.json"
expect "trailing garbage" 1 "x artifact.syntax [artifact] at $work/trailing.json:1:32 /: trailing content after the JSON value" -- \
  "$INVAR" check --contract $F "$work/trailing.json"
expect "NaN" 1 "x artifact.syntax [artifact] at $work/nan.json:1:13 /version: NaN is not a JSON value" -- "$INVAR" check --contract $F "$work/nan.json"
awk 'BEGIN { for (i = 0; i < 40; i++) printf "["; for (i = 0; i < 40; i++) printf "]" }' > "$work/deep.json"
expect "too deep" 1 "x artifact.depth [artifact] at $work/deep.json:1:33 /0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0: nesting deeper than max_depth 32" -- \
  "$INVAR" check --contract $F "$work/deep.json"
truncate -s 2G "$work/huge.json"
expect "2 GiB sparse file refused before reading" 1 "artifact is 2147483648 bytes, over the limit of 16777216 bytes (refused before reading)" -- \
  "$INVAR" check --contract $F "$work/huge.json"

expect "usage: no subcommand" 3 "" -- "$INVAR"
expect "usage: unknown flag" 3 "" -- "$INVAR" check --contract $F --frobnicate examples/cloudflare-2025-features/good.json
expect "usage: both contract and schema" 3 "" -- "$INVAR" check --contract $F --schema schemas/feature-file.schema.json examples/cloudflare-2025-features/good.json
expect "usage: neither contract nor schema" 3 "check needs --contract or --schema, or a project file invar.json" -- "$INVAR" check examples/cloudflare-2025-features/good.json
expect "usage: bad format" 3 "" -- "$INVAR" check --format xml --contract $F examples/cloudflare-2025-features/good.json
expect "help documents exit codes" 0 "3  cannot judge" -- "$INVAR" check --help
expect "gate help documents pin" 0 "2  pin: (invar gate) the candidate is rejected; the LKG was published instead" -- "$INVAR" gate --help

expect "stats: what the check cost" 0 "values), evaluate" -- \
  "$INVAR" check --stats --quiet --contract $F examples/cloudflare-2025-features/good.json
expect "stats: per invariant" 0 "features.unique                  unique" -- \
  "$INVAR" check --stats --quiet --contract $F examples/cloudflare-2025-features/good.json

# check --baseline: the delta family, statelessly.
expect "baseline: growth over 50%" 1 "x features.growth [delta] at examples/cloudflare-2025-features/bad.json:4:15 /features: count(\$.features[*]) grew from 60 to 212 (+152, +253.3%), over max_increase 50%" -- \
  "$INVAR" check --contract $F --baseline examples/cloudflare-2025-features/good.json examples/cloudflare-2025-features/bad.json
expect "baseline: the baseline's value is shown" 1 "baseline: 60" -- \
  "$INVAR" check --contract $F --baseline examples/cloudflare-2025-features/good.json examples/cloudflare-2025-features/bad.json
expect "baseline: same file" 0 "5 invariants, 5 passed" -- \
  "$INVAR" check --contract $F --baseline examples/cloudflare-2025-features/good.json examples/cloudflare-2025-features/good.json
expect "baseline: unreadable" 3 "invar: error: $work/truncated.json: /features/0: baseline is not a readable artifact" -- \
  "$INVAR" check --contract $F --baseline "$work/truncated.json" examples/cloudflare-2025-features/good.json
expect "baseline: missing" 3 "cannot read baseline: No such file or directory" -- \
  "$INVAR" check --contract $F --baseline "$work/nope.json" examples/cloudflare-2025-features/good.json

# A DNS plan over kParallelMinBytes (1 MiB): one thread or two, the same
# report; a repeated key deep inside is found by the scan running alongside.
D=rules/dns-plan.contract.json
dns_plan() {  # dns_plan RECORDS BAD_RECORD [DUPLICATE_RECORD]
  awk -v n="$1" -v bad="$2" -v dup="${3:--1}" 'BEGIN {
    printf "{\"endpoint\": \"ddb.example\", \"generation\": 7, \"generated_at\": \"2025-10-20T06:40:00Z\",\n"
    printf " \"plans\": [{\"id\": \"p1\"}], \"records\": [\n"
    for (i = 0; i < n; i++) {
      targets = (i == bad) ? "" : "\"10.0.0.1\", \"10.0.0.2\""
      extra = (i == dup) ? ", \"ttl\": 61" : ""
      printf "  {\"name\": \"r%06d.ddb.example\", \"type\": \"A\", \"ttl\": 60%s, \"plan\": \"p1\", \"targets\": [%s]}%s\n", i, extra, targets, (i < n - 1) ? "," : ""
    }
    printf "]}\n" }'
}
dns_plan 12000 9000 > "$work/plan-big.json"
dns_plan 12000 -1 11000 > "$work/plan-dup.json"
NOW=(--now 2025-10-20T06:45:00Z)
expect "big plan: one thread" 1 "x records.nonempty [count] at $work/plan-big.json:9003:3 /records/9000: count of @.targets[*] is 0, below min 1" -- \
  "$INVAR" check "${NOW[@]}" --threads 1 --contract $D "$work/plan-big.json"
"$INVAR" check "${NOW[@]}" --threads 1 --format json --contract $D "$work/plan-big.json" > "$work/one-thread.json"
"$INVAR" check "${NOW[@]}" --threads 2 --format json --contract $D "$work/plan-big.json" > "$work/two-threads.json"
if cmp -s "$work/one-thread.json" "$work/two-threads.json" && grep -q '"verdict": *"reject"' "$work/two-threads.json"; then
  passed=$((passed + 1))
else
  echo "FAIL big plan: --threads 1 and --threads 2 reports differ"; failed=$((failed + 1))
fi
expect "big plan: stats name the threads" 1 "on 2 threads" -- \
  "$INVAR" check "${NOW[@]}" --threads 2 --stats --quiet --contract $D "$work/plan-big.json"
expect "big plan: a repeated key found alongside" 1 "x artifact.duplicate-key [artifact] at $work/plan-dup.json:11003:3 /records/11000: object has the key \"ttl\" more than once" -- \
  "$INVAR" check "${NOW[@]}" --threads 2 --contract $D "$work/plan-dup.json"
expect "threads: out of range" 3 "" -- "$INVAR" check --threads 999 --contract $D "$work/plan-big.json"

# Artifacts are memory-mapped: a file truncated while it is checked (the
# fault point truncates it right after mapping) is "cannot judge", not a crash.
cp "$work/plan-big.json" "$work/shrinking.json"
if [[ -n "${INVAR_FAULTS_CLI:-}" ]]; then
  expect "truncated while mapped: cannot judge" 3 "invar: error: an artifact shrank while it was being checked" -- \
    env INVAR_FAULT=check:mapped "$INVAR_FAULTS_CLI" check "${NOW[@]}" --contract $D "$work/shrinking.json"
  cp "$work/plan-big.json" "$work/shrinking.json"
  out=$(env INVAR_FAULT=check:mapped "$INVAR_FAULTS_CLI" check "${NOW[@]}" --format json --contract $D "$work/shrinking.json" 2>/dev/null)
  if [[ $(grep -c '"verdict"' <<<"$out") -eq 1 ]] && grep -qF '"verdict": "error"' <<<"$out"; then passed=$((passed + 1)); else echo "FAIL truncated while mapped: json says error"; echo "$out" | head; failed=$((failed + 1)); fi
  cp "$work/plan-big.json" "$work/shrinking.json"
fi
# The shipped CLI has no fault points: the environment cannot kill, stop or truncate it.
expect "shipped CLI: INVAR_FAULT is not a fault point" 1 "REJECT" -- \
  env INVAR_FAULT=check:mapped "$INVAR" check "${NOW[@]}" --quiet --contract $D "$work/shrinking.json"
"$INVAR" init --contract $F --stream no-faults --state "$work/no-faults" >/dev/null 2>&1
expect "shipped CLI: a gate told to die at gate:judged decides" 0 "gate: accept" -- \
  env INVAR_FAULT=gate:judged "$INVAR" gate --contract $F --stream no-faults --state "$work/no-faults" \
  --out "$work/no-faults.json" examples/cloudflare-2025-features/good.json
if grep -q INVAR_FAULT "$INVAR"; then
  echo "FAIL shipped CLI: the binary holds the fault points' variable"; failed=$((failed + 1))
else
  passed=$((passed + 1))
fi

# The pipeline example of docs/gate.md: publish on 0 and 2, alert otherwise.
mkdir -p "$work/edge"
cat > "$work/publish" <<'SH'
#!/usr/bin/env bash
cp "$1" "$EDGE/features.json"
SH
cat > "$work/alert" <<'SH'
#!/usr/bin/env bash
echo "ALERT: $*" >> "$EDGE/alerts"
SH
chmod +x "$work/publish" "$work/alert"
pipeline() {
  INVAR="$INVAR" EDGE="$work/edge" CONTRACT=$F STREAM=bot-features STATE="$work/pipeline-state" METRICS="$work/invar.prom" \
    PUBLISH_CMD="$work/publish" ALERT_CMD="$work/alert" examples/pipeline/gate-and-publish.sh "$@"
}
G=examples/cloudflare-2025-features
expect "pipeline: a gate on a stream nobody created publishes nothing" 3 "invar init" -- pipeline $G/good.json
expect "pipeline: the stream is created on purpose" 0 "init: stream bot-features created for contract bot-features" -- \
  "$INVAR" init --state "$work/pipeline-state" --stream bot-features --contract $F --by ci
expect "pipeline: accept publishes" 0 "gate: accept" -- pipeline $G/good.json
expect "pipeline: pin publishes the LKG" 0 "gate: pin" -- pipeline $G/bad.json
if cmp -s "$work/edge/features.json" $G/good.json && grep -q "ALERT: invar pinned bot-features" "$work/edge/alerts"; then
  passed=$((passed + 1))
else
  echo "FAIL pipeline: the edge should serve good.json and an alert should say pinned"; failed=$((failed + 1))
fi
if grep -q '^invar_pinned{stream="bot-features"} 1$' "$work/invar.prom" &&
   grep -q '^invar_decisions_total{stream="bot-features",verdict="pin"} 1$' "$work/invar.prom"; then
  passed=$((passed + 1))
else
  echo "FAIL pipeline: the metrics should say pinned, one pin"; failed=$((failed + 1))
fi
expect "pipeline: cannot judge alerts and fails" 3 "" -- pipeline "$work/missing.json"
if grep -q "ALERT: invar gate exited 3 on bot-features for $work/missing.json" "$work/edge/alerts" && cmp -s "$work/edge/features.json" $G/good.json; then
  passed=$((passed + 1))
else
  echo "FAIL pipeline: exit 3 should alert and publish nothing"; failed=$((failed + 1))
fi

# Standard input: "-" as the artifact, named <stdin>, bounded by the contract's max_bytes.
expect "stdin: check" 1 "REJECT <stdin> (contract bot-features)" -- \
  bash -c "\"$INVAR\" check --contract $F -q - < examples/cloudflare-2025-features/bad.json"
expect "stdin: a pipe, CI annotations" 1 "::error file=<stdin>,line=2,col=1,title=artifact.syntax [artifact]::" -- \
  bash -c "printf '{\"features\": []\n' | \"$INVAR\" check --contract $F --format github -"
expect "stdin: given twice" 3 '"-" (standard input) can be given once' -- "$INVAR" check --contract $F - -
expect "stdin: over max_bytes" 1 "over the limit of 16777216 bytes" -- \
  bash -c "head -c 17000000 /dev/zero | tr '\\0' ' ' | \"$INVAR\" check --contract $F -"
"$INVAR" init --state "$work/stdin-state" --stream s --contract $F --by t >/dev/null
expect "stdin: gate publishes the exact bytes it judged" 0 "gate: accept" -- \
  bash -c "\"$INVAR\" gate --state \"$work/stdin-state\" --stream s --contract $F --out \"$work/stdin-out.json\" - < $G/good.json"
if cmp -s "$work/stdin-out.json" $G/good.json; then passed=$((passed + 1)); else echo "FAIL stdin: published bytes differ"; failed=$((failed + 1)); fi

# A typo in a schema keyword is refused (the specification would ignore it and accept anything).
printf '{"type": "object", "requried": ["version"]}' > "$work/typo.schema.json"
expect "schema: unknown keyword refused" 3 'unknown keyword "requried" (did you mean "required"?)' -- \
  "$INVAR" check --schema "$work/typo.schema.json" examples/cloudflare-2025-features/good.json
expect "schema: --allow-unknown-keywords ignores it" 0 "ACCEPT" -- \
  "$INVAR" check --allow-unknown-keywords --schema "$work/typo.schema.json" examples/cloudflare-2025-features/good.json

# Dialects: "$schema" decides, --default-dialect covers schemas without one, --metaschema checks the schema itself.
printf '{"maximum": 10, "exclusiveMaximum": true}' > "$work/bare4.schema.json"
printf '10' > "$work/ten.json"
expect "schema: a draft-04 form in a 2020-12 schema names draft-04" 3 "a boolean here is draft-04's form" -- \
  "$INVAR" check --schema "$work/bare4.schema.json" "$work/ten.json"
expect "schema: --default-dialect draft-04" 1 "value must be < 10" -- \
  "$INVAR" check --default-dialect draft-04 --schema "$work/bare4.schema.json" "$work/ten.json"
expect "schema: unknown --default-dialect" 3 'unknown JSON Schema dialect "draft-05" (supported: draft-04, draft-06, draft-07, 2019-09, 2020-12)' -- \
  "$INVAR" check --default-dialect draft-05 --schema "$work/bare4.schema.json" "$work/ten.json"
expect "--metaschema accepts a valid schema" 0 "ACCEPT schemas/feature-file.schema.json (contract metaschema of feature-file.schema.json)" -- \
  "$INVAR" check --metaschema --schema schemas/feature-file.schema.json
printf '{"$schema": "http://json-schema.org/draft-07/schema#", "type": "strnig"}' > "$work/meta-bad.schema.json"
expect "--metaschema rejects an invalid schema, and judges no artifact" 1 "/type: value is not one of the allowed values" -- \
  "$INVAR" check --metaschema --schema "$work/meta-bad.schema.json" examples/cloudflare-2025-features/good.json
expect "--metaschema needs --schema" 3 "invar: error: --metaschema needs --schema" -- \
  "$INVAR" check --metaschema --contract $F examples/cloudflare-2025-features/good.json

# invar lint: the bundled contracts have warnings only (pinned by tests/golden/lint-rules.txt).
# Conventions: counts read as English; colour by --color, NO_COLOR (set and not empty), FORCE_COLOR.
echo '{"type": "object"}' > "$work/object.schema.json"
echo '[]' > "$work/array.json"
expect "one invariant, not 1 invariants" 1 "(contract schema object.schema.json): 1 invariant, 0 passed, 1 failed" -- \
  "$INVAR" check --schema "$work/object.schema.json" "$work/array.json"
esc=$'\e['
expect "--color always colours a pipe" 1 "${esc}31mREJECT" -- "$INVAR" check -q --color always --schema "$work/object.schema.json" "$work/array.json"
expect "FORCE_COLOR colours a pipe" 1 "${esc}31mREJECT" -- env FORCE_COLOR=1 "$INVAR" check -q --schema "$work/object.schema.json" "$work/array.json"
expect "NO_COLOR wins over FORCE_COLOR" 1 "" -- env NO_COLOR=1 FORCE_COLOR=1 "$INVAR" check -q --schema "$work/object.schema.json" "$work/array.json"
if env NO_COLOR=1 FORCE_COLOR=1 "$INVAR" check -q --schema "$work/object.schema.json" "$work/array.json" | grep -qF "$esc"; then
  echo "FAIL NO_COLOR: colour printed"; failed=$((failed + 1)); else passed=$((passed + 1)); fi
if env NO_COLOR= FORCE_COLOR=1 "$INVAR" check -q --color never --schema "$work/object.schema.json" "$work/array.json" | grep -qF "$esc"; then
  echo "FAIL --color never: colour printed"; failed=$((failed + 1)); else passed=$((passed + 1)); fi
expect "--color takes auto, always or never" 3 "" -- "$INVAR" check --color sometimes --schema "$work/object.schema.json" "$work/array.json"
# A usage error is said once, in invar's words (not invar's line and then CLI11's).
for args in "check --bogus x" "check --schemaa x y" "check --schema" "gate x"; do
  # shellcheck disable=SC2086
  out=$("$INVAR" $args 2>&1); rc=$?
  if [[ $rc -eq 3 && $(wc -l <<<"$out") -eq 1 && $out == invar:* ]]; then passed=$((passed + 1)); else
    echo "FAIL usage error said once: invar $args (exit $rc)"; echo "$out"; failed=$((failed + 1)); fi
done
expect "lint: the bundled contracts" 0 "rules/waf-ruleset-re2.contract.json: 0 errors, " -- \
  "$INVAR" lint --quiet rules/dns-plan.contract.json rules/feature-file.contract.json rules/service-policy.contract.json \
  rules/waf-ruleset.contract.json rules/waf-ruleset-re2.contract.json
expect "lint: an error-level finding is exit 1" 1 'x lint.never-valid [lint] at tests/contracts/lint/audit.contract.json:9:57' -- \
  "$INVAR" lint tests/contracts/lint/audit.contract.json --example tests/contracts/lint/audit.example.json
expect "lint: sarif" 1 '"ruleId": "lint.unbounded-array"' -- \
  "$INVAR" lint --format sarif tests/contracts/lint/audit.contract.json
expect "lint: a contract that is not JSON is exit 3" 3 "invar: error: tests/contracts/truncated.json:4:1" -- \
  "$INVAR" lint tests/contracts/truncated.json
expect "lint: an unreadable example is exit 3" 3 "cannot read example" -- \
  "$INVAR" lint rules/dns-plan.contract.json --example nope.json

# Did you mean, for commands and options.
expect "an unknown command names the one meant" 3 'invar: unknown command chek (did you mean check?)' -- "$INVAR" chek x.json
expect "an unknown option names the one meant" 3 'invar: unknown option --defualt-dialect (did you mean --default-dialect?)' -- \
  "$INVAR" check --defualt-dialect draft-04 --schema schemas/feature-file.schema.json examples/cloudflare-2025-features/good.json

# libcurl is loaded only for etcd; where it cannot be, the gate cannot judge (exit 3), and says why.
expect "etcd without libcurl: exit 3, named" 3 "cannot load libcurl (Debian: libcurl4): libinvar-absent.so" -- \
  env INVAR_LIBCURL=libinvar-absent.so "$INVAR" status --state etcd://127.0.0.1:1 s
expect "no etcd, no libcurl needed" 0 "ACCEPT" -- \
  env INVAR_LIBCURL=libinvar-absent.so "$INVAR" check --contract $F examples/cloudflare-2025-features/good.json

echo "cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
