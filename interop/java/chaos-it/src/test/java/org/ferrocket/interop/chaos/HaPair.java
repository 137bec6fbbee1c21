package org.ferrocket.interop.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.ChildProcess;
import org.ferrocket.interop.namesrv.support.FerrocketNamesrv;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.JavaBroker;
import org.ferrocket.interop.namesrv.support.JavaNamesrv;
import org.ferrocket.interop.namesrv.support.Ports;

/**
 * A name server, a SYNC_MASTER and its slave, each its own process: ours ({@code ferrocket namesrv}
 * and {@code ferrocket broker -c}) or, with {@code -Dbroker.impl=java}, the official 5.3.3 ones.
 * The master can be killed and restarted on the same port and store (so the slave, which learnt
 * the master's HA address from the name server, reconnects to the same address).
 *
 * <p>Both brokers run with {@code inSyncReplicas=2}: a 5.x SYNC_MASTER waits for a slave only when
 * it counts one beside itself (with 1 Java 5.3.3 acknowledges without a slave).
 */
final class HaPair implements AutoCloseable {

    static final String CLUSTER = "ChaosHaCluster";
    static final String BROKER_NAME = "broker-chaos-ha";
    private static final Duration OUR_STARTUP = Duration.ofSeconds(60);
    private static final Duration STOP_GRACE = Duration.ofSeconds(30);
    private static final Pattern LISTENING = Pattern.compile("^listening broker (\\S+:\\d+)$");

    /** One broker process, whichever implementation. */
    interface Node extends AutoCloseable {
        boolean isAlive();

        String tail(int lines);

        void kill();

        /** SIGTERM and wait: at rest afterwards. */
        void stop() throws InterruptedException;

        @Override
        void close();
    }

    private final BrokerUnderTest.Impl impl;
    private final AutoCloseable namesrv;
    private final String namesrvAddress;
    private final Path work;
    private final String classpath;
    private final int masterPort;
    private final int slavePort;
    private final Map<String, String> masterConf;
    private final Map<String, String> slaveConf;
    private Node master;
    private Node slave;
    private int masterLaunches;
    /** The master's store on lossyfs ({@link #startWithLossyMaster}), else null. */
    private PowerCutMount masterMount;

    private HaPair(BrokerUnderTest.Impl impl, AutoCloseable namesrv, String namesrvAddress, Path work, String classpath,
                   Map<String, String> common) throws IOException {
        this.impl = impl;
        this.namesrv = namesrv;
        this.namesrvAddress = namesrvAddress;
        this.work = work;
        this.classpath = classpath;
        this.masterPort = Ports.brokerListenPort();
        int slave = Ports.brokerListenPort();
        while (Math.abs(slave - masterPort) <= 3) {
            slave = Ports.brokerListenPort();
        }
        this.slavePort = slave;
        masterConf = new LinkedHashMap<>(common);
        masterConf.put("brokerId", "0");
        masterConf.put("brokerRole", "SYNC_MASTER");
        masterConf.put("listenPort", Integer.toString(masterPort));
        masterConf.put("storePathRootDir", storeDir("master").toString());
        masterConf.put("storePathCommitLog", storeDir("master").resolve("commitlog").toString());
        slaveConf = new LinkedHashMap<>(common);
        slaveConf.put("brokerId", "1");
        slaveConf.put("brokerRole", "SLAVE");
        slaveConf.put("listenPort", Integer.toString(slavePort));
        slaveConf.put("storePathRootDir", storeDir("slave").toString());
        slaveConf.put("storePathCommitLog", storeDir("slave").resolve("commitlog").toString());
        if (impl == BrokerUnderTest.Impl.FERROCKET) {
            // Java's HA port is listenPort + 1 (Ports.brokerListenPort keeps it free); ours is set.
            masterConf.put("haListenPort", Integer.toString(masterPort + 1));
        }
    }

    /**
     * Starts the name server, the master, then the slave (once the master is registered, so the
     * slave's first registration names its master). {@code common} holds settings for both brokers.
     */
    static HaPair start(Path work, Map<String, String> common) throws IOException, InterruptedException {
        return start(work, common, false);
    }

    /** As {@link #start}, the master's store on lossyfs so that {@link #powerCutMaster} can cut it. */
    static HaPair startWithLossyMaster(Path work, Map<String, String> common) throws IOException, InterruptedException {
        return start(work, common, true);
    }

    private static HaPair start(Path work, Map<String, String> common, boolean lossyMaster)
        throws IOException, InterruptedException {
        BrokerUnderTest.Impl impl = BrokerUnderTest.selectedImpl();
        String classpath = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("brokerClusterName", CLUSTER);
        conf.put("brokerName", BROKER_NAME);
        conf.put("inSyncReplicas", "2");
        conf.put("autoCreateTopicEnable", "true");
        conf.put("autoCreateSubscriptionGroup", "true");
        // Java's slave answers every pull PULL_RETRY_IMMEDIATELY (go to the master) without it.
        conf.put("slaveReadEnable", "true");
        // Java's slave syncs metadata and learns a new master address on each registration (min 10 s).
        conf.put("registerNameServerPeriod", "10000");
        conf.putAll(common);
        if (impl == BrokerUnderTest.Impl.JAVA) {
            JavaNamesrv namesrv = JavaNamesrv.start(classpath, work, "JSON");
            HaPair pair = new HaPair(impl, namesrv, namesrv.address(), work, classpath, conf);
            pair.startBoth(lossyMaster);
            return pair;
        }
        FerrocketNamesrv namesrv = FerrocketNamesrv.start(work);
        HaPair pair = new HaPair(impl, namesrv, namesrv.address(), work, classpath, conf);
        pair.slaveConf.put("slaveSyncPeriod", "500");
        pair.startBoth(lossyMaster);
        return pair;
    }

    private void startBoth(boolean lossyMaster) throws IOException, InterruptedException {
        try {
            if (lossyMaster) {
                masterMount = PowerCutMount.mount(work.resolve("master-lossyfs"), storeDir("master"));
            }
            master = launch("master", masterConf, ++masterLaunches);
            slave = launch("slave", slaveConf, 1);
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private Node launch(String role, Map<String, String> conf, int launch) throws IOException, InterruptedException {
        Path dir = work.resolve(role);
        if (impl == BrokerUnderTest.Impl.JAVA) {
            Map<String, String> extra = new LinkedHashMap<>(conf);
            extra.remove("brokerClusterName");
            extra.remove("brokerName");
            JavaBroker broker = JavaBroker.start(classpath, dir, namesrvAddress, CLUSTER, BROKER_NAME, "JSON", extra);
            return new Node() {
                public boolean isAlive() {
                    return broker.isAlive();
                }

                public String tail(int lines) {
                    return broker.tail(lines);
                }

                public void kill() {
                    broker.kill();
                }

                public void stop() throws InterruptedException {
                    broker.stop(STOP_GRACE);
                }

                public void close() {
                    broker.close();
                }
            };
        }
        Files.createDirectories(dir);
        StringBuilder text = new StringBuilder();
        text.append("namesrvAddr=").append(namesrvAddress).append('\n');
        text.append("brokerIP1=127.0.0.1\nbindAddress=127.0.0.1\n");
        conf.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        Path confFile = dir.resolve(role + ".conf");
        Files.writeString(confFile, text.toString(), StandardCharsets.UTF_8);
        List<String> command = List.of(InteropEnv.ferrocketBinary().toString(), "broker", "-c", confFile.toString(),
            "--grpc-port", "0");
        ChildProcess child = ChildProcess.start("ferrocket-" + role, command, dir,
            work.resolve("logs/ferrocket-" + role + (launch == 1 ? "" : "-" + launch) + ".log"),
            Map.of("FERROCKET_LOG", System.getenv().getOrDefault("FERROCKET_LOG", "info"), "NO_COLOR", "1"));
        try {
            child.awaitStdout(LISTENING, OUR_STARTUP);
        } catch (InterruptedException | RuntimeException | Error e) {
            child.close();
            throw e;
        }
        return new Node() {
            public boolean isAlive() {
                return child.isAlive();
            }

            public String tail(int lines) {
                return child.tail(lines);
            }

            public void kill() {
                child.kill();
            }

            public void stop() throws InterruptedException {
                child.terminate();
                child.awaitStopped(STOP_GRACE);
            }

            public void close() {
                child.close();
            }
        };
    }

    BrokerUnderTest.Impl impl() {
        return impl;
    }

    String namesrvAddress() {
        return namesrvAddress;
    }

    String masterAddress() {
        return "127.0.0.1:" + masterPort;
    }

    String slaveAddress() {
        return "127.0.0.1:" + slavePort;
    }

    Path storeDir(String role) {
        return work.resolve(role).resolve("store");
    }

    Node master() {
        return master;
    }

    Node slave() {
        return slave;
    }

    /** SIGKILL of the master; it stays down until {@link #restartMaster}. */
    void killMaster() {
        master.kill();
        master.close();
    }

    /**
     * A power cut of the master's machine: its store keeps only what was fsynced (the newest
     * write torn) and the master dies with it; it stays down until {@link #restartMaster}, on
     * what was durable. Returns the changes the cut threw away so far.
     */
    long powerCutMaster() throws IOException, InterruptedException {
        masterMount.cut();
        master.kill();
        master.close();
        masterMount.remount();
        return masterMount.lostChanges();
    }

    /** Starts the master again on its port and store. */
    void restartMaster() throws IOException, InterruptedException {
        master = launch("master", masterConf, ++masterLaunches);
    }

    /** SIGTERM to both, slave first: their files are then at rest. */
    void stopBrokers() throws InterruptedException {
        slave.stop();
        master.stop();
    }

    @Override
    public void close() {
        for (Node node : new Node[] {slave, master}) {
            if (node != null) {
                node.close();
            }
        }
        if (masterMount != null) {
            masterMount.close();
        }
        try {
            namesrv.close();
        } catch (Exception ignored) {
            // Clean-up: a failure is already reported.
        }
    }
}
