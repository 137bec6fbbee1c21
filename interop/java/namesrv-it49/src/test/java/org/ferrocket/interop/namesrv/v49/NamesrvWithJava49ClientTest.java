package org.ferrocket.interop.namesrv.v49;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.ResponseCode;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.route.BrokerData;
import org.apache.rocketmq.common.protocol.route.QueueData;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.RemotingSerializable;
import org.apache.rocketmq.remoting.protocol.SerializeType;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.FerrocketNamesrv;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.JavaBroker;
import org.ferrocket.interop.namesrv.support.MqAdmin;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Our name server with the official Apache RocketMQ 4.9.8 client, admin API and mqadmin (request
 * version 409, the older header and JSON variants), and the official 5.3.3 Java broker: 4.9.8 and
 * 5.3.3 classes cannot share a classpath, so the broker runs on the one namesrv-it wrote. Every
 * peer here uses ROCKETMQ binary headers. The last test stops the broker gracefully (SIGTERM:
 * UNREGISTER_BROKER first, the connection closes at the end of its shutdown).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NamesrvWithJava49ClientTest {

    private static final String CLUSTER = "ItCluster49";
    private static final String BROKER = "it-broker-49";
    private static final String TOPIC = "it-topic-49";
    private static final String TBW102 = "TBW102";
    private static final int MESSAGES = 100;
    /**
     * ROCKETMQ binary headers everywhere here: the broker's REGISTER/UNREGISTER_BROKER, the 4.9.8
     * client and admin (this JVM: see the module's Surefire argLine) and mqadmin. namesrv-it uses JSON.
     */
    private static final String SERIALIZE_TYPE = "ROCKETMQ";

    /** Route changes take a round trip or two; the rest is margin for a loaded 2-core machine. */
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);

    /**
     * A 5.3.3 broker skips its start-up registration when its background connection to the name
     * server is not up yet (a race inside its NettyRemotingClient: registrations go only to
     * "available" name servers, which a scan marks after connecting) and would then register only
     * 10 s later. After this long without it, the test asks the broker to register at once.
     */
    private static final Duration STARTUP_REGISTRATION_WAIT = Duration.ofSeconds(3);

    private static final int PERM_READ = 4;
    private static final int PERM_WRITE = 2;
    private static final int PERM_INHERIT = 1;

    /** Set once our name server listed the broker; later tests fail at once without it. */
    private volatile boolean registered;
    private Path workDir;
    private FerrocketNamesrv namesrv;
    private JavaBroker broker;
    private DefaultMQAdminExt admin;
    private MqAdmin mqadmin49;

    @BeforeAll
    void startNameServerAndJavaBroker() throws Exception {
        workDir = InteropEnv.freshWorkDir(getClass());
        String brokerClasspath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        String toolsClasspath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq49Classpath");
        namesrv = FerrocketNamesrv.start(workDir);
        broker = JavaBroker.start(brokerClasspath, workDir, namesrv.address(), CLUSTER, BROKER, SERIALIZE_TYPE);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrv.address());
        admin.setInstanceName("it-admin49-" + System.nanoTime());
        admin.start();
        mqadmin49 = new MqAdmin(toolsClasspath, workDir, namesrv.address(), SERIALIZE_TYPE);
    }

    @AfterAll
    void stopEverything() throws Exception {
        try {
            if (admin != null) {
                admin.shutdown();
            }
        } finally {
            try {
                if (broker != null) {
                    broker.close();
                }
            } finally {
                if (namesrv != null) {
                    namesrv.close();
                }
                if (workDir != null) {
                    InteropEnv.deleteRecursively(workDir.resolve("broker-" + BROKER).resolve("store"));
                }
            }
        }
    }

    @Test
    @Order(1)
    void admin49SeesTheRegisteredBroker() throws Exception {
        assertEquals(SERIALIZE_TYPE, broker.serializeType());
        assertEquals(SerializeType.ROCKETMQ, RemotingCommand.getSerializeTypeConfigInThisServer(),
            "the Surefire argLine must set -Drocketmq.serialize.type=ROCKETMQ");
        ClusterInfo cluster = awaitRegistration();
        registered = true;
        BrokerData brokerData = cluster.getBrokerAddrTable().get(BROKER);
        assertEquals(CLUSTER, brokerData.getCluster());
        assertEquals(Map.of(0L, broker.address()), new HashMap<>(brokerData.getBrokerAddrs()));
        assertEquals(Set.of(BROKER), cluster.getClusterAddrTable().get(CLUSTER));

        TopicRouteData tbw = admin.examineTopicRouteInfo(TBW102);
        QueueData queues = queueDataOf(tbw, BROKER);
        assertEquals(PERM_READ | PERM_WRITE | PERM_INHERIT, queues.getPerm(), tbw.toJson());
        assertEquals(8, queues.getWriteQueueNums());
        assertTrue(admin.fetchAllTopicList().getTopicList().contains(TBW102));
        assertTrue(admin.fetchTopicsByCLuster(CLUSTER).getTopicList().contains(TBW102));
    }

    @Test
    @Order(2)
    void client49SendsAndConsumesThroughOurRoutes() throws Exception {
        requireRegistered();
        DefaultMQProducer producer = new DefaultMQProducer("it-producer-49");
        producer.setNamesrvAddr(namesrv.address());
        producer.setInstanceName("it-producer49-" + System.nanoTime());
        producer.start();
        try {
            for (int i = 0; i < MESSAGES; i++) {
                Message message = new Message(TOPIC, "TagA", "key-" + i, ("message-" + i).getBytes(StandardCharsets.UTF_8));
                SendResult result = producer.send(message);
                assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
                assertEquals(BROKER, result.getMessageQueue().getBrokerName());
            }
        } finally {
            producer.shutdown();
        }

        TopicRouteData route = Poll.until(TOPIC + " has a route", ROUTE_WAIT, () -> admin.examineTopicRouteInfo(TOPIC),
            r -> !r.getQueueDatas().isEmpty());
        QueueData queues = queueDataOf(route, BROKER);
        assertEquals(4, queues.getWriteQueueNums(), route.toJson());
        assertEquals(PERM_READ | PERM_WRITE, queues.getPerm(), route.toJson());

        Map<String, String> received = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("it-consumer-49");
        consumer.setNamesrvAddr(namesrv.address());
        consumer.setInstanceName("it-consumer49-" + System.nanoTime());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            for (MessageExt message : messages) {
                received.put(message.getKeys(), new String(message.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        try {
            Poll.until("all " + MESSAGES + " messages are consumed", Duration.ofSeconds(60), received::size,
                size -> size >= MESSAGES);
        } finally {
            consumer.shutdown();
        }
        for (int i = 0; i < MESSAGES; i++) {
            assertEquals("message-" + i, received.get("key-" + i));
        }
        namesrv.assertAlive();
    }

    @Test
    @Order(3)
    void mqadmin49ListsClusterAndRoute() throws Exception {
        requireRegistered();
        MqAdmin.Result clusterList = mqadmin49.run("clusterList");
        Pattern row = Pattern.compile("^" + CLUSTER + "\\s+" + BROKER + "\\s+0\\s+" + Pattern.quote(broker.address()) + "\\s",
            Pattern.MULTILINE);
        assertTrue(row.matcher(clusterList.stdout()).find(), clusterList.toString());

        MqAdmin.Result topicRoute = mqadmin49.run("topicRoute", "-t", TBW102);
        TopicRouteData printed = RemotingSerializable.decode(topicRoute.stdout().trim().getBytes(StandardCharsets.UTF_8),
            TopicRouteData.class);
        assertNotNull(printed, topicRoute.toString());
        assertEquals(8, queueDataOf(printed, BROKER).getReadQueueNums(), topicRoute.toString());
        assertEquals(Map.of(0L, broker.address()), new HashMap<>(printed.getBrokerDatas().get(0).getBrokerAddrs()));
    }

    @Test
    @Order(100)
    void stoppedBrokerDisappearsFromRoutes() throws Exception {
        requireRegistered();
        // Polled while the broker is still shutting down: its UNREGISTER_BROKER comes first, the
        // connection close (which would remove it too) only at the end of its shutdown, seconds
        // later. @AfterAll ends the process.
        broker.beginGracefulStop();
        Poll.until("the cluster info no longer lists " + BROKER, ROUTE_WAIT, admin::examineBrokerClusterInfo,
            info -> !info.getBrokerAddrTable().containsKey(BROKER) && !info.getClusterAddrTable().containsKey(CLUSTER));
        for (String gone : List.of(TOPIC, TBW102)) {
            MQClientException e = expectClientException(() -> admin.examineTopicRouteInfo(gone));
            assertEquals(ResponseCode.TOPIC_NOT_EXIST, e.getResponseCode(), e.toString());
            assertTrue(e.getErrorMessage().contains("No topic route info in name server for the topic: " + gone),
                e.getErrorMessage());
        }
        assertFalse(admin.fetchAllTopicList().getTopicList().contains(TOPIC));
        namesrv.assertAlive();
    }

    private void requireRegistered() {
        assertTrue(registered, "the broker never showed up in our name server (see the first test)");
    }

    /** Waits until our name server lists the broker, nudging it if it skipped its start-up registration. */
    private ClusterInfo awaitRegistration() throws Exception {
        String what = "the cluster info lists " + BROKER;
        try {
            return Poll.until(what, STARTUP_REGISTRATION_WAIT, admin::examineBrokerClusterInfo,
                info -> info.getBrokerAddrTable().containsKey(BROKER));
        } catch (AssertionError notYet) {
            // Setting brokerPermission (to its current value) makes the broker register with every
            // name server at once (AdminBrokerProcessor.updateBrokerConfig).
            Properties permission = new Properties();
            permission.setProperty("brokerPermission", Integer.toString(PERM_READ | PERM_WRITE));
            admin.updateBrokerConfig(broker.address(), permission);
            return Poll.until(what, ROUTE_WAIT, admin::examineBrokerClusterInfo,
                info -> info.getBrokerAddrTable().containsKey(BROKER));
        }
    }

    private static QueueData queueDataOf(TopicRouteData route, String brokerName) {
        return route.getQueueDatas().stream().filter(q -> q.getBrokerName().equals(brokerName)).findFirst()
            .orElseThrow(() -> new AssertionError("no queue data for " + brokerName + " in " + route.toJson()));
    }

    private interface Call {
        void run() throws Exception;
    }

    private static MQClientException expectClientException(Call call) throws Exception {
        try {
            call.run();
        } catch (MQClientException e) {
            return e;
        }
        return fail("expected an MQClientException");
    }
}
