package org.ferrocket.interop.golden.v49;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.rocketmq.common.DataVersion;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.UtilAll;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.filter.FilterAPI;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.RequestCode;
import org.apache.rocketmq.common.protocol.body.RegisterBrokerBody;
import org.apache.rocketmq.common.protocol.body.SubscriptionGroupWrapper;
import org.apache.rocketmq.common.protocol.body.TopicConfigSerializeWrapper;
import org.apache.rocketmq.common.protocol.header.SendMessageRequestHeader;
import org.apache.rocketmq.common.protocol.header.SendMessageRequestHeaderV2;
import org.apache.rocketmq.common.protocol.header.namesrv.RegisterBrokerRequestHeader;
import org.apache.rocketmq.common.protocol.heartbeat.ConsumeType;
import org.apache.rocketmq.common.protocol.heartbeat.ConsumerData;
import org.apache.rocketmq.common.protocol.heartbeat.HeartbeatData;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.common.protocol.heartbeat.ProducerData;
import org.apache.rocketmq.common.protocol.heartbeat.SubscriptionData;
import org.apache.rocketmq.common.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.remoting.protocol.LanguageCode;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.RemotingSerializable;
import org.apache.rocketmq.remoting.protocol.SerializeType;
import org.ferrocket.interop.golden.core.FrameSummary;
import org.ferrocket.interop.golden.core.Golden;
import org.ferrocket.interop.golden.core.Golden.Kind;

/**
 * 4.9.8 goldens (written below v49/). Same fixed values as the 5.3.3 generator wherever the data
 * model allows, so the two sets can be compared side by side.
 */
public final class Generator49 {
    static final int VERSION = MQVersion.CURRENT_VERSION; // V4_9_8 = 409
    static final long T0 = 1700000000000L;
    static final String CLUSTER = "DefaultCluster";
    static final String BROKER_A = "broker-a";
    static final String A_SLAVE = "192.168.0.11:10911";
    static final String A_SLAVE_HA = "192.168.0.11:10912";
    static final String TOPIC = "TopicTest";
    static final String TBW102 = "TBW102";
    static final String PG = "pg_demo";
    static final String CG = "cg_demo";
    static final String RETRY_CG = "%RETRY%" + CG;
    static final String CLIENT_ID = "192.168.0.9@12345#1";
    static final String UNIQ_1 = "C0A8000930391B6D3586001E84800001";

    private final List<Golden> out = new ArrayList<>();

    public static List<Golden> generate() {
        try {
            Generator49 g = new Generator49();
            g.messages();
            g.bodies();
            g.frames();
            return g.out;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static DataVersion dv(long counter, long timestamp) {
        DataVersion v = new DataVersion();
        v.setCounter(new AtomicLong(counter));
        v.setTimestamp(timestamp);
        return v;
    }

    static byte[] nettyEncode(RemotingCommand cmd) {
        ByteBuf buf = Unpooled.buffer(256);
        cmd.fastEncodeHeader(buf);
        if (cmd.getBody() != null) {
            buf.writeBytes(cmd.getBody());
        }
        byte[] b = new byte[buf.readableBytes()];
        buf.readBytes(b);
        buf.release();
        return b;
    }

    private void frame(String name, int opaque, Supplier<RemotingCommand> make, Kind bodyKind, Class<?> bodyClass,
        String desc) {
        for (SerializeType type : new SerializeType[] {SerializeType.JSON, SerializeType.ROCKETMQ}) {
            RemotingCommand cmd = make.get();
            cmd.setOpaque(opaque);
            cmd.setVersion(VERSION);
            cmd.setLanguage(LanguageCode.JAVA);
            cmd.setSerializeTypeCurrentRPC(type);
            byte[] bytes = nettyEncode(cmd);
            String ext = type == SerializeType.JSON ? "json" : "rmq";
            out.add(Golden.frame("frames/" + name + "." + ext + ".bin", bytes, bodyKind, bodyClass,
                desc + " " + FrameSummary.describe(bytes)));
        }
    }

    static ConcurrentMap<String, TopicConfig> topicTable(boolean withRetry) {
        ConcurrentMap<String, TopicConfig> t = new ConcurrentHashMap<>(1024);
        t.put(TOPIC, new TopicConfig(TOPIC, 4, 4, 6));
        t.put(TBW102, new TopicConfig(TBW102, 8, 8, 7));
        if (withRetry) {
            t.put(RETRY_CG, new TopicConfig(RETRY_CG, 1, 1, 6));
        }
        return t;
    }

    static RegisterBrokerBody registerBody() {
        TopicConfigSerializeWrapper w = new TopicConfigSerializeWrapper();
        w.setDataVersion(dv(12, T0));
        w.setTopicConfigTable(topicTable(false));
        RegisterBrokerBody b = new RegisterBrokerBody();
        b.setTopicConfigSerializeWrapper(w);
        b.setFilterServerList(new ArrayList<>());
        return b;
    }

    static HeartbeatData heartbeat() throws Exception {
        HeartbeatData h = new HeartbeatData();
        h.setClientID(CLIENT_ID);
        ConsumerData c = new ConsumerData();
        c.setGroupName(CG);
        c.setConsumeType(ConsumeType.CONSUME_PASSIVELY);
        c.setMessageModel(MessageModel.CLUSTERING);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        c.setUnitMode(false);
        HashSet<SubscriptionData> subs = new HashSet<>();
        SubscriptionData s1 = FilterAPI.buildSubscriptionData(TOPIC, "TagA || TagB");
        s1.setSubVersion(T0);
        SubscriptionData s2 = FilterAPI.buildSubscriptionData(RETRY_CG, "*");
        s2.setSubVersion(T0 + 1);
        subs.add(s1);
        subs.add(s2);
        c.setSubscriptionDataSet(subs);
        LinkedHashSet<ConsumerData> cs = new LinkedHashSet<>();
        cs.add(c);
        h.setConsumerDataSet(cs);
        LinkedHashSet<ProducerData> ps = new LinkedHashSet<>();
        for (String g : new String[] {PG, "CLIENT_INNER_PRODUCER"}) {
            ProducerData p = new ProducerData();
            p.setGroupName(g);
            ps.add(p);
        }
        h.setProducerDataSet(ps);
        return h;
    }

    static LinkedHashMap<String, String> props(String... kv) {
        LinkedHashMap<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    /** Same inputs as the 5.3.3 generator: the bytes differ because 4.9.8 drops the last 0x02 of the properties. */
    private void messages() throws Exception {
        LinkedHashMap<String, String> basic = props(MessageConst.PROPERTY_TAGS, "TagA", MessageConst.PROPERTY_KEYS,
            "key-1 key-2", MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true",
            MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_1);
        out.add(Golden.of("properties/basic.bin",
            MessageDecoder.messageProperties2String(basic).getBytes(StandardCharsets.UTF_8), Kind.PROPERTIES,
            "4.9.8 messageProperties2String of the same LinkedHashMap as ../properties/basic.bin (TAGS=TagA, KEYS=\"key-1 "
                + "key-2\", WAIT=true, UNIQ_KEY=" + UNIQ_1 + "): 4.9.8 deletes the final 0x02 separator (78 bytes vs 79)."));

        LinkedHashMap<String, String> p1 = new LinkedHashMap<>(basic);
        p1.put(MessageConst.PROPERTY_CLUSTER, CLUSTER);
        MessageExt m = new MessageExt();
        m.setTopic(TOPIC);
        m.setQueueId(2);
        m.setFlag(0);
        m.setQueueOffset(40L);
        m.setCommitLogOffset(65536L);
        m.setSysFlag(0);
        m.setBornTimestamp(T0);
        m.setBornHost(new InetSocketAddress(InetAddress.getByName("192.168.0.9"), 53412));
        m.setStoreTimestamp(T0 + 5);
        m.setStoreHost(new InetSocketAddress(InetAddress.getByName("192.168.0.10"), 10911));
        m.setReconsumeTimes(0);
        m.setPreparedTransactionOffset(0L);
        byte[] body = "Hello RocketMQ 0".getBytes(StandardCharsets.UTF_8);
        m.setBody(body);
        m.setBodyCRC(UtilAll.crc32(body));
        MessageAccessor.setProperties(m, p1);
        out.add(Golden.of("records/ipv4_basic.bin", MessageDecoder.encode(m, false), Kind.RECORDS,
            "4.9.8 MessageDecoder.encode of the same MessageExt as ../records/ipv4_basic.bin (topic TopicTest, queueId 2, "
                + "queueOffset 40, commitLogOffset 65536, born 1700000000000 @192.168.0.9:53412, stored 1700000000005 "
                + "@192.168.0.10:10911, body \"Hello RocketMQ 0\", properties TAGS, KEYS, WAIT, UNIQ_KEY, CLUSTER): same layout, "
                + "properties without the trailing 0x02 (217 bytes vs 218)."));

        List<Message> msgs = new ArrayList<>();
        String[] tags = {"TagA", "TagB", "TagA"};
        for (int i = 0; i < 3; i++) {
            Message msg = new Message(TOPIC, ("batch message " + i).getBytes(StandardCharsets.UTF_8));
            msg.setFlag(i == 2 ? 7 : 0);
            MessageAccessor.setProperties(msg, props(MessageConst.PROPERTY_KEYS, "bk-" + i, MessageConst.PROPERTY_TAGS,
                tags[i], MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true", MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                "C0A8000930391B6D3586001E848000A" + (i + 1)));
            msgs.add(msg);
        }
        out.add(Golden.of("batch/three_messages.bin", MessageDecoder.encodeMessages(msgs), Kind.BATCH,
            "4.9.8 MessageDecoder.encodeMessages of the same 3 messages as ../batch/three_messages.bin; each properties "
                + "string lacks the trailing 0x02."));
    }

    private void bodies() throws Exception {
        RegisterBrokerBody rb = registerBody();
        out.add(Golden.json("bodies/register_broker_body.json", rb.encode(), RegisterBrokerBody.class,
            "4.9.8 RegisterBrokerBody: filterServerList []; topicConfigSerializeWrapper = TopicConfigSerializeWrapper "
                + "{dataVersion {counter 12, timestamp 1700000000000} (no stateVersion), topicConfigTable {TopicTest 4/4 "
                + "perm 6, TBW102 8/8 perm 7} (TopicConfig without attributes)} - no mapping fields."));
        out.add(Golden.of("bodies/register_broker_body.compressed.bin", rb.encode(true), Kind.REGISTER_COMPRESSED,
            "4.9.8 RegisterBrokerBody.encode(true) of the same body: zlib(level 9) of int len + DataVersion JSON, int topic "
                + "count 2, per topic int len + TopicConfig.encode() text (\"TopicTest 4 4 6 SINGLE_TAG\" - 4.9.8 writes 5 "
                + "space-separated fields, no attributes), int len + \"[]\"; NO TopicQueueMappingInfo trailer. Compared after "
                + "RegisterBrokerBody.decode(data, true)."));

        TopicConfigSerializeWrapper tcw = new TopicConfigSerializeWrapper();
        tcw.setDataVersion(dv(12, T0));
        tcw.setTopicConfigTable(topicTable(true));
        out.add(Golden.json("bodies/topic_config_serialize_wrapper.json", tcw.encode(), TopicConfigSerializeWrapper.class,
            "4.9.8 TopicConfigSerializeWrapper (also the GET_ALL_TOPIC_CONFIG body of a 4.9 broker): dataVersion {12, "
                + "1700000000000}; topicConfigTable TopicTest (4/4 perm 6), TBW102 (8/8 perm 7), %RETRY%cg_demo (1/1 perm 6)."));

        SubscriptionGroupWrapper sgw = new SubscriptionGroupWrapper();
        sgw.setDataVersion(dv(2, T0));
        ConcurrentMap<String, SubscriptionGroupConfig> t = new ConcurrentHashMap<>(1024);
        for (String g : new String[] {CG, "cg_other"}) {
            SubscriptionGroupConfig c = new SubscriptionGroupConfig();
            c.setGroupName(g);
            t.put(g, c);
        }
        sgw.setSubscriptionGroupTable(t);
        out.add(Golden.json("bodies/subscription_group_wrapper.json", sgw.encode(), SubscriptionGroupWrapper.class,
            "4.9.8 SubscriptionGroupWrapper: dataVersion {2, 1700000000000}; groups cg_demo and cg_other with 4.9.8 defaults "
                + "(consumeEnable, consumeFromMinEnable, consumeBroadcastEnable, notifyConsumerIdsChangedEnable true; "
                + "retryQueueNums 1, retryMaxTimes 16, brokerId 0, whichBrokerWhenConsumeSlowly 1)."));

        out.add(Golden.json("bodies/heartbeat_data.json", heartbeat().encode(), HeartbeatData.class,
            "4.9.8 HeartbeatData, same content as ../bodies/heartbeat_data.json minus heartbeatFingerprint/withoutSub: "
                + "clientID 192.168.0.9@12345#1, consumer cg_demo (CONSUME_PASSIVELY, CLUSTERING, CONSUME_FROM_LAST_OFFSET) "
                + "subscribing TopicTest \"TagA || TagB\" (subVersion 1700000000000) and %RETRY%cg_demo \"*\" (1700000000001); "
                + "producers pg_demo, CLIENT_INNER_PRODUCER."));
    }

    static SendMessageRequestHeaderV2 sendHeader() {
        HashMap<String, String> props = new HashMap<>();
        props.put(MessageConst.PROPERTY_TAGS, "TagA");
        props.put(MessageConst.PROPERTY_KEYS, "key-1 key-2");
        props.put(MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true");
        props.put(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_1);
        SendMessageRequestHeader v1 = new SendMessageRequestHeader();
        v1.setProducerGroup(PG);
        v1.setTopic(TOPIC);
        v1.setDefaultTopic(TBW102);
        v1.setDefaultTopicQueueNums(4);
        v1.setQueueId(2);
        v1.setSysFlag(0);
        v1.setBornTimestamp(T0);
        v1.setFlag(0);
        v1.setProperties(MessageDecoder.messageProperties2String(props));
        v1.setReconsumeTimes(0);
        v1.setUnitMode(false);
        v1.setBatch(false);
        v1.setBname(BROKER_A);
        return SendMessageRequestHeaderV2.createSendMessageRequestHeaderV2(v1);
    }

    private void frames() throws Exception {
        frame("send_message_v2.request", 2004, () -> {
            RemotingCommand r = RemotingCommand.createRequestCommand(RequestCode.SEND_MESSAGE_V2, sendHeader());
            r.setBody("Hello RocketMQ 0".getBytes(StandardCharsets.UTF_8));
            return r;
        }, Kind.BYTES, null,
            "4.9.8 producer SEND_MESSAGE_V2 (310), same values as ../frames/send_message_v2.request.*: a=pg_demo b=TopicTest "
                + "c=TBW102 d=4 e=2 f=0 g=1700000000000 h=0 i=(HashMap order) KEYS, UNIQ_KEY, WAIT, TAGS j=0 k=false m=false "
                + "n=broker-a; body \"Hello RocketMQ 0\".");

        byte[] body = registerBody().encode(false);
        int crc = UtilAll.crc32(body);
        frame("register_broker.request", 2003, () -> {
            RemotingCommand r = RemotingCommand.createRequestCommand(RequestCode.REGISTER_BROKER, registerHeader(false, crc));
            r.setBody(body);
            return r;
        }, Kind.JSON, RegisterBrokerBody.class,
            "4.9.8 slave REGISTER_BROKER (103): brokerName=broker-a brokerAddr=192.168.0.11:10911 clusterName=DefaultCluster "
                + "haServerAddr=192.168.0.11:10912 brokerId=1 compressed=false bodyCrc32=" + crc + "; body = "
                + "bodies/register_broker_body.json.");
        byte[] zbody = registerBody().encode(true);
        int zcrc = UtilAll.crc32(zbody);
        frame("register_broker.request_compressed", 2005, () -> {
            RemotingCommand r = RemotingCommand.createRequestCommand(RequestCode.REGISTER_BROKER, registerHeader(true, zcrc));
            r.setBody(zbody);
            return r;
        }, Kind.REGISTER_COMPRESSED, null,
            "4.9.8 REGISTER_BROKER with compressedRegister=true: header compressed=true bodyCrc32=" + zcrc + " (crc of the "
                + "compressed bytes), body = bodies/register_broker_body.compressed.bin; other fields as register_broker.request.");

        byte[] hb = heartbeat().encode();
        frame("heart_beat.request", 2012, () -> {
            RemotingCommand r = RemotingCommand.createRequestCommand(RequestCode.HEART_BEAT, null);
            r.setBody(hb);
            return r;
        }, Kind.JSON, HeartbeatData.class,
            "4.9.8 client HEART_BEAT (34): createRequestCommand(HEART_BEAT, null) -> no extFields at all; body = "
                + "bodies/heartbeat_data.json.");
    }

    static RegisterBrokerRequestHeader registerHeader(boolean compressed, int crc) {
        RegisterBrokerRequestHeader h = new RegisterBrokerRequestHeader();
        h.setBrokerAddr(A_SLAVE);
        h.setBrokerId(1L);
        h.setBrokerName(BROKER_A);
        h.setClusterName(CLUSTER);
        h.setHaServerAddr(A_SLAVE_HA);
        h.setCompressed(compressed);
        h.setBodyCrc32(crc);
        return h;
    }

}
