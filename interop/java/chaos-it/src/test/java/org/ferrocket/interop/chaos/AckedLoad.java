package org.ferrocket.interop.chaos;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageDecoder;

/**
 * The load of a fault test: a few threads of one official 5.3.3 producer sending without pause,
 * each message with a unique key. Every SEND_OK is written to the acknowledged-ids log (msgId,
 * key, queue, offset: a line per acknowledgement, flushed before the next send) and kept in memory
 * for the read-back. Anything else (an exception, FLUSH_DISK_TIMEOUT) is counted, not logged: the
 * message may or may not be stored, so it is neither lost nor a duplicate if it turns up.
 */
final class AckedLoad implements AutoCloseable {

    /** After a failed send: the broker is down or refusing, no point in spinning on it. */
    private static final long PAUSE_AFTER_FAILURE_MS = 20;
    /** Big enough to cross consume-queue and index entries of real size, small enough to send fast. */
    private static final int BODY_BYTES = 200;
    static final String TAG = "chaos";

    private final DefaultMQProducer producer;
    private final String topic;
    private final String keyPrefix;
    private final BufferedWriter ackLog;
    /** key -> msgId of every acknowledged send. */
    private final Map<String, String> acknowledged = new ConcurrentHashMap<>();
    private final AtomicLong unconfirmed = new AtomicLong();
    private final Map<String, AtomicLong> refusals = new ConcurrentHashMap<>();
    /** The broker's remark of the latest refusal, by response code. */
    private final Map<Integer, String> refusalRemarks = new ConcurrentHashMap<>();
    /** Pause after each send: a test that must not fill its disk in one go paces the load. */
    private final long pauseBetweenSendsMs;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;
    /** Nanos of the first SEND_OK after {@link #markFault}, or -1 while there has been none. */
    private final AtomicLong firstAckAfterMark = new AtomicLong(-1);
    /** The highest commit-log offset (a record's start, from its offset message id) acknowledged. */
    private final AtomicLong highestAckedPhysicalOffset = new AtomicLong(-1);

    AckedLoad(DefaultMQProducer producer, String topic, String keyPrefix, Path ackLogFile, int threadCount)
        throws IOException {
        this(producer, topic, keyPrefix, ackLogFile, threadCount, 0);
    }

    AckedLoad(DefaultMQProducer producer, String topic, String keyPrefix, Path ackLogFile, int threadCount,
              long pauseBetweenSendsMs) throws IOException {
        this.pauseBetweenSendsMs = pauseBetweenSendsMs;
        this.producer = producer;
        this.topic = topic;
        this.keyPrefix = keyPrefix;
        this.ackLog = Files.newBufferedWriter(ackLogFile, StandardCharsets.UTF_8);
        for (int t = 0; t < threadCount; t++) {
            int thread = t;
            Thread sender = new Thread(() -> sendLoop(thread), "acked-load-" + t);
            sender.setDaemon(true);
            threads.add(sender);
        }
    }

    void start() {
        threads.forEach(Thread::start);
    }

    private void sendLoop(int thread) {
        byte[] filler = "x".repeat(BODY_BYTES).getBytes(StandardCharsets.UTF_8);
        for (long seq = 0; running; seq++) {
            String key = keyPrefix + "-" + thread + "-" + seq;
            Message message = new Message(topic, TAG, key, filler);
            try {
                SendResult result = producer.send(message);
                if (result.getSendStatus() == SendStatus.SEND_OK) {
                    acknowledge(key, result);
                } else {
                    refusals.computeIfAbsent(result.getSendStatus().name(), s -> new AtomicLong()).incrementAndGet();
                    unconfirmed.incrementAndGet();
                }
            } catch (Exception e) {
                MQBrokerException refused = brokerRefusal(e);
                if (refused != null) {
                    refusals.computeIfAbsent("code " + refused.getResponseCode(), s -> new AtomicLong()).incrementAndGet();
                    refusalRemarks.put(refused.getResponseCode(), String.valueOf(refused.getErrorMessage()));
                }
                unconfirmed.incrementAndGet();
                pause();
            }
            if (pauseBetweenSendsMs > 0) {
                sleep(pauseBetweenSendsMs);
            }
        }
    }

    private void acknowledge(String key, SendResult result) throws IOException {
        String previous = acknowledged.putIfAbsent(key, result.getMsgId());
        if (previous != null) {
            throw new IllegalStateException("key " + key + " acknowledged twice");
        }
        firstAckAfterMark.compareAndSet(-1, System.nanoTime());
        long physical = MessageDecoder.decodeMessageId(result.getOffsetMsgId()).getOffset();
        highestAckedPhysicalOffset.accumulateAndGet(physical, Math::max);
        synchronized (ackLog) {
            ackLog.write(result.getMsgId() + " " + key + " " + result.getMessageQueue().getQueueId() + " "
                + result.getQueueOffset() + "\n");
            ackLog.flush();
        }
    }

    /**
     * The broker's answer inside a failed send: the producer wraps a refusal whose code it would
     * retry (SERVICE_NOT_AVAILABLE among them) in an MQClientException once its retries are spent.
     */
    private static MQBrokerException brokerRefusal(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof MQBrokerException refused) {
                return refused;
            }
        }
        return null;
    }

    private static void pause() {
        sleep(PAUSE_AFTER_FAILURE_MS);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Forgets the first acknowledgement seen so far: the next SEND_OK is the first after a fault. */
    void markFault() {
        firstAckAfterMark.set(-1);
    }

    /** Nanos of the first SEND_OK since {@link #markFault}, or -1 while there is none. */
    long firstAckAfterMark() {
        return firstAckAfterMark.get();
    }

    /** The commit-log offset where the latest-stored acknowledged record starts, or -1. */
    long highestAckedPhysicalOffset() {
        return highestAckedPhysicalOffset.get();
    }

    int acknowledgedCount() {
        return acknowledged.size();
    }

    /** key -> msgId of every acknowledged send so far. */
    Map<String, String> acknowledged() {
        return Map.copyOf(acknowledged);
    }

    Set<String> acknowledgedKeys() {
        return Set.copyOf(acknowledged.keySet());
    }

    long unconfirmed() {
        return unconfirmed.get();
    }

    /** Refusals by SendStatus name or "code N" (the broker's response code). */
    Map<String, Long> refusals() {
        Map<String, Long> copy = new java.util.TreeMap<>();
        refusals.forEach((k, v) -> copy.put(k, v.get()));
        return copy;
    }

    /** The broker's remark of the latest refusal with {@code code}, or null. */
    String refusalRemark(int code) {
        return refusalRemarks.get(code);
    }

    /** Stops the senders (each finishes its send in flight) and closes the log. */
    @Override
    public void close() throws IOException, InterruptedException {
        running = false;
        for (Thread thread : threads) {
            thread.join(30_000);
        }
        synchronized (ackLog) {
            ackLog.close();
        }
    }
}
