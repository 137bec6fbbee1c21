package org.ferrocket.interop.golden.v5;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.rocketmq.remoting.protocol.DataVersion;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;

/**
 * Local stand-ins for broker-module classes (rocketmq-broker is not a dependency). The 5.3.3 broker
 * answers some admin/sync requests by serialising its *manager* objects with fastjson
 * (RemotingSerializable.toJson(this)), so the wire JSON has exactly the bean properties (public
 * getters) listed here. Only the property names/types matter to fastjson, not the class identity.
 */
public final class BrokerShapes {
    private BrokerShapes() {
    }

    /**
     * Shape of broker/schedule/DelayOffsetSerializeWrapper (GET_ALL_DELAY_OFFSET, built by
     * ScheduleMessageService.encode()). The class lives only in rocketmq-broker.
     */
    public static class DelayOffsetSerializeWrapper {
        private ConcurrentMap<Integer, Long> offsetTable = new ConcurrentHashMap<>(32);
        private DataVersion dataVersion;

        public ConcurrentMap<Integer, Long> getOffsetTable() {
            return offsetTable;
        }

        public void setOffsetTable(ConcurrentMap<Integer, Long> offsetTable) {
            this.offsetTable = offsetTable;
        }

        public DataVersion getDataVersion() {
            return dataVersion;
        }

        public void setDataVersion(DataVersion dataVersion) {
            this.dataVersion = dataVersion;
        }
    }

    /**
     * Shape of broker/offset/ConsumerOffsetManager as serialised for GET_ALL_CONSUMER_OFFSET
     * (ConsumerOffsetManager.encode()): getters dataVersion, groupTopicMap (derived from the offset
     * table keys "topic@group", group -> set of topics) and offsetTable. resetOffsetTable and
     * pullOffsetTable have no getters and are not written.
     */
    public static class ConsumerOffsetManager {
        private DataVersion dataVersion = new DataVersion();
        private ConcurrentMap<String, ConcurrentMap<Integer, Long>> offsetTable = new ConcurrentHashMap<>(512);

        public DataVersion getDataVersion() {
            return dataVersion;
        }

        public void setDataVersion(DataVersion dataVersion) {
            this.dataVersion = dataVersion;
        }

        public ConcurrentMap<String, ConcurrentMap<Integer, Long>> getOffsetTable() {
            return offsetTable;
        }

        public void setOffsetTable(ConcurrentMap<String, ConcurrentMap<Integer, Long>> offsetTable) {
            this.offsetTable = offsetTable;
        }

        public Map<String, Set<String>> getGroupTopicMap() {
            Map<String, Set<String>> byGroup = new HashMap<>(128);
            for (String key : offsetTable.keySet()) {
                String[] parts = key.split("@");
                if (parts.length == 2) {
                    byGroup.computeIfAbsent(parts[1], g -> new HashSet<>(8)).add(parts[0]);
                }
            }
            return byGroup;
        }
    }

    /**
     * Shape of broker/subscription/SubscriptionGroupManager as serialised for
     * GET_ALL_SUBSCRIPTIONGROUP_CONFIG (SubscriptionGroupManager.encode()): dataVersion,
     * forbiddenTable, subscriptionGroupTable. (The remoting class SubscriptionGroupWrapper, which the
     * slave decodes it into, has no forbiddenTable.)
     */
    public static class SubscriptionGroupManager {
        private ConcurrentMap<String, SubscriptionGroupConfig> subscriptionGroupTable = new ConcurrentHashMap<>(1024);
        private ConcurrentMap<String, ConcurrentMap<String, Integer>> forbiddenTable = new ConcurrentHashMap<>(4);
        private DataVersion dataVersion = new DataVersion();

        public ConcurrentMap<String, SubscriptionGroupConfig> getSubscriptionGroupTable() {
            return subscriptionGroupTable;
        }

        public void setSubscriptionGroupTable(ConcurrentMap<String, SubscriptionGroupConfig> t) {
            this.subscriptionGroupTable = t;
        }

        public ConcurrentMap<String, ConcurrentMap<String, Integer>> getForbiddenTable() {
            return forbiddenTable;
        }

        public void setForbiddenTable(ConcurrentMap<String, ConcurrentMap<String, Integer>> t) {
            this.forbiddenTable = t;
        }

        public DataVersion getDataVersion() {
            return dataVersion;
        }

        public void setDataVersion(DataVersion dataVersion) {
            this.dataVersion = dataVersion;
        }
    }
}
