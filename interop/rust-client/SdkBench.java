// The official Apache RocketMQ 5.3.3 Java client measured exactly as `ferrocket bench producer`
// and `ferrocket bench consumer` measure the Rust SDK (crates/cli/src/bench_sdk.rs), so
// interop/rust-client/bench.sh can set the two side by side against the same broker:
//   producer: `threads` threads loop on a synchronous DefaultMQProducer.send for `seconds` after
//             `warmup` seconds; sends/s, latency percentiles, CPU per message;
//   consumer: a DefaultMQPushConsumer in a fresh group, CONSUME_FROM_FIRST_OFFSET, consume
//             threads = `threads`, reads `messages` of the topic's backlog; msgs/s and CPU per
//             message from the first message to the last.
// CPU is utime + stime of /proc/self/stat: the whole JVM (JIT and GC threads included), as the
// Rust side counts its whole process. Prints the same `RESULT key=value ...` line.
//
// Compiled and run by bench.sh with the 5.3.3 classpath run.sh resolves:
//   java -cp "classes:$cp" SdkBench producer NAMESRV TOPIC THREADS BODY SECONDS WARMUP BROKER
//   java -cp "classes:$cp" SdkBench consumer NAMESRV TOPIC THREADS MESSAGES IDLE BROKER

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;

public class SdkBench {
    /** Latency samples kept per thread, as the Rust side's SAMPLES_PER_SENDER_MAX. */
    static final int SAMPLES_PER_SENDER_MAX = 200_000;

    public static void main(String[] args) throws Exception {
        if (args.length < 7) {
            throw new IllegalArgumentException("see the header of SdkBench.java for the arguments");
        }
        if (args[0].equals("producer")) {
            producer(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                Integer.parseInt(args[5]), Integer.parseInt(args[6]), args.length > 7 ? args[7] : "-");
        } else {
            consumer(args[1], args[2], Integer.parseInt(args[3]), Long.parseLong(args[4]),
                Integer.parseInt(args[5]), args[6]);
        }
        System.exit(0);
    }

    /** utime + stime of this JVM in microseconds (USER_HZ = 100), or -1 off Linux. */
    static long cpuMicros() {
        try {
            String stat = new String(Files.readAllBytes(Paths.get("/proc/self/stat")));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000L;
        } catch (Exception e) {
            return -1;
        }
    }

    static String cpuPerMessage(long cpuMicros, long messages) {
        return cpuMicros < 0 || messages == 0 ? "-" : String.format("%.1f", (double) cpuMicros / messages);
    }

    static void producer(String namesrv, String topic, int threads, int bodyBytes, int seconds, int warmup,
                         String broker) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("ferrocket_bench_java");
        producer.setNamesrvAddr(namesrv);
        producer.start();
        byte[] body = new byte[bodyBytes];
        for (int i = 0; i < bodyBytes; i++) {
            body[i] = (byte) (i * 31 % 251);
        }
        if (warmup > 0) {
            sendFor(producer, topic, body, threads, warmup * 1000L, new ArrayList<>());
        }
        List<long[]> samples = new ArrayList<>();
        long cpuBefore = cpuMicros();
        long started = System.nanoTime();
        long[] counts = sendFor(producer, topic, body, threads, seconds * 1000L, samples);
        double elapsed = (System.nanoTime() - started) / 1e9;
        long cpu = cpuBefore < 0 ? -1 : cpuMicros() - cpuBefore;
        int total = 0;
        for (long[] s : samples) {
            total += (int) s[0];
        }
        long[] sorted = new long[total];
        int at = 0;
        for (long[] s : samples) {
            System.arraycopy(s, 1, sorted, at, (int) s[0]);
            at += (int) s[0];
        }
        Arrays.sort(sorted);
        System.out.printf("RESULT client=java mode=producer broker=%s threads=%d body=%d msgs=%d failed=%d "
                + "seconds=%.2f msgs_per_s=%.0f p50_us=%d p99_us=%d p999_us=%d cpu_us_per_msg=%s%n",
            broker, threads, bodyBytes, counts[0], counts[1], elapsed, counts[0] / elapsed,
            quantile(sorted, 500), quantile(sorted, 990), quantile(sorted, 999), cpuPerMessage(cpu, counts[0]));
        producer.shutdown();
    }

    static long quantile(long[] sorted, int perMille) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length * perMille / 1000, sorted.length - 1)];
    }

    /** {sent, failed}; each thread's samples land in `samples` as {count, micros...}. */
    static long[] sendFor(DefaultMQProducer producer, String topic, byte[] body, int threads, long millis,
                          List<long[]> samples) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        AtomicLong sent = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            long[] mine = new long[SAMPLES_PER_SENDER_MAX + 1];
            samples.add(mine);
            workers[t] = new Thread(() -> {
                while (System.currentTimeMillis() < deadline) {
                    long begin = System.nanoTime();
                    try {
                        if (producer.send(new Message(topic, body)).getSendStatus() == SendStatus.SEND_OK) {
                            sent.incrementAndGet();
                            if (mine[0] < SAMPLES_PER_SENDER_MAX) {
                                mine[0]++;
                                mine[(int) mine[0]] = (System.nanoTime() - begin) / 1000;
                            }
                        } else {
                            failed.incrementAndGet();
                        }
                    } catch (Exception e) {
                        failed.incrementAndGet();
                    }
                }
            });
            workers[t].start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        return new long[] {sent.get(), failed.get()};
    }

    static void consumer(String namesrv, String topic, int threads, long target, int idleSeconds, String broker)
        throws Exception {
        AtomicLong consumed = new AtomicLong();
        AtomicBoolean started = new AtomicBoolean();
        long[] first = new long[2];
        DefaultMQPushConsumer consumer =
            new DefaultMQPushConsumer("ferrocket_bench_java_" + threads + "_" + System.currentTimeMillis());
        consumer.setNamesrvAddr(namesrv);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setConsumeThreadMin(threads);
        consumer.setConsumeThreadMax(threads);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            if (!started.getAndSet(true)) {
                synchronized (first) {
                    first[0] = System.nanoTime();
                    first[1] = cpuMicros();
                }
            }
            consumed.addAndGet(messages.size());
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        long lastCount = 0;
        long lastProgress = System.nanoTime();
        while (true) {
            Thread.sleep(100);
            long count = consumed.get();
            if (count >= target) {
                break;
            }
            if (count != lastCount) {
                lastCount = count;
                lastProgress = System.nanoTime();
            } else if (System.nanoTime() - lastProgress >= idleSeconds * 1_000_000_000L) {
                break;
            }
        }
        long ended = System.nanoTime();
        long cpuAfter = cpuMicros();
        long count = consumed.get();
        consumer.shutdown();
        double seconds;
        long cpu;
        synchronized (first) {
            seconds = started.get() ? (ended - first[0]) / 1e9 : 0;
            cpu = started.get() && first[1] >= 0 && cpuAfter >= 0 ? cpuAfter - first[1] : -1;
        }
        System.out.printf("RESULT client=java mode=consumer broker=%s threads=%d msgs=%d wanted=%d seconds=%.2f "
                + "msgs_per_s=%.0f cpu_us_per_msg=%s%n",
            broker, threads, count, target, seconds, count / Math.max(seconds, 1e-9), cpuPerMessage(cpu, count));
    }
}
