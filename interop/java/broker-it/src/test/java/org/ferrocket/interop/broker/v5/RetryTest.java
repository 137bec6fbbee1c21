package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The first retry of a message the listener answers RECONSUME_LATER comes within 20 s (the official
 * suite's reconsume-time check; delay level 3 is 10 s). The consumer's group is new, so its heartbeat
 * creates {@code %RETRY%group}, which the client can pull only once its route is known: the broker
 * tells the name server before it answers the heartbeat (as Java 5.3.3 does), else a client that
 * looks the route up in between misses it until its next route poll (30 s) and rebalance (40 s).
 * The timeline (first delivery, retry queue taken, delay) is written to {@code retry-delay.txt} in
 * the work directory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class RetryTest {

    private static final Duration FIRST_RETRY_WITHIN = Duration.ofSeconds(20);
    private static final String TOPIC = "it-retry-later";
    private static final Duration SEND_AFTER_START = Duration.ofSeconds(12);

    private final List<String> timeline = new CopyOnWriteArrayList<>();
    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private DefaultMQPushConsumer consumer;

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of());
        producer = fixture.startProducer("it-retry-producer");
    }

    @AfterAll
    void stop() throws Exception {
        if (consumer != null) {
            consumer.shutdown();
        }
        if (producer != null) {
            producer.shutdown();
        }
        if (fixture != null) {
            fixture.close();
        }
    }

    @Test
    void theFirstRetryOfAReconsumeLaterComesWithinTwentySeconds() throws Exception {
        fixture.createTopic(TOPIC, 1);
        // (reconsumeTimes, nanoTime) of every delivery.
        List<long[]> deliveries = new CopyOnWriteArrayList<>();
        consumer = new DefaultMQPushConsumer(BrokerFixture.uniqueName("it-retry-group"));
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-retry-consumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            long now = System.nanoTime();
            messages.forEach(m -> deliveries.add(new long[] {m.getReconsumeTimes(), now}));
            return messages.get(0).getReconsumeTimes() == 0
                ? ConsumeConcurrentlyStatus.RECONSUME_LATER
                : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        long started = System.nanoTime();
        consumer.start();
        // Records when the client's rebalance takes the retry queue.
        Thread watch = new Thread(() -> {
            String retry = "%RETRY%" + consumer.getConsumerGroup();
            while (!Thread.currentThread().isInterrupted()) {
                boolean held = consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet()
                    .stream().anyMatch(mq -> mq.getTopic().equals(retry));
                if (held) {
                    timeline.add("retry queue held " + (System.nanoTime() - started) / 1_000_000 + " ms after start");
                    return;
                }
                try { Thread.sleep(50); } catch (InterruptedException e) { return; }
            }
        });
        watch.setDaemon(true);
        watch.start();

        // A consumer runs a while before its messages come: sent 12 s after start, the retry (10 s
        // after the failure) is due after the client's first periodic rebalance (20 s after start),
        // which takes the retry queue if its route is known by then.
        Thread.sleep(SEND_AFTER_START.toMillis());
        SendResult sent = producer.send(new Message(TOPIC, "retry-me".getBytes(StandardCharsets.UTF_8)));
        assertEquals(SendStatus.SEND_OK, sent.getSendStatus());
        Poll.until("the first delivery", BrokerFixture.DELIVERY_WAIT, () -> deliveries.size(), n -> n >= 1);
        long first = deliveries.get(0)[1];
        timeline.add("first delivery " + (first - started) / 1_000_000 + " ms after start");
        Duration budget = FIRST_RETRY_WITHIN.plusSeconds(40);
        Poll.until("the first retry", budget, () -> deliveries.stream().filter(d -> d[0] >= 1).count(), n -> n >= 1);
        long retried = deliveries.stream().filter(d -> d[0] >= 1).findFirst().orElseThrow()[1];
        Duration delay = Duration.ofNanos(retried - first);
        timeline.add("broker " + fixture.broker.impl() + " first retry after " + delay.toMillis() + " ms");
        java.nio.file.Files.write(fixture.workDir.resolve("retry-delay.txt"), timeline);
        assertTrue(delay.compareTo(FIRST_RETRY_WITHIN) <= 0,
            "the first retry came " + delay.toMillis() + " ms after the first delivery, over "
                + FIRST_RETRY_WITHIN.toMillis() + " ms\n" + fixture.broker.brokerTail(20));
    }
}
