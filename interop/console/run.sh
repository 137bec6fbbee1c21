#!/usr/bin/env bash
# The web console in a real browser: headless Chromium (Debian's package) drives the console of
# `ferrocket standalone` while the official Java client 5.3.3 sends and consumes
# (console-test.mjs says what is checked). Screenshots: interop/console/target/screenshots/.
#
# Installs what it needs when missing: chromium (apt-get), puppeteer-core (npm, pinned in
# package.json), the Java client's classpath (mvn, traffic/pom.xml). Needs node, npm, java, mvn.
# Builds ferrocket unless $FERROCKET_BIN names one. Exits non-zero on any failed check.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
started=$SECONDS

die() {
  echo "console-test: $*" >&2
  exit 2
}

for tool in node npm java mvn; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
if ! command -v chromium >/dev/null; then
  echo "console-test: installing chromium (apt-get)"
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null || die "could not install chromium"
fi
if [[ ! -d "$HERE/node_modules/puppeteer-core" ]]; then
  (cd "$HERE" && npm install --no-audit --no-fund --silent) || die "npm install failed"
fi
classpath_file="$HERE/traffic/target/classpath.txt"
if [[ ! -s "$classpath_file" || "$HERE/traffic/pom.xml" -nt "$classpath_file" ]]; then
  (cd "$HERE/traffic" && mvn -B -q -ntp dependency:build-classpath -Dmdep.outputFile=target/classpath.txt) \
    || die "could not resolve the Java client's classpath"
fi
if [[ -z "${FERROCKET_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build -q -p ferrocket) || die "cargo build -p ferrocket failed"
  FERROCKET_BIN="$ROOT/target/debug/ferrocket"
fi

export FERROCKET_BIN CHROMIUM="$(command -v chromium)" JAVA_CLASSPATH="$(cat "$classpath_file")"
export ARTEFACTS="$HERE/target/screenshots"
rm -rf "$ARTEFACTS"
status=0
node "$HERE/console-test.mjs" || status=$?
echo "console-test: $((SECONDS - started)) s; screenshots in $ARTEFACTS"
exit $status
