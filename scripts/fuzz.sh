#!/usr/bin/env bash
# Runs every cargo-fuzz target for the given number of seconds (default 10), each seeded with
# the golden vectors listed for it in fuzz/seeds.txt. Installs cargo-fuzz if it is missing.
# libFuzzer needs nightly flags: use the nightly toolchain when installed, else stable with
# RUSTC_BOOTSTRAP (the same compiler accepts the flags then).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi
golden="$PWD/crates/wire/tests/golden"
cd fuzz
cargo "${toolchain[@]}" fuzz build
failed=0
ran=0
for target in $(cargo "${toolchain[@]}" fuzz list); do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  # seeds.txt lines: target, golden glob, and optionally how many leading bytes to strip
  # (a header target is seeded with the header of each golden frame).
  while read -r name pattern skip; do
    [ "$name" = "$target" ] || continue
    for seed in $golden/$pattern; do
      [ -f "$seed" ] || continue
      tail -c +"$(( ${skip:-0} + 1 ))" "$seed" > "$corpus/$(basename "$seed")"
    done
  done < seeds.txt
  echo "fuzz: $target for ${seconds}s ($(ls "$corpus" | wc -l) seeds)"
  if cargo "${toolchain[@]}" fuzz run "$target" "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
       -max_len=1048576 >"/tmp/fuzz-$target.log" 2>&1; then
    ran=$((ran + 1))
  else
    echo "fuzz: $target FAILED; tail of /tmp/fuzz-$target.log:"
    tail -40 "/tmp/fuzz-$target.log"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $ran passed, $failed failed"
[ "$ran" -gt 0 ] && [ "$failed" -eq 0 ]
