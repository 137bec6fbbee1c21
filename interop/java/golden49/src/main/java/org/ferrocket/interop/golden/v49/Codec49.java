package org.ferrocket.interop.golden.v49;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.serializer.SerializerFeature;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.common.UtilAll;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.sysflag.MessageSysFlag;
import org.apache.rocketmq.common.protocol.body.RegisterBrokerBody;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.SerializeType;
import org.ferrocket.interop.golden.core.Canon;
import org.ferrocket.interop.golden.core.Codec;
import org.ferrocket.interop.golden.core.Golden;
import org.ferrocket.interop.golden.core.Golden.Kind;

/** Decodes the v49/ goldens (and re-encodings) with the official RocketMQ 4.9.8 classes. */
public final class Codec49 implements Codec {

    @Override
    public Object canonical(Golden g, byte[] data) throws Exception {
        switch (g.kind) {
            case FRAME:
                return frame(g, data);
            case JSON:
                return json(data, g.jsonClass);
            case REGISTER_COMPRESSED:
                return registerCompressed(data);
            case RECORDS:
                return records(data);
            case BATCH:
                return batch(data);
            case PROPERTIES:
                return Canon.sortedMap(MessageDecoder.string2messageProperties(new String(data, StandardCharsets.UTF_8)));
            case ZLIB:
                return UtilAll.uncompress(data);
            case BYTES:
            default:
                return data;
        }
    }

    static Map<String, Object> frame(Golden g, byte[] data) throws Exception {
        if (data.length < 8) {
            throw new IllegalArgumentException("frame shorter than 8 bytes");
        }
        ByteBuffer bb = ByteBuffer.wrap(data);
        int total = bb.getInt(0);
        if (total != data.length - 4) {
            throw new IllegalArgumentException("length prefix " + total + " but " + (data.length - 4) + " bytes follow it");
        }
        int typeByte = (bb.getInt(4) >>> 24) & 0xFF;
        SerializeType type = SerializeType.valueOf((byte) typeByte);
        if (type == null) {
            throw new IllegalArgumentException("unknown serialize type byte " + typeByte);
        }
        // NettyDecoder strips the length field and hands the rest to RemotingCommand.decode.
        ByteBuffer frame = ByteBuffer.wrap(data, 4, data.length - 4).slice();
        RemotingCommand cmd = RemotingCommand.decode(frame);
        Object body = null;
        if (cmd.getBody() != null) {
            Kind bk = g.bodyKind == null ? Kind.BYTES : g.bodyKind;
            switch (bk) {
                case JSON:
                    body = json(cmd.getBody(), g.jsonClass);
                    break;
                case REGISTER_COMPRESSED:
                    body = registerCompressed(cmd.getBody());
                    break;
                case RECORDS:
                    body = records(cmd.getBody());
                    break;
                default:
                    body = cmd.getBody();
            }
        }
        return new Canon.Fields()
            .put("serializeType", type.name())
            .put("code", (long) cmd.getCode())
            .put("language", cmd.getLanguage() == null ? null : cmd.getLanguage().name())
            .put("version", (long) cmd.getVersion())
            .put("opaque", (long) cmd.getOpaque())
            .put("flag", (long) cmd.getFlag())
            .put("remark", cmd.getRemark())
            .put("extFields", Canon.sortedMap(cmd.getExtFields()))
            .put("body", body)
            .build();
    }

    static Object json(byte[] data, Class<?> cls) {
        Object obj = JSON.parseObject(data, cls);
        if (obj == null) {
            throw new IllegalArgumentException("JSON decoded to null");
        }
        return canonicalObject(obj);
    }

    static Object canonicalObject(Object obj) {
        String text = JSON.toJSONString(obj, SerializerFeature.MapSortField, SerializerFeature.SortField);
        return Canon.json(JSON.parse(text));
    }

    static Object registerCompressed(byte[] data) throws Exception {
        // 4.9.x: no broker-version argument and no TopicQueueMappingInfo trailer.
        return canonicalObject(RegisterBrokerBody.decode(data, true));
    }

    // Records / batch: same approach as the 5.3.3 codec, with the 4.9.8 MessageDecoder.

    static List<Object> records(byte[] data) throws Exception {
        ByteBuffer bb = ByteBuffer.wrap(data);
        List<Object> out = new ArrayList<>();
        int index = 0;
        while (bb.hasRemaining()) {
            int pos = bb.position();
            if (bb.remaining() < 8) {
                throw new IllegalArgumentException("trailing " + bb.remaining() + " bytes after record " + index);
            }
            int storeSize = bb.getInt(pos);
            int magic = bb.getInt(pos + 4);
            MessageExt m = MessageDecoder.decode(bb, true, false);
            if (m == null) {
                throw new IllegalArgumentException("record " + index + " at offset " + pos + " does not decode");
            }
            if (bb.position() - pos != storeSize) {
                throw new IllegalArgumentException("record " + index + ": TOTALSIZE " + storeSize + " but decoder consumed "
                    + (bb.position() - pos));
            }
            boolean compressed = (m.getSysFlag() & MessageSysFlag.COMPRESSED_FLAG) != 0;
            Canon.Fields f = new Canon.Fields().put("magic", String.format("0x%08X", magic));
            byte[] body = m.getBody();
            if (compressed) {
                f.put("bodyCrcMatchesStoredBody", (long) UtilAll.crc32(body) == (long) m.getBodyCRC());
                body = UtilAll.uncompress(body);
            } else {
                f.put("storeSize", (long) storeSize).put("bodyCRC", (long) m.getBodyCRC());
            }
            out.add(f.put("queueId", (long) m.getQueueId())
                .put("flag", (long) m.getFlag())
                .put("queueOffset", m.getQueueOffset())
                .put("commitLogOffset", m.getCommitLogOffset())
                .put("sysFlag", (long) m.getSysFlag())
                .put("bornTimestamp", m.getBornTimestamp())
                .put("bornHost", host(m.getBornHost()))
                .put("storeTimestamp", m.getStoreTimestamp())
                .put("storeHost", host(m.getStoreHost()))
                .put("reconsumeTimes", (long) m.getReconsumeTimes())
                .put("preparedTransactionOffset", m.getPreparedTransactionOffset())
                .put("topic", m.getTopic())
                .put("properties", Canon.sortedMap(m.getProperties()))
                .put(compressed ? "decompressedBody" : "body", body)
                .put("msgId", m.getMsgId())
                .build());
            index++;
        }
        return out;
    }

    static String host(SocketAddress a) {
        InetSocketAddress i = (InetSocketAddress) a;
        return i.getAddress().getHostAddress() + " port " + i.getPort();
    }

    static List<Object> batch(byte[] data) throws Exception {
        ByteBuffer bb = ByteBuffer.wrap(data);
        List<Object> out = new ArrayList<>();
        while (bb.hasRemaining()) {
            int pos = bb.position();
            int totalSize = bb.getInt(pos);
            Message m = MessageDecoder.decodeMessage(bb);
            out.add(new Canon.Fields()
                .put("totalSizeMatchesLength", (long) totalSize == (long) (bb.position() - pos))
                .put("flag", (long) m.getFlag())
                .put("body", m.getBody())
                .put("properties", Canon.sortedMap(m.getProperties()))
                .build());
        }
        return out;
    }
}
