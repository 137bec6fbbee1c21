package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Recalling a timer message (5.3.2+): the 5.3.3 client's {@code SendResult.getRecallHandle()} of a
 * timer send and {@code DefaultMQProducer.recallMessage(topic, handle)} take the timer back before
 * its time; of two timers due at the same instant only the other is consumed. Another topic's
 * handle is refused with Java's ILLEGAL_OPERATION (604) and remark. Both need {@code recallMessageEnable}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RecallTest {

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private DefaultMQPushConsumer consumer;
    private final List<String> consumed = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(),
            Map.of("timerWheelEnable", "true", "recallMessageEnable", "true"));
        producer = fixture.startProducer(BrokerFixture.uniqueName("it-recall-producer"));
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
    void aRecalledTimerIsNeverConsumedAndItsNeighbourIs() throws Exception {
        String topic = BrokerFixture.uniqueName("it-recall");
        fixture.createTopic(topic, 1);
        consumer = new DefaultMQPushConsumer(BrokerFixture.uniqueName("it-recall-group"));
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-recall-consumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            for (MessageExt message : messages) {
                consumed.add(new String(message.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();

        long at = System.currentTimeMillis() + 6_000;
        SendResult recalled = producer.send(timer(topic, "recalled", at));
        SendResult kept = producer.send(timer(topic, "kept", at));
        assertNotNull(recalled.getRecallHandle(), "a timer send returns a recall handle");
        assertNotNull(kept.getRecallHandle());

        // A well-formed handle of another topic: the client sends it, the broker refuses it.
        String otherTopic = java.util.Base64.getUrlEncoder().encodeToString(
            ("v1 other-topic " + fixture.brokerName + " " + (at + 1) + " 00").getBytes(StandardCharsets.UTF_8));
        MQBrokerException mismatch = assertThrows(MQBrokerException.class,
            () -> producer.recallMessage(topic, otherTopic));
        assertEquals(604, mismatch.getResponseCode());
        assertEquals("recall failed, topic not match", mismatch.getErrorMessage());

        String recalledId = producer.recallMessage(topic, recalled.getRecallHandle());
        assertEquals(recalled.getMsgId(), recalledId);

        Poll.until("the kept timer consumed", BrokerFixture.DELIVERY_WAIT, () -> List.copyOf(consumed),
            list -> list.contains("kept"));
        Thread.sleep(3_000);
        assertEquals(List.of("kept"), List.copyOf(consumed));
    }

    private static Message timer(String topic, String body, long at) {
        Message message = new Message(topic, "t", body.getBytes(StandardCharsets.UTF_8));
        message.setDeliverTimeMs(at);
        return message;
    }
}
