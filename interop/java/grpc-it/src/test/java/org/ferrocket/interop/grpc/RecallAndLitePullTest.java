package org.ferrocket.interop.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import apache.rocketmq.v2.Code;
import apache.rocketmq.v2.GetOffsetRequest;
import apache.rocketmq.v2.MessageQueue;
import apache.rocketmq.v2.MessagingServiceGrpc;
import apache.rocketmq.v2.PullMessageRequest;
import apache.rocketmq.v2.QueryOffsetRequest;
import apache.rocketmq.v2.RecallMessageRequest;
import apache.rocketmq.v2.RecallMessageResponse;
import apache.rocketmq.v2.Resource;
import apache.rocketmq.v2.Status;
import apache.rocketmq.v2.SyncLiteSubscriptionRequest;
import apache.rocketmq.v2.UpdateOffsetRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.RecallReceipt;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.shaded.grpc.netty.NettyChannelBuilder;
import org.apache.rocketmq.shaded.io.grpc.ManagedChannel;
import org.apache.rocketmq.shaded.io.grpc.Metadata;
import org.apache.rocketmq.shaded.io.grpc.StatusRuntimeException;
import org.apache.rocketmq.shaded.io.grpc.stub.MetadataUtils;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * RecallMessage and the lite-pull set (PullMessage, UpdateOffset, GetOffset, QueryOffset) as
 * Java's 5.3.3 proxy serves them: the 5.x client's {@code Producer.recallMessage} takes back a
 * delay message before its time, so it is never delivered while its neighbour is; bad recalls get
 * the proxy's status (raw stub); the lite-pull RPCs are not implemented by 5.3.3 (its
 * {@code GrpcMessagingApplication} does not override them), so they fail with gRPC UNIMPLEMENTED,
 * as does SyncLiteSubscription, which its proto does not declare.
 * Run against the official 5.3.3 proxy in local mode first ({@code -Dbroker.impl=java}), then ours.
 * Both brokers run with {@code recallMessageEnable=true} (off by default in Java and ours).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RecallAndLitePullTest {

    private static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();
    private static final String DELAY_TOPIC = "RecallDelay";
    private static final String OTHER_DELAY_TOPIC = "RecallDelayOther";
    private static final String NORMAL_TOPIC = "RecallNormal";
    private static final String GROUP = "GRecall";
    /** How far ahead the delay messages are due: long enough to recall, short for the run. */
    private static final Duration DUE_IN = Duration.ofSeconds(6);
    private static final Duration INVISIBLE = Duration.ofSeconds(10);

    private GrpcEndpoint endpoint;
    private DefaultMQAdminExt admin;
    private Producer producer;
    private ManagedChannel channel;
    private MessagingServiceGrpc.MessagingServiceBlockingStub stub;

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(RecallAndLitePullTest.class);
        endpoint = GrpcEndpoint.start(workDir);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(endpoint.namesrvAddress);
        admin.setInstanceName("grpc-it-admin-" + ProcessHandle.current().pid());
        admin.start();
        createTopic(DELAY_TOPIC, "DELAY");
        createTopic(OTHER_DELAY_TOPIC, "DELAY");
        createTopic(NORMAL_TOPIC, "NORMAL");
        SubscriptionGroupConfig group = new SubscriptionGroupConfig();
        group.setGroupName(GROUP);
        admin.createAndUpdateSubscriptionGroupConfig(endpoint.brokerAddress, group);
        producer = PROVIDER.newProducerBuilder().setClientConfiguration(configuration())
            .setTopics(DELAY_TOPIC, OTHER_DELAY_TOPIC).build();
        channel = NettyChannelBuilder.forTarget(endpoint.grpcAddress).usePlaintext().build();
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("x-mq-client-id", Metadata.ASCII_STRING_MARSHALLER), "grpc-it-raw@" + UUID.randomUUID());
        headers.put(Metadata.Key.of("x-mq-language", Metadata.ASCII_STRING_MARSHALLER), "JAVA");
        headers.put(Metadata.Key.of("x-mq-protocol", Metadata.ASCII_STRING_MARSHALLER), "v2");
        headers.put(Metadata.Key.of("x-mq-client-version", Metadata.ASCII_STRING_MARSHALLER), "5.2.0");
        stub = MessagingServiceGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    @AfterAll
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (producer != null) {
            producer.close();
        }
        if (admin != null) {
            admin.shutdown();
        }
        if (endpoint != null) {
            endpoint.close();
        }
    }

    private ClientConfiguration configuration() {
        return ClientConfiguration.newBuilder().setEndpoints(endpoint.grpcAddress)
            .setRequestTimeout(Duration.ofSeconds(10)).build();
    }

    private void createTopic(String topic, String type) throws Exception {
        TopicConfig config = new TopicConfig(topic, 4, 4, 6);
        Map<String, String> attributes = new HashMap<>();
        attributes.put("+message.type", type);
        config.setAttributes(attributes);
        admin.createAndUpdateTopicConfig(endpoint.brokerAddress, config);
        Poll.until("the route of " + topic, Duration.ofSeconds(30), () -> {
            try {
                return admin.examineTopicRouteInfo(topic);
            } catch (Exception notYet) {
                return null;
            }
        }, (TopicRouteData route) -> route != null && !route.getQueueDatas().isEmpty());
    }

    private SendReceipt sendDelay(String topic, String body, long dueMs) throws Exception {
        return producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setDeliveryTimestamp(dueMs)
            .setBody(body.getBytes(StandardCharsets.UTF_8)).build());
    }

    private Status recall(String topic, String handle) {
        RecallMessageResponse response = stub.withDeadlineAfter(30, TimeUnit.SECONDS).recallMessage(
            RecallMessageRequest.newBuilder().setTopic(Resource.newBuilder().setName(topic)).setRecallHandle(handle)
                .build());
        System.out.println("RECALL " + topic + ": " + response.getStatus().getCode() + " "
            + response.getStatus().getMessage() + " | id " + response.getMessageId());
        return response.getStatus();
    }

    @Test
    void aRecalledDelayMessageIsNeverDeliveredAndItsNeighbourIs() throws Exception {
        long due = System.currentTimeMillis() + DUE_IN.toMillis();
        SendReceipt recalled = sendDelay(DELAY_TOPIC, "recalled", due);
        SendReceipt kept = sendDelay(DELAY_TOPIC, "kept", due);
        assertFalse(recalled.getRecallHandle().isEmpty(), "a delay send returns a recall handle");
        RecallReceipt receipt = producer.recallMessage(DELAY_TOPIC, recalled.getRecallHandle());
        assertEquals(recalled.getMessageId().toString(), receipt.getMessageId().toString());
        List<String> bodies = new ArrayList<>();
        try (SimpleConsumer consumer = PROVIDER.newSimpleConsumerBuilder().setClientConfiguration(configuration())
                .setConsumerGroup(GROUP).setAwaitDuration(Duration.ofSeconds(5))
                .setSubscriptionExpressions(Collections.singletonMap(DELAY_TOPIC, FilterExpression.SUB_ALL)).build()) {
            // Until the kept one arrives, then one more receive: the recalled one was due with it.
            long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            boolean keptSeen = false;
            while (System.nanoTime() < deadline) {
                List<MessageView> got = consumer.receive(16, INVISIBLE);
                for (MessageView view : got) {
                    bodies.add(StandardCharsets.UTF_8.decode(view.getBody()).toString());
                    consumer.ack(view);
                }
                if (keptSeen) {
                    break;
                }
                keptSeen = bodies.contains("kept");
            }
        }
        assertEquals(List.of("kept"), bodies, "kept " + kept.getMessageId() + " only");
    }

    /**
     * The proxy checks the topic's type (DELAY) first, then decodes the handle itself; what the
     * broker refuses comes back as INTERNAL_SERVER_ERROR with the broker's remark.
     */
    @Test
    void badRecallsGetTheProxysStatus() throws Exception {
        Status garbage = recall(DELAY_TOPIC, "not-a-recall-handle");
        assertEquals(Code.INTERNAL_SERVER_ERROR, garbage.getCode());
        assertEquals("org.apache.rocketmq.proxy.common.ProxyException: recall handle is invalid", garbage.getMessage());

        SendReceipt receipt = sendDelay(DELAY_TOPIC, "for-bad-recalls", System.currentTimeMillis() + 60_000);
        String handle = receipt.getRecallHandle();
        Status normal = recall(NORMAL_TOPIC, handle);
        assertEquals(Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, normal.getCode());
        assertTrue(normal.getMessage().contains("the expected type is NORMAL, but actual type is DELAY"),
            normal.getMessage());
        Status otherTopic = recall(OTHER_DELAY_TOPIC, handle);
        assertEquals(Code.INTERNAL_SERVER_ERROR, otherTopic.getCode());
        assertEquals("org.apache.rocketmq.proxy.common.ProxyException: recall failed, topic not match",
            otherTopic.getMessage());
        String past = Base64.getUrlEncoder().encodeToString(("v1 " + DELAY_TOPIC + " broker-a "
            + (System.currentTimeMillis() - 1000) + " 0A0000000000000000000000000000AA").getBytes(StandardCharsets.UTF_8));
        Status expired = recall(DELAY_TOPIC, past);
        assertEquals(Code.INTERNAL_SERVER_ERROR, expired.getCode());
        assertEquals("org.apache.rocketmq.proxy.common.ProxyException: recall failed, timestamp invalid",
            expired.getMessage());
        assertEquals(Code.OK, recall(DELAY_TOPIC, handle).getCode());
        // A second recall of the same handle parks a second delete mark: accepted again.
        assertEquals(Code.OK, recall(DELAY_TOPIC, handle).getCode());
    }

    @Test
    void theLitePullSetIsNotImplemented() {
        Resource group = Resource.newBuilder().setName(GROUP).build();
        MessageQueue queue = MessageQueue.newBuilder().setTopic(Resource.newBuilder().setName(NORMAL_TOPIC)).setId(0)
            .build();
        Map<String, Supplier<Object>> calls = new java.util.LinkedHashMap<>();
        calls.put("PullMessage", () -> {
            stub.withDeadlineAfter(10, TimeUnit.SECONDS).pullMessage(PullMessageRequest.newBuilder().setGroup(group)
                .setMessageQueue(queue).setBatchSize(1).build()).hasNext();
            return null;
        });
        calls.put("UpdateOffset", () -> stub.withDeadlineAfter(10, TimeUnit.SECONDS)
            .updateOffset(UpdateOffsetRequest.newBuilder().setGroup(group).setMessageQueue(queue).setOffset(1).build()));
        calls.put("GetOffset", () -> stub.withDeadlineAfter(10, TimeUnit.SECONDS)
            .getOffset(GetOffsetRequest.newBuilder().setGroup(group).setMessageQueue(queue).build()));
        calls.put("QueryOffset", () -> stub.withDeadlineAfter(10, TimeUnit.SECONDS)
            .queryOffset(QueryOffsetRequest.newBuilder().setMessageQueue(queue).build()));
        for (Map.Entry<String, Supplier<Object>> call : calls.entrySet()) {
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> call.getValue().get(),
                call.getKey());
            System.out.println("LITEPULL " + call.getKey() + ": " + refused.getStatus());
            assertEquals(org.apache.rocketmq.shaded.io.grpc.Status.Code.UNIMPLEMENTED, refused.getStatus().getCode());
            assertEquals("Method apache.rocketmq.v2.MessagingService/" + call.getKey() + " is unimplemented",
                refused.getStatus().getDescription());
        }
        // Newer than 5.3.3's rocketmq-proto 2.0.4: not even declared there, so grpc-java finds no method.
        StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class,
            () -> stub.withDeadlineAfter(10, TimeUnit.SECONDS).syncLiteSubscription(
                SyncLiteSubscriptionRequest.newBuilder().setTopic(Resource.newBuilder().setName(NORMAL_TOPIC))
                    .setGroup(group).build()));
        System.out.println("LITEPULL SyncLiteSubscription: " + unknown.getStatus());
        assertEquals(org.apache.rocketmq.shaded.io.grpc.Status.Code.UNIMPLEMENTED, unknown.getStatus().getCode());
        assertEquals("Method not found: apache.rocketmq.v2.MessagingService/SyncLiteSubscription",
            unknown.getStatus().getDescription());
    }
}
