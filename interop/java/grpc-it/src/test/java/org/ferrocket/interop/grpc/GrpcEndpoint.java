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
import org.ferrocket.interop.namesrv.support.JavaNamesrv;
import org.ferrocket.interop.namesrv.support.Ports;

/**
 * One gRPC endpoint under test with the name server and broker behind it: ours
 * ({@code ferrocket broker -c broker.conf}, which serves gRPC beside its broker) or, with
 * {@code -Dbroker.impl=java}, the official 5.3.3 name server and proxy in local mode
 * ({@code ProxyStartup -pm local}, the broker inside the proxy's JVM) - the reference every test is
 * first run against.
 */
final class GrpcEndpoint implements AutoCloseable {

    private static final Pattern BROKER_LISTENING = Pattern.compile("listening broker (\\S+)");
    private static final Pattern GRPC_LISTENING = Pattern.compile("listening grpc (\\S+)");
    private static final Pattern PROXY_STARTED = Pattern.compile("rocketmq-proxy startup successfully");
    /** A JVM with a broker inside on 2 loaded cores; ours takes well under a second. */
    private static final Duration STARTUP = Duration.ofSeconds(90);

    final boolean java;
    final String namesrvAddress;
    final String brokerAddress;
    /** {@code 127.0.0.1:PORT} of the gRPC endpoint, the 5.x client's {@code endpoints}. */
    final String grpcAddress;
    private final ChildProcess server;
    private final AutoCloseable namesrv;

    private GrpcEndpoint(boolean java, String namesrvAddress, String brokerAddress, String grpcAddress,
                         ChildProcess server, AutoCloseable namesrv) {
        this.java = java;
        this.namesrvAddress = namesrvAddress;
        this.brokerAddress = brokerAddress;
        this.grpcAddress = grpcAddress;
        this.server = server;
        this.namesrv = namesrv;
    }

    static GrpcEndpoint start(Path workDir) throws Exception {
        return "java".equals(System.getProperty("broker.impl", "ferrocket")) ? startJava(workDir) : startOurs(workDir);
    }

    /**
     * Broker settings both sides take: transaction checks every 2 s of half messages older than
     * 2 s, so the checker test waits seconds, not Java's default half minute.
     */
    private static final List<String> SHARED_BROKER_CONF = List.of(
        "transactionTimeOut=2000",
        "transactionCheckInterval=2000");

    /** Ours as `ferrocket namesrv` and `ferrocket broker -c broker.conf`, which serves gRPC too. */
    private static GrpcEndpoint startOurs(Path workDir) throws Exception {
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

    private static GrpcEndpoint startJava(Path workDir) throws Exception {
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
                ""), StandardCharsets.UTF_8);
            Path proxyConf = dir.resolve("rmq-proxy.json");
            Files.writeString(proxyConf, "{\"rocketMQClusterName\":\"DefaultCluster\",\"grpcServerPort\":" + grpcPort
                + ",\"remotingListenPort\":" + remotingPort + ",\"namesrvAddr\":\"" + namesrv.address() + "\"}",
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

    @Override
    public void close() throws Exception {
        try {
            server.stop(Duration.ofSeconds(30));
        } finally {
            server.close();
            namesrv.close();
        }
    }
}
