package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.admin.ConsumeStats;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A graceful restart (SIGTERM, then the same configuration and data) keeps what the broker saves
 * on the way out: messages, topics, subscription groups and committed consumer offsets, so the
 * group goes on from where it stopped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class RestartTest {

    private static final String TOPIC = "it-restart";
    private static final String GROUP = "it-restart-group";
    private static final int QUEUES = 4;
    private static final int MESSAGES = 40;
    /** Not the default (16), so the saved group config is told apart from an auto-created one. */
    private static final int RETRY_MAX_TIMES = 7;

    private BrokerFixture fixture;

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of());
    }

    @AfterAll
    void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
    }

    @Test
    void messagesTopicsGroupsAndOffsetsSurviveAGracefulRestart() throws Exception {
        fixture.createTopic(TOPIC, QUEUES);
        SubscriptionGroupConfig config = new SubscriptionGroupConfig();
        config.setGroupName(GROUP);
        config.setRetryMaxTimes(RETRY_MAX_TIMES);
        fixture.admin.createAndUpdateSubscriptionGroupConfig(fixture.broker.brokerAddress(), config);
        Set<String> before = send("before", MESSAGES);
        Map<String, Integer> consumed = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = startConsumer(consumed);
        try {
            Poll.until("every message consumed", BrokerFixture.DELIVERY_WAIT, () -> Set.copyOf(consumed.keySet()),
                ids -> ids.containsAll(before));
        } finally {
            consumer.shutdown();
        }
        awaitCommitted(MESSAGES);

        fixture.broker.restartBroker();
        BrokerFixture.awaitRegistered(fixture.broker, fixture.admin);

        fixture.awaitRoute(TOPIC, QUEUES);
        assertEquals(RETRY_MAX_TIMES, fixture.admin.examineSubscriptionGroupConfig(fixture.broker.brokerAddress(), GROUP)
            .getRetryMaxTimes());
        Set<String> stored = fixture.pullAll(TOPIC, MESSAGES).stream().map(MessageExt::getMsgId).collect(Collectors.toSet());
        assertEquals(before, stored);
        awaitCommitted(MESSAGES);

        // CONSUME_FROM_FIRST_OFFSET would re-read everything if the offsets had been lost.
        Set<String> after = send("after", 10);
        consumed.clear();
        DefaultMQPushConsumer resumed = startConsumer(consumed);
        try {
            Poll.until("the new messages consumed", BrokerFixture.DELIVERY_WAIT, () -> Set.copyOf(consumed.keySet()),
                ids -> ids.containsAll(after));
            Thread.sleep(1000);
            assertEquals(after, new HashSet<>(consumed.keySet()), "consumed after the restart");
        } finally {
            resumed.shutdown();
        }
    }

    private Set<String> send(String prefix, int count) throws Exception {
        DefaultMQProducer producer = fixture.startProducer(BrokerFixture.uniqueName("it-restart-producer"));
        try {
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < count; i++) {
                SendResult result = producer.send(new Message(TOPIC, (prefix + "-" + i).getBytes(StandardCharsets.UTF_8)));
                assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
                ids.add(result.getMsgId());
            }
            return ids;
        } finally {
            producer.shutdown();
        }
    }

    private DefaultMQPushConsumer startConsumer(Map<String, Integer> consumed) throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(GROUP);
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-restart-consumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPersistConsumerOffsetInterval(1000);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(m -> consumed.merge(m.getMsgId(), 1, Integer::sum));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        return consumer;
    }

    private void awaitCommitted(long total) throws InterruptedException {
        // queue id -> committed/broker offset, readable in a failure message.
        Poll.until(GROUP + " committed " + total, BrokerFixture.DELIVERY_WAIT, () -> offsets(fixture.admin.examineConsumeStats(GROUP, TOPIC)),
            table -> table.values().stream().mapToLong(pair -> pair[0]).sum() == total);
    }

    private static Map<Integer, long[]> offsets(ConsumeStats stats) {
        return stats.getOffsetTable().entrySet().stream().collect(Collectors.toMap(e -> e.getKey().getQueueId(),
            e -> new long[] {e.getValue().getConsumerOffset(), e.getValue().getBrokerOffset()}, (a, b) -> a,
            () -> new java.util.TreeMap<>() {
                @Override
                public String toString() {
                    return entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()[0] + "/" + e.getValue()[1])
                        .collect(Collectors.joining(", ", "{", "}"));
                }
            }));
    }
}
