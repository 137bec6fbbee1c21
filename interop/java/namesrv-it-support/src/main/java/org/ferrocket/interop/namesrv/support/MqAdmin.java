package org.ferrocket.interop.namesrv.support;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The official {@code mqadmin} ({@code org.apache.rocketmq.tools.command.MQAdminStartup}) in a
 * child JVM, as {@code bin/mqadmin} runs it but entered through {@link MqAdminLauncher} (which
 * exits when it returns) and with the tools' own logback file. mqadmin exits 0 even when a command
 * fails (it prints the stack trace), so callers assert on what it printed.
 */
public final class MqAdmin {

    /** One command: JVM start plus one or two round trips. */
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);


    private final String classpath;
    private final Path workDir;
    private final String namesrvAddr;
    private final String serializeType;
    private final AtomicInteger runs = new AtomicInteger();

    /** {@code serializeType}: {@code JSON} or {@code ROCKETMQ}, the header encoding of mqadmin's requests. */
    public MqAdmin(String classpath, Path workDir, String namesrvAddr, String serializeType) {
        this.classpath = classpath;
        this.serializeType = serializeType;
        this.workDir = workDir.resolve("mqadmin");
        this.namesrvAddr = namesrvAddr;
    }

    /** What one run printed. */
    public record Result(List<String> args, int exitStatus, String stdout, String stderr) {
        @Override
        public String toString() {
            return "mqadmin " + String.join(" ", args) + " (exit " + exitStatus + ")\n--- stdout ---\n" + stdout
                + "\n--- stderr ---\n" + stderr;
        }
    }

    /** Runs {@code mqadmin <args> -n <our name server>} and waits for it to exit. */
    public Result run(String... args) throws IOException, InterruptedException {
        Path home = workDir.resolve("home");
        writeLogbackConfig(home);
        List<String> command = new ArrayList<>(List.of(InteropEnv.javaBinary().toString(),
            "-Xms64m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            "-Djava.awt.headless=true", "-Duser.home=" + home, "-Drocketmq.home.dir=" + home,
            "-Drocketmq.serialize.type=" + serializeType,
            // 5.x: the broker's logback file would otherwise win (it is first on the search list).
            "-Drmq.logback.configurationFile=rmq.tools.logback.xml",
            "-cp", classpath + File.pathSeparator + launcherLocation(), MqAdminLauncher.class.getName()));
        command.addAll(List.of(args));
        command.addAll(List.of("-n", namesrvAddr));
        int run = runs.incrementAndGet();
        String label = "mqadmin-" + run + "-" + args[0];
        try (ChildProcess child = ChildProcess.start(label, command, workDir, workDir.resolve("logs/" + label + ".log"),
            Map.of("ROCKETMQ_HOME", home.toString()))) {
            int status = child.awaitExit(COMMAND_TIMEOUT);
            return new Result(List.of(args), status, child.stdout(), child.stderr());
        }
    }

    private static String launcherLocation() {
        try {
            return Path.of(MqAdminLauncher.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the namesrv-it-support classes", e);
        }
    }

    /**
     * 4.9.x mqadmin configures (unshaded) logback from {@code $ROCKETMQ_HOME/conf/logback_tools.xml}
     * and stops if the file is missing; the distribution ships one. Ours logs to a file only, so
     * stdout holds just what the command prints.
     */
    private static void writeLogbackConfig(Path home) throws IOException {
        Path file = home.resolve("conf").resolve("logback_tools.xml");
        if (Files.exists(file)) {
            return;
        }
        Files.createDirectories(file.getParent());
        Files.writeString(file, String.join("\n",
            "<configuration>",
            "  <appender name=\"FILE\" class=\"ch.qos.logback.core.FileAppender\">",
            "    <file>" + home.resolve("logs").resolve("tools.log") + "</file>",
            "    <encoder><pattern>%d %-5p [%t] %c{0} - %m%n</pattern></encoder>",
            "  </appender>",
            "  <root level=\"INFO\"><appender-ref ref=\"FILE\"/></root>",
            "</configuration>",
            ""), StandardCharsets.UTF_8);
    }
}
