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
 * The official Java broker ({@code org.apache.rocketmq.broker.BrokerStartup -c broker.conf}) in a
 * child JVM with a small heap and small store files, everything written under its own directory
 * ({@code user.home}, {@code rocketmq.home.dir} and {@code storePathRootDir} all point there).
 */
public final class JavaBroker implements AutoCloseable {

    /** JVM start, store creation and the first registration; generous for a loaded 2-core machine. */
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);

    private static final Pattern BOOTED = Pattern.compile("The broker\\[.*\\] boot success\\. serializeType=(\\w+)");

    private static final String MAIN_CLASS = "org.apache.rocketmq.broker.BrokerStartup";

    /** System property replacing {@link #TEST_JVM_OPTIONS}, e.g. {@code -Xms1g -Xmx1g -XX:+UseG1GC}. */
    public static final String JVM_OPTIONS_PROPERTY = "ferrocket.interop.javaBrokerJvmOptions";

    /** Small and quick to start: the tests send hundreds of messages, not millions. */
    private static final List<String> TEST_JVM_OPTIONS = List.of("-Xms256m", "-Xmx256m",
        "-XX:MaxDirectMemorySize=128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    private final ChildProcess process;
    private final String address;
    private final String serializeType;

    private JavaBroker(ChildProcess process, String address, String serializeType) {
        this.process = process;
        this.address = address;
        this.serializeType = serializeType;
    }

    /**
     * Starts a master broker that registers with {@code namesrvAddr}; returns once it says it booted.
     * {@code serializeType} ({@code JSON} or {@code ROCKETMQ}) is the header encoding of every
     * request the broker sends, the name server's included ({@code rocketmq.serialize.type}).
     */
    public static JavaBroker start(String classpath, Path workDir, String namesrvAddr, String clusterName,
                                   String brokerName, String serializeType) throws IOException, InterruptedException {
        return start(classpath, workDir, namesrvAddr, clusterName, brokerName, serializeType, Map.of());
    }

    /**
     * As above, with {@code extraConf} appended to the generated broker.conf: a key given there wins
     * over the default (a properties file keeps the last value of a repeated key).
     */
    public static JavaBroker start(String classpath, Path workDir, String namesrvAddr, String clusterName,
                                   String brokerName, String serializeType, Map<String, String> extraConf)
        throws IOException, InterruptedException {
        return start(classpath, workDir, namesrvAddr, clusterName, brokerName, serializeType, extraConf, Map.of());
    }

    /** As above, with JVM system properties ({@code -Dkey=value}), e.g. {@code tls.server.mode}. */
    public static JavaBroker start(String classpath, Path workDir, String namesrvAddr, String clusterName,
                                   String brokerName, String serializeType, Map<String, String> extraConf,
                                   Map<String, String> systemProperties)
        throws IOException, InterruptedException {
        return start(classpath, workDir, namesrvAddr, clusterName, brokerName, serializeType, extraConf,
            systemProperties, jvmOptions());
    }

    /**
     * As above, with the JVM's heap, GC and JIT options instead of {@link #TEST_JVM_OPTIONS} (or
     * {@link #JVM_OPTIONS_PROPERTY}): a broker running the timer wheel needs more direct memory.
     */
    public static JavaBroker start(String classpath, Path workDir, String namesrvAddr, String clusterName,
                                   String brokerName, String serializeType, Map<String, String> extraConf,
                                   Map<String, String> systemProperties, List<String> jvmOptions)
        throws IOException, InterruptedException {
        Path dir = workDir.resolve("broker-" + brokerName);
        Path home = dir.resolve("home");
        Files.createDirectories(home);
        int port = Ports.brokerListenPort();
        Path conf = dir.resolve("broker.conf");
        StringBuilder confText = new StringBuilder(brokerConf(namesrvAddr, clusterName, brokerName, port, dir.resolve("store")));
        extraConf.forEach((key, value) -> confText.append(key).append('=').append(value).append('\n'));
        Files.writeString(conf, confText.toString(), StandardCharsets.UTF_8);

        List<String> command = new ArrayList<>(List.of(InteropEnv.javaBinary().toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of(
            "-Djava.awt.headless=true", "-Duser.home=" + home, "-Drocketmq.home.dir=" + home,
            "-Drocketmq.serialize.type=" + serializeType,
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED"));
        systemProperties.forEach((key, value) -> command.add("-D" + key + "=" + value));
        command.addAll(List.of("-cp", classpath, MAIN_CLASS, "-c", conf.toString()));
        ChildProcess child = ChildProcess.start("java-broker-" + brokerName, command, dir,
            workDir.resolve("logs/java-broker-" + brokerName + ".log"), Map.of("ROCKETMQ_HOME", home.toString()));
        try {
            String reported = child.awaitStdout(BOOTED, STARTUP_TIMEOUT).group(1);
            return new JavaBroker(child, "127.0.0.1:" + port, reported);
        } catch (InterruptedException | RuntimeException | Error e) {
            child.close();
            throw e;
        }
    }

    /**
     * The heap, GC and JIT options: the tests' small heap and C1-only start-up by default; a
     * benchmark, where that would handicap the Java broker, names its own (space-separated) in
     * {@link #JVM_OPTIONS_PROPERTY}.
     */
    private static List<String> jvmOptions() {
        String options = System.getProperty(JVM_OPTIONS_PROPERTY, "").trim();
        return options.isEmpty() ? TEST_JVM_OPTIONS : List.of(options.split("\\s+"));
    }

    private static String brokerConf(String namesrvAddr, String clusterName, String brokerName, int port, Path store) {
        return String.join("\n",
            "namesrvAddr=" + namesrvAddr,
            "brokerClusterName=" + clusterName,
            "brokerName=" + brokerName,
            "brokerId=0",
            "brokerRole=ASYNC_MASTER",
            "flushDiskType=ASYNC_FLUSH",
            "brokerIP1=127.0.0.1",
            "brokerIP2=127.0.0.1",
            "listenPort=" + port,
            // Loopback only (both remoting servers; the HA port has no bind setting and stays on all interfaces).
            "bindAddress=127.0.0.1",
            "storePathRootDir=" + store,
            "autoCreateTopicEnable=true",
            "autoCreateSubscriptionGroup=true",
            // The longest period allowed: a periodic re-registration restores the broker's own
            // permissions, which the write-permission test must not race with more than needed.
            "registerNameServerPeriod=60000",
            // Small files: a 1 GiB commit log and 5.7 MiB queue files are pointless for a hundred messages.
            "mappedFileSizeCommitLog=" + 64 * 1024 * 1024,
            "mappedFileSizeConsumeQueue=" + 30_000 * 20,
            "maxHashSlotNum=10000",
            "maxIndexNum=40000",
            // The timer wheel preallocates a 100 MiB log and spins its own threads; no test uses it.
            "timerWheelEnable=false",
            "traceTopicEnable=false",
            // Fewer threads: two cores are shared with the name server, the clients and the build.
            "sendMessageThreadPoolNums=2",
            "pullMessageThreadPoolNums=4",
            "litePullMessageThreadPoolNums=2",
            "ackMessageThreadPoolNums=2",
            "processReplyMessageThreadPoolNums=2",
            "queryMessageThreadPoolNums=2",
            "adminBrokerThreadPoolNums=4",
            "clientManageThreadPoolNums=4",
            "consumerManageThreadPoolNums=4",
            "loadBalanceProcessorThreadPoolNums=2",
            "heartbeatThreadPoolNums=2",
            "recoverThreadPoolNums=2",
            "endTransactionThreadPoolNums=2",
            "");
    }

    /** {@code 127.0.0.1:listenPort}: what the broker registers as its address. */
    public String address() {
        return address;
    }

    /** The header encoding the broker says it uses (its boot line), to check the setting took. */
    public String serializeType() {
        return serializeType;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The last {@code lines} lines of its output, for failure messages. */
    public String tail(int lines) {
        return process.tail(lines);
    }

    /** SIGTERM and wait: its shutdown hook unregisters and saves offsets and metadata; SIGKILL after {@code grace}. */
    public void stop(Duration grace) throws InterruptedException {
        process.stop(grace);
    }

    /** SIGKILL: no UNREGISTER_BROKER, the name server only sees the connection close. */
    public void kill() {
        process.kill();
    }

    /**
     * SIGTERM, without waiting: the broker's shutdown hook sends UNREGISTER_BROKER first and
     * closes its connection to the name server only at the end, seconds later.
     */
    public void beginGracefulStop() {
        process.requestStop();
    }

    @Override
    public void close() {
        process.close();
    }
}
