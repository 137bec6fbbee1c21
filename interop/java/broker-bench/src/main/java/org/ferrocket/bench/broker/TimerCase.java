package org.ferrocket.bench.broker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Timer messages (5.x {@code setDeliverTimeMs}, the TIMER_DELIVER_MS property): M messages all due
 * at the same whole second T, sent by N threads, then consumed by one push consumer subscribed
 * beforehand. Figures: scheduling sends/s (the broker parks each in {@code rmq_sys_wheel_timer}),
 * when the broker had written the first and the last back to the real topic (its message count,
 * polled through the admin API), the
 * delivery rate from the first to the last message consumed after T, how long after T the last
 * one arrived, each message's lateness (consumed minus due; negative would be early), and the
 * broker's CPU time while scheduling and while delivering.
 *
 * <p>The official {@code benchmark.timer.TimerProducer} does not fit a one-run comparison: its
 * {@code -n} option reads the topic's value (so it only ever reaches localhost:9876), its
 * messages are due two minutes later at the earliest, and it never exits.
 */
final class TimerCase {

    private static final String RUN_PROPERTY = "benchRun";
    private static final String INDEX_PROPERTY = "benchIndex";
    private static final String DUE_PROPERTY = "benchDueMs";
    private static final String WARMUP_RUN = "warmup";
    /** Plain messages consumed first: proof that the consumer holds its queues and is pulling. */
    private static final int WARMUP_MESSAGES = 64;
    private static final Duration WARMUP_TIMEOUT = Duration.ofSeconds(90);
    /** After T, how long to wait for the last timer message before reporting what arrived. */
    private static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(120);
    /** Lateness up to 5 min in 10 ms buckets (Java's precision is 1 s). */
    private static final long LATENESS_BUCKET_MS = 10;
    private static final long LATENESS_LIMIT_MS = 300_000;
    private static final long POLL_MS = 10;

    record Result(int messages, long scheduled, long sendFailed, double scheduleSeconds, double scheduledPerSecond,
                  double scheduleCpuSeconds, long delivered, long duplicates, long early, double firstToLastSeconds,
                  double deliveredPerSecond, long firstAfterDueMs, long lastAfterDueMs, long latenessP50Ms,
                  long latenessP99Ms, double deliveryCpuSeconds, boolean overran, long firstInTopicAfterDueMs,
                  long allInTopicAfterDueMs) {
        /** Broker-side delivery rate: messages written back to the real topic per second, first to last. */
        double inTopicPerSecond() {
            double seconds = (allInTopicAfterDueMs - firstInTopicAfterDueMs) / 1e3;
            return allInTopicAfterDueMs < 0 || seconds <= 0 ? Double.NaN : scheduled / seconds;
        }

        double scheduleCpuMicrosPerMessage() {
            return scheduled == 0 ? Double.NaN : scheduleCpuSeconds * 1e6 / scheduled;
        }

        double deliveryCpuMicrosPerMessage() {
            return delivered == 0 ? Double.NaN : deliveryCpuSeconds * 1e6 / delivered;
        }
    }

    private TimerCase() {
    }

    static Result run(String namesrv, String topic, Admin admin, BrokerProcess broker, int messages, int threads,
                      Duration lead, int bodyBytes, String label) throws Exception {
        String runId = label + "-" + System.currentTimeMillis();
        Receipts receipts = new Receipts(messages);
        LongAdder warmupSeen = new LongAdder();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("bench_timer_consumer");
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("bench-timer-" + label);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            long now = System.currentTimeMillis();
            for (MessageExt msg : msgs) {
                String run = msg.getUserProperty(RUN_PROPERTY);
                if (WARMUP_RUN.equals(run)) {
                    warmupSeen.increment();
                } else if (runId.equals(run)) {
                    receipts.record(Integer.parseInt(msg.getUserProperty(INDEX_PROPERTY)),
                        Long.parseLong(msg.getUserProperty(DUE_PROPERTY)), now);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        DefaultMQProducer producer = new DefaultMQProducer("bench_timer_producer");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("bench-timer-" + label);
        producer.setSendMsgTimeout(10_000);
        consumer.start();
        producer.start();
        try {
            byte[] body = new byte[bodyBytes];
            Arrays.fill(body, (byte) 't');
            warmUp(producer, topic, body, warmupSeen);
            long baseline = admin.messageCount(topic);

            // A whole second: Java files a timer under its second (timerPrecisionMs 1000), so an
            // unaligned time would let it deliver up to a second before the asked instant.
            long due = (System.currentTimeMillis() + lead.toMillis() + 999) / 1000 * 1000;
            LongAdder scheduled = new LongAdder();
            LongAdder failed = new LongAdder();
            double cpu0 = broker.cpuSeconds();
            long t0 = System.nanoTime();
            List<Thread> senders = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int first = i;
                Thread sender = new Thread(() -> {
                    for (int index = first; index < messages; index += threads) {
                        Message msg = new Message(topic, body);
                        msg.putUserProperty(RUN_PROPERTY, runId);
                        msg.putUserProperty(INDEX_PROPERTY, Integer.toString(index));
                        msg.putUserProperty(DUE_PROPERTY, Long.toString(due));
                        msg.setDeliverTimeMs(due);
                        try {
                            SendResult result = producer.send(msg);
                            if (result.getSendStatus() == SendStatus.SEND_OK) {
                                scheduled.increment();
                            } else {
                                failed.increment();
                            }
                        } catch (Exception e) {
                            failed.increment();
                        }
                    }
                }, "bench-timer-" + i);
                sender.start();
                senders.add(sender);
            }
            for (Thread sender : senders) {
                sender.join();
            }
            long t1 = System.nanoTime();
            double cpu1 = broker.cpuSeconds();
            long sentAt = System.currentTimeMillis();
            boolean overran = sentAt >= due;
            double scheduleSeconds = (t1 - t0) / 1e9;

            // Delivery CPU is counted from just before T; the idle wait before it is left out.
            long untilDue = due - 200 - System.currentTimeMillis();
            if (untilDue > 0) {
                Thread.sleep(untilDue);
            }
            double cpu2 = broker.cpuSeconds();
            long deadline = due + DELIVERY_TIMEOUT.toMillis();
            // The consumer's pace bounds what it sees; the topic's own message count shows when the
            // broker wrote each timer message back to its real topic, whatever the consumer does.
            long firstInTopic = -1;
            long allInTopic = -1;
            while ((receipts.delivered() < scheduled.sum() || allInTopic < 0) && System.currentTimeMillis() < deadline) {
                if (allInTopic < 0) {
                    long inTopic = admin.messageCount(topic) - baseline;
                    long now = System.currentTimeMillis();
                    if (inTopic > 0 && firstInTopic < 0) {
                        firstInTopic = now;
                    }
                    if (inTopic >= scheduled.sum()) {
                        allInTopic = now;
                    }
                }
                Thread.sleep(POLL_MS);
            }
            double cpu3 = broker.cpuSeconds();
            long firstAt = receipts.firstAt.get();
            long lastAt = receipts.lastAt.get();
            long delivered = receipts.delivered();
            double firstToLast = (lastAt - firstAt) / 1e3;
            return new Result(messages, scheduled.sum(), failed.sum(), scheduleSeconds, scheduled.sum() / scheduleSeconds,
                cpu1 - cpu0, delivered, receipts.duplicates.sum(), receipts.early.sum(), firstToLast,
                firstToLast > 0 ? (delivered - 1) / firstToLast : Double.NaN, firstAt - due, lastAt - due,
                receipts.lateness.quantile(0.50), receipts.lateness.quantile(0.99), cpu3 - cpu2, overran,
                firstInTopic < 0 ? -1 : firstInTopic - due, allInTopic < 0 ? -1 : allInTopic - due);
        } finally {
            producer.shutdown();
            consumer.shutdown();
        }
    }

    private static void warmUp(DefaultMQProducer producer, String topic, byte[] body, LongAdder seen) throws Exception {
        for (int i = 0; i < WARMUP_MESSAGES; i++) {
            Message msg = new Message(topic, body);
            msg.putUserProperty(RUN_PROPERTY, WARMUP_RUN);
            producer.send(msg);
        }
        long deadline = System.nanoTime() + WARMUP_TIMEOUT.toNanos();
        while (seen.sum() < WARMUP_MESSAGES) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the consumer received " + seen.sum() + " of " + WARMUP_MESSAGES
                    + " plain warm-up messages in " + WARMUP_TIMEOUT);
            }
            Thread.sleep(POLL_MS);
        }
    }

    /** What the consumer saw of the timer messages: once each, when, how late. */
    private static final class Receipts {
        private final AtomicIntegerArray seen;
        private final LongAdder unique = new LongAdder();
        private final LongAdder duplicates = new LongAdder();
        private final LongAdder early = new LongAdder();
        private final AtomicLong firstAt = new AtomicLong(Long.MAX_VALUE);
        private final AtomicLong lastAt = new AtomicLong(Long.MIN_VALUE);
        private final LatencyHistogram lateness = new LatencyHistogram(LATENESS_BUCKET_MS, LATENESS_LIMIT_MS);

        Receipts(int messages) {
            seen = new AtomicIntegerArray(messages);
        }

        void record(int index, long dueMs, long nowMs) {
            if (index < 0 || index >= seen.length() || seen.getAndIncrement(index) > 0) {
                duplicates.increment();
                return;
            }
            unique.increment();
            firstAt.accumulateAndGet(nowMs, Math::min);
            lastAt.accumulateAndGet(nowMs, Math::max);
            if (nowMs < dueMs) {
                early.increment();
            }
            lateness.record(nowMs - dueMs);
        }

        long delivered() {
            return unique.sum();
        }
    }
}
