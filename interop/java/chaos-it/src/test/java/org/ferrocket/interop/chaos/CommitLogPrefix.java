package org.ferrocket.interop.chaos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The no-divergence check of a master/slave pair at rest: the slave's commit log, read as one byte
 * string across its segments (each named by its start offset), must equal the master's on every
 * byte the slave holds. Segments may be preallocated (zero-filled past the written end), so a
 * segment's data is taken to end at its last non-zero byte: a record ending in zero bytes would
 * make both extents short by the same bytes, which leaves the prefix check sound.
 */
final class CommitLogPrefix {

    private CommitLogPrefix() {
    }

    /** Returns {master extent, slave extent}; fails on any differing byte or a slave longer than its master. */
    static long[] assertSlaveIsPrefix(Path masterStore, Path slaveStore) throws IOException {
        Map<Long, byte[]> master = segments(masterStore);
        Map<Long, byte[]> slave = segments(slaveStore);
        long masterEnd = extent(master);
        long slaveEnd = extent(slave);
        if (slaveEnd > masterEnd) {
            throw new AssertionError("the slave's commit log (" + slaveEnd + " bytes) is longer than its master's ("
                + masterEnd + ")");
        }
        for (Map.Entry<Long, byte[]> segment : slave.entrySet()) {
            byte[] slaveBytes = segment.getValue();
            byte[] masterBytes = master.getOrDefault(segment.getKey(), new byte[0]);
            int slaveData = lastNonZero(slaveBytes) + 1;
            if (slaveData == 0) {
                continue;
            }
            if (masterBytes.length < slaveData) {
                throw new AssertionError("segment " + segment.getKey() + ": the slave holds " + slaveData
                    + " bytes, the master's segment only " + masterBytes.length);
            }
            if (!Arrays.equals(slaveBytes, 0, slaveData, masterBytes, 0, slaveData)) {
                int at = Arrays.mismatch(Arrays.copyOf(slaveBytes, slaveData), Arrays.copyOf(masterBytes, slaveData));
                throw new AssertionError("the logs diverge at offset " + (segment.getKey() + at));
            }
        }
        return new long[] {masterEnd, slaveEnd};
    }

    /** Where the written part of a store's commit log ends (read while the broker runs: a lower bound). */
    static long extent(Path store) throws IOException {
        return extent(segments(store));
    }

    /**
     * Where the record starting at {@code offset} ends: its first four bytes are its total size
     * (big-endian), read from the segment that holds it.
     */
    static long recordEnd(Path store, long offset) throws IOException {
        Map.Entry<Long, Path> segment = null;
        try (Stream<Path> files = Files.list(store.resolve("commitlog"))) {
            for (Path file : files.toList()) {
                long start = Long.parseLong(file.getFileName().toString());
                if (start <= offset && (segment == null || start > segment.getKey())) {
                    segment = Map.entry(start, file);
                }
            }
        }
        if (segment == null) {
            throw new AssertionError("no commit-log segment holds offset " + offset + " in " + store);
        }
        try (java.nio.channels.FileChannel log = java.nio.channels.FileChannel.open(segment.getValue())) {
            java.nio.ByteBuffer size = java.nio.ByteBuffer.allocate(4);
            log.read(size, offset - segment.getKey());
            int total = size.flip().getInt();
            if (total <= 0) {
                throw new AssertionError("no record at commit-log offset " + offset + " in " + store);
            }
            return offset + total;
        }
    }

    private static long extent(Map<Long, byte[]> segments) {
        long end = 0;
        for (Map.Entry<Long, byte[]> segment : segments.entrySet()) {
            int data = lastNonZero(segment.getValue()) + 1;
            if (data > 0) {
                end = segment.getKey() + data;
            }
        }
        return end;
    }

    private static Map<Long, byte[]> segments(Path store) throws IOException {
        Map<Long, byte[]> segments = new TreeMap<>();
        try (Stream<Path> files = Files.list(store.resolve("commitlog"))) {
            for (Path file : files.toList()) {
                segments.put(Long.parseLong(file.getFileName().toString()), Files.readAllBytes(file));
            }
        }
        return segments;
    }

    private static int lastNonZero(byte[] bytes) {
        int at = bytes.length - 1;
        while (at >= 0 && bytes[at] == 0) {
            at--;
        }
        return at;
    }
}
