package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.alibaba.fastjson2.JSON;
import com.alibaba.fastjson2.JSONArray;
import com.alibaba.fastjson2.JSONObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.admin.TopicStatsTable;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.MqAdmin;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * {@code ferrocket admin} (mqadmin's subcommands on our Rust SDK) against the broker under test,
 * ours or with {@code -Dbroker.impl=java} the official 5.3.3 pair: each change it makes is read
 * back through the official admin API ({@code DefaultMQAdminExt}), and what it reports is compared
 * with what that API reports. Failures exit non-zero with the server's code in the message.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AdminCliTest {

    private static final String TOPIC = "it-cli-topic";
    private static final String GROUP = "it-cli-group";
    private static final String CONSUMER_GROUP = "it-cli-consumer";
    private static final String PRODUCER_GROUP = "it-cli-producer";

    private BrokerFixture fixture;

    @BeforeAll
    void start() throws Exception {
        // The fixture turns Java's timer wheel off, and the 5.3.3 broker then answers
        // DELETE_TOPIC_IN_BROKER with a NullPointerException (getTimerMetrics); on, as by default.
        fixture = BrokerFixture.start(getClass(), Map.of("timerWheelEnable", "true"));
    }

    @AfterAll
    void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
    }

    /** One run of {@code ferrocket admin}: exit status, stdout, stderr. */
    private record Run(int exit, String stdout, String stderr) {
        JSONObject json() {
            assertEquals(0, exit, "exit status; stderr: " + stderr);
            return JSON.parseObject(stdout);
        }
    }

    private Run cli(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(InteropEnv.ferrocketBinary().toString());
        command.add("admin");
        command.addAll(List.of(args));
        command.addAll(List.of("-n", fixture.broker.namesrvAddress()));
        Path out = Files.createTempFile(fixture.workDir, "cli", ".out");
        Path err = Files.createTempFile(fixture.workDir, "cli", ".err");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "ferrocket admin " + String.join(" ", args) + " hung");
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    @Order(1)
    void updateTopicCreatesWhatTheAdminApiReads() throws Exception {
        Run run = cli("updateTopic", "-c", fixture.clusterName, "-t", TOPIC, "-r", "3", "-w", "3", "-p", "6");
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(run.stdout().contains("create topic to " + fixture.broker.brokerAddress() + " success."), run.stdout());
        TopicConfig config = fixture.admin.examineTopicConfig(fixture.broker.brokerAddress(), TOPIC);
        assertEquals(3, config.getReadQueueNums());
        assertEquals(3, config.getWriteQueueNums());
        assertEquals(6, config.getPerm());

        Set<String> ours = new HashSet<>(cli("topicList", "--json").json().getJSONArray("topicList").toJavaList(String.class));
        assertEquals(new HashSet<>(fixture.admin.fetchAllTopicList().getTopicList()), ours);
        assertTrue(ours.contains(TOPIC));

        JSONObject route = cli("topicRoute", "-t", TOPIC, "--json").json();
        assertEquals(fixture.admin.examineTopicRouteInfo(TOPIC).getQueueDatas().get(0).getReadQueueNums(),
            route.getJSONArray("queueDatas").getJSONObject(0).getIntValue("readQueueNums"));
    }

    @Test
    @Order(2)
    void sentMessageIsFoundByKeyAndCountedByTopicStatus() throws Exception {
        JSONObject sent = cli("sendMessage", "-t", TOPIC, "-p", "hello from the cli", "-k", "cli-key", "-c", "tagA",
            "--json").json();
        assertEquals("SEND_OK", sent.getString("sendStatus"));
        String msgId = sent.getString("msgId");

        QueryResult official = fixture.admin.queryMessage(TOPIC, "cli-key", 64, 0, Long.MAX_VALUE);
        assertEquals(1, official.getMessageList().size());
        MessageExt message = official.getMessageList().get(0);
        assertEquals(msgId, message.getMsgId());
        assertEquals("tagA", message.getTags());
        assertEquals("hello from the cli", new String(message.getBody(), StandardCharsets.UTF_8));

        JSONArray found = cli("queryMsgByKey", "-t", TOPIC, "-k", "cli-key", "--json").json().getJSONArray("messages");
        assertEquals(1, found.size());
        assertEquals(msgId, found.getJSONObject(0).getString("msgId"));
        assertEquals(message.getQueueId(), found.getJSONObject(0).getIntValue("queueId"));
        assertEquals(0, cli("queryMsgByKey", "-t", TOPIC, "-k", "no-such-key", "--json").json()
            .getJSONArray("messages").size());

        // By the client-made id, by the broker's offset id, and by queue offset: the same record.
        JSONObject byId = cli("queryMsgById", "-t", TOPIC, "-i", msgId, "--json").json();
        assertEquals(message.getQueueOffset(), byId.getLongValue("queueOffset"));
        assertEquals(message.getCommitLogOffset(), byId.getLongValue("commitLogOffset"));
        String offsetMsgId = byId.getString("offsetMsgId");
        assertEquals(fixture.admin.viewMessage(TOPIC, offsetMsgId).getCommitLogOffset(), message.getCommitLogOffset());
        JSONObject byOffsetId = cli("queryMsgById", "-t", TOPIC, "-i", offsetMsgId, "--json").json();
        assertEquals(msgId, byOffsetId.getString("msgId"));
        JSONObject byQueueOffset = cli("queryMsgByOffset", "-t", TOPIC, "-b", fixture.brokerName, "-i",
            String.valueOf(message.getQueueId()), "-o", String.valueOf(message.getQueueOffset()), "--json").json();
        assertEquals(msgId, byQueueOffset.getString("msgId"));
        assertEquals("hello from the cli", byQueueOffset.getString("body"));
        assertEquals(1, cli("queryMsgByOffset", "-t", TOPIC, "-b", fixture.brokerName, "-i",
            String.valueOf(message.getQueueId()), "-o", "5").exit(), "no message at offset 5");

        TopicStatsTable stats = fixture.admin.examineTopicStats(TOPIC);
        JSONArray queues = cli("topicStatus", "-t", TOPIC, "--json").json().getJSONArray("queues");
        assertEquals(stats.getOffsetTable().size(), queues.size());
        long ourMax = 0;
        for (int i = 0; i < queues.size(); i++) {
            ourMax += queues.getJSONObject(i).getLongValue("maxOffset");
        }
        long officialMax = stats.getOffsetTable().values().stream().mapToLong(o -> o.getMaxOffset()).sum();
        assertEquals(officialMax, ourMax);
        assertEquals(1, ourMax);
        String table = cli("topicStatus", "-t", TOPIC).stdout();
        assertTrue(table.startsWith("#Broker Name"), table);
        assertTrue(table.contains("Topic Put TPS:"), table);
    }

    @Test
    @Order(3)
    void connectionsProgressAndOffsetResetOfLiveClients() throws Exception {
        DefaultMQProducer producer = fixture.startProducer(PRODUCER_GROUP);
        AtomicInteger deliveries = new AtomicInteger();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(CONSUMER_GROUP);
        try {
            assertEquals(SendStatus.SEND_OK, producer.send(new Message(TOPIC, "second".getBytes(StandardCharsets.UTF_8)))
                .getSendStatus());
            consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
            consumer.setInstanceName(BrokerFixture.uniqueName("it-cli-consumer"));
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.subscribe(TOPIC, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
                deliveries.addAndGet(messages.size());
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            Poll.until("both messages consumed and committed", BrokerFixture.DELIVERY_WAIT,
                () -> fixture.admin.examineConsumeStats(CONSUMER_GROUP, TOPIC),
                stats -> deliveries.get() >= 2 && stats.computeTotalDiff() == 0);

            JSONObject connection = cli("consumerConnection", "-g", CONSUMER_GROUP, "--json").json();
            String clientId = fixture.admin.examineConsumerConnectionInfo(CONSUMER_GROUP).getConnectionSet().iterator()
                .next().getClientId();
            assertEquals(clientId, connection.getJSONArray("connectionSet").getJSONObject(0).getString("clientId"));
            assertTrue(connection.getJSONObject("subscriptionTable").containsKey(TOPIC), connection.toString());

            JSONObject progress = cli("consumerProgress", "-g", CONSUMER_GROUP, "-t", TOPIC, "--json").json();
            assertEquals(0, progress.getLongValue("diffTotal"));
            long brokerOffsets = 0;
            for (Object queue : progress.getJSONArray("queues")) {
                brokerOffsets += ((JSONObject) queue).getLongValue("brokerOffset");
            }
            assertEquals(2, brokerOffsets);

            JSONArray producers = cli("producerConnection", "-g", PRODUCER_GROUP, "-t", TOPIC, "--json").json()
                .getJSONArray("connectionSet");
            assertEquals(fixture.admin.examineProducerConnectionInfo(PRODUCER_GROUP, TOPIC).getConnectionSet().size(),
                producers.size());
            assertEquals(1, producers.size());

            // Back to the start while the consumer runs: the broker has it move, and both come again.
            JSONObject reset = cli("resetOffsetByTime", "-g", CONSUMER_GROUP, "-t", TOPIC, "-s", "0", "--json").json();
            assertEquals(3, reset.getJSONArray("queues").size(), reset.toString());
            for (Object queue : reset.getJSONArray("queues")) {
                assertEquals(0, ((JSONObject) queue).getLongValue("offset"), reset.toString());
            }
            Poll.until("both messages consumed again", BrokerFixture.DELIVERY_WAIT, deliveries::get, n -> n >= 4);
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }

    @Test
    @Order(4)
    void subscriptionGroupsAreCreatedAndDeleted() throws Exception {
        Run run = cli("updateSubGroup", "-b", fixture.broker.brokerAddress(), "-g", GROUP, "-r", "5", "-o", "true");
        assertEquals(0, run.exit(), run.stderr());
        SubscriptionGroupConfig config =
            fixture.admin.examineSubscriptionGroupConfig(fixture.broker.brokerAddress(), GROUP);
        assertEquals(5, config.getRetryMaxTimes());
        assertTrue(config.isConsumeMessageOrderly());
        assertFalse(config.isConsumeBroadcastEnable(), "mqadmin's default for -d is false");

        run = cli("deleteSubGroup", "-c", fixture.clusterName, "-g", GROUP);
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(fixture.admin.getAllSubscriptionGroup(fixture.broker.brokerAddress(), 10_000)
            .getSubscriptionGroupTable().get(GROUP) == null, "group still there after deleteSubGroup");
    }

    @Test
    @Order(5)
    void brokerStatusAndConfigMatchTheAdminApi() throws Exception {
        String addr = fixture.broker.brokerAddress();
        JSONObject status = cli("brokerStatus", "-b", addr, "--json").json().getJSONObject(addr);
        assertEquals(fixture.admin.fetchBrokerRuntimeStats(addr).getTable().get("brokerVersionDesc"),
            status.getString("brokerVersionDesc"));

        JSONObject config = cli("getBrokerConfig", "-c", fixture.clusterName, "--json").json().getJSONObject(addr);
        assertEquals(fixture.admin.getBrokerConfig(addr).getProperty("brokerClusterName"),
            config.getString("brokerClusterName"));

        String before = fixture.admin.getBrokerConfig(addr).getProperty("defaultTopicQueueNums");
        String changed = "5".equals(before) ? "6" : "5";
        Run run = cli("updateBrokerConfig", "-b", addr, "-k", "defaultTopicQueueNums", "-v", changed);
        assertEquals(0, run.exit(), run.stderr());
        assertEquals(changed, fixture.admin.getBrokerConfig(addr).getProperty("defaultTopicQueueNums"));
        assertNotEquals(before, changed);

        // Both messages of the earlier tests, read without committing anything; -c bounds them.
        JSONArray stored = cli("consumeMessage", "-t", TOPIC, "--json").json().getJSONArray("messages");
        assertEquals(2, stored.size(), stored.toString());
        assertEquals(1, cli("consumeMessage", "-t", TOPIC, "-c", "1", "--json").json().getJSONArray("messages").size());

        JSONObject rt = cli("clusterRT", "-a", "5", "-c", fixture.clusterName, "--json").json()
            .getJSONArray("brokers").getJSONObject(0);
        assertEquals(fixture.brokerName, rt.getString("brokerName"));
        assertEquals(5, rt.getIntValue("successCount"), rt.toString());
        assertEquals(0, rt.getIntValue("failCount"), rt.toString());

        JSONArray brokers = cli("clusterList", "--json").json().getJSONArray("brokers");
        assertTrue(brokers.stream().map(b -> ((JSONObject) b).getString("addr")).anyMatch(addr::equals),
            brokers.toString());
    }

    @Test
    @Order(6)
    void consumeMessageTimeWindowReadsWhatMqadminReads() throws Exception {
        // One queue, three messages with distinct store times: a window bounded by stored times
        // selects the same messages in mqadmin and in ours. (Between stored times they differ on
        // purpose: mqadmin's -e also prints the first message stored after the end.)
        String topic = "it-cli-window";
        assertEquals(0, cli("updateTopic", "-c", fixture.clusterName, "-t", topic, "-r", "1", "-w", "1").exit());
        DefaultMQProducer producer = fixture.startProducer(PRODUCER_GROUP + "-window");
        List<Long> stored = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                SendResult sent = producer.send(new Message(topic, ("window-" + i).getBytes(StandardCharsets.UTF_8)));
                assertEquals(SendStatus.SEND_OK, sent.getSendStatus());
                stored.add(fixture.admin.viewMessage(topic, sent.getOffsetMsgId()).getStoreTimestamp());
                Thread.sleep(30);
            }
        } finally {
            producer.shutdown();
        }
        assertTrue(stored.get(0) < stored.get(1) && stored.get(1) < stored.get(2), stored.toString());
        String first = String.valueOf(stored.get(0));
        String middle = String.valueOf(stored.get(1));
        List<List<String>> windows = List.of(List.of("-s", middle, "-e", middle), List.of("-s", middle),
            List.of("-e", first), List.of("-s", first, "-e", middle));
        List<Set<String>> expected = List.of(Set.of("window-1"), Set.of("window-1", "window-2"), Set.of("window-0"),
            Set.of("window-0", "window-1"));
        for (int w = 0; w < windows.size(); w++) {
            List<String> args = new ArrayList<>(List.of("consumeMessage", "-t", topic));
            args.addAll(windows.get(w));
            MqAdmin.Result official = fixture.mqadmin.run(args.toArray(String[]::new));
            Set<String> officialBodies = new HashSet<>();
            for (String line : official.stdout().split("\n")) {
                int body = line.indexOf(" BODY: ");
                if (line.startsWith("MSGID: ") && body > 0) {
                    officialBodies.add(line.substring(body + " BODY: ".length()).trim());
                }
            }
            args.add("--json");
            JSONArray ours = cli(args.toArray(String[]::new)).json().getJSONArray("messages");
            Set<String> ourBodies = new HashSet<>();
            for (int i = 0; i < ours.size(); i++) {
                ourBodies.add(ours.getJSONObject(i).getString("body"));
            }
            assertEquals(expected.get(w), officialBodies, "mqadmin " + args + ": " + official);
            assertEquals(officialBodies, ourBodies, "ferrocket admin " + args + ": " + ours);
        }

        // A window in the future is refused by both; mqadmin only prints (and exits 0), we exit 1.
        String future = String.valueOf(System.currentTimeMillis() + 3_600_000L);
        assertTrue(fixture.mqadmin.run("consumeMessage", "-t", topic, "-s", future).stdout()
            .contains("Please set the beginTimestamp before now!"));
        Run refused = cli("consumeMessage", "-t", topic, "-s", future);
        assertEquals(1, refused.exit(), refused.stdout());
        assertTrue(refused.stderr().contains("is after now"), refused.stderr());
    }

    @Test
    @Order(7)
    void deleteTopicRemovesTheRouteAndFailuresExitNonZero() throws Exception {
        Run run = cli("deleteTopic", "-c", fixture.clusterName, "-t", TOPIC);
        assertEquals(0, run.exit(), run.stderr());
        assertFalse(fixture.admin.fetchAllTopicList().getTopicList().contains(TOPIC));

        Run missing = cli("topicRoute", "-t", TOPIC);
        assertEquals(1, missing.exit(), missing.stdout());
        assertTrue(missing.stderr().contains("TOPIC_NOT_EXIST"), missing.stderr());
        assertFalse(missing.stderr().contains("backtrace"), missing.stderr());

        Run badFlag = cli("updateTopic", "-t", TOPIC, "-c", fixture.clusterName, "-p", "9");
        assertNotEquals(0, badFlag.exit());
    }
}
