package org.ferrocket.interop.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The official 5.x client's PushConsumer (rocketmq-client-java 5.2.0) on a FIFO topic with an
 * orderly group: every message arrives once, in send order within its message group; a message
 * that keeps failing is forwarded to the group's DLQ after its attempts. Run against
 * the official 5.3.3 proxy in local mode first ({@code -Dbroker.impl=java}), then against ours.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PushConsumerTest {

    private static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();
    private static final String TOPIC = "PushFifo";
    private static final String GROUP = "GPushFifo";
    private static final String DLQ_TOPIC = "PushDlq";
    /** Orderly, two attempts (`retryMaxTimes` 1): then the client forwards the message to the DLQ. */
    private static final String DLQ_GROUP = "GPushDlq";

    private GrpcEndpoint endpoint;
    private DefaultMQAdminExt admin;
    /**
     * Push consumers are closed together after the tests: a close waits out the receive in flight
     * (the 20 s long polling both sides advertise), which is not under test.
     */
    private final List<PushConsumer> consumers = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(PushConsumerTest.class);
        endpoint = GrpcEndpoint.start(workDir);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(endpoint.namesrvAddress);
        admin.setInstanceName("grpc-it-admin-" + ProcessHandle.current().pid());
        admin.start();
        createFifo(TOPIC, GROUP, 16);
        createFifo(DLQ_TOPIC, DLQ_GROUP, 1);
    }

    private void createFifo(String topic, String groupName, int retryMaxTimes) throws Exception {
        TopicConfig config = new TopicConfig(topic, 4, 4, 6);
        Map<String, String> attributes = new HashMap<>();
        attributes.put("+message.type", "FIFO");
        config.setAttributes(attributes);
        admin.createAndUpdateTopicConfig(endpoint.brokerAddress, config);
        Poll.until("the route of " + topic, Duration.ofSeconds(30), () -> {
            try {
                return admin.examineTopicRouteInfo(topic);
            } catch (Exception notYet) {
                return null;
            }
        }, (TopicRouteData route) -> route != null && !route.getQueueDatas().isEmpty());
        SubscriptionGroupConfig group = new SubscriptionGroupConfig();
        group.setGroupName(groupName);
        group.setConsumeMessageOrderly(true);
        group.setRetryMaxTimes(retryMaxTimes);
        admin.createAndUpdateSubscriptionGroupConfig(endpoint.brokerAddress, group);
    }

    private ClientConfiguration configuration() {
        return ClientConfiguration.newBuilder().setEndpoints(endpoint.grpcAddress)
            .setRequestTimeout(Duration.ofSeconds(10)).build();
    }

    @Test
    void aMessageFailedTooOftenIsForwardedToTheDeadLetterQueue() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        String dlq = "%DLQ%" + DLQ_GROUP;
        consumers.add(PROVIDER.newPushConsumerBuilder().setClientConfiguration(configuration())
            .setConsumerGroup(DLQ_GROUP)
            .setSubscriptionExpressions(Collections.singletonMap(DLQ_TOPIC, FilterExpression.SUB_ALL))
            .setMessageListener(view -> {
                attempts.incrementAndGet();
                return ConsumeResult.FAILURE;
            }).build());
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(configuration())
                .setTopics(DLQ_TOPIC).build()) {
            producer.send(PROVIDER.newMessageBuilder().setTopic(DLQ_TOPIC).setMessageGroup("g")
                .setKeys("dead").setBody("dead".getBytes(StandardCharsets.UTF_8)).build());
            List<MessageExt> dead = Poll.until("the message in " + dlq, Duration.ofSeconds(30), () -> {
                try {
                    return pullFirst(dlq);
                } catch (Exception notYet) {
                    return List.of();
                }
            }, (List<MessageExt> found) -> !found.isEmpty());
            assertEquals("dead", new String(dead.get(0).getBody(), StandardCharsets.UTF_8));
            assertEquals(2, attempts.get(), "maxAttempts = retryMaxTimes + 1, then the DLQ");
        }
    }

    /** What a remoting pull finds in {@code dlq} from its start. */
    private List<MessageExt> pullFirst(String dlq) throws Exception {
        org.apache.rocketmq.client.consumer.DefaultLitePullConsumer pull =
            new org.apache.rocketmq.client.consumer.DefaultLitePullConsumer("grpc-it-dlq-" + System.nanoTime());
        pull.setNamesrvAddr(endpoint.namesrvAddress);
        pull.setInstanceName("grpc-it-dlq-" + System.nanoTime());
        pull.setAutoCommit(false);
        pull.setConsumeFromWhere(org.apache.rocketmq.common.consumer.ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        pull.start();
        try {
            pull.assign(pull.fetchMessageQueues(dlq));
            return pull.poll(1000);
        } finally {
            pull.shutdown();
        }
    }

    @AfterAll
    void stop() throws Exception {
        List<Thread> closing = new ArrayList<>();
        for (PushConsumer consumer : consumers) {
            Thread thread = new Thread(() -> {
                try {
                    consumer.close();
                } catch (java.io.IOException ignored) {
                    // The endpoint goes next anyway.
                }
            });
            thread.start();
            closing.add(thread);
        }
        for (Thread thread : closing) {
            thread.join(Duration.ofSeconds(40).toMillis());
        }
        if (admin != null) {
            admin.shutdown();
        }
        if (endpoint != null) {
            endpoint.close();
        }
    }

    @Test
    void fifoOrderIsKeptPerMessageGroup() throws Exception {
        ClientConfiguration configuration = configuration();
        Map<String, List<String>> consumed = new ConcurrentHashMap<>();
        AtomicInteger count = new AtomicInteger();
        Map<String, List<String>> sent = new HashMap<>();
        consumers.add(PROVIDER.newPushConsumerBuilder().setClientConfiguration(configuration)
            .setConsumerGroup(GROUP)
            .setSubscriptionExpressions(Collections.singletonMap(TOPIC, FilterExpression.SUB_ALL))
            .setMessageListener(view -> {
                String group = view.getMessageGroup().orElse("none");
                consumed.computeIfAbsent(group, g -> Collections.synchronizedList(new ArrayList<>()))
                    .add(StandardCharsets.UTF_8.decode(view.getBody()).toString());
                count.incrementAndGet();
                return ConsumeResult.SUCCESS;
            }).build());
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(configuration)
                .setTopics(TOPIC).build()) {
            for (int i = 0; i < 10; i++) {
                for (String group : List.of("ga", "gb", "gc")) {
                    String body = group + "-" + i;
                    producer.send(PROVIDER.newMessageBuilder().setTopic(TOPIC).setMessageGroup(group)
                        .setBody(body.getBytes(StandardCharsets.UTF_8)).build());
                    sent.computeIfAbsent(group, g -> new ArrayList<>()).add(body);
                }
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (count.get() < 30 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            Thread.sleep(500);
        }
        assertEquals(sent, new HashMap<>(consumed), "every message once, in order within its group");
    }
}
