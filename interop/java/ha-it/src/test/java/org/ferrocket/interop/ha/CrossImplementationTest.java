package org.ferrocket.interop.ha;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.FerrocketNamesrv;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.JavaBroker;
import org.ferrocket.interop.namesrv.support.Poll;
import org.ferrocket.interop.namesrv.support.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Replication across implementations (issue 6): the official 5.3.3 broker as the slave of our
 * SYNC_MASTER, and as the SYNC_MASTER of our slave. Each pair's commit logs end byte-identical;
 * our slave of a Java master also serves every acknowledged message after that master is killed.
 */
class CrossImplementationTest {

    private static final int MESSAGES = 2_000;
    /** Every message is at least this long on disk (header, topic, body, properties). */
    private static final long RECORD_BYTES_MIN = 100;
    private static final Duration CONSUME_ALL = Duration.ofSeconds(240);

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception ignored) {
                // Clean-up of a failed test: the failure is already reported.
            }
        }
    }

    @Test
    void aJavaSlaveFollowsOurSyncMaster() throws Exception {
        Path work = InteropEnv.freshWorkDir(getClass()).resolve("java-slave");
        FerrocketNamesrv namesrv = FerrocketNamesrv.start(work);
        open.add(namesrv);
        ChildProcess master = OurBroker.start(work, "master", namesrv.address(),
            "brokerId=0", "brokerRole=SYNC_MASTER", "haListenPort=" + Ports.freePort());
        open.add(master);
        Path javaStore = work.resolve("java-store");
        JavaBroker slave = JavaBroker.start(rocketmq5Classpath(), work, namesrv.address(), OurBroker.CLUSTER,
            OurBroker.BROKER_NAME, "JSON", Map.of("brokerId", "1", "brokerRole", "SLAVE",
                "storePathRootDir", javaStore.toString()));
        open.add(slave);

        // SEND_OK from our SYNC_MASTER: the Java slave acknowledged every message.
        Traffic.sendAcknowledged(namesrv.address(), "JavaSlaveTopic", MESSAGES);
        assertTrue(slave.isAlive(), slave.tail(40));
        CommitLogs.assertSameBytes(OurBroker.storeDir(work, "master"), javaStore, MESSAGES * RECORD_BYTES_MIN);
    }

    @Test
    void ourSlaveFollowsAJavaSyncMasterAndServesItsMessagesAfterItIsKilled() throws Exception {
        Path work = InteropEnv.freshWorkDir(getClass()).resolve("java-master");
        FerrocketNamesrv namesrv = FerrocketNamesrv.start(work);
        open.add(namesrv);
        Path javaStore = work.resolve("java-store");
        // 5.x waits for a slave only when inSyncReplicas counts one beside the master.
        JavaBroker master = JavaBroker.start(rocketmq5Classpath(), work, namesrv.address(), OurBroker.CLUSTER,
            OurBroker.BROKER_NAME, "JSON", Map.of("brokerRole", "SYNC_MASTER", "inSyncReplicas", "2",
                "storePathRootDir", javaStore.toString()));
        open.add(master);
        // Our slave starts once the master is in the name server: its first registration then
        // names the master. (A slave registered alone also makes the client cache a master-less
        // default route for the new topic, which it never refreshes while the topic is unknown.)
        Path masterLog = work.resolve("broker-" + OurBroker.BROKER_NAME + "/home/logs/rocketmqlogs/broker.log");
        Poll.until("the Java master registered with the name server", OurBroker.STARTUP,
            () -> Files.exists(masterLog) && Files.readString(masterLog, StandardCharsets.UTF_8)
                .contains("Registering current broker to name server completed"),
            registered -> registered);
        ChildProcess slave = OurBroker.start(work, "slave", namesrv.address(),
            "brokerId=1", "brokerRole=SLAVE", "slaveSyncPeriod=500");
        open.add(slave);

        String topic = "JavaMasterTopic";
        Set<String> acknowledged = Traffic.sendAcknowledged(namesrv.address(), topic, MESSAGES);
        Path slaveTopics = OurBroker.storeDir(work, "slave").resolve("config/topics.json");
        Poll.until("our slave's metadata sync copied the Java master's topic", OurBroker.STARTUP,
            () -> Files.exists(slaveTopics) && Files.readString(slaveTopics, StandardCharsets.UTF_8).contains(topic),
            known -> known);
        master.kill();
        CommitLogs.assertSameBytes(javaStore, OurBroker.storeDir(work, "slave"), MESSAGES * RECORD_BYTES_MIN);

        Traffic.consumeAll(namesrv.address(), topic, acknowledged, CONSUME_ALL);
        assertTrue(slave.isAlive(), "our slave served every read\n" + slave.tail(40));
    }

    private static String rocketmq5Classpath() {
        return InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
    }
}
