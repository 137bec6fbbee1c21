package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.AckCallback;
import org.apache.rocketmq.client.consumer.AckResult;
import org.apache.rocketmq.client.consumer.AckStatus;
import org.apache.rocketmq.client.consumer.PopCallback;
import org.apache.rocketmq.client.consumer.PopResult;
import org.apache.rocketmq.client.consumer.PopStatus;
import org.apache.rocketmq.client.impl.MQClientAPIImpl;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.header.AckMessageRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.ExtraInfoUtil;
import org.apache.rocketmq.remoting.protocol.header.PopMessageRequestHeader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * POP across a SIGKILL, with the 5.3.3 client's own POP calls ({@code MQClientAPIImpl}, which also
 * builds each message's receipt): two of four popped messages are acked, the broker is killed once
 * its offsets were saved (every 5 s) and started again on the same store. The two unacked messages
 * come back (reconsumeTimes 1) after their invisible time; the two acked ones never do.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PopCrashTest {

    private static final String TOPIC = "it-pop-crash";
    private static final long INVISIBLE_MS = 20_000;
    /** Longer than the broker's offset-saving interval (5 s). */
    private static final Duration BEFORE_KILL = Duration.ofSeconds(7);
    private static final Duration RETURN_WAIT = Duration.ofSeconds(90);
    private static final Duration QUIET = Duration.ofSeconds(10);

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private final String group = BrokerFixture.uniqueName("it-pop-crash-group");

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of("timerWheelEnable", "true"));
        producer = fixture.startProducer("it-pop-crash-producer");
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

    @Test
    void unackedMessagesComeBackAfterASigkillAndAckedOnesDoNot() throws Exception {
        fixture.createTopic(TOPIC, 1);
        for (String body : List.of("ack-0", "ack-1", "keep-0", "keep-1")) {
            assertEquals(SendStatus.SEND_OK,
                producer.send(new Message(TOPIC, body.getBytes(StandardCharsets.UTF_8))).getSendStatus());
        }
        List<MessageExt> popped = pop(Duration.ofSeconds(2));
        assertEquals(List.of("ack-0", "ack-1", "keep-0", "keep-1"), bodies(popped));
        for (MessageExt message : popped) {
            if (body(message).startsWith("ack-")) {
                assertEquals(AckStatus.OK, ack(message).getStatus());
            }
        }
        Thread.sleep(BEFORE_KILL.toMillis());
        fixture.broker.killAndRestartBroker();
        BrokerFixture.awaitRegistered(fixture.broker, fixture.admin);
        producer.getDefaultMQProducerImpl().getMqClientFactory().updateTopicRouteInfoFromNameServer(TOPIC);

        List<MessageExt> after = new ArrayList<>();
        long deadline = System.nanoTime() + RETURN_WAIT.toNanos();
        while (bodies(after).stream().filter(b -> b.startsWith("keep-")).count() < 2 && System.nanoTime() < deadline) {
            after.addAll(pop(Duration.ofSeconds(5)));
        }
        long quietUntil = System.nanoTime() + QUIET.toNanos();
        while (System.nanoTime() < quietUntil) {
            after.addAll(pop(Duration.ofSeconds(5)));
        }
        System.out.println("PopCrashTest: broker " + fixture.broker.impl() + " after the restart popped " + bodies(after));
        assertEquals(List.of("keep-0", "keep-1"), bodies(after), "after the restart\n" + fixture.broker.brokerTail(20));
        assertTrue(after.stream().allMatch(m -> m.getReconsumeTimes() == 1), "reconsume times " + after);
    }

    private MQClientAPIImpl api() {
        return producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
    }

    /** One POP_MESSAGE of every queue, held up to {@code poll}; what it found. */
    private List<MessageExt> pop(Duration poll) throws Exception {
        PopMessageRequestHeader header = new PopMessageRequestHeader();
        header.setConsumerGroup(group);
        header.setTopic(TOPIC);
        header.setQueueId(-1);
        header.setMaxMsgNums(32);
        header.setInvisibleTime(INVISIBLE_MS);
        header.setInitMode(1);
        header.setExpType("TAG");
        header.setExp("*");
        header.setPollTime(poll.toMillis());
        header.setBornTime(System.currentTimeMillis());
        CompletableFuture<PopResult> result = new CompletableFuture<>();
        api().popMessageAsync(fixture.brokerName, fixture.broker.brokerAddress(), header, poll.toMillis() + 10_000,
            new PopCallback() {
                @Override
                public void onSuccess(PopResult popResult) {
                    result.complete(popResult);
                }

                @Override
                public void onException(Throwable e) {
                    result.completeExceptionally(e);
                }
            });
        PopResult found = result.get(poll.toMillis() + 15_000, TimeUnit.MILLISECONDS);
        return found.getPopStatus() == PopStatus.FOUND ? found.getMsgFoundList() : List.of();
    }

    private AckResult ack(MessageExt message) throws Exception {
        String extraInfo = message.getProperty(MessageConst.PROPERTY_POP_CK);
        String[] fields = ExtraInfoUtil.split(extraInfo);
        AckMessageRequestHeader header = new AckMessageRequestHeader();
        header.setConsumerGroup(group);
        header.setTopic(ExtraInfoUtil.getRealTopic(fields, TOPIC, group));
        header.setQueueId(ExtraInfoUtil.getQueueId(fields));
        header.setOffset(ExtraInfoUtil.getQueueOffset(fields));
        header.setExtraInfo(extraInfo);
        CompletableFuture<AckResult> result = new CompletableFuture<>();
        api().ackMessageAsync(fixture.broker.brokerAddress(), 5_000, new AckCallback() {
            @Override
            public void onSuccess(AckResult ackResult) {
                result.complete(ackResult);
            }

            @Override
            public void onException(Throwable e) {
                result.completeExceptionally(e);
            }
        }, header);
        return result.get(10, TimeUnit.SECONDS);
    }

    private static String body(MessageExt message) {
        return new String(message.getBody(), StandardCharsets.UTF_8);
    }

    private static List<String> bodies(List<MessageExt> messages) {
        return messages.stream().map(PopCrashTest::body).sorted().toList();
    }
}
