package org.ferrocket.bench.broker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.JavaBroker;

/**
 * Our broker ({@code ferrocket standalone}) and the official Java 5.3.3 broker, one after the
 * other in this one run, each measured by the same official 5.3.3 client in this JVM with the
 * same cases: {@link TxCase} (transactional sends, commit path) and {@link TimerCase} (timer
 * messages scheduled and delivered). Prints one Markdown table of ours, Java's and the ratio.
 *
 * <p>Options ({@code --name=value}): {@code tx-threads} (16), {@code tx-warmup-s} (10),
 * {@code tx-window-s} (15), {@code body} (bytes, 1024), {@code timer-messages} (100000),
 * {@code timer-threads} (16), {@code timer-lead-s} (30: T is this far after the first timer
 * send), {@code order} ({@code ferrocket,java}), {@code work} (scratch directory), {@code keep}
 * (any value: keep each broker's store and logs). Our binary is
 * {@code $FERROCKET_BIN}. The Java broker runs with a production-like JVM (G1, 1 GiB heap, C2)
 * unless {@code -Dferrocket.interop.javaBrokerJvmOptions} says otherwise, and with
 * {@code timerWheelEnable=true} (the test plumbing turns it off) and Java's default
 * {@code endTransactionThreadPoolNums} for two cores.
 */
public final class BrokerBench {

    private static final String TX_TOPIC = "BenchTx";
    private static final String TIMER_TOPIC = "BenchTimer";
    private static final int QUEUES = 8;
    private static final Duration TOPIC_TIMEOUT = Duration.ofSeconds(30);
    private static final String JAVA_BENCH_JVM = "-Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxDirectMemorySize=1g";

    private record Figures(TxCase.Result tx, TimerCase.Result timer, long rssKib, long peakRssKib, long anonymousRssKib) {
    }

    private BrokerBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        int txThreads = intOption(options, "tx-threads", 16);
        Duration txWarmup = Duration.ofSeconds(intOption(options, "tx-warmup-s", 10));
        Duration txWindow = Duration.ofSeconds(intOption(options, "tx-window-s", 15));
        int body = intOption(options, "body", 1024);
        int timerMessages = intOption(options, "timer-messages", 100_000);
        int timerThreads = intOption(options, "timer-threads", 16);
        Duration timerLead = Duration.ofSeconds(intOption(options, "timer-lead-s", 30));
        List<String> order = List.of(options.getOrDefault("order", "ferrocket,java").split(","));
        Path work = Path.of(options.getOrDefault("work", "target/bench-work")).toAbsolutePath();
        if (System.getProperty(JavaBroker.JVM_OPTIONS_PROPERTY) == null) {
            System.setProperty(JavaBroker.JVM_OPTIONS_PROPERTY, JAVA_BENCH_JVM);
        }
        System.out.printf("broker bench %s: tx %d threads, %s warm-up + %s window, %d B bodies; timer %d messages due at "
                + "one instant, %d threads, lead %s; order %s; Java broker JVM: %s%n", Instant.now(), txThreads,
            txWarmup, txWindow, body, timerMessages, timerThreads, timerLead, order,
            System.getProperty(JavaBroker.JVM_OPTIONS_PROPERTY));

        // Both brokers delete their oldest store files once the disk is over 85 % full (Java's
        // diskSpaceCleanForciblyRatio), which would drop parked timers mid-run: say how full it is.
        Files.createDirectories(work);
        java.nio.file.FileStore volume = Files.getFileStore(work);
        System.out.printf("work dir %s on %s: %.0f %% used%n", work, volume,
            100.0 * (volume.getTotalSpace() - volume.getUsableSpace()) / volume.getTotalSpace());

        Map<String, Figures> results = new LinkedHashMap<>();
        for (String impl : order) {
            boolean ours = switch (impl) {
                case "ferrocket" -> true;
                case "java" -> false;
                default -> throw new IllegalArgumentException("order names ferrocket or java, not " + impl);
            };
            Path dir = work.resolve(impl);
            InteropEnv.deleteRecursively(dir);
            Files.createDirectories(dir);
            System.setProperty("broker.impl", impl);
            // Ours: `ferrocket standalone` with its defaults (timers on). Java: the test plumbing's
            // broker.conf, with the timer wheel back on and the end-transaction pool at Java's default.
            Map<String, String> conf = ours ? Map.of()
                : Map.of("timerWheelEnable", "true", "endTransactionThreadPoolNums", "12");
            try (BrokerUnderTest broker = BrokerUnderTest.start(dir, System.getProperty("java.class.path"), "JSON", conf);
                 Admin admin = new Admin(broker.namesrvAddress(), broker.brokerAddress(), impl)) {
                BrokerProcess process = BrokerProcess.find(ours);
                System.out.printf("%s: broker pid %d at %s, name server %s, RSS at start %d KiB%n", impl, process.pid(),
                    broker.brokerAddress(), broker.namesrvAddress(), process.rssKib());
                admin.createTopic(TX_TOPIC, QUEUES, TOPIC_TIMEOUT);
                admin.createTopic(TIMER_TOPIC, QUEUES, TOPIC_TIMEOUT);
                TxCase.Result tx = TxCase.run(broker.namesrvAddress(), TX_TOPIC, admin, process, txThreads, txWarmup,
                    txWindow, body, impl);
                System.out.printf("%s: %s%n", impl, tx);
                broker.assertAlive();
                TimerCase.Result timer = TimerCase.run(broker.namesrvAddress(), TIMER_TOPIC, admin, process, timerMessages,
                    timerThreads, timerLead, body, impl);
                System.out.printf("%s: %s%n", impl, timer);
                broker.assertAlive();
                results.put(impl, new Figures(tx, timer, process.rssKib(), process.peakRssKib(), process.anonymousRssKib()));
            }
            // Each side leaves about 1 GiB of store behind; its logs are kept only if it failed.
            if (!options.containsKey("keep")) {
                InteropEnv.deleteRecursively(dir);
            }
        }
        System.out.println();
        System.out.print(report(results.get("ferrocket"), results.get("java")));
    }

    private static String report(Figures ours, Figures java) {
        if (ours == null || java == null) {
            return "(one side was not run: no table)\n";
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(row("Transactional sends/s (commit path)", ours.tx.sendsPerSecond(), java.tx.sendsPerSecond(), 0));
        rows.add(row("Tx send p50 (ms)", ours.tx.p50Micros() / 1e3, java.tx.p50Micros() / 1e3, 2));
        rows.add(row("Tx send p99 (ms)", ours.tx.p99Micros() / 1e3, java.tx.p99Micros() / 1e3, 2));
        rows.add(row("Tx broker CPU per message (µs)", ours.tx.cpuMicrosPerMessage(), java.tx.cpuMicrosPerMessage(), 1));
        rows.add(row("Tx client JVM CPU per message (µs; same client, for scale)", ours.tx.clientCpuMicrosPerMessage(),
            java.tx.clientCpuMicrosPerMessage(), 1));
        rows.add(new String[] {"Tx committed / visible / failed / checks",
            ours.tx.acknowledged() + " / " + ours.tx.visible() + " / " + ours.tx.failed() + " / " + ours.tx.checks(),
            java.tx.acknowledged() + " / " + java.tx.visible() + " / " + java.tx.failed() + " / " + java.tx.checks(), ""});
        rows.add(row("Timer messages scheduled/s", ours.timer.scheduledPerSecond(), java.timer.scheduledPerSecond(), 0));
        rows.add(row("Timer scheduling broker CPU per message (µs)", ours.timer.scheduleCpuMicrosPerMessage(),
            java.timer.scheduleCpuMicrosPerMessage(), 1));
        rows.add(row("Timer messages written back to their topic/s (broker side, first to last)",
            ours.timer.inTopicPerSecond(), java.timer.inTopicPerSecond(), 0));
        rows.add(new String[] {"Timer first / all written back after T (ms, polled every 10 ms)",
            ours.timer.firstInTopicAfterDueMs() + " / " + ours.timer.allInTopicAfterDueMs(),
            java.timer.firstInTopicAfterDueMs() + " / " + java.timer.allInTopicAfterDueMs(), ""});
        rows.add(row("Timer messages delivered/s (first to last consumed)", ours.timer.deliveredPerSecond(),
            java.timer.deliveredPerSecond(), 0));
        rows.add(row("Timer delivery broker CPU per message (µs)", ours.timer.deliveryCpuMicrosPerMessage(),
            java.timer.deliveryCpuMicrosPerMessage(), 1));
        rows.add(new String[] {"Timer first / last consumed after T (ms)",
            ours.timer.firstAfterDueMs() + " / " + ours.timer.lastAfterDueMs(),
            java.timer.firstAfterDueMs() + " / " + java.timer.lastAfterDueMs(), ""});
        rows.add(new String[] {"Timer lateness p50 / p99 (ms, 10 ms buckets)",
            ours.timer.latenessP50Ms() + " / " + ours.timer.latenessP99Ms(),
            java.timer.latenessP50Ms() + " / " + java.timer.latenessP99Ms(), ""});
        rows.add(new String[] {"Timer scheduled / consumed / duplicates / early / send failures",
            timerCounts(ours.timer), timerCounts(java.timer), ""});
        rows.add(row("Broker RSS at the end (MiB)", ours.rssKib / 1024.0, java.rssKib / 1024.0, 1));
        rows.add(row("Broker peak RSS (MiB)", ours.peakRssKib / 1024.0, java.peakRssKib / 1024.0, 1));
        rows.add(row("Broker anonymous RSS at the end (MiB; no mapped store pages)", ours.anonymousRssKib / 1024.0,
            java.anonymousRssKib / 1024.0, 1));
        StringBuilder table = new StringBuilder("| Figure | Ours | Java 5.3.3 | Ours / Java |\n|---|---|---|---|\n");
        for (String[] r : rows) {
            table.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        for (Map.Entry<String, Figures> side : Map.of("ours", ours, "Java", java).entrySet()) {
            TimerCase.Result timer = side.getValue().timer;
            if (timer.delivered() < timer.scheduled()) {
                table.append("\nWARNING: ").append(side.getKey()).append(" delivered ").append(timer.delivered())
                    .append(" of ").append(timer.scheduled()).append(" timer messages within the timeout (a store on a"
                        + " disk over 85 % full has its oldest files deleted by both brokers: use a work dir with room).\n");
            }
        }
        if (ours.timer.overran() || java.timer.overran()) {
            table.append("\nWARNING: scheduling finished after T on at least one broker; raise timer-lead-s.\n");
        }
        return table.toString();
    }

    private static String timerCounts(TimerCase.Result r) {
        return r.scheduled() + " / " + r.delivered() + " / " + r.duplicates() + " / " + r.early() + " / " + r.sendFailed();
    }

    private static String[] row(String name, double ours, double java, int decimals) {
        String format = "%,." + decimals + "f";
        String ratio = java == 0 || Double.isNaN(ours) || Double.isNaN(java) ? "n/a" : String.format("%.2f", ours / java);
        return new String[] {name, String.format(format, ours), String.format(format, java), ratio};
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (String arg : args) {
            if (!arg.startsWith("--") || !arg.contains("=")) {
                throw new IllegalArgumentException("options are --name=value, not " + arg);
            }
            options.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
        }
        return options;
    }

    private static int intOption(Map<String, String> options, String name, int fallback) {
        String value = options.get(name);
        return value == null ? fallback : Integer.parseInt(value);
    }
}
