package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.admin.ConsumeStats;
import org.apache.rocketmq.remoting.protocol.admin.OffsetWrapper;
import org.apache.rocketmq.remoting.protocol.body.CMResult;
import org.apache.rocketmq.remoting.protocol.body.ConsumeMessageDirectlyResult;
import org.apache.rocketmq.remoting.protocol.body.QueueTimeSpan;
import org.ferrocket.interop.namesrv.support.MqAdmin;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The admin requests the broker answers by asking a consumer over the consumer's own connection
 * (CONSUME_MESSAGE_DIRECTLY, INVOKE_BROKER_TO_GET_CONSUMER_STATUS) and QUERY_CONSUME_TIME_SPAN,
 * driven by the official 5.3.3 mqadmin ({@code queryMsgById -g -d}) and admin API, with one push consumer that has consumed everything.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConsumerRelayTest {

    private static final String TOPIC = "it-relay-topic";
    private static final String GROUP = "it-relay-group";
    private static final int QUEUES = 4;
    private static final int MESSAGES = 20;

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private DefaultMQPushConsumer consumer;
    private final Map<String, Integer> deliveries = new ConcurrentHashMap<>();
    private final List<SendResult> sent = new ArrayList<>();
    private String clientId;
    private long firstSendMs;
    private long lastSendMs;

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of());
        producer = fixture.startProducer("it-relay-producer");
        fixture.createTopic(TOPIC, QUEUES);
        firstSendMs = System.currentTimeMillis();
        for (int i = 0; i < MESSAGES; i++) {
            SendResult result = producer.send(new Message(TOPIC, "t", ("relay-" + i).getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus());
            sent.add(result);
        }
        lastSendMs = System.currentTimeMillis();
        consumer = new DefaultMQPushConsumer(GROUP);
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        // Short: getConsumerStatus prints only the first 50 characters of a client id.
        consumer.setInstanceName("relay" + ProcessHandle.current().pid());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPersistConsumerOffsetInterval(1000);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(m -> deliveries.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        ConsumeTest.heartbeatNow(List.of(consumer));
        Poll.until("all consumed and committed", BrokerFixture.DELIVERY_WAIT, () -> fixture.admin.examineConsumeStats(GROUP, TOPIC),
            (ConsumeStats stats) -> stats.getOffsetTable().values().stream().mapToLong(OffsetWrapper::getConsumerOffset).sum() == MESSAGES);
        var connection = fixture.admin.examineConsumerConnectionInfo(GROUP);
        assertEquals(1, connection.getConnectionSet().size(), connection.toJson());
        clientId = connection.getConnectionSet().iterator().next().getClientId();
    }

    @AfterAll
    void stop() throws Exception {
        if (consumer != null) {
            consumer.shutdown();
        }
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
    void queryMsgByIdWithAClientIdHasTheConsumerConsumeItAgain() throws Exception {
        SendResult target = sent.get(7);
        assertEquals(1, deliveries.get("relay-7"));
        MqAdmin.Result pushed = fixture.mqadmin.run("queryMsgById", "-t", TOPIC, "-i", target.getMsgId(), "-g", GROUP,
            "-d", clientId);
        Pattern result = Pattern.compile("^ConsumeMessageDirectlyResult \\[order=false, autoCommit=true, "
            + "consumeResult=CR_SUCCESS, remark=null, spentTimeMills=\\d+\\]$", Pattern.MULTILINE);
        assertTrue(result.matcher(pushed.stdout()).find(), pushed.toString());
        assertEquals(2, deliveries.get("relay-7"), pushed.toString());

        // The admin API with the offset id: the broker reads the message itself and forwards it.
        ConsumeMessageDirectlyResult direct = fixture.admin.consumeMessageDirectly(GROUP, clientId, TOPIC,
            sent.get(8).getOffsetMsgId());
        assertEquals(CMResult.CR_SUCCESS, direct.getConsumeResult(), direct.toString());
        assertEquals(2, deliveries.get("relay-8"));
        // Nothing else was consumed again.
        assertEquals(MESSAGES + 2, deliveries.values().stream().mapToInt(Integer::intValue).sum(), deliveries.toString());
    }

    @Test
    void consumerStatusPrintsTheRunningInfoTheClientSent() throws Exception {
        // GET_CONSUMER_RUNNING_INFO relayed to the client, for the whole group and for one client.
        MqAdmin.Result group = fixture.mqadmin.run("consumerStatus", "-g", GROUP);
        assertTrue(Pattern.compile("^1\\s+" + Pattern.quote(clientId) + "\\s+V5_3_3\\s+\\d+/" + Pattern.quote(clientId) + "\\s*$",
            Pattern.MULTILINE).matcher(group.stdout()).find(), group.toString());
        assertTrue(group.stdout().contains("Same subscription in the same group of consumer"), group.toString());
        assertTrue(group.stdout().contains("Rebalance OK"), group.toString());

        MqAdmin.Result one = fixture.mqadmin.run("consumerStatus", "-g", GROUP, "-i", clientId);
        assertTrue(one.stdout().contains("#Consumer Subscription#"), one.toString());
        // #Topic  #Broker Name  #QID  #Consumer Offset: every queue consumed to its end (5).
        Matcher rows = Pattern.compile("^" + Pattern.quote(TOPIC) + "\\s+" + Pattern.quote(fixture.brokerName)
            + "\\s+(\\d+)\\s+5\\s*$", Pattern.MULTILINE).matcher(one.stdout());
        int seen = 0;
        while (rows.find()) {
            seen++;
        }
        assertEquals(QUEUES, seen, one.toString());
    }

    @Test
    void consumeMessageDirectlyForAClientNotOnlineIsRefused() {
        MQClientException refused = assertThrows(MQClientException.class,
            () -> fixture.admin.consumeMessageDirectly(GROUP, "10.0.0.1@nobody", TOPIC, sent.get(0).getOffsetMsgId()));
        assertEquals(1, refused.getResponseCode(), refused.toString());
        assertEquals("The Consumer <" + GROUP + "> <10.0.0.1@nobody> not online", refused.getErrorMessage(), refused.toString());
    }

    @Test
    void getConsumeStatusGivesEachQueuesOffsetFromTheClient() throws Exception {
        // mqadmin 5.3.3 ships GetConsumerStatusCommand but does not register it ("The sub command
        // getConsumerStatus not exist."), so the admin API call that command makes is used.
        Map<MessageQueue, Long> expected = new HashMap<>();
        for (int queue = 0; queue < QUEUES; queue++) {
            expected.put(new MessageQueue(TOPIC, fixture.brokerName, queue), (long) (MESSAGES / QUEUES));
        }
        for (String origin : List.of("", clientId)) {
            Map<String, Map<MessageQueue, Long>> status = fixture.admin.getConsumeStatus(TOPIC, GROUP, origin);
            assertEquals(Map.of(clientId, expected), status, "originClientId=" + origin);
        }
        // Another client id: asked of nobody, an empty table.
        assertEquals(Map.of(), fixture.admin.getConsumeStatus(TOPIC, GROUP, "10.0.0.1@nobody"));
    }

    @Test
    void getConsumerStatusOfAGroupWithoutConsumersIsASystemError() throws Exception {
        // Java's broker trips over the missing group (a NullPointerException's description as remark); ours
        // says so in words. The code is SYSTEM_ERROR in both.
        MQClientException refused = assertThrows(MQClientException.class,
            () -> fixture.admin.getConsumeStatus(TOPIC, "it-relay-nobody", ""));
        assertEquals(1, refused.getResponseCode(), refused.toString());
    }

    @Test
    void queryConsumeTimeSpanGivesEachQueuesStoreAndConsumeTimes() throws Exception {
        List<QueueTimeSpan> spans = fixture.admin.queryConsumeTimeSpan(TOPIC, GROUP);
        assertEquals(QUEUES, spans.size(), spans.toString());
        for (QueueTimeSpan span : spans) {
            MessageQueue queue = span.getMessageQueue();
            assertEquals(TOPIC, queue.getTopic());
            assertEquals(fixture.brokerName, queue.getBrokerName());
            assertTrue(span.getMinTimeStamp() >= firstSendMs - 1000 && span.getMinTimeStamp() <= lastSendMs, span.toString());
            assertTrue(span.getMaxTimeStamp() >= span.getMinTimeStamp() && span.getMaxTimeStamp() <= lastSendMs, span.toString());
            // Everything consumed: the last consumed message is the last one stored, and nothing waits.
            assertEquals(span.getMaxTimeStamp(), span.getConsumeTimeStamp(), span.toString());
            assertEquals(0, span.getDelayTime(), span.toString());
        }
        assertEquals(List.of(0, 1, 2, 3), spans.stream().map(s -> s.getMessageQueue().getQueueId()).sorted().toList());

        // A group without offsets: consumed "up to" the earliest message; the delay is counted from Java's
        // store time of offset -1 (none: -1), so it exceeds the current time.
        long before = System.currentTimeMillis();
        for (QueueTimeSpan span : fixture.admin.queryConsumeTimeSpan(TOPIC, "it-relay-never-consumed")) {
            assertEquals(span.getMinTimeStamp(), span.getConsumeTimeStamp(), span.toString());
            assertTrue(span.getDelayTime() > before, span.toString());
        }

        // The admin API looks the route up first; the broker's own answer needs the request sent to it.
        var api = fixture.admin.getDefaultMQAdminExtImpl().getMqClientInstance().getMQClientAPIImpl();
        MQBrokerException missing = assertThrows(MQBrokerException.class,
            () -> api.queryConsumeTimeSpan(fixture.broker.brokerAddress(), "it-relay-no-such-topic", GROUP, 10_000));
        assertEquals(17, missing.getResponseCode(), missing.toString());
        assertEquals("topic[it-relay-no-such-topic] not exist", missing.getErrorMessage(), missing.toString());
    }
}
