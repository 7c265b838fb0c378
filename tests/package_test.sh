#!/usr/bin/env bash
# The installed package, as an embedder sees it: install to a temporary
# prefix; check the shared library exports only invar_ and invar:: symbols;
# compile the C example with gcc as C11 (pkg-config) and drive it through
# good, oversized, good updates; build the C++ example with find_package
# (shared, then static) and gate through it. Needs BUILD (the build tree) and
# SRC (the source tree). Prints "package: N passed, N failed".
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

prefix="$work/prefix"
cmake --install "$BUILD" --prefix "$prefix" >/dev/null || { echo "FAIL install"; exit 1; }
lib=$(find "$prefix" -name 'libinvar.so' | head -1)
libdir=$(dirname "$lib")

exported=$(nm -D --defined-only -C "$lib" | awk '{ $1 = ""; $2 = ""; sub(/^ +/, ""); print }')
strays=$(grep -v -e '^invar_' -e '^invar::' -e '^typeinfo for invar::' -e '^typeinfo name for invar::' \
  -e '^vtable for invar::' <<<"$exported")
check "exports only invar_ and invar:: symbols" test -z "$strays"
[[ -n $strays ]] && echo "$strays" | head
check "exports the C ABI" contains "$exported" "invar_guard_update"
check "hides the internals" test -z "$(grep -e 'invar::schema::' -e 'invar::store::' <<<"$exported")"
check "soname carries the major version" contains "$(readelf -d "$lib")" "Library soname: [libinvar.so.0]"

# The C consumer, compiled as C11 with gcc against the installed headers and library.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
check "C example compiles (gcc -std=c11 -Werror)" gcc -std=c11 -Wall -Wextra -Wpedantic -Werror \
  "$SRC/examples/embed-c/main.c" $(pkg-config --cflags --libs invar) -Wl,-rpath,"$libdir" -o "$work/embed-c"
good="$SRC/examples/cloudflare-2025-features/good.json"
truncate -s 17M "$work/oversized.json"  # over the contract's 16MiB max_bytes
out=$("$work/embed-c" "$SRC/rules/feature-file.contract.json" "$good" "$work/oversized.json" "$good" 2>&1)
code=$?
check "C example: exits 0, serving a config" test $code -eq 0
check "C example: the good update is accepted" contains "$out" "update $good: accepted"
check "C example: the oversized one is refused, the LKG kept" \
  contains "$out" "update $work/oversized.json: rejected, keeping the last-known-good"
check "C example: and says why" contains "$out" "because artifact.size: artifact is 17825792 bytes, over max_bytes 16777216"
check "C example: still serving the good config" test "$(grep -c "serving a $(stat -c %s "$good")-byte config" <<<"$out")" -eq 3
out=$("$work/embed-c" "$SRC/rules/feature-file.contract.json" "$SRC/examples/cloudflare-2025-features/bad.json" 2>&1)
check "C example: a bad first update leaves it without a config (exit 1)" test $? -eq 1
check "C example: and says why" contains "$out" "rejected, no config yet"

# The C++ distributor through find_package(invar), shared then static.
for kind in shared static; do
  static=OFF
  [[ $kind == static ]] && static=ON
  if cmake -S "$SRC/examples/embed-cpp" -B "$work/cpp-$kind" -DCMAKE_PREFIX_PATH="$prefix" -DINVAR_STATIC=$static \
       >"$work/cpp-$kind.log" 2>&1 && cmake --build "$work/cpp-$kind" >>"$work/cpp-$kind.log" 2>&1; then
    passed=$((passed + 1))
  else
    echo "FAIL C++ example builds ($kind)"; tail -20 "$work/cpp-$kind.log"; failed=$((failed + 1)); continue
  fi
  state="$work/state-$kind" publish="$work/publish-$kind.json"
  out=$("$work/cpp-$kind/embed-cpp" "$SRC/rules/feature-file.contract.json" "$state" "$publish" \
    "$good" "$SRC/examples/cloudflare-2025-features/bad.json" 2>&1)
  check "C++ example ($kind): pins the bad file (exit 2)" test $? -eq 2
  check "C++ example ($kind): says what it did" contains "$out" "bad.json: rejected; the last-known-good was published again"
  check "C++ example ($kind): the good file is what is published" cmp -s "$publish" "$good"
done

echo "package: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
