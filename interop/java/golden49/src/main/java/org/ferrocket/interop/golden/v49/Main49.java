package org.ferrocket.interop.golden.v49;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.apache.rocketmq.logging.InternalLoggerFactory;
import org.apache.rocketmq.logging.inner.Level;
import org.apache.rocketmq.logging.inner.Logger;
import org.ferrocket.interop.golden.core.GoldenCli;

/** Entry point of the 4.9.8 golden generator / verifier (writes/reads the v49/ subdirectory; see golden.sh). */
public final class Main49 {
    private Main49() {
    }

    static final String README_INTRO = String.join("\n",
        "# Golden wire vectors from Apache RocketMQ 4.9.8 (generated — do not edit)",
        "",
        "Produced by the `golden49` module of `interop/java` with the official rocketmq-remoting/rocketmq-common",
        "**4.9.8** artifacts, only for messages whose bytes differ from 5.3.3 (see ../README.md for the common values",
        "and conventions). Every command: language JAVA, version 409 = MQVersion.CURRENT_VERSION of the 4.9.8 jar",
        "(V4_9_8), fixed opaques. Differences from 5.3.3 worth knowing:",
        "",
        "* messageProperties2String drops the separator after the LAST property (`TAGS\\u0001TagA` with no final",
        "  0x02); 5.3.3 terminates every pair, including the last, with 0x02. This shows in the send header `i`, in stored",
        "  records and in batch bodies. Both decoders accept both forms.",
        "* Protocol classes live in org.apache.rocketmq.common.protocol.* (5.x: org.apache.rocketmq.remoting.protocol.*).",
        "* DataVersion has no stateVersion: `{\"counter\":N,\"timestamp\":T}`.",
        "* TopicConfig has no attributes; TopicConfigSerializeWrapper (register body, GET_ALL_TOPIC_CONFIG) has only",
        "  dataVersion + topicConfigTable (no mappingDataVersion / topicQueueMapping*).",
        "* RegisterBrokerRequestHeader has no enableActingMaster / heartbeatTimeoutMillis; compressed body has no",
        "  TopicQueueMappingInfo trailer; 4.9.x sets the header flag `compressed` truthfully.",
        "* SendMessageRequestHeaderV2.k/m are primitive booleans (always present); 5.3.3 uses Boolean (omitted if null).",
        "* HEART_BEAT is sent with no custom header at all (no extFields key in JSON), 5.3.3 sends an empty",
        "  HeartbeatRequestHeader (`\"extFields\":{}`). HeartbeatData has no heartbeatFingerprint/withoutSub.",
        "* SubscriptionGroupConfig has only groupName, consumeEnable, consumeFromMinEnable, consumeBroadcastEnable,",
        "  retryQueueNums, retryMaxTimes, brokerId, whichBrokerWhenConsumeSlowly, notifyConsumerIdsChangedEnable (no",
        "  consumeMessageOrderly, consumeTimeoutMinute, groupRetryPolicy, groupSysFlag, attributes, subscriptionDataSet).",
        "");

    public static void main(String[] args) throws Exception {
        // 4.9.8 logs through rocketmq-logging's inner logger (no slf4j on this classpath); switch it off so that
        // nothing ("RocketMQLog:WARN No appenders ...", "Compressing takes ...") reaches stdout/stderr.
        InternalLoggerFactory.setCurrentLoggerType(InternalLoggerFactory.LOGGER_INNER);
        Logger.getRepository().setLogLevel(Level.OFF);
        Logger.getRootLogger().setLevel(Level.OFF);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        GoldenCli cli = new GoldenCli("RocketMQ 4.9.8", README_INTRO, Generator49::generate, new Codec49());
        int rc = cli.run(args, out);
        out.flush();
        System.exit(rc);
    }
}
