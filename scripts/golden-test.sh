#!/usr/bin/env bash
# Golden vectors, both ways, against the official Java classes:
# 1. regenerate them with the Java generator and fail if the committed ones drifted;
# 2. re-encode every golden with our codec and have the Java classes parse it back to equal objects.
set -euo pipefail
cd "$(dirname "$0")/.."
golden=crates/wire/tests/golden
out=target/golden-reencoded
interop/java/golden.sh check "$golden"
rm -rf "$out"
cargo run -q -p ferrocket-wire --example reencode -- "$golden" "$out"
interop/java/golden.sh verify "$golden" "$out"
