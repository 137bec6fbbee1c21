package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Timer messages of the 5.x remoting client ({@code Message.setDeliverTimeMs}): 1,000 messages with
 * delivery times spread over 20 s (50 a second, twenty one-second slots) are each consumed no earlier than their time and at most 1.5 s
 * after it (Java's precision is 1 s: its slot fires once the second after the time has passed),
 * each once. Then the same with the broker killed (SIGKILL) and restarted in the middle: every
 * timer is still consumed, none early, and those due well after the restart within 1.5 s again.
 * Ours also consumes each exactly once across the kill; Java may deliver a timer twice after a
 * crash (its timer progress is checkpointed every second), so that is asserted for ours only and
 * counted for Java. The lateness figures are appended to {@code it-work/TimerTest-lateness.txt}.
 */
@TestInstance(TestInstance.Lifecycle.PER_METHOD)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TimerTest {

    private static final long LATE_MAX_MS = 1_500;
    /** How long after a restart the consumer may take to reconnect (route poll, pull retry). */
    private static final long RECONNECT_MS = 15_000;

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private DefaultMQPushConsumer consumer;
    /** Message key to the wall-clock times it was consumed. */
    private final Map<String, List<Long>> consumed = new ConcurrentHashMap<>();
    private final List<String> report = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        // The fixture turns Java's wheel off (it preallocates a 100 MiB log); on here, as by default.
        fixture = BrokerFixture.start(getClass(), Map.of("timerWheelEnable", "true"));
        producer = fixture.startProducer(BrokerFixture.uniqueName("it-timer-producer"));
    }

    @AfterEach
    void stop() throws Exception {
        if (consumer != null) {
            consumer.shutdown();
        }
        if (producer != null) {
            producer.shutdown();
        }
        if (fixture != null) {
            Files.write(fixture.workDir.resolveSibling("TimerTest-lateness.txt"), report, StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            fixture.close();
        }
    }

    @Test
    void thousandTimersOverTwentySecondsArriveOnTimeOnce() throws Exception {
        String topic = BrokerFixture.uniqueName("it-timer");
        fixture.createTopic(topic, 4);
        startConsumer(topic);
        Map<String, Long> deliverAt = sendSpread(topic, 1_000, Duration.ofSeconds(20));
        awaitAll(deliverAt, Duration.ofSeconds(50));
        long worst = assertOnTime("no kill", deliverAt, Long.MIN_VALUE);
        assertTrue(worst <= LATE_MAX_MS, "worst lateness " + worst + " ms");
        assertNoDuplicates(deliverAt);
    }

    @Test
    void timersSurviveAKillAndRestartOfTheBroker() throws Exception {
        String topic = BrokerFixture.uniqueName("it-timer-kill");
        fixture.createTopic(topic, 4);
        startConsumer(topic);
        Map<String, Long> deliverAt = sendSpread(topic, 400, Duration.ofSeconds(30));
        // Killed ~8 s in: timers are due before, across and (from ~+24 s) well after the restart.
        Thread.sleep(8_000);
        fixture.broker.killAndRestartBroker();
        long restartedAt = System.currentTimeMillis();
        BrokerFixture.awaitRegistered(fixture.broker, fixture.admin);
        report.add("killed and restarted at +" + (restartedAt - firstDeliverAt(deliverAt)) + " ms after the first timer");
        awaitAll(deliverAt, Duration.ofSeconds(120));
        long worstAfter = assertOnTime("killed", deliverAt, restartedAt + RECONNECT_MS);
        assertTrue(worstAfter <= LATE_MAX_MS, "worst lateness of timers due after the reconnect: " + worstAfter + " ms");
        if (fixture.broker.impl() == BrokerUnderTest.Impl.FERROCKET) {
            assertNoDuplicates(deliverAt);
        } else {
            report.add("java: timers consumed more than once after the kill: " + duplicates(deliverAt).size());
        }
    }

    private void startConsumer(String topic) throws Exception {
        consumer = new DefaultMQPushConsumer(BrokerFixture.uniqueName("it-timer-group"));
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-timer-consumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            long now = System.currentTimeMillis();
            for (MessageExt message : messages) {
                consumed.computeIfAbsent(message.getKeys(), k -> new CopyOnWriteArrayList<>()).add(now);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        // Let the consumer take its queues before the first timer can come due.
        Thread.sleep(3_000);
    }

    /** Sends {@code count} timers due evenly from +3 s to +3 s + {@code over}; key to deliver time. */
    private Map<String, Long> sendSpread(String topic, int count, Duration over) throws Exception {
        Map<String, Long> deliverAt = new TreeMap<>();
        long base = System.currentTimeMillis() + 3_000;
        for (int i = 0; i < count; i++) {
            long at = base + over.toMillis() * i / count;
            Message message = new Message(topic, "timer", ("timer-" + i).getBytes(StandardCharsets.UTF_8));
            message.setKeys("k" + i);
            message.setDeliverTimeMs(at);
            assertEquals(SendStatus.SEND_OK, producer.send(message).getSendStatus());
            deliverAt.put("k" + i, at);
        }
        long sentIn = System.currentTimeMillis() - (base - 3_000);
        report.add(fixture.broker.impl() + ": sent " + count + " timers in " + sentIn + " ms");
        assertTrue(System.currentTimeMillis() < base, "sending took longer than the lead time");
        return deliverAt;
    }

    private void awaitAll(Map<String, Long> deliverAt, Duration wait) throws InterruptedException {
        Poll.until("every timer consumed", wait, () -> consumed.keySet().size(),
            n -> n >= deliverAt.size());
    }

    /**
     * Fails if any timer was consumed before its time; returns the worst lateness among timers
     * due at or after {@code dueFrom} and reports the figures.
     */
    private long assertOnTime(String run, Map<String, Long> deliverAt, long dueFrom) {
        List<Long> late = new ArrayList<>();
        for (Map.Entry<String, Long> entry : deliverAt.entrySet()) {
            long first = consumed.get(entry.getKey()).get(0);
            long lateness = first - entry.getValue();
            assertTrue(lateness >= 0, entry.getKey() + " consumed " + (-lateness) + " ms early");
            if (entry.getValue() >= dueFrom) {
                late.add(lateness);
            }
        }
        late.sort(Long::compare);
        long worst = late.isEmpty() ? 0 : late.get(late.size() - 1);
        long median = late.isEmpty() ? 0 : late.get(late.size() / 2);
        report.add(fixture.broker.impl() + " " + run + ": " + late.size() + " timers, lateness median " + median
            + " ms, worst " + worst + " ms");
        return worst;
    }

    private List<String> duplicates(Map<String, Long> deliverAt) {
        return deliverAt.keySet().stream().filter(k -> consumed.get(k).size() > 1).toList();
    }

    private void assertNoDuplicates(Map<String, Long> deliverAt) throws InterruptedException {
        Thread.sleep(3_000);
        assertEquals(List.of(), duplicates(deliverAt), "timers consumed more than once");
    }

    private static long firstDeliverAt(Map<String, Long> deliverAt) {
        return deliverAt.values().stream().mapToLong(Long::longValue).min().orElse(0);
    }
}
