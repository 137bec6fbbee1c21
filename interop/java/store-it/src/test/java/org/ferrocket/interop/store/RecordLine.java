package org.ferrocket.interop.store;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.rocketmq.common.message.MessageClientExt;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * One stored message as both sides see it: a line of the expectations file the two halves of the
 * test exchange ({@code crates/store/tests/java_store.rs} reads and writes the same format).
 *
 * <pre>
 * topic queueId queueOffset commitLogOffset storeSize sysFlag flag bodyCRC bornTimestamp bornHost
 * storeTimestamp storeHost reconsumeTimes preparedTransactionOffset msgId offsetMsgId properties body
 * </pre>
 * Tab-separated; topic, properties and body in lower-case hex (topic and properties as UTF-8).
 * {@code properties} is every property sorted by name, each {@code name 0x01 value 0x02}, without
 * the {@code MIN_OFFSET}/{@code MAX_OFFSET} a pulling client adds; {@code body} is uncompressed
 * and {@code sysFlag} lacks the COMPRESSED bit, as a client decompresses the body and clears it
 * ({@code bodyCRC} and {@code storeSize} stay the stored record's); hosts are {@code ip:port}. Lines starting
 * with {@code #} are comments.
 */
record RecordLine(String topic, int queueId, long queueOffset, long commitLogOffset, int storeSize, int sysFlag,
                  int flag, int bodyCrc, long bornTimestamp, String bornHost, long storeTimestamp, String storeHost,
                  int reconsumeTimes, long preparedTransactionOffset, String msgId, String offsetMsgId,
                  String properties, String body) {

    static final String HEADER = "# topic queueId queueOffset commitLogOffset storeSize sysFlag flag bodyCRC bornTimestamp"
        + " bornHost storeTimestamp storeHost reconsumeTimes preparedTransactionOffset msgId offsetMsgId properties body";

    private static final int FIELDS = 18;
    private static final HexFormat HEX = HexFormat.of();

    /** What a client read: {@code msg} as the 5.3.3 client decoded it from a pull or query. */
    static RecordLine of(MessageExt msg) {
        String offsetMsgId = msg instanceof MessageClientExt client ? client.getOffsetMsgId() : msg.getMsgId();
        return new RecordLine(msg.getTopic(), msg.getQueueId(), msg.getQueueOffset(), msg.getCommitLogOffset(),
            msg.getStoreSize(), msg.getSysFlag(), msg.getFlag(), msg.getBodyCRC(), msg.getBornTimestamp(),
            host(msg.getBornHost()), msg.getStoreTimestamp(), host(msg.getStoreHost()), msg.getReconsumeTimes(),
            msg.getPreparedTransactionOffset(), msg.getMsgId(), offsetMsgId, properties(msg.getProperties()),
            HEX.formatHex(msg.getBody()));
    }

    /** The canonical properties text, hex-encoded. */
    static String properties(Map<String, String> properties) {
        StringBuilder text = new StringBuilder();
        new TreeMap<>(properties).forEach((name, value) -> {
            if (!name.equals(MessageConst.PROPERTY_MIN_OFFSET) && !name.equals(MessageConst.PROPERTY_MAX_OFFSET)) {
                text.append(name).append('\u0001').append(value).append('\u0002');
            }
        });
        return HEX.formatHex(text.toString().getBytes(StandardCharsets.UTF_8));
    }

    static String host(SocketAddress address) {
        InetSocketAddress inet = (InetSocketAddress) address;
        return inet.getAddress().getHostAddress() + ":" + inet.getPort();
    }

    String format() {
        return String.join("\t", HEX.formatHex(topic.getBytes(StandardCharsets.UTF_8)), Integer.toString(queueId),
            Long.toString(queueOffset), Long.toString(commitLogOffset), Integer.toString(storeSize),
            Integer.toString(sysFlag), Integer.toString(flag), Integer.toString(bodyCrc), Long.toString(bornTimestamp),
            bornHost, Long.toString(storeTimestamp), storeHost, Integer.toString(reconsumeTimes),
            Long.toString(preparedTransactionOffset), msgId, offsetMsgId, properties, body);
    }

    static RecordLine parse(String line) {
        String[] f = line.split("\t", -1);
        if (f.length != FIELDS) {
            throw new IllegalArgumentException("expected " + FIELDS + " fields, got " + f.length + ": " + line);
        }
        return new RecordLine(new String(HEX.parseHex(f[0]), StandardCharsets.UTF_8), Integer.parseInt(f[1]),
            Long.parseLong(f[2]), Long.parseLong(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[5]),
            Integer.parseInt(f[6]), Integer.parseInt(f[7]), Long.parseLong(f[8]), f[9], Long.parseLong(f[10]), f[11],
            Integer.parseInt(f[12]), Long.parseLong(f[13]), f[14], f[15], f[16], f[17]);
    }

    static void writeAll(Path file, List<RecordLine> lines) throws IOException {
        List<String> text = new ArrayList<>();
        text.add(HEADER);
        lines.forEach(line -> text.add(line.format()));
        Files.write(file, text, StandardCharsets.UTF_8);
    }

    static List<RecordLine> readAll(Path file) throws IOException {
        List<RecordLine> lines = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (!line.isEmpty() && !line.startsWith("#")) {
                lines.add(parse(line));
            }
        }
        return lines;
    }

    /** Short: a 200 KiB body in hex would drown a failure message. */
    @Override
    public String toString() {
        String shown = body.length() > 64 ? body.substring(0, 64) + "...(" + body.length() / 2 + " bytes)" : body;
        return "RecordLine[" + topic + "/" + queueId + "@" + queueOffset + " offset " + commitLogOffset + " size "
            + storeSize + " sysFlag " + sysFlag + " flag " + flag + " crc " + bodyCrc + " born " + bornTimestamp + " "
            + bornHost + " stored " + storeTimestamp + " " + storeHost + " reconsume " + reconsumeTimes + " prepared "
            + preparedTransactionOffset + " id " + msgId + " offsetId " + offsetMsgId + " properties "
            + new String(HEX.parseHex(properties), StandardCharsets.UTF_8).replace('\u0001', '=').replace('\u0002', ';')
            + " body " + shown + "]";
    }

    /** Properties decoded back to a map, for subset checks. */
    Map<String, String> propertyMap() {
        Map<String, String> map = new TreeMap<>();
        String text = new String(HEX.parseHex(properties), StandardCharsets.UTF_8);
        for (String pair : text.split("\u0002")) {
            int at = pair.indexOf('\u0001');
            if (at > 0) {
                map.put(pair.substring(0, at), pair.substring(at + 1));
            }
        }
        return map;
    }

    byte[] bodyBytes() {
        return HEX.parseHex(body);
    }
}
