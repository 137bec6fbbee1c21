package org.ferrocket.interop.broker.v49;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Timer messages from a 4.x client, which has no {@code setDeliverTimeMs}: the 4.9.8 producer sets
 * the 5.x property {@code TIMER_DELIVER_MS} itself (4.9.8 does not reserve the name), and the broker
 * holds the message until then (never early, at most 1.5 s late). The Aliyun-style
 * {@code __STARTDELIVERTIME} property is only a metrics hint to the 5.3.3 broker: such a message is
 * delivered at once, by Java and by ours alike.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TimerWithJava49ClientTest {

    private static final String TOPIC = "it49-timer";
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final long DELAY_MS = 4_000;
    private static final long LATE_MAX_MS = 1_500;

    private BrokerUnderTest broker;
    private DefaultMQAdminExt admin;
    private DefaultMQProducer producer;
    private DefaultMQPushConsumer consumer;
    /** Body to the wall-clock time it was consumed. */
    private final Map<String, Long> consumed = new ConcurrentHashMap<>();

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(getClass());
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        // The support module turns Java's wheel off for speed; on here, as by default.
        broker = BrokerUnderTest.start(workDir, classpath, "ROCKETMQ", Map.of("timerWheelEnable", "true"));
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(broker.namesrvAddress());
        admin.setInstanceName("it49-timer-admin-" + ProcessHandle.current().pid());
        admin.start();
        awaitRegistered();
        admin.createAndUpdateTopicConfig(broker.brokerAddress(), new TopicConfig(TOPIC, 2, 2, 6));
        Poll.until("the route of " + TOPIC, WAIT, () -> admin.examineTopicRouteInfo(TOPIC),
            (TopicRouteData route) -> !route.getQueueDatas().isEmpty());
        producer = new DefaultMQProducer("it49-timer-producer");
        producer.setNamesrvAddr(broker.namesrvAddress());
        producer.setInstanceName("it49-timer-producer-" + ProcessHandle.current().pid());
        producer.setSendMsgTimeout(10_000);
        producer.start();
        consumer = new DefaultMQPushConsumer("it49-timer-group");
        consumer.setNamesrvAddr(broker.namesrvAddress());
        consumer.setInstanceName("it49-timer-consumer-" + ProcessHandle.current().pid());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            long now = System.currentTimeMillis();
            for (MessageExt message : messages) {
                consumed.putIfAbsent(new String(message.getBody(), StandardCharsets.UTF_8), now);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        Thread.sleep(3_000);
    }

    @AfterAll
    void stop() throws Exception {
        if (consumer != null) {
            consumer.shutdown();
        }
        if (producer != null) {
            producer.shutdown();
        }
        if (admin != null) {
            admin.shutdown();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void aTimerDeliverTimeIsHonouredAndStartDeliverTimeIsNot() throws Exception {
        long sentAt = System.currentTimeMillis();
        long deliverAt = sentAt + DELAY_MS;
        Message timer = new Message(TOPIC, "t", "timer".getBytes(StandardCharsets.UTF_8));
        timer.putUserProperty("TIMER_DELIVER_MS", Long.toString(deliverAt));
        assertEquals(SendStatus.SEND_OK, producer.send(timer).getSendStatus());
        Message startDeliver = new Message(TOPIC, "t", "start-deliver".getBytes(StandardCharsets.UTF_8));
        startDeliver.putUserProperty("__STARTDELIVERTIME", Long.toString(deliverAt));
        assertEquals(SendStatus.SEND_OK, producer.send(startDeliver).getSendStatus());

        Poll.until("both consumed", WAIT, () -> consumed.size(), n -> n >= 2);
        long timerLateness = consumed.get("timer") - deliverAt;
        assertTrue(timerLateness >= 0, "the timer came " + (-timerLateness) + " ms early");
        assertTrue(timerLateness <= LATE_MAX_MS, "the timer came " + timerLateness + " ms late");
        long startDeliverAfter = consumed.get("start-deliver") - sentAt;
        assertTrue(startDeliverAfter < DELAY_MS / 2, "__STARTDELIVERTIME held for " + startDeliverAfter + " ms");
    }

    private ClusterInfo awaitRegistered() throws Exception {
        Predicate<ClusterInfo> listed = info -> info.getBrokerAddrTable().values().stream()
            .anyMatch(data -> broker.brokerAddress().equals(data.getBrokerAddrs().get(0L)));
        if (broker.impl() == BrokerUnderTest.Impl.FERROCKET) {
            return Poll.until("the broker registered", WAIT, admin::examineBrokerClusterInfo, listed);
        }
        try {
            return Poll.until("the broker registered", Duration.ofSeconds(3), admin::examineBrokerClusterInfo, listed);
        } catch (AssertionError notYet) {
            // Setting brokerPermission (to its current value) makes the Java broker register at once.
            Properties permission = new Properties();
            permission.setProperty("brokerPermission", "6");
            admin.updateBrokerConfig(broker.brokerAddress(), permission);
            return Poll.until("the broker registered", WAIT, admin::examineBrokerClusterInfo, listed);
        }
    }
}
