package org.ferrocket.interop.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Commit-log comparison across implementations. Java maps whole segments (zero-filled past the
 * written end); ours may stop at it: the files must agree on every byte both hold, and the longer
 * one may only add zeros.
 */
final class CommitLogs {

    private CommitLogs() {
    }

    /**
     * Asserts that the segments of two store roots hold the same bytes. A segment only one side
     * has must be all zeros (Java allocates the next segment ahead of need).
     */
    static void assertSameBytes(Path storeA, Path storeB, long minDataBytes) throws IOException {
        Map<String, byte[]> a = segments(storeA);
        Map<String, byte[]> b = segments(storeB);
        Set<String> names = new TreeSet<>(a.keySet());
        names.addAll(b.keySet());
        long data = 0;
        for (String name : names) {
            byte[] left = a.getOrDefault(name, new byte[0]);
            byte[] right = b.getOrDefault(name, new byte[0]);
            int common = Math.min(left.length, right.length);
            assertTrue(Arrays.equals(left, 0, common, right, 0, common), "segment " + name + " differs");
            byte[] longer = left.length > right.length ? left : right;
            for (int at = common; at < longer.length; at++) {
                assertEquals(0, longer[at], "segment " + name + ": only zeros past the shorter file, at " + at);
            }
            data += lastNonZero(longer) + 1;
        }
        assertTrue(data >= minDataBytes, "the logs hold " + data + " bytes, expected at least " + minDataBytes);
    }

    private static Map<String, byte[]> segments(Path storeRoot) throws IOException {
        Map<String, byte[]> segments = new TreeMap<>();
        try (Stream<Path> files = Files.list(storeRoot.resolve("commitlog"))) {
            for (Path file : files.toList()) {
                segments.put(file.getFileName().toString(), Files.readAllBytes(file));
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
