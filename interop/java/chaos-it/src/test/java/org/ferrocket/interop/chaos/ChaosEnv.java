package org.ferrocket.interop.chaos;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.producer.DefaultMQProducer;

/** What the fault tests share: the cycle count, unique client names, the producer settings. */
final class ChaosEnv {

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private ChaosEnv() {
    }

    /** {@code -Dchaos.cycles=N} (make chaos), else {@code shortRun} (make test). */
    static int cycles(int shortRun) {
        return cycles("chaos.cycles", shortRun);
    }

    /** {@code -Dproperty=N}, else {@code shortRun}. */
    static int cycles(String property, int shortRun) {
        String value = System.getProperty(property, "").trim();
        return value.isEmpty() ? shortRun : Integer.parseInt(value);
    }

    static String uniqueName(String prefix) {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + INSTANCES.incrementAndGet();
    }

    /**
     * No retries (a retried send could store a message twice and hide a duplicate), a short timeout
     * (a send to a killed broker fails at once or times out), and routes polled often (a restarted
     * Java broker listens on a new port).
     */
    static DefaultMQProducer startProducer(String namesrvAddress, String group) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(group);
        producer.setNamesrvAddr(namesrvAddress);
        producer.setInstanceName(uniqueName(group));
        producer.setSendMsgTimeout(5_000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.setPollNameServerInterval(500);
        producer.start();
        return producer;
    }
}
