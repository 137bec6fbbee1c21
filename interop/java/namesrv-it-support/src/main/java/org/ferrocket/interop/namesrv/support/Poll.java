package org.ferrocket.interop.namesrv.support;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/** Waiting for an eventually-true condition with a deadline (brokers register and leave asynchronously). */
public final class Poll {

    /** Short enough that a test waits at most this much longer than needed. */
    private static final Duration INTERVAL = Duration.ofMillis(200);

    private Poll() {
    }

    /**
     * Calls {@code probe} until {@code done} accepts its result, and returns that result. An
     * exception from the probe counts as "not yet". After {@code timeout}, fails with {@code what}
     * and the last result or exception.
     */
    public static <T> T until(String what, Duration timeout, Callable<T> probe, Predicate<T> done) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Object last = "(never probed)";
        while (true) {
            try {
                T value = probe.call();
                if (done.test(value)) {
                    return value;
                }
                last = value;
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() - deadline >= 0) {
                AssertionError failure = new AssertionError("timed out after " + timeout + " waiting until " + what
                    + "; last result: " + last);
                if (last instanceof Throwable cause) {
                    failure.initCause(cause);
                }
                throw failure;
            }
            Thread.sleep(INTERVAL.toMillis());
        }
    }
}
