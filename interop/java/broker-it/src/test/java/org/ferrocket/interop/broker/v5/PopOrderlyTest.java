package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
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
 * Orderly POP with the 5.3.3 client's own calls: a queue popped with {@code order=true} stays blocked
 * for the group while its pop is in flight, acks move the group on in order, and messages whose
 * invisible time ran out come back in the same order with reconsumeTimes 1 (the broker's
 * orderCountInfo, which the client turns into reconsume times).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PopOrderlyTest {

    private static final String TOPIC = "it-pop-orderly";
    private static final long INVISIBLE_MS = 5_000;

    private BrokerFixture fixture;
    private DefaultMQProducer producer;
    private final String group = BrokerFixture.uniqueName("it-pop-orderly-group");

    @BeforeAll
    void start() throws Exception {
        fixture = BrokerFixture.start(getClass(), Map.of("timerWheelEnable", "true"));
        producer = fixture.startProducer("it-pop-orderly-producer");
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
    void anOrderlyPopBlocksItsQueueUntilAckedOrOver() throws Exception {
        fixture.createTopic(TOPIC, 1);
        for (String body : List.of("m0", "m1", "m2")) {
            assertEquals(SendStatus.SEND_OK,
                producer.send(new Message(TOPIC, body.getBytes(StandardCharsets.UTF_8))).getSendStatus());
        }
        List<MessageExt> first = pop(2);
        assertEquals(List.of("m0", "m1"), bodies(first));
        assertTrue(first.stream().allMatch(m -> m.getReconsumeTimes() == 0), "first pop " + first);
        assertEquals(List.of(), bodies(pop(2)), "blocked while the pop is in flight");
        assertEquals(AckStatus.OK, ack(first.get(0)).getStatus());
        assertEquals(List.of(), bodies(pop(2)), "m1 still in flight");

        Thread.sleep(INVISIBLE_MS + 1_000);
        List<MessageExt> again = pop(2);
        assertEquals(List.of("m1", "m2"), bodies(again), "from the first unacked message\n" + fixture.broker.brokerTail(20));
        assertEquals(1, again.get(0).getReconsumeTimes(), "m1 was popped once before");
        assertEquals(0, again.get(1).getReconsumeTimes(), "m2 was not");
        for (MessageExt message : again) {
            assertEquals(AckStatus.OK, ack(message).getStatus());
        }
        assertEquals(SendStatus.SEND_OK,
            producer.send(new Message(TOPIC, "m3".getBytes(StandardCharsets.UTF_8))).getSendStatus());
        assertEquals(List.of("m3"), bodies(pop(2)), "the acks freed the queue");
    }

    private MQClientAPIImpl api() {
        return producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
    }

    /** One orderly POP_MESSAGE of queue 0, answered at once; what it found, in queue order. */
    private List<MessageExt> pop(int max) throws Exception {
        PopMessageRequestHeader header = new PopMessageRequestHeader();
        header.setConsumerGroup(group);
        header.setTopic(TOPIC);
        header.setQueueId(0);
        header.setMaxMsgNums(max);
        header.setInvisibleTime(INVISIBLE_MS);
        header.setInitMode(1);
        header.setExpType("TAG");
        header.setExp("*");
        header.setOrder(true);
        CompletableFuture<PopResult> result = new CompletableFuture<>();
        api().popMessageAsync(fixture.brokerName, fixture.broker.brokerAddress(), header, 10_000,
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
        PopResult found = result.get(15, TimeUnit.SECONDS);
        if (found.getPopStatus() != PopStatus.FOUND) {
            return List.of();
        }
        List<MessageExt> messages = new ArrayList<>(found.getMsgFoundList());
        messages.sort(java.util.Comparator.comparingLong(MessageExt::getQueueOffset));
        return messages;
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

    private static List<String> bodies(List<MessageExt> messages) {
        return messages.stream().map(m -> new String(m.getBody(), StandardCharsets.UTF_8)).toList();
    }
}
