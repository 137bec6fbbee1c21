package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.admin.ConsumeStats;
import org.apache.rocketmq.remoting.protocol.admin.OffsetWrapper;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.MqAdmin;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The broker administered and queried by the official 5.3.3 mqadmin and admin API: topics and
 * groups created, routes, stats and configuration printed with the right values, messages found
 * again by key and by id, consumer progress, offsets reset by time while the consumer runs, and
 * the official benchmark Producer and Consumer (rocketmq-example) for a fixed count, with no failure.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AdminTest {

    private static final String TOPIC = "it-admin-topic";
    private static final String KEYED_TOPIC = "it-keyed-topic";
    private static final String GROUP = "it-admin-group";
    private static final int QUEUES = 4;
    private static final int MESSAGES = 20;
    private static final int BENCHMARK_MESSAGES = 1000;

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private MqAdmin mqadmin;

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of());
        mqadmin = fixture.mqadmin;
        producer = fixture.startProducer("it-admin-producer");
    }

    @AfterAll
    void stop() throws Exception {
        if (producer != null) {
            producer.shutdown();
        }
        if (fixture != null) {
            fixture.close();
        }
    }

    @AfterEach
    void brokerStillUp() {
        fixture.broker.assertAlive();
    }

    @Test
    @Order(1)
    void updateTopicThenTopicListRouteAndStatus() throws Exception {
        MqAdmin.Result update = mqadmin.run("updateTopic", "-b", fixture.broker.brokerAddress(), "-t", TOPIC,
            "-r", Integer.toString(QUEUES), "-w", Integer.toString(QUEUES));
        assertTrue(update.stdout().contains("create topic to " + fixture.broker.brokerAddress() + " success."), update.toString());
        assertTrue(update.stdout().contains("topicName=" + TOPIC), update.toString());
        fixture.awaitRoute(TOPIC, QUEUES);

        MqAdmin.Result list = mqadmin.run("topicList");
        assertTrue(list.stdout().lines().anyMatch(TOPIC::equals), list.toString());
        // A broker registers topics named after its cluster and itself, and TBW102 while auto-create is on.
        for (String topic : List.of(fixture.clusterName, fixture.brokerName, "TBW102")) {
            assertTrue(list.stdout().lines().anyMatch(topic::equals), topic + " not listed: " + list);
        }

        MqAdmin.Result route = mqadmin.run("topicRoute", "-t", TOPIC);
        assertTrue(route.stdout().contains("\"brokerName\":\"" + fixture.brokerName + "\""), route.toString());
        assertTrue(route.stdout().contains("\"readQueueNums\":" + QUEUES), route.toString());
        assertTrue(route.stdout().contains("\"writeQueueNums\":" + QUEUES), route.toString());
        assertTrue(route.stdout().contains(fixture.broker.brokerAddress()), route.toString());

        for (int i = 0; i < MESSAGES; i++) {
            assertEquals(SendStatus.SEND_OK, producer.send(new Message(TOPIC, ("m" + i).getBytes(StandardCharsets.UTF_8))).getSendStatus());
        }
        MqAdmin.Result status = mqadmin.run("topicStatus", "-t", TOPIC);
        // #Broker Name  #QID  #Min Offset  #Max Offset  #Last Updated: round-robin, 5 per queue.
        Pattern row = Pattern.compile("^" + Pattern.quote(fixture.brokerName) + "\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+\\S.*$",
            Pattern.MULTILINE);
        Matcher rows = row.matcher(status.stdout());
        Set<Integer> queues = new HashSet<>();
        while (rows.find()) {
            queues.add(Integer.parseInt(rows.group(1)));
            assertEquals("0", rows.group(2), status.toString());
            assertEquals(Integer.toString(MESSAGES / QUEUES), rows.group(3), status.toString());
        }
        assertEquals(Set.of(0, 1, 2, 3), queues, status.toString());
    }

    @Test
    @Order(2)
    void clusterListAndBrokerStatus() throws Exception {
        MqAdmin.Result clusters = mqadmin.run("clusterList");
        Pattern row = Pattern.compile("^" + Pattern.quote(fixture.clusterName) + "\\s+" + Pattern.quote(fixture.brokerName)
            + "\\s+0\\s+" + Pattern.quote(fixture.broker.brokerAddress()) + "\\s+V\\d+_\\d+_\\d+", Pattern.MULTILINE);
        assertTrue(row.matcher(clusters.stdout()).find(), clusters.toString());

        MqAdmin.Result status = mqadmin.run("brokerStatus", "-b", fixture.broker.brokerAddress());
        Map<String, String> values = keyColonValue(status.stdout());
        // Fields mqadmin and the dashboards parse as numbers.
        for (String key : List.of("msgPutTotalTodayNow", "msgGetTotalTodayNow", "msgPutTotalYesterdayMorning",
            "msgGetTotalTodayMorning", "commitLogMinOffset", "commitLogMaxOffset", "bootTimestamp")) {
            assertNotNull(values.get(key), key + " missing: " + status);
            Long.parseLong(values.get(key));
        }
        assertTrue(Long.parseLong(values.get("msgPutTotalTodayNow")) >= MESSAGES, status.toString());
        assertTrue(Long.parseLong(values.get("commitLogMaxOffset")) > 0, status.toString());
        assertTrue(values.get("brokerVersionDesc").startsWith("V"), status.toString());
    }

    @Test
    @Order(3)
    void sendMessageThenConsumeMessage() throws Exception {
        MqAdmin.Result send = mqadmin.run("sendMessage", "-t", TOPIC, "-p", "hello-from-mqadmin", "-k", "mqadmin-key",
            "-c", "mqadmin-tag", "-b", fixture.brokerName, "-i", "1");
        Matcher sent = Pattern.compile("^" + Pattern.quote(fixture.brokerName) + "\\s+1\\s+SEND_OK\\s+([0-9A-F]{32,})\\s*$",
            Pattern.MULTILINE).matcher(send.stdout());
        assertTrue(sent.find(), send.toString());

        MqAdmin.Result consume = mqadmin.run("consumeMessage", "-t", TOPIC, "-b", fixture.brokerName, "-i", "1",
            "-o", Integer.toString(MESSAGES / QUEUES), "-c", "1");
        assertTrue(consume.stdout().contains("Consume ok"), consume.toString());
        assertTrue(consume.stdout().contains("MSGID: " + sent.group(1)), consume.toString());
        assertTrue(consume.stdout().contains("BODY: hello-from-mqadmin"), consume.toString());
    }

    @Test
    @Order(4)
    void messagesWithKeysAreFoundByKeyAndById() throws Exception {
        fixture.createTopic(KEYED_TOPIC, QUEUES);
        long begin = System.currentTimeMillis() - 60_000;
        SendResult target = null;
        for (int i = 0; i < MESSAGES; i++) {
            Message message = new Message(KEYED_TOPIC, "k", (i % 2 == 0 ? "even-key" : "odd-key") + " shared-" + i,
                ("keyed-" + i).getBytes(StandardCharsets.UTF_8));
            SendResult result = producer.send(message);
            assertEquals(SendStatus.SEND_OK, result.getSendStatus());
            if (i == 7) {
                target = result;
            }
        }
        // QUERY_MESSAGE by key: the index is built asynchronously, so poll.
        QueryResult even = Poll.until("10 messages indexed under even-key", BrokerFixture.DELIVERY_WAIT,
            () -> fixture.admin.queryMessage(KEYED_TOPIC, "even-key", 64, begin, Long.MAX_VALUE),
            r -> r.getMessageList().size() == MESSAGES / 2);
        for (MessageExt message : even.getMessageList()) {
            assertTrue(message.getKeys().startsWith("even-key "), message.toString());
        }
        QueryResult one = fixture.admin.queryMessage(KEYED_TOPIC, "shared-7", 64, begin, Long.MAX_VALUE);
        assertEquals(1, one.getMessageList().size(), one.toString());
        assertEquals("keyed-7", new String(one.getMessageList().get(0).getBody(), StandardCharsets.UTF_8));

        // VIEW_MESSAGE_BY_ID (offset id) and QUERY_MESSAGE by unique key.
        MessageExt byOffsetId = fixture.admin.viewMessage(KEYED_TOPIC, target.getOffsetMsgId());
        assertEquals("keyed-7", new String(byOffsetId.getBody(), StandardCharsets.UTF_8));
        assertEquals(target.getQueueOffset(), byOffsetId.getQueueOffset());
        QueryResult byUniqueKeys = fixture.admin.queryMessageByUniqKey(fixture.clusterName, KEYED_TOPIC, target.getMsgId(),
            32, begin, Long.MAX_VALUE);
        assertEquals(1, byUniqueKeys.getMessageList().size(), byUniqueKeys.toString());
        MessageExt byUniqueKey = byUniqueKeys.getMessageList().get(0);
        assertEquals("keyed-7", new String(byUniqueKey.getBody(), StandardCharsets.UTF_8));
        assertEquals(target.getMessageQueue().getQueueId(), byUniqueKey.getQueueId());

        MqAdmin.Result byKey = mqadmin.run("queryMsgByKey", "-t", KEYED_TOPIC, "-k", "shared-7");
        // #Message ID  #QID  #Offset
        Pattern row = Pattern.compile("^" + Pattern.quote(target.getMsgId()) + "\\s+" + target.getMessageQueue().getQueueId()
            + "\\s+" + target.getQueueOffset() + "\\s*$", Pattern.MULTILINE);
        assertTrue(row.matcher(byKey.stdout()).find(), byKey.toString());

        for (String id : List.of(target.getOffsetMsgId(), target.getMsgId())) {
            MqAdmin.Result byId = mqadmin.run("queryMsgById", "-t", KEYED_TOPIC, "-i", id);
            Map<String, String> fields = keyColonValue(byId.stdout());
            assertEquals(KEYED_TOPIC, fields.get("Topic"), byId.toString());
            assertEquals("[k]", fields.get("Tags"), byId.toString());
            assertEquals("[odd-key shared-7]", fields.get("Keys"), byId.toString());
            assertEquals(Integer.toString(target.getMessageQueue().getQueueId()), fields.get("Queue ID"), byId.toString());
            assertEquals(Long.toString(target.getQueueOffset()), fields.get("Queue Offset"), byId.toString());
            assertEquals(target.getOffsetMsgId(), fields.get("OffsetID"), byId.toString());
            assertTrue(fields.get("Properties").contains("UNIQ_KEY=" + target.getMsgId()), byId.toString());
        }
    }

    @Test
    @Order(5)
    void updateSubGroupAndGetBrokerConfig() throws Exception {
        MqAdmin.Result update = mqadmin.run("updateSubGroup", "-b", fixture.broker.brokerAddress(), "-g", GROUP,
            "-r", "5", "-q", "3");
        assertTrue(update.stdout().contains("create subscription group to " + fixture.broker.brokerAddress() + " success."),
            update.toString());
        SubscriptionGroupConfig config = fixture.admin.examineSubscriptionGroupConfig(fixture.broker.brokerAddress(), GROUP);
        assertEquals(5, config.getRetryMaxTimes(), config.toString());
        assertEquals(3, config.getRetryQueueNums(), config.toString());

        MqAdmin.Result brokerConfig = mqadmin.run("getBrokerConfig", "-b", fixture.broker.brokerAddress());
        Map<String, String> values = new java.util.HashMap<>();
        for (String line : brokerConfig.stdout().lines().toList()) {
            int eq = line.indexOf("=  ");
            if (eq > 0) {
                values.put(line.substring(0, eq).trim(), line.substring(eq + 3).trim());
            }
        }
        assertEquals(fixture.brokerName, values.get("brokerName"), brokerConfig.toString());
        assertEquals(fixture.clusterName, values.get("brokerClusterName"), brokerConfig.toString());
        assertEquals("0", values.get("brokerId"), brokerConfig.toString());
        assertEquals(fixture.broker.brokerAddress().split(":")[1], values.get("listenPort"), brokerConfig.toString());
        assertEquals("true", values.get("autoCreateTopicEnable"), brokerConfig.toString());
    }

    @Test
    @Order(6)
    void consumerProgressThenResetOffsetByTime() throws Exception {
        long beforeSends = System.currentTimeMillis() - 1000;
        String topic = "it-reset-topic";
        fixture.createTopic(topic, QUEUES);
        for (int i = 0; i < MESSAGES; i++) {
            assertEquals(SendStatus.SEND_OK, producer.send(new Message(topic, ("r" + i).getBytes(StandardCharsets.UTF_8))).getSendStatus());
        }
        Map<String, Integer> deliveries = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(GROUP);
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-admin-consumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPersistConsumerOffsetInterval(1000);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(m -> deliveries.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        try {
            Poll.until("the consumer holds all queues", BrokerFixture.ROUTE_WAIT, () -> consumer.getDefaultMQPushConsumerImpl()
                .getRebalanceImpl().getProcessQueueTable().keySet().stream().filter(q -> q.getTopic().equals(topic)).count(),
                n -> n == QUEUES);
            ConsumeTest.heartbeatNow(List.of(consumer));
            Poll.until("all consumed and committed", BrokerFixture.DELIVERY_WAIT, () -> fixture.admin.examineConsumeStats(GROUP, topic),
                (ConsumeStats stats) -> stats.getOffsetTable().values().stream().mapToLong(OffsetWrapper::getConsumerOffset).sum() == MESSAGES);
            assertEquals(MESSAGES, deliveries.size());

            MqAdmin.Result progress = mqadmin.run("consumerProgress", "-g", GROUP);
            // #Topic  #Broker Name  #QID  #Broker Offset  #Consumer Offset  #Client IP  #Diff  #Inflight  #LastTime
            Pattern row = Pattern.compile("^" + Pattern.quote(topic) + "\\s+" + Pattern.quote(fixture.brokerName)
                + "\\s+(\\d)\\s+(\\d+)\\s+(\\d+)\\s+\\S+\\s+(\\d+)", Pattern.MULTILINE);
            Matcher rows = row.matcher(progress.stdout());
            int seen = 0;
            while (rows.find()) {
                seen++;
                assertEquals(Integer.toString(MESSAGES / QUEUES), rows.group(2), progress.toString());
                assertEquals(rows.group(2), rows.group(3), progress.toString());
                assertEquals("0", rows.group(4), progress.toString());
            }
            assertEquals(QUEUES, seen, progress.toString());
            assertTrue(progress.stdout().contains("Consume Diff Total: 0"), progress.toString());

            // GET_CONSUMER_CONNECTION_LIST, QUERY_TOPIC_CONSUME_BY_WHO, and GET_CONSUMER_RUNNING_INFO relayed to the client.
            var connection = fixture.admin.examineConsumerConnectionInfo(GROUP);
            assertEquals(1, connection.getConnectionSet().size(), connection.toJson());
            assertEquals("*", connection.getSubscriptionTable().get(topic).getSubString(), connection.toJson());
            assertTrue(fixture.admin.queryTopicConsumeByWho(topic).getGroupList().contains(GROUP));
            String clientId = connection.getConnectionSet().iterator().next().getClientId();
            var running = fixture.admin.getConsumerRunningInfo(GROUP, clientId, false);
            assertTrue(running.getSubscriptionSet().stream().anyMatch(sub -> sub.getTopic().equals(topic)), running.formatString());
            assertEquals(QUEUES, running.getMqTable().keySet().stream().filter(q -> q.getTopic().equals(topic)).count(),
                running.formatString());

            // Reset to before the sends: the online consumer is told (RESET_CONSUMER_CLIENT_OFFSET) and reads all again.
            MqAdmin.Result reset = mqadmin.run("resetOffsetByTime", "-g", GROUP, "-t", topic, "-s", Long.toString(beforeSends));
            Pattern resetRow = Pattern.compile("^" + Pattern.quote(fixture.brokerName) + "\\s+(\\d+)\\s+(\\d+)\\s*$", Pattern.MULTILINE);
            Matcher resetRows = resetRow.matcher(reset.stdout());
            int resetSeen = 0;
            while (resetRows.find()) {
                resetSeen++;
                assertEquals("0", resetRows.group(2), reset.toString());
            }
            assertEquals(QUEUES, resetSeen, reset.toString());
            Poll.until("every message delivered again after the reset", BrokerFixture.DELIVERY_WAIT, () -> Map.copyOf(deliveries),
                d -> d.size() == MESSAGES && d.values().stream().allMatch(n -> n >= 2));
        } finally {
            consumer.shutdown();
        }
    }

    @Test
    @Order(7)
    void officialBenchmarkProducerAndConsumerWithoutFailures() throws Exception {
        String topic = "it-benchmark";
        String group = "it-benchmark-group";
        fixture.createTopic(topic, QUEUES);
        // -q: a fixed message count; -w: few threads on 2 cores; the benchmark sends with ROCKETMQ headers.
        try (ChildProcess bench = startBenchmark("Producer", "-n", fixture.broker.namesrvAddress(), "-t", topic,
            "-q", Integer.toString(BENCHMARK_MESSAGES), "-w", "4", "-s", "256", "-k", "true")) {
            assertEquals(0, bench.awaitExit(Duration.ofSeconds(90)), bench.tail(40));
            Matcher complete = Pattern.compile("\\[Complete\\] Send Total: (\\d+).*Send Failed: (\\d+).*Response Failed: (\\d+)")
                .matcher(bench.stdout());
            assertTrue(complete.find(), bench.tail(40));
            assertEquals(Integer.toString(BENCHMARK_MESSAGES), complete.group(1), complete.group());
            assertEquals("0", complete.group(2), complete.group());
            assertEquals("0", complete.group(3), complete.group());
        }
        assertEquals(BENCHMARK_MESSAGES, fixture.admin.examineTopicStats(topic).getOffsetTable().values().stream()
            .mapToLong(o -> o.getMaxOffset()).sum());
        // A new group starts at offset 0 while the queues' first messages are still in memory (Java's rule).
        try (ChildProcess bench = startBenchmark("Consumer", "-n", fixture.broker.namesrvAddress(), "-t", topic,
            "-g", group, "-w", "4", "-ri", "1000")) {
            bench.awaitStdout(Pattern.compile("^Consumer Started\\.$"), Duration.ofSeconds(60));
            Poll.until("the benchmark consumer consumed and committed every message", BrokerFixture.DELIVERY_WAIT,
                () -> fixture.admin.examineConsumeStats(group, topic),
                (ConsumeStats stats) -> stats.getOffsetTable().values().stream().mapToLong(OffsetWrapper::getConsumerOffset).sum()
                    == BENCHMARK_MESSAGES);
            assertTrue(!Pattern.compile("Consume Fail: [1-9]").matcher(bench.stdout()).find(), bench.tail(40));
        }
    }

    /** One of rocketmq-example's benchmark mains as a child JVM on the 5.3.3 classpath. */
    private ChildProcess startBenchmark(String main, String... args) throws Exception {
        Path jar = Path.of(System.getProperty("ferrocket.interop.benchmarkJar", ""));
        assertTrue(Files.isRegularFile(jar), "benchmark jar missing: " + jar + " (run through broker-interop.sh)");
        Path dir = fixture.workDir.resolve("benchmark-" + main);
        Path home = dir.resolve("home");
        Files.createDirectories(home);
        List<String> command = new ArrayList<>(List.of(InteropEnv.javaBinary().toString(),
            "-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Duser.home=" + home,
            "-Drmq.logback.configurationFile=rmq.client.logback.xml",
            "-cp", fixture.classpath + File.pathSeparator + jar, "org.apache.rocketmq.example.benchmark." + main));
        command.addAll(List.of(args));
        return ChildProcess.start("benchmark-" + main, command, dir, fixture.workDir.resolve("logs/benchmark-" + main + ".log"),
            Map.of("ROCKETMQ_HOME", home.toString()));
    }

    /** {@code key : value} / {@code key: value} lines (brokerStatus, queryMsgById), keys trimmed. */
    private static Map<String, String> keyColonValue(String stdout) {
        Map<String, String> values = new java.util.HashMap<>();
        for (String line : stdout.lines().toList()) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                values.putIfAbsent(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        }
        return values;
    }
}
