package org.ferrocket.interop.namesrv.support;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A child process whose stdout and stderr are kept (in memory, bounded, and in a log file) and
 * which is always ended: by {@link #close}, or by a JVM shutdown hook if a test run is cut short.
 * The process is started directly (no shell), so ending it ends what was started.
 */
public final class ChildProcess implements AutoCloseable {

    /** Lines kept in memory per stream: far more than any of our children prints before the check
     *  that reads them, small enough that a chatty child cannot exhaust the test JVM. */
    private static final int KEPT_LINES_MAX = 20_000;

    /** How long a killed process gets to disappear before we stop waiting for it. */
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);

    private static final Set<ChildProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(ChildProcess::kill), "kill-child-processes"));
    }

    private final String name;
    private final Process process;
    private final Path logFile;
    private final Writer log;
    private final Deque<String> stdout = new ArrayDeque<>();
    private final Deque<String> stderr = new ArrayDeque<>();
    private final List<Thread> pumps = new ArrayList<>();

    private ChildProcess(String name, Process process, Path logFile) throws IOException {
        this.name = name;
        this.process = process;
        this.logFile = logFile;
        this.log = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8);
        pumps.add(pump(process.getInputStream(), stdout, "out"));
        pumps.add(pump(process.getErrorStream(), stderr, "err"));
    }

    /** Starts {@code command} in {@code workDir}; both streams go to {@code logFile} too. */
    public static ChildProcess start(String name, List<String> command, Path workDir, Path logFile,
                                     Map<String, String> extraEnv) throws IOException {
        Files.createDirectories(workDir);
        Files.createDirectories(logFile.getParent());
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile());
        builder.environment().putAll(extraEnv);
        builder.redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
        Process process = builder.start();
        try {
            ChildProcess child = new ChildProcess(name, process, logFile);
            LIVE.add(child);
            return child;
        } catch (IOException | RuntimeException e) {
            process.destroyForcibly();
            throw e;
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Waits until a stdout line matches {@code pattern} and returns the match. Fails at once if the
     * process exits first, and after {@code timeout} otherwise, quoting the end of its output.
     */
    public Matcher awaitStdout(Pattern pattern, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (stdout) {
            while (true) {
                // Read before the lines: a line printed just before exit must still be seen.
                boolean pumpDone = !pumps.get(0).isAlive();
                for (String line : stdout) {
                    Matcher matcher = pattern.matcher(line);
                    if (matcher.find()) {
                        return matcher;
                    }
                }
                long left = deadline - System.nanoTime();
                if (pumpDone || left <= 0) {
                    String why = pumpDone ? "exited (status " + exitStatusOrUnknown() + ")" : "timed out after " + timeout;
                    throw new AssertionError(name + " " + why + " before printing a line matching /" + pattern
                        + "/\n" + tail(40));
                }
                stdout.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
            }
        }
    }

    /** Waits for the process to exit on its own; kills it and fails after {@code timeout}. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            kill();
            throw new AssertionError(name + " did not exit within " + timeout + "\n" + tail(40));
        }
        joinPumps();
        LIVE.remove(this);
        return process.exitValue();
    }

    /** Asks the process to stop (SIGTERM, so Java shutdown hooks run); kills it after {@code grace}. */
    public void stop(Duration grace) throws InterruptedException {
        requestStop();
        awaitStopped(grace);
    }

    /** Sends SIGTERM and returns at once. */
    public void requestStop() {
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
    }

    /**
     * Sends SIGTERM and returns at once, keeping our ends of its stdout and stderr open:
     * {@link Process#destroy} closes them, so a child that logs on its way out writes into a closed
     * pipe (a Rust program then panics with exit status 101 before finishing its shutdown).
     */
    public void terminate() {
        process.descendants().forEach(ProcessHandle::destroy);
        process.toHandle().destroy();
    }

    /** Waits for the process to end after {@link #requestStop}; kills it after {@code grace}. */
    public void awaitStopped(Duration grace) throws InterruptedException {
        if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            kill();
        }
        joinPumps();
        LIVE.remove(this);
    }

    /** Ends the process and its descendants at once (SIGKILL): the OS closes their sockets. */
    public void kill() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            joinPumps();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LIVE.remove(this);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
        LIVE.remove(this);
        try {
            joinPumps();
            synchronized (log) {
                log.close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // The log was flushed line by line; nothing is lost.
        }
    }

    public String stdout() {
        synchronized (stdout) {
            return String.join("\n", stdout);
        }
    }

    public String stderr() {
        synchronized (stderr) {
            return String.join("\n", stderr);
        }
    }

    /** The last {@code lines} lines of both streams, for failure messages. */
    public String tail(int lines) {
        synchronized (log) {
            try {
                log.flush();
            } catch (IOException e) {
                // Closed: everything is in the file already.
            }
        }
        List<String> all = new ArrayList<>();
        try {
            all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            all.add("(cannot read " + logFile + ": " + e + ")");
        }
        int from = Math.max(0, all.size() - lines);
        return "---- last lines of " + name + " (" + logFile + ") ----\n" + String.join("\n", all.subList(from, all.size()));
    }

    private String exitStatusOrUnknown() {
        return process.isAlive() ? "?" : Integer.toString(process.exitValue());
    }

    private Thread pump(InputStream stream, Deque<String> kept, String label) {
        Thread thread = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    synchronized (log) {
                        log.write(label + "| " + line + "\n");
                        log.flush();
                    }
                    synchronized (kept) {
                        kept.addLast(line);
                        if (kept.size() > KEPT_LINES_MAX) {
                            kept.removeFirst();
                        }
                        kept.notifyAll();
                    }
                }
            } catch (IOException e) {
                // The stream closes when the process dies; nothing left to read.
            } finally {
                synchronized (kept) {
                    kept.notifyAll();
                }
            }
        }, name + "-" + label);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private void joinPumps() throws InterruptedException {
        for (Thread pump : pumps) {
            pump.join(KILL_WAIT.toMillis());
        }
        synchronized (log) {
            try {
                log.flush();
            } catch (IOException e) {
                // Only the log file is affected; the in-memory lines stay complete.
            }
        }
    }

    private static File nullDevice() {
        return new File("/dev/null");
    }
}
