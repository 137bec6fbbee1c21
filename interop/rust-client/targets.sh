# Shared by run.sh and bench.sh: start the official Java 5.3.3 name server and broker, or ours,
# on free loopback ports (sets $namesrv), and stop them again (cleanup). The caller sets $here,
# $root and $work, and may set JAVA_BROKER_JVM (extra JVM flags, e.g. a bigger heap for benchmarks)
# and FERROCKET_BIN (a prebuilt ferrocket instead of the debug build).
die() { echo "rust-client/${0##*/}: $*" >&2; exit 2; }
children=()
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
  children=()
  # A broker a test restarted is no child of ours: stop it by the pid its restart script wrote.
  local pidfile pid
  for pidfile in "$work"/*/broker.pid; do
    [[ -s "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
  done
}

# Starts the broker command "$@" in the background (log: $1/broker.log, pid: $1/broker.pid) and
# writes $1/restart-broker.sh, which the SDK suite's restart test runs (FERROCKET_CLIENT_RESTART_BROKER):
# it stops the broker with SIGTERM, as an operator's restart does, starts the same command on
# the same store and ports, and returns once the log shows /$2/ again.
launch_broker() {
  local dir="$1" pattern="$2"; shift 2
  "$@" > "$dir/broker.log" 2>&1 &
  children+=($!)
  echo $! > "$dir/broker.pid"
  {
    echo '#!/usr/bin/env bash'
    echo '# Written by interop/rust-client/targets.sh: restarts this target'"'"'s broker.'
    echo 'set -euo pipefail'
    printf 'dir=%q\npattern=%q\ncmd=(' "$dir" "$pattern"; printf '%q ' "$@"; echo ')'
    cat <<'SCRIPT'
pid="$(cat "$dir/broker.pid")"
kill -TERM "$pid" 2>/dev/null || true
# Gone, or a zombie its parent (run.sh) has not reaped yet.
for _ in $(seq 600); do
  state="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
  [[ -z "$state" || "$state" == Z* ]] && break
  sleep 0.1
done
restarts=$(( $(cat "$dir/restarts" 2>/dev/null || echo 0) + 1 ))
echo "$restarts" > "$dir/restarts"
log="$dir/broker.restart-$restarts.log"
setsid "${cmd[@]}" > "$log" 2>&1 < /dev/null &
echo $! > "$dir/broker.pid"
for _ in $(seq 600); do
  if grep -qE "$pattern" "$log" 2>/dev/null; then exit 0; fi
  sleep 0.2
done
echo "restart-broker.sh: the broker did not boot again; see $log" >&2
exit 1
SCRIPT
  } > "$dir/restart-broker.sh"
  chmod +x "$dir/restart-broker.sh"
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
  # shellcheck disable=SC2086 # JAVA_BROKER_JVM is a list of flags
  launch_broker "$dir" "The broker\[.*\] boot success" env "ROCKETMQ_HOME=$dir/home" \
    java "${jvm[@]}" ${JAVA_BROKER_JVM:-} -cp "$cp" org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf"
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
  launch_broker "$dir" "^listening broker " env NO_COLOR=1 "$bin" broker -c "$dir/broker.conf"
  await_line "$dir/broker.log" "^listening broker " 60
  namesrv="127.0.0.1:$namesrv_port"
}

