#!/usr/bin/env bash
# Runs the official RocketMQ Go client (rocketmq-client-go v2) against Ferrocket's binaries.
#
# Builds the debug binary first unless FERROCKET_BIN names one; the first run downloads the Go
# modules pinned in go.mod/go.sum from the module proxy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${FERROCKET_BIN:-}" ]]; then
    (cd "$here/../.." && cargo build -p ferrocket)
fi
cd "$here"
exec go test ./... -count=1 -v "$@"
