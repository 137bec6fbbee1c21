package org.ferrocket.interop.golden.core;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** Canonical values and first-difference reporting. */
public final class Canon {
    private Canon() {
    }

    /**
     * Canonicalises a generic JSON tree (as produced by a JSON parser: maps, lists, numbers, strings,
     * booleans, null). Object members are sorted by key; map keys that are themselves objects (fastjson
     * writes bean-keyed maps like {@code {{"brokerName":..}:..}}) are rendered to their canonical text;
     * arrays are treated as multisets (sorted by canonical text), because Java writes most of them
     * from Sets in hash order; numbers become Long (integral) or BigDecimal.
     */
    public static Object json(Object node) {
        if (node == null) {
            return null;
        }
        if (node instanceof Map<?, ?> map) {
            TreeMap<String, Object> out = new TreeMap<>();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                Object k = e.getKey();
                String key = k instanceof String s ? s : "#key:" + render(json(k));
                out.put(key, json(e.getValue()));
            }
            return out;
        }
        if (node instanceof Collection<?> c) {
            List<Object> items = new ArrayList<>();
            for (Object o : c) {
                items.add(json(o));
            }
            items.sort(Comparator.comparing(Canon::render));
            return items;
        }
        if (node.getClass().isArray() && !(node instanceof byte[])) {
            Object[] arr = (Object[]) node;
            return json(Arrays.asList(arr));
        }
        if (node instanceof Byte || node instanceof Short || node instanceof Integer || node instanceof Long
            || node instanceof BigInteger) {
            return ((Number) node).longValue();
        }
        if (node instanceof BigDecimal bd) {
            return bd.stripTrailingZeros();
        }
        if (node instanceof Double || node instanceof Float) {
            double d = ((Number) node).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                return String.valueOf(d);
            }
            return new BigDecimal(Double.toString(d)).stripTrailingZeros();
        }
        if (node instanceof Character ch) {
            return String.valueOf(ch);
        }
        return node;
    }

    /** Sorted copy of a string map (null stays null). */
    public static Map<String, Object> sortedMap(Map<String, String> m) {
        if (m == null) {
            return null;
        }
        return new TreeMap<>(m);
    }

    /** Deterministic text of a canonical value (used for sorting and messages). */
    public static String render(Object v) {
        StringBuilder sb = new StringBuilder();
        render(v, sb);
        return sb.toString();
    }

    private static void render(Object v, StringBuilder sb) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                quote(String.valueOf(e.getKey()), sb);
                sb.append(':');
                render(e.getValue(), sb);
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                render(l.get(i), sb);
            }
            sb.append(']');
        } else if (v instanceof byte[] b) {
            sb.append("hex:").append(hex(b));
        } else if (v instanceof String s) {
            quote(s, sb);
        } else if (v instanceof BigDecimal bd) {
            sb.append(bd.toPlainString());
        } else {
            sb.append(v);
        }
    }

    private static void quote(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    public static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return sb.toString();
    }

    /** Returns null when equal, otherwise a description of the first difference. */
    public static String diff(Object golden, Object other) {
        return diff("", golden, other);
    }

    private static String diff(String path, Object a, Object b) {
        if (a == null || b == null) {
            return a == b ? null : at(path) + "golden=" + abbreviate(render(a)) + " rust=" + abbreviate(render(b));
        }
        if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
            Set<Object> keys = new TreeSet<>(Comparator.comparing(String::valueOf));
            keys.addAll(ma.keySet());
            keys.addAll(mb.keySet());
            for (Object k : keys) {
                String p = path.isEmpty() ? String.valueOf(k) : path + "." + k;
                if (!ma.containsKey(k)) {
                    return at(p) + "unexpected in rust output (=" + abbreviate(render(mb.get(k))) + ")";
                }
                if (!mb.containsKey(k)) {
                    return at(p) + "missing in rust output (golden=" + abbreviate(render(ma.get(k))) + ")";
                }
                String d = diff(p, ma.get(k), mb.get(k));
                if (d != null) {
                    return d;
                }
            }
            return null;
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            if (la.size() != lb.size()) {
                return at(path) + "length golden=" + la.size() + " rust=" + lb.size();
            }
            for (int i = 0; i < la.size(); i++) {
                String d = diff(path + "[" + i + "]", la.get(i), lb.get(i));
                if (d != null) {
                    return d;
                }
            }
            return null;
        }
        if (a instanceof byte[] ba && b instanceof byte[] bb) {
            if (Arrays.equals(ba, bb)) {
                return null;
            }
            int i = 0;
            while (i < ba.length && i < bb.length && ba[i] == bb[i]) {
                i++;
            }
            return at(path) + "bytes differ at offset " + i + " (golden " + ba.length + " bytes, rust " + bb.length
                + " bytes; golden[" + i + "..]=" + hexSlice(ba, i) + " rust[" + i + "..]=" + hexSlice(bb, i) + ")";
        }
        if (a instanceof BigDecimal da && b instanceof BigDecimal db) {
            return da.compareTo(db) == 0 ? null : at(path) + "golden=" + da + " rust=" + db;
        }
        if (!a.equals(b)) {
            return at(path) + "golden=" + abbreviate(render(a)) + " rust=" + abbreviate(render(b));
        }
        return null;
    }

    private static String at(String path) {
        return path.isEmpty() ? "" : path + ": ";
    }

    private static String hexSlice(byte[] b, int from) {
        int to = Math.min(b.length, from + 16);
        return from >= b.length ? "<end>" : hex(Arrays.copyOfRange(b, from, to));
    }

    private static String abbreviate(String s) {
        return s.length() <= 160 ? s : s.substring(0, 157) + "...";
    }

    /** Small helper to build ordered field maps. */
    public static final class Fields {
        private final LinkedHashMap<String, Object> map = new LinkedHashMap<>();

        public Fields put(String k, Object v) {
            map.put(k, v);
            return this;
        }

        public Map<String, Object> build() {
            return map;
        }
    }

    /** Guards against accidental use of unsupported types in canonical values. */
    static void check(Object v, Set<Object> seen) {
        if (v == null || v instanceof String || v instanceof Long || v instanceof Boolean || v instanceof BigDecimal
            || v instanceof byte[] || v instanceof Integer) {
            return;
        }
        if (seen == null) {
            seen = new HashSet<>();
        }
        if (v instanceof Map<?, ?> m) {
            for (Object o : m.values()) {
                check(o, seen);
            }
            return;
        }
        if (v instanceof List<?> l) {
            for (Object o : l) {
                check(o, seen);
            }
            return;
        }
        throw new IllegalArgumentException("unsupported canonical value type " + v.getClass());
    }
}
