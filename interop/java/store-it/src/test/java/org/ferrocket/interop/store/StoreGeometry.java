package org.ferrocket.interop.store;

/**
 * File sizes shared by both stores and both brokers. They must equal the constants of the same
 * names in {@code crates/store/tests/java_store.rs}: a 5.3.3 broker refuses to start on a commit-log
 * or consume-queue file whose length differs from its configured size ("length not matched message
 * store config value"), and it reads index files with its configured slot and entry counts.
 */
final class StoreGeometry {

    /** 256 KiB: a 200 KiB message and a few hundred small ones span several segments and fillers. */
    static final int COMMIT_LOG_SEGMENT_BYTES = 256 * 1024;

    /** 50 entries (1000 bytes) per consume-queue file: every queue spans two or more files. */
    static final int CONSUME_QUEUE_FILE_ENTRIES = 50;

    /** Few slots: chains of several entries per slot, as in a full-size file after a while. */
    static final int INDEX_HASH_SLOTS = 64;

    /** 200 entries per index file: a few hundred messages with two or three keys fill several files. */
    static final int INDEX_ENTRIES_MAX = 200;

    private StoreGeometry() {
    }
}
