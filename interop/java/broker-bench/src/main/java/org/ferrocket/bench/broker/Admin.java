package org.ferrocket.bench.broker;

import java.time.Duration;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.constant.PermName;
import org.apache.rocketmq.remoting.protocol.admin.TopicOffset;
import org.apache.rocketmq.remoting.protocol.admin.TopicStatsTable;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * The official admin client, for what the benchmark sets up and checks on either broker the same
 * way: topics created with the same queue count (not left to auto-creation, whose queue count
 * could differ), and the number of messages a topic holds.
 */
final class Admin implements AutoCloseable {

    private static final long POLL_MS = 100;

    private final DefaultMQAdminExt admin;
    private final String brokerAddress;

    Admin(String namesrv, String brokerAddress, String label) throws Exception {
        this.brokerAddress = brokerAddress;
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("bench-admin-" + label);
        admin.start();
    }

    /** Creates {@code topic} with {@code queues} read and write queues and waits until its route is served. */
    void createTopic(String topic, int queues, Duration timeout) throws Exception {
        TopicConfig config = new TopicConfig(topic, queues, queues, PermName.PERM_READ | PermName.PERM_WRITE);
        admin.createAndUpdateTopicConfig(brokerAddress, config);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                TopicRouteData route = admin.examineTopicRouteInfo(topic);
                if (route != null && !route.getQueueDatas().isEmpty()) {
                    return;
                }
            } catch (Exception notYet) {
                // The broker registers the new topic with the name server asynchronously.
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("no route for " + topic + " after " + timeout);
            }
            Thread.sleep(POLL_MS);
        }
    }

    /** Messages in {@code topic} (sum over queues of max - min offset). */
    long messageCount(String topic) throws Exception {
        TopicStatsTable stats = admin.examineTopicStats(topic);
        long total = 0;
        for (TopicOffset offset : stats.getOffsetTable().values()) {
            total += offset.getMaxOffset() - offset.getMinOffset();
        }
        return total;
    }

    /** Polls {@link #messageCount} until it reaches {@code expected} or {@code timeout} passes; returns the last count. */
    long awaitMessageCount(String topic, long expected, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        long count = messageCount(topic);
        while (count < expected && System.nanoTime() - deadline < 0) {
            Thread.sleep(POLL_MS);
            count = messageCount(topic);
        }
        return count;
    }

    @Override
    public void close() {
        admin.shutdown();
    }
}
