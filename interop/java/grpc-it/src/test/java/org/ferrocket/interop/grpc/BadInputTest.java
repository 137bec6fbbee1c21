package org.ferrocket.interop.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import apache.rocketmq.v2.AckMessageEntry;
import apache.rocketmq.v2.AckMessageRequest;
import apache.rocketmq.v2.AckMessageResponse;
import apache.rocketmq.v2.Code;
import apache.rocketmq.v2.Encoding;
import apache.rocketmq.v2.Message;
import apache.rocketmq.v2.MessageType;
import apache.rocketmq.v2.MessagingServiceGrpc;
import apache.rocketmq.v2.Resource;
import apache.rocketmq.v2.SendMessageRequest;
import apache.rocketmq.v2.SendMessageResponse;
import apache.rocketmq.v2.Status;
import apache.rocketmq.v2.SystemProperties;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.java.message.MessageViewImpl;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.admin.TopicStatsTable;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.shaded.com.google.protobuf.ByteString;
import org.apache.rocketmq.shaded.com.google.protobuf.Timestamp;
import org.apache.rocketmq.shaded.grpc.netty.NettyChannelBuilder;
import org.apache.rocketmq.shaded.io.grpc.ManagedChannel;
import org.apache.rocketmq.shaded.io.grpc.Metadata;
import org.apache.rocketmq.shaded.io.grpc.stub.MetadataUtils;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Bad input over gRPC, sent with the raw {@code MessagingService} stub (the 5.x client refuses most
 * of it on its own): a send to a missing topic, a FIFO message to a NORMAL topic, an oversized
 * body, and acks with a garbage receipt handle, a handle under the wrong topic or group, and a
 * handle past its invisible time. Each gets the status Java's local-mode proxy gives, and nothing
 * is lost: a refused send stores nothing, a refused or misdirected ack leaves the message to come
 * back. Run against the official 5.3.3 proxy first ({@code -Dbroker.impl=java}), then ours.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {

    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);
    private static final Duration INVISIBLE_MIN = Duration.ofSeconds(10);
    /** The proxy's `maxMessageSize` (4 MiB): the largest body a send may carry. */
    private static final int BODY_MAX = 4 * 1024 * 1024;
    private static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();

    private GrpcEndpoint endpoint;
    private DefaultMQAdminExt admin;
    private Producer producer;
    private SimpleConsumer consumer;
    private ManagedChannel channel;
    private MessagingServiceGrpc.MessagingServiceBlockingStub stub;

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(BadInputTest.class);
        endpoint = GrpcEndpoint.start(workDir);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(endpoint.namesrvAddress);
        admin.setInstanceName("grpc-it-admin-" + ProcessHandle.current().pid());
        admin.start();
        for (String topic : List.of("BadNormal", "BadAck", "BadOther")) {
            createTopic(topic);
        }
        for (String group : List.of("GBadAck", "GBadOther")) {
            SubscriptionGroupConfig config = new SubscriptionGroupConfig();
            config.setGroupName(group);
            admin.createAndUpdateSubscriptionGroupConfig(endpoint.brokerAddress, config);
        }
        ClientConfiguration configuration = ClientConfiguration.newBuilder().setEndpoints(endpoint.grpcAddress)
            .setRequestTimeout(Duration.ofSeconds(10)).build();
        producer = PROVIDER.newProducerBuilder().setClientConfiguration(configuration).setTopics("BadAck").build();
        consumer = PROVIDER.newSimpleConsumerBuilder().setClientConfiguration(configuration)
            .setConsumerGroup("GBadAck").setAwaitDuration(Duration.ofSeconds(5))
            .setSubscriptionExpressions(Collections.singletonMap("BadAck", FilterExpression.SUB_ALL)).build();
        channel = NettyChannelBuilder.forTarget(endpoint.grpcAddress).usePlaintext()
            .maxInboundMessageSize(16 * 1024 * 1024).build();
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
        if (consumer != null) {
            consumer.close();
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

    private void createTopic(String topic) throws Exception {
        TopicConfig config = new TopicConfig(topic, 4, 4, 6);
        Map<String, String> attributes = new HashMap<>();
        attributes.put("+message.type", "NORMAL");
        config.setAttributes(attributes);
        admin.createAndUpdateTopicConfig(endpoint.brokerAddress, config);
        Poll.until("the route of " + topic, ROUTE_WAIT, () -> {
            try {
                return admin.examineTopicRouteInfo(topic);
            } catch (Exception notYet) {
                return null;
            }
        }, (TopicRouteData route) -> route != null && !route.getQueueDatas().isEmpty());
    }

    /** How many messages the topic's queues hold (their max offsets summed). */
    private long stored(String topic) throws Exception {
        TopicStatsTable stats = admin.examineTopicStats(topic);
        return stats.getOffsetTable().values().stream().mapToLong(offset -> offset.getMaxOffset()).sum();
    }

    private static Message message(String topic, MessageType type, String group, byte[] body) {
        SystemProperties.Builder system = SystemProperties.newBuilder()
            .setMessageId("01" + UUID.randomUUID().toString().replace("-", "").toUpperCase())
            .setMessageType(type)
            .setBodyEncoding(Encoding.IDENTITY)
            .setBornHost("127.0.0.1")
            .setBornTimestamp(Timestamp.newBuilder().setSeconds(System.currentTimeMillis() / 1000));
        if (group != null) {
            system.setMessageGroup(group);
        }
        return Message.newBuilder().setTopic(Resource.newBuilder().setName(topic)).setSystemProperties(system)
            .setBody(ByteString.copyFrom(body)).build();
    }

    private Status send(Message message) {
        SendMessageResponse response = stub.withDeadlineAfter(30, TimeUnit.SECONDS)
            .sendMessage(SendMessageRequest.newBuilder().addMessages(message).build());
        return response.getStatus();
    }

    private Status ack(String topic, String group, String messageId, String handle) {
        AckMessageResponse response = stub.withDeadlineAfter(30, TimeUnit.SECONDS).ackMessage(
            AckMessageRequest.newBuilder().setTopic(Resource.newBuilder().setName(topic))
                .setGroup(Resource.newBuilder().setName(group))
                .addEntries(AckMessageEntry.newBuilder().setMessageId(messageId).setReceiptHandle(handle)).build());
        Status entry = response.getEntriesCount() > 0 ? response.getEntries(0).getStatus() : null;
        System.out.println("BADINPUT ack " + topic + "/" + group + ": " + response.getStatus().getCode() + " "
            + response.getStatus().getMessage() + " | entry " + (entry == null ? "-" : entry.getCode() + " " + entry.getMessage()));
        return entry == null ? response.getStatus() : entry;
    }

    private static void report(String what, Status status) {
        System.out.println("BADINPUT " + what + ": " + status.getCode() + " " + status.getMessage());
    }

    /**
     * Java's proxy checks the message type against the topic's before anything else, and a missing
     * topic's type is UNSPECIFIED: MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, not TOPIC_NOT_FOUND, and
     * the topic is not auto-created.
     */
    @Test
    void aSendToAMissingTopicIsRefusedAsATypeConflictAndCreatesNothing() {
        Status status = send(message("BadMissing", MessageType.NORMAL, null, "x".getBytes(StandardCharsets.UTF_8)));
        report("missing topic", status);
        assertEquals(Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, status.getCode(), status.getMessage());
        assertTrue(status.getMessage().contains("the expected type is UNSPECIFIED, but actual type is NORMAL"),
            status.getMessage());
        assertThrows(Exception.class, () -> admin.examineTopicRouteInfo("BadMissing"), "the topic was created");
    }

    @Test
    void aFifoMessageToANormalTopicIsRefusedAndNotStored() throws Exception {
        Status status = send(message("BadNormal", MessageType.FIFO, "g1", "fifo".getBytes(StandardCharsets.UTF_8)));
        report("fifo to normal", status);
        assertEquals(Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, status.getCode(), status.getMessage());
        assertTrue(status.getMessage().contains("the expected type is NORMAL, but actual type is FIFO"),
            status.getMessage());
        assertEquals(0, stored("BadNormal"));
    }

    @Test
    void anOversizedBodyIsRefusedAndNotStored() throws Exception {
        Status status = send(message("BadNormal", MessageType.NORMAL, null, new byte[BODY_MAX + 1]));
        report("oversized", status);
        assertEquals(Code.MESSAGE_BODY_TOO_LARGE, status.getCode(), status.getMessage());
        assertEquals("message body cannot exceed the max " + BODY_MAX, status.getMessage());
        assertEquals(0, stored("BadNormal"));
    }

    @Test
    void badAndExpiredReceiptHandlesAreRefusedAndTheMessageComesBack() throws Exception {
        producer.send(PROVIDER.newMessageBuilder().setTopic("BadAck").setBody("keep".getBytes(StandardCharsets.UTF_8)).build());
        MessageView first = receiveOne();
        long receivedAt = System.nanoTime();
        String id = first.getMessageId().toString();
        String handle = ((MessageViewImpl) first).getReceiptHandle();
        Status garbage = ack("BadAck", "GBadAck", id, "not-a-receipt-handle");
        assertEquals(Code.INTERNAL_SERVER_ERROR, garbage.getCode(), garbage.getMessage());
        assertTrue(garbage.getMessage().startsWith("Parse failed, dataList size 1"), garbage.getMessage());
        // Java answers OK to a real handle under another topic or group (the ack is written for
        // that topic/group and pairs with nothing); what counts is that the message still comes back.
        Status wrongTopic = ack("BadOther", "GBadAck", id, handle);
        assertEquals(Code.OK, wrongTopic.getCode(), wrongTopic.getMessage());
        Status wrongGroup = ack("BadAck", "GBadOther", id, handle);
        assertEquals(Code.OK, wrongGroup.getCode(), wrongGroup.getMessage());
        MessageView again = receiveOne();
        long afterMs = Duration.ofNanos(System.nanoTime() - receivedAt).toMillis();
        assertEquals(first.getMessageId(), again.getMessageId(), "the misdirected acks did not ack it");
        assertEquals(2, again.getDeliveryAttempt(), "came back after " + afterMs + " ms");
        Status expired = ack("BadAck", "GBadAck", id, handle);
        assertEquals(Code.INVALID_RECEIPT_HANDLE, expired.getCode(), expired.getMessage());
        assertTrue(expired.getMessage().endsWith("receipt handle is expired"), expired.getMessage());
        consumer.ack(again);
        assertEquals(List.of(), consumer.receive(1, INVISIBLE_MIN), "acked with its fresh handle, it stays acked");
    }

    private MessageView receiveOne() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            List<MessageView> got = consumer.receive(1, INVISIBLE_MIN);
            if (!got.isEmpty()) {
                return got.get(0);
            }
        }
        throw new AssertionError("nothing received within 30 s");
    }
}
