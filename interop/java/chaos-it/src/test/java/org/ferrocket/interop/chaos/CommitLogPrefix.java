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
 * byte the slave holds. Segments are preallocated (zero-filled past the written end), so a
 * segment's data ends at its last non-zero byte; a record never ends in a zero byte (the
 * properties' separator is 0x02, the body is at least one byte... and the record's CRC/fields
 * before it), so that is the written end to the byte within the last record's trailing zeros,
 * which both logs then share anyway.
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
