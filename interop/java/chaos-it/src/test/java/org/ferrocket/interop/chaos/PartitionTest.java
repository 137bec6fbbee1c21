package org.ferrocket.interop.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.chaos.NetnsCluster.Node;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Fault 4 of issue 18, network partitions: a name server, a SYNC_MASTER ({@code inSyncReplicas=2})
 * and its slave each in a network namespace ({@link NetnsCluster}), the official 5.3.3 producer
 * sending without pause from the test's namespace.
 *
 * <ul>
 *   <li>The slave cut off: the master acknowledges nothing more (sends answer FLUSH_SLAVE_TIMEOUT
 *       or SLAVE_NOT_AVAILABLE), the slave's log, frozen, reaches every acknowledged record; after
 *       healing, sends are acknowledged again and the slave catches up.</li>
 *   <li>The clients cut from the name server: routes are kept, sends go on.</li>
 *   <li>({@code -Dchaos.long=true}, make chaos) the master cut from the name server: dropped from
 *       the route after the name server's broker expiry (120 s: neither broker sends a shorter
 *       heartbeat timeout unless {@code enableSlaveActingMaster}), back after healing.</li>
 * </ul>
 * Then a fresh consumer group reads every acknowledged message back.
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class PartitionTest {

    private static final String TOPIC = "chaos-net";
    private static final int QUEUES = 4;
    private static final Duration WAIT = Duration.ofSeconds(120);
    /** Java's slaveTimeout (3 s) plus a margin: a send in flight at the cut is answered by then. */
    private static final long SETTLE_MS = 4_500;
    private static final long PARTITION_MS = 4_000;
    private static final long NAMESRV_CUT_MS = 5_000;
    /** The name server drops a silent broker after 120 s, scanning every 5 s. */
    private static final Duration EXPIRY_WAIT = Duration.ofSeconds(200);

    @Test
    void slaveCutOffAndClientsCutFromTheNameServer() throws Exception {
        run(false);
    }

    @Test
    @EnabledIfSystemProperty(named = "chaos.long", matches = "true")
    void masterCutFromTheNameServerExpiresFromRoutes() throws Exception {
        run(true);
    }

    private void run(boolean masterCut) throws Exception {
        try (NetnsCluster cluster = NetnsCluster.start(InteropEnv.freshWorkDir(getClass()).resolve(masterCut ? "long" : "short"))) {
            String impl = cluster.impl().name().toLowerCase();
            createTopic(cluster);
            DefaultMQProducer producer = ChaosEnv.startProducer(cluster.namesrvAddress(),
                ChaosEnv.uniqueName("chaos-net-producer"));
            AckedLoad load = new AckedLoad(producer, TOPIC, "net", cluster.storeDir(Node.MASTER).getParent()
                .resolve("acked-ids.log"), 3);
            StringBuilder figures = new StringBuilder();
            try {
                load.start();
                awaitAck(load, "the first acknowledgement");
                if (masterCut) {
                    masterCutFromNameServer(cluster, figures);
                } else {
                    slaveCutOff(cluster, load, figures);
                    clientsCutFromNameServer(cluster, load, figures);
                }
                cluster.assertAlive();
            } finally {
                load.close();
                producer.shutdown();
            }
            ReadBack verdict = ReadBack.read(cluster.namesrvAddress(), TOPIC, ChaosEnv.uniqueName("chaos-net-readback"),
                load.acknowledgedKeys());
            ChaosResults.record(impl, masterCut ? "partition: master cut from the name server"
                : "partition: slave cut off; clients cut from the name server", "SYNC_MASTER", 1, verdict, -1,
                figures + "; refusals " + load.refusals());
            assertTrue(verdict.lost().isEmpty() && verdict.duplicated().isEmpty() && verdict.offsetGaps().isEmpty(),
                verdict.summary());
        }
    }

    private static void slaveCutOff(NetnsCluster cluster, AckedLoad load, StringBuilder figures) throws Exception {
        Map<String, Long> refusalsBefore = load.refusals();
        cluster.cutOff(Node.SLAVE);
        long cutAt = System.nanoTime();
        Thread.sleep(SETTLE_MS);
        int settled = load.acknowledgedCount();
        Thread.sleep(PARTITION_MS);
        assertEquals(settled, load.acknowledgedCount(), "sends acknowledged while the slave was cut off");
        long acked = load.highestAckedPhysicalOffset();
        long ackedEnd = CommitLogPrefix.recordEnd(cluster.storeDir(Node.MASTER), acked);
        long slaveEnd = CommitLogPrefix.extent(cluster.storeDir(Node.SLAVE));
        assertTrue(ackedEnd <= slaveEnd, "a record at " + acked + " (ending at " + ackedEnd
            + ") was acknowledged but the cut-off slave's log ends at " + slaveEnd);
        Map<String, Long> refusals = load.refusals();
        long slaveRefusals = grown(refusalsBefore, refusals, "FLUSH_SLAVE_TIMEOUT")
            + grown(refusalsBefore, refusals, "SLAVE_NOT_AVAILABLE");
        assertTrue(slaveRefusals > 0, "no FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE while the slave was cut off: "
            + refusals);
        load.markFault();
        cluster.reconnect(Node.SLAVE);
        long healedAt = System.nanoTime();
        long firstAck = awaitAck(load, "an acknowledgement after the slave is back");
        Poll.until("the slave catches up past the last acknowledged record", WAIT,
            () -> CommitLogPrefix.extent(cluster.storeDir(Node.SLAVE)) > load.highestAckedPhysicalOffset(), c -> c);
        figures.append("slave cut ").append(ms(healedAt - cutAt)).append(" ms: ").append(slaveRefusals)
            .append(" refused (").append(refusals).append("), 0 acknowledged after ").append(SETTLE_MS)
            .append(" ms; first ack ").append(ms(firstAck - healedAt)).append(" ms after healing");
    }

    private static void clientsCutFromNameServer(NetnsCluster cluster, AckedLoad load, StringBuilder figures)
        throws Exception {
        cluster.blackholeFromClients(Node.NAMESRV);
        int before = load.acknowledgedCount();
        Thread.sleep(NAMESRV_CUT_MS);
        int during = load.acknowledgedCount() - before;
        cluster.unblackholeFromClients(Node.NAMESRV);
        assertTrue(during > 10, "only " + during + " sends acknowledged while the clients were cut from the name server");
        figures.append("; clients cut from the name server ").append(NAMESRV_CUT_MS).append(" ms: ").append(during)
            .append(" acknowledged meanwhile");
    }

    private static void masterCutFromNameServer(NetnsCluster cluster, StringBuilder figures) throws Exception {
        cluster.blackhole(Node.MASTER, Node.NAMESRV);
        cluster.blackhole(Node.NAMESRV, Node.MASTER);
        long cutAt = System.nanoTime();
        DefaultMQAdminExt admin = admin(cluster);
        try {
            Poll.until("the name server drops the master it no longer hears from", EXPIRY_WAIT,
                () -> admin.examineTopicRouteInfo(TOPIC), route -> !hasBroker(route, 0));
            long expired = System.nanoTime();
            cluster.unblackhole(Node.MASTER, Node.NAMESRV);
            cluster.unblackhole(Node.NAMESRV, Node.MASTER);
            Poll.until("the master is back in the route", WAIT, () -> admin.examineTopicRouteInfo(TOPIC),
                route -> hasBroker(route, 0));
            long back = System.nanoTime();
            figures.append("master expired from the route ").append(ms(expired - cutAt)).append(" ms after the cut, back ")
                .append(ms(back - expired)).append(" ms after healing");
        } finally {
            admin.shutdown();
        }
    }

    private static long grown(Map<String, Long> before, Map<String, Long> after, String key) {
        return after.getOrDefault(key, 0L) - before.getOrDefault(key, 0L);
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static long awaitAck(AckedLoad load, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (load.firstAckAfterMark() < 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + what + " within " + WAIT + "; refusals " + load.refusals());
            }
            Thread.sleep(5);
        }
        return load.firstAckAfterMark();
    }

    private static boolean hasBroker(TopicRouteData route, long brokerId) {
        return route.getBrokerDatas().stream().anyMatch(b -> b.getBrokerAddrs().containsKey(brokerId));
    }

    private static DefaultMQAdminExt admin(NetnsCluster cluster) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(cluster.namesrvAddress());
        admin.setInstanceName(ChaosEnv.uniqueName("chaos-net-admin"));
        admin.start();
        return admin;
    }

    private static void createTopic(NetnsCluster cluster) throws Exception {
        DefaultMQAdminExt admin = admin(cluster);
        try {
            Poll.until("the master accepts UPDATE_AND_CREATE_TOPIC", WAIT, () -> {
                admin.createAndUpdateTopicConfig(cluster.brokerAddress(Node.MASTER), new TopicConfig(TOPIC, QUEUES, QUEUES, 6));
                return true;
            }, done -> done);
            Poll.until("the route of " + TOPIC + " has the master and the slave", WAIT,
                () -> admin.examineTopicRouteInfo(TOPIC),
                route -> route.getQueueDatas().stream().anyMatch(q -> q.getWriteQueueNums() == QUEUES)
                    && hasBroker(route, 0) && hasBroker(route, 1));
        } finally {
            admin.shutdown();
        }
    }
}
