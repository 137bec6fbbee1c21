package org.ferrocket.interop.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.FerrocketNamesrv;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.JavaBroker;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 15: a Java 5.3.3 master with {@code authenticationEnabled} refuses unsigned requests, so our
 * slave's metadata sync (GET_ALL_TOPIC_CONFIG ...) must carry {@code innerClientAuthenticationCredentials}
 * as Java's own slave does. A topic the master auto-creates for a signed producer reaches our slave.
 */
class AclSlaveSyncTest {

    private static final String INNER = "{\"accessKey\":\"inner\",\"secretKey\":\"innersecret1\"}";

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
    void ourSlaveSyncsFromAJavaMasterWithAuthenticationOn() throws Exception {
        Path work = InteropEnv.freshWorkDir(getClass()).resolve("acl-master");
        FerrocketNamesrv namesrv = FerrocketNamesrv.start(work);
        open.add(namesrv);
        Path javaStore = work.resolve("java-store");
        JavaBroker master = JavaBroker.start(InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath"),
            work, namesrv.address(), OurBroker.CLUSTER, OurBroker.BROKER_NAME, "JSON", Map.of(
                "storePathRootDir", javaStore.toString(),
                "authenticationEnabled", "true",
                "authenticationProvider", "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider",
                "authenticationMetadataProvider",
                "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider",
                "initAuthenticationUser", "{\"username\":\"root\",\"password\":\"rootsecret1\"}",
                "innerClientAuthenticationCredentials", INNER));
        open.add(master);
        Path masterLog = work.resolve("broker-" + OurBroker.BROKER_NAME + "/home/logs/rocketmqlogs/broker.log");
        Poll.until("the Java master registered with the name server", OurBroker.STARTUP,
            () -> Files.exists(masterLog) && Files.readString(masterLog, StandardCharsets.UTF_8)
                .contains("Registering current broker to name server completed"),
            registered -> registered);
        ChildProcess slave = OurBroker.start(work, "slave", namesrv.address(),
            "brokerId=1", "brokerRole=SLAVE", "slaveSyncPeriod=500", "innerClientAuthenticationCredentials=" + INNER);
        open.add(slave);

        String topic = "AclSyncedTopic";
        DefaultMQProducer producer = new DefaultMQProducer("acl_sync_producer",
            new AclClientRPCHook(new SessionCredentials("root", "rootsecret1")));
        producer.setNamesrvAddr(namesrv.address());
        producer.setSendMsgTimeout(10_000);
        producer.start();
        try {
            Message message = new Message(topic, "t", "signed".getBytes(StandardCharsets.UTF_8));
            assertEquals(SendStatus.SEND_OK, producer.send(message).getSendStatus());
        } finally {
            producer.shutdown();
        }
        Path slaveTopics = OurBroker.storeDir(work, "slave").resolve("config/topics.json");
        Poll.until("our slave's signed metadata sync copied the Java master's topic\n" + slave.tail(20),
            OurBroker.STARTUP,
            () -> Files.exists(slaveTopics) && Files.readString(slaveTopics, StandardCharsets.UTF_8).contains(topic),
            known -> known);
    }
}
