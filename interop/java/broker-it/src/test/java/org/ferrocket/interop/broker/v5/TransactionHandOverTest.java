package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.impl.factory.MQClientInstance;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.JavaBroker;
import org.ferrocket.interop.namesrv.support.JavaNamesrv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.ferrocket.interop.namesrv.support.Ports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The other direction of {@link TransactionTakeoverTest}: the broker under test (ours; with
 * {@code -Dbroker.impl=java} a Java broker, the reference) stores a committed, a rolled-back and
 * an UNKNOW transactional message (checked once, answered UNKNOW again) and stops; the official
 * Java 5.3.3 broker starts on its store directory, checks the UNKNOW message from the half and op
 * records it finds there, is answered COMMIT and stores it; the rolled-back message never appears.
 * Java may store a decided message again (its op records are read in batches), so only the
 * outcome is asserted, not "once".
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TransactionHandOverTest {

    private static final String TOPIC = "it-tx-handover";
    private static final String CLUSTER = BrokerUnderTest.JAVA_CLUSTER;
    private static final String BROKER_NAME = BrokerUnderTest.JAVA_BROKER_NAME;
    private static final int QUEUES = 2;
    /** As in TransactionTakeoverTest: checks every 2 s, and Java's default index geometry. */
    private static final Map<String, String> CONF = Map.of("transactionCheckInterval", "2000",
        "transactionTimeOut", "1000", "maxHashSlotNum", "5000000", "maxIndexNum", "20000000");
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);
    private static final Duration CHECK_WAIT = Duration.ofSeconds(15);
    private static final Duration TAKEOVER_WAIT = Duration.ofSeconds(90);
    private static final Duration GRACEFUL_STOP = Duration.ofSeconds(30);
    private static final Pattern BROKER_LISTENING = Pattern.compile("^listening broker (\\S+:\\d+)$");
    private static final long HEARTBEAT_EVERY_MS = 2_000;

    private Path workDir;
    private String classpath;
    private JavaNamesrv namesrv;
    private AutoCloseable predecessor;
    private JavaBroker successor;
    private DefaultMQAdminExt admin;
    private TransactionMQProducer producer;
    private final List<String> checked = new CopyOnWriteArrayList<>();
    private volatile boolean handedOver;

    @BeforeAll
    void start() throws Exception {
        workDir = InteropEnv.freshWorkDir(getClass());
        classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        namesrv = JavaNamesrv.start(classpath, workDir, BrokerFixture.SERIALIZE_TYPE);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrv.address());
        admin.setInstanceName(BrokerFixture.uniqueName("it-tx-handover-admin"));
        admin.start();
        producer = new TransactionMQProducer(BrokerFixture.uniqueName("it-tx-handover-producer"));
        producer.setNamesrvAddr(namesrv.address());
        producer.setInstanceName(BrokerFixture.uniqueName("it-tx-handover-producer"));
        producer.setSendMsgTimeout(10_000);
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return switch (body(msg)) {
                    case "commit" -> LocalTransactionState.COMMIT_MESSAGE;
                    case "rollback" -> LocalTransactionState.ROLLBACK_MESSAGE;
                    default -> LocalTransactionState.UNKNOW;
                };
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                boolean after = handedOver;
                checked.add(body(msg) + (after ? "+handover" : ""));
                if (!after) {
                    return LocalTransactionState.UNKNOW;
                }
                return body(msg).equals("rollback") ? LocalTransactionState.ROLLBACK_MESSAGE
                    : LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        producer.start();
    }

    @AfterAll
    void stop() throws Exception {
        if (producer != null) {
            producer.shutdown();
        }
        if (admin != null) {
            admin.shutdown();
        }
        if (successor != null) {
            successor.close();
        }
        if (predecessor != null) {
            predecessor.close();
        }
        if (namesrv != null) {
            namesrv.close();
        }
    }

    @Test
    void undecidedHalfMessagesOfOurStoreAreCheckedAndCommittedByJava() throws Exception {
        Path store = workDir.resolve("handed-over-store");
        String address = startPredecessor(store);
        awaitRegistered(address);
        admin.createAndUpdateTopicConfig(address, new TopicConfig(TOPIC, QUEUES, QUEUES, 6));
        awaitRoute(address);
        for (String body : List.of("commit", "rollback", "in-flight")) {
            TransactionSendResult sent = producer.sendMessageInTransaction(
                new Message(TOPIC, "TagA", body.getBytes(StandardCharsets.UTF_8)), null);
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus(), body);
        }
        Poll.until("the in-flight message checked by the first broker", CHECK_WAIT, () -> List.copyOf(checked),
            c -> c.contains("in-flight"));
        Poll.until("the committed message stored by the first broker", CHECK_WAIT, this::storedCount, n -> n >= 1);
        // Java writes its op records every 3 s; ours at once. Either way, all on disk before the stop.
        Thread.sleep(4_000);
        stopPredecessor();

        handedOver = true;
        Map<String, String> conf = new java.util.HashMap<>(CONF);
        conf.put("storePathRootDir", store.toString());
        conf.put("storePathCommitLog", store.resolve("commitlog").toString());
        successor = JavaBroker.start(classpath, workDir, namesrv.address(), CLUSTER, BROKER_NAME,
            BrokerFixture.SERIALIZE_TYPE, conf);
        String javaAddress = successor.address();
        awaitRegisteredNudged(javaAddress);
        awaitRoute(javaAddress);
        MQClientInstance client = producer.getDefaultMQProducerImpl().getMqClientFactory();
        long[] lastHeartbeat = {0};
        Poll.until("the in-flight message stored by Java after the hand-over", TAKEOVER_WAIT, () -> {
            if (System.currentTimeMillis() - lastHeartbeat[0] >= HEARTBEAT_EVERY_MS) {
                client.updateTopicRouteInfoFromNameServer(TOPIC);
                client.sendHeartbeatToAllBrokerWithLock();
                lastHeartbeat[0] = System.currentTimeMillis();
            }
            return storedCount();
        }, n -> n >= 2);
        List<String> bodies = pullAll().stream().map(TransactionHandOverTest::body).sorted().toList();
        System.out.println("TransactionHandOverTest: first broker " + BrokerUnderTest.selectedImpl()
            + ", Java after it stored " + bodies + "; checks " + checked);
        assertTrue(bodies.contains("commit") && bodies.contains("in-flight") && !bodies.contains("rollback"),
            bodies.toString());
        assertTrue(checked.contains("in-flight+handover"), "checked after the hand-over: " + checked);
    }

    /** The broker under test on {@code store}; returns its address. */
    private String startPredecessor(Path store) throws Exception {
        if (BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA) {
            Map<String, String> conf = new java.util.HashMap<>(CONF);
            conf.put("storePathRootDir", store.toString());
            conf.put("storePathCommitLog", store.resolve("commitlog").toString());
            JavaBroker first = JavaBroker.start(classpath, workDir.resolve("first"), namesrv.address(), CLUSTER,
                BROKER_NAME, BrokerFixture.SERIALIZE_TYPE, conf);
            predecessor = first;
            awaitRegisteredNudged(first.address());
            return first.address();
        }
        int port = Ports.brokerListenPort();
        Path dir = workDir.resolve("ferrocket-first");
        Files.createDirectories(dir);
        Path conf = dir.resolve("broker.conf");
        Files.writeString(conf, String.join("\n",
            "brokerClusterName=" + CLUSTER,
            "brokerName=" + BROKER_NAME,
            "brokerId=0",
            "brokerRole=ASYNC_MASTER",
            "flushDiskType=ASYNC_FLUSH",
            "namesrvAddr=" + namesrv.address(),
            "brokerIP1=127.0.0.1",
            "bindAddress=127.0.0.1",
            "listenPort=" + port,
            "storePathRootDir=" + store,
            "storePathCommitLog=" + store.resolve("commitlog"),
            "mappedFileSizeCommitLog=" + 64 * 1024 * 1024,
            "mappedFileSizeConsumeQueue=" + 30_000 * 20,
            "transactionCheckInterval=2000",
            "transactionTimeOut=1000",
            ""), StandardCharsets.UTF_8);
        ChildProcess child = ChildProcess.start("ferrocket-first",
            List.of(InteropEnv.ferrocketBinary().toString(), "broker", "-c", conf.toString(), "--grpc-port", "0"), dir,
            workDir.resolve("logs/ferrocket-first.log"),
            Map.of("FERROCKET_LOG", System.getenv().getOrDefault("FERROCKET_LOG", "info"), "NO_COLOR", "1"));
        predecessor = child;
        child.awaitStdout(BROKER_LISTENING, ROUTE_WAIT);
        return "127.0.0.1:" + port;
    }

    private void stopPredecessor() throws Exception {
        if (predecessor instanceof JavaBroker java) {
            java.stop(GRACEFUL_STOP);
        } else if (predecessor instanceof ChildProcess child) {
            child.terminate();
            child.awaitStopped(GRACEFUL_STOP);
        }
        predecessor.close();
        predecessor = null;
    }

    private void awaitRegistered(String address) throws Exception {
        if (BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA) {
            return;
        }
        Poll.until("the broker " + address + " registered", ROUTE_WAIT, admin::examineBrokerClusterInfo,
            info -> info.getBrokerAddrTable().values().stream()
                .anyMatch(data -> address.equals(data.getBrokerAddrs().get(0L))));
    }

    private void awaitRegisteredNudged(String address) throws Exception {
        java.util.function.Predicate<ClusterInfo> listed = info -> info.getBrokerAddrTable().values().stream()
            .anyMatch(data -> address.equals(data.getBrokerAddrs().get(0L)));
        try {
            Poll.until("the broker " + address + " registered", Duration.ofSeconds(3), admin::examineBrokerClusterInfo,
                listed);
        } catch (AssertionError notYet) {
            // Setting brokerPermission (to its current value) makes the Java broker register at once.
            Properties permission = new Properties();
            permission.setProperty("brokerPermission", "6");
            admin.updateBrokerConfig(address, permission);
            Poll.until("the broker " + address + " registered", ROUTE_WAIT, admin::examineBrokerClusterInfo, listed);
        }
    }

    private void awaitRoute(String address) throws InterruptedException {
        Poll.until("the route of " + TOPIC + " on " + address, ROUTE_WAIT, () -> admin.examineTopicRouteInfo(TOPIC),
            route -> route.getBrokerDatas().stream().anyMatch(b -> address.equals(b.getBrokerAddrs().get(0L)))
                && route.getQueueDatas().stream().anyMatch(q -> q.getWriteQueueNums() == QUEUES));
    }

    private long storedCount() throws Exception {
        return admin.examineTopicStats(TOPIC).getOffsetTable().values().stream()
            .mapToLong(offsets -> offsets.getMaxOffset()).sum();
    }

    private List<MessageExt> pullAll() throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(BrokerFixture.uniqueName("it-tx-handover-pull"));
        consumer.setNamesrvAddr(namesrv.address());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-tx-handover-pull"));
        consumer.setAutoCommit(false);
        consumer.setPollTimeoutMillis(500);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.start();
        try {
            consumer.assign(consumer.fetchMessageQueues(TOPIC));
            List<MessageExt> all = new ArrayList<>();
            long deadline = System.nanoTime() + BrokerFixture.DELIVERY_WAIT.toNanos();
            long expected = storedCount();
            while (all.size() < expected && System.nanoTime() < deadline) {
                all.addAll(consumer.poll(500));
            }
            all.addAll(consumer.poll(300));
            return all;
        } finally {
            consumer.shutdown();
        }
    }

    private static String body(Message message) {
        return new String(message.getBody(), StandardCharsets.UTF_8);
    }
}
