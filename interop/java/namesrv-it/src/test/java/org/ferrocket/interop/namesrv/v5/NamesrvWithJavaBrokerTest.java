package org.ferrocket.interop.namesrv.v5;

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
import java.util.regex.Matcher;
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
import org.apache.rocketmq.remoting.protocol.ResponseCode;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.RemotingSerializable;
import org.apache.rocketmq.remoting.protocol.SerializeType;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.QueueData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
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
 * Our name server with real Apache RocketMQ 5.3.3 peers, all speaking JSON headers: the official
 * Java broker registers with it, the official client produces and consumes through its routes,
 * mqadmin administers it, and a killed broker (SIGKILL: no UNREGISTER_BROKER, only the connection
 * closes) disappears from it. One name server and one broker serve the whole class; the tests run
 * in order and the last one kills the broker.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NamesrvWithJavaBrokerTest {

    private static final String CLUSTER = "ItCluster5";
    private static final String BROKER = "it-broker-5";
    private static final String TBW102 = "TBW102";
    private static final int MESSAGES = 100;
    /** JSON headers everywhere here (Java's default); namesrv-it49 runs with ROCKETMQ binary headers. */
    private static final String SERIALIZE_TYPE = "JSON";

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
    private MqAdmin mqadmin;

    @BeforeAll
    void startNameServerAndJavaBroker() throws Exception {
        workDir = InteropEnv.freshWorkDir(getClass());
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        namesrv = FerrocketNamesrv.start(workDir);
        broker = JavaBroker.start(classpath, workDir, namesrv.address(), CLUSTER, BROKER, SERIALIZE_TYPE);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrv.address());
        admin.setInstanceName("it-admin-" + System.nanoTime());
        admin.start();
        mqadmin = new MqAdmin(classpath, workDir, namesrv.address(), SERIALIZE_TYPE);
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
                    // The broker's store is the only bulky thing; the logs stay for inspection.
                    InteropEnv.deleteRecursively(workDir.resolve("broker-" + BROKER).resolve("store"));
                }
            }
        }
    }

    @Test
    @Order(1)
    void javaBrokerRegistersWithOurNameServer() throws Exception {
        assertEquals(SERIALIZE_TYPE, broker.serializeType());
        assertEquals(SerializeType.JSON, RemotingCommand.getSerializeTypeConfigInThisServer());
        ClusterInfo cluster = awaitRegistration();
        registered = true;
        BrokerData brokerData = cluster.getBrokerAddrTable().get(BROKER);
        assertEquals(CLUSTER, brokerData.getCluster());
        assertEquals(Map.of(0L, broker.address()), new HashMap<>(brokerData.getBrokerAddrs()));
        assertEquals(Set.of(BROKER), cluster.getClusterAddrTable().get(CLUSTER));

        // The broker creates TBW102 (autoCreateTopicEnable) with 8 queues and READ|WRITE|INHERIT.
        TopicRouteData tbw = admin.examineTopicRouteInfo(TBW102);
        QueueData queues = queueDataOf(tbw, BROKER);
        assertEquals(PERM_READ | PERM_WRITE | PERM_INHERIT, queues.getPerm(), tbw.toJson());
        assertEquals(8, queues.getReadQueueNums());
        assertEquals(8, queues.getWriteQueueNums());
        assertEquals(Map.of(0L, broker.address()), new HashMap<>(tbw.getBrokerDatas().get(0).getBrokerAddrs()));

        assertTrue(admin.fetchTopicsByCLuster(CLUSTER).getTopicList().contains(TBW102));
        assertTrue(admin.fetchAllTopicList().getTopicList().contains(TBW102));
    }

    @Test
    @Order(2)
    void clientSendsAndConsumesThroughOurRoutes() throws Exception {
        requireRegistered();
        String topic = "it-topic-5";
        DefaultMQProducer producer = new DefaultMQProducer("it-producer-5");
        producer.setNamesrvAddr(namesrv.address());
        producer.setInstanceName("it-producer-" + System.nanoTime());
        producer.start();
        try {
            // The topic is new: the client finds no route, falls back to TBW102's, and the broker
            // auto-creates the topic and registers it with us.
            for (int i = 0; i < MESSAGES; i++) {
                Message message = new Message(topic, "TagA", "key-" + i, ("message-" + i).getBytes(StandardCharsets.UTF_8));
                SendResult result = producer.send(message);
                assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
                assertEquals(BROKER, result.getMessageQueue().getBrokerName());
            }
        } finally {
            producer.shutdown();
        }

        TopicRouteData route = Poll.until(topic + " has a route", ROUTE_WAIT, () -> admin.examineTopicRouteInfo(topic),
            r -> !r.getQueueDatas().isEmpty());
        QueueData queues = queueDataOf(route, BROKER);
        assertEquals(4, queues.getWriteQueueNums(), route.toJson());
        assertEquals(4, queues.getReadQueueNums(), route.toJson());
        assertEquals(PERM_READ | PERM_WRITE, queues.getPerm(), route.toJson());

        Map<String, String> received = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("it-consumer-5");
        consumer.setNamesrvAddr(namesrv.address());
        consumer.setInstanceName("it-consumer-" + System.nanoTime());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
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
    void mqadminListsClusterTopicsAndRoutes() throws Exception {
        requireRegistered();
        MqAdmin.Result clusterList = mqadmin.run("clusterList");
        Pattern row = Pattern.compile("^" + CLUSTER + "\\s+" + BROKER + "\\s+0\\s+" + Pattern.quote(broker.address()) + "\\s",
            Pattern.MULTILINE);
        assertTrue(row.matcher(clusterList.stdout()).find(), clusterList.toString());

        String topic = "it-admin-topic-5";
        MqAdmin.Result update = mqadmin.run("updateTopic", "-c", CLUSTER, "-t", topic, "-r", "3", "-w", "3");
        assertTrue(update.stdout().contains("create topic to " + broker.address() + " success"), update.toString());
        Poll.until(topic + " has a route", ROUTE_WAIT, () -> admin.examineTopicRouteInfo(topic),
            r -> !r.getQueueDatas().isEmpty());

        MqAdmin.Result topicRoute = mqadmin.run("topicRoute", "-t", topic);
        TopicRouteData printed = RemotingSerializable.decode(topicRoute.stdout().trim().getBytes(StandardCharsets.UTF_8),
            TopicRouteData.class);
        assertNotNull(printed, topicRoute.toString());
        QueueData queues = queueDataOf(printed, BROKER);
        assertEquals(3, queues.getReadQueueNums(), topicRoute.toString());
        assertEquals(3, queues.getWriteQueueNums(), topicRoute.toString());
        assertEquals(PERM_READ | PERM_WRITE, queues.getPerm(), topicRoute.toString());
        assertEquals(1, printed.getBrokerDatas().size(), topicRoute.toString());
        assertEquals(CLUSTER, printed.getBrokerDatas().get(0).getCluster());
        assertEquals(Map.of(0L, broker.address()), new HashMap<>(printed.getBrokerDatas().get(0).getBrokerAddrs()));

        MqAdmin.Result topicList = mqadmin.run("topicList");
        List<String> topics = topicList.stdout().lines().map(String::trim).toList();
        assertTrue(topics.containsAll(List.of(topic, TBW102)), topicList.toString());
    }

    @Test
    @Order(4)
    void mqadminWritesReadsAndDeletesKvConfig() throws Exception {
        requireRegistered();
        // ORDER_TOPIC_CONFIG, so that `updateOrderConf -m get` (mqadmin's only KV reader) reads it back.
        String namespace = "ORDER_TOPIC_CONFIG";
        String key = "it-order-topic-5";
        String value = BROKER + ":4";
        MqAdmin.Result put = mqadmin.run("updateKvConfig", "-s", namespace, "-k", key, "-v", value);
        assertTrue(put.stdout().contains("create or update kv config to namespace success"), put.toString());
        assertEquals(value, admin.getKVConfig(namespace, key));
        assertEquals(value, admin.getKVListByNamespace(namespace).getTable().get(key));

        MqAdmin.Result get = mqadmin.run("updateOrderConf", "-t", key, "-m", "get");
        assertTrue(get.stdout().contains("get orderConf success. topic=[" + key + "], orderConf=[" + value + "]"),
            get.toString());

        MqAdmin.Result delete = mqadmin.run("deleteKvConfig", "-s", namespace, "-k", key);
        assertTrue(delete.stdout().contains("delete kv config from namespace success"), delete.toString());
        MQClientException gone = expectClientException(() -> admin.getKVConfig(namespace, key));
        assertEquals(ResponseCode.QUERY_NOT_FOUND, gone.getResponseCode(), gone.toString());
        assertTrue(gone.getErrorMessage().contains("No config item, Namespace: " + namespace + " Key: " + key),
            gone.getErrorMessage());
    }

    @Test
    @Order(5)
    void mqadminWipesAndAddsWritePermission() throws Exception {
        requireRegistered();
        // Every topic in the broker's own table is registered with us, so both commands count them all.
        int brokerTopics = admin.getAllTopicConfig(broker.address(), 5_000).getTopicConfigTable().size();

        MqAdmin.Result wipe = mqadmin.run("wipeWritePerm", "-b", BROKER);
        assertEquals(brokerTopics, permCount(wipe, "wipe"), wipe.toString());
        // The effect is checked through the admin API, right after the same request: mqadmin's
        // JVM takes seconds to exit, in which the broker could re-register its own permissions.
        assertEquals(brokerTopics, admin.wipeWritePermOfBroker(namesrv.address(), BROKER));
        assertEquals(PERM_READ | PERM_INHERIT, queueDataOf(admin.examineTopicRouteInfo(TBW102), BROKER).getPerm());

        MqAdmin.Result add = mqadmin.run("addWritePerm", "-b", BROKER);
        assertEquals(brokerTopics, permCount(add, "add"), add.toString());
        assertEquals(brokerTopics, admin.addWritePermOfBroker(namesrv.address(), BROKER));
        // Java sets exactly READ|WRITE, dropping TBW102's INHERIT until the broker registers again.
        assertEquals(PERM_READ | PERM_WRITE, queueDataOf(admin.examineTopicRouteInfo(TBW102), BROKER).getPerm());

        MqAdmin.Result unknown = mqadmin.run("wipeWritePerm", "-b", "no-such-broker");
        assertEquals(0, permCount(unknown, "wipe"), unknown.toString());
    }

    @Test
    @Order(6)
    void mqadminReadsAndUpdatesNameServerConfig() throws Exception {
        requireRegistered();
        MqAdmin.Result before = mqadmin.run("getNamesrvConfig");
        Map<String, String> config = printedConfig(before);
        for (String key : List.of("orderMessageEnable", "scanNotActiveBrokerInterval", "enableAllTopicList",
            "returnOrderTopicConfigToBroker", "productEnvName")) {
            assertTrue(config.containsKey(key), key + " missing from\n" + before);
        }

        MqAdmin.Result update = mqadmin.run("updateNamesrvConfig", "-k", "productEnvName", "-v", "it_env_5");
        assertTrue(update.stdout().contains("update name server config success"), update.toString());
        assertEquals("it_env_5", nameServerConfig().getProperty("productEnvName"));

        // A path is never settable at run time (CVE-2023-37582): refused like Java's black list.
        MqAdmin.Result denied = mqadmin.run("updateNamesrvConfig", "-k", "configStorePath", "-v",
            workDir.resolve("evil").toString());
        assertTrue(denied.stderr().contains("CODE: " + ResponseCode.NO_PERMISSION), denied.toString());
        assertFalse(nameServerConfig().containsKey("configStorePath"), nameServerConfig().toString());
    }

    @Test
    @Order(100)
    void killedBrokerDisappearsFromRoutes() throws Exception {
        requireRegistered();
        String topic = "it-topic-5";
        broker.kill();
        Poll.until("the cluster info no longer lists " + BROKER, ROUTE_WAIT, admin::examineBrokerClusterInfo,
            info -> !info.getBrokerAddrTable().containsKey(BROKER) && !info.getClusterAddrTable().containsKey(CLUSTER));
        for (String gone : List.of(topic, TBW102)) {
            MQClientException e = expectClientException(() -> admin.examineTopicRouteInfo(gone));
            assertEquals(ResponseCode.TOPIC_NOT_EXIST, e.getResponseCode(), e.toString());
            assertTrue(e.getErrorMessage().contains("No topic route info in name server for the topic: " + gone),
                e.getErrorMessage());
        }
        assertFalse(admin.fetchAllTopicList().getTopicList().contains(topic));
        namesrv.assertAlive();
    }

    private Properties nameServerConfig() throws Exception {
        return admin.getNameServerConfig(List.of(namesrv.address())).get(namesrv.address());
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

    /** The N of {@code <verb> write perm of broker[b] in name server[addr] OK, N}. */
    private int permCount(MqAdmin.Result result, String verb) {
        Matcher matcher = Pattern.compile(verb + " write perm of broker\\[.*\\] in name server\\["
            + Pattern.quote(namesrv.address()) + "\\] OK, (\\d+)").matcher(result.stdout());
        assertTrue(matcher.find(), result.toString());
        return Integer.parseInt(matcher.group(1));
    }

    /** {@code getNamesrvConfig} prints {@code key<padding>=  value} under a {@code ====addr====} line. */
    private Map<String, String> printedConfig(MqAdmin.Result result) {
        assertTrue(result.stdout().contains("============" + namesrv.address() + "============"), result.toString());
        Map<String, String> config = new HashMap<>();
        Matcher matcher = Pattern.compile("^(\\S+)\\s+=  (.*)$", Pattern.MULTILINE).matcher(result.stdout());
        while (matcher.find()) {
            config.put(matcher.group(1), matcher.group(2));
        }
        return config;
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
