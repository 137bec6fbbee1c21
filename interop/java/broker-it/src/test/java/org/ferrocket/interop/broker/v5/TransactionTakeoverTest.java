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
 * Transactions in flight when a broker takes over a Java broker's store: the official 5.3.3
 * broker stores a committed, a rolled-back and an UNKNOW transactional message (checked once,
 * answered UNKNOW again) and stops; the broker under test (ours, or with
 * {@code -Dbroker.impl=java} a Java broker again, the reference) starts on the same store
 * directory, checks the UNKNOW message, is answered COMMIT and stores it in its topic. Ours also
 * stores each message once and checks nothing the Java broker already decided.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TransactionTakeoverTest {

    private static final String TOPIC = "it-tx-takeover";
    private static final String CLUSTER = BrokerUnderTest.JAVA_CLUSTER;
    private static final String BROKER_NAME = BrokerUnderTest.JAVA_BROKER_NAME;
    private static final int QUEUES = 2;
    /**
     * The check loop every 2 s for messages older than 1 s, and Java's default index geometry
     * (JavaBroker shrinks it; ours reads index files in the default one).
     */
    private static final Map<String, String> CONF = Map.of("transactionCheckInterval", "2000",
        "transactionTimeOut", "1000", "maxHashSlotNum", "5000000", "maxIndexNum", "20000000");
    /** Java writes op records in batches every transactionOpBatchInterval (3 s by default). */
    private static final Duration OP_BATCH_WAIT = Duration.ofSeconds(4);
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);
    private static final Duration CHECK_WAIT = Duration.ofSeconds(15);
    private static final Duration TAKEOVER_WAIT = Duration.ofSeconds(60);
    private static final Duration QUIET = Duration.ofSeconds(6);
    private static final Duration GRACEFUL_STOP = Duration.ofSeconds(30);
    private static final Pattern BROKER_LISTENING = Pattern.compile("^listening broker (\\S+:\\d+)$");
    private static final long HEARTBEAT_EVERY_MS = 2_000;

    private Path workDir;
    private String classpath;
    private JavaNamesrv namesrv;
    private JavaBroker javaBroker;
    private AutoCloseable successor;
    private DefaultMQAdminExt admin;
    private TransactionMQProducer producer;
    /** Bodies the checker was asked about, with "+takeover" once the successor started. */
    private final List<String> checked = new CopyOnWriteArrayList<>();
    private volatile boolean takenOver;

    @BeforeAll
    void start() throws Exception {
        workDir = InteropEnv.freshWorkDir(getClass());
        classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        namesrv = JavaNamesrv.start(classpath, workDir, BrokerFixture.SERIALIZE_TYPE);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrv.address());
        admin.setInstanceName(BrokerFixture.uniqueName("it-tx-takeover-admin"));
        admin.start();
        producer = new TransactionMQProducer(BrokerFixture.uniqueName("it-tx-takeover-producer"));
        producer.setNamesrvAddr(namesrv.address());
        producer.setInstanceName(BrokerFixture.uniqueName("it-tx-takeover-producer"));
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
                boolean after = takenOver;
                checked.add(body(msg) + (after ? "+takeover" : ""));
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
        if (javaBroker != null) {
            javaBroker.close();
        }
        if (namesrv != null) {
            namesrv.close();
        }
    }

    @Test
    void undecidedHalfMessagesOfAJavaStoreAreCheckedAndCommittedOnce() throws Exception {
        javaBroker = JavaBroker.start(classpath, workDir, namesrv.address(), CLUSTER, BROKER_NAME,
            BrokerFixture.SERIALIZE_TYPE, CONF);
        awaitRegistered(javaBroker.address(), true);
        admin.createAndUpdateTopicConfig(javaBroker.address(), new TopicConfig(TOPIC, QUEUES, QUEUES, 6));
        awaitRoute(javaBroker.address());
        for (String body : List.of("commit", "rollback", "in-flight")) {
            TransactionSendResult sent = producer.sendMessageInTransaction(
                new Message(TOPIC, "TagA", body.getBytes(StandardCharsets.UTF_8)), null);
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus(), body);
        }
        Poll.until("the in-flight message checked by the Java broker", CHECK_WAIT, () -> List.copyOf(checked),
            c -> c.contains("in-flight"));
        Poll.until("the committed message stored by the Java broker", CHECK_WAIT, this::storedCount, n -> n >= 1);
        Thread.sleep(OP_BATCH_WAIT.toMillis());
        javaBroker.stop(GRACEFUL_STOP);
        javaBroker.close();
        javaBroker = null;
        List<String> checkedByJava = List.copyOf(checked);

        takenOver = true;
        long startedNanos = System.nanoTime();
        String address = startSuccessor();
        awaitRegistered(address, BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA);
        awaitRoute(address);
        MQClientInstance client = producer.getDefaultMQProducerImpl().getMqClientFactory();
        long[] lastHeartbeat = {0};
        Poll.until("the in-flight message stored after the takeover", TAKEOVER_WAIT, () -> {
            if (System.currentTimeMillis() - lastHeartbeat[0] >= HEARTBEAT_EVERY_MS) {
                // The successor (on a new port) knows the producer only from a heartbeat.
                client.updateTopicRouteInfoFromNameServer(TOPIC);
                client.sendHeartbeatToAllBrokerWithLock();
                lastHeartbeat[0] = System.currentTimeMillis();
            }
            return storedCount();
        }, n -> n >= 2);
        long committedAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
        Thread.sleep(QUIET.toMillis());

        List<String> bodies = pullAll((int) storedCount()).stream().map(TransactionTakeoverTest::body).sorted().toList();
        List<String> checkedBySuccessor = checked.subList(checkedByJava.size(), checked.size());
        System.out.println("TransactionTakeoverTest: successor " + BrokerUnderTest.selectedImpl() + " stored "
            + bodies + "; checks by Java " + checkedByJava + ", by the successor " + checkedBySuccessor
            + "; in-flight message committed " + committedAfterMs + " ms after the successor was started");
        assertTrue(bodies.contains("commit") && bodies.contains("in-flight") && !bodies.contains("rollback"),
            bodies.toString());
        assertTrue(checkedBySuccessor.contains("in-flight+takeover"), "checked after the takeover: " + checked);
        if (BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA) {
            // Java 5.3.3 checks, and may store again, messages already decided (its op records
            // are written in batches); we do better.
            return;
        }
        assertEquals(List.of("commit", "in-flight"), bodies, "stored once each");
        assertEquals(List.of("in-flight+takeover"), checkedBySuccessor,
            "ours checks only the undecided message, once: " + checked);
    }

    /** The selected broker on the Java broker's store directory and settings; returns its address. */
    private String startSuccessor() throws Exception {
        if (BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA) {
            JavaBroker again = JavaBroker.start(classpath, workDir, namesrv.address(), CLUSTER, BROKER_NAME,
                BrokerFixture.SERIALIZE_TYPE, CONF);
            successor = again;
            return again.address();
        }
        // Where JavaBroker keeps its store, and the geometry it gives it.
        Path store = workDir.resolve("broker-" + BROKER_NAME).resolve("store");
        assertTrue(Files.isDirectory(store.resolve("commitlog")), "no Java store at " + store);
        int port = Ports.brokerListenPort();
        Path dir = workDir.resolve("ferrocket-successor");
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
        ChildProcess child = ChildProcess.start("ferrocket-successor",
            List.of(InteropEnv.ferrocketBinary().toString(), "broker", "-c", conf.toString(), "--grpc-port", "0"), dir,
            workDir.resolve("logs/ferrocket-successor.log"),
            Map.of("FERROCKET_LOG", System.getenv().getOrDefault("FERROCKET_LOG", "info"), "NO_COLOR", "1"));
        successor = child;
        child.awaitStdout(BROKER_LISTENING, ROUTE_WAIT);
        return "127.0.0.1:" + port;
    }

    private void awaitRegistered(String address, boolean nudge) throws Exception {
        java.util.function.Predicate<ClusterInfo> listed = info -> info.getBrokerAddrTable().values().stream()
            .anyMatch(data -> address.equals(data.getBrokerAddrs().get(0L)));
        if (!nudge) {
            Poll.until("the broker " + address + " registered", ROUTE_WAIT, admin::examineBrokerClusterInfo, listed);
            return;
        }
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

    /** Messages in the topic, from the queues' max offsets (what any consumer group would get). */
    private long storedCount() throws Exception {
        return admin.examineTopicStats(TOPIC).getOffsetTable().values().stream()
            .mapToLong(offsets -> offsets.getMaxOffset()).sum();
    }

    /** Every message of the topic from offset 0, by a fresh lite pull consumer. */
    private List<MessageExt> pullAll(int expected) throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(BrokerFixture.uniqueName("it-tx-takeover-pull"));
        consumer.setNamesrvAddr(namesrv.address());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-tx-takeover-pull"));
        consumer.setAutoCommit(false);
        consumer.setPollTimeoutMillis(500);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.start();
        try {
            consumer.assign(consumer.fetchMessageQueues(TOPIC));
            List<MessageExt> all = new ArrayList<>();
            long deadline = System.nanoTime() + BrokerFixture.DELIVERY_WAIT.toNanos();
            while (all.size() < expected && System.nanoTime() < deadline) {
                all.addAll(consumer.poll(500));
            }
            all.addAll(consumer.poll(300));
            assertEquals(expected, all.size(), "pulled messages of " + TOPIC);
            return all;
        } finally {
            consumer.shutdown();
        }
    }

    private static String body(Message message) {
        return new String(message.getBody(), StandardCharsets.UTF_8);
    }
}
