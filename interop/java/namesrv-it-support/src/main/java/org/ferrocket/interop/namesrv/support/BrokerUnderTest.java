package org.ferrocket.interop.namesrv.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A name server plus one master broker for the broker interop tests: ours, or with
 * {@code -Dbroker.impl=java} the official Java 5.3.3 pair, which is how every test is validated
 * before it judges ours (a test that fails against Java is wrong, not our broker).
 *
 * <p>Ours is {@code ferrocket standalone} (both in one process) when the default broker settings
 * will do; a test that needs other settings (auto-create off, say) gets {@code ferrocket namesrv}
 * plus {@code ferrocket broker -c broker.conf} with Java's property names. The Java pair is
 * {@code NamesrvStartup} and {@code BrokerStartup} as child JVMs ({@link JavaNamesrv},
 * {@link JavaBroker}). Either way everything listens on free loopback ports and writes under the
 * test class's scratch directory.
 */
public final class BrokerUnderTest implements AutoCloseable {

    /** Which broker the tests judge. */
    public enum Impl { FERROCKET, JAVA }

    /** Java's defaults, which our broker.conf reader takes too. */
    public static final String JAVA_CLUSTER = "DefaultCluster";
    public static final String JAVA_BROKER_NAME = "broker-a";

    /** Binding two loopback ports takes milliseconds; the margin is for a loaded 2-core machine. */
    private static final Duration FERROCKET_STARTUP_TIMEOUT = Duration.ofSeconds(30);

    private static final Pattern NAMESRV_LISTENING = Pattern.compile("^listening namesrv (\\S+:\\d+)$");
    private static final Pattern BROKER_LISTENING = Pattern.compile("^listening broker (\\S+:\\d+)$");

    /** What restart needs of a running broker, whichever implementation it is. */
    private interface RunningBroker extends AutoCloseable {
        String address();

        boolean isAlive();

        String tail(int lines);

        /** SIGTERM, then wait: the broker saves its offsets and metadata on the way out. */
        void stopGracefully() throws InterruptedException;

        /** SIGKILL: nothing saved on the way out, what is on disk (page cache included) stays. */
        void kill();
    }

    /** Starts the broker process (again) on the same configuration and data. */
    private interface BrokerLauncher {
        RunningBroker launch() throws IOException, InterruptedException;
    }

    /** A broker's SIGTERM-to-exit time, saving included; generous for a loaded 2-core machine. */
    private static final Duration GRACEFUL_STOP = Duration.ofSeconds(30);

    private final Impl impl;
    private final String namesrvAddress;
    /** A separate name server process (none for ours standalone); closed after the broker. */
    private final AutoCloseable namesrv;
    private final BrokerLauncher launcher;
    private RunningBroker broker;

    private BrokerUnderTest(Impl impl, String namesrvAddress, AutoCloseable namesrv, BrokerLauncher launcher,
                            RunningBroker broker) {
        this.impl = impl;
        this.namesrvAddress = namesrvAddress;
        this.namesrv = namesrv;
        this.launcher = launcher;
        this.broker = broker;
    }

    private static RunningBroker running(ChildProcess child, String address) {
        return new RunningBroker() {
            @Override
            public String address() {
                return address;
            }

            @Override
            public boolean isAlive() {
                return child.isAlive();
            }

            @Override
            public String tail(int lines) {
                return child.tail(lines);
            }

            @Override
            public void stopGracefully() throws InterruptedException {
                child.terminate();
                child.awaitStopped(GRACEFUL_STOP);
            }

            @Override
            public void kill() {
                child.kill();
            }

            @Override
            public void close() throws InterruptedException {
                child.terminate();
                child.awaitStopped(Duration.ofSeconds(5));
                child.close();
            }
        };
    }

    private static RunningBroker running(JavaBroker javaBroker) {
        return new RunningBroker() {
            @Override
            public String address() {
                return javaBroker.address();
            }

            @Override
            public boolean isAlive() {
                return javaBroker.isAlive();
            }

            @Override
            public String tail(int lines) {
                return javaBroker.tail(lines);
            }

            @Override
            public void stopGracefully() throws InterruptedException {
                javaBroker.stop(GRACEFUL_STOP);
            }

            @Override
            public void kill() {
                javaBroker.kill();
            }

            @Override
            public void close() {
                javaBroker.close();
            }
        };
    }

    /** {@code -Dbroker.impl=java|ferrocket}; ferrocket when unset. */
    public static Impl selectedImpl() {
        String value = System.getProperty("broker.impl", "ferrocket").trim();
        return switch (value.isEmpty() ? "ferrocket" : value) {
            case "ferrocket" -> Impl.FERROCKET;
            case "java" -> Impl.JAVA;
            default -> throw new IllegalStateException("broker.impl must be ferrocket or java, not " + value);
        };
    }

    /**
     * Starts the selected implementation. {@code javaClasspath} holds the 5.3.3 name server and
     * broker (used only for Java); {@code brokerConf} holds broker.conf settings beyond the defaults
     * (empty: ours runs as {@code ferrocket standalone}).
     */
    public static BrokerUnderTest start(Path workDir, String javaClasspath, String serializeType,
                                        Map<String, String> brokerConf) throws IOException, InterruptedException {
        return start(workDir, javaClasspath, serializeType, brokerConf, Map.of());
    }

    /**
     * As above, with Java system properties for both servers ({@code tls.server.mode}, say): JVM
     * {@code -D} arguments for Java's, our binary's {@code -D} settings for ours.
     */
    public static BrokerUnderTest start(Path workDir, String javaClasspath, String serializeType,
                                        Map<String, String> brokerConf, Map<String, String> systemProperties)
        throws IOException, InterruptedException {
        return selectedImpl() == Impl.JAVA
            ? startJava(workDir, javaClasspath, serializeType, brokerConf, systemProperties)
            : startFerrocket(workDir, brokerConf, systemProperties);
    }

    /**
     * The official Java 5.3.3 pair whatever {@code -Dbroker.impl} says: the reference a test
     * compares ours with while both run (the metrics exporter's names and labels, say).
     */
    public static BrokerUnderTest startJavaReference(Path workDir, String javaClasspath, String serializeType,
                                                     Map<String, String> brokerConf)
        throws IOException, InterruptedException {
        return startJava(workDir, javaClasspath, serializeType, brokerConf, Map.of());
    }

    private static BrokerUnderTest startJava(Path workDir, String classpath, String serializeType,
                                             Map<String, String> brokerConf, Map<String, String> systemProperties)
        throws IOException, InterruptedException {
        JavaNamesrv namesrv = JavaNamesrv.start(classpath, workDir, serializeType, systemProperties);
        try {
            BrokerLauncher launcher = () -> running(JavaBroker.start(classpath, workDir, namesrv.address(), JAVA_CLUSTER,
                JAVA_BROKER_NAME, serializeType, brokerConf, systemProperties));
            return new BrokerUnderTest(Impl.JAVA, namesrv.address(), namesrv, launcher, launcher.launch());
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            namesrv.close();
            throw e;
        }
    }

    private static BrokerUnderTest startFerrocket(Path workDir, Map<String, String> brokerConf,
                                                  Map<String, String> systemProperties)
        throws IOException, InterruptedException {
        List<String> defines = new ArrayList<>();
        systemProperties.forEach((key, value) -> defines.add("-D" + key + "=" + value));
        Path bin = InteropEnv.ferrocketBinary();
        Map<String, String> env = Map.of("FERROCKET_LOG", System.getenv().getOrDefault("FERROCKET_LOG", "info"),
            "NO_COLOR", "1");
        if (brokerConf.isEmpty()) {
            // A port whose neighbours are free too, in case our broker also serves Java's "fast" port (p - 2).
            int brokerPort = Ports.brokerListenPort();
            Path dir = workDir.resolve("ferrocket-standalone");
            // Both ports chosen here: with --namesrv-port 0 the OS may hand the name server the very
            // port just picked (and released) for the broker.
            int namesrvPort = Ports.freePort();
            while (Math.abs(namesrvPort - brokerPort) <= 2) {
                namesrvPort = Ports.freePort();
            }
            List<String> command = new ArrayList<>(List.of(bin.toString(), "standalone", "--host", "127.0.0.1",
                "--namesrv-port", Integer.toString(namesrvPort), "--broker-port", Integer.toString(brokerPort),
                "--data-dir", dir.resolve("data").toString(),
                // Test classes and suites may overlap: the gRPC port is the OS's pick, not 8081.
                "--grpc-port", "0"));
            command.addAll(defines);
            String[] namesrvAddress = new String[1];
            int[] launches = {0};
            BrokerLauncher launcher = () -> {
                ChildProcess child = ChildProcess.start("ferrocket-standalone", command, dir,
                    workDir.resolve(logName("ferrocket-standalone", ++launches[0])), env);
                try {
                    namesrvAddress[0] = child.awaitStdout(NAMESRV_LISTENING, FERROCKET_STARTUP_TIMEOUT).group(1);
                    return running(child, child.awaitStdout(BROKER_LISTENING, FERROCKET_STARTUP_TIMEOUT).group(1));
                } catch (InterruptedException | RuntimeException | Error e) {
                    child.close();
                    throw e;
                }
            };
            RunningBroker first = launcher.launch();
            return new BrokerUnderTest(Impl.FERROCKET, namesrvAddress[0], null, launcher, first);
        }
        FerrocketNamesrv namesrv = FerrocketNamesrv.start(workDir, systemProperties);
        try {
            // Chosen once the name server holds its port (port 0 could otherwise be handed the same one).
            int brokerPort = Ports.brokerListenPort();
            Path dir = workDir.resolve("ferrocket-broker");
            Path conf = dir.resolve("broker.conf");
            Files.createDirectories(dir);
            Files.writeString(conf, ferrocketBrokerConf(namesrv.address(), brokerPort, dir.resolve("store"), brokerConf),
                StandardCharsets.UTF_8);
            int[] launches = {0};
            BrokerLauncher launcher = () -> {
                List<String> command = new ArrayList<>(List.of(bin.toString(), "broker", "-c", conf.toString(),
                    "--grpc-port", "0"));
                command.addAll(defines);
                ChildProcess child = ChildProcess.start("ferrocket-broker", command, dir,
                    workDir.resolve(logName("ferrocket-broker", ++launches[0])), env);
                try {
                    // It may listen on every interface (0.0.0.0); it registers as brokerIP1:listenPort.
                    String listening = child.awaitStdout(BROKER_LISTENING, FERROCKET_STARTUP_TIMEOUT).group(1);
                    return running(child, "127.0.0.1:" + listening.substring(listening.lastIndexOf(':') + 1));
                } catch (InterruptedException | RuntimeException | Error e) {
                    child.close();
                    throw e;
                }
            };
            return new BrokerUnderTest(Impl.FERROCKET, namesrv.address(), namesrv, launcher, launcher.launch());
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            namesrv.close();
            throw e;
        }
    }

    /** {@code logs/NAME.log}, then {@code logs/NAME-2.log} after a restart: each run keeps its log. */
    private static String logName(String name, int launch) {
        return "logs/" + name + (launch == 1 ? "" : "-" + launch) + ".log";
    }

    private static String ferrocketBrokerConf(String namesrvAddr, int port, Path store, Map<String, String> extra) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("brokerClusterName", JAVA_CLUSTER);
        conf.put("brokerName", JAVA_BROKER_NAME);
        conf.put("brokerId", "0");
        conf.put("brokerRole", "ASYNC_MASTER");
        conf.put("flushDiskType", "ASYNC_FLUSH");
        conf.put("namesrvAddr", namesrvAddr);
        conf.put("brokerIP1", "127.0.0.1");
        conf.put("bindAddress", "127.0.0.1");
        conf.put("listenPort", Integer.toString(port));
        conf.put("storePathRootDir", store.toString());
        conf.put("storePathCommitLog", store.resolve("commitlog").toString());
        conf.put("autoCreateTopicEnable", "true");
        conf.put("autoCreateSubscriptionGroup", "true");
        conf.putAll(extra);
        StringBuilder text = new StringBuilder();
        conf.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        return text.toString();
    }

    public Impl impl() {
        return impl;
    }

    /** {@code 127.0.0.1:PORT} of the name server, for clients' {@code namesrvAddr}. */
    public String namesrvAddress() {
        return namesrvAddress;
    }

    /** {@code 127.0.0.1:PORT} of the broker (a Java broker gets a new port when restarted). */
    public String brokerAddress() {
        return broker.address();
    }

    /**
     * Stops the broker gracefully (SIGTERM: it saves offsets and metadata) and starts it again on
     * the same configuration and data. Ours standalone restarts its name server too, on the same port.
     */
    public void restartBroker() throws IOException, InterruptedException {
        broker.stopGracefully();
        try {
            broker.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the stopped broker", e);
        }
        broker = launcher.launch();
    }

    /**
     * Kills the broker (SIGKILL: a crash, no saving, no unregistering) and starts it again on the
     * same configuration and data. Ours standalone restarts its name server too, on the same port.
     */
    public void killAndRestartBroker() throws IOException, InterruptedException {
        killAndRestartBroker(() -> { });
    }

    /**
     * As above, running {@code afterKill} once the killed process is gone and before the new one
     * starts: a fault test notes the moment there, so an acknowledgement still in flight from the
     * old process is not taken for the new one's first.
     */
    public void killAndRestartBroker(Runnable afterKill) throws IOException, InterruptedException {
        broker.kill();
        try {
            broker.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the killed broker", e);
        }
        afterKill.run();
        broker = launcher.launch();
    }

    /** SIGTERM and wait (the broker saves on the way out), leaving it stopped: its files are then at rest. */
    public void stopBroker() throws InterruptedException {
        broker.stopGracefully();
    }

    /** Fails if a process under test died (a crash would otherwise surface later as a confusing timeout). */
    public void assertAlive() {
        if (!broker.isAlive()) {
            throw new AssertionError(impl + " broker exited\n" + broker.tail(60));
        }
    }

    /** The end of the broker's output, to attach to a failure. */
    public String brokerTail(int lines) {
        return broker.tail(lines);
    }

    @Override
    public void close() throws Exception {
        try {
            broker.close();
        } finally {
            if (namesrv != null) {
                namesrv.close();
            }
        }
    }
}
