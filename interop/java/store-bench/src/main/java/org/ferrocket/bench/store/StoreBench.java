package org.ferrocket.bench.store;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExtBrokerInner;
import org.apache.rocketmq.store.DefaultMessageStore;
import org.apache.rocketmq.store.GetMessageResult;
import org.apache.rocketmq.store.PutMessageResult;
import org.apache.rocketmq.store.PutMessageStatus;
import org.apache.rocketmq.store.config.FlushDiskType;
import org.apache.rocketmq.store.config.MessageStoreConfig;
import org.apache.rocketmq.store.stats.BrokerStatsManager;

/**
 * The official RocketMQ 5.3.3 store ({@link DefaultMessageStore}) under the cases of
 * {@code ferrocket bench store} (crates/cli/src/bench_store.rs): W writer threads, each calling
 * {@code putMessage} with one message at a time for a fixed time, on a fresh store in DIR; then,
 * if asked, one read pass over every queue, 32 messages per {@code getMessage}, from the page cache.
 *
 * <p>The store is configured as a broker would configure it: defaults everywhere (mmap commit log,
 * its own flush and commit threads, no transient store pool, index on) except the 64 MiB commit-log
 * segment of ours, the flush type of the case and a free port for the HA acceptor the store opens.
 *
 * <p>A case is {@code DIR BODY_BYTES ASYNC_FLUSH|SYNC_FLUSH WRITERS DURATION_MS READ(0|1)}, given as
 * arguments (one case) or, with no arguments, one per line on stdin (the JVM stays up, so the JIT
 * stays warm across cases as our process does). Each case answers one line on stdout:
 * {@code STOREBENCH messages=.. failures=.. elapsed_ns=.. record_bytes=.. p50_us=.. p99_us=..
 * read_messages=.. read_bytes=.. read_ns=..} (read fields -1 without a read pass), or
 * {@code STOREBENCH error=...}. Anything else on stdout is the store's own chatter.
 */
public final class StoreBench {

    private static final String TOPIC = "BenchStore";
    /** Queues the writers spread over (writer % 8), like a topic's default 8 and like ours. */
    private static final int QUEUES = 8;
    private static final String TAGS = "bench";
    /** Messages per read call: {@code maxTransferCountOnMessageInMemory}, as ours. */
    private static final int READ_BATCH = 32;
    /** As ours: several roll-overs per case without gigabyte files. */
    private static final int SEGMENT_BYTES = 64 * 1024 * 1024;
    /** Our bench's born and store host. */
    private static final InetSocketAddress HOST = new InetSocketAddress("127.0.0.1", 10911);
    /** The consume queues are built behind the appends; the read pass waits for them, this long at most. */
    private static final long DISPATCH_WAIT_MS = 60_000;
    private static final String PREFIX = "STOREBENCH ";

    private StoreBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            System.out.println(PREFIX + answer(args));
            System.out.flush();
            System.exit(0);
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank()) {
                continue;
            }
            System.out.println(PREFIX + answer(line.trim().split("\\s+")));
            System.out.flush();
        }
        // Store services leave non-daemon threads behind (stats, logging); stdin closed means done.
        System.exit(0);
    }

    private static String answer(String[] fields) {
        try {
            return run(Case.parse(fields));
        } catch (Exception | Error e) {
            return "error=" + (e.toString()).replaceAll("\\s+", "_");
        }
    }

    private record Case(String dir, int bodyBytes, FlushDiskType flush, int writers, long durationMs, boolean read) {
        static Case parse(String[] f) {
            if (f.length != 6) {
                throw new IllegalArgumentException("want DIR BODY_BYTES FLUSH WRITERS DURATION_MS READ, got "
                    + Arrays.toString(f));
            }
            return new Case(f[0], Integer.parseInt(f[1]), FlushDiskType.valueOf(f[2]), Integer.parseInt(f[3]),
                Long.parseLong(f[4]), f[5].equals("1"));
        }
    }

    private static String run(Case c) throws Exception {
        BrokerConfig brokerConfig = new BrokerConfig();
        BrokerStatsManager stats = new BrokerStatsManager(brokerConfig);
        DefaultMessageStore store = open(c, brokerConfig, stats);
        try {
            String appends = appendCase(store, c);
            String read = "read_messages=-1 read_bytes=-1 read_ns=-1";
            if (c.read()) {
                read = readPass(store);
            }
            return appends + " " + read;
        } finally {
            store.shutdown();
            store.destroy();
            stats.shutdown();
        }
    }

    private static DefaultMessageStore open(Case c, BrokerConfig brokerConfig, BrokerStatsManager stats)
        throws Exception {
        MessageStoreConfig config = new MessageStoreConfig();
        config.setStorePathRootDir(c.dir());
        config.setStorePathCommitLog(c.dir() + File.separator + "commitlog");
        config.setMappedFileSizeCommitLog(SEGMENT_BYTES);
        config.setFlushDiskType(c.flush());
        config.setMessageIndexEnable(true);
        config.setHaListenPort(freePort());
        // A broker's long polling listener; ours gets a no-op arrival callback too.
        DefaultMessageStore store = new DefaultMessageStore(config, stats,
            (topic, queueId, logicOffset, tagsCode, storeTime, bitMap, properties) -> { },
            brokerConfig, new ConcurrentHashMap<>());
        if (!store.load()) {
            throw new IllegalStateException("DefaultMessageStore.load() failed on " + c.dir());
        }
        store.start();
        return store;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** One writer's tally; the writer thread alone touches it until joined. */
    private static final class Writer extends Thread {
        private final DefaultMessageStore store;
        private final int queueId;
        private final byte[] body;
        private final long deadline;
        int[] latenciesUs = new int[1024];
        int count;
        long failures;
        long recordBytes;

        Writer(DefaultMessageStore store, int queueId, byte[] body, long deadline) {
            this.store = store;
            this.queueId = queueId;
            this.body = body;
            this.deadline = deadline;
        }

        @Override
        public void run() {
            while (System.nanoTime() < deadline) {
                long sent = System.nanoTime();
                PutMessageResult result = store.putMessage(message(queueId, body));
                if (result != null && result.getPutMessageStatus() == PutMessageStatus.PUT_OK) {
                    recordBytes += result.getAppendMessageResult().getWroteBytes();
                    if (count == latenciesUs.length) {
                        latenciesUs = Arrays.copyOf(latenciesUs, count * 2);
                    }
                    latenciesUs[count++] = (int) Math.min(Integer.MAX_VALUE, (System.nanoTime() - sent) / 1000);
                } else {
                    failures++;
                }
            }
        }
    }

    private static String appendCase(DefaultMessageStore store, Case c) throws InterruptedException {
        byte[] body = new byte[c.bodyBytes()];
        Arrays.fill(body, (byte) 'x');
        long started = System.nanoTime();
        long deadline = started + TimeUnit.MILLISECONDS.toNanos(c.durationMs());
        List<Writer> writers = new ArrayList<>();
        for (int w = 0; w < c.writers(); w++) {
            Writer writer = new Writer(store, w % QUEUES, body, deadline);
            writers.add(writer);
            writer.start();
        }
        long failures = 0;
        long recordBytes = 0;
        int total = 0;
        for (Writer writer : writers) {
            writer.join();
            failures += writer.failures;
            recordBytes += writer.recordBytes;
            total += writer.count;
        }
        long elapsed = System.nanoTime() - started;
        int[] all = new int[total];
        int at = 0;
        for (Writer writer : writers) {
            System.arraycopy(writer.latenciesUs, 0, all, at, writer.count);
            at += writer.count;
        }
        Arrays.sort(all);
        return "messages=" + total + " failures=" + failures + " elapsed_ns=" + elapsed + " record_bytes="
            + recordBytes + " p50_us=" + percentile(all, 50) + " p99_us=" + percentile(all, 99);
    }

    /** The same index as ours: {@code len * pct / 100}, capped at the last. */
    private static long percentile(int[] sorted, int pct) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min((int) ((long) sorted.length * pct / 100), sorted.length - 1)];
    }

    /**
     * Every queue from offset 0, 32 per call. Each message is copied out of the mapped file into the
     * heap, as the broker does with its default {@code transferMsgByHeap=true} and as ours copies.
     */
    private static String readPass(DefaultMessageStore store) throws Exception {
        long waitUntil = System.currentTimeMillis() + DISPATCH_WAIT_MS;
        while (store.dispatchBehindBytes() > 0 && System.currentTimeMillis() < waitUntil) {
            Thread.sleep(10);
        }
        long started = System.nanoTime();
        long messages = 0;
        long bytes = 0;
        for (int queueId = 0; queueId < QUEUES; queueId++) {
            long offset = 0;
            while (true) {
                GetMessageResult result = store.getMessage("BenchStoreReader", TOPIC, queueId, offset, READ_BATCH, null);
                if (result == null || result.getMessageCount() == 0) {
                    if (result != null) {
                        result.release();
                    }
                    break;
                }
                try {
                    for (ByteBuffer buffer : result.getMessageBufferList()) {
                        byte[] copy = new byte[buffer.remaining()];
                        buffer.get(copy);
                        bytes += copy.length;
                    }
                    messages += result.getMessageCount();
                    offset = result.getNextBeginOffset();
                } finally {
                    result.release();
                }
            }
        }
        long elapsed = System.nanoTime() - started;
        return "read_messages=" + messages + " read_bytes=" + bytes + " read_ns=" + elapsed;
    }

    /** As the broker builds one from a send request: topic, queue, tags, hosts; one per put. */
    private static MessageExtBrokerInner message(int queueId, byte[] body) {
        MessageExtBrokerInner msg = new MessageExtBrokerInner();
        msg.setTopic(TOPIC);
        msg.setQueueId(queueId);
        msg.setBody(body);
        msg.setFlag(0);
        msg.setTags(TAGS);
        msg.setTagsCode(MessageExtBrokerInner.tagsString2tagsCode(TAGS));
        msg.setPropertiesString(MessageDecoder.messageProperties2String(msg.getProperties()));
        msg.setBornTimestamp(System.currentTimeMillis());
        msg.setBornHost(HOST);
        msg.setStoreHost(HOST);
        msg.setSysFlag(0);
        msg.setReconsumeTimes(0);
        return msg;
    }
}
