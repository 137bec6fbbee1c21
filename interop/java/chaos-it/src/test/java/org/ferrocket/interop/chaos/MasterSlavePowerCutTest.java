package org.ferrocket.interop.chaos;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 3 of issue 18, the power cut: as {@link MasterSlaveCrashTest}, but the SYNC_MASTER's
 * store is on our lost-writes file system ({@code crates/lossyfs}) and each fault is a power cut
 * of its machine: everything the master had not fsynced is gone (ASYNC_FLUSH, so that is most of
 * its recent log), the newest write torn, and the master dies with it. The slave, on another
 * machine, keeps everything it received, so the master may come back shorter than its slave
 * while acknowledged messages (SEND_OK needs the slave's copy, {@code inSyncReplicas=2}) are on
 * the slave alone. Checked, N times ({@code -Dchaos.haCutCycles}):
 *
 * <ul>
 *   <li>at each cut the slave already holds the end of the last acknowledged record;</li>
 *   <li>the master comes back and acknowledges again;</li>
 *   <li>at the end (one more cut) a fresh group reads every acknowledged message from the slave
 *       alone, then, the master restarted, another reads them all from the master: exactly once,
 *       offsets without gaps;</li>
 *   <li>both stopped, the slave's commit log is a byte prefix of the master's.</li>
 * </ul>
 *
 * <p>Ours passes because the restarted master takes back from its slave the tail it lost before it
 * takes a put (docs/protocol-notes.md, "A master shorter than its slave"). Recovery is from the
 * restart to the first SEND_OK after it.
 */
@Timeout(value = 10, unit = TimeUnit.HOURS)
class MasterSlavePowerCutTest {

    private static final String TOPIC = "chaos-ha-cut";
    private static final int QUEUES = 4;
    private static final int SENDER_THREADS = 3;
    /** Each cycle waits for the slave's 5 s reconnect: 3 keep the short run near 45 s. */
    private static final int SHORT_RUN_CYCLES_OURS = 3;
    private static final int SHORT_RUN_CYCLES_JAVA = 2;
    private static final int LOAD_BEFORE_CUT_MAX_MS = 700;
    private static final Duration RECOVERY_WAIT = Duration.ofSeconds(120);
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(90);
    private static final int COMMIT_LOG_FILE_BYTES = 4 * 1024 * 1024;

    @Test
    void everyAcknowledgedMessageSurvivesPowerCutsOfTheMaster() throws Exception {
        boolean java = BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA;
        int cycles = ChaosEnv.cycles("chaos.haCutCycles", java ? SHORT_RUN_CYCLES_JAVA : SHORT_RUN_CYCLES_OURS);
        long seed = Long.getLong("chaos.seed", System.nanoTime());
        Random random = new Random(seed);
        String what = "SYNC_MASTER power cuts, " + cycles + " cycles, seed " + seed + " (-Dchaos.seed)";
        System.out.println("MasterSlavePowerCutTest: " + what);
        Path work = InteropEnv.freshWorkDir(getClass());
        long worstRecoveryNanos = 0;
        long lostChanges = 0;
        Map<String, String> conf = Map.of("flushDiskType", "ASYNC_FLUSH",
            "mappedFileSizeCommitLog", Integer.toString(COMMIT_LOG_FILE_BYTES));
        try (HaPair pair = HaPair.startWithLossyMaster(work, conf)) {
            createTopic(pair);
            DefaultMQProducer producer = ChaosEnv.startProducer(pair.namesrvAddress(),
                ChaosEnv.uniqueName("chaos-cut-producer"));
            AckedLoad load = new AckedLoad(producer, TOPIC, "cut", work.resolve("acked-ids.log"), SENDER_THREADS);
            try {
                load.start();
                long restartedAt = System.nanoTime();
                for (int cycle = 0; cycle <= cycles; cycle++) {
                    long firstAck = awaitFirstAck(load, pair, what + ", cycle " + cycle);
                    if (cycle > 0) {
                        worstRecoveryNanos = Math.max(worstRecoveryNanos, firstAck - restartedAt);
                    }
                    if (cycle == cycles) {
                        break;
                    }
                    Thread.sleep(random.nextInt(LOAD_BEFORE_CUT_MAX_MS + 1));
                    assertTrue(pair.master().isAlive(), "the master exited\n" + pair.master().tail(60));
                    assertTrue(pair.slave().isAlive(), "the slave exited\n" + pair.slave().tail(60));
                    lostChanges = pair.powerCutMaster();
                    load.markFault();
                    slaveHoldsEveryAck(load, pair, what + ", cycle " + cycle);
                    restartedAt = System.nanoTime();
                    pair.restartMaster();
                    if (cycle % 10 == 9) {
                        System.out.println("MasterSlavePowerCutTest: cycle " + (cycle + 1) + ", "
                            + load.acknowledgedCount() + " acknowledged");
                    }
                }
            } finally {
                load.close();
                producer.shutdown();
            }
            String impl = pair.impl().name().toLowerCase();

            // 1. The slave alone, after one more cut.
            awaitSlaveKnowsTopic(pair);
            lostChanges = pair.powerCutMaster();
            String extra = "unconfirmed sends " + load.unconfirmed() + " " + load.refusals()
                + "; changes lost at the cuts " + lostChanges;
            awaitRoute(pair, "the cut master leaves the route", route -> !hasBroker(route, 0) && hasBroker(route, 1));
            ReadBack fromSlave = ReadBack.read(pair.namesrvAddress(), TOPIC, ChaosEnv.uniqueName("chaos-cut-slave"),
                load.acknowledgedKeys());
            ChaosResults.record(impl, "master power cut, read from the slave", "SYNC_MASTER", cycles, fromSlave,
                TimeUnit.NANOSECONDS.toMillis(worstRecoveryNanos), extra);

            // 2. The master back on what was durable: it must have taken the rest from the slave.
            pair.restartMaster();
            awaitRoute(pair, "the restarted master is in the route", route -> hasBroker(route, 0));
            ReadBack fromMaster = ReadBack.read(pair.namesrvAddress(), TOPIC, ChaosEnv.uniqueName("chaos-cut-master"),
                load.acknowledgedKeys());
            ChaosResults.record(impl, "master power cut, read from the restarted master", "SYNC_MASTER", cycles,
                fromMaster, TimeUnit.NANOSECONDS.toMillis(worstRecoveryNanos), extra);

            // 3. No divergence.
            pair.stopBrokers();
            long[] extents = CommitLogPrefix.assertSlaveIsPrefix(pair.storeDir("master"), pair.storeDir("slave"));
            System.out.println("MasterSlavePowerCutTest: commit logs master " + extents[0] + " bytes, slave "
                + extents[1] + " bytes, the slave's a byte prefix of the master's; " + extra);

            for (ReadBack verdict : new ReadBack[] {fromSlave, fromMaster}) {
                assertTrue(verdict.lost().isEmpty() && verdict.duplicated().isEmpty() && verdict.offsetGaps().isEmpty(),
                    what + ": " + verdict.summary());
            }
            assertTrue(fromSlave.acknowledged() > cycles, what + ": too few sends acknowledged: " + fromSlave.summary());
        }
    }

    /**
     * The master's log is gone with its power: the slave must hold the whole of the last
     * acknowledged record (its size read from the slave's own copy, which must have it).
     */
    private static void slaveHoldsEveryAck(AckedLoad load, HaPair pair, String what) throws java.io.IOException {
        long acked = load.highestAckedPhysicalOffset();
        long slaveEnd = CommitLogPrefix.extent(pair.storeDir("slave"));
        if (acked >= slaveEnd || CommitLogPrefix.recordEnd(pair.storeDir("slave"), acked) > slaveEnd) {
            throw new AssertionError(what + ": a record at commit-log offset " + acked
                + " was acknowledged but the slave's log ends at " + slaveEnd);
        }
    }

    private static boolean hasBroker(TopicRouteData route, long brokerId) {
        return route.getBrokerDatas().stream().anyMatch(b -> b.getBrokerAddrs().containsKey(brokerId));
    }

    private static void awaitRoute(HaPair pair, String what, java.util.function.Predicate<TopicRouteData> done)
        throws Exception {
        DefaultMQAdminExt admin = admin(pair);
        try {
            Poll.until(what, ROUTE_WAIT, () -> admin.examineTopicRouteInfo(TOPIC), done);
        } finally {
            admin.shutdown();
        }
    }

    /** The slave serves a pull only for a topic its metadata sync has copied. */
    private static void awaitSlaveKnowsTopic(HaPair pair) throws InterruptedException {
        Path topics = pair.storeDir("slave").resolve("config/topics.json");
        Poll.until("the slave's metadata sync copied " + TOPIC, ROUTE_WAIT,
            () -> Files.exists(topics) && Files.readString(topics, StandardCharsets.UTF_8).contains(TOPIC),
            known -> known);
    }

    private static long awaitFirstAck(AckedLoad load, HaPair pair, String what) throws InterruptedException {
        long deadline = System.nanoTime() + RECOVERY_WAIT.toNanos();
        while (load.firstAckAfterMark() < 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": no send acknowledged within " + RECOVERY_WAIT + " of the restart; "
                    + "refusals " + load.refusals() + "\nmaster:\n" + pair.master().tail(40) + "\nslave:\n"
                    + pair.slave().tail(40));
            }
            Thread.sleep(5);
        }
        return load.firstAckAfterMark();
    }

    private static DefaultMQAdminExt admin(HaPair pair) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(pair.namesrvAddress());
        admin.setInstanceName(ChaosEnv.uniqueName("chaos-cut-admin"));
        admin.start();
        return admin;
    }

    private static void createTopic(HaPair pair) throws Exception {
        DefaultMQAdminExt admin = admin(pair);
        try {
            Poll.until("the master accepts UPDATE_AND_CREATE_TOPIC", ROUTE_WAIT, () -> {
                admin.createAndUpdateTopicConfig(pair.masterAddress(), new TopicConfig(TOPIC, QUEUES, QUEUES, 6));
                return true;
            }, done -> done);
            Poll.until("the route of " + TOPIC + " has the master and the slave", ROUTE_WAIT,
                () -> admin.examineTopicRouteInfo(TOPIC),
                route -> route.getQueueDatas().stream().anyMatch(q -> q.getWriteQueueNums() == QUEUES)
                    && hasBroker(route, 0) && hasBroker(route, 1));
        } finally {
            admin.shutdown();
        }
    }
}
