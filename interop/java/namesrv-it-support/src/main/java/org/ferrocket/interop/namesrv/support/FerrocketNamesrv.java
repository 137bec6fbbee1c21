package org.ferrocket.interop.namesrv.support;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Our name server, {@code ferrocket namesrv --host 127.0.0.1 --port 0}, as a child process. It
 * prints {@code listening namesrv 127.0.0.1:PORT} once bound; that line gives the address.
 */
public final class FerrocketNamesrv implements AutoCloseable {

    /** Binding a loopback port takes milliseconds; the margin is for a loaded 2-core machine. */
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);

    private static final Pattern LISTENING = Pattern.compile("^listening namesrv (127\\.0\\.0\\.1:\\d+)$");

    private final ChildProcess process;
    private final String address;

    private FerrocketNamesrv(ChildProcess process, String address) {
        this.process = process;
        this.address = address;
    }

    /** Starts the binary from {@link InteropEnv#ferrocketBinary} with its data under {@code workDir/namesrv}. */
    public static FerrocketNamesrv start(Path workDir) throws IOException, InterruptedException {
        return start(workDir, Map.of());
    }

    /** As above, with Java system properties given as our {@code -Dkey=value}, e.g. {@code tls.server.mode}. */
    public static FerrocketNamesrv start(Path workDir, Map<String, String> systemProperties)
        throws IOException, InterruptedException {
        Path bin = InteropEnv.ferrocketBinary();
        Path dir = workDir.resolve("namesrv");
        List<String> command = new ArrayList<>(List.of(bin.toString(), "namesrv", "--host", "127.0.0.1", "--port", "0",
            "--data-dir", dir.resolve("data").toString()));
        systemProperties.forEach((key, value) -> command.add("-D" + key + "=" + value));
        String logLevel = System.getenv().getOrDefault("FERROCKET_LOG", "info");
        ChildProcess child = ChildProcess.start("ferrocket-namesrv", command, dir, workDir.resolve("logs/ferrocket-namesrv.log"),
            Map.of("FERROCKET_LOG", logLevel, "NO_COLOR", "1"));
        try {
            Matcher listening = child.awaitStdout(LISTENING, STARTUP_TIMEOUT);
            return new FerrocketNamesrv(child, listening.group(1));
        } catch (InterruptedException | RuntimeException | Error e) {
            child.close();
            throw e;
        }
    }

    /** {@code 127.0.0.1:PORT}, as clients' {@code namesrvAddr} wants it. */
    public String address() {
        return address;
    }

    /** Fails if our server died (a crash would otherwise surface later as a confusing timeout). */
    public void assertAlive() {
        if (!process.isAlive()) {
            throw new AssertionError("ferrocket namesrv exited\n" + process.tail(40));
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.stop(Duration.ofSeconds(5));
        process.close();
    }
}
