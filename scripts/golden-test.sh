#!/usr/bin/env bash
# Golden vectors, both ways, against the official Java classes:
# 1. regenerate them with the Java generator and fail if the committed ones drifted;
# 2. re-encode every golden with our codec (the golden_* tests write their encodings when
#    FERROCKET_GOLDEN_OUT is set) and have the Java classes parse them back to equal objects.
set -euo pipefail
cd "$(dirname "$0")/.."
golden=crates/wire/tests/golden
out="$PWD/target/golden-reencoded"
interop/java/golden.sh check "$golden"
rm -rf "$out"
FERROCKET_GOLDEN_OUT="$out" cargo test -q -p ferrocket-wire \
  --test golden_frames --test golden_bodies --test golden_messages
interop/java/golden.sh verify "$golden" "$out"
