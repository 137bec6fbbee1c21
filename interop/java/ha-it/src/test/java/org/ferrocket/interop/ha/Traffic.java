package org.ferrocket.interop.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.namesrv.support.Poll;

/** The official 5.3.3 producer and push consumer as the replication tests use them. */
final class Traffic {

    /** A synchronous master answers SLAVE_NOT_AVAILABLE or FLUSH_SLAVE_TIMEOUT until its slave is in. */
    private static final Duration SLAVE_JOINS = Duration.ofSeconds(120);

    private Traffic() {
    }

    /**
     * Sends warm-up messages until one is SEND_OK (the slave has joined; the others are stored on
     * the master only and not counted), then {@code count} messages that must all be SEND_OK.
     * Returns their bodies (each also its key).
     */
    static Set<String> sendAcknowledged(String namesrvAddr, String topic, int count) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("ha_it_producer");
        producer.setNamesrvAddr(namesrvAddr);
        producer.setSendMsgTimeout(10_000);
        producer.start();
        try {
            Poll.until("a send is acknowledged with SEND_OK (the slave has joined)", SLAVE_JOINS,
                () -> producer.send(message(topic, "warm-up")).getSendStatus(), status -> status == SendStatus.SEND_OK);
            Set<String> acknowledged = ConcurrentHashMap.newKeySet();
            for (int i = 0; i < count; i++) {
                String key = String.format("msg-%05d", i);
                SendResult result = producer.send(message(topic, key));
                assertEquals(SendStatus.SEND_OK, result.getSendStatus(), key + ": " + result);
                acknowledged.add(key);
            }
            return acknowledged;
        } finally {
            producer.shutdown();
        }
    }

    /** A push consumer of a new group from the first offset; returns once it saw all of {@code expected}. */
    static void consumeAll(String namesrvAddr, String topic, Set<String> expected, Duration timeout) throws Exception {
        Set<String> consumed = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("ha_it_consumer");
        consumer.setNamesrvAddr(namesrvAddr);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            for (MessageExt message : messages) {
                consumed.add(new String(message.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        try {
            Poll.until("every acknowledged message was consumed", timeout,
                () -> expected.stream().filter(key -> !consumed.contains(key)).count(), missing -> missing == 0);
        } finally {
            consumer.shutdown();
        }
    }

    private static Message message(String topic, String key) {
        Message message = new Message(topic, "TagA", key.getBytes(StandardCharsets.UTF_8));
        message.setKeys(key);
        return message;
    }
}
