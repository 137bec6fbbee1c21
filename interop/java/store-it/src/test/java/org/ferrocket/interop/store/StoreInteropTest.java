package org.ferrocket.interop.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.FerrocketNamesrv;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.ferrocket.interop.namesrv.support.Ports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Store files, both ways, with the official Apache RocketMQ 5.3.3 broker and client (our name
 * server routes them).
 *
 * <p>Java to ours: the Java broker stores a few hundred varied messages (tags, keys, properties,
 * non-ASCII text, 200 KiB bodies the client compresses, batches; several topics and queues), the
 * client pulls them all back and they must be what it sent; the broker stops cleanly, and our
 * store opens a copy and must read every message back as the Java client did ({@code
 * java_store_reads_back_identical}: every record field, every consume-queue entry, every index key,
 * and the same through {@code MessageStore}).
 *
 * <p>Ours to Java: our store writes one ({@code write_store_for_java}); the Java broker opens it,
 * serves our {@code topics.json} topics, and the client pulls every queue from offset 0 and looks
 * messages up by key, unique key and offset id, every message identical; the store the Java broker
 * then leaves must still read back identical in ours.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class StoreInteropTest {

    /** Topic, queue count: several queues of unequal length. */
    private static final Map<String, Integer> JAVA_TOPICS = new TreeMap<>(Map.of("StoreItA", 4, "StoreItB", 2,
        "StoreItC", 3));
    private static final int SINGLE_MESSAGES = 300;
    private static final int BATCHES = 2;
    private static final int BATCH_SIZE = 10;
    /** The brief's large body: above the client's 4 KiB compression threshold and most of a segment. */
    private static final int LARGE_BODY_BYTES = 200 * 1024;
    private static final int PULL_BATCH = 32;
    private static final int PERM_READ_WRITE = 6;

    /** Route changes take a round trip or two; the rest is margin for a loaded 2-core machine. */
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);
    /** A 5.3.3 broker may miss its start-up registration (see NamesrvWithJavaBrokerTest); then we ask. */
    private static final Duration STARTUP_REGISTRATION_WAIT = Duration.ofSeconds(3);

    private Path workDir;
    private String classpath;
    private FerrocketNamesrv namesrv;
    private DefaultMQAdminExt admin;

    @BeforeAll
    void startNameServer() throws Exception {
        workDir = InteropEnv.freshWorkDir(getClass());
        classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        namesrv = FerrocketNamesrv.start(workDir);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrv.address());
        admin.setInstanceName("store-it-admin-" + System.nanoTime());
        admin.start();
    }

    @AfterAll
    void stopEverything() throws Exception {
        try {
            if (admin != null) {
                admin.shutdown();
            }
        } finally {
            if (namesrv != null) {
                namesrv.close();
            }
        }
    }

    @Test
    @Order(1)
    void javaStoreOpensInOursAndReadsBackIdentical() throws Exception {
        Path store = workDir.resolve("java-store");
        List<RecordLine> expected;
        try (StoreBroker broker = StoreBroker.start(classpath, workDir, namesrv.address(), "store-it-java", store)) {
            for (Map.Entry<String, Integer> topic : JAVA_TOPICS.entrySet()) {
                TopicConfig config = new TopicConfig(topic.getKey(), topic.getValue(), topic.getValue(), PERM_READ_WRITE);
                admin.createAndUpdateTopicConfig(broker.address(), config);
            }
            awaitRoutes(broker, JAVA_TOPICS.keySet());
            List<Sent> sent = sendVariedMessages();
            Map<String, MessageExt> readBack = pullAll(JAVA_TOPICS.keySet(), null);
            expected = checkReadBackAsSent(sent, readBack);
            broker.stopCleanly();
        }
        Path copy = workDir.resolve("java-store-copy");
        copyTree(store, copy);
        Path expectedFile = workDir.resolve("java-expected.tsv");
        RecordLine.writeAll(expectedFile, expected);
        RustStoreCheck.run(workDir, "java_store_reads_back_identical",
            Map.of("FERROCKET_JAVA_STORE", copy.toString(), "FERROCKET_JAVA_EXPECTED", expectedFile.toString()));
    }

    @Test
    @Order(2)
    void oursOpensInJavaAndIsConsumedInFull() throws Exception {
        Path store = workDir.resolve("ours-store");
        Path expectedFile = workDir.resolve("ours-expected.tsv");
        int port = Ports.brokerListenPort();
        RustStoreCheck.run(workDir, "write_store_for_java", Map.of("FERROCKET_STORE_FOR_JAVA", store.toString(),
            "FERROCKET_STORE_FOR_JAVA_EXPECTED", expectedFile.toString(),
            "FERROCKET_STORE_FOR_JAVA_STORE_HOST", "127.0.0.1:" + port));
        List<RecordLine> expected = RecordLine.readAll(expectedFile);
        assertTrue(expected.size() >= 100, "the Rust writer wrote only " + expected.size() + " messages");
        assertFalse(Files.exists(store.resolve("abort")), "our clean store has no abort file");
        Set<String> topics = expected.stream().map(RecordLine::topic).collect(Collectors.toCollection(LinkedHashSet::new));

        try (StoreBroker broker = StoreBroker.start(classpath, workDir, namesrv.address(), "store-it-ours", store, port)) {
            // topics.json as written by us: the broker serves these topics with our queue counts.
            Map<String, Integer> queues = queueCounts(expected);
            for (String topic : topics) {
                TopicConfig config = admin.examineTopicConfig(broker.address(), topic);
                assertNotNull(config, topic + " is not in the broker's topic table: config/topics.json not read?");
                assertEquals(queues.get(topic), config.getReadQueueNums(), topic);
            }
            forceRegistration(broker);
            awaitRoutes(broker, topics);
            Map<String, Integer> perQueue = new HashMap<>();
            expected.forEach(line -> perQueue.merge(line.topic() + "/" + line.queueId(), 1, Integer::sum));
            Map<String, MessageExt> readBack = pullAll(topics, perQueue);
            checkReadBackAsWritten(expected, readBack);
            checkQueries(expected);
            broker.stopCleanly();
        }
        // And back: the store as the Java broker left it (its own checkpoint, abort file removed,
        // perhaps a preallocated segment) still opens in ours with every message intact.
        RustStoreCheck.run(workDir, "java_store_reads_back_identical",
            Map.of("FERROCKET_JAVA_STORE", store.toString(), "FERROCKET_JAVA_EXPECTED", expectedFile.toString()));
    }

    /** One send: the message as given to the client and what the broker answered. */
    private record Sent(Message message, byte[] body, String msgId, String offsetMsgId, int queueId, long queueOffset,
                        boolean batch) {
    }

    private List<Sent> sendVariedMessages() throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("store-it-producer");
        producer.setNamesrvAddr(namesrv.address());
        producer.setInstanceName("store-it-producer-" + System.nanoTime());
        producer.setSendMsgTimeout(15_000);
        producer.start();
        List<Sent> sent = new ArrayList<>();
        List<String> topics = new ArrayList<>(JAVA_TOPICS.keySet());
        Random random = new Random(20261125L);
        try {
            for (int i = 0; i < SINGLE_MESSAGES; i++) {
                Message message = variedMessage(topics.get(i % topics.size()), i, random);
                sent.add(sendOne(producer, message));
                if (i % 100 == 50) {
                    // Incompressible (random) and compressible (text) large bodies, between small ones.
                    sent.add(sendOne(producer, largeMessage(topics.get(i % topics.size()), i, random, i % 200 == 50)));
                }
            }
            for (int b = 0; b < BATCHES; b++) {
                sent.addAll(sendBatch(producer, topics.get(1), b, random));
            }
        } finally {
            producer.shutdown();
        }
        return sent;
    }

    private static Message variedMessage(String topic, int i, Random random) {
        byte[] body;
        if (i % 10 == 0) {
            body = ("メッセージ #" + i + " – ünïcødé ✓ 🚀").getBytes(StandardCharsets.UTF_8);
        } else {
            body = new byte[1 + (i * 997) % 3000];
            random.nextBytes(body);
        }
        String tags = i % 4 == 0 ? null : "Tag" + (i % 3);
        String keys = switch (i % 5) {
            case 0 -> null;
            case 1 -> "key-" + i;
            default -> "key-" + i + " alt-" + (i % 7) + " ключ-" + i;
        };
        Message message = new Message(topic, tags, keys, body);
        if (i % 3 == 0) {
            message.putUserProperty("color", i % 2 == 0 ? "red" : "blue");
            message.putUserProperty("名前", "値-" + i);
        }
        message.setFlag(i % 7);
        return message;
    }

    private static Message largeMessage(String topic, int i, Random random, boolean compressible) {
        byte[] body = new byte[LARGE_BODY_BYTES];
        if (compressible) {
            byte[] line = ("large body line for message " + i + "\n").getBytes(StandardCharsets.UTF_8);
            for (int at = 0; at < body.length; at++) {
                body[at] = line[at % line.length];
            }
        } else {
            random.nextBytes(body);
        }
        return new Message(topic, "Large", "large-" + i, body);
    }

    private static Sent sendOne(DefaultMQProducer producer, Message message) throws Exception {
        byte[] body = message.getBody().clone();
        SendResult result = producer.send(message);
        assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
        return new Sent(message, body, result.getMsgId(), result.getOffsetMsgId(), result.getMessageQueue().getQueueId(),
            result.getQueueOffset(), false);
    }

    /** A batch of {@link #BATCH_SIZE}: one send, consecutive queue offsets, ids joined by commas. */
    private static List<Sent> sendBatch(DefaultMQProducer producer, String topic, int b, Random random) throws Exception {
        List<Message> batch = new ArrayList<>();
        for (int k = 0; k < BATCH_SIZE; k++) {
            byte[] body = new byte[100 + random.nextInt(400)];
            random.nextBytes(body);
            Message message = new Message(topic, "Batch" + b, "batch-" + b + "-" + k, body);
            message.putUserProperty("member", Integer.toString(k));
            batch.add(message);
        }
        SendResult result = producer.send(batch);
        assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
        String[] msgIds = result.getMsgId().split(",");
        String[] offsetMsgIds = result.getOffsetMsgId().split(",");
        assertEquals(BATCH_SIZE, msgIds.length, result.toString());
        assertEquals(BATCH_SIZE, offsetMsgIds.length, result.toString());
        List<Sent> sent = new ArrayList<>();
        for (int k = 0; k < BATCH_SIZE; k++) {
            Message message = batch.get(k);
            sent.add(new Sent(message, message.getBody(), msgIds[k], offsetMsgIds[k],
                result.getMessageQueue().getQueueId(), result.getQueueOffset() + k, true));
        }
        return sent;
    }

    /**
     * Every message of every queue of {@code topics}, pulled from offset 0 to the end, by offset
     * message id. With {@code expectedPerQueue} ("topic/queueId" to count), each queue's min and
     * max offsets must be 0 and that count.
     */
    private Map<String, MessageExt> pullAll(Set<String> topics, Map<String, Integer> expectedPerQueue) throws Exception {
        DefaultMQPullConsumer consumer = new DefaultMQPullConsumer("store-it-readback");
        consumer.setNamesrvAddr(namesrv.address());
        consumer.setInstanceName("store-it-readback-" + System.nanoTime());
        consumer.start();
        Map<String, MessageExt> byOffsetMsgId = new HashMap<>();
        try {
            for (String topic : topics) {
                List<MessageQueue> queues = new ArrayList<>(consumer.fetchSubscribeMessageQueues(topic));
                queues.sort(Comparator.comparingInt(MessageQueue::getQueueId));
                for (MessageQueue queue : queues) {
                    if (expectedPerQueue != null) {
                        int count = expectedPerQueue.getOrDefault(topic + "/" + queue.getQueueId(), 0);
                        assertEquals(0, consumer.minOffset(queue), queue + " min offset");
                        assertEquals(count, consumer.maxOffset(queue), queue + " max offset");
                    }
                    pullQueue(consumer, queue, byOffsetMsgId);
                }
            }
        } finally {
            consumer.shutdown();
        }
        return byOffsetMsgId;
    }

    private static void pullQueue(DefaultMQPullConsumer consumer, MessageQueue queue, Map<String, MessageExt> into)
        throws Exception {
        long offset = 0;
        while (true) {
            PullResult result = consumer.pull(queue, "*", offset, PULL_BATCH);
            if (result.getPullStatus() == PullStatus.NO_NEW_MSG) {
                return;
            }
            assertEquals(PullStatus.FOUND, result.getPullStatus(), queue + " at " + offset + ": " + result);
            for (MessageExt message : result.getMsgFoundList()) {
                assertEquals(offset, message.getQueueOffset(), queue + ": queue offsets must run without gaps");
                offset++;
                MessageExt previous = into.put(RecordLine.of(message).offsetMsgId(), message);
                assertTrue(previous == null, "pulled twice: " + message);
            }
            assertEquals(offset, result.getNextBeginOffset(), queue + " next begin offset");
        }
    }

    /** Java against Java: what the client sent is what the broker stored (our expectations' basis). */
    private static List<RecordLine> checkReadBackAsSent(List<Sent> sent, Map<String, MessageExt> readBack) {
        assertEquals(sent.size(), readBack.size(), "messages pulled back from the Java broker");
        List<RecordLine> lines = new ArrayList<>();
        for (Sent s : sent) {
            MessageExt got = readBack.get(s.offsetMsgId());
            assertNotNull(got, "not pulled back: " + s.offsetMsgId() + " " + s.message());
            String what = "sent " + s.message().getTopic() + "/" + s.queueId() + "@" + s.queueOffset() + " keys "
                + s.message().getKeys() + " ids " + s.msgId() + " " + s.offsetMsgId() + ", pulled " + RecordLine.of(got);
            assertEquals(s.message().getTopic(), got.getTopic(), what);
            assertEquals(s.queueId(), got.getQueueId(), what);
            assertEquals(s.queueOffset(), got.getQueueOffset(), what);
            assertArrayEquals(s.body(), got.getBody(), what);
            assertEquals(s.message().getFlag(), got.getFlag(), what);
            RecordLine line = RecordLine.of(got);
            assertEquals(s.offsetMsgId(), line.offsetMsgId(), what);
            Map<String, String> stored = line.propertyMap();
            s.message().getProperties().forEach((name, value) -> {
                // A 5.3.3 broker appends the batch's own properties (its UNIQ_KEY among them) to
                // every member's, and readers keep the last value: each member then reads back
                // with the batch's id, not the one the send result lists for it.
                if (!(s.batch() && name.equals(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX))) {
                    assertEquals(value, stored.get(name), what + " property " + name);
                }
            });
            if (!s.batch()) {
                assertEquals(s.msgId(), got.getMsgId(), what);
            }
            lines.add(line);
        }
        lines.sort(Comparator.comparingLong(RecordLine::commitLogOffset));
        return lines;
    }

    /** Java reading our store: every message exactly as our writer recorded it, nothing else. */
    private static void checkReadBackAsWritten(List<RecordLine> expected, Map<String, MessageExt> readBack) {
        for (RecordLine want : expected) {
            MessageExt got = readBack.get(want.offsetMsgId());
            assertNotNull(got, "the Java broker did not serve " + want.offsetMsgId() + " " + want.topic() + "/"
                + want.queueId() + "@" + want.queueOffset());
            assertEquals(want, RecordLine.of(got), "message at commit-log offset " + want.commitLogOffset());
        }
        assertEquals(expected.size(), readBack.size(), "messages served by the Java broker from our store");
    }

    /** Our index files as the Java broker reads them: by key and by unique key. */
    private void checkQueries(List<RecordLine> expected) throws Exception {
        int checked = 0;
        for (int i = 0; i < expected.size(); i += 7) {
            RecordLine line = expected.get(i);
            String keys = line.propertyMap().get("KEYS");
            if (keys != null) {
                String key = keys.split(" ")[0];
                QueryResult result = admin.queryMessage(line.topic(), key, 32, 0, Long.MAX_VALUE);
                Set<String> found = result.getMessageList().stream().map(m -> RecordLine.of(m).offsetMsgId())
                    .collect(Collectors.toSet());
                assertTrue(found.contains(line.offsetMsgId()), "key " + key + " of " + line.topic() + " found " + found);
                checked++;
            }
            MessageExt byId = admin.viewMessage(line.topic(), line.msgId());
            assertEquals(line, RecordLine.of(byId), "by unique key " + line.msgId());
            MessageExt byOffsetId = admin.viewMessage(line.topic(), line.offsetMsgId());
            assertEquals(line.commitLogOffset(), byOffsetId.getCommitLogOffset(), "by offset id " + line.offsetMsgId());
        }
        assertTrue(checked > 5, "too few keyed messages to query: " + checked);
    }

    private static Map<String, Integer> queueCounts(List<RecordLine> lines) {
        Map<String, Integer> counts = new HashMap<>();
        lines.forEach(line -> counts.merge(line.topic(), line.queueId() + 1, Math::max));
        return counts;
    }

    private void forceRegistration(StoreBroker broker) throws Exception {
        try {
            Poll.until("the broker registered", STARTUP_REGISTRATION_WAIT, admin::examineBrokerClusterInfo,
                info -> info.getBrokerAddrTable().values().stream()
                    .anyMatch(data -> data.getBrokerAddrs().containsValue(broker.address())));
        } catch (AssertionError notYet) {
            // Setting brokerPermission (to its current value) registers with every name server at once.
            Properties permission = new Properties();
            permission.setProperty("brokerPermission", Integer.toString(PERM_READ_WRITE));
            admin.updateBrokerConfig(broker.address(), permission);
        }
    }

    private void awaitRoutes(StoreBroker broker, Set<String> topics) throws Exception {
        for (String topic : topics) {
            TopicRouteData route = Poll.until(topic + " has a route to " + broker.address(), ROUTE_WAIT,
                () -> admin.examineTopicRouteInfo(topic),
                r -> r.getBrokerDatas().stream().anyMatch(b -> b.getBrokerAddrs().containsValue(broker.address())));
            assertFalse(route.getQueueDatas().isEmpty(), route.toJson());
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else if (!path.getFileName().toString().equals("lock")) {
                    Files.copy(path, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
