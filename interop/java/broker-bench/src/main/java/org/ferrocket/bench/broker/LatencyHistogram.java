package org.ferrocket.bench.broker;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts of durations in fixed-width buckets, safe to record into from many threads; quantiles
 * are read as a bucket's upper edge, so they err by at most one bucket width, upwards.
 */
final class LatencyHistogram {

    private final long bucketWidth;
    private final AtomicLongArray counts;

    /** Buckets of {@code bucketWidth} units up to {@code limit}; longer durations land in the last. */
    LatencyHistogram(long bucketWidth, long limit) {
        this.bucketWidth = bucketWidth;
        this.counts = new AtomicLongArray((int) (limit / bucketWidth) + 1);
    }

    void record(long value) {
        int bucket = (int) Math.min(Math.max(value, 0) / bucketWidth, counts.length() - 1);
        counts.incrementAndGet(bucket);
    }

    long count() {
        long total = 0;
        for (int i = 0; i < counts.length(); i++) {
            total += counts.get(i);
        }
        return total;
    }

    /** The {@code q} quantile (0 &lt; q &le; 1), or -1 when nothing was recorded. */
    long quantile(double q) {
        long total = count();
        if (total == 0) {
            return -1;
        }
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int i = 0; i < counts.length(); i++) {
            seen += counts.get(i);
            if (seen >= rank) {
                return (i + 1) * bucketWidth;
            }
        }
        return counts.length() * bucketWidth;
    }
}
