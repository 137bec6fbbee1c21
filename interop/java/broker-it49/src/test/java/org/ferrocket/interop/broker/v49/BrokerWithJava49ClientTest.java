package org.ferrocket.interop.broker.v49;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.route.BrokerData;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The broker under test (ours, or the official 5.3.3 one with {@code -Dbroker.impl=java}) with the
 * official 4.9.8 client and admin API, all requests in ROCKETMQ binary headers: sync, async,
 * oneway and batch sends, push consumers in clustering mode (each message once across two),
 * lite pull with subscribe, a tag filter, messages found again by key and by id, and the 4.9.8
 * admin API reading stats, consumer connections and configuration.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class BrokerWithJava49ClientTest {

    private static final String SERIALIZE_TYPE = "ROCKETMQ";
    private static final int QUEUES = 4;
    private static final int MESSAGES = 40;
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);
    private static final Duration DELIVERY_WAIT = Duration.ofSeconds(30);
    private static final Duration REBALANCE_WAIT = Duration.ofSeconds(15);

    private BrokerUnderTest broker;
    private DefaultMQAdminExt admin;
    private DefaultMQProducer producer;
    private String brokerName;
    private final List<DefaultMQPushConsumer> running = new CopyOnWriteArrayList<>();
    private int instances;

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(getClass());
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        broker = BrokerUnderTest.start(workDir, classpath, SERIALIZE_TYPE, Map.of());
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(broker.namesrvAddress());
        admin.setInstanceName(uniqueName("it49-admin"));
        admin.start();
        ClusterInfo info = awaitRegistered();
        for (BrokerData data : info.getBrokerAddrTable().values()) {
            if (broker.brokerAddress().equals(data.getBrokerAddrs().get(0L))) {
                brokerName = data.getBrokerName();
            }
        }
        assertNotNull(brokerName, info.toJson());
        producer = new DefaultMQProducer("it49-producer");
        producer.setNamesrvAddr(broker.namesrvAddress());
        producer.setInstanceName(uniqueName("it49-producer"));
        producer.setSendMsgTimeout(10_000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.start();
    }

    @AfterAll
    void stop() throws Exception {
        running.forEach(DefaultMQPushConsumer::shutdown);
        if (producer != null) {
            producer.shutdown();
        }
        if (admin != null) {
            admin.shutdown();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @AfterEach
    void brokerStillUp() {
        broker.assertAlive();
    }

    @Test
    @Order(1)
    void syncAsyncOnewayAndBatchSendsAreAllStored() throws Exception {
        String topic = "it49-sends";
        createTopic(topic);
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < MESSAGES; i++) {
            SendResult result = producer.send(new Message(topic, "sync", "k" + i, ("sync-" + i).getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            assertEquals(brokerName, result.getMessageQueue().getBrokerName());
            assertNotNull(result.getOffsetMsgId(), result.toString());
            ids.add(result.getMsgId());
        }
        CountDownLatch done = new CountDownLatch(MESSAGES);
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            producer.send(new Message(topic, "async", ("async-" + i).getBytes(StandardCharsets.UTF_8)), new SendCallback() {
                @Override
                public void onSuccess(SendResult result) {
                    done.countDown();
                }

                @Override
                public void onException(Throwable e) {
                    failures.add(e);
                    done.countDown();
                }
            });
        }
        assertTrue(done.await(30, TimeUnit.SECONDS), "async sends outstanding: " + done.getCount());
        assertTrue(failures.isEmpty(), failures.toString());
        for (int i = 0; i < MESSAGES; i++) {
            producer.sendOneway(new Message(topic, "oneway", ("oneway-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            batch.add(new Message(topic, "batch", ("batch-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        SendResult batchResult = producer.send(batch, new MessageQueue(topic, brokerName, 1));
        assertEquals(SendStatus.SEND_OK, batchResult.getSendStatus(), batchResult.toString());
        assertEquals(MESSAGES, batchResult.getMsgId().split(",").length, batchResult.getMsgId());

        List<MessageExt> all = pullAll(topic, 4 * MESSAGES);
        Map<String, Long> perTag = all.stream().collect(Collectors.groupingBy(MessageExt::getTags, Collectors.counting()));
        assertEquals(Map.of("sync", (long) MESSAGES, "async", (long) MESSAGES, "oneway", (long) MESSAGES,
            "batch", (long) MESSAGES), perTag);
        Set<String> bodies = all.stream().map(m -> new String(m.getBody(), StandardCharsets.UTF_8)).collect(Collectors.toSet());
        assertEquals(4 * MESSAGES, bodies.size());
        assertTrue(all.stream().filter(m -> m.getTags().equals("sync")).map(MessageExt::getMsgId).collect(Collectors.toSet())
            .equals(ids), "sync message ids differ from the send results'");
        List<MessageExt> batched = all.stream().filter(m -> m.getTags().equals("batch"))
            .sorted((a, b) -> Long.compare(a.getQueueOffset(), b.getQueueOffset())).toList();
        for (int i = 0; i < batched.size(); i++) {
            assertEquals(1, batched.get(i).getQueueId());
            assertEquals("batch-" + i, new String(batched.get(i).getBody(), StandardCharsets.UTF_8));
        }
    }

    @Test
    @Order(2)
    void twoPushConsumersInClusteringModeGetEachMessageOnce() throws Exception {
        String topic = "it49-clustering";
        String group = "it49-clustering-group";
        createTopic(topic);
        Map<String, List<String>> receivedBy = new ConcurrentHashMap<>();
        List<DefaultMQPushConsumer> consumers = new ArrayList<>();
        for (String name : List.of("c1", "c2")) {
            DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
            consumer.setNamesrvAddr(broker.namesrvAddress());
            consumer.setInstanceName(uniqueName(name));
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.setConsumeThreadMin(2);
            consumer.setConsumeThreadMax(2);
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
                messages.forEach(m -> receivedBy.computeIfAbsent(m.getMsgId(), id -> new CopyOnWriteArrayList<>()).add(name));
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            running.add(consumer);
            consumers.add(consumer);
        }
        Poll.until("two consumers split the queues", REBALANCE_WAIT, () -> consumers.stream().map(c -> held(c, topic)).toList(),
            held -> held.stream().allMatch(s -> !s.isEmpty()) && held.stream().mapToInt(Set::size).sum() == QUEUES
                && held.stream().flatMap(Set::stream).collect(Collectors.toSet()).size() == QUEUES);
        heartbeatNow(consumers);
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < MESSAGES; i++) {
            sent.add(producer.send(new Message(topic, ("c-" + i).getBytes(StandardCharsets.UTF_8))).getMsgId());
        }
        Poll.until("every message consumed", DELIVERY_WAIT, () -> receivedBy.keySet(), got -> got.containsAll(sent));
        Thread.sleep(300);
        assertEquals(sent, receivedBy.keySet());
        assertTrue(receivedBy.values().stream().allMatch(list -> list.size() == 1), receivedBy.toString());
        assertEquals(Set.of("c1", "c2"), receivedBy.values().stream().flatMap(List::stream).collect(Collectors.toSet()));
    }

    @Test
    @Order(3)
    void litePullWithSubscribeReadsEverything() throws Exception {
        String topic = "it49-lite";
        createTopic(topic);
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < MESSAGES; i++) {
            sent.add(producer.send(new Message(topic, ("l-" + i).getBytes(StandardCharsets.UTF_8))).getMsgId());
        }
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer("it49-lite-group");
        consumer.setNamesrvAddr(broker.namesrvAddress());
        consumer.setInstanceName(uniqueName("it49-lite"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPollTimeoutMillis(500);
        try {
            consumer.subscribe(topic, "*");
            consumer.start();
            Set<String> got = new HashSet<>();
            long deadline = System.nanoTime() + DELIVERY_WAIT.toNanos();
            while (!got.containsAll(sent) && System.nanoTime() < deadline) {
                consumer.poll(500).forEach(m -> got.add(m.getMsgId()));
            }
            assertEquals(sent, got);
        } finally {
            consumer.shutdown();
        }
    }

    @Test
    @Order(4)
    void messagesAreFoundByKeyAndById() throws Exception {
        String topic = "it49-keys";
        createTopic(topic);
        long begin = System.currentTimeMillis() - 60_000;
        SendResult target = null;
        for (int i = 0; i < 10; i++) {
            SendResult result = producer.send(new Message(topic, "t", "key49-" + i, ("keyed-" + i).getBytes(StandardCharsets.UTF_8)));
            if (i == 3) {
                target = result;
            }
        }
        SendResult sent = target;
        QueryResult byKey = Poll.until("key49-3 indexed", DELIVERY_WAIT,
            () -> admin.queryMessage(topic, "key49-3", 32, begin, Long.MAX_VALUE), r -> !r.getMessageList().isEmpty());
        assertEquals(1, byKey.getMessageList().size(), byKey.toString());
        assertEquals("keyed-3", new String(byKey.getMessageList().get(0).getBody(), StandardCharsets.UTF_8));
        MessageExt byOffsetId = admin.viewMessage(topic, sent.getOffsetMsgId());
        assertEquals("keyed-3", new String(byOffsetId.getBody(), StandardCharsets.UTF_8));
        MessageExt byUniqueKey = admin.viewMessage(topic, sent.getMsgId());
        assertEquals("keyed-3", new String(byUniqueKey.getBody(), StandardCharsets.UTF_8));
        assertEquals(sent.getQueueOffset(), byUniqueKey.getQueueOffset());
    }

    @Test
    @Order(5)
    void tagFilterAndAdminStatsWithBinaryHeaders() throws Exception {
        String topic = "it49-tags";
        String group = "it49-tags-group";
        createTopic(topic);
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            String tag = List.of("a", "b", "c").get(i % 3);
            SendResult result = producer.send(new Message(topic, tag, ("t-" + i).getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus());
            if (!tag.equals("c")) {
                expected.add(result.getMsgId());
            }
        }
        Map<String, String> got = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(broker.namesrvAddress());
        consumer.setInstanceName(uniqueName("it49-tags"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPersistConsumerOffsetInterval(1000);
        consumer.subscribe(topic, "a || b");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(m -> got.put(m.getMsgId(), m.getTags()));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        running.add(consumer);
        Poll.until("the tag consumer holds all queues", REBALANCE_WAIT, () -> held(consumer, topic).size(), n -> n == QUEUES);
        heartbeatNow(List.of(consumer));
        Poll.until("the a and b messages arrived", DELIVERY_WAIT, () -> got.keySet(), ids -> ids.containsAll(expected));
        Thread.sleep(500);
        assertEquals(expected, got.keySet(), "tags received: " + new HashSet<>(got.values()));

        // GET_TOPIC_STATS_INFO, GET_CONSUME_STATS, GET_CONSUMER_CONNECTION_LIST, GET_BROKER_RUNTIME_INFO, GET_BROKER_CONFIG.
        var topicStats = admin.examineTopicStats(topic);
        assertEquals(QUEUES, topicStats.getOffsetTable().size(), topicStats.toJson());
        assertEquals(30L, topicStats.getOffsetTable().values().stream().mapToLong(o -> o.getMaxOffset()).sum());
        Poll.until(group + " committed every offset", DELIVERY_WAIT, () -> admin.examineConsumeStats(group),
            stats -> stats.getOffsetTable().entrySet().stream().filter(e -> e.getKey().getTopic().equals(topic))
                .mapToLong(e -> e.getValue().getConsumerOffset()).sum() == 30);
        var connection = admin.examineConsumerConnectionInfo(group);
        assertEquals(1, connection.getConnectionSet().size(), connection.toJson());
        assertEquals("a || b", connection.getSubscriptionTable().get(topic).getSubString());
        var runtime = admin.fetchBrokerRuntimeStats(broker.brokerAddress()).getTable();
        assertTrue(Long.parseLong(runtime.get("msgPutTotalTodayNow")) >= 30, runtime.toString());
        Properties config = admin.getBrokerConfig(broker.brokerAddress());
        assertEquals(brokerName, config.getProperty("brokerName"), config.toString());
    }

    /**
     * A client bumps its subscription version whenever its queues change and announces it in a
     * heartbeat that it skips if another heartbeat holds its lock; until its next periodic one (30 s)
     * the broker answers its pulls SUBSCRIPTION_NOT_LATEST, as a Java broker must. A client race,
     * not the broker's: send the heartbeats now.
     */
    private static void heartbeatNow(List<DefaultMQPushConsumer> consumers) throws InterruptedException {
        for (int round = 0; round < 2; round++) {
            Thread.sleep(200);
            for (DefaultMQPushConsumer consumer : consumers) {
                consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
            }
        }
    }

    private static Set<MessageQueue> held(DefaultMQPushConsumer consumer, String topic) {
        return consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().entrySet().stream()
            .filter(e -> !e.getValue().isDropped() && e.getKey().getTopic().equals(topic))
            .map(Map.Entry::getKey).collect(Collectors.toSet());
    }

    private List<MessageExt> pullAll(String topic, int expected) throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(uniqueName("it49-pull-all"));
        consumer.setNamesrvAddr(broker.namesrvAddress());
        consumer.setInstanceName(uniqueName("it49-pull-all"));
        consumer.setAutoCommit(false);
        consumer.setPollTimeoutMillis(500);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.start();
        try {
            // A fresh group starts at 0 (no committed offset). Not seek(0): it races with the pull that
            // assign() starts and can hand out messages twice.
            consumer.assign(consumer.fetchMessageQueues(topic));
            List<MessageExt> all = new ArrayList<>();
            long deadline = System.nanoTime() + DELIVERY_WAIT.toNanos();
            while (all.size() < expected && System.nanoTime() < deadline) {
                all.addAll(consumer.poll(500));
            }
            all.addAll(consumer.poll(300));
            assertEquals(expected, all.size(), "pulled messages of " + topic);
            return all;
        } finally {
            consumer.shutdown();
        }
    }

    private void createTopic(String topic) throws Exception {
        admin.createAndUpdateTopicConfig(broker.brokerAddress(), new TopicConfig(topic, QUEUES, QUEUES, 6));
        Poll.until("the route of " + topic, ROUTE_WAIT, () -> admin.examineTopicRouteInfo(topic),
            (TopicRouteData route) -> route.getQueueDatas().stream().anyMatch(q -> q.getBrokerName().equals(brokerName)
                && q.getWriteQueueNums() == QUEUES));
    }

    private ClusterInfo awaitRegistered() throws Exception {
        Predicate<ClusterInfo> listed = info -> info.getBrokerAddrTable().values().stream()
            .anyMatch(data -> broker.brokerAddress().equals(data.getBrokerAddrs().get(0L)));
        if (broker.impl() == BrokerUnderTest.Impl.FERROCKET) {
            return Poll.until("the broker registered", ROUTE_WAIT, admin::examineBrokerClusterInfo, listed);
        }
        try {
            return Poll.until("the broker registered", Duration.ofSeconds(3), admin::examineBrokerClusterInfo, listed);
        } catch (AssertionError notYet) {
            // Setting brokerPermission (to its current value) makes the Java broker register at once.
            Properties permission = new Properties();
            permission.setProperty("brokerPermission", "6");
            admin.updateBrokerConfig(broker.brokerAddress(), permission);
            return Poll.until("the broker registered", ROUTE_WAIT, admin::examineBrokerClusterInfo, listed);
        }
    }

    private String uniqueName(String prefix) {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + (++instances);
    }
}
