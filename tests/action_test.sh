#!/usr/bin/env bash
# The GitHub Action and the release, on the packages tests/package_test.sh made (PKG_DIR):
# scripts/action-install from a release laid out in a directory (vX.Y.Z/ with the tarball and
# SHA256SUMS), verified and refused; scripts/action-run on examples/project (an invar.json over
# YAML and JSON configs): annotations, SARIF, exit codes; scripts/release-check; the workflow files
# parse and action.yml's steps name scripts that exist. Needs INVAR (the CLI), SRC, PKG_DIR.
# Prints "action: N passed, N failed".
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
check() {  # check NAME COMMAND...: passes when COMMAND succeeds
  local name=$1
  shift
  if "$@"; then passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}
contains() { grep -qF -- "$2" <<<"$1" || { echo "missing: $2"; echo "$1" | head -20; return 1; }; }
lacks() { ! grep -qF -- "$2" <<<"$1" || { echo "unexpected: $2"; echo "$1" | head -20; return 1; }; }
python=/usr/bin/python3

version=$("$INVAR" --version | head -1)
version=${version#invar }
name="invar-$version-linux-x86_64"
tarball="$PKG_DIR/$name.tar.gz"
[[ -f $tarball ]] || { echo "FAIL no $tarball (the package test makes it)"; exit 1; }

# A release as GitHub serves it: BASE/vX.Y.Z/{tarball,SHA256SUMS}.
release() {  # release DIR: lays out a release of the tarball under DIR
  mkdir -p "$1/v$version" && cp "$tarball" "$1/v$version/" && (cd "$1/v$version" && sha256sum "$name.tar.gz" >SHA256SUMS)
}
install() {  # install CASE [VERSION]: runs action-install as a runner would, with the base URL in $base
  mkdir -p "$work/$1/temp"
  : >"$work/$1/path"
  RUNNER_TEMP="$work/$1/temp" GITHUB_PATH="$work/$1/path" INVAR_RELEASE_BASE_URL="$base" \
    bash "$SRC/scripts/action-install" "${@:2}" 2>&1
}

# The release tarball, verified, unpacked under RUNNER_TEMP and put on GITHUB_PATH.
release "$work/releases"
base="file://$work/releases"
out=$(INVAR_FALLBACK=fail install ok)
check "install: exit 0" test $? -eq 0
check "install: says the tarball was verified" contains "$out" "from the release tarball (SHA-256 verified)"
bin=$(cat "$work/ok/path")
check "install: bin/ of the tarball under RUNNER_TEMP on GITHUB_PATH" test "$bin" = "$work/ok/temp/invar-$version/$name/bin"
check "install: that invar runs, the release's version" test "$("$bin/invar" --version | head -1)" = "invar $version"
base="$work/releases"  # a directory without file://; the version given as vX.Y.Z
out=$(INVAR_FALLBACK=fail install dir "v$version")
check "install: vX.Y.Z from a directory" test $? -eq 0 -a "$(cat "$work/dir/path")" = "$work/dir/temp/invar-$version/$name/bin"

# A checksum that differs: the tarball is not unpacked nor put on PATH (fail closed).
release "$work/corrupt"
echo "$(printf 'other bytes' | sha256sum | cut -d' ' -f1)  $name.tar.gz" >"$work/corrupt/v$version/SHA256SUMS"
base="$work/corrupt"
out=$(INVAR_FALLBACK=fail install corrupt)
check "checksum mismatch: exit 1 with INVAR_FALLBACK=fail" test $? -eq 1
check "checksum mismatch: a ::warning::" contains "$out" "::warning title=invar: checksum mismatch::"
check "checksum mismatch: says it does not compile" contains "$out" "not compiling from source (INVAR_FALLBACK=fail)"
check "checksum mismatch: nothing on GITHUB_PATH" test ! -s "$work/corrupt/path"
check "checksum mismatch: nothing unpacked" test ! -e "$work/corrupt/temp/invar-$version"
# Bytes changed after SHA256SUMS was written: the same.
release "$work/tampered"
printf 'x' >>"$work/tampered/v$version/$name.tar.gz"
base="$work/tampered"
out=$(INVAR_FALLBACK=fail install tampered)
check "tampered tarball: refused" test $? -eq 1 -a ! -s "$work/tampered/path" -a ! -e "$work/tampered/temp/invar-$version"
check "tampered tarball: a ::warning::" contains "$out" "::warning title=invar: checksum mismatch::"
# SHA256SUMS without the tarball's line is no better.
release "$work/unlisted"
echo "0000000000000000000000000000000000000000000000000000000000000000  other.tar.gz" >"$work/unlisted/v$version/SHA256SUMS"
base="$work/unlisted"
out=$(INVAR_FALLBACK=fail install unlisted)
check "unlisted tarball: refused" test $? -eq 1 -a ! -s "$work/unlisted/path"
check "unlisted tarball: a ::warning::" contains "$out" "does not match its SHA256SUMS"

# The fallback (the default): compile the action's checkout. A stand-in checkout and cmake record
# what would run (compiling invar here again would test nothing new).
fake="$work/fake"
mkdir -p "$fake/action/scripts" "$fake/bin"
printf 'project(invar VERSION %s DESCRIPTION "x" LANGUAGES CXX)\n' "$version" >"$fake/action/CMakeLists.txt"
printf '#!/bin/sh\necho "install-deps $*" >>"%s/calls"\n' "$fake" >"$fake/action/scripts/install-deps"
cat >"$fake/bin/cmake" <<EOF
#!/bin/sh
echo "cmake \$*" >>"$fake/calls"
if [ "\$1" = --build ]; then mkdir -p "\$2" && printf '#!/bin/sh\necho "invar $version"\n' >"\$2/invar" && chmod +x "\$2/invar"; fi
EOF
chmod +x "$fake/action/scripts/install-deps" "$fake/bin/cmake"
out=$(PATH="$fake/bin:$PATH" INVAR_ACTION_PATH="$fake/action" install fallback)
check "mismatch, fallback source: exit 0" test $? -eq 0
check "mismatch, fallback source: the warning" contains "$out" "::warning title=invar: checksum mismatch::"
check "mismatch, fallback source: says it compiles" contains "$out" "compiling invar from the action's checkout ($fake/action)"
calls=$(cat "$fake/calls")
check "fallback: build dependencies only" contains "$calls" "install-deps --build-only"
check "fallback: configures the checkout" contains "$calls" "cmake -S $fake/action -B $work/fallback/temp/invar-build -DCMAKE_BUILD_TYPE=Release"
check "fallback: builds the CLI" contains "$calls" "--target invar_cli"
check "fallback: the build on GITHUB_PATH, not the tarball" test "$(cat "$work/fallback/path")" = "$work/fallback/temp/invar-build"
check "fallback: the tarball is not unpacked" test ! -e "$work/fallback/temp/invar-$version"
out=$(PATH="$fake/bin:$PATH" INVAR_ACTION_PATH="$fake/action" install source source)
check "version source: compiles, nothing downloaded" test $? -eq 0 -a "$(cat "$work/source/path")" = "$work/source/temp/invar-build"
check "version source: says so" contains "$out" "version: source; compiling invar from the action's checkout"
# shellcheck disable=SC2016  # $1 is the stand-in uname's
printf '#!/bin/sh\nif [ "$1" = -m ]; then echo aarch64; else echo Linux; fi\n' >"$fake/bin/uname"
chmod +x "$fake/bin/uname"
base="$work/releases"
out=$(PATH="$fake/bin:$PATH" INVAR_ACTION_PATH="$fake/action" install arm)
check "not x86_64: compiles" test $? -eq 0 -a "$(cat "$work/arm/path")" = "$work/arm/temp/invar-build"
check "not x86_64: says why" contains "$out" "no release tarball for Linux aarch64 (only x86_64 Linux)"
rm "$fake/bin/uname"
base="$work/nowhere"
out=$(INVAR_FALLBACK=fail install missing)
check "no such release: refused with INVAR_FALLBACK=fail" test $? -eq 1
check "no such release: says so" contains "$out" "release v$version could not be downloaded from $work/nowhere/v$version"
out=$(INVAR_FALLBACK=fail install bad-version 1.2)
check "a version not X.Y.Z: exit 1" test $? -eq 1
check "a version not X.Y.Z: says so" contains "$out" 'version "1.2" is not X.Y.Z, vX.Y.Z or source'

# The run step on a repository gated by one invar.json over YAML and JSON configs, with the invar
# the install step put on PATH.
repo="$work/repo"
cp -r "$SRC/examples/project" "$repo"
run() {  # run [VAR=VALUE...]: action-run in $repo; stdout and stderr in $out, exit code in $code
  : >"$work/output"
  out=$(cd "$repo" && env PATH="$bin:$PATH" GITHUB_OUTPUT="$work/output" "$@" bash "$SRC/scripts/action-run" 2>&1)
  code=$?
}
sarif_summary() {  # prints "executionSuccessful results uri:line..." of a SARIF file
  $python -c 'import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
print(run["invocations"][0]["executionSuccessful"], len(run["results"]),
      *sorted("%s:%d" % (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                         r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]))' "$1"
}
run INVAR_CONFIG=invar.json INVAR_SARIF=invar.sarif
check "project, all good: exit 0" test $code -eq 0
check "project, all good: exit-code output" test "$(cat "$work/output")" = "exit-code=0"
check "project, all good: no annotation" lacks "$out" "::error"
check "project, all good: judged YAML and JSON" contains "$out" "invar: routes/edge.yaml: accept"
check "project, all good: SARIF" test "$(sarif_summary "$repo/invar.sarif")" = "True 0"
cat >"$repo/routes/beta.yaml" <<'EOF'
routes:
  - path: /beta
    upstream: beta.internal:8080
  - path: /beta
    upstream: beta.example.com:80
EOF
cat >"$repo/flags/tv.json" <<'EOF'
{
  "client": "web",
  "flags": {"new-checkout": {"enabled": "yes"}}
}
EOF
run INVAR_CONFIG=invar.json INVAR_SARIF=invar.sarif
check "project, rejects: exit 1" test $code -eq 1
check "project, rejects: exit-code output" test "$(cat "$work/output")" = "exit-code=1"
check "project, rejects: YAML annotation" contains "$out" "::error file=routes/beta.yaml,line=4,col=11,title=routes.unique-path [unique]::"
check "project, rejects: YAML annotation (match)" contains "$out" "::error file=routes/beta.yaml,line=5,col=15,title=routes.upstream-internal [match]::"
check "project, rejects: JSON annotation" contains "$out" "::error file=flags/tv.json,line=3,col=41,title=schema [schema]::"
check "project, rejects: SARIF from the same check" \
  test "$(sarif_summary "$repo/invar.sarif")" = "True 3 flags/tv.json:3 routes/beta.yaml:4 routes/beta.yaml:5"
run INVAR_SARIF=invar.sarif  # no config: the invar.json of the working directory
check "project found without config: exit 1" test $code -eq 1
check "project found without config: annotations" contains "$out" "::error file=routes/beta.yaml,line=4"
run INVAR_CONFIG=invar.json INVAR_ARTIFACTS=flags INVAR_SARIF=invar.sarif  # narrowed to a directory
check "project narrowed to flags/: exit 1, flags only" test $code -eq 1 -a "$(sarif_summary "$repo/invar.sarif")" = "True 1 flags/tv.json:3"
run INVAR_CONFIG=missing.json INVAR_SARIF=invar.sarif
check "project file missing: exit 3" test $code -eq 3
check "project file missing: an ::error" contains "$out" "::error file=missing.json,title=invar cannot judge::"
check "project file missing: SARIF says the run failed" test "$(sarif_summary "$repo/invar.sarif")" = "False 0"
good="$SRC/examples/cloudflare-2025-features/good.json" bad="$SRC/examples/cloudflare-2025-features/bad.json"
run INVAR_CONTRACT="$SRC/rules/feature-file.contract.json" INVAR_ARTIFACTS="$good $bad" INVAR_SARIF=""
check "contract and artifacts (as before): exit 1" test $code -eq 1
check "contract and artifacts: annotations" contains "$out" "title=features.bounded [count]::"
run INVAR_CONTRACT="$SRC/rules/feature-file.contract.json" INVAR_ARTIFACTS="$bad" INVAR_BASELINE="$good" INVAR_SARIF=""
check "baseline: the delta family judged" contains "$out" "title=features.growth [delta]::"
run INVAR_TESTS="--allow-outside $SRC/rules" INVAR_SARIF=invar.sarif
check "tests (as before): exit 0" test $code -eq 0 -a "$(cat "$work/output")" = "exit-code=0"
# shellcheck disable=SC2016  # the input is meant to stay text
run INVAR_CONTRACT="$SRC/rules/feature-file.contract.json" INVAR_ARTIFACTS='$(touch pwned) `touch pwned`' INVAR_SARIF=""
check "an input is data, never shell" test $code -eq 3 -a ! -e "$repo/pwned"

# scripts/release-check: the tag against CMakeLists.txt, the binary and the packages.
out=$("$SRC/scripts/release-check" "v$version" --invar "$INVAR" --dist "$PKG_DIR" 2>&1)
check "release-check: the right tag agrees" test $? -eq 0
check "release-check: says what it checked" contains "$out" "v$version agrees with CMakeLists.txt, $INVAR and the packages in $PKG_DIR"
out=$("$SRC/scripts/release-check" "v$version.1" 2>&1)
check "release-check: a tag not vX.Y.Z" test $? -eq 1
wrong="v$((${version%%.*} + 1)).0.0"
out=$("$SRC/scripts/release-check" "$wrong" --invar "$INVAR" --dist "$PKG_DIR" 2>&1)
check "release-check: a wrong tag fails" test $? -eq 1
check "release-check: names CMakeLists.txt" contains "$out" "tag $wrong, but CMakeLists.txt says project(invar VERSION $version)"
check "release-check: names the binary" contains "$out" "--version prints \"invar $version\""
check "release-check: names the packages" contains "$out" "there is no $PKG_DIR/invar_${wrong#v}_amd64.deb"
mkdir "$work/dist" && cp "$PKG_DIR"/*.deb "$work/dist/" && cp "$tarball" "$work/dist/invar-9.9.9-linux-x86_64.tar.gz"
out=$("$SRC/scripts/release-check" "v$version" --dist "$work/dist" 2>&1)
check "release-check: a stray package fails" test $? -eq 1
check "release-check: names it" contains "$out" "also holds invar-9.9.9-linux-x86_64.tar.gz"

# The workflow files parse; action.yml's and the workflows' steps name scripts that exist.
out=$(cd "$SRC" && $python - 2>&1 <<'EOF'
import glob, os, re, yaml
for f in sorted(glob.glob(".github/workflows/*.yml") + ["action.yml"] + glob.glob("examples/ci/*.yml")):
    doc = yaml.safe_load(open(f))
    steps = doc["runs"]["steps"] if f == "action.yml" else [s for j in doc.get("jobs", {}).values() for s in j.get("steps", [])]
    for s in steps:
        for script in re.findall(r"scripts/[A-Za-z0-9_-]+", s.get("run", "")):
            assert os.access(script, os.X_OK), f"{f}: step {s.get('name')!r} runs {script}, not an executable file"
    print("parsed", f, len(steps), "steps")
release = yaml.safe_load(open(".github/workflows/release.yml"))
on = release.get("on", release.get(True))  # YAML 1.1: a bare on is true
assert on["push"]["tags"] == ["v*"], on
assert release["permissions"]["contents"] == "write"
print("release.yml: on tags v*, contents: write")
EOF
)
check "workflows and action.yml parse, their scripts exist" test $? -eq 0
check "release.yml: triggered by v* tags, may write releases" contains "$out" "release.yml: on tags v*, contents: write"
check "action.yml: parsed" contains "$out" "parsed action.yml 3 steps"
[[ $failed -gt 0 ]] && echo "$out"

echo "action: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
