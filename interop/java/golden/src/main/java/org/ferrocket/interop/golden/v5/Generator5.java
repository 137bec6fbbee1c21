package org.ferrocket.interop.golden.v5;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import com.alibaba.fastjson.serializer.SerializerFeature;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.UtilAll;
import org.apache.rocketmq.common.compression.CompressionType;
import org.apache.rocketmq.common.compression.CompressorFactory;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.help.FAQUrl;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageBatch;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageExtBrokerInner;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.message.MessageVersion;
import org.apache.rocketmq.common.sysflag.MessageSysFlag;
import org.apache.rocketmq.common.sysflag.PullSysFlag;
import org.apache.rocketmq.remoting.protocol.DataVersion;
import org.apache.rocketmq.remoting.protocol.LanguageCode;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.RemotingSerializable;
import org.apache.rocketmq.remoting.protocol.RemotingSysResponseCode;
import org.apache.rocketmq.remoting.protocol.RequestCode;
import org.apache.rocketmq.remoting.protocol.ResponseCode;
import org.apache.rocketmq.remoting.protocol.SerializeType;
import org.apache.rocketmq.remoting.protocol.admin.ConsumeStats;
import org.apache.rocketmq.remoting.protocol.admin.OffsetWrapper;
import org.apache.rocketmq.remoting.protocol.admin.TopicOffset;
import org.apache.rocketmq.remoting.protocol.admin.TopicStatsTable;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.body.Connection;
import org.apache.rocketmq.remoting.protocol.body.ConsumeStatus;
import org.apache.rocketmq.remoting.protocol.body.ConsumerConnection;
import org.apache.rocketmq.remoting.protocol.body.ConsumerOffsetSerializeWrapper;
import org.apache.rocketmq.remoting.protocol.body.ConsumerRunningInfo;
import org.apache.rocketmq.remoting.protocol.body.GroupList;
import org.apache.rocketmq.remoting.protocol.body.KVTable;
import org.apache.rocketmq.remoting.protocol.body.LockBatchRequestBody;
import org.apache.rocketmq.remoting.protocol.body.LockBatchResponseBody;
import org.apache.rocketmq.remoting.protocol.body.ProcessQueueInfo;
import org.apache.rocketmq.remoting.protocol.body.RegisterBrokerBody;
import org.apache.rocketmq.remoting.protocol.body.ResetOffsetBody;
import org.apache.rocketmq.remoting.protocol.body.SubscriptionGroupWrapper;
import org.apache.rocketmq.remoting.protocol.body.TopicConfigAndMappingSerializeWrapper;
import org.apache.rocketmq.remoting.protocol.body.TopicConfigSerializeWrapper;
import org.apache.rocketmq.remoting.protocol.body.TopicList;
import org.apache.rocketmq.remoting.protocol.filter.FilterAPI;
import org.apache.rocketmq.remoting.protocol.header.GetConsumerListByGroupRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.GetConsumerListByGroupResponseBody;
import org.apache.rocketmq.remoting.protocol.header.GetConsumerListByGroupResponseHeader;
import org.apache.rocketmq.remoting.protocol.header.HeartbeatRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.NotifyConsumerIdsChangedRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.PullMessageRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.PullMessageResponseHeader;
import org.apache.rocketmq.remoting.protocol.header.QueryConsumerOffsetRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.QueryConsumerOffsetResponseHeader;
import org.apache.rocketmq.remoting.protocol.header.SendMessageRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.SendMessageRequestHeaderV2;
import org.apache.rocketmq.remoting.protocol.header.SendMessageResponseHeader;
import org.apache.rocketmq.remoting.protocol.header.UpdateConsumerOffsetRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.UpdateConsumerOffsetResponseHeader;
import org.apache.rocketmq.remoting.protocol.header.namesrv.GetRouteInfoRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.namesrv.RegisterBrokerRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.namesrv.RegisterBrokerResponseHeader;
import org.apache.rocketmq.remoting.protocol.heartbeat.ConsumeType;
import org.apache.rocketmq.remoting.protocol.heartbeat.ConsumerData;
import org.apache.rocketmq.remoting.protocol.heartbeat.HeartbeatData;
import org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.remoting.protocol.heartbeat.ProducerData;
import org.apache.rocketmq.remoting.protocol.heartbeat.SubscriptionData;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.QueueData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.store.MessageExtEncoder;
import org.apache.rocketmq.store.config.MessageStoreConfig;
import org.ferrocket.interop.golden.core.FrameSummary;
import org.ferrocket.interop.golden.core.Golden;
import org.ferrocket.interop.golden.core.Golden.Kind;

/**
 * Builds every 5.3.3 golden in memory. All values are fixed constants (no clock, no randomness):
 * DataVersion timestamps/counters, SubscriptionData.subVersion, opaques, versions and ids are set
 * explicitly. Sets of beans whose hashCode is identity-based (ProducerData, Connection) are
 * LinkedHashSets so their JSON array order is stable.
 */
public final class Generator5 {
    // ---- fixed values (also listed in README.md) ----
    static final int VERSION = MQVersion.Version.V5_3_3.ordinal(); // 479 (= MQVersion.CURRENT_VERSION of the 5.3.3 jar)
    static final long T0 = 1700000000000L;
    static final String CLUSTER = "DefaultCluster";
    static final String BROKER_A = "broker-a";
    static final String BROKER_B = "broker-b";
    static final String A_MASTER = "192.168.0.10:10911";
    static final String A_SLAVE = "192.168.0.11:10911";
    static final String B_MASTER = "192.168.0.20:10911";
    static final String A_MASTER_HA = "192.168.0.10:10912";
    static final String A_SLAVE_HA = "192.168.0.11:10912";
    static final String TOPIC = "TopicTest";
    static final String TBW102 = "TBW102";
    static final String PG = "pg_demo";
    static final String CG = "cg_demo";
    static final String RETRY_CG = "%RETRY%" + CG;
    static final String CLIENT_ID = "192.168.0.9@12345#1";
    static final String CLIENT_ID_2 = "192.168.0.12@777#2";
    static final String CLIENT_ADDR = "192.168.0.9:53412";
    static final String UNIQ_1 = "C0A8000930391B6D3586001E84800001";
    static final String UNIQ_2 = "C0A8000930391B6D3586001E84800002";
    static final String UNIQ_3 = "C0A8000930391B6D3586001E84800003";
    static final String UNIQ_4 = "C0A8000930391B6D3586001E84800004";
    static final String UNIQ_BATCH = "C0A8000930391B6D3586001E848000B0";
    static final String UNIQ_TX = "C0A8000930391B6D3586001E848000F0";
    static final long REC1_OFFSET = 65536L; // commit-log offset of records/ipv4_basic.bin

    private final List<Golden> out = new ArrayList<>();

    public static List<Golden> generate() {
        try {
            Generator5 g = new Generator5();
            g.all();
            return g.out;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void all() throws Exception {
        records();
        batch();
        properties();
        text();
        compression();
        bodies();
        frames();
    }

    // =============================================================================================
    // helpers
    // =============================================================================================

    static DataVersion dv(long counter, long timestamp) {
        DataVersion v = new DataVersion();
        v.setCounter(new AtomicLong(counter));
        v.setTimestamp(timestamp);
        v.setStateVersion(0L);
        return v;
    }

    static InetSocketAddress addr(String ip, int port) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(ip), port); // literal IPs only: no DNS lookup
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static SubscriptionData sub(String topic, String expr, long subVersion) throws Exception {
        SubscriptionData s = FilterAPI.buildSubscriptionData(topic, expr);
        s.setSubVersion(subVersion);
        return s;
    }

    static TopicConfig topicConfig(String name, int queues, int perm, Map<String, String> attributes) {
        TopicConfig tc = new TopicConfig(name, queues, queues, perm);
        tc.setAttributes(attributes);
        return tc;
    }

    static LinkedHashMap<String, String> props(String... kv) {
        LinkedHashMap<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    private void json(String name, Object obj, Class<?> cls, String desc) {
        out.add(Golden.json("bodies/" + name + ".json", RemotingSerializable.encode(obj), cls, desc));
    }

    /** Frame bytes exactly as NettyEncoder writes them: fastEncodeHeader(out) then the body. */
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

    /**
     * Adds frames/NAME.json.bin and frames/NAME.rmq.bin. The supplier must build a fresh command
     * (makeCustomHeaderToNet mutates extFields, so a command must not be encoded twice).
     */
    private void frame(String name, int opaque, Supplier<RemotingCommand> make, Kind bodyKind, Class<?> bodyClass,
        String desc) throws Exception {
        for (SerializeType type : new SerializeType[] {SerializeType.JSON, SerializeType.ROCKETMQ}) {
            RemotingCommand cmd = make.get();
            cmd.setOpaque(opaque);
            cmd.setVersion(VERSION);
            cmd.setLanguage(LanguageCode.JAVA);
            cmd.setSerializeTypeCurrentRPC(type);
            byte[] bytes = nettyEncode(cmd);
            String ext = type == SerializeType.JSON ? "json" : "rmq";
            String summary = FrameSummary.describe(bytes);
            out.add(Golden.frame("frames/" + name + "." + ext + ".bin", bytes, bodyKind, bodyClass,
                desc + " " + summary));
        }
    }

    // =============================================================================================
    // records, batch, properties, text, compression
    // =============================================================================================

    static LinkedHashMap<String, String> rec1Props() {
        return props(MessageConst.PROPERTY_TAGS, "TagA", MessageConst.PROPERTY_KEYS, "key-1 key-2",
            MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true", MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_1,
            MessageConst.PROPERTY_CLUSTER, CLUSTER);
    }

    static MessageExt messageExt(String topic, int queueId, long queueOffset, long commitLogOffset, int sysFlag,
        long born, InetSocketAddress bornHost, long stored, InetSocketAddress storeHost, byte[] storedBody,
        Map<String, String> properties) {
        MessageExt m = new MessageExt();
        m.setTopic(topic);
        m.setQueueId(queueId);
        m.setFlag(0);
        m.setQueueOffset(queueOffset);
        m.setCommitLogOffset(commitLogOffset);
        m.setSysFlag(sysFlag);
        m.setBornTimestamp(born);
        m.setBornHost(bornHost);
        m.setStoreTimestamp(stored);
        m.setStoreHost(storeHost);
        m.setReconsumeTimes(0);
        m.setPreparedTransactionOffset(0L);
        m.setBody(storedBody);
        m.setBodyCRC(UtilAll.crc32(storedBody)); // what the store writes: crc32(body) & 0x7FFFFFFF
        MessageAccessor.setProperties(m, properties);
        return m;
    }

    static byte[] rec1() throws Exception {
        return MessageDecoder.encode(messageExt(TOPIC, 2, 40L, REC1_OFFSET, 0, T0, addr("192.168.0.9", 53412),
            T0 + 5, addr("192.168.0.10", 10911), utf8("Hello RocketMQ 0"), rec1Props()), false);
    }

    static byte[] rec2(long commitLogOffset) throws Exception {
        LinkedHashMap<String, String> p = props(MessageConst.PROPERTY_TAGS, "TagB", MessageConst.PROPERTY_KEYS, "key-3",
            MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true", MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_2,
            MessageConst.PROPERTY_CLUSTER, CLUSTER);
        return MessageDecoder.encode(messageExt(TOPIC, 2, 41L, commitLogOffset, 0, T0 + 1000, addr("192.168.0.9", 53412),
            T0 + 1005, addr("192.168.0.10", 10911), utf8("Hello RocketMQ 1"), p), false);
    }

    static byte[] compressionInput() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 5000; i++) {
            sb.append(String.format("RocketMQ golden vector line %04d: the quick brown fox jumps over the lazy dog%n", i));
        }
        return utf8(sb.substring(0, 5000));
    }

    private void records() throws Exception {
        byte[] r1 = rec1();
        out.add(Golden.of("records/ipv4_basic.bin", r1, Kind.RECORDS,
            "MessageDecoder.encode(MessageExt,false), V1 magic 0xDAA320A7. topic=TopicTest queueId=2 flag=0 "
                + "queueOffset=40 commitLogOffset=65536 sysFlag=0 bornTimestamp=1700000000000 bornHost=192.168.0.9:53412 "
                + "storeTimestamp=1700000000005 storeHost=192.168.0.10:10911 reconsumeTimes=0 preparedTransactionOffset=0 "
                + "body=\"Hello RocketMQ 0\" bodyCRC=crc32(body)&0x7FFFFFFF properties (LinkedHashMap order) "
                + "TAGS=TagA, KEYS=\"key-1 key-2\", WAIT=true, UNIQ_KEY=" + UNIQ_1 + ", CLUSTER=DefaultCluster; "
                + "offset msgId=" + MessageDecoder.createMessageId(addr("192.168.0.10", 10911), REC1_OFFSET) + "."));

        long rec2Offset = REC1_OFFSET + r1.length;
        byte[] r2 = rec2(rec2Offset);
        out.add(Golden.of("records/ipv4_second.bin", r2, Kind.RECORDS,
            "Second record of the pull body: topic=TopicTest queueId=2 queueOffset=41 commitLogOffset=" + rec2Offset
                + " (65536 + size of ipv4_basic) sysFlag=0 bornTimestamp=1700000001000 bornHost=192.168.0.9:53412 "
                + "storeTimestamp=1700000001005 storeHost=192.168.0.10:10911 body=\"Hello RocketMQ 1\" properties "
                + "TAGS=TagB, KEYS=key-3, WAIT=true, UNIQ_KEY=" + UNIQ_2 + ", CLUSTER=DefaultCluster."));

        byte[] pull = new byte[r1.length + r2.length];
        System.arraycopy(r1, 0, pull, 0, r1.length);
        System.arraycopy(r2, 0, pull, r1.length, r2.length);
        out.add(Golden.of("records/pull_body.bin", pull, Kind.RECORDS,
            "PULL_MESSAGE SUCCESS body: records/ipv4_basic.bin followed by records/ipv4_second.bin (queue offsets 40, 41)."));

        int v6flags = MessageSysFlag.BORNHOST_V6_FLAG | MessageSysFlag.STOREHOSTADDRESS_V6_FLAG;
        out.add(Golden.of("records/ipv6_hosts.bin", MessageDecoder.encode(messageExt(TOPIC, 1, 7L, 131072L, v6flags,
                T0 + 2000, addr("2001:db8::9", 53412), T0 + 2005, addr("2001:db8::10", 10911), utf8("Hello IPv6"),
                props(MessageConst.PROPERTY_TAGS, "TagA", MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true",
                    MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_3)), false), Kind.RECORDS,
            "IPv6 born+store hosts: sysFlag=0x30 (BORNHOST_V6|STOREHOSTADDRESS_V6), 16-byte addresses. topic=TopicTest "
                + "queueId=1 queueOffset=7 commitLogOffset=131072 bornTimestamp=1700000002000 bornHost=[2001:db8::9]:53412 "
                + "storeTimestamp=1700000002005 storeHost=[2001:db8::10]:10911 body=\"Hello IPv6\" properties TAGS=TagA, "
                + "WAIT=true, UNIQ_KEY=" + UNIQ_3 + "; offset msgId (56 hex chars)="
                + MessageDecoder.createMessageId(addr("2001:db8::10", 10911), 131072L) + "."));

        out.add(Golden.of("records/ipv6_born_only.bin", MessageDecoder.encode(messageExt(TOPIC, 1, 8L, 131200L,
                MessageSysFlag.BORNHOST_V6_FLAG, T0 + 2100, addr("2001:db8::9", 53412), T0 + 2105,
                addr("192.168.0.10", 10911), utf8("Hello mixed"), props(MessageConst.PROPERTY_TAGS, "TagA")), false),
            Kind.RECORDS,
            "sysFlag=0x10 (BORNHOST_V6 only): born host [2001:db8::9]:53412 is 20 bytes, store host 192.168.0.10:10911 is 8 "
                + "bytes. topic=TopicTest queueId=1 queueOffset=8 commitLogOffset=131200 bornTimestamp=1700000002100 "
                + "storeTimestamp=1700000002105 body=\"Hello mixed\" properties TAGS=TagA."));

        byte[] plain = compressionInput();
        byte[] zipped = CompressorFactory.getCompressor(CompressionType.ZLIB).compress(plain, 5);
        int zflags = MessageSysFlag.COMPRESSED_FLAG | CompressionType.ZLIB.getCompressionFlag();
        out.add(Golden.of("records/compressed_zlib.bin", MessageDecoder.encode(messageExt(TOPIC, 3, 12L, 196608L, zflags,
                T0 + 3000, addr("192.168.0.9", 53412), T0 + 3005, addr("192.168.0.10", 10911), zipped,
                props(MessageConst.PROPERTY_TAGS, "TagC", MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true",
                    MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_4)), false), Kind.RECORDS,
            "Compressed body: sysFlag=0x" + Integer.toHexString(zflags) + " (COMPRESSED|ZLIB type 0x300); stored body = "
                + "compression/zlib_level5.bin (ZlibCompressor level 5 of compression/zlib_input.bin, 5000 bytes); "
                + "bodyCRC = crc32 of the compressed bytes. topic=TopicTest queueId=3 queueOffset=12 commitLogOffset=196608 "
                + "bornTimestamp=1700000003000 storeTimestamp=1700000003005 hosts 192.168.0.9:53412 / 192.168.0.10:10911 "
                + "properties TAGS=TagC, WAIT=true, UNIQ_KEY=" + UNIQ_4 + "."));

        int txFlag = MessageSysFlag.TRANSACTION_PREPARED_TYPE;
        out.add(Golden.of("records/transaction_prepared.bin", MessageDecoder.encode(messageExt(TOPIC, 0, 0L, 262144L, txFlag,
                T0 + 4000, addr("192.168.0.9", 53412), T0 + 4005, addr("192.168.0.10", 10911), utf8("tx body"),
                props(MessageConst.PROPERTY_TRANSACTION_PREPARED, "true", MessageConst.PROPERTY_PRODUCER_GROUP, PG,
                    MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_TX, MessageConst.PROPERTY_WAIT_STORE_MSG_OK,
                    "true")), false), Kind.RECORDS,
            "Transaction half message as carried in a CHECK_TRANSACTION_STATE body: sysFlag=0x4 (TRANSACTION_PREPARED_TYPE) "
                + "topic=TopicTest queueId=0 queueOffset=0 commitLogOffset=262144 bornTimestamp=1700000004000 "
                + "storeTimestamp=1700000004005 body=\"tx body\" properties TRAN_MSG=true, PGROUP=pg_demo, UNIQ_KEY="
                + UNIQ_TX + ", WAIT=true."));

        // V2 magic: only the store's MessageExtEncoder writes it (MessageDecoder.encode always writes V1).
        StringBuilder longTopic = new StringBuilder("LongTopic");
        while (longTopic.length() < 141) {
            longTopic.append("_0123456789");
        }
        String lt = longTopic.substring(0, 141);
        out.add(Golden.of("records/v2_long_topic.bin", v2Record(lt), Kind.RECORDS,
            "V2 magic 0xDAA320AB record written by rocketmq-store 5.3.3 MessageExtEncoder (MessageVersion.MESSAGE_VERSION_V2, "
                + "as CommitLog chooses for topics longer than 127 chars): 2-byte topic length. topic=\"" + lt + "\" (141 chars) "
                + "queueId=0 queueOffset=5 commitLogOffset=327680 (patched into the PHYSICALOFFSET field at byte 28 the way "
                + "CommitLog.doAppend does) sysFlag=0 bornTimestamp=1700000005000 bornHost=192.168.0.9:53412 "
                + "storeTimestamp=1700000005005 storeHost=192.168.0.10:10911 body=\"Hello V2\" properties TAGS=TagV2, "
                + "WAIT=true (string written from MessageExtBrokerInner.propertiesString)."));
    }

    static byte[] v2Record(String topic) throws Exception {
        MessageExtBrokerInner inner = new MessageExtBrokerInner();
        inner.setTopic(topic);
        inner.setQueueId(0);
        inner.setFlag(0);
        inner.setQueueOffset(5L);
        inner.setSysFlag(0);
        inner.setBornTimestamp(T0 + 5000);
        inner.setBornHost(addr("192.168.0.9", 53412));
        inner.setStoreTimestamp(T0 + 5005);
        inner.setStoreHost(addr("192.168.0.10", 10911));
        inner.setReconsumeTimes(0);
        inner.setPreparedTransactionOffset(0L);
        byte[] body = utf8("Hello V2");
        inner.setBody(body);
        inner.setBodyCRC(UtilAll.crc32(body));
        LinkedHashMap<String, String> p = props(MessageConst.PROPERTY_TAGS, "TagV2", MessageConst.PROPERTY_WAIT_STORE_MSG_OK,
            "true");
        MessageAccessor.setProperties(inner, p);
        inner.setPropertiesString(MessageDecoder.messageProperties2String(p));
        inner.setVersion(MessageVersion.MESSAGE_VERSION_V2);
        MessageExtEncoder encoder = new MessageExtEncoder(new MessageStoreConfig());
        if (encoder.encode(inner) != null) {
            throw new IllegalStateException("MessageExtEncoder refused the V2 record");
        }
        ByteBuffer buf = encoder.getEncoderBuffer();
        int total = buf.getInt(0);
        byte[] rec = new byte[total];
        buf.get(0, rec);
        ByteBuffer.wrap(rec).putLong(MessageDecoder.PHY_POS_POSITION, 327680L);
        return rec;
    }

    static List<Message> batchMessages() {
        List<Message> msgs = new ArrayList<>();
        String[] tags = {"TagA", "TagB", "TagA"};
        String[] uniq = {"C0A8000930391B6D3586001E848000A1", "C0A8000930391B6D3586001E848000A2",
            "C0A8000930391B6D3586001E848000A3"};
        for (int i = 0; i < 3; i++) {
            Message m = new Message(TOPIC, utf8("batch message " + i));
            m.setFlag(i == 2 ? 7 : 0);
            MessageAccessor.setProperties(m, props(MessageConst.PROPERTY_KEYS, "bk-" + i, MessageConst.PROPERTY_TAGS, tags[i],
                MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true", MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, uniq[i]));
            msgs.add(m);
        }
        return msgs;
    }

    private void batch() {
        out.add(Golden.of("batch/three_messages.bin", MessageDecoder.encodeMessages(batchMessages()), Kind.BATCH,
            "MessageDecoder.encodeMessages of 3 messages (MAGICCODE=0, BODYCRC=0): bodies \"batch message 0/1/2\", flags 0/0/7, "
                + "properties (LinkedHashMap order) KEYS=bk-0|bk-1|bk-2, TAGS=TagA|TagB|TagA, WAIT=true, "
                + "UNIQ_KEY=C0A8000930391B6D3586001E848000A1|...A2|...A3. Same bytes as the body of "
                + "frames/send_batch_message.request.*.bin."));
    }

    private void properties() {
        LinkedHashMap<String, String> basic = props(MessageConst.PROPERTY_TAGS, "TagA", MessageConst.PROPERTY_KEYS,
            "key-1 key-2", MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true",
            MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_1);
        out.add(Golden.of("properties/basic.bin", utf8(MessageDecoder.messageProperties2String(basic)), Kind.PROPERTIES,
            "messageProperties2String(LinkedHashMap) in this order: TAGS=TagA, KEYS=\"key-1 key-2\", WAIT=true, UNIQ_KEY="
                + UNIQ_1 + " (each pair name 0x01 value 0x02, trailing 0x02)."));
        HashMap<String, String> hm = new HashMap<>(basic);
        out.add(Golden.of("properties/basic_hashmap.bin", utf8(MessageDecoder.messageProperties2String(hm)), Kind.PROPERTIES,
            "Same 4 properties put into a java.util.HashMap (what Message uses): iteration order "
                + String.join(", ", hm.keySet()) + "."));
        out.add(Golden.of("properties/transaction.bin", utf8(MessageDecoder.messageProperties2String(props(
                MessageConst.PROPERTY_TRANSACTION_PREPARED, "true", MessageConst.PROPERTY_PRODUCER_GROUP, PG,
                MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_TX))), Kind.PROPERTIES,
            "LinkedHashMap TRAN_MSG=true, PGROUP=pg_demo, UNIQ_KEY=" + UNIQ_TX + "."));
        out.add(Golden.of("properties/retry.bin", utf8(MessageDecoder.messageProperties2String(props(
                MessageConst.PROPERTY_RETRY_TOPIC, TOPIC, MessageConst.PROPERTY_RECONSUME_TIME, "3",
                MessageConst.PROPERTY_MAX_RECONSUME_TIMES, "16", MessageConst.PROPERTY_DELAY_TIME_LEVEL, "6",
                MessageConst.PROPERTY_ORIGIN_MESSAGE_ID, UNIQ_1, MessageConst.PROPERTY_REAL_TOPIC, RETRY_CG,
                MessageConst.PROPERTY_REAL_QUEUE_ID, "0"))), Kind.PROPERTIES,
            "LinkedHashMap RETRY_TOPIC=TopicTest, RECONSUME_TIME=3, MAX_RECONSUME_TIMES=16, DELAY=6, ORIGIN_MESSAGE_ID="
                + UNIQ_1 + ", REAL_TOPIC=%RETRY%cg_demo, REAL_QID=0."));
        out.add(Golden.of("properties/unicode.bin", utf8(MessageDecoder.messageProperties2String(props(
                MessageConst.PROPERTY_TAGS, "标签", MessageConst.PROPERTY_KEYS, "ключ clé", "userProp", "emoji 🚀 ok"))),
            Kind.PROPERTIES,
            "LinkedHashMap with non-ASCII UTF-8: TAGS=标签, KEYS=\"ключ clé\", userProp=\"emoji 🚀 ok\" (U+1F680, 4 UTF-8 bytes)."));
        out.add(Golden.of("properties/empty.bin", utf8(MessageDecoder.messageProperties2String(new HashMap<>())),
            Kind.PROPERTIES, "Empty map: zero bytes."));
    }

    private void text() throws Exception {
        StringBuilder sb = new StringBuilder("ip\tport\toffset\tmsgid\n");
        Object[][] rows = {
            {"192.168.1.10", 10911, 0x1234L},
            {"192.168.0.10", 10911, REC1_OFFSET},
            {"10.0.0.1", 10911, 0L},
            {"127.0.0.1", 8080, 1L << 40},
            {"255.255.255.255", 65535, Long.MAX_VALUE},
            {"2001:db8::10", 10911, 131072L},
            {"::1", 10911, 42L},
            {"fe80::1:2:3:4", 1, -1L},
        };
        for (Object[] r : rows) {
            InetAddress ip = InetAddress.getByName((String) r[0]);
            int port = (Integer) r[1];
            long off = (Long) r[2];
            // The store's way: MessageExt.socketAddress2ByteBuffer + createMessageId(input, addr, offset).
            ByteBuffer hostBuf = MessageExt.socketAddress2ByteBuffer(new InetSocketAddress(ip, port));
            ByteBuffer input = ByteBuffer.allocate(hostBuf.limit() == 8 ? 16 : 28);
            String viaStore = MessageDecoder.createMessageId(input, hostBuf, off);
            String viaSocket = MessageDecoder.createMessageId(new InetSocketAddress(ip, port), off);
            if (!viaStore.equals(viaSocket)) {
                throw new IllegalStateException("createMessageId variants disagree for " + Arrays.toString(r));
            }
            sb.append(r[0]).append('\t').append(port).append('\t').append(off).append('\t').append(viaStore).append('\n');
        }
        out.add(Golden.of("text/msgid.tsv", utf8(sb.toString()), Kind.BYTES,
            "Offset message ids (MessageDecoder.createMessageId): header line, then ip, port, commit-log offset (signed "
                + "decimal), id = uppercase hex of ip bytes + port int + offset long (32 chars IPv4, 56 chars IPv6)."));

        StringBuilder th = new StringBuilder("tag\thashcode\n");
        String longTag = "LongTag-" + "abcdefghijklmnopqrstuvwxyz0123456789".repeat(6);
        String[] tags = {"", "TagA", "TagB", "*", "a", "Z", "order||pay", "标签", "タグ", "ключ", "🚀", "emoji🚀tag👍",
            "\u00e9t\u00e9", longTag, "polygenelubricants", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"};
        for (String t : tags) {
            long code = MessageExtBrokerInner.tagsString2tagsCode(t);
            if (code != (t.isEmpty() ? 0 : t.hashCode())) {
                throw new IllegalStateException("unexpected tags code for " + t);
            }
            th.append(t).append('\t').append(code).append('\n');
        }
        out.add(Golden.of("text/taghash.tsv", utf8(th.toString()), Kind.BYTES,
            "Tag hash codes: header line, then tag<TAB>MessageExtBrokerInner.tagsString2tagsCode(tag) (= Java "
                + "String.hashCode over UTF-16 units, sign-extended to long; empty tag = 0). Includes empty, non-ASCII, "
                + "emoji (surrogate pairs), a 224-char tag and \"polygenelubricants\" (hash = Integer.MIN_VALUE)."));
    }

    private void compression() throws Exception {
        byte[] plain = compressionInput();
        out.add(Golden.of("compression/zlib_input.bin", plain, Kind.BYTES,
            "5000 bytes of ASCII text lines \"RocketMQ golden vector line NNNN: the quick brown fox ...\\n\" (truncated to 5000)."));
        out.add(Golden.of("compression/zlib_level5.bin",
            CompressorFactory.getCompressor(CompressionType.ZLIB).compress(plain, 5), Kind.ZLIB,
            "ZlibCompressor.compress(zlib_input.bin, level 5) = producer default (zlib wrapper, RFC 1950). Compared after "
                + "decompression."));
        out.add(Golden.of("compression/zlib_level9.bin", UtilAll.compress(plain, 9), Kind.ZLIB,
            "UtilAll.compress(zlib_input.bin, 9) (Deflater BEST_COMPRESSION, as used by RegisterBrokerBody). Compared after "
                + "decompression."));
    }

    // =============================================================================================
    // JSON bodies
    // =============================================================================================

    static TopicRouteData routeData() {
        TopicRouteData r = new TopicRouteData();
        HashMap<Long, String> a = new HashMap<>();
        a.put(0L, A_MASTER);
        a.put(1L, A_SLAVE);
        HashMap<Long, String> b = new HashMap<>();
        b.put(0L, B_MASTER);
        List<BrokerData> bds = new ArrayList<>();
        bds.add(new BrokerData(CLUSTER, BROKER_A, a));
        bds.add(new BrokerData(CLUSTER, BROKER_B, b));
        r.setBrokerDatas(bds);
        List<QueueData> qds = new ArrayList<>();
        for (String bn : new String[] {BROKER_A, BROKER_B}) {
            QueueData q = new QueueData();
            q.setBrokerName(bn);
            q.setReadQueueNums(4);
            q.setWriteQueueNums(4);
            q.setPerm(6);
            q.setTopicSysFlag(0);
            qds.add(q);
        }
        r.setQueueDatas(qds);
        r.setFilterServerTable(new HashMap<>());
        return r;
    }

    /** The name server's encoding for request version >= V4_9_4 (ClientRequestProcessor.getRouteInfoByTopic). */
    static byte[] standardRouteJson(TopicRouteData r) {
        return r.encode(SerializerFeature.BrowserCompatible, SerializerFeature.QuoteFieldNames,
            SerializerFeature.SkipTransientField, SerializerFeature.MapSortField);
    }

    static ConcurrentMap<String, TopicConfig> topicTable(boolean withRetry, int capacity) {
        ConcurrentMap<String, TopicConfig> t = new ConcurrentHashMap<>(capacity);
        Map<String, String> normal = new HashMap<>();
        normal.put("+message.type", "NORMAL");
        t.put(TOPIC, topicConfig(TOPIC, 4, 6, normal));
        t.put(TBW102, topicConfig(TBW102, 8, 7, new HashMap<>()));
        if (withRetry) {
            t.put(RETRY_CG, topicConfig(RETRY_CG, 1, 6, new HashMap<>()));
        }
        return t;
    }

    static RegisterBrokerBody registerBody() {
        TopicConfigAndMappingSerializeWrapper w = new TopicConfigAndMappingSerializeWrapper();
        w.setDataVersion(dv(12, T0));
        w.setMappingDataVersion(dv(0, T0));
        w.setTopicConfigTable(topicTable(false, 16));
        RegisterBrokerBody body = new RegisterBrokerBody();
        body.setTopicConfigSerializeWrapper(w);
        body.setFilterServerList(new ArrayList<>());
        return body;
    }

    static TopicConfigAndMappingSerializeWrapper allTopicConfig() {
        TopicConfigAndMappingSerializeWrapper w = new TopicConfigAndMappingSerializeWrapper();
        w.setDataVersion(dv(12, T0));
        w.setTopicConfigTable(topicTable(true, 1024));
        w.setMappingDataVersion(dv(0, T0));
        w.setTopicQueueMappingDetailMap(new ConcurrentHashMap<>());
        return w;
    }

    static SubscriptionGroupConfig groupConfig(String name, boolean orderly) {
        SubscriptionGroupConfig c = new SubscriptionGroupConfig();
        c.setGroupName(name);
        c.setConsumeMessageOrderly(orderly);
        return c;
    }

    static ConcurrentMap<String, SubscriptionGroupConfig> groupTable() {
        ConcurrentMap<String, SubscriptionGroupConfig> t = new ConcurrentHashMap<>(1024);
        t.put(CG, groupConfig(CG, false));
        t.put("cg_orderly", groupConfig("cg_orderly", true));
        return t;
    }

    static ConcurrentMap<String, ConcurrentMap<Integer, Long>> consumerOffsets() {
        ConcurrentMap<String, ConcurrentMap<Integer, Long>> t = new ConcurrentHashMap<>(512);
        ConcurrentMap<Integer, Long> a = new ConcurrentHashMap<>(32);
        a.put(0, 42L);
        a.put(1, 40L);
        a.put(2, 41L);
        a.put(3, 39L);
        t.put(TOPIC + "@" + CG, a);
        ConcurrentMap<Integer, Long> b = new ConcurrentHashMap<>(32);
        b.put(0, 0L);
        t.put(RETRY_CG + "@" + CG, b);
        return t;
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
        subs.add(sub(TOPIC, "TagA || TagB", T0));
        subs.add(sub(RETRY_CG, "*", T0 + 1));
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
        h.setHeartbeatFingerprint(0);
        h.setWithoutSub(false);
        return h;
    }

    /** POP: the revive-log records, BATCH_ACK_MESSAGE and the broker-side assignment bodies. */
    private void popBodies() {
        org.apache.rocketmq.store.pop.PopCheckPoint ck = new org.apache.rocketmq.store.pop.PopCheckPoint();
        ck.setBitMap(0);
        ck.setNum((byte) 2);
        ck.setPopTime(1700000000000L);
        ck.setInvisibleTime(60000L);
        ck.setStartOffset(5L);
        ck.setCId(CG);
        ck.setTopic(TOPIC);
        ck.setQueueId(1);
        ck.setBrokerName(BROKER_A);
        ck.addDiff(0);
        ck.addDiff(2);
        json("pop_check_point", ck, org.apache.rocketmq.store.pop.PopCheckPoint.class,
            "PopCheckPoint (revive log, tag ck): TopicTest queue 1 startOffset 5 diffs [0, 2], cg_demo, popTime "
                + "1700000000000, invisibleTime 60000, broker-a.");
        org.apache.rocketmq.store.pop.AckMsg ack = new org.apache.rocketmq.store.pop.AckMsg();
        ack.setAckOffset(7L);
        ack.setStartOffset(5L);
        ack.setConsumerGroup(CG);
        ack.setTopic(TOPIC);
        ack.setQueueId(1);
        ack.setPopTime(1700000000000L);
        ack.setBrokerName(BROKER_A);
        json("ack_msg", ack, org.apache.rocketmq.store.pop.AckMsg.class,
            "AckMsg (revive log, tag ack): offset 7 of the checkpoint above.");
        org.apache.rocketmq.store.pop.BatchAckMsg batch = new org.apache.rocketmq.store.pop.BatchAckMsg();
        batch.setAckOffset(-1L);
        batch.getAckOffsetList().addAll(List.of(5L, 7L));
        batch.setStartOffset(5L);
        batch.setConsumerGroup(CG);
        batch.setTopic(TOPIC);
        batch.setQueueId(1);
        batch.setPopTime(1700000000000L);
        json("batch_ack_msg", batch, org.apache.rocketmq.store.pop.BatchAckMsg.class,
            "BatchAckMsg (revive log, tag bAck): offsets [5, 7] of the checkpoint above.");
        org.apache.rocketmq.remoting.protocol.body.BatchAck bAck = new org.apache.rocketmq.remoting.protocol.body.BatchAck();
        bAck.setConsumerGroup(CG);
        bAck.setTopic(TOPIC);
        bAck.setRetry("0");
        bAck.setStartOffset(5L);
        bAck.setQueueId(1);
        bAck.setReviveQueueId(3);
        bAck.setPopTime(1700000000000L);
        bAck.setInvisibleTime(60000L);
        java.util.BitSet bits = new java.util.BitSet();
        bits.set(0);
        bits.set(2);
        bAck.setBitSet(bits);
        org.apache.rocketmq.remoting.protocol.body.BatchAckMessageRequestBody batchBody =
            new org.apache.rocketmq.remoting.protocol.body.BatchAckMessageRequestBody();
        batchBody.setBrokerName(BROKER_A);
        batchBody.setAcks(List.of(bAck));
        json("batch_ack_message_request_body", batchBody,
            org.apache.rocketmq.remoting.protocol.body.BatchAckMessageRequestBody.class,
            "BatchAckMessageRequestBody: broker-a, one BatchAck of cg_demo TopicTest queue 1 retry 0 startOffset 5 "
                + "reviveQueueId 3 popTime 1700000000000 invisibleTime 60000, bits {0, 2}.");
        org.apache.rocketmq.remoting.protocol.body.QueryAssignmentRequestBody qa =
            new org.apache.rocketmq.remoting.protocol.body.QueryAssignmentRequestBody();
        qa.setTopic(TOPIC);
        qa.setConsumerGroup(CG);
        qa.setClientId(CLIENT_ID);
        qa.setStrategyName("AVG");
        qa.setMessageModel(MessageModel.CLUSTERING);
        json("query_assignment_request_body", qa, org.apache.rocketmq.remoting.protocol.body.QueryAssignmentRequestBody.class,
            "QueryAssignmentRequestBody: TopicTest, cg_demo, 192.168.0.9@12345#1, AVG, CLUSTERING.");
        org.apache.rocketmq.common.message.MessageQueueAssignment assignment =
            new org.apache.rocketmq.common.message.MessageQueueAssignment();
        assignment.setMessageQueue(new MessageQueue(TOPIC, BROKER_A, -1));
        assignment.setMode(org.apache.rocketmq.common.message.MessageRequestMode.POP);
        org.apache.rocketmq.remoting.protocol.body.QueryAssignmentResponseBody qaResponse =
            new org.apache.rocketmq.remoting.protocol.body.QueryAssignmentResponseBody();
        qaResponse.setMessageQueueAssignments(new HashSet<>(List.of(assignment)));
        json("query_assignment_response_body", qaResponse,
            org.apache.rocketmq.remoting.protocol.body.QueryAssignmentResponseBody.class,
            "QueryAssignmentResponseBody: one assignment, TopicTest/broker-a/-1 in mode POP.");
        org.apache.rocketmq.remoting.protocol.body.SetMessageRequestModeRequestBody modeBody =
            new org.apache.rocketmq.remoting.protocol.body.SetMessageRequestModeRequestBody();
        modeBody.setTopic(TOPIC);
        modeBody.setConsumerGroup(CG);
        modeBody.setMode(org.apache.rocketmq.common.message.MessageRequestMode.POP);
        modeBody.setPopShareQueueNum(0);
        json("set_message_request_mode_request_body", modeBody,
            org.apache.rocketmq.remoting.protocol.body.SetMessageRequestModeRequestBody.class,
            "SetMessageRequestModeRequestBody: TopicTest, cg_demo, POP, popShareQueueNum 0.");
    }

    static MessageQueue mq(int q) {
        return new MessageQueue(TOPIC, BROKER_A, q);
    }

    static GetConsumerListByGroupResponseBody consumerList() {
        GetConsumerListByGroupResponseBody b = new GetConsumerListByGroupResponseBody();
        b.setConsumerIdList(new ArrayList<>(List.of(CLIENT_ID, CLIENT_ID_2)));
        return b;
    }

    static BrokerShapes.DelayOffsetSerializeWrapper delayOffsets() {
        BrokerShapes.DelayOffsetSerializeWrapper d = new BrokerShapes.DelayOffsetSerializeWrapper();
        ConcurrentMap<Integer, Long> t = new ConcurrentHashMap<>(32);
        t.put(1, 0L);
        t.put(2, 17L);
        t.put(3, 4L);
        d.setOffsetTable(t);
        d.setDataVersion(dv(3, T0));
        return d;
    }

    static BrokerShapes.ConsumerOffsetManager consumerOffsetManager() {
        BrokerShapes.ConsumerOffsetManager m = new BrokerShapes.ConsumerOffsetManager();
        m.setDataVersion(dv(5, T0));
        m.setOffsetTable(consumerOffsets());
        return m;
    }

    static BrokerShapes.SubscriptionGroupManager subscriptionGroupManager() {
        BrokerShapes.SubscriptionGroupManager m = new BrokerShapes.SubscriptionGroupManager();
        m.setDataVersion(dv(2, T0));
        m.setSubscriptionGroupTable(groupTable());
        return m;
    }

    private void bodies() throws Exception {
        TopicRouteData route = routeData();
        json("topic_route_data", route, TopicRouteData.class,
            "TopicRouteData, default fastjson (RemotingSerializable.encode; name server answer to request version < V4_9_4 = 401): "
                + "brokerDatas broker-a {0:192.168.0.10:10911, 1:192.168.0.11:10911 (slave)} and broker-b {0:192.168.0.20:10911}, "
                + "cluster DefaultCluster, enableActingMaster=false; queueDatas broker-a and broker-b read=write=4 perm=6 "
                + "topicSysFlag=0; filterServerTable {}. brokerAddrs keys are unquoted longs.");
        out.add(Golden.json("bodies/topic_route_data.standard.json", standardRouteJson(route), TopicRouteData.class,
            "Same TopicRouteData encoded as the 5.3.3 name server does for request version >= V4_9_4 (ordinal 401) or "
                + "acceptStandardJsonOnly=true: encode(BrowserCompatible, QuoteFieldNames, SkipTransientField, MapSortField) "
                + "-> quoted numeric keys, sorted map keys."));

        RegisterBrokerBody rb = registerBody();
        json("register_broker_body", rb, RegisterBrokerBody.class,
            "RegisterBrokerBody (uncompressed, what 5.x brokers send): filterServerList []; topicConfigSerializeWrapper = "
                + "TopicConfigAndMappingSerializeWrapper with dataVersion {counter 12, stateVersion 0, timestamp 1700000000000}, "
                + "mappingDataVersion {0, 0, 1700000000000}, topicConfigTable {TopicTest: 4/4 perm 6 SINGLE_TAG attributes "
                + "{+message.type: NORMAL}; TBW102: 8/8 perm 7 attributes {}}, topicQueueMappingInfoMap {}, "
                + "topicQueueMappingDetailMap {}.");
        out.add(Golden.of("bodies/register_broker_body.compressed.bin", rb.encode(true), Kind.REGISTER_COMPRESSED,
            "RegisterBrokerBody.encode(true) of the same body: zlib (Deflater level 9) of int len + DataVersion JSON, int "
                + "topicCount, per topic int len + TopicConfig.encode() text (\"TopicTest 4 4 6 SINGLE_TAG "
                + "{\\\"+message.type\\\":\\\"NORMAL\\\"}\"), int len + filter server JSON \"[]\", then (5.x) int count 0 of "
                + "TopicQueueMappingInfo. The name server reads the trailer only when the request version >= V5_0_0 (ordinal 413); "
                + "verify decodes with V5_3_3. Compared after decoding (compressed bytes may differ between zlib builds)."));

        TopicConfigSerializeWrapper tcw = new TopicConfigSerializeWrapper();
        tcw.setDataVersion(dv(12, T0));
        tcw.setTopicConfigTable(topicTable(true, 1024));
        json("topic_config_serialize_wrapper", tcw, TopicConfigSerializeWrapper.class,
            "TopicConfigSerializeWrapper: dataVersion {12, 0, 1700000000000}; topicConfigTable TopicTest (4/4 perm 6, "
                + "+message.type=NORMAL), TBW102 (8/8 perm 7), %RETRY%cg_demo (1/1 perm 6).");
        json("topic_config_and_mapping_serialize_wrapper", allTopicConfig(), TopicConfigAndMappingSerializeWrapper.class,
            "TopicConfigAndMappingSerializeWrapper as in the GET_ALL_TOPIC_CONFIG response: same 3 topics, dataVersion "
                + "{12,0,1700000000000}, mappingDataVersion {0,0,1700000000000}, empty mapping maps.");

        SubscriptionGroupWrapper sgw = new SubscriptionGroupWrapper();
        sgw.setDataVersion(dv(2, T0));
        sgw.setSubscriptionGroupTable(groupTable());
        json("subscription_group_wrapper", sgw, SubscriptionGroupWrapper.class,
            "SubscriptionGroupWrapper (remoting class; no forbiddenTable): dataVersion {2,0,1700000000000}; groups cg_demo "
                + "and cg_orderly (consumeMessageOrderly=true), all other fields default (retryQueueNums 1, retryMaxTimes 16, "
                + "brokerId 0, whichBrokerWhenConsumeSlowly 1, groupRetryPolicy CUSTOMIZED, attributes {}).");
        json("subscription_group_manager", subscriptionGroupManager(), BrokerShapes.SubscriptionGroupManager.class,
            "What the 5.3.3 broker actually sends for GET_ALL_SUBSCRIPTIONGROUP_CONFIG (SubscriptionGroupManager.encode(), "
                + "reproduced with a local class of the same shape): like subscription_group_wrapper plus forbiddenTable {}.");

        ConsumerOffsetSerializeWrapper cow = new ConsumerOffsetSerializeWrapper();
        cow.setDataVersion(dv(5, T0));
        cow.setOffsetTable(consumerOffsets());
        json("consumer_offset_serialize_wrapper", cow, ConsumerOffsetSerializeWrapper.class,
            "ConsumerOffsetSerializeWrapper: dataVersion {5,0,1700000000000}; offsetTable {\"TopicTest@cg_demo\": {0:42,1:40,2:41,3:39}, "
                + "\"%RETRY%cg_demo@cg_demo\": {0:0}} (unquoted int keys).");
        json("consumer_offset_manager", consumerOffsetManager(), BrokerShapes.ConsumerOffsetManager.class,
            "What the 5.3.3 broker actually sends for GET_ALL_CONSUMER_OFFSET (ConsumerOffsetManager.encode(), local class of "
                + "the same shape): same data plus groupTopicMap {cg_demo: [TopicTest, %RETRY%cg_demo]}.");
        json("delay_offset", delayOffsets(), BrokerShapes.DelayOffsetSerializeWrapper.class,
            "GET_ALL_DELAY_OFFSET body: broker-only class DelayOffsetSerializeWrapper (org.apache.rocketmq.broker.schedule) "
                + "reproduced locally: dataVersion {3,0,1700000000000}, offsetTable {1:0, 2:17, 3:4} (delay level -> offset, "
                + "unquoted int keys).");

        json("heartbeat_data", heartbeat(), HeartbeatData.class,
            "HeartbeatData: clientID 192.168.0.9@12345#1; consumerDataSet [cg_demo CONSUME_PASSIVELY CLUSTERING "
                + "CONSUME_FROM_LAST_OFFSET unitMode=false, subscriptions TopicTest \"TagA || TagB\" (tagsSet [TagA,TagB], "
                + "codeSet [2598919,2598920], subVersion 1700000000000) and %RETRY%cg_demo \"*\" (subVersion 1700000000001)]; "
                + "producerDataSet [pg_demo, CLIENT_INNER_PRODUCER]; heartbeatFingerprint 0; withoutSub false.");
        json("consumer_list", consumerList(), GetConsumerListByGroupResponseBody.class,
            "GetConsumerListByGroupResponseBody: consumerIdList [192.168.0.9@12345#1, 192.168.0.12@777#2].");

        LockBatchRequestBody lreq = new LockBatchRequestBody();
        lreq.setConsumerGroup(CG);
        lreq.setClientId(CLIENT_ID);
        lreq.setOnlyThisBroker(false);
        HashSet<MessageQueue> mqs = new HashSet<>(List.of(mq(0), mq(1)));
        lreq.setMqSet(mqs);
        json("lock_batch_request_body", lreq, LockBatchRequestBody.class,
            "LockBatchRequestBody: consumerGroup cg_demo, clientId 192.168.0.9@12345#1, onlyThisBroker false, mqSet "
                + "[TopicTest/broker-a/0, TopicTest/broker-a/1].");
        LockBatchResponseBody lresp = new LockBatchResponseBody();
        lresp.setLockOKMQSet(new HashSet<>(List.of(mq(0))));
        json("lock_batch_response_body", lresp, LockBatchResponseBody.class,
            "LockBatchResponseBody: lockOKMQSet [TopicTest/broker-a/0].");
        popBodies();

        ClusterInfo ci = new ClusterInfo();
        Map<String, BrokerData> bat = new HashMap<>();
        for (BrokerData bd : route.getBrokerDatas()) {
            bat.put(bd.getBrokerName(), bd);
        }
        ci.setBrokerAddrTable(bat);
        Map<String, java.util.Set<String>> cat = new HashMap<>();
        cat.put(CLUSTER, new HashSet<>(List.of(BROKER_A, BROKER_B)));
        ci.setClusterAddrTable(cat);
        json("cluster_info", ci, ClusterInfo.class,
            "ClusterInfo: brokerAddrTable broker-a {0:192.168.0.10:10911, 1:192.168.0.11:10911 (slave)}, broker-b "
                + "{0:192.168.0.20:10911} (unquoted long keys); clusterAddrTable {DefaultCluster: [broker-a, broker-b]}.");

        ConsumeStats cstats = new ConsumeStats();
        for (int q = 0; q < 2; q++) {
            OffsetWrapper w = new OffsetWrapper();
            w.setBrokerOffset(120 + q);
            w.setConsumerOffset(118 + q);
            w.setPullOffset(120 + q);
            w.setLastTimestamp(T0 + q);
            cstats.getOffsetTable().put(mq(q), w);
        }
        cstats.setConsumeTps(12.5);
        json("consume_stats", cstats, ConsumeStats.class,
            "ConsumeStats: consumeTps 12.5; offsetTable (MessageQueue object keys) TopicTest/broker-a/0 -> brokerOffset 120 "
                + "consumerOffset 118 pullOffset 120 lastTimestamp 1700000000000; queue 1 -> 121/119/121/1700000000001.");

        TopicStatsTable tst = new TopicStatsTable();
        for (int q = 0; q < 2; q++) {
            TopicOffset o = new TopicOffset();
            o.setMinOffset(0);
            o.setMaxOffset(120 + q);
            o.setLastUpdateTimestamp(T0 + q);
            tst.getOffsetTable().put(mq(q), o);
        }
        tst.setTopicPutTps(3.25);
        json("topic_stats_table", tst, TopicStatsTable.class,
            "TopicStatsTable: topicPutTps 3.25; offsetTable TopicTest/broker-a/0 -> min 0 max 120 lastUpdateTimestamp "
                + "1700000000000; queue 1 -> min 0 max 121 lastUpdateTimestamp 1700000000001.");

        KVTable kv = new KVTable();
        HashMap<String, String> rt = new HashMap<>();
        rt.put("brokerVersionDesc", "V5_3_3");
        rt.put("brokerVersion", String.valueOf(VERSION));
        rt.put("brokerActive", "true");
        rt.put("msgPutTotalYesterdayMorning", "100");
        rt.put("msgPutTotalTodayMorning", "200");
        rt.put("msgPutTotalTodayNow", "250");
        rt.put("msgGetTotalYesterdayMorning", "90");
        rt.put("msgGetTotalTodayMorning", "180");
        rt.put("msgGetTotalTodayNow", "240");
        rt.put("putTps", "12.50 11.00 10.20");
        rt.put("getTransferredTps", "10.00 9.50 9.00");
        rt.put("earliestMessageTimeStamp", String.valueOf(T0));
        rt.put("commitLogDiskRatio", "0.35");
        rt.put("bootTimestamp", String.valueOf(T0 - 3600000L));
        rt.put("runtime", "[ 0 days, 1 hours, 0 minutes, 0 seconds ]");
        rt.put("sendThreadPoolQueueSize", "0");
        rt.put("pullThreadPoolQueueSize", "0");
        kv.setTable(rt);
        json("kv_table", kv, KVTable.class,
            "KVTable shaped like GET_BROKER_RUNTIME_INFO: table {brokerVersionDesc V5_3_3, brokerVersion 479, brokerActive "
                + "true, msgPutTotalYesterdayMorning 100, msgPutTotalTodayMorning 200, msgPutTotalTodayNow 250, "
                + "msgGetTotalYesterdayMorning 90, msgGetTotalTodayMorning 180, msgGetTotalTodayNow 240, putTps "
                + "\"12.50 11.00 10.20\", getTransferredTps \"10.00 9.50 9.00\", earliestMessageTimeStamp 1700000000000, "
                + "commitLogDiskRatio 0.35, bootTimestamp 1699996400000, runtime \"[ 0 days, 1 hours, 0 minutes, 0 seconds ]\", "
                + "sendThreadPoolQueueSize 0, pullThreadPoolQueueSize 0} (all strings).");

        ConsumerConnection cc = new ConsumerConnection();
        Connection conn = new Connection();
        conn.setClientId(CLIENT_ID);
        conn.setClientAddr(CLIENT_ADDR);
        conn.setLanguage(LanguageCode.JAVA);
        conn.setVersion(VERSION);
        LinkedHashSet<Connection> conns = new LinkedHashSet<>();
        conns.add(conn);
        cc.setConnectionSet(conns);
        cc.setConsumeType(ConsumeType.CONSUME_PASSIVELY);
        cc.setMessageModel(MessageModel.CLUSTERING);
        cc.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        cc.getSubscriptionTable().put(TOPIC, sub(TOPIC, "TagA || TagB", T0));
        json("consumer_connection", cc, ConsumerConnection.class,
            "ConsumerConnection: connectionSet [clientId 192.168.0.9@12345#1, clientAddr 192.168.0.9:53412, language JAVA, "
                + "version 479]; CONSUME_PASSIVELY, CLUSTERING, CONSUME_FROM_LAST_OFFSET; subscriptionTable {TopicTest: "
                + "\"TagA || TagB\" subVersion 1700000000000}.");

        TopicList tl = new TopicList();
        tl.getTopicList().addAll(List.of(TBW102, TOPIC, RETRY_CG));
        json("topic_list", tl, TopicList.class, "TopicList: topicList [TBW102, TopicTest, %RETRY%cg_demo], no brokerAddr.");

        ResetOffsetBody rob = new ResetOffsetBody();
        Map<MessageQueue, Long> rt2 = new ConcurrentHashMap<>();
        rt2.put(mq(0), 100L);
        rt2.put(mq(1), 97L);
        rob.setOffsetTable(rt2);
        json("reset_offset_body", rob, ResetOffsetBody.class,
            "ResetOffsetBody: offsetTable {TopicTest/broker-a/0: 100, TopicTest/broker-a/1: 97} (MessageQueue object keys).");

        ConsumerRunningInfo cri = new ConsumerRunningInfo();
        Properties p = new Properties();
        p.setProperty(ConsumerRunningInfo.PROP_CONSUME_TYPE, ConsumeType.CONSUME_PASSIVELY.name());
        p.setProperty(ConsumerRunningInfo.PROP_CONSUME_ORDERLY, "false");
        p.setProperty(ConsumerRunningInfo.PROP_CONSUMER_START_TIMESTAMP, String.valueOf(T0));
        p.setProperty(ConsumerRunningInfo.PROP_THREADPOOL_CORE_SIZE, "20");
        p.setProperty(ConsumerRunningInfo.PROP_NAMESERVER_ADDR, "127.0.0.1:9876");
        p.setProperty(ConsumerRunningInfo.PROP_CLIENT_VERSION, "V5_3_3");
        p.setProperty("consumerGroup", CG);
        cri.setProperties(p);
        cri.getSubscriptionSet().add(sub(TOPIC, "TagA || TagB", T0));
        ProcessQueueInfo pqi = new ProcessQueueInfo();
        pqi.setCommitOffset(42);
        pqi.setLastPullTimestamp(T0);
        pqi.setLastConsumeTimestamp(T0);
        cri.getMqTable().put(mq(0), pqi);
        ConsumeStatus cs = new ConsumeStatus();
        cs.setPullRT(1.5);
        cs.setPullTPS(10.0);
        cs.setConsumeRT(2.25);
        cs.setConsumeOKTPS(9.5);
        cs.setConsumeFailedTPS(0.0);
        cs.setConsumeFailedMsgs(3);
        cri.getStatusTable().put(TOPIC, cs);
        json("consumer_running_info", cri, ConsumerRunningInfo.class,
            "ConsumerRunningInfo (small): properties {PROP_CONSUME_TYPE CONSUME_PASSIVELY, PROP_CONSUMEORDERLY false, "
                + "PROP_CONSUMER_START_TIMESTAMP 1700000000000, PROP_THREADPOOL_CORE_SIZE 20, PROP_NAMESERVER_ADDR "
                + "127.0.0.1:9876, PROP_CLIENT_VERSION V5_3_3, consumerGroup cg_demo}; subscriptionSet [TopicTest "
                + "\"TagA || TagB\"]; mqTable {TopicTest/broker-a/0: commitOffset 42, lastPullTimestamp=lastConsumeTimestamp="
                + "1700000000000, rest 0/false}; mqPopTable {}; statusTable {TopicTest: pullRT 1.5 pullTPS 10.0 consumeRT 2.25 "
                + "consumeOKTPS 9.5 consumeFailedTPS 0.0 consumeFailedMsgs 3}; userConsumerInfo {}; no jstack.");

        GroupList gl = new GroupList();
        gl.setGroupList(new HashSet<>(List.of(CG, "cg_other")));
        json("query_consume_by_who", gl, GroupList.class,
            "GroupList (QUERY_TOPIC_CONSUME_BY_WHO response): groupList [cg_demo, cg_other].");
    }

    // =============================================================================================
    // frames
    // =============================================================================================

    static RemotingCommand request(int code, org.apache.rocketmq.remoting.CommandCustomHeader header) {
        return RemotingCommand.createRequestCommand(code, header);
    }

    private void frames() throws Exception {
        // ---- GET_ROUTEINFO_BY_TOPIC ----
        frame("get_routeinfo_by_topic.request", 1001, () -> {
            GetRouteInfoRequestHeader h = new GetRouteInfoRequestHeader();
            h.setTopic(TOPIC);
            return request(RequestCode.GET_ROUTEINFO_BY_TOPIC, h);
        }, null, null, "Client -> NS GET_ROUTEINFO_BY_TOPIC (105), GetRouteInfoRequestHeader topic=TopicTest, no body.");
        byte[] routeStd = standardRouteJson(routeData());
        frame("get_routeinfo_by_topic.response", 1001, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(null);
            r.setCode(ResponseCode.SUCCESS);
            r.setRemark(null);
            r.setBody(routeStd);
            return r;
        }, Kind.JSON, TopicRouteData.class,
            "NS SUCCESS response, no extFields, body = bodies/topic_route_data.standard.json (the request version 479 is >= V4_9_4 = 401).");
        frame("get_routeinfo_by_topic.response_topic_not_exist", 1002, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(null);
            r.setCode(ResponseCode.TOPIC_NOT_EXIST);
            r.setRemark("No topic route info in name server for the topic: NoSuchTopic"
                + FAQUrl.suggestTodo(FAQUrl.APPLY_TOPIC_URL));
            return r;
        }, null, null, "Error response TOPIC_NOT_EXIST (17) whose remark contains a newline (name server text + FAQ hint).");

        // ---- REGISTER_BROKER ----
        byte[] regBody = registerBody().encode(false);
        int regCrc = UtilAll.crc32(regBody);
        frame("register_broker.request", 1003, () -> {
            RegisterBrokerRequestHeader h = new RegisterBrokerRequestHeader();
            h.setBrokerAddr(A_SLAVE);
            h.setBrokerId(1L);
            h.setBrokerName(BROKER_A);
            h.setClusterName(CLUSTER);
            h.setHaServerAddr(A_SLAVE_HA);
            h.setEnableActingMaster(false);
            h.setCompressed(false);
            h.setBodyCrc32(regCrc);
            RemotingCommand r = request(RequestCode.REGISTER_BROKER, h);
            r.setBody(regBody);
            return r;
        }, Kind.JSON, RegisterBrokerBody.class,
            "Slave broker -> NS REGISTER_BROKER (103) as BrokerOuterAPI.registerBrokerAll builds it: brokerName=broker-a "
                + "brokerAddr=192.168.0.11:10911 clusterName=DefaultCluster haServerAddr=192.168.0.11:10912 brokerId=1 "
                + "enableActingMaster=false compressed=false bodyCrc32=" + regCrc + " (UtilAll.crc32(body)); no "
                + "heartbeatTimeoutMillis; body = bodies/register_broker_body.json.");
        frame("register_broker.response", 1003, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(RegisterBrokerResponseHeader.class);
            RegisterBrokerResponseHeader h = (RegisterBrokerResponseHeader) r.readCustomHeader();
            h.setMasterAddr(A_MASTER);
            h.setHaServerAddr(A_MASTER_HA);
            r.setCode(ResponseCode.SUCCESS);
            r.setRemark(null);
            return r;
        }, null, null, "NS SUCCESS response to the slave: RegisterBrokerResponseHeader masterAddr=192.168.0.10:10911 "
            + "haServerAddr=192.168.0.10:10912, no body.");

        // ---- SEND_MESSAGE_V2 ----
        HashMap<String, String> sendProps = new HashMap<>();
        sendProps.put(MessageConst.PROPERTY_TAGS, "TagA");
        sendProps.put(MessageConst.PROPERTY_KEYS, "key-1 key-2");
        sendProps.put(MessageConst.PROPERTY_WAIT_STORE_MSG_OK, "true");
        sendProps.put(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_1);
        String sendPropStr = MessageDecoder.messageProperties2String(sendProps);
        frame("send_message_v2.request", 1004, () -> {
            SendMessageRequestHeaderV2 h = sendHeader(2, T0, sendPropStr, false);
            RemotingCommand r = request(RequestCode.SEND_MESSAGE_V2, h);
            r.setBody(utf8("Hello RocketMQ 0"));
            return r;
        }, Kind.BYTES, null,
            "Producer -> broker SEND_MESSAGE_V2 (310), SendMessageRequestHeaderV2 a=pg_demo b=TopicTest c=TBW102 d=4 e=2 f=0 "
                + "g=1700000000000 h=0 i=<properties> j=0 k=false m=false n=broker-a (l unset); properties from a HashMap "
                + "(client order): " + printable(sendPropStr) + "; body \"Hello RocketMQ 0\".");
        String offsetMsgId = MessageDecoder.createMessageId(addr("192.168.0.10", 10911), REC1_OFFSET);
        frame("send_message_v2.response", 1004, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(SendMessageResponseHeader.class);
            r.addExtField(MessageConst.PROPERTY_MSG_REGION, "DefaultRegion");
            r.addExtField(MessageConst.PROPERTY_TRACE_SWITCH, "true");
            SendMessageResponseHeader h = (SendMessageResponseHeader) r.readCustomHeader();
            r.setCode(ResponseCode.SUCCESS);
            r.setRemark(null);
            h.setMsgId(offsetMsgId);
            h.setQueueId(2);
            h.setQueueOffset(40L);
            h.setTransactionId(UNIQ_1);
            return r;
        }, null, null,
            "Broker SUCCESS response (SendMessageProcessor order: MSG_REGION/TRACE_ON added first, header filled later): "
                + "msgId=" + offsetMsgId + " (offset id of 192.168.0.10:10911 @65536) queueId=2 queueOffset=40 "
                + "transactionId=" + UNIQ_1 + " MSG_REGION=DefaultRegion TRACE_ON=true. In ROCKETMQ encoding the fast-coded "
                + "header keys come first, then the extFields map (MSG_REGION, TRACE_ON).");

        // ---- SEND_BATCH_MESSAGE ----
        List<Message> bm = batchMessages();
        MessageBatch mb = MessageBatch.generateFromList(bm);
        MessageAccessor.putProperty(mb, MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, UNIQ_BATCH);
        byte[] batchBody = mb.encode();
        String batchProps = MessageDecoder.messageProperties2String(mb.getProperties());
        frame("send_batch_message.request", 1005, () -> {
            SendMessageRequestHeaderV2 h = sendHeader(1, T0 + 2000, batchProps, true);
            RemotingCommand r = request(RequestCode.SEND_BATCH_MESSAGE, h);
            r.setBody(batchBody);
            return r;
        }, Kind.BYTES, null,
            "Producer -> broker SEND_BATCH_MESSAGE (320) with SendMessageRequestHeaderV2 a=pg_demo b=TopicTest c=TBW102 d=4 "
                + "e=1 f=0 g=1700000002000 h=0 j=0 k=false m=true n=broker-a; i = batch properties from "
                + "MessageBatch.generateFromList + batch UNIQ_KEY: " + printable(batchProps)
                + "; body = MessageBatch.encode() = batch/three_messages.bin.");

        // ---- PULL_MESSAGE ----
        frame("pull_message.request", 1006, () -> {
            PullMessageRequestHeader h = new PullMessageRequestHeader();
            h.setConsumerGroup(CG);
            h.setTopic(TOPIC);
            h.setQueueId(2);
            h.setQueueOffset(40L);
            h.setMaxMsgNums(32);
            h.setSysFlag(PullSysFlag.buildSysFlag(true, true, true, false));
            h.setCommitOffset(38L);
            h.setSuspendTimeoutMillis(15000L);
            h.setSubscription("TagA || TagB");
            h.setSubVersion(T0);
            h.setExpressionType("TAG");
            h.setMaxMsgBytes(262144);
            h.setRequestSource(-1);
            h.setProxyFrowardClientId(CLIENT_ID);
            h.setBrokerName(BROKER_A);
            return request(RequestCode.PULL_MESSAGE, h);
        }, null, null,
            "Consumer -> broker PULL_MESSAGE (11), PullMessageRequestHeader with every own field set: consumerGroup=cg_demo "
                + "topic=TopicTest queueId=2 queueOffset=40 maxMsgNums=32 sysFlag=7 (COMMIT_OFFSET|SUSPEND|SUBSCRIPTION) "
                + "commitOffset=38 suspendTimeoutMillis=15000 subscription=\"TagA || TagB\" subVersion=1700000000000 "
                + "expressionType=TAG maxMsgBytes=262144 requestSource=-1 proxyFrowardClientId=192.168.0.9@12345#1, plus "
                + "bname=broker-a (RpcRequestHeader).");
        byte[] pullBody = find("records/pull_body.bin");
        frame("pull_message.response", 1006, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(PullMessageResponseHeader.class);
            PullMessageResponseHeader h = (PullMessageResponseHeader) r.readCustomHeader();
            r.setCode(ResponseCode.SUCCESS);
            r.setRemark("FOUND");
            h.setNextBeginOffset(42L);
            h.setMinOffset(0L);
            h.setMaxOffset(42L);
            h.setTopicSysFlag(0);
            h.setGroupSysFlag(0);
            h.setSuggestWhichBrokerId(0L);
            r.setBody(pullBody);
            return r;
        }, Kind.RECORDS, null,
            "Broker SUCCESS, remark FOUND, PullMessageResponseHeader suggestWhichBrokerId=0 nextBeginOffset=42 minOffset=0 "
                + "maxOffset=42 topicSysFlag=0 groupSysFlag=0; body = records/pull_body.bin (2 records).");
        frame("pull_message.response_not_found", 1007, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(PullMessageResponseHeader.class);
            PullMessageResponseHeader h = (PullMessageResponseHeader) r.readCustomHeader();
            r.setCode(ResponseCode.PULL_NOT_FOUND);
            r.setRemark("OFFSET_OVERFLOW_ONE");
            h.setNextBeginOffset(42L);
            h.setMinOffset(0L);
            h.setMaxOffset(42L);
            h.setTopicSysFlag(0);
            h.setGroupSysFlag(0);
            h.setSuggestWhichBrokerId(0L);
            return r;
        }, null, null,
            "Broker PULL_NOT_FOUND (19), remark OFFSET_OVERFLOW_ONE, suggestWhichBrokerId=0 nextBeginOffset=42 minOffset=0 "
                + "maxOffset=42 topicSysFlag=0 groupSysFlag=0, no body.");

        // ---- slave sync: GET_ALL_* ----
        frame("get_all_consumer_offset.request", 1008, () -> request(RequestCode.GET_ALL_CONSUMER_OFFSET, null), null, null,
            "Slave -> master GET_ALL_CONSUMER_OFFSET (43): no header (no extFields), no body.");
        byte[] coBody = utf8(RemotingSerializable.toJson(consumerOffsetManager(), false));
        frame("get_all_consumer_offset.response", 1008, () -> simpleSuccess(coBody), Kind.JSON,
            ConsumerOffsetSerializeWrapper.class,
            "Master SUCCESS, no extFields, body = bodies/consumer_offset_manager.json (the broker serialises its "
                + "ConsumerOffsetManager; the slave decodes it as ConsumerOffsetSerializeWrapper, which is the class verify "
                + "uses, so groupTopicMap is ignored).");
        frame("get_all_delay_offset.request", 1009, () -> request(RequestCode.GET_ALL_DELAY_OFFSET, null), null, null,
            "Slave -> master GET_ALL_DELAY_OFFSET (45): no header, no body.");
        byte[] doBody = utf8(RemotingSerializable.toJson(delayOffsets(), false));
        frame("get_all_delay_offset.response", 1009, () -> simpleSuccess(doBody), Kind.JSON,
            BrokerShapes.DelayOffsetSerializeWrapper.class,
            "Master SUCCESS, no extFields, body = bodies/delay_offset.json.");
        frame("get_all_topic_config.request", 1010, () -> request(RequestCode.GET_ALL_TOPIC_CONFIG, null), null, null,
            "Slave/admin -> broker GET_ALL_TOPIC_CONFIG (21): no header, no body (5.3.3 has no paging fields).");
        byte[] tcBody = allTopicConfig().encode();
        frame("get_all_topic_config.response", 1010, () -> simpleSuccess(tcBody), Kind.JSON,
            TopicConfigAndMappingSerializeWrapper.class,
            "Broker SUCCESS, no extFields, body = bodies/topic_config_and_mapping_serialize_wrapper.json.");
        frame("get_all_subscriptiongroup_config.request", 1011,
            () -> request(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG, null), null, null,
            "Slave/admin -> broker GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201): no header, no body.");
        byte[] sgBody = utf8(RemotingSerializable.toJson(subscriptionGroupManager(), false));
        frame("get_all_subscriptiongroup_config.response", 1011, () -> simpleSuccess(sgBody), Kind.JSON,
            BrokerShapes.SubscriptionGroupManager.class,
            "Broker SUCCESS, no extFields, body = bodies/subscription_group_manager.json (includes forbiddenTable {}).");

        // ---- HEART_BEAT ----
        byte[] hbBody = heartbeat().encode();
        frame("heart_beat.request", 1012, () -> {
            RemotingCommand r = request(RequestCode.HEART_BEAT, new HeartbeatRequestHeader());
            r.setBody(hbBody);
            return r;
        }, Kind.JSON, HeartbeatData.class,
            "Client -> broker HEART_BEAT (34) with an empty HeartbeatRequestHeader (JSON: \"extFields\":{}; ROCKETMQ: ext "
                + "length 0), body = bodies/heartbeat_data.json.");
        frame("heart_beat.response", 1012, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(null);
            r.setCode(ResponseCode.SUCCESS);
            r.setRemark(null);
            r.addExtField("IS_SUPPORT_HEART_BEAT_V2", "true");
            r.addExtField("IS_SUB_CHANGE", "true");
            return r;
        }, null, null, "5.x broker SUCCESS: extFields IS_SUPPORT_HEART_BEAT_V2=true IS_SUB_CHANGE=true, no body.");

        // ---- NOTIFY_CONSUMER_IDS_CHANGED (oneway) ----
        frame("notify_consumer_ids_changed.request", 1013, () -> {
            NotifyConsumerIdsChangedRequestHeader h = new NotifyConsumerIdsChangedRequestHeader();
            h.setConsumerGroup(CG);
            RemotingCommand r = request(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, h);
            r.markOnewayRPC();
            return r;
        }, null, null, "Broker -> client NOTIFY_CONSUMER_IDS_CHANGED (40), oneway: flag=2, consumerGroup=cg_demo, no body.");

        // ---- QUERY_CONSUMER_OFFSET ----
        frame("query_consumer_offset.request", 1014, () -> {
            QueryConsumerOffsetRequestHeader h = new QueryConsumerOffsetRequestHeader();
            h.setConsumerGroup(CG);
            h.setTopic(TOPIC);
            h.setQueueId(2);
            h.setBrokerName(BROKER_A);
            return request(RequestCode.QUERY_CONSUMER_OFFSET, h);
        }, null, null, "Consumer -> broker QUERY_CONSUMER_OFFSET (14): consumerGroup=cg_demo topic=TopicTest queueId=2 "
            + "bname=broker-a (setZeroIfNotFound unset).");
        frame("query_consumer_offset.response", 1014, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(QueryConsumerOffsetResponseHeader.class);
            ((QueryConsumerOffsetResponseHeader) r.readCustomHeader()).setOffset(38L);
            r.setCode(ResponseCode.SUCCESS);
            r.setRemark(null);
            return r;
        }, null, null, "Broker SUCCESS with QueryConsumerOffsetResponseHeader offset=38.");

        // ---- UPDATE_CONSUMER_OFFSET ----
        Supplier<RemotingCommand> upd = () -> {
            UpdateConsumerOffsetRequestHeader h = new UpdateConsumerOffsetRequestHeader();
            h.setConsumerGroup(CG);
            h.setTopic(TOPIC);
            h.setQueueId(2);
            h.setCommitOffset(42L);
            h.setBrokerName(BROKER_A);
            return request(RequestCode.UPDATE_CONSUMER_OFFSET, h);
        };
        frame("update_consumer_offset.request", 1015, upd, null, null,
            "Consumer -> broker UPDATE_CONSUMER_OFFSET (15), synchronous: consumerGroup=cg_demo topic=TopicTest queueId=2 "
                + "commitOffset=42 bname=broker-a.");
        frame("update_consumer_offset.response", 1015, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(UpdateConsumerOffsetResponseHeader.class);
            r.setCode(ResponseCode.SUCCESS);
            r.setRemark(null);
            return r;
        }, null, null, "Broker SUCCESS with the empty UpdateConsumerOffsetResponseHeader (JSON \"extFields\":{}).");
        frame("update_consumer_offset.request_oneway", 1016, () -> {
            RemotingCommand r = upd.get();
            r.markOnewayRPC();
            return r;
        }, null, null, "Same UPDATE_CONSUMER_OFFSET as the periodic persist sends it: oneway, flag=2.");

        // ---- GET_CONSUMER_LIST_BY_GROUP ----
        frame("get_consumer_list_by_group.request", 1017, () -> {
            GetConsumerListByGroupRequestHeader h = new GetConsumerListByGroupRequestHeader();
            h.setConsumerGroup(CG);
            return request(RequestCode.GET_CONSUMER_LIST_BY_GROUP, h);
        }, null, null, "Consumer -> broker GET_CONSUMER_LIST_BY_GROUP (38): consumerGroup=cg_demo.");
        byte[] clBody = consumerList().encode();
        frame("get_consumer_list_by_group.response", 1017, () -> {
            RemotingCommand r = RemotingCommand.createResponseCommand(GetConsumerListByGroupResponseHeader.class);
            r.setCode(ResponseCode.SUCCESS);
            r.setRemark(null);
            r.setBody(clBody);
            return r;
        }, Kind.JSON, GetConsumerListByGroupResponseBody.class,
            "Broker SUCCESS, empty GetConsumerListByGroupResponseHeader, body = bodies/consumer_list.json.");

        // ---- generic responses ----
        frame("error_non_ascii_remark.response", 1018, () -> RemotingCommand.createResponseCommand(
                RemotingSysResponseCode.SYSTEM_ERROR, "订阅组不存在: cg_demo — Grüße ✓ 🚀"), null, null,
            "SYSTEM_ERROR (1) with a non-ASCII remark (CJK, Latin-1, U+2014, U+2713, U+1F680 emoji): UTF-8 on the wire in "
                + "both encodings.");
        frame("request_code_not_supported.response", 1019, () -> RemotingCommand.createResponseCommand(
                RemotingSysResponseCode.REQUEST_CODE_NOT_SUPPORTED, " request type 9999 not supported"), null, null,
            "REQUEST_CODE_NOT_SUPPORTED (3) as NettyRemotingAbstract answers an unknown code 9999 (remark has a leading space).");
    }

    /**
     * The producer fills the V1 header (DefaultMQProducerImpl.sendKernelImpl) and MQClientAPIImpl converts it with
     * SendMessageRequestHeaderV2.createSendMessageRequestHeaderV2 (the V2 class has no setter for n).
     */
    static SendMessageRequestHeaderV2 sendHeader(int queueId, long born, String properties, boolean batch) {
        SendMessageRequestHeader v1 = new SendMessageRequestHeader();
        v1.setProducerGroup(PG);
        v1.setTopic(TOPIC);
        v1.setDefaultTopic(TBW102);
        v1.setDefaultTopicQueueNums(4);
        v1.setQueueId(queueId);
        v1.setSysFlag(0);
        v1.setBornTimestamp(born);
        v1.setFlag(0);
        v1.setProperties(properties);
        v1.setReconsumeTimes(0);
        v1.setUnitMode(false);
        v1.setBatch(batch);
        v1.setBrokerName(BROKER_A);
        return SendMessageRequestHeaderV2.createSendMessageRequestHeaderV2(v1);
    }

    static RemotingCommand simpleSuccess(byte[] body) {
        RemotingCommand r = RemotingCommand.createResponseCommand(null);
        r.setCode(ResponseCode.SUCCESS);
        r.setRemark(null);
        r.setBody(body);
        return r;
    }

    private byte[] find(String path) {
        for (Golden g : out) {
            if (g.path.equals(path)) {
                return g.bytes;
            }
        }
        throw new IllegalStateException("not generated yet: " + path);
    }

    static String printable(String props) {
        return "\"" + props.replace("\u0001", "\\u0001").replace("\u0002", "\\u0002") + "\"";
    }

}
