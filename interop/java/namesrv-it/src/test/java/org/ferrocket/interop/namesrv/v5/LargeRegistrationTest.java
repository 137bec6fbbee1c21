package org.ferrocket.interop.namesrv.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.DataVersion;
import org.apache.rocketmq.remoting.protocol.body.TopicConfigSerializeWrapper;
import org.apache.rocketmq.remoting.protocol.route.QueueData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.FerrocketNamesrv;
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
 * Large topic tables registering across implementations (issue 11, item 4): split registration
 * ({@code enableSplitRegistration}, {@code splitRegistrationSize}) and compressed registration
 * ({@code compressedRegister}), from the official Java 5.3.3 broker and from ours, with a name
 * server chosen by {@code -Dnamesrv.impl=java|ferrocket} (ours when unset). Every test is run
 * against the official Java name server first: one that fails there is wrong, not our server. Our
 * broker against the Java name server is the other direction of interoperability.
 *
 * <p>Each broker starts with its topics already in {@code config/topics.json}, as a broker that
 * created them would have; every topic must then be routed by the name server.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class LargeRegistrationTest {

    private static final String CLUSTER = "ItLargeCluster";
    private static final String SERIALIZE_TYPE = "JSON";

    /** Enough topics for twenty batches of {@link #SPLIT_SIZE}. */
    private static final int SPLIT_TOPICS = 2_000;
    private static final int SPLIT_SIZE = 100;
    /** Topics of 127 characters whose JSON body (19.9 MB) is over the 16 MiB frame limit. */
    private static final int LARGE_TOPICS = 49_900;

    /** Batches of a large table take seconds to encode, send and merge on a loaded 2-core machine. */
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(120);
    /** How long a broker is given to show up where it cannot (Java's name server, a compressed body). */
    private static final Duration NEVER_WAIT = Duration.ofSeconds(20);
    private static final Duration FERROCKET_STARTUP_TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern BROKER_LISTENING = Pattern.compile("^listening broker (\\S+:\\d+)$");
    private static final int PERM_READ_WRITE = 6;

    private Path workDir;
    private String classpath;
    private String namesrvAddress;
    private AutoCloseable namesrv;
    private DefaultMQAdminExt admin;

    /** {@code -Dnamesrv.impl=java|ferrocket}; ferrocket when unset. */
    private static boolean javaNamesrv() {
        String value = System.getProperty("namesrv.impl", "ferrocket").trim();
        return switch (value.isEmpty() ? "ferrocket" : value) {
            case "ferrocket" -> false;
            case "java" -> true;
            default -> throw new IllegalStateException("namesrv.impl must be ferrocket or java, not " + value);
        };
    }

    @BeforeAll
    void startNameServer() throws Exception {
        workDir = InteropEnv.freshWorkDir(getClass());
        classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        if (javaNamesrv()) {
            JavaNamesrv java = JavaNamesrv.start(classpath, workDir, SERIALIZE_TYPE);
            namesrv = java;
            namesrvAddress = java.address();
        } else {
            FerrocketNamesrv ours = FerrocketNamesrv.start(workDir);
            namesrv = ours;
            namesrvAddress = ours.address();
        }
        admin = new DefaultMQAdminExt(10_000);
        admin.setNamesrvAddr(namesrvAddress);
        admin.setInstanceName("it-large-admin-" + System.nanoTime());
        admin.start();
    }

    @AfterAll
    void stopNameServer() throws Exception {
        try {
            if (admin != null) {
                admin.shutdown();
            }
        } finally {
            if (namesrv != null) {
                namesrv.close();
            }
        }
    }

    @Test
    void javaBrokerWithSplitRegistration() throws Exception {
        String broker = "java-split";
        List<String> topics = topicNames(broker, SPLIT_TOPICS, false);
        writeTopics(workDir.resolve("broker-" + broker).resolve("store"), topics);
        try (JavaBroker java = JavaBroker.start(classpath, workDir, namesrvAddress, CLUSTER, broker, SERIALIZE_TYPE,
            Map.of("enableSplitRegistration", "true", "splitRegistrationSize", Integer.toString(SPLIT_SIZE)))) {
            awaitAllRouted(broker, topics, () -> nudge(java.address()));
        }
    }

    @Test
    void ferrocketBrokerWithSplitRegistration() throws Exception {
        String broker = "ferrocket-split";
        List<String> topics = topicNames(broker, SPLIT_TOPICS, false);
        try (ChildProcess ours = startFerrocketBroker(broker, topics,
            Map.of("enableSplitRegistration", "true", "splitRegistrationSize", Integer.toString(SPLIT_SIZE)))) {
            awaitAllRouted(broker, topics, () -> { });
            assertTrue(ours.isAlive());
        }
    }

    /** No setting at all: our broker splits a table that does not fit one frame by itself. */
    @Test
    void ferrocketBrokerWithATableOverTheFrameLimit() throws Exception {
        String broker = "ferrocket-large";
        List<String> topics = topicNames(broker, LARGE_TOPICS, true);
        try (ChildProcess ours = startFerrocketBroker(broker, topics, Map.of())) {
            awaitAllRouted(broker, topics, () -> { });
            assertTrue(ours.isAlive());
        }
    }

    /** Our broker writes {@code compressed=true} over a compressed body, which Java's name server reads. */
    @Test
    void ferrocketBrokerWithCompressedRegistration() throws Exception {
        String broker = "ferrocket-zip";
        List<String> topics = topicNames(broker, LARGE_TOPICS, true);
        try (ChildProcess ours = startFerrocketBroker(broker, topics, Map.of("compressedRegister", "true"))) {
            awaitAllRouted(broker, topics, () -> { });
            assertTrue(ours.isAlive());
        }
    }

    /**
     * A 5.3.3 Java broker compresses its body but writes {@code compressed=false}: Java's own name
     * server then cannot read it and the broker never registers; ours recognises the zlib stream.
     */
    @Test
    void javaBrokerWithCompressedRegistration() throws Exception {
        String broker = "java-zip";
        List<String> topics = topicNames(broker, SPLIT_TOPICS, false);
        writeTopics(workDir.resolve("broker-" + broker).resolve("store"), topics);
        try (JavaBroker java = JavaBroker.start(classpath, workDir, namesrvAddress, CLUSTER, broker, SERIALIZE_TYPE,
            Map.of("compressedRegister", "true"))) {
            if (javaNamesrv()) {
                nudge(java.address());
                Thread.sleep(NEVER_WAIT.toMillis());
                assertFalse(admin.examineBrokerClusterInfo().getBrokerAddrTable().containsKey(broker),
                    "Java's name server read a body flagged uncompressed that was compressed");
            } else {
                awaitAllRouted(broker, topics, () -> nudge(java.address()));
            }
        }
    }

    /** {@code <broker>-000042-} (padded with {@code x} to 127 characters when {@code long}). */
    private static List<String> topicNames(String broker, int count, boolean longNames) {
        List<String> names = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            StringBuilder name = new StringBuilder(String.format("%s-%06d-", broker, i));
            while (longNames && name.length() < 127) {
                name.append('x');
            }
            names.add(name.toString());
        }
        return names;
    }

    /** Writes {@code config/topics.json} under {@code storeRoot}, as Java's TopicConfigManager persists it. */
    private static void writeTopics(Path storeRoot, List<String> topics) throws IOException {
        TopicConfigSerializeWrapper wrapper = new TopicConfigSerializeWrapper();
        ConcurrentHashMap<String, TopicConfig> table = new ConcurrentHashMap<>();
        for (String topic : topics) {
            table.put(topic, new TopicConfig(topic, 4, 4, PERM_READ_WRITE));
        }
        wrapper.setTopicConfigTable(table);
        DataVersion version = new DataVersion();
        version.nextVersion();
        wrapper.setDataVersion(version);
        Path config = storeRoot.resolve("config");
        Files.createDirectories(config);
        Files.writeString(config.resolve("topics.json"), wrapper.toJson(), StandardCharsets.UTF_8);
    }

    /** {@code ferrocket broker -c broker.conf} registering with the name server under test. */
    private ChildProcess startFerrocketBroker(String broker, List<String> topics, Map<String, String> extra)
        throws IOException, InterruptedException {
        Path dir = workDir.resolve("ferrocket-" + broker);
        Path store = dir.resolve("store");
        writeTopics(store, topics);
        int port = Ports.brokerListenPort();
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("brokerClusterName", CLUSTER);
        conf.put("brokerName", broker);
        conf.put("brokerId", "0");
        conf.put("brokerRole", "ASYNC_MASTER");
        conf.put("flushDiskType", "ASYNC_FLUSH");
        conf.put("namesrvAddr", namesrvAddress);
        conf.put("brokerIP1", "127.0.0.1");
        conf.put("bindAddress", "127.0.0.1");
        conf.put("listenPort", Integer.toString(port));
        conf.put("storePathRootDir", store.toString());
        conf.put("storePathCommitLog", store.resolve("commitlog").toString());
        conf.put("mappedFileSizeCommitLog", Integer.toString(64 * 1024 * 1024));
        conf.putAll(extra);
        StringBuilder text = new StringBuilder();
        conf.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        Path confFile = dir.resolve("broker.conf");
        Files.writeString(confFile, text.toString(), StandardCharsets.UTF_8);
        Map<String, String> env = Map.of("FERROCKET_LOG", System.getenv().getOrDefault("FERROCKET_LOG", "info"),
            "NO_COLOR", "1");
        ChildProcess child = ChildProcess.start("ferrocket-broker-" + broker,
            List.of(InteropEnv.ferrocketBinary().toString(), "broker", "-c", confFile.toString(), "--grpc-port", "0"), dir,
            workDir.resolve("logs/ferrocket-broker-" + broker + ".log"), env);
        try {
            child.awaitStdout(BROKER_LISTENING, FERROCKET_STARTUP_TIMEOUT);
            return child;
        } catch (InterruptedException | RuntimeException | Error e) {
            child.close();
            throw e;
        }
    }

    /**
     * Waits until the name server routes every one of {@code topics} to {@code broker}: the cluster's
     * topic list holds them all, and a sample of routes names the broker with its queues. A Java
     * broker may skip its start-up registration (see NamesrvWithJavaBrokerTest); {@code nudge} then
     * makes it register at once.
     */
    private void awaitAllRouted(String broker, List<String> topics, Nudge nudge) throws Exception {
        Set<String> wanted = new HashSet<>(topics);
        long nudgeAt = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        boolean nudged = false;
        long deadline = System.nanoTime() + ROUTE_WAIT.toNanos();
        int missing = wanted.size();
        while (System.nanoTime() < deadline) {
            Set<String> listed = new HashSet<>(admin.fetchTopicsByCLuster(CLUSTER).getTopicList());
            missing = (int) wanted.stream().filter(topic -> !listed.contains(topic)).count();
            if (missing == 0) {
                break;
            }
            if (!nudged && System.nanoTime() > nudgeAt) {
                nudge.run();
                nudged = true;
            }
            Thread.sleep(500);
        }
        assertEquals(0, missing, missing + " of " + wanted.size() + " topics of " + broker + " have no route");
        for (String topic : List.of(topics.get(0), topics.get(topics.size() / 2), topics.get(topics.size() - 1))) {
            TopicRouteData route = Poll.until(topic + " has a route", ROUTE_WAIT, () -> admin.examineTopicRouteInfo(topic),
                r -> !r.getQueueDatas().isEmpty());
            QueueData queues = route.getQueueDatas().get(0);
            assertEquals(broker, queues.getBrokerName(), route.toJson());
            assertEquals(4, queues.getWriteQueueNums(), route.toJson());
            assertEquals(PERM_READ_WRITE, queues.getPerm(), route.toJson());
        }
    }

    /** Setting brokerPermission (to its current value) makes a Java broker register at once. */
    private void nudge(String brokerAddress) throws Exception {
        Properties permission = new Properties();
        permission.setProperty("brokerPermission", Integer.toString(PERM_READ_WRITE));
        admin.updateBrokerConfig(brokerAddress, permission);
    }

    private interface Nudge {
        void run() throws Exception;
    }
}
