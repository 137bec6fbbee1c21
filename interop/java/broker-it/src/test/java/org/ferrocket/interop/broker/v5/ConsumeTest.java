package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.admin.ConsumeStats;
import org.apache.rocketmq.remoting.protocol.admin.OffsetWrapper;
import org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
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
 * Consuming with the official 5.3.3 client: push consumers in clustering mode (two, then three:
 * the rebalance follows NOTIFY_CONSUMER_IDS_CHANGED, every message is consumed exactly once across
 * them, and a restarted group resumes at its committed offsets), broadcasting, lite pull with assign
 * and with subscribe, and a tag filter {@code a || b}.
 *
 * <p>The client's periodic rebalance runs only every 20 s, far longer than {@link #REBALANCE_WAIT}: a
 * group settles in time only if the broker notifies its members of the change.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConsumeTest {

    private static final int QUEUES = 4;
    private static final int MESSAGES = 100;
    /** Well under the client's 20 s periodic rebalance, so only a notification can settle a group in time. */
    private static final Duration REBALANCE_WAIT = Duration.ofSeconds(8);
    private static final String CLUSTERING_TOPIC = "it-clustering";
    private static final String CLUSTERING_GROUP = "it-clustering-group";

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private final List<DefaultMQPushConsumer> running = new CopyOnWriteArrayList<>();
    /** Unique message id -> the consumers that received it (clustering tests). */
    private final Map<String, List<String>> receivedBy = new ConcurrentHashMap<>();

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of());
        producer = fixture.startProducer("it-consume-producer");
    }

    @AfterAll
    void stop() throws Exception {
        running.forEach(DefaultMQPushConsumer::shutdown);
        if (producer != null) {
            producer.shutdown();
        }
        if (fixture != null) {
            fixture.close();
        }
    }

    @AfterEach
    void brokerStillUp() {
        fixture.broker.assertAlive();
    }

    @Test
    @Order(1)
    void clusteringTwoThenThreeConsumersGetEachMessageOnce() throws Exception {
        fixture.createTopic(CLUSTERING_TOPIC, QUEUES);
        DefaultMQPushConsumer first = startRecordingConsumer(CLUSTERING_GROUP, "c1");
        DefaultMQPushConsumer second = startRecordingConsumer(CLUSTERING_GROUP, "c2");
        awaitBalanced(List.of(first, second));
        Set<String> sent = send(CLUSTERING_TOPIC, "two", MESSAGES);
        awaitEachReceivedOnce(sent);
        assertTrue(receivers(sent).containsAll(List.of("c1", "c2")), "both consumers must get messages: " + receivers(sent));

        DefaultMQPushConsumer third = startRecordingConsumer(CLUSTERING_GROUP, "c3");
        awaitBalanced(List.of(first, second, third));
        Set<String> more = send(CLUSTERING_TOPIC, "three", MESSAGES);
        awaitEachReceivedOnce(more);
        assertEquals(Set.of("c1", "c2", "c3"), receivers(more));
        // The first round was not delivered again by the rebalance.
        awaitEachReceivedOnce(sent);
    }

    @Test
    @Order(2)
    void aRestartedGroupResumesAtItsCommittedOffsets() throws Exception {
        // Every offset is on the broker first (pulls and the 1 s persist carry them), so the queues that
        // move between consumers while they shut down one by one start where they were left.
        awaitCommitted(CLUSTERING_GROUP, CLUSTERING_TOPIC, 2L * MESSAGES);
        // Shutdown commits the offsets (UPDATE_CONSUMER_OFFSET) and unregisters each consumer.
        for (DefaultMQPushConsumer consumer : running) {
            consumer.shutdown();
        }
        running.clear();
        awaitCommitted(CLUSTERING_GROUP, CLUSTERING_TOPIC, 2L * MESSAGES);
        int before = receivedBy.size();
        Set<String> whileAway = send(CLUSTERING_TOPIC, "away", MESSAGES);

        // CONSUME_FROM_FIRST_OFFSET would start at 0 if the broker had lost the committed offsets.
        DefaultMQPushConsumer restarted = startRecordingConsumer(CLUSTERING_GROUP, "c4");
        awaitBalanced(List.of(restarted));
        awaitEachReceivedOnce(whileAway);
        Thread.sleep(1000);
        assertEquals(before + MESSAGES, receivedBy.size(), "re-consumed messages from before the restart");
        assertEquals(Map.of(), twice(), "messages consumed twice (id -> consumers)");
        awaitCommitted(CLUSTERING_GROUP, CLUSTERING_TOPIC, 3L * MESSAGES);
    }

    @Test
    @Order(3)
    void broadcastingDeliversEveryMessageToEveryConsumer() throws Exception {
        String topic = "it-broadcast";
        String group = "it-broadcast-group";
        fixture.createTopic(topic, QUEUES);
        Map<String, Set<String>> got = new ConcurrentHashMap<>();
        List<DefaultMQPushConsumer> consumers = new ArrayList<>();
        for (String name : List.of("b1", "b2")) {
            Set<String> mine = ConcurrentHashMap.newKeySet();
            got.put(name, mine);
            DefaultMQPushConsumer consumer = newPushConsumer(group, name, topic, "*");
            consumer.setMessageModel(MessageModel.BROADCASTING);
            consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
                messages.forEach(m -> mine.add(m.getMsgId()));
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            running.add(consumer);
            consumers.add(consumer);
        }
        // Broadcasting: every consumer takes every queue.
        for (DefaultMQPushConsumer consumer : consumers) {
            Poll.until("a broadcasting consumer holds all queues", REBALANCE_WAIT, () -> heldQueues(consumer, topic).size(),
                n -> n == QUEUES);
        }
        heartbeatNow(consumers);
        Set<String> sent = send(topic, "bc", MESSAGES);
        for (String name : got.keySet()) {
            Poll.until(name + " got every broadcast message", BrokerFixture.DELIVERY_WAIT, () -> got.get(name),
                s -> s.containsAll(sent));
        }
        Thread.sleep(500);
        got.forEach((name, ids) -> assertEquals(sent, ids, name));
    }

    @Test
    @Order(4)
    void litePullWithAssignStartsAtTheCommittedOffset() throws Exception {
        String topic = "it-lite-assign";
        fixture.createTopic(topic, QUEUES);
        send(topic, "la", MESSAGES);
        DefaultLitePullConsumer consumer = newLitePullConsumer("it-lite-assign-group");
        try {
            consumer.start();
            Collection<MessageQueue> queues = consumer.fetchMessageQueues(topic);
            assertEquals(QUEUES, queues.size(), queues.toString());
            MessageQueue queue = queues.stream().filter(q -> q.getQueueId() == 1).findFirst().orElseThrow();
            // The group's committed offset (UPDATE_CONSUMER_OFFSET) is where an assigned queue starts. (Not
            // seek(): it races with the pull that assign() starts and can hand out messages twice.)
            SubscriptionGroupConfig groupConfig = new SubscriptionGroupConfig();
            groupConfig.setGroupName("it-lite-assign-group");
            fixture.admin.createAndUpdateSubscriptionGroupConfig(fixture.broker.brokerAddress(), groupConfig);
            fixture.admin.updateConsumeOffset(fixture.broker.brokerAddress(), "it-lite-assign-group", queue, 5);
            consumer.assign(List.of(queue));
            List<MessageExt> got = pollUntil(consumer, MESSAGES / QUEUES - 5);
            assertEquals(5L, got.get(0).getQueueOffset(), got.get(0).toString());
            for (int i = 0; i < got.size(); i++) {
                assertEquals(1, got.get(i).getQueueId());
                assertEquals(5L + i, got.get(i).getQueueOffset());
            }
            // Committed offsets reach the broker (UPDATE_CONSUMER_OFFSET) and read back (QUERY_CONSUMER_OFFSET).
            consumer.commitSync();
            Poll.until("the lite pull consumer's offset committed", BrokerFixture.DELIVERY_WAIT,
                () -> consumer.committed(queue), offset -> offset == MESSAGES / QUEUES);
        } finally {
            consumer.shutdown();
        }
    }

    @Test
    @Order(5)
    void litePullWithSubscribeReadsEverything() throws Exception {
        String topic = "it-lite-subscribe";
        fixture.createTopic(topic, QUEUES);
        Set<String> sent = send(topic, "ls", MESSAGES);
        DefaultLitePullConsumer consumer = newLitePullConsumer("it-lite-subscribe-group");
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        try {
            consumer.subscribe(topic, "*");
            consumer.start();
            List<MessageExt> got = pollUntil(consumer, MESSAGES);
            assertEquals(sent, got.stream().map(MessageExt::getMsgId).collect(Collectors.toSet()));
        } finally {
            consumer.shutdown();
        }
    }

    @Test
    @Order(6)
    void tagFilterAOrBDeliversOnlyThoseTags() throws Exception {
        String topic = "it-tags";
        fixture.createTopic(topic, QUEUES);
        Map<String, Set<String>> sentByTag = new java.util.HashMap<>();
        for (String tag : List.of("a", "b", "c", "ab")) {
            sentByTag.put(tag, new HashSet<>());
        }
        for (int i = 0; i < 60; i++) {
            String tag = List.of("a", "b", "c", "ab").get(i % 4);
            SendResult result = producer.send(new Message(topic, tag, ("tag-" + i).getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus());
            sentByTag.get(tag).add(result.getMsgId());
        }
        Set<String> expected = new HashSet<>(sentByTag.get("a"));
        expected.addAll(sentByTag.get("b"));
        Map<String, String> got = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = newPushConsumer("it-tags-group", "t1", topic, "a || b");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(m -> got.put(m.getMsgId(), m.getTags()));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        running.add(consumer);
        Poll.until("the tag consumer holds all queues", REBALANCE_WAIT, () -> heldQueues(consumer, topic).size(), n -> n == QUEUES);
        heartbeatNow(List.of(consumer));
        Poll.until("the a and b messages arrived", BrokerFixture.DELIVERY_WAIT, () -> got.keySet(),
            ids -> ids.containsAll(expected));
        Thread.sleep(1000);
        assertEquals(expected, got.keySet(), "tags received: " + new HashSet<>(got.values()));
        // The group's committed offsets cover the filtered-out messages too.
        awaitCommitted("it-tags-group", topic, 60);
    }

    private DefaultMQPushConsumer newPushConsumer(String group, String name, String topic, String expression) throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName(name));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setConsumeThreadMin(2);
        consumer.setConsumeThreadMax(2);
        consumer.setPersistConsumerOffsetInterval(1000);
        consumer.subscribe(topic, expression);
        return consumer;
    }

    private DefaultMQPushConsumer startRecordingConsumer(String group, String name) throws Exception {
        DefaultMQPushConsumer consumer = newPushConsumer(group, name, CLUSTERING_TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(m -> receivedBy.computeIfAbsent(m.getMsgId(), id -> new CopyOnWriteArrayList<>()).add(name));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        running.add(consumer);
        return consumer;
    }

    private DefaultLitePullConsumer newLitePullConsumer(String group) {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(group);
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName(group));
        consumer.setAutoCommit(false);
        consumer.setPollTimeoutMillis(500);
        return consumer;
    }

    private static List<MessageExt> pollUntil(DefaultLitePullConsumer consumer, int expected) {
        List<MessageExt> got = new ArrayList<>();
        long deadline = System.nanoTime() + BrokerFixture.DELIVERY_WAIT.toNanos();
        while (got.size() < expected && System.nanoTime() < deadline) {
            got.addAll(consumer.poll(500));
        }
        got.addAll(consumer.poll(300));
        assertEquals(expected, got.size(), "lite pull got " + got.size() + " messages");
        return got;
    }

    private Set<String> send(String topic, String prefix, int count) throws Exception {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < count; i++) {
            SendResult result = producer.send(new Message(topic, (prefix + "-" + i).getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            ids.add(result.getMsgId());
        }
        return ids;
    }

    /** Every queue of the topic held by exactly one of {@code consumers} (none dropped, none shared). */
    private void awaitBalanced(List<DefaultMQPushConsumer> consumers) throws InterruptedException {
        Poll.until(consumers.size() + " consumers split the " + QUEUES + " queues", REBALANCE_WAIT, () -> {
            List<Set<MessageQueue>> held = consumers.stream().map(c -> heldQueues(c, CLUSTERING_TOPIC)).toList();
            return held;
        }, held -> held.stream().allMatch(s -> !s.isEmpty())
            && held.stream().mapToInt(Set::size).sum() == QUEUES
            && held.stream().flatMap(Set::stream).collect(Collectors.toSet()).size() == QUEUES);
        heartbeatNow(consumers);
    }

    /**
     * A client bumps its subscription version whenever its queues change and announces it in a
     * heartbeat that it skips if another heartbeat holds its lock ("lock heartBeat, but failed");
     * until its next periodic heartbeat (30 s) the broker answers its pulls SUBSCRIPTION_NOT_LATEST,
     * as a Java broker must. That is a client race, not the broker's: send the heartbeats now.
     */
    static void heartbeatNow(List<DefaultMQPushConsumer> consumers) throws InterruptedException {
        for (int round = 0; round < 2; round++) {
            Thread.sleep(200);
            for (DefaultMQPushConsumer consumer : consumers) {
                consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
            }
        }
    }

    /** The queues of {@code topic} (not of the group's retry topic) that {@code consumer} pulls from. */
    private static Set<MessageQueue> heldQueues(DefaultMQPushConsumer consumer, String topic) {
        return consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().entrySet().stream()
            .filter(e -> !e.getValue().isDropped() && e.getKey().getTopic().equals(topic))
            .map(Map.Entry::getKey).collect(Collectors.toSet());
    }

    private void awaitEachReceivedOnce(Set<String> ids) throws InterruptedException {
        Poll.until("all " + ids.size() + " messages consumed", BrokerFixture.DELIVERY_WAIT,
            () -> ids.stream().filter(receivedBy::containsKey).count(), n -> n == ids.size());
        Thread.sleep(300);
        for (String id : ids) {
            assertEquals(1, receivedBy.get(id).size(), "message " + id + " consumed by " + receivedBy.get(id));
        }
    }

    private Map<String, List<String>> twice() {
        return receivedBy.entrySet().stream().filter(e -> e.getValue().size() > 1)
            .collect(Collectors.toMap(Map.Entry::getKey, e -> List.copyOf(e.getValue())));
    }

    private Set<String> receivers(Set<String> ids) {
        return ids.stream().flatMap(id -> receivedBy.get(id).stream()).collect(Collectors.toSet());
    }

    /** The group's committed offsets (GET_CONSUME_STATS) add up to {@code total}. */
    private void awaitCommitted(String group, String topic, long total) throws InterruptedException {
        Poll.until(group + " committed " + total + " messages of " + topic, BrokerFixture.DELIVERY_WAIT,
            () -> fixture.admin.examineConsumeStats(group, topic),
            (ConsumeStats stats) -> stats.getOffsetTable().values().stream().mapToLong(OffsetWrapper::getConsumerOffset).sum() == total
                && stats.getOffsetTable().values().stream().allMatch(o -> o.getConsumerOffset() == o.getBrokerOffset()));
    }
}
