package org.ferrocket.interop.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.InteropEnv;

/**
 * A name server, a SYNC_MASTER and its slave, each in a network namespace of its own, joined by
 * veth pairs to a bridge in the test's namespace (which holds the bridge's address, so the test's
 * clients reach all three). Ours, or the official 5.3.3 processes with {@code -Dbroker.impl=java}.
 * Needs root ({@code ip netns}). Faults are made with the {@code ip} tool: a link set down (the
 * node cut from everyone) or a blackhole route (one pair of nodes cut from each other).
 */
final class NetnsCluster implements AutoCloseable {

    static final String CLUSTER = "ChaosNetCluster";
    static final String BROKER_NAME = "broker-chaos-net";
    static final int NAMESRV_PORT = 9876;
    static final int BROKER_PORT = 10911;
    private static final Duration STARTUP = Duration.ofSeconds(120);
    private static final Pattern OUR_BROKER = Pattern.compile("^listening broker ");
    private static final Pattern OUR_NAMESRV = Pattern.compile("^listening namesrv ");
    private static final Pattern JAVA_BROKER = Pattern.compile("The broker\\[.*\\] boot success");
    private static final Pattern JAVA_NAMESRV = Pattern.compile("The Name Server boot success");

    /** The three nodes, their namespace suffixes and host numbers on the /24. */
    enum Node {
        NAMESRV("n", 2), MASTER("m", 3), SLAVE("s", 4);

        final String suffix;
        final int host;

        Node(String suffix, int host) {
            this.suffix = suffix;
            this.host = host;
        }
    }

    private final BrokerUnderTest.Impl impl = BrokerUnderTest.selectedImpl();
    private final String tag = "fr" + ProcessHandle.current().pid() % 100_000;
    private final String subnet = "10.231." + (ProcessHandle.current().pid() % 250) + ".";
    private final Path work;
    private final List<ChildProcess> processes = new ArrayList<>();
    private final List<String> blackholes = new ArrayList<>();

    private NetnsCluster(Path work) {
        this.work = work;
    }

    /** Builds the network and starts the three processes (the slave once the master is up). */
    static NetnsCluster start(Path work) throws IOException, InterruptedException {
        NetnsCluster cluster = new NetnsCluster(work);
        try {
            cluster.buildNetwork();
            cluster.startProcesses();
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }

    String ip(Node node) {
        return subnet + node.host;
    }

    String namesrvAddress() {
        return ip(Node.NAMESRV) + ":" + NAMESRV_PORT;
    }

    String brokerAddress(Node node) {
        return ip(node) + ":" + BROKER_PORT;
    }

    Path storeDir(Node node) {
        return work.resolve(node.name().toLowerCase()).resolve("store");
    }

    BrokerUnderTest.Impl impl() {
        return impl;
    }

    private String namespace(Node node) {
        return tag + "-" + node.suffix;
    }

    private String bridge() {
        return tag + "b";
    }

    private String rootVeth(Node node) {
        return tag + node.suffix;
    }

    private void buildNetwork() throws IOException, InterruptedException {
        ip("link", "add", bridge(), "type", "bridge");
        ip("addr", "add", subnet + "1/24", "dev", bridge());
        ip("link", "set", bridge(), "up");
        for (Node node : Node.values()) {
            String ns = namespace(node);
            ip("netns", "add", ns);
            ip("link", "add", rootVeth(node), "type", "veth", "peer", "name", "eth0", "netns", ns);
            ip("link", "set", rootVeth(node), "master", bridge());
            ip("link", "set", rootVeth(node), "up");
            ip("-n", ns, "addr", "add", ip(node) + "/24", "dev", "eth0");
            ip("-n", ns, "link", "set", "eth0", "up");
            ip("-n", ns, "link", "set", "lo", "up");
        }
    }

    /** The node's link down: cut from every other node and from the clients. */
    void cutOff(Node node) throws IOException, InterruptedException {
        ip("link", "set", rootVeth(node), "down");
    }

    void reconnect(Node node) throws IOException, InterruptedException {
        ip("link", "set", rootVeth(node), "up");
    }

    /** Packets from {@code from} to {@code to} dropped (a blackhole route in {@code from}'s namespace). */
    void blackhole(Node from, Node to) throws IOException, InterruptedException {
        ip("-n", namespace(from), "route", "add", "blackhole", ip(to) + "/32");
        blackholes.add(namespace(from) + " " + ip(to));
    }

    void unblackhole(Node from, Node to) throws IOException, InterruptedException {
        ip("-n", namespace(from), "route", "del", "blackhole", ip(to) + "/32");
        blackholes.remove(namespace(from) + " " + ip(to));
    }

    /** The test's own namespace (the clients) cut from {@code to}. */
    void blackholeFromClients(Node to) throws IOException, InterruptedException {
        ip("route", "add", "blackhole", ip(to) + "/32");
        blackholes.add("root " + ip(to));
    }

    void unblackholeFromClients(Node to) throws IOException, InterruptedException {
        ip("route", "del", "blackhole", ip(to) + "/32");
        blackholes.remove("root " + ip(to));
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed (root is needed): " + output);
        }
    }

    private void startProcesses() throws IOException, InterruptedException {
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        Path nsDir = work.resolve("namesrv");
        Files.createDirectories(nsDir);
        if (impl == BrokerUnderTest.Impl.JAVA) {
            Path conf = nsDir.resolve("namesrv.conf");
            Files.writeString(conf, String.join("\n", "listenPort=" + NAMESRV_PORT, "bindAddress=" + ip(Node.NAMESRV),
                "kvConfigPath=" + nsDir.resolve("kvConfig.json"), "configStorePath=" + nsDir.resolve("namesrv.properties"),
                "defaultThreadPoolNums=4", "clientRequestThreadPoolNums=2", ""), StandardCharsets.UTF_8);
            launch(Node.NAMESRV, javaCommand(classpath, nsDir, "-Xmx128m", "org.apache.rocketmq.namesrv.NamesrvStartup",
                conf), JAVA_NAMESRV);
        } else {
            launch(Node.NAMESRV, List.of(InteropEnv.ferrocketBinary().toString(), "namesrv", "--host", ip(Node.NAMESRV),
                "--port", Integer.toString(NAMESRV_PORT), "--data-dir", nsDir.resolve("data").toString()), OUR_NAMESRV);
        }
        startBroker(classpath, Node.MASTER, "brokerId=0", "brokerRole=SYNC_MASTER");
        startBroker(classpath, Node.SLAVE, "brokerId=1", "brokerRole=SLAVE");
    }

    private void startBroker(String classpath, Node node, String... role) throws IOException, InterruptedException {
        Path dir = work.resolve(node.name().toLowerCase());
        Files.createDirectories(dir);
        List<String> lines = new ArrayList<>(List.of(
            "brokerClusterName=" + CLUSTER, "brokerName=" + BROKER_NAME, "namesrvAddr=" + namesrvAddress(),
            "brokerIP1=" + ip(node), "brokerIP2=" + ip(node), "bindAddress=" + ip(node),
            "listenPort=" + BROKER_PORT, "haListenPort=" + (BROKER_PORT + 1),
            "storePathRootDir=" + storeDir(node), "storePathCommitLog=" + storeDir(node).resolve("commitlog"),
            "flushDiskType=ASYNC_FLUSH", "inSyncReplicas=2", "slaveReadEnable=true",
            "autoCreateTopicEnable=true", "autoCreateSubscriptionGroup=true",
            "registerNameServerPeriod=10000", "mappedFileSizeCommitLog=" + 16 * 1024 * 1024,
            "mappedFileSizeConsumeQueue=" + 30_000 * 20, "timerWheelEnable=false", "traceTopicEnable=false",
            "sendMessageThreadPoolNums=2", "pullMessageThreadPoolNums=4"));
        lines.addAll(List.of(role));
        if (impl != BrokerUnderTest.Impl.JAVA) {
            lines.add("slaveSyncPeriod=500");
        }
        lines.add("");
        Path conf = dir.resolve("broker.conf");
        Files.writeString(conf, String.join("\n", lines), StandardCharsets.UTF_8);
        if (impl == BrokerUnderTest.Impl.JAVA) {
            launch(node, javaCommand(classpath, dir, "-Xmx256m", "org.apache.rocketmq.broker.BrokerStartup", conf),
                JAVA_BROKER);
        } else {
            launch(node, List.of(InteropEnv.ferrocketBinary().toString(), "broker", "-c", conf.toString(),
                "--grpc-port", "0"), OUR_BROKER);
        }
    }

    private static List<String> javaCommand(String classpath, Path dir, String heap, String main, Path conf) {
        Path home = dir.resolve("home");
        return List.of(InteropEnv.javaBinary().toString(), heap, "-XX:MaxDirectMemorySize=128m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true", "-Duser.home=" + home,
            "-Drocketmq.home.dir=" + home, "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
            "-cp", classpath, main, "-c", conf.toString());
    }

    private void launch(Node node, List<String> command, Pattern ready) throws IOException, InterruptedException {
        List<String> inNamespace = new ArrayList<>(List.of("ip", "netns", "exec", namespace(node)));
        inNamespace.addAll(command);
        Path dir = work.resolve(node.name().toLowerCase());
        ChildProcess child = ChildProcess.start(impl.name().toLowerCase() + "-" + node.name().toLowerCase(), inNamespace,
            dir, work.resolve("logs/" + node.name().toLowerCase() + ".log"),
            Map.of("ROCKETMQ_HOME", dir.resolve("home").toString(), "NO_COLOR", "1",
                "FERROCKET_LOG", System.getenv().getOrDefault("FERROCKET_LOG", "info")));
        processes.add(child);
        child.awaitStdout(ready, STARTUP);
    }

    void assertAlive() {
        for (ChildProcess child : processes) {
            if (!child.isAlive()) {
                throw new AssertionError("a process under test exited\n" + child.tail(60));
            }
        }
    }

    /** Stops the processes, then removes the namespaces, the veth pairs (with them) and the bridge. */
    @Override
    public void close() {
        for (int i = processes.size() - 1; i >= 0; i--) {
            processes.get(i).close();
        }
        for (String hole : List.copyOf(blackholes)) {
            String[] parts = hole.split(" ");
            quietly(parts[0].equals("root") ? new String[] {"route", "del", "blackhole", parts[1] + "/32"}
                : new String[] {"-n", parts[0], "route", "del", "blackhole", parts[1] + "/32"});
        }
        for (Node node : Node.values()) {
            quietly("netns", "del", namespace(node));
        }
        quietly("link", "del", bridge());
    }

    private static void quietly(String... args) {
        try {
            ip(args);
        } catch (IOException | InterruptedException ignored) {
            // Clean-up: whatever was never made cannot be removed.
        }
    }
}
