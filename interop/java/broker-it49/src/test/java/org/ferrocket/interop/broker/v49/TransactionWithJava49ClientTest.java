package org.ferrocket.interop.broker.v49;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The official 4.9.8 {@code TransactionMQProducer} (ROCKETMQ binary headers): a COMMIT is
 * delivered once, a ROLLBACK never, and an UNKNOW is checked back by the broker
 * (CHECK_TRANSACTION_STATE), committed by the checker and delivered once. The check loop runs
 * every 2 s and checks messages older than 1 s, so the check arrives within a few seconds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TransactionWithJava49ClientTest {

    private static final String TOPIC = "it49-transactions";
    private static final int QUEUES = 2;
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);
    /** Timeout (1 s) plus two check intervals (2 s each), with margin for 2 loaded cores. */
    private static final Duration CHECK_WAIT = Duration.ofSeconds(15);
    /** Long enough for a few check rounds after every delivery arrived. */
    private static final Duration QUIET = Duration.ofSeconds(6);

    private BrokerUnderTest broker;
    private DefaultMQAdminExt admin;
    private TransactionMQProducer producer;
    private DefaultMQPushConsumer consumer;
    private final List<String> checked = new CopyOnWriteArrayList<>();
    /** Body -> System.nanoTime() of its first check. */
    private final Map<String, Long> firstCheckedNanos = new ConcurrentHashMap<>();

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(getClass());
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        broker = BrokerUnderTest.start(workDir, classpath, "ROCKETMQ",
            Map.of("transactionCheckInterval", "2000", "transactionTimeOut", "1000"));
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(broker.namesrvAddress());
        admin.setInstanceName(uniqueName("it49-tx-admin"));
        admin.start();
        awaitRegistered();
        producer = new TransactionMQProducer(uniqueName("it49-tx-producer"));
        producer.setNamesrvAddr(broker.namesrvAddress());
        producer.setInstanceName(uniqueName("it49-tx-producer"));
        producer.setSendMsgTimeout(10_000);
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                switch (new String(msg.getBody(), StandardCharsets.UTF_8)) {
                    case "commit":
                        return LocalTransactionState.COMMIT_MESSAGE;
                    case "rollback":
                        return LocalTransactionState.ROLLBACK_MESSAGE;
                    default:
                        return LocalTransactionState.UNKNOW;
                }
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                String body = new String(msg.getBody(), StandardCharsets.UTF_8);
                checked.add(body);
                firstCheckedNanos.putIfAbsent(body, System.nanoTime());
                return body.equals("rollback") ? LocalTransactionState.ROLLBACK_MESSAGE
                    : LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        producer.start();
    }

    @AfterAll
    void stop() throws Exception {
        if (consumer != null) {
            consumer.shutdown();
        }
        if (producer != null) {
            producer.shutdown();
        }
        if (admin != null) {
            admin.shutdown();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void commitRollbackAndUnknownThenCommitOnCheck() throws Exception {
        createTopic(TOPIC);
        List<String> delivered = new CopyOnWriteArrayList<>();
        consumer = new DefaultMQPushConsumer(uniqueName("it49-tx-group"));
        consumer.setNamesrvAddr(broker.namesrvAddress());
        consumer.setInstanceName(uniqueName("it49-tx-consumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(m -> delivered.add(new String(m.getBody(), StandardCharsets.UTF_8)));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();

        long unknownSentNanos = 0;
        for (String body : List.of("commit", "rollback", "unknown")) {
            unknownSentNanos = System.nanoTime();
            TransactionSendResult sent = producer.sendMessageInTransaction(
                new Message(TOPIC, "TagA", body.getBytes(StandardCharsets.UTF_8)), null);
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus(), body);
        }
        Poll.until("the UNKNOW message checked", CHECK_WAIT, () -> List.copyOf(checked), c -> c.contains("unknown"));
        long checkAfterMs = TimeUnit.NANOSECONDS.toMillis(firstCheckedNanos.get("unknown") - unknownSentNanos);
        Poll.until("the committed and the checked message", Duration.ofSeconds(60),
            () -> List.copyOf(delivered), d -> d.contains("commit") && d.contains("unknown"));
        Thread.sleep(QUIET.toMillis());
        System.out.println("TransactionWithJava49ClientTest: broker " + broker.impl() + " delivered " + delivered
            + " checks " + checked + ", first check of the UNKNOW message " + checkAfterMs + " ms after its send");
        assertTrue(!delivered.contains("rollback"), "the rolled-back message is never delivered: " + delivered);
        if (broker.impl() == BrokerUnderTest.Impl.JAVA) {
            // Java 5.3.3 writes its op records in batches (transactionOpBatchInterval) and so may
            // check, and deliver again, messages already decided; we do better.
            return;
        }
        assertEquals(List.of("commit", "unknown"), delivered.stream().sorted().toList(),
            "delivered once each\n" + broker.brokerTail(20));
        assertTrue(checked.stream().allMatch("unknown"::equals), "only the UNKNOW message is checked: " + checked);
    }

    private void createTopic(String topic) throws Exception {
        admin.createAndUpdateTopicConfig(broker.brokerAddress(), new TopicConfig(topic, QUEUES, QUEUES, 6));
        Poll.until("the route of " + topic, ROUTE_WAIT, () -> admin.examineTopicRouteInfo(topic),
            (TopicRouteData route) -> route.getQueueDatas().stream().anyMatch(q -> q.getWriteQueueNums() == QUEUES));
    }

    private void awaitRegistered() throws Exception {
        Predicate<ClusterInfo> listed = info -> info.getBrokerAddrTable().values().stream()
            .anyMatch(data -> broker.brokerAddress().equals(data.getBrokerAddrs().get(0L)));
        if (broker.impl() == BrokerUnderTest.Impl.FERROCKET) {
            Poll.until("the broker registered", ROUTE_WAIT, admin::examineBrokerClusterInfo, listed);
            return;
        }
        try {
            Poll.until("the broker registered", Duration.ofSeconds(3), admin::examineBrokerClusterInfo, listed);
        } catch (AssertionError notYet) {
            // Setting brokerPermission (to its current value) makes the Java broker register at once.
            Properties permission = new Properties();
            permission.setProperty("brokerPermission", "6");
            admin.updateBrokerConfig(broker.brokerAddress(), permission);
            Poll.until("the broker registered", ROUTE_WAIT, admin::examineBrokerClusterInfo, listed);
        }
    }

    private static String uniqueName(String prefix) {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100_000;
    }
}
