package org.ferrocket.interop.grpc;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.FerrocketNamesrv;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.JavaBroker;
import org.ferrocket.interop.namesrv.support.JavaNamesrv;
import org.ferrocket.interop.namesrv.support.Ports;

/**
 * One gRPC endpoint under test with the name server and broker behind it: ours
 * ({@code ferrocket broker -c broker.conf}, which serves gRPC beside its broker) or, with
 * {@code -Dbroker.impl=java}, the official 5.3.3 name server and proxy in local mode
 * ({@code ProxyStartup -pm local}, the broker inside the proxy's JVM) - the reference every test is
 * first run against.
 *
 * <p>With {@code -Dproxy.mode=cluster} the gRPC endpoint is always the official 5.3.3 proxy in
 * cluster mode ({@code ProxyStartup -pm cluster}, its own JVM), which speaks remoting - route,
 * heartbeat, send, POP, ack, change invisible time, end transaction - to the name server and
 * broker behind it: the official 5.3.3 pair with {@code -Dbroker.impl=java}, else ours
 * ({@code ferrocket namesrv} and {@code ferrocket broker} with its own gRPC endpoint off). That
 * proves our broker's POP codes against the proxy that wrote them.
 */
final class GrpcEndpoint implements AutoCloseable {

    private static final Pattern BROKER_LISTENING = Pattern.compile("listening broker (\\S+)");
    private static final Pattern GRPC_LISTENING = Pattern.compile("listening grpc (\\S+)");
    private static final Pattern PROXY_STARTED = Pattern.compile("rocketmq-proxy startup successfully");
    /** A JVM with a broker inside on 2 loaded cores; ours takes well under a second. */
    private static final Duration STARTUP = Duration.ofSeconds(90);

    /**
     * The official proxy answers the 5.x client (local or cluster mode), so the client sees Java's
     * gRPC behaviour even when our broker is behind it.
     */
    final boolean java;
    final String namesrvAddress;
    final String brokerAddress;
    /** {@code 127.0.0.1:PORT} of the gRPC endpoint, the 5.x client's {@code endpoints}. */
    final String grpcAddress;
    private final ChildProcess server;
    private final AutoCloseable namesrv;
    /** The broker behind a cluster-mode proxy (closed after the proxy), else a no-op. */
    private final AutoCloseable broker;

    private GrpcEndpoint(boolean java, String namesrvAddress, String brokerAddress, String grpcAddress,
                         ChildProcess server, AutoCloseable namesrv) {
        this(java, namesrvAddress, brokerAddress, grpcAddress, server, namesrv, () -> { });
    }

    private GrpcEndpoint(boolean java, String namesrvAddress, String brokerAddress, String grpcAddress,
                         ChildProcess server, AutoCloseable namesrv, AutoCloseable broker) {
        this.java = java;
        this.namesrvAddress = namesrvAddress;
        this.brokerAddress = brokerAddress;
        this.grpcAddress = grpcAddress;
        this.server = server;
        this.namesrv = namesrv;
        this.broker = broker;
    }

    /**
     * The cluster-mode proxy, name server and broker, shared by every test class of the JVM (their
     * topics and groups have distinct names): three JVMs start once, not once per class, which keeps
     * this run inside its time budget. Stopped when the test JVM exits.
     */
    private static GrpcEndpoint sharedCluster;

    static GrpcEndpoint start(Path workDir) throws Exception {
        boolean javaBroker = "java".equals(System.getProperty("broker.impl", "ferrocket"));
        if ("cluster".equals(System.getProperty("proxy.mode", "local"))) {
            return sharedClusterProxy(workDir, javaBroker);
        }
        return javaBroker ? startJava(workDir, Map.of()) : startOurs(workDir, Map.of());
    }

    /**
     * A local endpoint (ours, or Java's local-mode proxy) whose broker takes {@code brokerConf} too
     * (5.x auth settings, say). Java's proxy reads its own auth settings from rmq-proxy.json: the
     * same switches and providers, but the proxy's metadata providers, which ask the broker inside.
     */
    static GrpcEndpoint startWithBrokerConf(Path workDir, Map<String, String> brokerConf) throws Exception {
        boolean javaBroker = "java".equals(System.getProperty("broker.impl", "ferrocket"));
        return javaBroker ? startJava(workDir, brokerConf) : startOurs(workDir, brokerConf);
    }

    private static List<String> confLines(Map<String, String> conf) {
        List<String> lines = new ArrayList<>();
        conf.forEach((key, value) -> lines.add(key + "=" + value));
        return lines;
    }

    /** The auth part of {@code brokerConf} as rmq-proxy.json fields (the leading comma included). */
    private static String proxyAuthJson(Map<String, String> brokerConf) {
        StringBuilder json = new StringBuilder();
        for (Map.Entry<String, String> entry : brokerConf.entrySet()) {
            String key = entry.getKey();
            String value = entry.getValue();
            if (!key.startsWith("authentication") && !key.startsWith("authorization")) {
                continue;
            }
            if (key.equals("authenticationMetadataProvider")) {
                value = "org.apache.rocketmq.proxy.auth.ProxyAuthenticationMetadataProvider";
            } else if (key.equals("authorizationMetadataProvider")) {
                value = "org.apache.rocketmq.proxy.auth.ProxyAuthorizationMetadataProvider";
            }
            boolean bool = value.equals("true") || value.equals("false");
            json.append(",\"").append(key).append("\":").append(bool ? value : "\"" + value + "\"");
        }
        return json.toString();
    }

    private static synchronized GrpcEndpoint sharedClusterProxy(Path workDir, boolean javaBroker) throws Exception {
        if (sharedCluster == null) {
            GrpcEndpoint started = startClusterProxy(workDir, javaBroker);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    started.closeNow();
                } catch (Exception e) {
                    System.err.println("stopping the cluster-mode proxy: " + e);
                }
            }));
            sharedCluster = started;
        }
        return sharedCluster;
    }

    /**
     * The Java broker behind the cluster-mode proxy: the support module's small test JVM, but with
     * the direct memory the local-mode proxy's JVM has (-Xmx512m, so 512 MiB). With 128 MiB the
     * timer wheel's dequeue threads fail to allocate their 4 MiB read buffers
     * ({@code OutOfMemoryError: Cannot reserve 4194404 bytes of direct buffer memory} in
     * store.log, every second) once the run has warmed up, the wheel stops delivering, and
     * everything 5.3.3 routes through it stalls: POP checkpoints and acks never reach the revive
     * queue, so a message changed to a short invisible time never comes back (the DLQ test).
     */
    private static final List<String> CLUSTER_JAVA_BROKER_JVM = List.of("-Xms256m", "-Xmx256m",
        "-XX:MaxDirectMemorySize=512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    /**
     * Broker settings both sides take: transaction checks every 2 s of half messages older than
     * 2 s, so the checker test waits seconds, not Java's default half minute; RECALL_MESSAGE on
     * (off by default in both) for the recall test.
     */
    private static final List<String> SHARED_BROKER_CONF = List.of(
        "transactionTimeOut=2000",
        "transactionCheckInterval=2000",
        "recallMessageEnable=true");

    /** Ours as `ferrocket namesrv` and `ferrocket broker -c broker.conf`, which serves gRPC too. */
    private static GrpcEndpoint startOurs(Path workDir, Map<String, String> brokerConf) throws Exception {
        FerrocketNamesrv namesrv = FerrocketNamesrv.start(workDir);
        try {
            Path dir = workDir.resolve("ferrocket-broker");
            Files.createDirectories(dir);
            int brokerPort = Ports.brokerListenPort();
            Path conf = dir.resolve("broker.conf");
            List<String> lines = new ArrayList<>(List.of(
                "brokerClusterName=DefaultCluster",
                "brokerName=broker-a",
                "brokerId=0",
                "namesrvAddr=" + namesrv.address(),
                "brokerIP1=127.0.0.1",
                // Loopback only: the broker's port and the gRPC port.
                "bindAddress=127.0.0.1",
                "listenPort=" + brokerPort,
                "storePathRootDir=" + dir.resolve("store"),
                "autoCreateTopicEnable=true",
                // Port 0: the OS's pick, read from the `listening grpc` line.
                "grpcServerPort=0"));
            lines.addAll(SHARED_BROKER_CONF);
            lines.addAll(confLines(brokerConf));
            lines.add("");
            Files.writeString(conf, String.join("\n", lines), StandardCharsets.UTF_8);
            List<String> command = List.of(InteropEnv.ferrocketBinary().toString(), "broker", "-c", conf.toString());
            ChildProcess child = ChildProcess.start("ferrocket-broker", command, dir,
                workDir.resolve("logs/ferrocket-broker.log"),
                Map.of("FERROCKET_LOG", System.getenv().getOrDefault("FERROCKET_LOG", "info"), "NO_COLOR", "1"));
            try {
                child.awaitStdout(BROKER_LISTENING, STARTUP);
                String grpc = child.awaitStdout(GRPC_LISTENING, STARTUP).group(1);
                String grpcPort = grpc.substring(grpc.lastIndexOf(':') + 1);
                return new GrpcEndpoint(false, namesrv.address(), "127.0.0.1:" + brokerPort, "127.0.0.1:" + grpcPort,
                    child, namesrv);
            } catch (InterruptedException | RuntimeException | Error e) {
                child.close();
                throw e;
            }
        } catch (Exception | Error e) {
            namesrv.close();
            throw e;
        }
    }

    /**
     * The official proxy in cluster mode in front of a name server and broker: Java's 5.3.3 pair
     * or ours (our broker's own gRPC endpoint off, so the proxy is the only one).
     */
    private static GrpcEndpoint startClusterProxy(Path workDir, boolean javaBroker) throws Exception {
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.proxyClasspath");
        List<AutoCloseable> started = new ArrayList<>();
        try {
            String namesrvAddress;
            String brokerAddress;
            if (javaBroker) {
                JavaNamesrv namesrv = JavaNamesrv.start(classpath, workDir, "JSON");
                started.add(namesrv);
                namesrvAddress = namesrv.address();
                Map<String, String> extra = new java.util.LinkedHashMap<>();
                // POP is refused while the wheel is off ("... forbidden because timerWheelEnable is false").
                extra.put("timerWheelEnable", "true");
                for (String line : SHARED_BROKER_CONF) {
                    extra.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
                }
                JavaBroker broker = JavaBroker.start(classpath, workDir, namesrvAddress, "DefaultCluster", "broker-a",
                    "JSON", extra, Map.of(), CLUSTER_JAVA_BROKER_JVM);
                started.add(broker);
                brokerAddress = broker.address();
            } else {
                FerrocketNamesrv namesrv = FerrocketNamesrv.start(workDir);
                started.add(namesrv);
                namesrvAddress = namesrv.address();
                Path dir = workDir.resolve("ferrocket-broker");
                Files.createDirectories(dir);
                int brokerPort = Ports.brokerListenPort();
                Path conf = dir.resolve("broker.conf");
                List<String> lines = new ArrayList<>(List.of(
                    "brokerClusterName=DefaultCluster",
                    "brokerName=broker-a",
                    "brokerId=0",
                    "namesrvAddr=" + namesrvAddress,
                    "brokerIP1=127.0.0.1",
                    "bindAddress=127.0.0.1",
                    "listenPort=" + brokerPort,
                    "storePathRootDir=" + dir.resolve("store"),
                    "autoCreateTopicEnable=true",
                    "grpcServerEnable=false"));
                lines.addAll(SHARED_BROKER_CONF);
                lines.add("");
                Files.writeString(conf, String.join("\n", lines), StandardCharsets.UTF_8);
                ChildProcess broker = ChildProcess.start("ferrocket-broker",
                    List.of(InteropEnv.ferrocketBinary().toString(), "broker", "-c", conf.toString()), dir,
                    workDir.resolve("logs/ferrocket-broker.log"),
                    Map.of("FERROCKET_LOG", System.getenv().getOrDefault("FERROCKET_LOG", "info"), "NO_COLOR", "1"));
                started.add(broker);
                broker.awaitStdout(BROKER_LISTENING, STARTUP);
                brokerAddress = "127.0.0.1:" + brokerPort;
            }
            awaitRegistered(namesrvAddress, "DefaultCluster", "broker-a");
            Path dir = workDir.resolve("java-cluster-proxy");
            Path home = dir.resolve("home");
            Files.createDirectories(home);
            int grpcPort = Ports.freePort();
            int remotingPort = Ports.freePort();
            Path proxyConf = dir.resolve("rmq-proxy.json");
            Files.writeString(proxyConf, "{\"rocketMQClusterName\":\"DefaultCluster\",\"grpcServerPort\":" + grpcPort
                + ",\"remotingListenPort\":" + remotingPort + ",\"namesrvAddr\":\"" + namesrvAddress + "\"}",
                StandardCharsets.UTF_8);
            List<String> command = new ArrayList<>(List.of(InteropEnv.javaBinary().toString(),
                "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                "-Duser.home=" + home, "-Drocketmq.home.dir=" + home,
                "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
                "-cp", classpath, "org.apache.rocketmq.proxy.ProxyStartup",
                "-pm", "cluster", "-pc", proxyConf.toString()));
            ChildProcess proxy = ChildProcess.start("java-cluster-proxy", command, dir,
                workDir.resolve("logs/java-cluster-proxy.log"), Map.of("ROCKETMQ_HOME", home.toString()));
            try {
                proxy.awaitStdout(PROXY_STARTED, STARTUP);
            } catch (InterruptedException | RuntimeException | Error e) {
                proxy.close();
                throw e;
            }
            AutoCloseable namesrv = started.get(0);
            AutoCloseable broker = started.get(1);
            return new GrpcEndpoint(true, namesrvAddress, brokerAddress, "127.0.0.1:" + grpcPort, proxy, namesrv,
                broker);
        } catch (Exception | Error e) {
            for (int i = started.size() - 1; i >= 0; i--) {
                started.get(i).close();
            }
            throw e;
        }
    }

    /**
     * Until the name server lists the broker in its cluster: a cluster-mode proxy started before
     * that exits at once ("create system broadcast topic DefaultHeartBeatSyncerTopic failed on
     * cluster DefaultCluster"), which a broker's boot line does not rule out.
     */
    private static void awaitRegistered(String namesrvAddress, String cluster, String brokerName) throws Exception {
        org.apache.rocketmq.tools.admin.DefaultMQAdminExt admin = new org.apache.rocketmq.tools.admin.DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrvAddress);
        admin.setInstanceName("grpc-it-await-" + System.nanoTime());
        admin.start();
        try {
            org.ferrocket.interop.namesrv.support.Poll.until(brokerName + " in " + cluster + " at the name server",
                STARTUP, () -> {
                    try {
                        return admin.examineBrokerClusterInfo().getClusterAddrTable().get(cluster);
                    } catch (Exception notYet) {
                        return null;
                    }
                }, (java.util.Set<String> names) -> names != null && names.contains(brokerName));
        } finally {
            admin.shutdown();
        }
    }

    private static GrpcEndpoint startJava(Path workDir, Map<String, String> extraConf) throws Exception {
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.proxyClasspath");
        JavaNamesrv namesrv = JavaNamesrv.start(classpath, workDir, "JSON");
        try {
            Path dir = workDir.resolve("java-proxy");
            Path home = dir.resolve("home");
            Files.createDirectories(home);
            int brokerPort = Ports.brokerListenPort();
            int grpcPort = Ports.freePort();
            int remotingPort = Ports.freePort();
            Path brokerConf = dir.resolve("broker.conf");
            Files.writeString(brokerConf, String.join("\n",
                "brokerClusterName=DefaultCluster",
                "brokerName=broker-a",
                "brokerId=0",
                "brokerRole=ASYNC_MASTER",
                "flushDiskType=ASYNC_FLUSH",
                "namesrvAddr=" + namesrv.address(),
                "brokerIP1=127.0.0.1",
                // Loopback only: the broker's port and the gRPC port.
                "bindAddress=127.0.0.1",
                "listenPort=" + brokerPort,
                "storePathRootDir=" + dir.resolve("store"),
                "storePathCommitLog=" + dir.resolve("store").resolve("commitlog"),
                "autoCreateTopicEnable=true",
                "mappedFileSizeCommitLog=" + 64 * 1024 * 1024,
                "mappedFileSizeConsumeQueue=" + 30_000 * 20,
                "traceTopicEnable=false",
                String.join("\n", SHARED_BROKER_CONF),
                String.join("\n", confLines(extraConf)),
                ""), StandardCharsets.UTF_8);
            Path proxyConf = dir.resolve("rmq-proxy.json");
            Files.writeString(proxyConf, "{\"rocketMQClusterName\":\"DefaultCluster\",\"grpcServerPort\":" + grpcPort
                + ",\"remotingListenPort\":" + remotingPort + ",\"namesrvAddr\":\"" + namesrv.address() + "\""
                + proxyAuthJson(extraConf) + "}",
                StandardCharsets.UTF_8);
            List<String> command = new ArrayList<>(List.of(InteropEnv.javaBinary().toString(),
                "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                "-Duser.home=" + home, "-Drocketmq.home.dir=" + home,
                "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
                "-cp", classpath, "org.apache.rocketmq.proxy.ProxyStartup",
                "-pm", "local", "-bc", brokerConf.toString(), "-pc", proxyConf.toString()));
            ChildProcess child = ChildProcess.start("java-proxy", command, dir, workDir.resolve("logs/java-proxy.log"),
                Map.of("ROCKETMQ_HOME", home.toString()));
            try {
                child.awaitStdout(PROXY_STARTED, STARTUP);
                return new GrpcEndpoint(true, namesrv.address(), "127.0.0.1:" + brokerPort, "127.0.0.1:" + grpcPort,
                    child, namesrv);
            } catch (InterruptedException | RuntimeException | Error e) {
                child.close();
                throw e;
            }
        } catch (Exception | Error e) {
            namesrv.close();
            throw e;
        }
    }

    String tail(int lines) {
        return server.tail(lines);
    }

    /** Stops the processes, except the shared cluster-mode ones, which stop with the test JVM. */
    @Override
    public void close() throws Exception {
        if (this != sharedCluster) {
            closeNow();
        }
    }

    private void closeNow() throws Exception {
        try {
            server.stop(Duration.ofSeconds(30));
        } finally {
            try {
                server.close();
                broker.close();
            } finally {
                namesrv.close();
            }
        }
    }
}
