package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.sysflag.PullSysFlag;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.RequestCode;
import org.apache.rocketmq.remoting.protocol.ResponseCode;
import org.apache.rocketmq.remoting.protocol.header.PullMessageRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.QueryConsumerOffsetRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.SendMessageRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.UpdateConsumerOffsetRequestHeader;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Raw remoting commands, as the official client would never send them: bad requests get the Java
 * broker's response codes and remarks and the broker keeps serving; pulls with the suspend flag
 * are held until their timeout or a new message; consumer offsets follow Java's rules for new groups. The broker
 * runs with {@code autoCreateTopicEnable=false} and {@code autoCreateSubscriptionGroup=false}, so
 * ours runs as {@code ferrocket broker -c broker.conf} beside {@code ferrocket namesrv}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadInputTest {

    private static final String TOPIC = "it-bad-input";
    private static final String GROUP = "it-bad-input-group";
    private static final int QUEUES = 4;
    private static final int MESSAGES = 10;
    /** The store's default maxMessageSize (4 MiB): one byte more is refused. */
    private static final int MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
    private static final long TIMEOUT_MS = 10_000;
    /** How long the held-pull test asks the broker to hold its pull. */
    private static final long HOLD_MS = 1_000;

    private BrokerFixture fixture;
    private NettyRemotingClient remoting;
    private DefaultMQProducer producer;

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of("autoCreateTopicEnable", "false",
            "autoCreateSubscriptionGroup", "false"));
        fixture.createTopic(TOPIC, QUEUES);
        SubscriptionGroupConfig group = new SubscriptionGroupConfig();
        group.setGroupName(GROUP);
        fixture.admin.createAndUpdateSubscriptionGroupConfig(fixture.broker.brokerAddress(), group);
        producer = fixture.startProducer("it-bad-input-producer");
        for (int i = 0; i < MESSAGES; i++) {
            SendResult result = producer.send(new Message(TOPIC, ("ok-" + i).getBytes(StandardCharsets.UTF_8)),
                new org.apache.rocketmq.common.message.MessageQueue(TOPIC, fixture.brokerName, 0));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus());
        }
        remoting = new NettyRemotingClient(new NettyClientConfig());
        remoting.start();
    }

    @AfterAll
    void stop() throws Exception {
        if (remoting != null) {
            remoting.shutdown();
        }
        if (producer != null) {
            producer.shutdown();
        }
        if (fixture != null) {
            fixture.close();
        }
    }

    /** After every bad request the broker still stores and serves a good one. */
    @AfterEach
    void brokerKeepsServing() throws Exception {
        fixture.broker.assertAlive();
        RemotingCommand response = send(TOPIC, 1, "still-ok".getBytes(StandardCharsets.UTF_8));
        assertEquals(ResponseCode.SUCCESS, response.getCode(), response.toString());
    }

    @Test
    void sendToAMissingTopicWithAutoCreateOffIsTopicNotExist() throws Exception {
        RemotingCommand response = send("it-no-such-topic", 0, "x".getBytes(StandardCharsets.UTF_8));
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, response.getCode(), response.toString());
        assertTrue(response.getRemark().startsWith("topic[it-no-such-topic] not exist, apply first please!"), response.getRemark());
    }

    @Test
    void aBodyOverTheMaximumSizeIsMessageIllegal() throws Exception {
        RemotingCommand response = send(TOPIC, 0, new byte[MAX_MESSAGE_SIZE + 1]);
        assertEquals(ResponseCode.MESSAGE_ILLEGAL, response.getCode(), response.toString());
    }

    @Test
    void aQueueIdBeyondTheTopicIsInvalidParameter() throws Exception {
        RemotingCommand response = send(TOPIC, QUEUES, "x".getBytes(StandardCharsets.UTF_8));
        assertEquals(ResponseCode.INVALID_PARAMETER, response.getCode(), response.toString());
        assertTrue(response.getRemark().startsWith("request queueId[" + QUEUES + "] is illegal"), response.getRemark());
    }

    @Test
    void pullWithAnUnknownGroupIsSubscriptionGroupNotExist() throws Exception {
        RemotingCommand response = pull("it-no-such-group", TOPIC, 0, 0);
        assertEquals(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, response.getCode(), response.toString());
        assertTrue(response.getRemark().startsWith("subscription group [it-no-such-group] does not exist"), response.getRemark());
    }

    @Test
    void pullFromAMissingTopicIsTopicNotExist() throws Exception {
        RemotingCommand response = pull(GROUP, "it-no-such-topic", 0, 0);
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, response.getCode(), response.toString());
    }

    @Test
    void pullFromABadQueueIdIsInvalidParameter() throws Exception {
        RemotingCommand response = pull(GROUP, TOPIC, QUEUES + 5, 0);
        assertEquals(ResponseCode.INVALID_PARAMETER, response.getCode(), response.toString());
        assertTrue(response.getRemark().startsWith("queueId[" + (QUEUES + 5) + "] is illegal"), response.getRemark());
    }

    @Test
    void pullFarBeyondTheEndIsOffsetMovedToTheMaxOffset() throws Exception {
        RemotingCommand response = pull(GROUP, TOPIC, 0, 1_000_000_000L);
        assertEquals(ResponseCode.PULL_OFFSET_MOVED, response.getCode(), response.toString());
        assertOffsets(response, MESSAGES, 0, MESSAGES);
    }

    @Test
    void pullBelowTheMinimumIsOffsetMovedToTheMinOffset() throws Exception {
        RemotingCommand response = pull(GROUP, TOPIC, 0, -5);
        assertEquals(ResponseCode.PULL_OFFSET_MOVED, response.getCode(), response.toString());
        assertOffsets(response, 0, 0, MESSAGES);
    }

    @Test
    void pullAtTheEndIsNotFound() throws Exception {
        RemotingCommand response = pull(GROUP, TOPIC, 0, MESSAGES);
        assertEquals(ResponseCode.PULL_NOT_FOUND, response.getCode(), response.toString());
        assertOffsets(response, MESSAGES, 0, MESSAGES);
    }

    @Test
    void pullFromAnEmptyQueueAtAnAbsurdOffsetIsOffsetMovedToZero() throws Exception {
        RemotingCommand response = pull(GROUP, TOPIC, 3, 12_345);
        assertEquals(ResponseCode.PULL_OFFSET_MOVED, response.getCode(), response.toString());
        assertOffsets(response, 0, 0, 0);
    }

    @Test
    void pullInsideTheQueueFindsTheMessages() throws Exception {
        RemotingCommand response = pull(GROUP, TOPIC, 0, 4);
        assertEquals(ResponseCode.SUCCESS, response.getCode(), response.toString());
        assertOffsets(response, MESSAGES, 0, MESSAGES);
        var messages = MessageDecoder.decodes(java.nio.ByteBuffer.wrap(response.getBody()));
        assertEquals(MESSAGES - 4, messages.size());
        assertEquals("ok-4", new String(messages.get(0).getBody(), StandardCharsets.UTF_8));
        assertEquals(4L, messages.get(0).getQueueOffset());
    }

    /** A pull at the end with the suspend flag is held until its timeout, then answered PULL_NOT_FOUND. */
    @Test
    void aSuspendedPullAtTheEndIsHeldUntilItsTimeout() throws Exception {
        long started = System.nanoTime();
        RemotingCommand response = pull(GROUP, TOPIC, 0, MESSAGES, true, HOLD_MS);
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        assertEquals(ResponseCode.PULL_NOT_FOUND, response.getCode(), response.toString());
        assertOffsets(response, MESSAGES, 0, MESSAGES);
        // Java checks held pulls every 5 s, so it answers between the timeout and about 5 s later.
        assertTrue(tookMs >= HOLD_MS - 100 && tookMs < HOLD_MS + 6_000, "answered after " + tookMs + " ms");
    }

    /** A held pull is woken by a message arriving in its queue, long before its timeout. */
    @Test
    void aHeldPullIsWokenByANewMessage() throws Exception {
        int queue = 2;
        long end = fixture.admin.maxOffset(new org.apache.rocketmq.common.message.MessageQueue(TOPIC, fixture.brokerName, queue));
        java.util.concurrent.CompletableFuture<RemotingCommand> held = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return pull(GROUP, TOPIC, queue, end, true, 15_000);
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
        Thread.sleep(500);
        assertTrue(!held.isDone(), "the pull was not held: " + held.getNow(null));
        long sent = System.nanoTime();
        assertEquals(ResponseCode.SUCCESS, send(TOPIC, queue, "wake-up".getBytes(StandardCharsets.UTF_8)).getCode());
        RemotingCommand response = held.get(10, TimeUnit.SECONDS);
        long tookMs = (System.nanoTime() - sent) / 1_000_000;
        assertEquals(ResponseCode.SUCCESS, response.getCode(), response.toString());
        assertTrue(tookMs < 3_000, "the held pull was answered " + tookMs + " ms after the message arrived");
        var messages = MessageDecoder.decodes(java.nio.ByteBuffer.wrap(response.getBody()));
        assertEquals("wake-up", new String(messages.get(0).getBody(), StandardCharsets.UTF_8));
        assertEquals(end, messages.get(0).getQueueOffset());
    }

    /**
     * The commit offset a pull carries is stored when the pull arrives, not when a held pull is
     * answered: an offset committed while the pull is held must survive its answer.
     */
    @Test
    void aHeldPullCommitsItsOffsetOnArrivalNotOnAnswer() throws Exception {
        String group = "it-bad-input-commit-group";
        SubscriptionGroupConfig config = new SubscriptionGroupConfig();
        config.setGroupName(group);
        fixture.admin.createAndUpdateSubscriptionGroupConfig(fixture.broker.brokerAddress(), config);
        assertEquals(ResponseCode.SUCCESS, updateOffset(group, TOPIC, 0, 8).getCode());
        java.util.concurrent.CompletableFuture<RemotingCommand> held = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return pullCommitting(group, 0, MESSAGES, 3, 1_500);
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
        Thread.sleep(400);
        assertTrue(!held.isDone(), "the pull was not held: " + held.getNow(null));
        RemotingCommand onArrival = queryOffset(group, 0, false);
        assertEquals("3", onArrival.getExtFields().get("offset"), "the pull's commit offset, stored on arrival: " + onArrival);
        assertEquals(ResponseCode.SUCCESS, updateOffset(group, TOPIC, 0, 9).getCode());
        RemotingCommand answer = held.get(15, TimeUnit.SECONDS);
        assertEquals(ResponseCode.PULL_NOT_FOUND, answer.getCode(), answer.toString());
        RemotingCommand afterAnswer = queryOffset(group, 0, false);
        assertEquals("9", afterAnswer.getExtFields().get("offset"), "the held pull's answer rolled the offset back: " + afterAnswer);
    }

    private RemotingCommand pullCommitting(String group, int queueId, long offset, long commitOffset, long suspendMs)
        throws Exception {
        PullMessageRequestHeader header = new PullMessageRequestHeader();
        header.setConsumerGroup(group);
        header.setTopic(TOPIC);
        header.setQueueId(queueId);
        header.setQueueOffset(offset);
        header.setMaxMsgNums(32);
        header.setSysFlag(PullSysFlag.buildSysFlag(true, true, true, false));
        header.setCommitOffset(commitOffset);
        header.setSuspendTimeoutMillis(suspendMs);
        header.setSubscription("*");
        header.setSubVersion(System.currentTimeMillis());
        header.setExpressionType("TAG");
        RemotingCommand request = RemotingCommand.createRequestCommand(RequestCode.PULL_MESSAGE, header);
        return remoting.invokeSync(fixture.broker.brokerAddress(), request, TIMEOUT_MS + suspendMs);
    }

    /**
     * QUERY_CONSUMER_OFFSET without a committed offset: Java answers 0 while the queue's first
     * message is still in memory, QUERY_NOT_FOUND for an empty queue or when told not to default
     * to zero; UPDATE_CONSUMER_OFFSET then sets it, but only for a group and topic that exist.
     */
    @Test
    void consumerOffsetsFollowJavasRulesForNewGroups() throws Exception {
        RemotingCommand fresh = queryOffset(GROUP, 0, null);
        assertEquals(ResponseCode.SUCCESS, fresh.getCode(), fresh.toString());
        assertEquals("0", fresh.getExtFields().get("offset"), fresh.toString());

        RemotingCommand empty = queryOffset(GROUP, 3, null);
        assertEquals(ResponseCode.QUERY_NOT_FOUND, empty.getCode(), empty.toString());
        assertEquals("Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first", empty.getRemark());

        RemotingCommand noZero = queryOffset(GROUP, 0, false);
        assertEquals(ResponseCode.QUERY_NOT_FOUND, noZero.getCode(), noZero.toString());
        assertEquals("Not found, do not set to zero, maybe this group boot first", noZero.getRemark());

        assertEquals(ResponseCode.SUCCESS, updateOffset(GROUP, TOPIC, 0, 7).getCode());
        RemotingCommand updated = queryOffset(GROUP, 0, false);
        assertEquals(ResponseCode.SUCCESS, updated.getCode(), updated.toString());
        assertEquals("7", updated.getExtFields().get("offset"), updated.toString());

        RemotingCommand unknownGroup = updateOffset("it-no-such-group", TOPIC, 0, 1);
        assertEquals(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, unknownGroup.getCode(), unknownGroup.toString());
        assertEquals("Group it-no-such-group not exist!", unknownGroup.getRemark());
        RemotingCommand unknownTopic = updateOffset(GROUP, "it-no-such-topic", 0, 1);
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, unknownTopic.getCode(), unknownTopic.toString());
        assertEquals("Topic it-no-such-topic not exist!", unknownTopic.getRemark());
    }

    private RemotingCommand queryOffset(String group, int queueId, Boolean setZeroIfNotFound) throws Exception {
        QueryConsumerOffsetRequestHeader header = new QueryConsumerOffsetRequestHeader();
        header.setConsumerGroup(group);
        header.setTopic(TOPIC);
        header.setQueueId(queueId);
        header.setSetZeroIfNotFound(setZeroIfNotFound);
        RemotingCommand request = RemotingCommand.createRequestCommand(RequestCode.QUERY_CONSUMER_OFFSET, header);
        return remoting.invokeSync(fixture.broker.brokerAddress(), request, TIMEOUT_MS);
    }

    private RemotingCommand updateOffset(String group, String topic, int queueId, long offset) throws Exception {
        UpdateConsumerOffsetRequestHeader header = new UpdateConsumerOffsetRequestHeader();
        header.setConsumerGroup(group);
        header.setTopic(topic);
        header.setQueueId(queueId);
        header.setCommitOffset(offset);
        RemotingCommand request = RemotingCommand.createRequestCommand(RequestCode.UPDATE_CONSUMER_OFFSET, header);
        return remoting.invokeSync(fixture.broker.brokerAddress(), request, TIMEOUT_MS);
    }

    private static void assertOffsets(RemotingCommand response, long nextBegin, long min, long max) {
        Map<String, String> fields = response.getExtFields();
        assertNotNull(fields, response.toString());
        assertEquals(Long.toString(nextBegin), fields.get("nextBeginOffset"), "nextBeginOffset " + fields);
        assertEquals(Long.toString(min), fields.get("minOffset"), "minOffset " + fields);
        assertEquals(Long.toString(max), fields.get("maxOffset"), "maxOffset " + fields);
    }

    private RemotingCommand send(String topic, int queueId, byte[] body) throws Exception {
        SendMessageRequestHeader header = new SendMessageRequestHeader();
        header.setProducerGroup("it-bad-input-raw");
        header.setTopic(topic);
        header.setDefaultTopic("TBW102");
        header.setDefaultTopicQueueNums(4);
        header.setQueueId(queueId);
        header.setSysFlag(0);
        header.setBornTimestamp(System.currentTimeMillis());
        header.setFlag(0);
        header.setProperties("");
        header.setReconsumeTimes(0);
        header.setUnitMode(false);
        header.setBatch(false);
        RemotingCommand request = RemotingCommand.createRequestCommand(RequestCode.SEND_MESSAGE, header);
        request.setBody(body);
        return remoting.invokeSync(fixture.broker.brokerAddress(), request, TIMEOUT_MS);
    }

    /** A pull that is answered at once (no suspend flag), with a "*" subscription carried along. */
    private RemotingCommand pull(String group, String topic, int queueId, long offset) throws Exception {
        return pull(group, topic, queueId, offset, false, 0);
    }

    private RemotingCommand pull(String group, String topic, int queueId, long offset, boolean suspend, long suspendMs)
        throws Exception {
        PullMessageRequestHeader header = new PullMessageRequestHeader();
        header.setConsumerGroup(group);
        header.setTopic(topic);
        header.setQueueId(queueId);
        header.setQueueOffset(offset);
        header.setMaxMsgNums(32);
        header.setSysFlag(PullSysFlag.buildSysFlag(false, suspend, true, false));
        header.setCommitOffset(0L);
        header.setSuspendTimeoutMillis(suspendMs);
        header.setSubscription("*");
        header.setSubVersion(System.currentTimeMillis());
        header.setExpressionType("TAG");
        RemotingCommand request = RemotingCommand.createRequestCommand(RequestCode.PULL_MESSAGE, header);
        return remoting.invokeSync(fixture.broker.brokerAddress(), request, TIMEOUT_MS + suspendMs);
    }
}
