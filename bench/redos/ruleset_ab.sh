#!/bin/sh
# regex_safe at rule-set scale, before and after (issue 34): builds
# bench/regex_ruleset.cpp against src/regex of BASE (a git ref, default main)
# and of the work tree, with g++ -O2 (the analysis needs only src/regex), then
# runs them A B A B on bench/redos/ruleset.json (each pattern's CPU time the
# least of REPEATS runs) and prints each run's markdown table, with peak RSS.
#   bench/redos/ruleset_ab.sh [BASE] [REPEATS]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
base=${1:-main}
repeats=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/base/regex"
for f in backtracking.cpp backtracking.hpp nfa.cpp nfa.hpp pattern_tree.cpp pattern_tree.hpp; do
  git -C "$root" show "$base:src/regex/$f" > "$tmp/base/regex/$f"
done
g++ -std=c++20 -O2 -I"$tmp/base" "$root/bench/regex_ruleset.cpp" "$tmp"/base/regex/*.cpp -o "$tmp/A"
g++ -std=c++20 -O2 -I"$root/src" "$root/bench/regex_ruleset.cpp" "$root/src/regex/backtracking.cpp" \
  "$root/src/regex/nfa.cpp" "$root/src/regex/pattern_tree.cpp" -o "$tmp/B"
for run in A B A B; do
  echo "### $run ($( [ $run = A ] && echo "$base" || echo "work tree"))"
  /usr/bin/time -f "peak RSS %M KB, minor faults %R, user %U s" "$tmp/$run" "$root/bench/redos/ruleset.json" "$repeats" \
    2>"$tmp/err" || true
  grep "peak RSS" "$tmp/err"
  echo
done
