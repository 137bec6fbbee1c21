package org.ferrocket.bench.broker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The operating-system process of the broker under measurement, found among this JVM's children,
 * and what the kernel says it has used: CPU time (user + system, from {@code /proc/PID/stat}
 * through {@link ProcessHandle.Info#totalCpuDuration}) and resident memory ({@code VmRSS}, its
 * peak {@code VmHWM} and its anonymous part {@code RssAnon} from {@code /proc/PID/status}).
 */
final class BrokerProcess {

    private final ProcessHandle handle;

    private BrokerProcess(ProcessHandle handle) {
        this.handle = handle;
    }

    /**
     * Ours is the child running {@code ferrocket standalone} (name server and broker in one process);
     * Java's is the child JVM running {@code BrokerStartup} (its name server is another process,
     * not counted).
     */
    static BrokerProcess find(boolean ours) {
        String marker = ours ? "standalone" : "org.apache.rocketmq.broker.BrokerStartup";
        Optional<ProcessHandle> found = ProcessHandle.current().children()
            .filter(child -> arguments(child.pid()).contains(marker))
            .findFirst();
        return new BrokerProcess(found.orElseThrow(() -> new IllegalStateException(
            "no child process with argument " + marker + " (is /proc readable?)")));
    }

    /**
     * The command line from {@code /proc/PID/cmdline}, read whole: {@link ProcessHandle.Info#arguments}
     * comes back empty for the Java broker, whose class path makes its command line very long.
     */
    private static List<String> arguments(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return List.of(new String(raw, StandardCharsets.UTF_8).split("\0"));
        } catch (IOException e) {
            return List.of();
        }
    }

    long pid() {
        return handle.pid();
    }

    /** User plus system CPU time so far, in seconds. */
    double cpuSeconds() {
        Duration cpu = handle.info().totalCpuDuration()
            .orElseThrow(() -> new IllegalStateException("no CPU time for pid " + handle.pid()));
        return cpu.toNanos() / 1e9;
    }

    /** This JVM's (the client's) CPU time so far, in seconds: how much of the two cores the load itself takes. */
    static double ownCpuSeconds() {
        return ProcessHandle.current().info().totalCpuDuration()
            .orElseThrow(() -> new IllegalStateException("no CPU time for this JVM")).toNanos() / 1e9;
    }

    /** Resident set size now, in KiB. */
    long rssKib() {
        return statusField("VmRSS:");
    }

    /**
     * Anonymous resident memory (heap, stacks, buffers), in KiB: {@code VmRSS} less file pages. The
     * Java broker's memory-mapped store files count in its {@code VmRSS} as they are touched; ours
     * reads and writes its files with system calls, so its file pages stay in the page cache,
     * outside its RSS. This figure compares the two without that difference.
     */
    long anonymousRssKib() {
        return statusField("RssAnon:");
    }

    /** Peak resident set size, in KiB. */
    long peakRssKib() {
        return statusField("VmHWM:");
    }

    private long statusField(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(handle.pid()), "status"),
                StandardCharsets.UTF_8)) {
                if (line.startsWith(name)) {
                    // "VmRSS:     12345 kB"
                    return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("reading " + name + " of pid " + handle.pid(), e);
        }
        throw new IllegalStateException(name + " missing from /proc/" + handle.pid() + "/status");
    }
}
