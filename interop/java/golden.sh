#!/usr/bin/env bash
# Golden wire vectors from the official Apache RocketMQ artifacts (5.3.3 and 4.9.8).
#
#   golden.sh generate <outdir>              write all goldens (5.3.3 -> <outdir>, 4.9.8 -> <outdir>/v49)
#   golden.sh check <committed_dir>          regenerate into a temp dir and diff -r against <committed_dir>
#   golden.sh verify <golden_dir> <rust_dir> decode every file of <rust_dir> and the golden at the same
#                                            relative path with the Java classes and compare them
#
# The Maven build (mvn -q -B package -DskipTests) runs only when a jar is missing or a pom/source file is
# newer than the last successful build. Extra Maven arguments can be passed in $GOLDEN_MVN_ARGS (e.g. -o).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODULES="golden-core,golden,golden49"
STAMP="$HERE/golden/target/.golden-build-stamp"
JAVA="${JAVA:-java}"
JAVA_OPTS=(-Xss4m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)

WORK_DIR=""
cleanup() {
  if [[ -n "$WORK_DIR" ]]; then
    rm -rf "$WORK_DIR" "$WORK_DIR.diff"
  fi
}
trap cleanup EXIT

die() {
  echo "golden.sh: $*" >&2
  exit 2
}

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

needs_build() {
  [[ -f "$STAMP" ]] || return 0
  local f
  for f in "$HERE/golden/target/golden.jar" "$HERE/golden49/target/golden49.jar" \
           "$HERE/golden/target/lib" "$HERE/golden49/target/lib"; do
    [[ -e "$f" ]] || return 0
  done
  if [[ -n "$(find "$HERE/pom.xml" "$HERE/golden-core" "$HERE/golden" "$HERE/golden49" \
      -path '*/target' -prune -o -type f -newer "$STAMP" -print -quit)" ]]; then
    return 0
  fi
  return 1
}

build() {
  if needs_build; then
    echo "golden.sh: building (mvn -q -B package -DskipTests -pl $MODULES -am)" >&2
    # (Maven 3.8 prints stray ESC[0m resets even with -q -B; strip them. pipefail keeps mvn's status.)
    # shellcheck disable=SC2086
    (cd "$HERE" && mvn -q -B -Dstyle.color=never package -DskipTests -pl "$MODULES" -am ${GOLDEN_MVN_ARGS:-}) 2>&1 \
      | sed $'s/\e\\[0m//g' | sed '/^$/d' >&2 || die "maven build failed"
    touch "$STAMP"
  fi
}

run5() {
  "$JAVA" "${JAVA_OPTS[@]}" -cp "$HERE/golden/target/golden.jar:$HERE/golden/target/lib/*" \
    org.ferrocket.interop.golden.v5.Main5 "$@"
}

run49() {
  "$JAVA" "${JAVA_OPTS[@]}" -cp "$HERE/golden49/target/golden49.jar:$HERE/golden49/target/lib/*" \
    org.ferrocket.interop.golden.v49.Main49 "$@"
}

# generate_into <empty dir>
generate_into() {
  local dir="$1"
  run5 generate "$dir" || die "5.3.3 generator failed"
  run49 generate "$dir/v49" || die "4.9.8 generator failed"
}

cmd_generate() {
  [[ $# -eq 1 ]] || usage
  local out="$1" tmp
  build
  tmp="$(mktemp -d)"
  WORK_DIR="$tmp"
  generate_into "$tmp"
  mkdir -p "$out"
  # Refuse to wipe a directory that does not look like a golden directory.
  if [[ -n "$(ls -A "$out" 2>/dev/null | grep -v '^\.' || true)" ]] \
     && ! head -n 1 "$out/README.md" 2>/dev/null | grep -q '^# Golden wire vectors'; then
    die "$out is not empty and has no golden README.md; refusing to overwrite it"
  fi
  # Replace the previous goldens (keep dot files such as .gitattributes).
  find "$out" -mindepth 1 -maxdepth 1 ! -name '.*' -exec rm -rf {} +
  cp -R "$tmp"/. "$out"/
  echo "golden.sh: wrote $(find "$out" -type f ! -name '.*' | wc -l) files to $out" >&2
}

cmd_check() {
  [[ $# -eq 1 ]] || usage
  local committed="$1" tmp
  [[ -d "$committed" ]] || die "no such directory: $committed"
  build
  tmp="$(mktemp -d)"
  WORK_DIR="$tmp"
  generate_into "$tmp"
  if diff -r -q "$tmp" "$committed" >"$tmp.diff" 2>&1; then
    rm -f "$tmp.diff"
    echo "golden.sh: OK, $(find "$tmp" -type f | wc -l) files regenerated identically to $committed"
    return 0
  fi
  echo "golden.sh: GOLDEN DRIFT: regenerating does not reproduce $committed" >&2
  sed "s#$tmp#<regenerated>#g" "$tmp.diff" >&2
  rm -f "$tmp.diff"
  echo "golden.sh: run 'golden.sh generate $committed' to update the committed goldens (and review the diff)." >&2
  exit 1
}

# run_verifier <label> <cmd...>: prints the per-file lines, adds the counts to PASSED/FAILED
run_verifier() {
  local label="$1"
  shift
  local out rc=0
  out="$("$@")" || rc=$?
  local summary
  summary="$(printf '%s\n' "$out" | grep '^#summary ' | tail -n 1 || true)"
  printf '%s\n' "$out" | grep -v '^#summary ' | sed '/^$/d' || true
  if [[ -z "$summary" || $rc -gt 1 ]]; then
    echo "FAIL <$label verifier>: did not complete (exit status $rc)"
    FAILED=$((FAILED + 1))
    return
  fi
  local p f
  read -r _ p f <<<"$summary"
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
}

cmd_verify() {
  [[ $# -eq 2 ]] || usage
  local golden="$1" rust="$2"
  [[ -d "$golden" ]] || die "no such golden directory: $golden"
  [[ -d "$rust" ]] || die "no such directory: $rust"
  build
  PASSED=0
  FAILED=0
  run_verifier "5.3.3" run5 verify "$golden" "$rust" --skip-prefix v49/
  if [[ -d "$rust/v49" ]]; then
    run_verifier "4.9.8" run49 verify "$golden/v49" "$rust/v49" --display-prefix v49/
  fi
  echo "$PASSED passed, $FAILED failed"
  if [[ $FAILED -gt 0 ]]; then
    exit 1
  fi
  if [[ $PASSED -eq 0 ]]; then
    echo "golden.sh: nothing was compared (no files under $rust)" >&2
    exit 1
  fi
}

[[ $# -ge 1 ]] || usage
command -v "$JAVA" >/dev/null || die "java not found"
sub="$1"
shift
case "$sub" in
  generate) cmd_generate "$@" ;;
  check) cmd_check "$@" ;;
  verify) cmd_verify "$@" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
