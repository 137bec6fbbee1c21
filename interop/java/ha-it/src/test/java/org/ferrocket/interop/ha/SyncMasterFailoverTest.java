package org.ferrocket.interop.ha;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.FerrocketNamesrv;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.ferrocket.interop.namesrv.support.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 6's proof with the official 5.3.3 client: a SYNC_MASTER and its slave (both ours, separate
 * processes), 10,000 messages sent and acknowledged, the master killed with SIGKILL, and every
 * acknowledged message then consumed from the slave by a push consumer that only the name server's
 * route leads there (the client falls back to the slave when the master has left the route).
 */
class SyncMasterFailoverTest {

    private static final String TOPIC = "HaFailoverTopic";
    private static final int MESSAGES = 10_000;
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
    void everyAcknowledgedMessageIsConsumedFromTheSlaveAfterTheMasterIsKilled() throws Exception {
        Path work = InteropEnv.freshWorkDir(getClass());
        FerrocketNamesrv namesrv = FerrocketNamesrv.start(work);
        open.add(namesrv);
        ChildProcess master = OurBroker.start(work, "master", namesrv.address(),
            "brokerId=0", "brokerRole=SYNC_MASTER", "haListenPort=" + Ports.freePort());
        open.add(master);
        // Java's 60 s would make the test wait a minute for the slave to know the topic.
        ChildProcess slave = OurBroker.start(work, "slave", namesrv.address(),
            "brokerId=1", "brokerRole=SLAVE", "slaveSyncPeriod=500");
        open.add(slave);

        Set<String> acknowledged = Traffic.sendAcknowledged(namesrv.address(), TOPIC, MESSAGES);

        Path slaveTopics = OurBroker.storeDir(work, "slave").resolve("config/topics.json");
        Poll.until("the slave's metadata sync copied the topic", OurBroker.STARTUP,
            () -> Files.exists(slaveTopics) && Files.readString(slaveTopics, StandardCharsets.UTF_8).contains(TOPIC),
            known -> known);
        master.kill();
        assertTrue(slave.isAlive(), "the slave outlives its master\n" + slave.tail(40));

        Traffic.consumeAll(namesrv.address(), TOPIC, acknowledged, CONSUME_ALL);
        assertTrue(slave.isAlive(), "the slave served every read\n" + slave.tail(40));
    }
}
