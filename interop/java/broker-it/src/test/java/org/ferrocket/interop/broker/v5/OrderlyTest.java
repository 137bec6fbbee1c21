package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Orderly consumption with the official 5.3.3 push consumer ({@code MessageListenerOrderly}), which
 * locks its queues on the broker (LOCK_BATCH_MQ, renewed every 20 s, expiring after 60 s unrenewed;
 * UNLOCK_BATCH_MQ when a queue moves away or the consumer shuts down).
 *
 * <p>{@link #perKeyOrderHoldsAcrossTwoThreeTwoRebalances}: 10,000 messages for 100 keys over 8
 * queues (a {@link MessageQueueSelector} by key), sent while the group goes from 2 consumers to 3
 * and back to 2. The group's consumer-change notices are turned off once the first two share the
 * queues, so the third's first lock requests (at its start) and the survivors' pick-up of the
 * leaver's queues happen while the current holders still consume them: the broker's lock is then
 * all that keeps a queue to one consumer (a broker that grants every lock fails the overlap and
 * order checks here; one that ignores UNLOCK_BATCH_MQ fails the every-message wait). The listener
 * takes 5 ms a message so that two holders of a queue would overlap in it.
 *
 * <p>Asserted: no queue is in two consumers' listeners at the same moment; per key the first
 * delivery is sequence 0 and every later one is the next sequence, or, only where the queue changed
 * hands (the delivering consumer differs from the previous delivery's), an earlier one: the new
 * holder starts from the offset the broker has, and Java's client can hand over a queue before that
 * offset is current. Never a skip ahead, never a redelivery within one consumer's hold; every
 * message is consumed, and each of the three consumers held queues. Redeliveries are printed: over several runs Java 5.3.3 showed 0-1,
 * ours 0-3, each the previous holder's last message (the client commits it after it lets go of the
 * queue's consume lock, which the hand-over takes).
 *
 * <p>{@link #aPoisonedMessageGoesToTheDeadLetterQueueAndTheRestFollowInOrder}: the listener answers
 * SUSPEND_CURRENT_QUEUE_A_MOMENT for one message with {@code maxReconsumeTimes = 2}. The client
 * redelivers it locally (reconsume times 0, 1, 2), then sends it to {@code %RETRY%group} as an
 * ordinary SEND_MESSAGE from its inner producer (reconsumeTimes 3, maxReconsumeTimes 2 in the header;
 * 5.3.3 orderly does not use CONSUMER_SEND_MSG_BACK), which the broker stores in
 * {@code %DLQ%group} (over the maximum, and the group holds live locks), and goes on with the
 * following messages in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class OrderlyTest {

    private static final int QUEUES = 8;
    private static final int KEYS = 100;
    private static final int MESSAGES = 10_000;
    /** Sending is paced over this long, so both rebalances happen while messages keep coming. */
    private static final Duration SEND_SPAN = Duration.ofSeconds(40);
    private static final Duration THIRD_JOINS_AT = Duration.ofSeconds(8);
    /**
     * The third asks for its queues again every 0.5-1 s while refused, and gets them once the first
     * two release them at their periodic rebalance (20 s after the second joined); it then holds
     * queues for some seconds before the first leaves.
     */
    private static final Duration FIRST_LEAVES_AT = Duration.ofSeconds(33);
    /**
     * From the last send until every message is consumed. The survivors take the leaver's queues at
     * their next periodic rebalance (at most 20 s after it left, 7 s before the last send); both
     * brokers finished 3 s after the last send. A broker that ignored UNLOCK_BATCH_MQ needs the
     * locks to expire (60 s unrenewed) and took 45 s.
     */
    private static final Duration DRAIN_WAIT = Duration.ofSeconds(20);
    /** Per message in the orderly listener. */
    private static final Duration CONSUME_TIME = Duration.ofMillis(5);

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private final List<DefaultMQPushConsumer> consumers = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of());
        producer = fixture.startProducer("it-orderly-producer");
    }

    @AfterEach
    void stopConsumers() {
        consumers.forEach(DefaultMQPushConsumer::shutdown);
        consumers.clear();
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

    private static final MessageQueueSelector BY_KEY = (queues, message, key) -> queues.get((Integer) key % queues.size());

    private DefaultMQPushConsumer orderlyConsumer(String group, String topic, MessageListenerOrderly listener,
                                                  java.util.function.Consumer<DefaultMQPushConsumer> tune) throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName(group));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        // Lets an in-flight listener call end before shutdown unlocks the queues.
        consumer.setAwaitTerminationMillisWhenShutdown(5_000);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(listener);
        tune.accept(consumer);
        consumer.start();
        consumers.add(consumer);
        return consumer;
    }

    @Test
    void perKeyOrderHoldsAcrossTwoThreeTwoRebalances() throws Exception {
        String topic = "it-orderly";
        fixture.createTopic(topic, QUEUES);
        String group = BrokerFixture.uniqueName("it-orderly-group");
        // Per key, "consumer:sequence" in consumption order (a key lives on one queue, and the overlap
        // check proves one consumer at a time per queue, so appends are in consumption order).
        List<List<String>> consumed = new ArrayList<>();
        for (int k = 0; k < KEYS; k++) {
            consumed.add(new ArrayList<>());
        }
        Map<Integer, String> inListener = new ConcurrentHashMap<>();
        List<String> overlaps = new CopyOnWriteArrayList<>();
        Map<String, Map<Integer, AtomicInteger>> perConsumerQueue = new ConcurrentHashMap<>();
        AtomicInteger deliveries = new AtomicInteger();

        java.util.function.Function<String, MessageListenerOrderly> listenerOf = name -> (messages, context) -> {
            int queueId = context.getMessageQueue().getQueueId();
            String holder = inListener.putIfAbsent(queueId, name);
            if (holder != null) {
                overlaps.add("queue " + queueId + " entered by " + name + " while " + holder + " is in it");
            }
            try {
                for (MessageExt m : messages) {
                    String[] parts = new String(m.getBody(), StandardCharsets.UTF_8).split(":");
                    int key = Integer.parseInt(parts[0]);
                    List<String> seqs = consumed.get(key);
                    synchronized (seqs) {
                        seqs.add(name + ":" + parts[1]);
                    }
                    deliveries.incrementAndGet();
                    Thread.sleep(CONSUME_TIME.toMillis());
                }
                perConsumerQueue.computeIfAbsent(name, n -> new ConcurrentHashMap<>())
                    .computeIfAbsent(queueId, q -> new AtomicInteger()).addAndGet(messages.size());
                return ConsumeOrderlyStatus.SUCCESS;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT;
            } finally {
                inListener.remove(queueId, name);
            }
        };

        SubscriptionGroupConfig groupConfig = new SubscriptionGroupConfig();
        groupConfig.setGroupName(group);
        fixture.admin.createAndUpdateSubscriptionGroupConfig(fixture.broker.brokerAddress(), groupConfig);
        long started = System.nanoTime();
        DefaultMQPushConsumer first = orderlyConsumer(group, topic, listenerOf.apply("A"), c -> { });
        orderlyConsumer(group, topic, listenerOf.apply("B"), c -> { });
        Poll.until("A and B share the queues", BrokerFixture.ROUTE_WAIT,
            () -> consumers.stream().map(c -> c.getDefaultMQPushConsumerImpl().getRebalanceImpl()
                .getProcessQueueTable().keySet().stream().filter(mq -> mq.getTopic().equals(topic)).count()).toList(),
            held -> held.equals(List.of(4L, 4L)));
        groupConfig.setNotifyConsumerIdsChangedEnable(false);
        fixture.admin.createAndUpdateSubscriptionGroupConfig(fixture.broker.brokerAddress(), groupConfig);
        List<String> timeline = new CopyOnWriteArrayList<>();
        int[] nextSeq = new int[KEYS];
        boolean thirdJoined = false;
        boolean firstLeft = false;
        for (int i = 0; i < MESSAGES; i++) {
            long elapsedMs = (System.nanoTime() - started) / 1_000_000;
            if (!thirdJoined && elapsedMs >= THIRD_JOINS_AT.toMillis()) {
                orderlyConsumer(group, topic, listenerOf.apply("C"), c -> { });
                thirdJoined = true;
                timeline.add("C joined at " + elapsedMs + " ms after " + i + " sends");
            }
            if (!firstLeft && elapsedMs >= FIRST_LEAVES_AT.toMillis()) {
                first.shutdown();
                consumers.remove(first);
                firstLeft = true;
                timeline.add("A left at " + (System.nanoTime() - started) / 1_000_000 + " ms after " + i + " sends");
            }
            int key = i % KEYS;
            int seq = nextSeq[key]++;
            Message message = new Message(topic, "TagA", "key-" + key,
                (key + ":" + seq).getBytes(StandardCharsets.UTF_8));
            SendResult sent = producer.send(message, BY_KEY, key);
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus(), "send " + i);
            long dueMs = SEND_SPAN.toMillis() * (i + 1) / MESSAGES;
            long aheadMs = dueMs - (System.nanoTime() - started) / 1_000_000;
            if (aheadMs > 0) {
                Thread.sleep(aheadMs);
            }
        }
        timeline.add("all sent at " + (System.nanoTime() - started) / 1_000_000 + " ms");
        assertTrue(thirdJoined && firstLeft, "both rebalances happened while sending: " + timeline);
        int perKey = MESSAGES / KEYS;
        Poll.until("every message consumed", DRAIN_WAIT, () -> {
            int missing = 0;
            for (List<String> seqs : consumed) {
                synchronized (seqs) {
                    missing += perKey - (int) seqs.stream().map(s -> s.split(":")[1]).distinct().count();
                }
            }
            return missing;
        }, missing -> missing == 0);
        timeline.add("all consumed at " + (System.nanoTime() - started) / 1_000_000 + " ms");

        List<String> redelivered = new ArrayList<>();
        List<String> disorder = new ArrayList<>();
        for (int key = 0; key < KEYS; key++) {
            List<String> seqs = consumed.get(key);
            synchronized (seqs) {
                int previous = -1;
                String previousHolder = "";
                for (String delivery : seqs) {
                    String holder = delivery.split(":")[0];
                    int seq = Integer.parseInt(delivery.split(":")[1]);
                    if (seq <= previous && !holder.equals(previousHolder)) {
                        redelivered.add("key " + key + ": " + holder + " delivered " + seq + " after " + previousHolder
                            + " delivered " + previous);
                    } else if (seq != previous + 1) {
                        disorder.add("key " + key + ": " + holder + " delivered " + seq + " after " + previousHolder
                            + " delivered " + previous);
                    }
                    previous = seq;
                    previousHolder = holder;
                }
            }
        }
        Map<String, Map<Integer, AtomicInteger>> byConsumer = new TreeMap<>(perConsumerQueue);
        System.out.println("OrderlyTest: broker " + fixture.broker.impl() + " " + timeline + " deliveries "
            + deliveries.get() + " redelivered " + redelivered + " per consumer and queue " + byConsumer);
        assertTrue(overlaps.isEmpty(), "a queue in two consumers' listeners at once: " + overlaps);
        assertTrue(disorder.isEmpty(), "per key, out of order (first 20): "
            + disorder.subList(0, Math.min(20, disorder.size())));
        assertTrue(byConsumer.keySet().containsAll(List.of("A", "B", "C")),
            "every consumer held queues: " + byConsumer);
    }

    @Test
    void aPoisonedMessageGoesToTheDeadLetterQueueAndTheRestFollowInOrder() throws Exception {
        String topic = "it-orderly-poison";
        fixture.createTopic(topic, 1);
        String group = BrokerFixture.uniqueName("it-orderly-dlq-group");
        List<String> deliveries = new CopyOnWriteArrayList<>();
        orderlyConsumer(group, topic, (messages, context) -> {
            MessageExt m = messages.get(0);
            String body = new String(m.getBody(), StandardCharsets.UTF_8);
            deliveries.add(body + "@" + m.getReconsumeTimes());
            return body.equals("m3") ? ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT : ConsumeOrderlyStatus.SUCCESS;
        }, c -> {
            c.setMaxReconsumeTimes(2);
            c.setSuspendCurrentQueueTimeMillis(200);
        });
        String poisonId = null;
        long started = System.nanoTime();
        for (int i = 0; i < 8; i++) {
            SendResult sent = producer.send(new Message(topic, ("m" + i).getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus());
            if (i == 3) {
                poisonId = sent.getMsgId();
            }
        }
        List<String> expected = List.of("m0@0", "m1@0", "m2@0", "m3@0", "m3@1", "m3@2", "m4@0", "m5@0", "m6@0", "m7@0");
        Poll.until("the messages after the poisoned one", BrokerFixture.DELIVERY_WAIT,
            () -> List.copyOf(deliveries), d -> d.size() >= expected.size());
        assertEquals(expected, List.copyOf(deliveries), "deliveries in order, the poisoned one three times");

        long consumedMs = (System.nanoTime() - started) / 1_000_000;
        String dlq = "%DLQ%" + group;
        fixture.awaitRoute(dlq, 1);
        long routedMs = (System.nanoTime() - started) / 1_000_000;
        List<MessageExt> dead = fixture.pullAll(dlq, 1);
        MessageExt letter = dead.get(0);
        System.out.println("OrderlyTest: broker " + fixture.broker.impl() + " consumed after " + consumedMs
            + " ms, DLQ route after " + routedMs + " ms, pulled after " + (System.nanoTime() - started) / 1_000_000
            + " ms; DLQ message queue " + letter.getQueueId()
            + " reconsumeTimes " + letter.getReconsumeTimes() + " delayLevel " + letter.getDelayTimeLevel()
            + " properties " + new TreeMap<>(letter.getProperties()));
        assertEquals("m3", new String(letter.getBody(), StandardCharsets.UTF_8));
        assertEquals(dlq, letter.getTopic());
        assertEquals(0, letter.getQueueId());
        assertEquals(3, letter.getReconsumeTimes(), "reconsume times as the client sent them");
        assertEquals(topic, letter.getProperty(MessageConst.PROPERTY_RETRY_TOPIC));
        assertEquals(poisonId, letter.getProperty(MessageConst.PROPERTY_ORIGIN_MESSAGE_ID));
        // The client serialised the properties before it moved these two into the header.
        assertEquals("3", letter.getProperty(MessageConst.PROPERTY_RECONSUME_TIME));
        assertEquals("2", letter.getProperty(MessageConst.PROPERTY_MAX_RECONSUME_TIMES));
        assertEquals("-1", letter.getProperty(MessageConst.PROPERTY_DELAY_TIME_LEVEL), "the broker's DLQ mark");
    }
}
