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
 * orderly group: every message arrives once, in send order within its message group. Run against
 * the official 5.3.3 proxy in local mode first ({@code -Dbroker.impl=java}), then against ours.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PushConsumerTest {

    private static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();
    private static final String TOPIC = "PushFifo";
    private static final String GROUP = "GPushFifo";

    private GrpcEndpoint endpoint;
    private DefaultMQAdminExt admin;

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(PushConsumerTest.class);
        endpoint = GrpcEndpoint.start(workDir);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(endpoint.namesrvAddress);
        admin.setInstanceName("grpc-it-admin-" + ProcessHandle.current().pid());
        admin.start();
        TopicConfig config = new TopicConfig(TOPIC, 4, 4, 6);
        Map<String, String> attributes = new HashMap<>();
        attributes.put("+message.type", "FIFO");
        config.setAttributes(attributes);
        admin.createAndUpdateTopicConfig(endpoint.brokerAddress, config);
        Poll.until("the route of " + TOPIC, Duration.ofSeconds(30), () -> {
            try {
                return admin.examineTopicRouteInfo(TOPIC);
            } catch (Exception notYet) {
                return null;
            }
        }, (TopicRouteData route) -> route != null && !route.getQueueDatas().isEmpty());
        SubscriptionGroupConfig group = new SubscriptionGroupConfig();
        group.setGroupName(GROUP);
        group.setConsumeMessageOrderly(true);
        admin.createAndUpdateSubscriptionGroupConfig(endpoint.brokerAddress, group);
    }

    @AfterAll
    void stop() throws Exception {
        if (admin != null) {
            admin.shutdown();
        }
        if (endpoint != null) {
            endpoint.close();
        }
    }

    @Test
    void fifoOrderIsKeptPerMessageGroup() throws Exception {
        ClientConfiguration configuration = ClientConfiguration.newBuilder().setEndpoints(endpoint.grpcAddress)
            .setRequestTimeout(Duration.ofSeconds(10)).build();
        Map<String, List<String>> consumed = new ConcurrentHashMap<>();
        AtomicInteger count = new AtomicInteger();
        Map<String, List<String>> sent = new HashMap<>();
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(configuration)
                .setTopics(TOPIC).build();
             PushConsumer consumer = PROVIDER.newPushConsumerBuilder().setClientConfiguration(configuration)
                .setConsumerGroup(GROUP)
                .setSubscriptionExpressions(Collections.singletonMap(TOPIC, FilterExpression.SUB_ALL))
                .setMessageListener(view -> {
                    String group = view.getMessageGroup().orElse("none");
                    consumed.computeIfAbsent(group, g -> Collections.synchronizedList(new ArrayList<>()))
                        .add(StandardCharsets.UTF_8.decode(view.getBody()).toString());
                    count.incrementAndGet();
                    return ConsumeResult.SUCCESS;
                }).build()) {
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
