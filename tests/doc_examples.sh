#!/usr/bin/env bash
# Compiles every C and C++ example of the public headers' comments and of the
# embedding docs against the built library (issue 28.24: invar.h's example
# did not compile). An example is a fenced block whose info string is c or
# cpp, then at most one marker:
#   (none)      a whole program: compiled and linked as it is
#   fragment    statements: wrapped in a function after tests/doc_examples/prelude.h(pp),
#               which declares the names examples use without defining them
#   skip REASON not compiled (the reason is printed)
# Any other marker fails the test, as does finding no example at all.
# Needs SRC (the source tree), LIB (libinvar.so) and optionally CC and CXX.
set -u
: "${SRC:?}" "${LIB:?}"
CC=${CC:-gcc} CXX=${CXX:-g++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=("$SRC"/include/invar/*.h "$SRC"/include/invar/*.hpp "$SRC/docs/embedding.md")

# Writes each example to $work/N.body and a line "N lang marker file line reason" to $work/manifest.
awk -v out="$work" '
  FNR == 1 { open_fence = 0; header = FILENAME !~ /\.md$/ }
  {
    line = $0
    if (header && !sub(/^[ \t]*(\/\/|\*)[ ]?/, "", line)) line = ""   # only comments hold examples
    if (!open_fence && match(line, /^[ \t]*```/)) {
      open_fence = 1
      info = substr(line, RLENGTH + 1)
      n_words = split(info, words, /[ \t]+/)
      lang = words[1]; marker = n_words > 1 ? words[2] : "whole"
      reason = info; sub(/^[^ \t]*[ \t]*[^ \t]*[ \t]*/, "", reason)
      if (lang == "c" || lang == "cpp") {
        ++n
        body = out "/" n ".body"
        printf "" > body
        printf "%d\t%s\t%s\t%s\t%d\t%s\n", n, lang, marker, FILENAME, FNR + 1, reason > (out "/manifest")
      } else {
        body = ""
      }
      next
    }
    if (open_fence && line ~ /^[ \t]*```[ \t]*$/) { open_fence = 0; if (body != "") close(body); body = ""; next }
    if (open_fence && body != "") print line > body
  }
' "${files[@]}"

touch "$work/manifest"
libdir=$(dirname "$LIB")
compiled=0 wrapped=0 skipped=0 failed=0
while IFS=$'\t' read -r n lang marker file line reason; do
  rel=${file#"$SRC"/}
  where="$rel:$line"
  ext=$([[ $lang == c ]] && echo c || echo cpp)
  src="$work/$n.$ext"
  case $marker in
    whole)
      { echo "#line $line \"$rel\""; cat "$work/$n.body"; } >"$src"
      compiled=$((compiled + 1)) ;;
    fragment)
      { echo "#include \"$SRC/tests/doc_examples/prelude.$([[ $lang == c ]] && echo h || echo hpp)\""
        echo "int example(void);"
        echo "int example(void) {"
        echo "#line $line \"$rel\""
        cat "$work/$n.body"
        echo "return 0;"
        echo "}"
        echo "int main(void) { return 0; }"; } >"$src"
      wrapped=$((wrapped + 1)) ;;
    skip)
      echo "skipped $where: ${reason:-(no reason given)}"
      skipped=$((skipped + 1))
      [[ -n $reason ]] || failed=$((failed + 1))
      continue ;;
    *)
      echo "FAIL $where: unknown marker \"$marker\" (fragment or skip)"
      failed=$((failed + 1))
      continue ;;
  esac
  if [[ $lang == c ]]; then
    cmd=("$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror)
  else
    cmd=("$CXX" -std=c++20 -Wall -Wextra -Wpedantic -Werror)
  fi
  [[ $marker == fragment ]] && cmd+=(-Wno-unused-variable -Wno-unused-but-set-variable)
  if ! "${cmd[@]}" -I"$SRC/include" "$src" "$LIB" -Wl,-rpath,"$libdir" -o "$work/$n.out" 2>"$work/$n.log"; then
    echo "FAIL $where ($lang $marker) does not compile:"
    head -30 "$work/$n.log"
    failed=$((failed + 1))
  fi
done <"$work/manifest"
total=$((compiled + wrapped + skipped))
[[ $total -gt 0 ]] || { echo "FAIL no example found in ${files[*]}"; failed=$((failed + 1)); }
echo "doc examples: $compiled programs and $wrapped fragments compiled, $skipped skipped, $failed failed"
[[ $failed -eq 0 ]]
