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
 * Fault 3 of issue 18, master/slave: a SYNC_MASTER (with {@code inSyncReplicas=2}, so SEND_OK
 * means the slave holds the message too) is SIGKILLed at random moments while the official 5.3.3
 * producer sends without pause, and restarted on the same port and store, N times
 * ({@code -Dchaos.haCycles}; 5 for ours and 2 for Java's in the short run). The slave is never
 * stopped. At each kill, before the restart, the slave's log must already reach the last
 * acknowledged record (nothing acknowledged that the slave lacks). At the end:
 *
 * <ol>
 *   <li>the master is killed once more and a fresh consumer group reads the topic from the slave
 *       alone: every acknowledged message must be there, exactly once, offsets without gaps;</li>
 *   <li>the master is restarted and another fresh group reads it all from the master;</li>
 *   <li>both are stopped and the slave's commit log must be a byte prefix of the master's (the
 *       replicas never diverged).</li>
 * </ol>
 *
 * <p>Meanwhile a {@link HostilePeer} keeps sending the master malformed frames and floods of
 * connections, and another the name server: bad input during the fault must not take either down
 * or stop it serving.
 *
 * <p>Recovery is from the master's restart to the first SEND_OK after it: the slave has to
 * reconnect before the master can acknowledge anything.
 */
@Timeout(value = 10, unit = TimeUnit.HOURS)
class MasterSlaveCrashTest {

    private static final String TOPIC = "chaos-ha";
    private static final int QUEUES = 4;
    private static final int SENDER_THREADS = 3;
    private static final int SHORT_RUN_CYCLES_OURS = 5;
    /** A Java broker takes ~15 s to start on this machine: a few cycles validate the test. */
    private static final int SHORT_RUN_CYCLES_JAVA = 2;
    private static final int LOAD_BEFORE_KILL_MAX_MS = 700;
    private static final Duration RECOVERY_WAIT = Duration.ofSeconds(120);
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(90);
    private static final int COMMIT_LOG_FILE_BYTES = 4 * 1024 * 1024;

    @Test
    void everyAcknowledgedMessageSurvivesMasterKillsOnTheSlaveAndTheMaster() throws Exception {
        boolean java = BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA;
        int cycles = ChaosEnv.cycles("chaos.haCycles", java ? SHORT_RUN_CYCLES_JAVA : SHORT_RUN_CYCLES_OURS);
        long seed = Long.getLong("chaos.seed", System.nanoTime());
        Random random = new Random(seed);
        String what = "SYNC_MASTER, " + cycles + " cycles, seed " + seed + " (-Dchaos.seed)";
        System.out.println("MasterSlaveCrashTest: " + what);
        Path work = InteropEnv.freshWorkDir(getClass());
        long worstRecoveryNanos = 0;
        Map<String, String> conf = Map.of("flushDiskType", "ASYNC_FLUSH",
            "mappedFileSizeCommitLog", Integer.toString(COMMIT_LOG_FILE_BYTES));
        try (HaPair pair = HaPair.start(work, conf)) {
            createTopic(pair);
            DefaultMQProducer producer = ChaosEnv.startProducer(pair.namesrvAddress(),
                ChaosEnv.uniqueName("chaos-ha-producer"));
            AckedLoad load = new AckedLoad(producer, TOPIC, "ha", work.resolve("acked-ids.log"), SENDER_THREADS);
            HostilePeer hostile = new HostilePeer(pair::masterAddress);
            HostilePeer hostileToNamesrv = new HostilePeer(pair::namesrvAddress);
            try {
                load.start();
                hostile.start();
                hostileToNamesrv.start();
                long restartedAt = System.nanoTime();
                for (int cycle = 0; cycle <= cycles; cycle++) {
                    long firstAck = awaitFirstAck(load, pair, what + ", cycle " + cycle);
                    if (cycle > 0) {
                        worstRecoveryNanos = Math.max(worstRecoveryNanos, firstAck - restartedAt);
                    }
                    if (cycle == cycles) {
                        break;
                    }
                    Thread.sleep(random.nextInt(LOAD_BEFORE_KILL_MAX_MS + 1));
                    assertTrue(pair.master().isAlive(), "the master exited\n" + pair.master().tail(60));
                    assertTrue(pair.slave().isAlive(), "the slave exited\n" + pair.slave().tail(60));
                    pair.killMaster();
                    load.markFault();
                    slaveHoldsEveryAck(load, pair, what + ", cycle " + cycle);
                    restartedAt = System.nanoTime();
                    pair.restartMaster();
                    if (cycle % 10 == 9) {
                        System.out.println("MasterSlaveCrashTest: cycle " + (cycle + 1) + ", "
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
            String impl = pair.impl().name().toLowerCase();
            String extra = "unconfirmed sends " + load.unconfirmed() + " " + load.refusals() + "; master's " + hostile.summary()
                + "; name server's " + hostileToNamesrv.summary();

            // 1. The slave alone: the master is gone from the route, the client reads the slave.
            awaitSlaveKnowsTopic(pair);
            pair.killMaster();
            awaitRoute(pair, "the killed master leaves the route", route -> !hasBroker(route, 0) && hasBroker(route, 1));
            ReadBack fromSlave = ReadBack.read(pair.namesrvAddress(), TOPIC, ChaosEnv.uniqueName("chaos-ha-slave"),
                load.acknowledgedKeys());
            ChaosResults.record(impl, "master SIGKILL, read from the slave", "SYNC_MASTER", cycles, fromSlave,
                TimeUnit.NANOSECONDS.toMillis(worstRecoveryNanos), extra);

            // 2. The master back: a fresh group reads it from the master.
            pair.restartMaster();
            awaitRoute(pair, "the restarted master is in the route", route -> hasBroker(route, 0));
            ReadBack fromMaster = ReadBack.read(pair.namesrvAddress(), TOPIC, ChaosEnv.uniqueName("chaos-ha-master"),
                load.acknowledgedKeys());
            ChaosResults.record(impl, "master SIGKILL, read from the restarted master", "SYNC_MASTER", cycles,
                fromMaster, TimeUnit.NANOSECONDS.toMillis(worstRecoveryNanos), extra);

            // 3. No divergence.
            pair.stopBrokers();
            long[] extents = CommitLogPrefix.assertSlaveIsPrefix(pair.storeDir("master"), pair.storeDir("slave"));
            System.out.println("MasterSlaveCrashTest: commit logs master " + extents[0] + " bytes, slave "
                + extents[1] + " bytes, the slave's a byte prefix of the master's");

            for (ReadBack verdict : new ReadBack[] {fromSlave, fromMaster}) {
                assertTrue(verdict.lost().isEmpty() && verdict.duplicated().isEmpty() && verdict.offsetGaps().isEmpty(),
                    what + ": " + verdict.summary());
            }
            assertTrue(fromSlave.acknowledged() > cycles, what + ": too few sends acknowledged: " + fromSlave.summary());
        }
    }

    /**
     * With the master dead no acknowledgement can come any more: the slave must already hold the
     * record of every one (its log reaches the end of the last acknowledged record, whose size
     * is read from the dead master's log).
     */
    private static void slaveHoldsEveryAck(AckedLoad load, HaPair pair, String what) throws java.io.IOException {
        long acked = load.highestAckedPhysicalOffset();
        long ackedEnd = CommitLogPrefix.recordEnd(pair.storeDir("master"), acked);
        long slaveEnd = CommitLogPrefix.extent(pair.storeDir("slave"));
        if (ackedEnd > slaveEnd) {
            throw new AssertionError(what + ": a record at commit-log offset " + acked + " (ending at " + ackedEnd
                + ") was acknowledged but the slave's log ends at " + slaveEnd);
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
        admin.setInstanceName(ChaosEnv.uniqueName("chaos-ha-admin"));
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
