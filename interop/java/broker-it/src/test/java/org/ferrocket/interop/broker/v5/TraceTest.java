package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.trace.TraceView;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.topic.TopicValidator;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.ferrocket.interop.namesrv.support.MqAdmin;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Message trace with the official 5.3.3 client: a producer and a push consumer built with
 * {@code enableMsgTrace} write their trace records to {@code RMQ_SYS_TRACE_TOPIC} (auto-created
 * from TBW102 by default, or made by the broker at start-up with {@code traceTopicEnable}), and
 * mqadmin {@code queryMsgTraceById} finds and prints the Pub and Sub rows.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TraceTest {

    private static final String TOPIC = "it-trace-topic";
    private static final String PRODUCER_GROUP = "it-trace-producer";
    private static final String CONSUMER_GROUP = "it-trace-group";

    @Test
    void tracesOfASendAndItsConsumptionAreFoundById() throws Exception {
        try (BrokerFixture fixture = BrokerFixture.start(getClass(), Map.of())) {
            traceOneMessage(fixture);
        }
    }

    @Test
    void traceTopicEnableMakesTheTraceTopicAtStartUp() throws Exception {
        try (BrokerFixture fixture = BrokerFixture.start(getClass(), Map.of("traceTopicEnable", "true"))) {
            // One read and one write queue, registered before any client traced anything.
            TopicRouteData route = fixture.awaitRoute(TopicValidator.RMQ_SYS_TRACE_TOPIC, 1);
            assertEquals(6, BrokerFixture.queueDataOf(route, fixture.brokerName).getPerm(), route.toJson());
            traceOneMessage(fixture);
        }
    }

    private static void traceOneMessage(BrokerFixture fixture) throws Exception {
        fixture.createTopic(TOPIC, 2);
        DefaultMQProducer producer = new DefaultMQProducer(PRODUCER_GROUP, true, null);
        producer.setNamesrvAddr(fixture.broker.namesrvAddress());
        producer.setInstanceName(BrokerFixture.uniqueName(PRODUCER_GROUP));
        producer.setSendMsgTimeout(10_000);
        producer.start();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(CONSUMER_GROUP, true, null);
        Map<String, Integer> consumed = new ConcurrentHashMap<>();
        try {
            SendResult sent = producer.send(new Message(TOPIC, "traced", "trace-key",
                "traced-body".getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus());

            consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
            consumer.setInstanceName(BrokerFixture.uniqueName(CONSUMER_GROUP));
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.subscribe(TOPIC, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
                messages.forEach(m -> consumed.merge(m.getMsgId(), 1, Integer::sum));
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            Poll.until("the traced message consumed", BrokerFixture.DELIVERY_WAIT, () -> Map.copyOf(consumed),
                c -> c.containsKey(sent.getMsgId()));

            // The trace producers send in batches, and the index is built asynchronously.
            String msgId = sent.getMsgId();
            List<TraceView> views = Poll.until("a Pub and a SubAfter trace of " + msgId, BrokerFixture.DELIVERY_WAIT,
                () -> traceViews(fixture, msgId),
                v -> v.stream().anyMatch(t -> t.getMsgType().equals("Pub"))
                    && v.stream().anyMatch(t -> t.getMsgType().equals("SubAfter")));
            for (TraceView view : views) {
                assertEquals("success", view.getStatus(), view.toString());
                assertEquals(msgId, view.getMsgId(), view.toString());
                if (view.getMsgType().equals("Pub")) {
                    // A SubAfter record carries no topic.
                    assertEquals(TOPIC, view.getTopic(), view.toString());
                }
            }

            MqAdmin.Result trace = fixture.mqadmin.run("queryMsgTraceById", "-i", msgId);
            assertEquals(0, trace.exitStatus(), trace.toString());
            Pattern header = Pattern.compile("^#Type\\s+#ProducerGroup\\s+#ClientHost\\s+#SendTime\\s+#CostTimes\\s+#Status\\s*$",
                Pattern.MULTILINE);
            assertTrue(header.matcher(trace.stdout()).find(), trace.toString());
            Pattern pub = Pattern.compile("^Pub\\s+" + PRODUCER_GROUP + "\\s+\\S+\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\d+ms\\s+success\\s*$",
                Pattern.MULTILINE);
            assertTrue(pub.matcher(trace.stdout()).find(), trace.toString());
            Pattern sub = Pattern.compile("^Sub\\s+" + CONSUMER_GROUP + "\\s+\\S+\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\d+ms\\s+success\\s*$",
                Pattern.MULTILINE);
            assertTrue(sub.matcher(trace.stdout()).find(), trace.toString());
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }

    /** What queryMsgTraceById decodes: the trace topic's messages indexed under {@code msgId}. */
    private static List<TraceView> traceViews(BrokerFixture fixture, String msgId) throws Exception {
        List<TraceView> views = new ArrayList<>();
        for (MessageExt message : fixture.admin.queryMessage(TopicValidator.RMQ_SYS_TRACE_TOPIC, msgId, 64, 0,
            Long.MAX_VALUE).getMessageList()) {
            views.addAll(TraceView.decodeFromTraceTransData(msgId, message));
        }
        return views;
    }
}
