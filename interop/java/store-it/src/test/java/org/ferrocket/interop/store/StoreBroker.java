package org.ferrocket.interop.store;

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
 * The official Java broker 5.3.3 ({@code BrokerStartup -c broker.conf}) in a child JVM over a
 * store directory of our choosing, with small files ({@link StoreGeometry}) so that a few hundred
 * messages span several commit-log segments, consume-queue files and index files. Unlike the
 * name-server tests' {@code JavaBroker}, it is stopped cleanly and waited for: the store it leaves
 * is what the tests are about.
 */
final class StoreBroker implements AutoCloseable {

    /** JVM start, store recovery and the first registration; generous for a loaded 2-core machine. */
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);

    /** A clean shutdown flushes, unregisters and removes the abort file; seconds, with margin. */
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(60);

    private static final Pattern BOOTED = Pattern.compile("The broker\\[.*\\] boot success");

    private static final String MAIN_CLASS = "org.apache.rocketmq.broker.BrokerStartup";

    private final ChildProcess process;
    private final String address;
    private final Path storeDir;

    private StoreBroker(ChildProcess process, String address, Path storeDir) {
        this.process = process;
        this.address = address;
        this.storeDir = storeDir;
    }

    /** Starts a master named {@code brokerName} on {@code storeDir} (which may hold a store already). */
    static StoreBroker start(String classpath, Path workDir, String namesrvAddr, String brokerName, Path storeDir)
        throws IOException, InterruptedException {
        return start(classpath, workDir, namesrvAddr, brokerName, storeDir, Ports.brokerListenPort());
    }

    /**
     * As above, listening on {@code port} (from {@link Ports#brokerListenPort}): a store written for
     * this broker names its address in every record, and clients look messages up there by offset id.
     */
    static StoreBroker start(String classpath, Path workDir, String namesrvAddr, String brokerName, Path storeDir,
                             int port) throws IOException, InterruptedException {
        Path dir = workDir.resolve("broker-" + brokerName);
        Path home = dir.resolve("home");
        Files.createDirectories(home);
        Path conf = dir.resolve("broker.conf");
        Files.writeString(conf, brokerConf(namesrvAddr, brokerName, port, storeDir), StandardCharsets.UTF_8);
        List<String> command = new ArrayList<>(List.of(InteropEnv.javaBinary().toString(),
            "-Xms256m", "-Xmx256m", "-XX:MaxDirectMemorySize=128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true", "-Duser.timezone=UTC", "-Duser.home=" + home, "-Drocketmq.home.dir=" + home,
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
            "-cp", classpath, MAIN_CLASS, "-c", conf.toString()));
        ChildProcess child = ChildProcess.start("java-broker-" + brokerName, command, dir,
            workDir.resolve("logs/java-broker-" + brokerName + ".log"), Map.of("ROCKETMQ_HOME", home.toString()));
        try {
            child.awaitStdout(BOOTED, STARTUP_TIMEOUT);
            return new StoreBroker(child, "127.0.0.1:" + port, storeDir);
        } catch (InterruptedException | RuntimeException | Error e) {
            child.close();
            throw e;
        }
    }

    private static String brokerConf(String namesrvAddr, String brokerName, int port, Path store) {
        return String.join("\n",
            "namesrvAddr=" + namesrvAddr,
            "brokerClusterName=StoreItCluster",
            "brokerName=" + brokerName,
            "brokerId=0",
            "brokerRole=ASYNC_MASTER",
            "flushDiskType=ASYNC_FLUSH",
            "brokerIP1=127.0.0.1",
            "brokerIP2=127.0.0.1",
            "listenPort=" + port,
            "bindAddress=127.0.0.1",
            "storePathRootDir=" + store,
            "autoCreateTopicEnable=true",
            "autoCreateSubscriptionGroup=true",
            "mappedFileSizeCommitLog=" + StoreGeometry.COMMIT_LOG_SEGMENT_BYTES,
            "mappedFileSizeConsumeQueue=" + StoreGeometry.CONSUME_QUEUE_FILE_ENTRIES * 20,
            "maxHashSlotNum=" + StoreGeometry.INDEX_HASH_SLOTS,
            "maxIndexNum=" + StoreGeometry.INDEX_ENTRIES_MAX,
            // The timer wheel preallocates a 100 MiB log and spins its own threads; no test uses it.
            "timerWheelEnable=false",
            "traceTopicEnable=false",
            // Fewer threads: two cores are shared with the name server, the client and the build.
            "sendMessageThreadPoolNums=2",
            "pullMessageThreadPoolNums=2",
            "litePullMessageThreadPoolNums=2",
            "ackMessageThreadPoolNums=2",
            "processReplyMessageThreadPoolNums=2",
            "queryMessageThreadPoolNums=2",
            "adminBrokerThreadPoolNums=2",
            "clientManageThreadPoolNums=2",
            "consumerManageThreadPoolNums=2",
            "loadBalanceProcessorThreadPoolNums=2",
            "heartbeatThreadPoolNums=2",
            "recoverThreadPoolNums=2",
            "endTransactionThreadPoolNums=2",
            "");
    }

    /** {@code 127.0.0.1:listenPort}. */
    String address() {
        return address;
    }

    /**
     * SIGTERM and wait: the shutdown hook flushes the store and removes its abort file. Fails if
     * the broker had to be killed or left the abort file (the store would then not be a clean one).
     */
    void stopCleanly() throws InterruptedException {
        process.requestStop();
        process.awaitStopped(SHUTDOWN_TIMEOUT);
        if (Files.exists(storeDir.resolve("abort"))) {
            throw new AssertionError("the Java broker left " + storeDir.resolve("abort") + " (not a clean stop)\n"
                + process.tail(40));
        }
    }

    /** The end of the broker's output, for failure messages. */
    String tail() {
        return process.tail(60);
    }

    @Override
    public void close() {
        process.close();
    }
}
