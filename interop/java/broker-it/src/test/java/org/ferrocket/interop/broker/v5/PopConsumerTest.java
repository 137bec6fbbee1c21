package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageRequestMode;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The Java 5.3.3 remoting POP consumer: a {@code DefaultMQPushConsumer} with client rebalance off,
 * whose group an admin set to POP (SET_MESSAGE_REQUEST_MODE), learns from QUERY_ASSIGNMENT to pop
 * (POP_MESSAGE with long polling), acks what it consumed (ACK_MESSAGE), and for the one message its
 * listener fails the first time changes the invisible time (CHANGE_MESSAGE_INVISIBLETIME, 10 s: the
 * first pop delay level), after which the broker revives it through {@code %RETRY%group_topic} and it
 * comes back once with reconsumeTimes 1. With a 15 s invisible time, nothing acked comes back in the
 * 20 s that follow.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PopConsumerTest {

    private static final String TOPIC = "it-pop";
    private static final int MESSAGES = 20;
    private static final String FAIL_ONCE = "fail-once";
    private static final Duration INVISIBLE = Duration.ofSeconds(15);
    private static final Duration QUIET = Duration.ofSeconds(20);

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private DefaultMQPushConsumer consumer;

    @BeforeAll
    void start() throws Exception {
        // Java's pop needs the timer wheel (the revive log's checkpoints are timer messages); the
        // fixture's brokers run without it unless asked.
        fixture = BrokerFixture.start(getClass(), Map.of("timerWheelEnable", "true"));
        producer = fixture.startProducer("it-pop-producer");
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

    /** One delivery: body, reconsume times, when. */
    private record Delivery(String body, int reconsumeTimes, long nanos) {}

    @Test
    void thePopConsumerConsumesAcksAndGetsItsFailedMessageBackOnce() throws Exception {
        fixture.createTopic(TOPIC, 2);
        String group = BrokerFixture.uniqueName("it-pop-group");
        fixture.admin.setMessageRequestMode(fixture.broker.brokerAddress(), TOPIC, group, MessageRequestMode.POP, 0,
            5_000);
        List<Delivery> deliveries = new CopyOnWriteArrayList<>();
        consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-pop-consumer"));
        consumer.setClientRebalance(false);
        consumer.setPopInvisibleTime(INVISIBLE.toMillis());
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            long now = System.nanoTime();
            boolean fail = false;
            for (var m : messages) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                deliveries.add(new Delivery(body, m.getReconsumeTimes(), now));
                fail |= body.equals(FAIL_ONCE) && m.getReconsumeTimes() == 0;
            }
            return fail ? ConsumeConcurrentlyStatus.RECONSUME_LATER : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.setConsumeMessageBatchMaxSize(1);
        consumer.start();
        // Pop mode shows as the client's pop process queues, once its rebalance asked the broker.
        Poll.until("the consumer pops " + TOPIC, BrokerFixture.ROUTE_WAIT,
            () -> consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getPopProcessQueueTable().keySet()
                .stream().anyMatch(mq -> mq.getTopic().equals(TOPIC)),
            popping -> popping);

        for (int i = 0; i < MESSAGES - 1; i++) {
            send("pop-" + i);
        }
        send(FAIL_ONCE);
        Poll.until("every message and the failed one's return", Duration.ofSeconds(60),
            () -> deliveries.stream().map(Delivery::body).collect(Collectors.toSet()).size() == MESSAGES
                && deliveries.stream().anyMatch(d -> d.body().equals(FAIL_ONCE) && d.reconsumeTimes() == 1)
                ? "done" : deliveries.toString(),
            done -> done.equals("done"));
        Delivery first = deliveries.stream().filter(d -> d.body().equals(FAIL_ONCE)).findFirst().orElseThrow();
        Delivery again = deliveries.stream().filter(d -> d.body().equals(FAIL_ONCE) && d.reconsumeTimes() == 1)
            .findFirst().orElseThrow();
        Duration back = Duration.ofNanos(again.nanos() - first.nanos());
        assertTrue(back.compareTo(Duration.ofSeconds(8)) >= 0 && back.compareTo(Duration.ofSeconds(30)) <= 0,
            "the failed message came back after " + back.toMillis() + " ms, expected about 10 s\n"
                + fixture.broker.brokerTail(20));

        int settled = deliveries.size();
        Thread.sleep(QUIET.toMillis());
        List<Delivery> late = deliveries.subList(settled, deliveries.size());
        assertTrue(late.isEmpty(), "delivered again after their acks: " + late + "\n" + fixture.broker.brokerTail(20));
        Set<String> twice = deliveries.stream().collect(Collectors.groupingBy(Delivery::body, Collectors.counting()))
            .entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).collect(Collectors.toSet());
        assertEquals(Set.of(FAIL_ONCE), twice, "only the failed message comes twice: " + deliveries);
        assertEquals(MESSAGES + 1, deliveries.size(), "deliveries: " + deliveries);
    }

    private void send(String body) throws Exception {
        assertEquals(SendStatus.SEND_OK,
            producer.send(new Message(TOPIC, body.getBytes(StandardCharsets.UTF_8))).getSendStatus());
    }
}
