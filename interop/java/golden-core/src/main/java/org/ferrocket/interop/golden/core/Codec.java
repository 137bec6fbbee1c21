package org.ferrocket.interop.golden.core;

/**
 * Version-specific decoding, implemented by each RocketMQ-version module with the official classes.
 * {@link #canonical} turns the bytes of a file into a comparable value built only from
 * {@link java.util.Map} (ordered), {@link java.util.List}, {@code byte[]}, String, Long, Boolean,
 * BigDecimal and null (see {@link Canon}). Two files are equivalent when their canonical values are equal.
 */
public interface Codec {
    Object canonical(Golden golden, byte[] data) throws Exception;
}
