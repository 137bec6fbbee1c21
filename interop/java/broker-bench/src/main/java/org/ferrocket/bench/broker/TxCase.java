package org.ferrocket.bench.broker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Transactional sends on the commit path, as the official {@code TransactionProducer} benchmark
 * does them: N threads each loop on {@code sendMessageInTransaction} (the prepared half message,
 * a synchronous send), whose local transaction answers COMMIT_MESSAGE at once, so the client
 * then sends END_TRANSACTION (one-way) and the broker writes the message to its real topic.
 * Throughput is counted over a window after a warm-up (Java's JIT, our connection set-up), and
 * the broker's CPU time over the same window. At the end, the messages visible in the topic are
 * compared with the acknowledged commits: a commit lost or doubled shows there.
 */
final class TxCase {

    /** Per-send latency up to 2 s in 50 µs buckets. */
    private static final long LATENCY_BUCKET_MICROS = 50;
    private static final long LATENCY_LIMIT_MICROS = 2_000_000;
    /** After a failed send (a broker busy answer, say), so a failing broker is not hammered. */
    private static final long FAILURE_PAUSE_MS = 100;

    record Result(long sendsInWindow, double seconds, double sendsPerSecond, long p50Micros, long p99Micros,
                  double cpuSeconds, double clientCpuSeconds, long failed, long checks, long acknowledged,
                  long visible) {
        double cpuMicrosPerMessage() {
            return sendsInWindow == 0 ? Double.NaN : cpuSeconds * 1e6 / sendsInWindow;
        }

        double clientCpuMicrosPerMessage() {
            return sendsInWindow == 0 ? Double.NaN : clientCpuSeconds * 1e6 / sendsInWindow;
        }
    }

    private TxCase() {
    }

    static Result run(String namesrv, String topic, Admin admin, BrokerProcess broker, int threads, Duration warmup,
                      Duration window, int bodyBytes, String label) throws Exception {
        LongAdder checks = new LongAdder();
        TransactionMQProducer producer = new TransactionMQProducer("bench_tx_producer");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("bench-tx-" + label);
        producer.setSendMsgTimeout(10_000);
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return LocalTransactionState.COMMIT_MESSAGE;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                // Every transaction here was committed at once; a check means the broker had not
                // (yet) recorded the commit when its check loop looked.
                checks.increment();
                return LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        producer.start();
        try {
            byte[] body = new byte[bodyBytes];
            Arrays.fill(body, (byte) 'a');
            AtomicBoolean stop = new AtomicBoolean();
            AtomicBoolean measuring = new AtomicBoolean();
            LongAdder committed = new LongAdder();
            LongAdder failed = new LongAdder();
            LatencyHistogram latency = new LatencyHistogram(LATENCY_BUCKET_MICROS, LATENCY_LIMIT_MICROS);
            List<Thread> senders = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Thread sender = new Thread(() -> sendUntilStopped(producer, topic, body, stop, measuring, committed, failed,
                    latency), "bench-tx-" + i);
                sender.start();
                senders.add(sender);
            }
            Thread.sleep(warmup.toMillis());
            long count0 = committed.sum();
            double cpu0 = broker.cpuSeconds();
            double clientCpu0 = BrokerProcess.ownCpuSeconds();
            long t0 = System.nanoTime();
            measuring.set(true);
            Thread.sleep(window.toMillis());
            long count1 = committed.sum();
            double cpu1 = broker.cpuSeconds();
            double clientCpu1 = BrokerProcess.ownCpuSeconds();
            long t1 = System.nanoTime();
            measuring.set(false);
            stop.set(true);
            for (Thread sender : senders) {
                sender.join();
            }
            double seconds = (t1 - t0) / 1e9;
            long inWindow = count1 - count0;
            // END_TRANSACTION is one-way: give the last commits a moment to land before counting.
            long visible = admin.awaitMessageCount(topic, committed.sum(), Duration.ofSeconds(10));
            return new Result(inWindow, seconds, inWindow / seconds, latency.quantile(0.50), latency.quantile(0.99),
                cpu1 - cpu0, clientCpu1 - clientCpu0, failed.sum(), checks.sum(), committed.sum(), visible);
        } finally {
            producer.shutdown();
        }
    }

    private static void sendUntilStopped(TransactionMQProducer producer, String topic, byte[] body, AtomicBoolean stop,
                                         AtomicBoolean measuring, LongAdder committed, LongAdder failed,
                                         LatencyHistogram latency) {
        while (!stop.get()) {
            // No keys, as the official TransactionProducer: no index entries on either broker.
            Message msg = new Message(topic, body);
            long start = System.nanoTime();
            try {
                TransactionSendResult result = producer.sendMessageInTransaction(msg, null);
                if (result.getSendStatus() == SendStatus.SEND_OK
                    && result.getLocalTransactionState() == LocalTransactionState.COMMIT_MESSAGE) {
                    committed.increment();
                    if (measuring.get()) {
                        latency.record((System.nanoTime() - start) / 1_000);
                    }
                } else {
                    failed.increment();
                }
            } catch (Exception e) {
                failed.increment();
                pause();
            }
        }
    }

    private static void pause() {
        try {
            Thread.sleep(FAILURE_PAUSE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
