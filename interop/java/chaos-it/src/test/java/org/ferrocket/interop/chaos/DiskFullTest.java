package org.ferrocket.interop.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.ResponseCode;
import org.apache.rocketmq.remoting.protocol.admin.ConsumeStats;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 5 of issue 18, disk full: the broker's store on a small tmpfs mounted by the test, filled
 * past Java's warning level (90 % used) by a file beside the store while the official 5.3.3
 * producer keeps sending. Java's clean-up service (every 10 s) then flags the store full and
 * sends are refused with SERVICE_NOT_AVAILABLE and Java's remark (SendMessageProcessor:
 * "service not available now. ... the broker's disk is full [CL: x CQ: y INDEX: z] ..."), while
 * reads and consumer offsets are still served; once the file is deleted sends resume, and a
 * fresh group reads back every acknowledged message exactly once.
 *
 * <p>The disk is never really full: 7 % stays free, because a store writing through a memory map
 * into a full tmpfs gets SIGBUS, not ENOSPC (the Java broker would crash, which is not the
 * behaviour under test). Mounting needs root.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DiskFullTest {

    private static final String TOPIC = "chaos-disk-full";
    private static final int QUEUES = 4;
    private static final String TMPFS_SIZE = "256m";
    /** Above Java's diskSpaceWarningLevelRatio (0.90), below 1: refused, yet nothing gets SIGBUS. */
    private static final double FILLED_RATIO = 0.93;
    /**
     * Java's clean-up service, which measures the disk, first runs 60 s after the store starts
     * (then every cleanResourceInterval, 10 s by default; ours every 10 s from the start), plus a
     * margin for a loaded machine.
     */
    private static final Duration FLAG_WAIT = Duration.ofSeconds(150);
    /** A few per second per sender: at most a few MB land before the flag is set. */
    private static final long PAUSE_BETWEEN_SENDS_MS = 20;
    private static final Pattern JAVA_REMARK = Pattern.compile(Pattern.quote(
        "service not available now. It may be caused by one of the following reasons: the broker's disk is full [CL: ")
        + " ?(0\\.9[0-9]|1\\.00) CQ:  ?(0\\.9[0-9]|1\\.00) INDEX:  ?(0\\.9[0-9]|1\\.00)"
        + Pattern.quote("], messages are put to the slave, message store has been shut down, etc."));

    @Test
    void sendsAreRefusedWhileReadsAndOffsetsGoOnAndNothingAcknowledgedIsLost() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(getClass());
        Path mount = workDir.resolve("small-disk");
        Files.createDirectories(mount);
        run("mount", "-t", "tmpfs", "-o", "size=" + TMPFS_SIZE, "tmpfs", mount.toString());
        try {
            fillAndFree(workDir, mount);
        } finally {
            run("umount", "-l", mount.toString());
        }
    }

    private void fillAndFree(Path workDir, Path mount) throws Exception {
        Path store = mount.resolve("store");
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("storePathRootDir", store.toString());
        conf.put("storePathCommitLog", store.resolve("commitlog").toString());
        // One commit-log file for the whole test: over 85 % used both brokers delete every file but
        // the last one, whatever its age.
        conf.put("mappedFileSizeCommitLog", Integer.toString(32 * 1024 * 1024));
        conf.put("mappedFileSizeConsumeQueue", Integer.toString(30_000 * 20));
        // Java's clean-up every 2 s after its first run (ours keeps Java's default, 10 s).
        conf.put("cleanResourceInterval", "2000");
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        try (BrokerUnderTest broker = BrokerUnderTest.start(workDir, classpath, "JSON", conf)) {
            DefaultMQAdminExt admin = new DefaultMQAdminExt();
            admin.setNamesrvAddr(broker.namesrvAddress());
            admin.setInstanceName(ChaosEnv.uniqueName("chaos-admin"));
            admin.start();
            DefaultMQProducer producer = ChaosEnv.startProducer(broker.namesrvAddress(), ChaosEnv.uniqueName("chaos-disk-producer"));
            AckedLoad load = new AckedLoad(producer, TOPIC, "disk", workDir.resolve("acked-ids.log"), 2, PAUSE_BETWEEN_SENDS_MS);
            long recoveryMs;
            int refusedWhileFull;
            try {
                Poll.until("the broker accepts UPDATE_AND_CREATE_TOPIC", FLAG_WAIT, () -> {
                    admin.createAndUpdateTopicConfig(broker.brokerAddress(), new TopicConfig(TOPIC, QUEUES, QUEUES, 6));
                    return true;
                }, done -> done);
                Poll.until("the route of " + TOPIC, FLAG_WAIT, () -> admin.examineTopicRouteInfo(TOPIC),
                    route -> !route.getQueueDatas().isEmpty());
                load.start();
                Poll.until("some sends acknowledged", FLAG_WAIT, load::acknowledgedCount, n -> n >= 200);

                Path filler = mount.resolve("filler");
                fill(mount, filler);
                System.out.println("DiskFullTest: filled to " + usedRatio(mount));
                Poll.until("a send refused with SERVICE_NOT_AVAILABLE (the disk " + mount + ")", FLAG_WAIT,
                    () -> load.refusalRemark(ResponseCode.SERVICE_NOT_AVAILABLE), remark -> remark != null);
                String remark = load.refusalRemark(ResponseCode.SERVICE_NOT_AVAILABLE);
                assertTrue(JAVA_REMARK.matcher(remark).matches(), "the disk-full remark: " + remark);
                load.markFault();
                long refusedBefore = load.refusals().getOrDefault("code " + ResponseCode.SERVICE_NOT_AVAILABLE, 0L);

                // Reads and consumer offsets go on while the disk is full.
                int stored = readAndCommit(broker, admin, load.acknowledgedKeys());
                assertEquals(-1, load.firstAckAfterMark(), "a send was acknowledged on the full disk");
                refusedWhileFull = (int) (load.refusals().get("code " + ResponseCode.SERVICE_NOT_AVAILABLE) - refusedBefore);
                assertTrue(refusedWhileFull > 0, "no send tried while the disk was full");

                Files.delete(filler);
                long freedAt = System.nanoTime();
                Poll.until("a send acknowledged after the space was freed", FLAG_WAIT, load::firstAckAfterMark,
                    at -> at > 0);
                recoveryMs = TimeUnit.NANOSECONDS.toMillis(load.firstAckAfterMark() - freedAt);
                int before = load.acknowledgedCount();
                Poll.until("more sends acknowledged", FLAG_WAIT, load::acknowledgedCount, n -> n >= before + 100);
                System.out.println("DiskFullTest: " + stored + " stored before the disk filled");
            } finally {
                load.close();
                producer.shutdown();
                admin.shutdown();
            }
            ReadBack verdict = ReadBack.read(broker.namesrvAddress(), TOPIC, ChaosEnv.uniqueName("chaos-disk-readback"),
                load.acknowledgedKeys());
            broker.stopBroker();
            StoreChecker.Summary checked = StoreChecker.check(store, TOPIC);
            ChaosResults.record(broker.impl().name().toLowerCase(), "disk full (tmpfs " + TMPFS_SIZE + ", "
                    + Math.round(FILLED_RATIO * 100) + " % used)", "ASYNC_FLUSH", 1, verdict, recoveryMs,
                "refused while full " + refusedWhileFull + ", refusals " + load.refusals() + "; store checked: " + checked);
            assertTrue(verdict.lost().isEmpty() && verdict.duplicated().isEmpty() && verdict.offsetGaps().isEmpty(),
                verdict.summary());
        }
    }

    /**
     * While the disk is full: a consumer group reads every acknowledged message and commits its
     * offsets, and the broker reports them back (GET_CONSUME_STATS). Returns the messages read.
     */
    private static int readAndCommit(BrokerUnderTest broker, DefaultMQAdminExt admin, java.util.Set<String> acknowledged)
        throws Exception {
        String group = ChaosEnv.uniqueName("chaos-disk-group");
        ReadBack whileFull = ReadBack.read(broker.namesrvAddress(), TOPIC, group, acknowledged);
        assertTrue(whileFull.lost().isEmpty() && whileFull.duplicated().isEmpty(), "read while full: " + whileFull.summary());
        List<MessageQueue> queues = admin.examineTopicRouteInfo(TOPIC).getQueueDatas().stream()
            .flatMap(q -> java.util.stream.IntStream.range(0, q.getReadQueueNums())
                .mapToObj(id -> new MessageQueue(TOPIC, q.getBrokerName(), id)))
            .toList();
        long total = 0;
        for (MessageQueue queue : queues) {
            long end = admin.maxOffset(queue);
            admin.updateConsumeOffset(broker.brokerAddress(), group, queue, end);
            total += end;
        }
        long expected = total;
        Poll.until(group + " offsets served while the disk is full", FLAG_WAIT,
            () -> committed(admin.examineConsumeStats(group, TOPIC)), sum -> sum == expected);
        return whileFull.read();
    }

    private static long committed(ConsumeStats stats) {
        return stats.getOffsetTable().values().stream().mapToLong(o -> o.getConsumerOffset()).sum();
    }

    /** Writes a file of zeros until the file system is {@link #FILLED_RATIO} used. */
    private static void fill(Path mount, Path filler) throws IOException {
        FileStore disk = Files.getFileStore(mount);
        long total = disk.getTotalSpace();
        long used = total - disk.getUsableSpace();
        long bytes = (long) (total * FILLED_RATIO) - used;
        assertTrue(bytes > 0, "the store already uses " + used + " of " + total + " bytes");
        ByteBuffer chunk = ByteBuffer.allocate(1024 * 1024);
        try (FileChannel channel = FileChannel.open(filler, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long written = 0; written < bytes; ) {
                chunk.clear().limit((int) Math.min(chunk.capacity(), bytes - written));
                written += channel.write(chunk);
            }
        }
    }

    /** Java's UtilAll.getDiskPartitionSpaceUsedPercent, for failure messages. */
    private static String usedRatio(Path mount) {
        java.io.File file = mount.toFile();
        long used = file.getTotalSpace() - file.getFreeSpace();
        long entire = used + file.getUsableSpace();
        return String.format("%.2f used (%d of %d bytes)", entire == 0 ? -1.0 : (double) used / entire, used, entire);
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed (the disk-full test mounts a tmpfs: it needs root): "
                + output);
        }
    }
}
