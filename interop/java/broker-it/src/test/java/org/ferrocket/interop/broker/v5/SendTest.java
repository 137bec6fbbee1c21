package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.admin.TopicStatsTable;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Sync, async, oneway and batch sends from the official 5.3.3 producer, each read back with a lite
 * pull consumer: bodies, keys, tags, user properties, message ids and queue offsets must match what
 * the send results said.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SendTest {

    private static final int QUEUES = 4;
    private static final int MESSAGES = 40;

    private BrokerFixture fixture;
    private DefaultMQProducer producer;

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of());
        producer = fixture.startProducer("it-send-producer");
    }

    @AfterAll
    void stop() throws Exception {
        if (producer != null) {
            producer.shutdown();
        }
        if (fixture != null) {
            fixture.close();
        }
    }

    @Test
    void syncSendsAreStoredAtTheOffsetsTheirResultsName() throws Exception {
        String topic = "it-sync-send";
        fixture.createTopic(topic, QUEUES);
        Map<String, SendResult> results = new HashMap<>();
        Map<Integer, List<Long>> offsetsByQueue = new TreeMap<>();
        for (int i = 0; i < MESSAGES; i++) {
            Message message = new Message(topic, "tag" + (i % 3), "key-" + i, ("sync-" + i).getBytes(StandardCharsets.UTF_8));
            message.putUserProperty("seq", Integer.toString(i));
            SendResult result = producer.send(message);
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            assertNotNull(result.getMsgId(), result.toString());
            assertNotNull(result.getOffsetMsgId(), result.toString());
            assertEquals(fixture.brokerName, result.getMessageQueue().getBrokerName());
            assertEquals(topic, result.getMessageQueue().getTopic());
            results.put(result.getMsgId(), result);
            offsetsByQueue.computeIfAbsent(result.getMessageQueue().getQueueId(), q -> new ArrayList<>()).add(result.getQueueOffset());
        }
        assertEquals(MESSAGES, results.size(), "message ids must be unique");
        // Round-robin over the queues, each queue's offsets 0, 1, 2, ...
        assertEquals(QUEUES, offsetsByQueue.size(), offsetsByQueue.toString());
        offsetsByQueue.forEach((queue, offsets) -> {
            for (int i = 0; i < offsets.size(); i++) {
                assertEquals((long) i, offsets.get(i), "queue " + queue + " offsets " + offsets);
            }
        });

        for (MessageExt message : fixture.pullAll(topic, MESSAGES)) {
            SendResult result = results.get(message.getMsgId());
            assertNotNull(result, "pulled a message whose id no send returned: " + message);
            int seq = Integer.parseInt(message.getUserProperty("seq"));
            assertEquals("sync-" + seq, new String(message.getBody(), StandardCharsets.UTF_8));
            assertEquals("key-" + seq, message.getKeys());
            assertEquals("tag" + (seq % 3), message.getTags());
            assertEquals(result.getMessageQueue().getQueueId(), message.getQueueId());
            assertEquals(result.getQueueOffset(), message.getQueueOffset());
            assertEquals(result.getOffsetMsgId(), ((org.apache.rocketmq.common.message.MessageClientExt) message).getOffsetMsgId());
            assertTrue(message.getStoreTimestamp() >= message.getBornTimestamp() - 1000, message.toString());
        }
    }

    @Test
    void asyncSendsAllSucceedAndAreStored() throws Exception {
        String topic = "it-async-send";
        fixture.createTopic(topic, QUEUES);
        CountDownLatch done = new CountDownLatch(MESSAGES);
        Map<String, SendResult> results = new ConcurrentHashMap<>();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            producer.send(new Message(topic, ("async-" + i).getBytes(StandardCharsets.UTF_8)), new SendCallback() {
                @Override
                public void onSuccess(SendResult result) {
                    results.put(result.getMsgId(), result);
                    done.countDown();
                }

                @Override
                public void onException(Throwable e) {
                    failures.add(e);
                    done.countDown();
                }
            });
        }
        assertTrue(done.await(30, TimeUnit.SECONDS), "async sends still outstanding: " + done.getCount());
        assertTrue(failures.isEmpty(), "async send failures: " + failures);
        assertTrue(results.values().stream().allMatch(r -> r.getSendStatus() == SendStatus.SEND_OK), results.toString());
        Set<String> bodies = new HashSet<>();
        for (MessageExt message : fixture.pullAll(topic, MESSAGES)) {
            assertTrue(results.containsKey(message.getMsgId()), message.toString());
            bodies.add(new String(message.getBody(), StandardCharsets.UTF_8));
        }
        assertEquals(MESSAGES, bodies.size());
    }

    @Test
    void onewaySendsAreStored() throws Exception {
        String topic = "it-oneway-send";
        fixture.createTopic(topic, QUEUES);
        for (int i = 0; i < MESSAGES; i++) {
            producer.sendOneway(new Message(topic, ("oneway-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        // No results: wait until the broker's max offsets add up (GET_TOPIC_STATS_INFO).
        Poll.until(MESSAGES + " oneway messages stored", BrokerFixture.DELIVERY_WAIT,
            () -> fixture.admin.examineTopicStats(topic),
            (TopicStatsTable stats) -> stats.getOffsetTable().values().stream().mapToLong(o -> o.getMaxOffset()).sum() == MESSAGES);
        Set<String> bodies = new HashSet<>();
        for (MessageExt message : fixture.pullAll(topic, MESSAGES)) {
            bodies.add(new String(message.getBody(), StandardCharsets.UTF_8));
        }
        assertEquals(MESSAGES, bodies.size());
        assertTrue(bodies.contains("oneway-0") && bodies.contains("oneway-" + (MESSAGES - 1)), bodies.toString());
    }

    /**
     * Bodies over 4 KiB leave the client zlib-compressed with the COMPRESSED system flag; the broker
     * must store flag and bytes as they came, and non-ASCII keys, tags and properties unchanged.
     */
    @Test
    void compressedBodiesAndUnicodePropertiesSurviveTheRoundTrip() throws Exception {
        String topic = "it-large-bodies";
        fixture.createTopic(topic, QUEUES);
        Map<String, byte[]> bodies = new HashMap<>();
        java.util.Random random = new java.util.Random(42);
        for (int size : new int[] {4095, 4097, 64 * 1024, 1024 * 1024}) {
            byte[] body = new byte[size];
            // Half random, half repetitive: compressible but not trivially.
            for (int i = 0; i < size; i++) {
                body[i] = i % 2 == 0 ? (byte) random.nextInt() : (byte) (i % 7);
            }
            Message message = new Message(topic, "tag-\u00e9\u4e2d", "key-\u00fc-" + size, body);
            message.putUserProperty("note", "\u00e7a va \u2603 " + size);
            SendResult result = producer.send(message);
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            bodies.put(result.getMsgId(), body);
        }
        for (MessageExt message : fixture.pullAll(topic, bodies.size())) {
            byte[] expected = bodies.get(message.getMsgId());
            assertNotNull(expected, message.toString());
            assertTrue(java.util.Arrays.equals(expected, message.getBody()), "body of " + expected.length + " bytes differs");
            assertEquals("tag-\u00e9\u4e2d", message.getTags());
            assertEquals("key-\u00fc-" + expected.length, message.getKeys());
            assertEquals("\u00e7a va \u2603 " + expected.length, message.getUserProperty("note"));
            boolean compressed = (message.getSysFlag() & org.apache.rocketmq.common.sysflag.MessageSysFlag.COMPRESSED_FLAG) != 0;
            assertEquals(expected.length > 4096, compressed || message.getStoreSize() < expected.length,
                "size " + expected.length + " sysFlag " + message.getSysFlag());
        }
    }

    /** GET_MIN_OFFSET, GET_MAX_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP and GET_EARLIEST_MSG_STORETIME on one queue. */
    @Test
    void offsetQueriesByPositionAndTime() throws Exception {
        String topic = "it-offset-queries";
        fixture.createTopic(topic, QUEUES);
        MessageQueue queue = new MessageQueue(topic, fixture.brokerName, 1);
        long[] storeTimes = new long[10];
        for (int i = 0; i < 10; i++) {
            assertEquals(SendStatus.SEND_OK, producer.send(new Message(topic, ("q" + i).getBytes(StandardCharsets.UTF_8)), queue).getSendStatus());
            if (i == 4) {
                Thread.sleep(50);
            }
        }
        for (MessageExt message : fixture.pullAll(topic, 10)) {
            storeTimes[(int) message.getQueueOffset()] = message.getStoreTimestamp();
        }
        assertEquals(0L, fixture.admin.minOffset(queue));
        assertEquals(10L, fixture.admin.maxOffset(queue));
        assertEquals(storeTimes[0], fixture.admin.earliestMsgStoreTime(queue));
        // The first message stored at or after the time: the sixth, after the pause.
        assertEquals(5L, fixture.admin.searchOffset(queue, storeTimes[5]));
        assertEquals(0L, fixture.admin.searchOffset(queue, storeTimes[0] - 60_000));
        MessageQueue empty = new MessageQueue(topic, fixture.brokerName, 3);
        assertEquals(0L, fixture.admin.maxOffset(empty));
        assertEquals(0L, fixture.admin.minOffset(empty));
    }

    @Test
    void aBatchLandsInOneQueueAtConsecutiveOffsets() throws Exception {
        String topic = "it-batch-send";
        fixture.createTopic(topic, QUEUES);
        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            Message message = new Message(topic, "batch", "bkey-" + i, ("batch-" + i).getBytes(StandardCharsets.UTF_8));
            message.putUserProperty("seq", Integer.toString(i));
            batch.add(message);
        }
        MessageQueue queue = new MessageQueue(topic, fixture.brokerName, 2);
        SendResult result = producer.send(batch, queue);
        assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
        assertEquals(2, result.getMessageQueue().getQueueId());
        assertEquals(0L, result.getQueueOffset(), result.toString());
        String[] ids = result.getMsgId().split(",");
        assertEquals(MESSAGES, ids.length, result.getMsgId());
        String[] offsetIds = result.getOffsetMsgId().split(",");
        assertEquals(MESSAGES, offsetIds.length, result.getOffsetMsgId());

        // A second batch, round-robin this time, appends after the first in whatever queue it lands.
        SendResult second = producer.send(List.of(new Message(topic, "b1".getBytes(StandardCharsets.UTF_8)),
            new Message(topic, "b2".getBytes(StandardCharsets.UTF_8))));
        assertEquals(SendStatus.SEND_OK, second.getSendStatus(), second.toString());
        long secondBase = second.getMessageQueue().getQueueId() == 2 ? MESSAGES : 0;
        assertEquals(secondBase, second.getQueueOffset(), second.toString());

        List<MessageExt> pulled = fixture.pullAll(topic, MESSAGES + 2);
        for (MessageExt message : pulled) {
            if (!"batch".equals(message.getTags())) {
                continue;
            }
            int seq = Integer.parseInt(message.getUserProperty("seq"));
            assertEquals(2, message.getQueueId());
            assertEquals(seq, message.getQueueOffset(), "batch order must be kept: " + message);
            // (Unique ids are not compared: the 5.3.3 client stamps them on the batch's messages in ways
            // that do not match its send result, and against the Java broker two may even be equal.)
            // The broker's comma-separated offset ids, in batch order.
            assertEquals(offsetIds[seq], ((org.apache.rocketmq.common.message.MessageClientExt) message).getOffsetMsgId());
            assertEquals("bkey-" + seq, message.getKeys());
            assertEquals("batch-" + seq, new String(message.getBody(), StandardCharsets.UTF_8));
        }
    }
}
