package org.ferrocket.interop.golden.core;

import java.util.Objects;

/**
 * One golden file: its path relative to the golden root, its exact bytes, how to interpret it for
 * semantic comparison, and a one-line description for README.md.
 */
public final class Golden {
    /** How a file is decoded when comparing a golden with a re-encoding. */
    public enum Kind {
        /** A complete remoting frame (4-byte length prefix included). {@link #bodyKind} tells how to compare the body. */
        FRAME,
        /** A JSON body, decoded with {@link #jsonClass}. */
        JSON,
        /** A compressed RegisterBrokerBody (zlib stream), decoded with RegisterBrokerBody.decode(data, true, version). */
        REGISTER_COMPRESSED,
        /** One or more stored message records back to back (pull body format). */
        RECORDS,
        /** A SEND_BATCH_MESSAGE body (MessageDecoder.encodeMessages). */
        BATCH,
        /** A message properties string (name 0x01 value 0x02 ...). */
        PROPERTIES,
        /** A zlib stream; compared after decompression. */
        ZLIB,
        /** Compared byte for byte. */
        BYTES
    }

    public final String path;
    public final byte[] bytes;
    public final Kind kind;
    /** For JSON (and FRAME with a JSON body): the Java class used to decode the JSON. */
    public final Class<?> jsonClass;
    /** For FRAME: how to compare the body (null = no body expected; BYTES, JSON, RECORDS, REGISTER_COMPRESSED). */
    public final Kind bodyKind;
    public final String description;

    private Golden(String path, byte[] bytes, Kind kind, Class<?> jsonClass, Kind bodyKind, String description) {
        this.path = Objects.requireNonNull(path);
        this.bytes = Objects.requireNonNull(bytes, path);
        this.kind = Objects.requireNonNull(kind);
        this.jsonClass = jsonClass;
        this.bodyKind = bodyKind;
        this.description = Objects.requireNonNull(description);
    }

    public static Golden frame(String path, byte[] bytes, Kind bodyKind, Class<?> bodyClass, String description) {
        return new Golden(path, bytes, Kind.FRAME, bodyClass, bodyKind, description);
    }

    public static Golden json(String path, byte[] bytes, Class<?> cls, String description) {
        return new Golden(path, bytes, Kind.JSON, cls, null, description);
    }

    public static Golden of(String path, byte[] bytes, Kind kind, String description) {
        if (kind == Kind.FRAME || kind == Kind.JSON) {
            throw new IllegalArgumentException("use frame()/json() for " + kind);
        }
        return new Golden(path, bytes, kind, null, null, description);
    }
}
