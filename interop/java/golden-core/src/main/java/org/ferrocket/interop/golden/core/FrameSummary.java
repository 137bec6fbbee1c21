package org.ferrocket.interop.golden.core;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Human-readable one-line summary of a frame for README.md: the JSON header text verbatim, or the
 * decoded ROCKETMQ binary header with the ext entries in wire order (small independent parser).
 */
public final class FrameSummary {
    private FrameSummary() {
    }

    public static String describe(byte[] frame) {
        ByteBuffer bb = ByteBuffer.wrap(frame);
        int total = bb.getInt();
        int word = bb.getInt();
        int type = (word >>> 24) & 0xFF;
        int headerLen = word & 0xFFFFFF;
        int bodyLen = total - 4 - headerLen;
        StringBuilder sb = new StringBuilder();
        sb.append("[wire: total length ").append(total).append(", ");
        if (type == 0) {
            String json = new String(frame, 8, headerLen, StandardCharsets.UTF_8);
            sb.append("JSON header ").append(headerLen).append(" bytes: `").append(printable(json)).append('`');
        } else {
            int code = bb.getShort();
            int lang = bb.get();
            int version = bb.getShort();
            int opaque = bb.getInt();
            int flag = bb.getInt();
            int remarkLen = bb.getInt();
            String remark = null;
            if (remarkLen > 0) {
                byte[] r = new byte[remarkLen];
                bb.get(r);
                remark = new String(r, StandardCharsets.UTF_8);
            }
            int extLen = bb.getInt();
            List<String> kv = new ArrayList<>();
            int end = bb.position() + extLen;
            while (bb.position() < end) {
                byte[] k = new byte[bb.getShort()];
                bb.get(k);
                byte[] v = new byte[bb.getInt()];
                bb.get(v);
                kv.add(new String(k, StandardCharsets.UTF_8) + "=" + quoteIfNeeded(new String(v, StandardCharsets.UTF_8)));
            }
            sb.append("ROCKETMQ header ").append(headerLen).append(" bytes; code=").append(code)
                .append(" language byte=").append(lang)
                .append(" version=").append(version)
                .append(" opaque=").append(opaque)
                .append(" flag=").append(flag)
                .append(" remarkLength=").append(remarkLen);
            if (remark != null) {
                sb.append(" remark=\"").append(printable(remark)).append('"');
            }
            sb.append("; extLength=").append(extLen);
            if (!kv.isEmpty()) {
                sb.append(", ext entries in wire order: ").append(String.join(", ", kv));
            }
        }
        sb.append("; body ").append(bodyLen).append(" bytes]");
        return sb.toString();
    }

    /** Escapes control characters (the 0x01/0x02 property separators, newlines) for one-line display. */
    public static String printable(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String quoteIfNeeded(String s) {
        if (s.isEmpty() || s.contains(" ") || s.chars().anyMatch(c -> c < 0x20)) {
            return "\"" + printable(s) + "\"";
        }
        return s;
    }
}
