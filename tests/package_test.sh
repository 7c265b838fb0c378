#!/usr/bin/env bash
# The installed package, as an embedder sees it: install to a temporary
# prefix; check the shared library exports only invar_ and invar:: symbols;
# compile the C example with gcc as C11 (pkg-config) and drive it through
# good, oversized, good updates; build the C++ example with find_package
# (shared, then static) and gate through it. Needs BUILD (the build tree) and
# SRC (the source tree); the packages are made in PKG_DIR when set (ctest: for
# tests/action_test.sh), else in a temporary directory. Prints "package: N passed, N failed".
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

# The packages a pipeline drops in (CPack): the .deb and the relocatable tarball.
pkg="${PKG_DIR:-$work/pkg}"
rm -rf "$pkg" && mkdir -p "$pkg"  # no package of an earlier version left beside these
if (cd "$BUILD" && cpack -G DEB -B "$pkg" >"$work/cpack-deb.log" 2>&1 && cpack -G TGZ -B "$pkg" >"$work/cpack-tgz.log" 2>&1); then
  passed=$((passed + 1))
  deb=$(ls "$pkg"/invar_*_amd64.deb)
  info=$(dpkg-deb --info "$deb")
  for dep in libc6 libcurl4 libfmt9 libre2-9 libsimdjson14 libidn2-0 libunistring2 libstdc++6; do
    check "deb: Depends names Debian's $dep" contains "$(grep '^ Depends:' <<<"$info")" "$dep"
  done
  contents=$(dpkg-deb --contents "$deb" | awk '{ print $6 }')
  for f in ./usr/bin/invar ./usr/lib/libinvar.so.0 ./usr/include/invar/report.hpp ./usr/share/man/man1/invar.1 \
           ./usr/share/bash-completion/completions/invar ./usr/share/zsh/vendor-completions/_invar \
           ./usr/share/fish/vendor_completions.d/invar.fish ./usr/share/invar/rules/feature-file.contract.json; do
    check "deb: holds $f" contains "$contents" "$f"
  done
  mkdir "$work/deb" && dpkg-deb -x "$deb" "$work/deb"
  for f in usr/bin/invar usr/lib/libinvar.so.0 usr/lib/libinvar.a; do
    check "deb: $f has no fault-injection points" test ! -e "$work/deb/$f" -o -z "$(grep -l INVAR_FAULT "$work/deb/$f" 2>/dev/null)"
  done
  check "deb: holds no bundled third-party library" test -z "$(grep -e libsimdjson -e libcurl -e libfmt <<<"$contents")"
  tarball=$(ls "$pkg"/invar-*-linux-x86_64.tar.gz)
  mkdir "$work/unpacked" && tar xzf "$tarball" -C "$work/unpacked"
  root=$(ls -d "$work"/unpacked/invar-*-linux-x86_64)
  check "tarball: its CLI has no fault-injection points" test -z "$(grep -l INVAR_FAULT "$root/bin/invar")"
  check "tarball: RUNPATH \$ORIGIN/../lib" contains "$(readelf -d "$root/bin/invar")" 'Library runpath: [$ORIGIN/../lib]'
  # Every library but glibc's resolves inside the tarball.
  outside=$(env -i ldd "$root/bin/invar" | grep '=>' | grep -v "$root/" | grep -v -e 'libc\.so' -e 'libm\.so' -e 'libresolv\.so' -e 'ld-linux')  # glibc's
  check "tarball: no library outside it but glibc's" test -z "$outside"
  [[ -n $outside ]] && echo "$outside"
  out=$(cd "$work" && env -i "$root/bin/invar" check --contract "$root/share/invar/rules/feature-file.contract.json" -q \
        "$SRC/examples/cloudflare-2025-features/bad.json" 2>&1)
  check "tarball: its CLI runs with a clean environment (exit 1 on the incident)" test $? -eq 1
  check "tarball: and judges" contains "$out" "REJECT"
  check "tarball: --version names the libraries" contains "$(env -i "$root/bin/invar" --version)" "built with simdjson"
else
  echo "FAIL cpack"; tail -20 "$work"/cpack-*.log; failed=$((failed + 1))
fi

# Completions and the man page, as installed.
comp="$prefix/share/bash-completion/completions/invar"
words=$(bash -c "source '$comp'; COMP_WORDS=(invar ch); COMP_CWORD=1; _invar; echo \"\${COMPREPLY[*]}\"")
check "bash completion: subcommands" contains "$words" "check"
words=$(bash -c "source '$comp'; COMP_WORDS=(invar gate --etcd-u); COMP_CWORD=2; _invar; echo \"\${COMPREPLY[*]}\"")
check "bash completion: a subcommand's flags" test "$words" = "--etcd-user"
check "fish completion: every subcommand" test "$(grep -c "__fish_use_subcommand' -a " "$prefix/share/fish/vendor_completions.d/invar.fish")" -eq 20
check "bash completion: --format's values" contains "$(cat "$prefix/share/bash-completion/completions/invar")" 'check:--format) COMPREPLY=($(compgen -W "human json sarif junit github tap"'
check "fish completion: --format's values" contains "$(cat "$prefix/share/fish/vendor_completions.d/invar.fish")" "-l format -d 'see invar check --help' -xa 'human json sarif junit github tap'"
check "man page" contains "$(cat "$prefix/share/man/man1/invar.1")" ".SH DESCRIPTION"
check "man pages: one per subcommand" test "$(ls "$prefix"/share/man/man1/invar-*.1 | wc -l)" -eq 20
check "man page of check" contains "$(cat "$prefix/share/man/man1/invar-check.1")" '\-\-resolve'

echo "package: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
