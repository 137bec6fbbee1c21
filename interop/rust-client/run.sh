#!/usr/bin/env bash
# The Rust SDK (crates/client) against two targets, the same test body for both
# (crates/client/tests/interop.rs): first the official Apache RocketMQ 5.3.3 name server and
# broker, then ours (`ferrocket namesrv` and `ferrocket broker -c broker.conf`). Each target is started here on free loopback ports
# and handed to `cargo test -p ferrocket-client --test interop` in FERROCKET_CLIENT_NAMESRV; the
# test fails (never skips) without it.
#
#   run.sh [java|ferrocket]...   (default: both, Java first)
#
# Needs java (17+) and mvn for the Java target (the classpath comes from Maven Central or ~/.m2).
# Logs: interop/rust-client/target/<target>/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$here/target"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(java ferrocket)

die() { echo "rust-client/run.sh: $*" >&2; exit 2; }
children=()
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
  children=()
}
trap cleanup EXIT

# A free loopback port p whose neighbours p-2 and p+1 are free too (a Java broker also listens
# on p-2, its "fast" port, and p+1, its HA port).
free_port() {
  python3 - <<'PY'
import socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p > 1030 and p < 65534 and free(p - 2) and free(p + 1):
        print(p); break
PY
}

# Waits up to $3 seconds for the regex $2 to appear in file $1; fails with the file's tail.
await_line() {
  local file="$1" pattern="$2" seconds="$3"
  for _ in $(seq "$((seconds * 5))"); do
    if grep -qE "$pattern" "$file" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  tail -n 30 "$file" >&2 || true
  die "no /$pattern/ in $file within $seconds s"
}

java_classpath() {
  local file="$work/rocketmq5.classpath"
  if [[ ! -s "$file" ]]; then
    command -v mvn >/dev/null || die "mvn not found (Maven 3.8+ is needed for the Java target)"
    mkdir -p "$work"
    local plugin=org.apache.maven.plugins:maven-dependency-plugin:3.6.1:build-classpath
    (cd "$here" && { mvn -B -q -o "$plugin" -Dmdep.outputFile="$file" -Dmdep.includeScope=runtime \
      || mvn -B -q -ntp "$plugin" -Dmdep.outputFile="$file" -Dmdep.includeScope=runtime; }) \
      >&2 || die "cannot resolve the RocketMQ 5.3.3 classpath"
  fi
  cat "$file"
}

start_java() {
  command -v java >/dev/null || die "java not found (a JDK 17 is needed)"
  local dir="$work/java" cp namesrv_port broker_port
  rm -rf "$dir"; mkdir -p "$dir/home"
  cp="$(java_classpath)"
  namesrv_port="$(free_port)"
  broker_port="$(free_port)"
  local jvm=(-Xms256m -Xmx256m -XX:MaxDirectMemorySize=128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -Djava.awt.headless=true "-Duser.home=$dir/home" "-Drocketmq.home.dir=$dir/home"
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-exports=java.base/sun.nio.ch=ALL-UNNAMED)
  printf '%s\n' "listenPort=$namesrv_port" bindAddress=127.0.0.1 "kvConfigPath=$dir/kvConfig.json" \
    "configStorePath=$dir/namesrv.properties" defaultThreadPoolNums=4 clientRequestThreadPoolNums=2 \
    > "$dir/namesrv.conf"
  ROCKETMQ_HOME="$dir/home" java "${jvm[@]}" -cp "$cp" org.apache.rocketmq.namesrv.NamesrvStartup \
    -c "$dir/namesrv.conf" > "$dir/namesrv.log" 2>&1 &
  children+=($!)
  await_line "$dir/namesrv.log" "The Name Server boot success" 60
  printf '%s\n' "namesrvAddr=127.0.0.1:$namesrv_port" brokerClusterName=DefaultCluster brokerName=broker-a \
    brokerId=0 brokerRole=ASYNC_MASTER flushDiskType=ASYNC_FLUSH brokerIP1=127.0.0.1 brokerIP2=127.0.0.1 \
    "listenPort=$broker_port" bindAddress=127.0.0.1 "storePathRootDir=$dir/store" \
    autoCreateTopicEnable=true autoCreateSubscriptionGroup=true enablePropertyFilter=true \
    "mappedFileSizeCommitLog=$((64 * 1024 * 1024))" "mappedFileSizeConsumeQueue=600000" \
    maxHashSlotNum=10000 maxIndexNum=40000 traceTopicEnable=false \
    sendMessageThreadPoolNums=2 pullMessageThreadPoolNums=4 litePullMessageThreadPoolNums=2 \
    adminBrokerThreadPoolNums=2 clientManageThreadPoolNums=2 consumerManageThreadPoolNums=2 \
    > "$dir/broker.conf"
  ROCKETMQ_HOME="$dir/home" java "${jvm[@]}" -cp "$cp" org.apache.rocketmq.broker.BrokerStartup \
    -c "$dir/broker.conf" > "$dir/broker.log" 2>&1 &
  children+=($!)
  await_line "$dir/broker.log" "The broker\[.*\] boot success" 120
  namesrv="127.0.0.1:$namesrv_port"
}

start_ferrocket() {
  local dir="$work/ferrocket" bin="${FERROCKET_BIN:-$root/target/debug/ferrocket}"
  if [[ -z "${FERROCKET_BIN:-}" ]]; then
    (cd "$root" && cargo build -q -p ferrocket) || die "cargo build -p ferrocket failed"
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  local namesrv_port broker_port
  namesrv_port="$(free_port)"
  broker_port="$(free_port)"
  NO_COLOR=1 "$bin" namesrv --host 127.0.0.1 --port "$namesrv_port" --data-dir "$dir/namesrv" \
    > "$dir/namesrv.log" 2>&1 &
  children+=($!)
  await_line "$dir/namesrv.log" "^listening namesrv " 60
  # The same settings as the Java broker's where ours has them (SQL92 needs enablePropertyFilter).
  printf '%s\n' "namesrvAddr=127.0.0.1:$namesrv_port" brokerClusterName=DefaultCluster brokerName=broker-a \
    brokerId=0 brokerRole=ASYNC_MASTER flushDiskType=ASYNC_FLUSH brokerIP1=127.0.0.1 bindAddress=127.0.0.1 \
    "listenPort=$broker_port" "storePathRootDir=$dir/store" autoCreateTopicEnable=true \
    autoCreateSubscriptionGroup=true enablePropertyFilter=true > "$dir/broker.conf"
  NO_COLOR=1 "$bin" broker -c "$dir/broker.conf" > "$dir/broker.log" 2>&1 &
  children+=($!)
  await_line "$dir/broker.log" "^listening broker " 60
  namesrv="127.0.0.1:$namesrv_port"
}

(cd "$root" && cargo test -q -p ferrocket-client --test interop --no-run) || die "cannot build the interop test"
status=0
for target in "${targets[@]}"; do
  case "$target" in
    java) start_java ;;
    ferrocket) start_ferrocket ;;
    *) die "unknown target $target (java or ferrocket)" ;;
  esac
  started=$SECONDS
  echo "rust-client/run.sh: $target at $namesrv"
  if (cd "$root" && FERROCKET_CLIENT_NAMESRV="$namesrv" FERROCKET_CLIENT_TARGET="$target" \
      cargo test -q -p ferrocket-client --test interop -- --ignored --test-threads=1); then
    echo "rust-client/run.sh: $target passed in $((SECONDS - started)) s"
  else
    echo "rust-client/run.sh: $target FAILED after $((SECONDS - started)) s; logs in $work/$target" >&2
    status=1
  fi
  cleanup
done
exit $status
