package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.QueueData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.MqAdmin;
import org.ferrocket.interop.namesrv.support.Poll;

/**
 * One broker under test (ours or, with {@code -Dbroker.impl=java}, the official one) with its name
 * server, an admin client and mqadmin, for one test class. The broker's cluster and name are read
 * from the name server once it registered, so the tests assume nothing about our defaults.
 */
final class BrokerFixture implements AutoCloseable {

    /** JSON headers everywhere here (Java's default); broker-it49 runs with ROCKETMQ binary headers. */
    static final String SERIALIZE_TYPE = "JSON";

    /** Registration and route changes take a round trip or two; the rest is margin for 2 loaded cores. */
    static final Duration ROUTE_WAIT = Duration.ofSeconds(30);

    /** Delivery of a few hundred messages on loopback; the margin is for 2 loaded cores. */
    static final Duration DELIVERY_WAIT = Duration.ofSeconds(30);

    /**
     * A 5.3.3 broker may skip its start-up registration (see NamesrvWithJavaBrokerTest); after this
     * long the fixture asks it to register at once. Ours must register on its own within ROUTE_WAIT.
     */
    private static final Duration STARTUP_REGISTRATION_WAIT = Duration.ofSeconds(3);

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    final Path workDir;
    final String classpath;
    final BrokerUnderTest broker;
    final DefaultMQAdminExt admin;
    final MqAdmin mqadmin;
    final String clusterName;
    final String brokerName;
    /** Whether the fixture's clients (admin, producers, consumers) use TLS: {@code setUseTLS}. */
    final boolean clientTls;

    private BrokerFixture(Path workDir, String classpath, BrokerUnderTest broker, DefaultMQAdminExt admin,
                          MqAdmin mqadmin, String clusterName, String brokerName, boolean clientTls) {
        this.workDir = workDir;
        this.classpath = classpath;
        this.broker = broker;
        this.admin = admin;
        this.mqadmin = mqadmin;
        this.clusterName = clusterName;
        this.brokerName = brokerName;
        this.clientTls = clientTls;
    }

    static BrokerFixture start(Class<?> testClass, Map<String, String> brokerConf) throws Exception {
        return start(testClass, brokerConf, Map.of(), false);
    }

    /**
     * As above, with Java system properties for both servers ({@code tls.server.mode}, say) and,
     * with {@code clientTls}, clients that connect over TLS.
     */
    static BrokerFixture start(Class<?> testClass, Map<String, String> brokerConf, Map<String, String> systemProperties,
                               boolean clientTls) throws Exception {
        return start(testClass, brokerConf, systemProperties, clientTls, null);
    }

    /** As above, with the admin client signing its requests with {@code adminHook} (ACL on the broker). */
    static BrokerFixture start(Class<?> testClass, Map<String, String> brokerConf, Map<String, String> systemProperties,
                               boolean clientTls, org.apache.rocketmq.remoting.RPCHook adminHook) throws Exception {
        Path workDir = InteropEnv.freshWorkDir(testClass);
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        BrokerUnderTest broker = BrokerUnderTest.start(workDir, classpath, SERIALIZE_TYPE, brokerConf, systemProperties);
        return around(workDir, classpath, broker, clientTls, adminHook);
    }

    /**
     * The official Java pair whatever {@code -Dbroker.impl} says, as a reference running beside the
     * broker under test; {@code marker} names its work directory.
     */
    static BrokerFixture startJavaReference(Class<?> marker, Map<String, String> brokerConf) throws Exception {
        Path workDir = InteropEnv.freshWorkDir(marker);
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        BrokerUnderTest broker = BrokerUnderTest.startJavaReference(workDir, classpath, SERIALIZE_TYPE, brokerConf);
        return around(workDir, classpath, broker, false, null);
    }

    private static BrokerFixture around(Path workDir, String classpath, BrokerUnderTest broker, boolean clientTls,
                                        org.apache.rocketmq.remoting.RPCHook adminHook) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt(adminHook);
        admin.setUseTLS(clientTls);
        try {
            admin.setNamesrvAddr(broker.namesrvAddress());
            admin.setInstanceName(uniqueName("it-admin"));
            admin.start();
            ClusterInfo info = awaitRegistered(broker, admin);
            String brokerName = null;
            for (BrokerData data : info.getBrokerAddrTable().values()) {
                if (broker.brokerAddress().equals(data.getBrokerAddrs().get(0L))) {
                    brokerName = data.getBrokerName();
                }
            }
            String clusterName = null;
            for (Map.Entry<String, java.util.Set<String>> cluster : info.getClusterAddrTable().entrySet()) {
                if (cluster.getValue().contains(brokerName)) {
                    clusterName = cluster.getKey();
                }
            }
            assertTrue(brokerName != null && clusterName != null, "broker not in cluster info: " + info.toJson());
            MqAdmin mqadmin = new MqAdmin(classpath, workDir, broker.namesrvAddress(), SERIALIZE_TYPE);
            return new BrokerFixture(workDir, classpath, broker, admin, mqadmin, clusterName, brokerName, clientTls);
        } catch (Exception | Error e) {
            admin.shutdown();
            broker.close();
            throw e;
        }
    }

    static ClusterInfo awaitRegistered(BrokerUnderTest broker, DefaultMQAdminExt admin) throws Exception {
        String what = "the broker " + broker.brokerAddress() + " is registered as master";
        java.util.function.Predicate<ClusterInfo> listed = info -> info.getBrokerAddrTable().values().stream()
            .anyMatch(data -> broker.brokerAddress().equals(data.getBrokerAddrs().get(0L)));
        if (broker.impl() == BrokerUnderTest.Impl.FERROCKET) {
            return Poll.until(what, ROUTE_WAIT, admin::examineBrokerClusterInfo, listed);
        }
        try {
            return Poll.until(what, STARTUP_REGISTRATION_WAIT, admin::examineBrokerClusterInfo, listed);
        } catch (AssertionError notYet) {
            // Setting brokerPermission (to its current value) makes the Java broker register at once.
            Properties permission = new Properties();
            permission.setProperty("brokerPermission", "6");
            admin.updateBrokerConfig(broker.brokerAddress(), permission);
            return Poll.until(what, ROUTE_WAIT, admin::examineBrokerClusterInfo, listed);
        }
    }

    static String uniqueName(String prefix) {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + INSTANCES.incrementAndGet();
    }

    /** Creates {@code topic} on the broker (UPDATE_AND_CREATE_TOPIC) and waits until its route shows it. */
    TopicRouteData createTopic(String topic, int queues) throws Exception {
        admin.createAndUpdateTopicConfig(broker.brokerAddress(), new TopicConfig(topic, queues, queues, 6));
        return awaitRoute(topic, queues);
    }

    TopicRouteData awaitRoute(String topic, int queues) throws InterruptedException {
        return Poll.until("the route of " + topic + " has " + queues + " queues on " + brokerName, ROUTE_WAIT,
            () -> admin.examineTopicRouteInfo(topic),
            route -> route.getQueueDatas().stream().anyMatch(q -> q.getBrokerName().equals(brokerName)
                && q.getWriteQueueNums() == queues && q.getReadQueueNums() == queues));
    }

    static QueueData queueDataOf(TopicRouteData route, String brokerName) {
        return route.getQueueDatas().stream().filter(q -> q.getBrokerName().equals(brokerName)).findFirst()
            .orElseThrow(() -> new AssertionError("no queue data for " + brokerName + " in " + route.toJson()));
    }

    DefaultMQProducer startProducer(String group) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(group);
        producer.setNamesrvAddr(broker.namesrvAddress());
        producer.setInstanceName(uniqueName(group));
        producer.setSendMsgTimeout(10_000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.setUseTLS(clientTls);
        producer.start();
        return producer;
    }

    /**
     * Reads every message of {@code topic} from offset 0 with a lite pull consumer assigned all
     * queues, until {@code expected} arrived (fails after DELIVERY_WAIT) and a further short pull
     * brings nothing more.
     */
    List<MessageExt> pullAll(String topic, int expected) throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(uniqueName("it-pull-all"));
        consumer.setNamesrvAddr(broker.namesrvAddress());
        consumer.setInstanceName(uniqueName("it-pull-all"));
        consumer.setAutoCommit(false);
        consumer.setPollTimeoutMillis(500);
        consumer.setUseTLS(clientTls);
        consumer.setConsumeFromWhere(org.apache.rocketmq.common.consumer.ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.start();
        try {
            // A fresh group starts at 0 (no committed offset; Java's rule for messages still in memory,
            // else CONSUME_FROM_FIRST_OFFSET). Not seek(0): it races with the pull that assign() starts
            // and can hand out messages twice.
            consumer.assign(consumer.fetchMessageQueues(topic));
            List<MessageExt> all = new ArrayList<>();
            long deadline = System.nanoTime() + DELIVERY_WAIT.toNanos();
            while (all.size() < expected && System.nanoTime() < deadline) {
                all.addAll(consumer.poll(500));
            }
            all.addAll(consumer.poll(300));
            assertTrue(all.size() == expected, "pulled " + all.size() + " messages of " + topic + ", expected "
                + expected + "; queue:offset pulled more than once: " + repeated(all) + "\n" + broker.brokerTail(20));
            return all;
        } finally {
            consumer.shutdown();
        }
    }

    /** {@code queueId:queueOffset} of every message that appears more than once, for failure messages. */
    static List<String> repeated(List<MessageExt> messages) {
        Map<String, Long> counts = messages.stream().collect(java.util.stream.Collectors.groupingBy(
            m -> m.getQueueId() + ":" + m.getQueueOffset(), java.util.TreeMap::new, java.util.stream.Collectors.counting()));
        return counts.entrySet().stream().filter(e -> e.getValue() > 1).map(e -> e.getKey() + "x" + e.getValue()).toList();
    }

    @Override
    public void close() throws Exception {
        try {
            admin.shutdown();
        } finally {
            broker.close();
        }
    }
}
