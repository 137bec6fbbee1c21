#!/usr/bin/env bash
# The Rust SDK (`ferrocket bench producer|consumer`, crates/cli/src/bench_sdk.rs) beside the
# official Apache RocketMQ 5.3.3 Java client (SdkBench.java, measured the same way) against the
# SAME broker in one run: first ours (`ferrocket namesrv` + `ferrocket broker`), then the official
# Java 5.3.3 name server and broker. Per target:
#   1. topics BenchSend and BenchConsume with 8 queues (`ferrocket admin updateTopic`);
#   2. BenchConsume filled with BENCH_MESSAGES messages (the consumers' backlog);
#   3. ROUNDS rounds of: for each thread count, a producer case of each client, alternating which
#      client goes first (A B, then B A) so a machine whose load drifts favours neither;
#   4. the same for consumer cases (each a fresh group reading the backlog from its first offset).
# Each case is its own process (`RESULT` line); the summary is the mean over rounds and the
# ratio SDK / Java. Release build of ours; machine load printed before and after.
#
#   bench.sh [ferrocket|java]...      (default: both, ours first)
#   env: THREADS="1 8 64" ROUNDS=2 SECONDS_PER_CASE=10 BODY_BYTES=128 BENCH_MESSAGES=100000
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$here/target/bench"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(ferrocket java)
threads_list=(${THREADS:-1 8 64})
rounds="${ROUNDS:-2}"
seconds="${SECONDS_PER_CASE:-10}"
body="${BODY_BYTES:-128}"
backlog="${BENCH_MESSAGES:-100000}"

# shellcheck source=targets.sh
source "$here/targets.sh"

(cd "$root" && cargo build -q --release -p ferrocket) || die "cargo build --release -p ferrocket failed"
export FERROCKET_BIN="$root/target/release/ferrocket"
# A broker that is not the bottleneck of a client benchmark: C2 and a 1 GiB heap for Java's.
export JAVA_BROKER_JVM="-Xms1g -Xmx1g -XX:MaxDirectMemorySize=512m -XX:TieredStopAtLevel=4"
mkdir -p "$work/client-home"
# run.sh's resolved classpath, when it has one, saves a Maven run.
[[ -s "$here/target/rocketmq5.classpath" ]] && cp "$here/target/rocketmq5.classpath" "$work/"
cp="$(java_classpath)"
# Compiled once here rather than by the source launcher in every case.
mkdir -p "$work/classes"
javac -nowarn -cp "$cp" -d "$work/classes" "$here/SdkBench.java" || die "cannot compile SdkBench.java"
results="$work/results.txt"
: > "$results"
echo "bench.sh: $(date -u '+%F %T UTC'); load before: $(uptime)" | tee -a "$results"

sdk() { NO_COLOR=1 "$FERROCKET_BIN" bench "$@" | grep '^RESULT' | tee -a "$results"; }
java_client() {
  java -Xms512m -Xmx512m "-Duser.home=$work/client-home" -cp "$work/classes:$cp" SdkBench "$@" 2>/dev/null \
    | grep '^RESULT' | tee -a "$results"
}
producer_case() { # client threads
  case "$1" in
    sdk) sdk producer -n "$namesrv" -t BenchSend -w "$2" -s "$body" --seconds "$seconds" --broker "$target" ;;
    java) java_client producer "$namesrv" BenchSend "$2" "$body" "$seconds" 2 "$target" ;;
  esac
}
consumer_case() { # client threads
  case "$1" in
    sdk) sdk consumer -n "$namesrv" -t BenchConsume -w "$2" --messages "$backlog" --broker "$target" ;;
    java) java_client consumer "$namesrv" BenchConsume "$2" "$backlog" 10 "$target" ;;
  esac
}

for target in "${targets[@]}"; do
  case "$target" in
    java) start_java ;;
    ferrocket) start_ferrocket ;;
    *) die "unknown target $target (java or ferrocket)" ;;
  esac
  echo "bench.sh: $target at $namesrv"
  for topic in BenchSend BenchConsume; do
    # A Java broker says it booted a moment before its first registration reaches the name
    # server ("the name server knows no cluster DefaultCluster"): retry for up to 60 s.
    for attempt in $(seq 60); do
      "$FERROCKET_BIN" admin updateTopic -n "$namesrv" -c DefaultCluster -t "$topic" -r 8 -w 8 >/dev/null 2>&1 \
        && break
      [[ $attempt -lt 60 ]] || die "cannot create $topic on $target"
      sleep 1
    done
  done
  NO_COLOR=1 "$FERROCKET_BIN" bench producer -n "$namesrv" -t BenchConsume -w 8 -s "$body" \
    --messages "$backlog" --broker "$target-fill" | grep '^RESULT' >/dev/null || die "cannot fill BenchConsume"
  for round in $(seq "$rounds"); do
    order=(sdk java); ((round % 2 == 0)) && order=(java sdk)
    for threads in "${threads_list[@]}"; do
      for client in "${order[@]}"; do producer_case "$client" "$threads"; done
    done
  done
  for round in $(seq "$rounds"); do
    order=(sdk java); ((round % 2 == 0)) && order=(java sdk)
    for threads in "${threads_list[@]}"; do
      for client in "${order[@]}"; do consumer_case "$client" "$threads"; done
    done
  done
  cleanup
done
echo "bench.sh: load after: $(uptime)" | tee -a "$results"

# Mean over rounds per (broker, mode, threads, client), then SDK beside Java.
python3 - "$results" <<'PY'
import collections, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if not line.startswith("RESULT "):
        continue
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    rows[(f["broker"], f["mode"], int(f["threads"]), f["client"])].append(f)
def mean(fs, key):
    vals = [float(f[key]) for f in fs if f.get(key, "-") != "-"]
    return sum(vals) / len(vals) if vals else float("nan")
print("| broker | mode | threads | SDK msgs/s | Java msgs/s | SDK/Java | SDK CPU µs/msg | Java CPU µs/msg | SDK p99 µs | Java p99 µs |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key in sorted({k[:3] for k in rows}, key=lambda k: (k[0], k[1] != "producer", k[2])):
    sdk, java = rows.get(key + ("sdk",), []), rows.get(key + ("java",), [])
    s, j = mean(sdk, "msgs_per_s"), mean(java, "msgs_per_s")
    p99 = lambda fs: f"{mean(fs, 'p99_us'):.0f}" if key[1] == "producer" else "-"
    print(f"| {key[0]} | {key[1]} | {key[2]} | {s:.0f} | {j:.0f} | {s / j:.2f} | "
          f"{mean(sdk, 'cpu_us_per_msg'):.1f} | {mean(java, 'cpu_us_per_msg'):.1f} | {p99(sdk)} | {p99(java)} |")
PY
