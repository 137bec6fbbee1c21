package org.ferrocket.interop.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The official 5.x client (rocketmq-client-java 5.2.0) producing through a gRPC endpoint, TLS on
 * (the client's default) and off: normal, FIFO (per message group, in order, one queue) and delay
 * messages, each read back over remoting; a producer for a missing topic and messages of the wrong
 * type for their topic. Run against the official 5.3.3 proxy in local mode first
 * ({@code -Dbroker.impl=java}), then against ours.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProducerTest {

    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);
    private static final Duration DELIVERY_WAIT = Duration.ofSeconds(30);
    private static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();

    private GrpcEndpoint endpoint;
    private DefaultMQAdminExt admin;

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(ProducerTest.class);
        endpoint = GrpcEndpoint.start(workDir);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(endpoint.namesrvAddress);
        admin.setInstanceName("grpc-it-admin-" + ProcessHandle.current().pid());
        admin.start();
        for (String mode : List.of("tls", "plain")) {
            createTopic("GrpcNormal_" + mode, "NORMAL");
            createTopic("GrpcFifo_" + mode, "FIFO");
            createTopic("GrpcDelay_" + mode, "DELAY");
            createTopic("GrpcTx_" + mode, "TRANSACTION");
        }
        createTopic("GrpcTxChecked", "TRANSACTION");
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

    private void createTopic(String topic, String messageType) throws Exception {
        TopicConfig config = new TopicConfig(topic, 4, 4, 6);
        Map<String, String> attributes = new HashMap<>();
        attributes.put("+message.type", messageType);
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

    private Producer producer(boolean tls, String... topics) throws Exception {
        ClientConfiguration configuration = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint.grpcAddress)
            .enableSsl(tls)
            .setRequestTimeout(Duration.ofSeconds(10))
            .build();
        return PROVIDER.newProducerBuilder().setClientConfiguration(configuration).setTopics(topics).build();
    }

    private static String mode(boolean tls) {
        return tls ? "tls" : "plain";
    }

    private static Message message(String topic, String body, java.util.function.Consumer<org.apache.rocketmq.client.apis.message.MessageBuilder> extra) {
        org.apache.rocketmq.client.apis.message.MessageBuilder builder = PROVIDER.newMessageBuilder()
            .setTopic(topic)
            .setTag("TagA")
            .setKeys("key-" + body)
            .setBody(body.getBytes(StandardCharsets.UTF_8));
        extra.accept(builder);
        return builder.build();
    }

    /** Every message of {@code topic} from offset 0 over remoting, until {@code expected} arrived. */
    private List<MessageExt> pullAll(String topic, int expected, Duration wait) throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer("grpc-it-pull-" + topic + "-" + System.nanoTime());
        consumer.setNamesrvAddr(endpoint.namesrvAddress);
        consumer.setInstanceName("grpc-it-pull-" + System.nanoTime());
        consumer.setAutoCommit(false);
        consumer.setPollTimeoutMillis(500);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.start();
        try {
            consumer.assign(consumer.fetchMessageQueues(topic));
            List<MessageExt> all = new ArrayList<>();
            long deadline = System.nanoTime() + wait.toNanos();
            while (all.size() < expected && System.nanoTime() < deadline) {
                all.addAll(consumer.poll(500));
            }
            all.addAll(consumer.poll(300));
            return all;
        } finally {
            consumer.shutdown();
        }
    }

    private static String body(MessageExt message) {
        return new String(message.getBody(), StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "tls={0}")
    @ValueSource(booleans = {true, false})
    void normalMessagesArriveWithTheirIdsTagsAndKeys(boolean tls) throws Exception {
        String topic = "GrpcNormal_" + mode(tls);
        Map<String, String> idsByBody = new HashMap<>();
        try (Producer producer = producer(tls, topic)) {
            for (int i = 0; i < 5; i++) {
                String body = "normal-" + i;
                SendReceipt receipt = producer.send(message(topic, body, b -> { }));
                idsByBody.put(body, receipt.getMessageId().toString());
            }
        }
        List<MessageExt> pulled = pullAll(topic, 5, DELIVERY_WAIT);
        assertEquals(5, pulled.size(), "pulled " + pulled + "\n" + endpoint.tail(20));
        for (MessageExt message : pulled) {
            assertEquals(idsByBody.get(body(message)), message.getMsgId(), "the receipt's id is the message's UNIQ_KEY");
            assertEquals("TagA", message.getTags());
            assertEquals("key-" + body(message), message.getKeys());
        }
    }

    @ParameterizedTest(name = "tls={0}")
    @ValueSource(booleans = {true, false})
    void fifoMessagesOfOneGroupShareAQueueInSendOrder(boolean tls) throws Exception {
        String topic = "GrpcFifo_" + mode(tls);
        try (Producer producer = producer(tls, topic)) {
            for (int i = 0; i < 4; i++) {
                for (int group = 0; group < 3; group++) {
                    String messageGroup = "group-" + group;
                    producer.send(message(topic, messageGroup + ":" + i, b -> b.setMessageGroup(messageGroup)));
                }
            }
        }
        List<MessageExt> pulled = pullAll(topic, 12, DELIVERY_WAIT);
        assertEquals(12, pulled.size(), "pulled " + pulled + "\n" + endpoint.tail(20));
        Map<String, List<MessageExt>> byGroup = pulled.stream()
            .collect(Collectors.groupingBy(m -> body(m).split(":")[0]));
        for (Map.Entry<String, List<MessageExt>> group : byGroup.entrySet()) {
            List<MessageExt> messages = new ArrayList<>(group.getValue());
            messages.sort((a, b) -> Long.compare(a.getQueueOffset(), b.getQueueOffset()));
            assertEquals(1, messages.stream().map(MessageExt::getQueueId).distinct().count(),
                group.getKey() + " is spread over queues: " + messages);
            for (int i = 0; i < messages.size(); i++) {
                assertEquals(group.getKey() + ":" + i, body(messages.get(i)), "order within " + group.getKey());
                assertEquals(group.getKey(), messages.get(i).getProperty("__SHARDINGKEY"));
            }
        }
    }

    @ParameterizedTest(name = "tls={0}")
    @ValueSource(booleans = {true, false})
    void delayMessagesArriveAtTheirDeliveryTime(boolean tls) throws Exception {
        String topic = "GrpcDelay_" + mode(tls);
        long due = System.currentTimeMillis() + 5_000;
        try (Producer producer = producer(tls, topic)) {
            for (int i = 0; i < 2; i++) {
                producer.send(message(topic, "delay-" + i, b -> b.setDeliveryTimestamp(due)));
            }
        }
        List<MessageExt> early = pullAll(topic, 1, Duration.ofMillis(1_500));
        assertTrue(early.isEmpty() || System.currentTimeMillis() >= due - 1_000,
            "delivered before its time: " + early);
        List<MessageExt> pulled = pullAll(topic, 2, DELIVERY_WAIT);
        assertEquals(2, pulled.size(), "pulled " + pulled + "\n" + endpoint.tail(20));
        for (MessageExt message : pulled) {
            // Timer precision is a second on both sides.
            assertTrue(message.getStoreTimestamp() >= due - 1_000,
                "stored at " + message.getStoreTimestamp() + ", due " + due);
        }
    }

    @ParameterizedTest(name = "tls={0}")
    @ValueSource(booleans = {true, false})
    void aCommittedTransactionIsDeliveredAndARolledBackOneIsNot(boolean tls) throws Exception {
        String topic = "GrpcTx_" + mode(tls);
        ClientConfiguration configuration = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint.grpcAddress)
            .enableSsl(tls)
            .setRequestTimeout(Duration.ofSeconds(10))
            .build();
        // Both are decided at once; the checker answers only if the broker asks (it should not).
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(configuration)
            .setTopics(topic).setTransactionChecker(view -> TransactionResolution.ROLLBACK).build()) {
            Transaction committed = producer.beginTransaction();
            producer.send(message(topic, "tx-commit", b -> { }), committed);
            committed.commit();
            Transaction rolledBack = producer.beginTransaction();
            producer.send(message(topic, "tx-rollback", b -> { }), rolledBack);
            rolledBack.rollback();
        }
        List<MessageExt> pulled = pullAll(topic, 1, DELIVERY_WAIT);
        List<MessageExt> more = pullAll(topic, 2, Duration.ofSeconds(2));
        assertEquals(List.of("tx-commit"), pulled.stream().map(ProducerTest::body).collect(Collectors.toList()),
            "\n" + endpoint.tail(20));
        assertEquals(1, more.size(), "the rolled-back message was delivered: " + more);
    }

    @Test
    void anUndecidedTransactionIsCheckedAndCommittedByTheChecker() throws Exception {
        String topic = "GrpcTxChecked";
        ClientConfiguration configuration = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint.grpcAddress)
            .setRequestTimeout(Duration.ofSeconds(10))
            .build();
        java.util.concurrent.CopyOnWriteArrayList<String> checked = new java.util.concurrent.CopyOnWriteArrayList<>();
        String messageId;
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(configuration)
            .setTopics(topic).setTransactionChecker(view -> {
                checked.add(view.getMessageId().toString() + "/" + new String(toArray(view.getBody()), StandardCharsets.UTF_8));
                return TransactionResolution.COMMIT;
            }).build()) {
            Transaction undecided = producer.beginTransaction();
            messageId = producer.send(message(topic, "tx-checked", b -> { }), undecided).getMessageId().toString();
            // Neither commit nor rollback: the broker's check asks the checker over Telemetry.
            Poll.until("the broker's transaction check", DELIVERY_WAIT, () -> List.copyOf(checked), list -> !list.isEmpty());
            List<MessageExt> pulled = pullAll(topic, 1, DELIVERY_WAIT);
            assertTrue(pulled.stream().anyMatch(m -> body(m).equals("tx-checked") && m.getMsgId().equals(messageId)),
                "the checked transaction was not delivered: " + pulled + "\n" + endpoint.tail(20));
        }
        assertEquals(messageId + "/tx-checked", checked.get(0));
    }

    private static byte[] toArray(java.nio.ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }

    @ParameterizedTest(name = "tls={0}")
    @ValueSource(booleans = {true, false})
    void aProducerForAMissingTopicFailsToStartWithTopicNotFound(boolean tls) {
        Exception failure = assertThrows(Exception.class, () -> producer(tls, "GrpcMissing_" + mode(tls)).close());
        StringBuilder chain = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            chain.append(t).append('\n');
        }
        // The status message as Java's proxy words it (its MQClientException's text).
        String expected = "response-code=40402] CODE: 17  DESC: No topic route info in name server for the topic: "
            + "GrpcMissing_" + mode(tls)
            + "\nFor more information, please visit the url, https://rocketmq.apache.org/docs/bestPractice/06FAQ";
        assertTrue(chain.toString().contains(expected), "not Java's TOPIC_NOT_FOUND:\n" + chain);
    }

    @Test
    void theClientRefusesMessagesOfTheWrongTypeForTheRoute() throws Exception {
        String normal = "GrpcNormal_plain";
        String fifo = "GrpcFifo_plain";
        try (Producer producer = producer(false, normal, fifo)) {
            assertThrows(IllegalArgumentException.class,
                () -> producer.send(message(normal, "wrong-fifo", b -> b.setMessageGroup("g"))));
            assertThrows(IllegalArgumentException.class,
                () -> producer.send(message(fifo, "wrong-normal", b -> { })));
            assertThrows(IllegalArgumentException.class,
                () -> producer.send(message(normal, "wrong-delay",
                    b -> b.setDeliveryTimestamp(System.currentTimeMillis() + 60_000))));
        }
    }
}
