package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * SQL92 property filters with the official 5.3.3 client ({@code enablePropertyFilter=true}): a push
 * consumer subscribed with {@code MessageSelector.bySql("a > 5 AND b = 'x'")} receives exactly the
 * matching messages of 1,000 with varied properties, and a consumer whose expression does not
 * compile fails to start (CHECK_CLIENT_CONFIG answers SUBSCRIPTION_PARSE_FAILED).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SqlFilterTest {

    private static final int QUEUES = 4;
    private static final int MESSAGES = 1_000;
    private static final String SELECTOR = "a > 5 AND b = 'x'";

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private DefaultMQPushConsumer consumer;

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of("enablePropertyFilter", "true"));
        producer = fixture.startProducer("it-sql-producer");
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

    @AfterEach
    void brokerStillUp() {
        fixture.broker.assertAlive();
    }

    @Test
    void aSqlSelectorDeliversExactlyTheMatchingMessages() throws Exception {
        String topic = "it-sql";
        fixture.createTopic(topic, QUEUES);
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < MESSAGES; i++) {
            Message message = new Message(topic, ("sql-" + i).getBytes(StandardCharsets.UTF_8));
            String b = new String[] {"x", "y", "z"}[i % 3];
            message.putUserProperty("b", b);
            int a = i % 10;
            if (i % 7 != 0) {
                // Every 11th carries text where a number is expected: Java's evaluation fails, no match.
                message.putUserProperty("a", i % 11 == 0 ? "many" : Integer.toString(a));
            }
            SendResult result = producer.send(message);
            assertEquals(SendStatus.SEND_OK, result.getSendStatus());
            if (i % 7 != 0 && i % 11 != 0 && a > 5 && b.equals("x")) {
                expected.add(result.getMsgId());
            }
        }
        assertTrue(expected.size() > 50);
        Map<String, String> got = new ConcurrentHashMap<>();
        consumer = new DefaultMQPushConsumer("it-sql-group");
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName("sql"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, MessageSelector.bySql(SELECTOR));
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(m -> got.put(m.getMsgId(), m.getProperty("a") + "/" + m.getProperty("b")));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        Poll.until("the matching messages arrived", BrokerFixture.DELIVERY_WAIT, () -> new HashSet<>(got.keySet()),
            ids -> ids.containsAll(expected));
        Thread.sleep(2000);
        assertEquals(expected, got.keySet(), "properties received: " + new HashSet<>(got.values()));
    }

    @Test
    void aConsumerWithABadExpressionFailsToStart() throws Exception {
        String topic = "it-sql-bad";
        fixture.createTopic(topic, QUEUES);
        DefaultMQPushConsumer bad = new DefaultMQPushConsumer("it-sql-bad-group");
        bad.setNamesrvAddr(fixture.broker.namesrvAddress());
        bad.setInstanceName(BrokerFixture.uniqueName("sql-bad"));
        bad.subscribe(topic, MessageSelector.bySql("a > 'x'"));
        bad.registerMessageListener((MessageListenerConcurrently) (messages, context) -> ConsumeConcurrentlyStatus.CONSUME_SUCCESS);
        try {
            MQClientException refused = assertThrows(MQClientException.class, bad::start);
            String text = String.valueOf(refused.getMessage()) + " / " + refused.getCause();
            assertTrue(text.contains("cannot be compared"), text);
            assertTrue(text.contains("23") || text.contains("SUBSCRIPTION_PARSE_FAILED") || text.contains("Check client in broker error"), text);
        } finally {
            bad.shutdown();
        }
    }
}
