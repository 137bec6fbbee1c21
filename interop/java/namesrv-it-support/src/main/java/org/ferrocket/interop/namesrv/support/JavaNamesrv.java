package org.ferrocket.interop.namesrv.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The official Java name server ({@code org.apache.rocketmq.namesrv.NamesrvStartup -c namesrv.conf})
 * in a child JVM on a free loopback port, everything written under its own directory. The broker
 * tests use it as the reference peer of the official broker ({@code -Dbroker.impl=java}).
 */
public final class JavaNamesrv implements AutoCloseable {

    /** JVM start and one bind; generous for a loaded 2-core machine. */
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);

    private static final Pattern BOOTED = Pattern.compile("The Name Server boot success\\. serializeType=(\\w+)");

    private static final String MAIN_CLASS = "org.apache.rocketmq.namesrv.NamesrvStartup";

    private final ChildProcess process;
    private final String address;

    private JavaNamesrv(ChildProcess process, String address) {
        this.process = process;
        this.address = address;
    }

    /** Starts it on the classpath {@code classpath} (which must hold rocketmq-namesrv); returns once it booted. */
    public static JavaNamesrv start(String classpath, Path workDir, String serializeType) throws IOException, InterruptedException {
        return start(classpath, workDir, serializeType, Map.of());
    }

    /** As above, with JVM system properties ({@code -Dkey=value}), e.g. {@code tls.server.mode}. */
    public static JavaNamesrv start(String classpath, Path workDir, String serializeType,
                                    Map<String, String> systemProperties) throws IOException, InterruptedException {
        Path dir = workDir.resolve("java-namesrv");
        Path home = dir.resolve("home");
        Files.createDirectories(home);
        int port = Ports.freePort();
        Path conf = dir.resolve("namesrv.conf");
        Files.writeString(conf, String.join("\n",
            "listenPort=" + port,
            "bindAddress=127.0.0.1",
            "kvConfigPath=" + dir.resolve("kvConfig.json"),
            "configStorePath=" + dir.resolve("namesrv.properties"),
            // Fewer threads: two cores are shared with the broker, the clients and the build.
            "defaultThreadPoolNums=4",
            "clientRequestThreadPoolNums=2",
            ""), StandardCharsets.UTF_8);
        List<String> command = new ArrayList<>(List.of(InteropEnv.javaBinary().toString(),
            "-Xms128m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true", "-Duser.home=" + home, "-Drocketmq.home.dir=" + home,
            "-Drocketmq.serialize.type=" + serializeType));
        systemProperties.forEach((key, value) -> command.add("-D" + key + "=" + value));
        command.addAll(List.of("-cp", classpath, MAIN_CLASS, "-c", conf.toString()));
        ChildProcess child = ChildProcess.start("java-namesrv", command, dir, workDir.resolve("logs/java-namesrv.log"),
            Map.of("ROCKETMQ_HOME", home.toString()));
        try {
            child.awaitStdout(BOOTED, STARTUP_TIMEOUT);
            return new JavaNamesrv(child, "127.0.0.1:" + port);
        } catch (InterruptedException | RuntimeException | Error e) {
            child.close();
            throw e;
        }
    }

    /** {@code 127.0.0.1:PORT}. */
    public String address() {
        return address;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public String tail(int lines) {
        return process.tail(lines);
    }

    @Override
    public void close() throws InterruptedException {
        process.stop(Duration.ofSeconds(5));
        process.close();
    }
}
