package org.ferrocket.interop.ha;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Ports;

/**
 * Our broker, {@code ferrocket broker -c <name>.conf}, as a child process of cluster
 * {@value #CLUSTER} and broker name {@value #BROKER_NAME}, its data under {@code work/<name>}.
 * The segment size matches {@code JavaBroker}'s (64 MiB), so commit logs compare file by file.
 */
final class OurBroker {

    static final String CLUSTER = "HaCluster";
    static final String BROKER_NAME = "broker-ha";
    /** Generous for a loaded 2-core machine running a debug build. */
    static final Duration STARTUP = Duration.ofSeconds(60);

    private static final Pattern LISTENING = Pattern.compile("^listening broker (127\\.0\\.0\\.1:\\d+)$");

    private OurBroker() {
    }

    /** Starts it with {@code roleLines} appended to the common settings; returns once it listens. */
    static ChildProcess start(Path work, String name, String namesrvAddr, String... roleLines)
        throws IOException, InterruptedException {
        Path dir = work.resolve(name);
        Files.createDirectories(dir);
        List<String> lines = new ArrayList<>(List.of(
            "brokerClusterName=" + CLUSTER,
            "brokerName=" + BROKER_NAME,
            "namesrvAddr=" + namesrvAddr,
            "brokerIP1=127.0.0.1",
            "bindAddress=127.0.0.1",
            "listenPort=" + Ports.freePort(),
            "storePathRootDir=" + storeDir(work, name),
            "mappedFileSizeCommitLog=" + 64 * 1024 * 1024,
            "slaveReadEnable=true"));
        lines.addAll(List.of(roleLines));
        lines.add("");
        Path confFile = dir.resolve(name + ".conf");
        Files.writeString(confFile, String.join("\n", lines), StandardCharsets.UTF_8);
        List<String> command = List.of(InteropEnv.ferrocketBinary().toString(), "broker", "-c", confFile.toString(),
            "--grpc-port", "0");
        String logLevel = System.getenv().getOrDefault("FERROCKET_LOG", "info");
        ChildProcess child = ChildProcess.start("ferrocket-broker-" + name, command, dir,
            work.resolve("logs/ferrocket-broker-" + name + ".log"), Map.of("FERROCKET_LOG", logLevel, "NO_COLOR", "1"));
        try {
            child.awaitStdout(LISTENING, STARTUP);
            return child;
        } catch (InterruptedException | RuntimeException | Error e) {
            child.close();
            throw e;
        }
    }

    /** Where {@link #start} puts the store of broker {@code name}. */
    static Path storeDir(Path work, String name) {
        return work.resolve(name).resolve("store");
    }
}
