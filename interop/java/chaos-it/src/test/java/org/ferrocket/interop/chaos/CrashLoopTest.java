package org.ferrocket.interop.chaos;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 1 of issue 18, process crash: the broker is SIGKILLed at random moments while the
 * official 5.3.3 producer sends without pause, and restarted on the same store, N times in a row
 * ({@code -Dchaos.cycles}, 20 in the short run). Then a fresh consumer group reads the topic back:
 * every acknowledged send must be there exactly once, each queue's offsets without gaps, and the
 * stopped store must check out record by record ({@link StoreChecker}: CRCs, consume queues and
 * index against the log).
 *
 * <p>Meanwhile hostile peers send the broker and the name server malformed frames and floods of
 * connections ({@link HostilePeer}): bad input during the fault.
 *
 * <p>SYNC_FLUSH acknowledges after fsync; ASYNC_FLUSH acknowledges before, but SIGKILL keeps the
 * page cache, so it must lose nothing either. The name server is a separate process that stays up;
 * the recovery time is from the restart (the old process gone) to the first SEND_OK after it.
 */
@Timeout(value = 10, unit = TimeUnit.HOURS)
class CrashLoopTest {

    private static final String TOPIC = "chaos-crash";
    private static final int QUEUES = 4;
    private static final int SENDER_THREADS = 3;
    /** The short run's cycles per flush mode, as the issue asks (20 SIGKILLs). */
    private static final int SHORT_RUN_CYCLES = 20;
    /** Load between the first acknowledgement after a restart and the next kill: 0 to this. */
    private static final int LOAD_BEFORE_KILL_MAX_MS = 700;
    /** A broker that has not acknowledged a send this long after its restart has not recovered. */
    private static final Duration RECOVERY_WAIT = Duration.ofSeconds(90);
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(60);
    /** Small files, so the log, the consume queues and the index roll over during the run. */
    private static final int COMMIT_LOG_FILE_BYTES = 4 * 1024 * 1024;
    private static final int CONSUME_QUEUE_FILE_BYTES = 2_000 * 20;

    @Test
    void syncFlushLosesNothingAcknowledgedUnderSigkill() throws Exception {
        crashLoop("SYNC_FLUSH");
    }

    @Test
    void asyncFlushLosesNothingAcknowledgedUnderSigkill() throws Exception {
        crashLoop("ASYNC_FLUSH");
    }

    private void crashLoop(String flushDiskType) throws Exception {
        int cycles = ChaosEnv.cycles(SHORT_RUN_CYCLES);
        long seed = Long.getLong("chaos.seed", System.nanoTime());
        Random random = new Random(seed);
        String what = flushDiskType + ", " + cycles + " cycles, seed " + seed + " (-Dchaos.seed)";
        System.out.println("CrashLoopTest: " + what);
        Path workDir = InteropEnv.freshWorkDir(getClass()).resolve(flushDiskType);
        Path store = workDir.resolve("chaos-store");
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("flushDiskType", flushDiskType);
        conf.put("storePathRootDir", store.toString());
        conf.put("storePathCommitLog", store.resolve("commitlog").toString());
        conf.put("mappedFileSizeCommitLog", Integer.toString(COMMIT_LOG_FILE_BYTES));
        conf.put("mappedFileSizeConsumeQueue", Integer.toString(CONSUME_QUEUE_FILE_BYTES));
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        long worstRecoveryNanos = 0;
        try (BrokerUnderTest broker = BrokerUnderTest.start(workDir, classpath, "JSON", conf)) {
            createTopic(broker);
            DefaultMQProducer producer = ChaosEnv.startProducer(broker.namesrvAddress(), ChaosEnv.uniqueName("chaos-crash-producer"));
            ReadBack verdict;
            AckedLoad load = new AckedLoad(producer, TOPIC, flushDiskType, workDir.resolve("acked-ids.log"), SENDER_THREADS);
            HostilePeer hostile = new HostilePeer(broker::brokerAddress);
            HostilePeer hostileToNamesrv = new HostilePeer(broker::namesrvAddress);
            try {
                load.start();
                hostile.start();
                hostileToNamesrv.start();
                long restartedAt = System.nanoTime();
                for (int cycle = 0; cycle <= cycles; cycle++) {
                    long firstAck = awaitFirstAck(load, broker, what + ", cycle " + cycle);
                    if (cycle > 0) {
                        worstRecoveryNanos = Math.max(worstRecoveryNanos, firstAck - restartedAt);
                    }
                    if (cycle == cycles) {
                        break;
                    }
                    Thread.sleep(random.nextInt(LOAD_BEFORE_KILL_MAX_MS + 1));
                    broker.assertAlive();
                    long[] restart = new long[1];
                    broker.killAndRestartBroker(() -> {
                        load.markFault();
                        restart[0] = System.nanoTime();
                    });
                    restartedAt = restart[0];
                    if (cycle % 50 == 49) {
                        System.out.println("CrashLoopTest: " + flushDiskType + " cycle " + (cycle + 1) + ", "
                            + load.acknowledgedCount() + " acknowledged");
                    }
                }
            } finally {
                hostile.close();
                hostileToNamesrv.close();
                load.close();
                producer.shutdown();
            }
            assertTrue(hostile.framesSent() > 0 && hostileToNamesrv.framesSent() > 0,
                "a hostile peer never got a frame through");
            verdict = ReadBack.read(broker.namesrvAddress(), TOPIC, ChaosEnv.uniqueName("chaos-crash-readback"),
                load.acknowledgedKeys());
            broker.stopBroker();
            StoreChecker.Summary checked = StoreChecker.check(store, TOPIC);
            checkerCatchesDamage(store, workDir.resolve("damaged-copy"));
            long worstMs = TimeUnit.NANOSECONDS.toMillis(worstRecoveryNanos);
            ChaosResults.record(broker.impl().name().toLowerCase(), "SIGKILL under load", flushDiskType, cycles, verdict,
                worstMs, "unconfirmed sends " + load.unconfirmed() + " " + load.refusals() + "; broker's " + hostile.summary()
                    + "; name server's " + hostileToNamesrv.summary() + "; store checked: " + checked);
            assertTrue(verdict.lost().isEmpty() && verdict.duplicated().isEmpty() && verdict.offsetGaps().isEmpty(),
                what + ": " + verdict.summary());
            assertTrue(verdict.acknowledged() > cycles, what + ": too few sends acknowledged to judge: " + verdict.summary());
        }
    }

    /**
     * The checker must be able to fail: on copies of the log and consume queues (not the index:
     * ours is a sparse 420 MB file), one flipped body byte and one dropped queue entry are each
     * reported.
     */
    private static void checkerCatchesDamage(Path store, Path copy) throws java.io.IOException {
        for (String damage : new String[] {"body byte", "queue entry"}) {
            InteropEnv.deleteRecursively(copy);
            for (String part : new String[] {"commitlog", "consumequeue"}) {
                try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(store.resolve(part))) {
                    for (Path file : files.toList()) {
                        Path target = copy.resolve(store.relativize(file).toString());
                        if (java.nio.file.Files.isDirectory(file)) {
                            java.nio.file.Files.createDirectories(target);
                        } else {
                            java.nio.file.Files.copy(file, target);
                        }
                    }
                }
            }
            if (damage.equals("body byte")) {
                Path first = firstFile(copy.resolve("commitlog"));
                try (java.nio.channels.FileChannel log = java.nio.channels.FileChannel.open(first,
                    java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
                    // The first body byte of the first record (IPv4 hosts: the body length at 84).
                    java.nio.ByteBuffer bodyLength = java.nio.ByteBuffer.allocate(4);
                    log.read(bodyLength, 84);
                    assertTrue(bodyLength.flip().getInt() > 0, "the first record has no body to damage");
                    long inBody = 88;
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
                    log.read(b, inBody);
                    log.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) (b.get(0) ^ 0x01)}), inBody);
                }
            } else {
                Path queue = firstFile(firstFile(copy.resolve("consumequeue").resolve(TOPIC)));
                try (java.nio.channels.FileChannel entries = java.nio.channels.FileChannel.open(queue,
                    java.nio.file.StandardOpenOption.WRITE)) {
                    entries.write(java.nio.ByteBuffer.allocate(20), 0);
                }
            }
            try {
                StoreChecker.check(copy, TOPIC);
            } catch (AssertionError expected) {
                continue;
            }
            throw new AssertionError("the store checker missed a damaged " + damage);
        }
        InteropEnv.deleteRecursively(copy);
    }

    private static Path firstFile(Path dir) throws java.io.IOException {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir)) {
            return files.sorted().findFirst().orElseThrow(() -> new AssertionError("nothing in " + dir));
        }
    }

    /** Waits for the first SEND_OK since the last restart; fails with the broker's log if none comes. */
    private static long awaitFirstAck(AckedLoad load, BrokerUnderTest broker, String what) throws InterruptedException {
        long deadline = System.nanoTime() + RECOVERY_WAIT.toNanos();
        while (load.firstAckAfterMark() < 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": no send acknowledged within " + RECOVERY_WAIT + " of the restart; "
                    + "refusals " + load.refusals() + "\n" + broker.brokerTail(40));
            }
            Thread.sleep(5);
        }
        return load.firstAckAfterMark();
    }

    private static void createTopic(BrokerUnderTest broker) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(broker.namesrvAddress());
        admin.setInstanceName(ChaosEnv.uniqueName("chaos-admin"));
        admin.start();
        try {
            Poll.until("the broker accepts UPDATE_AND_CREATE_TOPIC", ROUTE_WAIT, () -> {
                admin.createAndUpdateTopicConfig(broker.brokerAddress(), new TopicConfig(TOPIC, QUEUES, QUEUES, 6));
                return true;
            }, done -> done);
            Poll.until("the route of " + TOPIC + " is published", ROUTE_WAIT, () -> admin.examineTopicRouteInfo(TOPIC),
                route -> route.getQueueDatas().stream().anyMatch(q -> q.getWriteQueueNums() == QUEUES));
        } finally {
            admin.shutdown();
        }
    }
}
