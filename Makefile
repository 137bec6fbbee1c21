# The two commands of README.md: `make run` and `make test`. CI runs `make test` (.ci/run).
# Each step is a script in scripts/ so it can also be run on its own.

.PHONY: run test test-rust test-golden test-interop test-fuzz lint fuzz-long crash-long powerloss-long chaos bench bench-broker bench-sdk bench-recovery container

# Flags after ARGS=, e.g. make run ARGS="--namesrv-port 19876 --broker-port 20911 --grpc-port 18081".
run:
	cargo run --release -p ferrocket -- standalone $(ARGS)

# The container image (deploy/Containerfile, FROM scratch) built with podman and smoke-tested;
# outside `make test` (a release build; podman is installed from Debian when missing).
container:
	cargo build --release -p ferrocket
	scripts/container.sh

test: lint test-rust test-golden test-interop test-fuzz

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test-rust:
	cargo test --workspace

# The Java classes regenerate the goldens (must not drift) and parse back our re-encodings.
test-golden:
	scripts/golden-test.sh

# Official peers against our real binaries on loopback: the Java broker, Java clients 5.3.3 and
# 4.9.8 and mqadmin against our name server; the Java clients, mqadmin and benchmark against our
# broker; store directories written by the Java broker read by ours and ours served by the Java
# broker; our master and slave with the Java client, and each beside a Java master or slave;
# the Go client producing and consuming through ours; our Rust SDK against the Java pair and ours;
# the official 5.x Java client over gRPC, directly and through Java's 5.3.3 proxy in cluster
# mode in front of our name server and broker (remoting and POP); the official Go, Python and Node.js 5.x clients over
# gRPC against ours (`interop/grpc-sdk/run.sh java ferrocket` runs them against Java's proxy first);
# the web console in headless Chromium beside the Java client; the fault tests' short run (20
# SIGKILLs of our broker under the official client per flush mode, a full disk, 5 SIGKILLs of a
# SYNC_MASTER beside its slave, and a slave and the clients cut off in network namespaces;
# RELIABILITY.md).
test-interop:
	interop/java/namesrv-interop.sh
	interop/java/broker-interop.sh
	interop/java/store-interop.sh
	interop/java/ha-interop.sh
	interop/java/chaos-interop.sh
	interop/java/grpc-interop.sh
	interop/java/grpc-interop.sh --cluster-proxy
	interop/go/run.sh -tags broker
	interop/rust-client/run.sh
	interop/grpc-sdk/run.sh ferrocket
	interop/console/run.sh

# A short run of every fuzz target, seeded with the goldens.
test-fuzz:
	scripts/fuzz.sh 5

# A longer fuzz run, outside the test command.
fuzz-long:
	scripts/fuzz.sh 300

# The SIGKILL crash loop of the store, 1,000 cycles in a row (the test command runs 50): every
# crash must leave a store that opens, repairs itself and keeps every acknowledged record.
crash-long:
	FERROCKET_CRASH_CYCLES=1000 cargo test -p ferrocket-store --test crash -- --nocapture

# Power loss on the lossyfs FUSE mount (RELIABILITY.md, "Power loss"): 200 power cuts under
# SYNC_FLUSH (0 acknowledged lost) and under ASYNC_FLUSH (loss window within the flush
# interval), and the slow-fsync run; each prints a POWERLOSS line of figures. Root and /dev/fuse.
powerloss-long:
	FERROCKET_POWERLOSS_CYCLES=200 cargo test -p ferrocket --test powerloss -- --nocapture --test-threads=1

# The long versions of the hardening checks whose short runs are in the test command: the crash
# loop 1,000 times, route lookups while 17 brokers of 38,000 topics expire, and the restart time
# of a ~380 MB store after SIGKILL (each prints its figures); and the fault tests with the official
# Java client, 1,000 SIGKILLs of our broker per flush mode plus the full disk, 100 SIGKILLs of a
# SYNC_MASTER beside its slave, 100 power cuts of one (its store on lossyfs), and the partitions with the master cut from the name server (which
# waits out its 120 s broker expiry) (RELIABILITY.md; the figures are the "CHAOS RESULT" lines,
# also in interop/java/chaos-it/target/chaos-results.txt).
chaos: crash-long powerloss-long
	interop/java/chaos-interop.sh -Dchaos.cycles=1000 -Dchaos.haCycles=100 -Dchaos.haCutCycles=100 -Dchaos.long=true
	cargo test --release -p ferrocket-namesrv --test large_clusters -- --ignored --nocapture
	cargo test --release -p ferrocket-store --test recovery -- --ignored --nocapture --exact restart_time_after_sigkill

bench:
	cargo run --release -p ferrocket -- bench net
	mvn -q -B -f interop/java/namesrv-bench/pom.xml dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
	cargo run --release -p ferrocket -- bench namesrv --java-classpath "$$(cat interop/java/namesrv-bench/target/classpath.txt)"
	mvn -q -B -f interop/java/store-bench/pom.xml compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
	cargo run --release -p ferrocket -- bench store --java-classpath "$(CURDIR)/interop/java/store-bench/target/classes:$$(cat interop/java/store-bench/target/classpath.txt)"
	mvn -q -B -f interop/java/pom.xml -pl broker-bench -am package -DskipTests
	mvn -q -B -f interop/java/pom.xml -pl broker-it -am generate-test-resources
	cargo run --release -p ferrocket -- bench broker --java-classpath "$$(cat interop/java/broker-bench/target/dependencies.classpath)" \
		--example-jar interop/java/broker-it/target/benchmark/rocketmq-example.jar --pulls --paced-rates 10000 \
		--official-backlog 1000000

# The Rust SDK (`ferrocket bench producer|consumer`, release build) beside the official Java 5.3.3
# client (interop/rust-client/SdkBench.java, measured the same way) against the same broker in one
# run, A B / B A: sends/s, consume msgs/s, latency and client CPU per message at 1/8/64 threads,
# against our broker then the Java 5.3.3 broker (BENCHMARKS.md). About 10 minutes; settings in
# interop/rust-client/bench.sh (THREADS, ROUNDS, SECONDS_PER_CASE, BENCH_MESSAGES).
bench-sdk:
	interop/rust-client/bench.sh ferrocket java

# Recovery after a crash (BENCHMARKS.md): a 10 GiB store over 1,000 queues written through our
# broker, SIGKILL while it writes, then ours and the official Java 5.3.3 broker in turn (A B A B)
# restarted on that same store: time from exec to listening and to every acknowledged message
# read back. About 12 GB of disk under BENCH_RECOVERY_WORK (a real file system, not tmpfs),
# deleted at the end; it stops if the disk passes 80 %. Options: BENCH_RECOVERY_ARGS=.
BENCH_RECOVERY_WORK ?= $(CURDIR)/target/bench-recovery
bench-recovery:
	cargo build --release -p ferrocket
	mvn -q -B -f interop/java/pom.xml -pl broker-bench -am package -DskipTests
	@echo "load before: $$(uptime)"
	target/release/ferrocket bench recovery --work $(BENCH_RECOVERY_WORK) \
		--java-classpath "$$(cat interop/java/broker-bench/target/dependencies.classpath)" $(BENCH_RECOVERY_ARGS)
	@echo "load after: $$(uptime)"

# Our broker (`ferrocket standalone`, release build) beside the official Java 5.3.3 broker in one
# run, driven by the same official 5.3.3 client: transactional sends/s (commit path), timer
# messages scheduled/s and delivered/s, broker CPU per message and RSS (BENCHMARKS.md). About
# 3-4 minutes; options after BENCH_BROKER_ARGS=, e.g. "--timer-messages=50000 --order=java,ferrocket".
# The stores (about 1.5 GB per broker, deleted after each) go to tmpfs: both brokers delete their
# oldest files on a disk over 85 % full, which would drop parked timers in the middle of the run.
BENCH_BROKER_DIR := $(CURDIR)/interop/java/broker-bench/target
BENCH_BROKER_WORK ?= /dev/shm/ferrocket-bench-broker
bench-broker:
	cargo build --release -p ferrocket
	mvn -q -B -f interop/java/pom.xml -pl broker-bench -am package -DskipTests
	@echo "load before: $$(uptime)"
	FERROCKET_BIN=$(CURDIR)/target/release/ferrocket java -Xms1g -Xmx1g \
		-Duser.home=$(BENCH_BROKER_DIR)/home -Drmq.logback.configurationFile=rmq.client.logback.xml \
		-cp "$(BENCH_BROKER_DIR)/classes:$$(cat $(BENCH_BROKER_DIR)/dependencies.classpath)" \
		org.ferrocket.bench.broker.BrokerBench --work=$(BENCH_BROKER_WORK) $(BENCH_BROKER_ARGS)
	@echo "load after: $$(uptime)"
