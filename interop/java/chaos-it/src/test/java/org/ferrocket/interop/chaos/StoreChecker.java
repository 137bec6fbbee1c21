package org.ferrocket.interop.chaos;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.sysflag.MessageSysFlag;

/**
 * Reads a stopped broker's store directory (ours or Java's: the same files) and checks that it
 * agrees with itself, with the official decoder ({@link MessageDecoder}, body CRC checked) for the
 * records:
 * <ul>
 *   <li>the commit log is records back to back to its end in every file (a blank-magic filler
 *       closes a file, zeros end the last one), each decoding with a valid body CRC and carrying
 *       its own physical offset;</li>
 *   <li>every consume-queue entry of {@code topic} points at a record of that topic, queue and
 *       queue offset with its size and tag hash, and every such record has its entry;</li>
 *   <li>every index entry points at a record start whose key (topic#UNIQ_KEY or topic#KEYS)
 *       has the entry's hash, and every record of {@code topic} is indexed by its unique key.</li>
 * </ul>
 * This is the reader's view, not a recovery: nothing is repaired, the first disagreement is
 * reported with its file and offset.
 */
final class StoreChecker {

    /** Index geometries (hash slots, entries) in use: Java's default (ours) and the test Java broker's. */
    private static final long[][] INDEX_GEOMETRIES = {{5_000_000, 20_000_000}, {10_000, 40_000}};
    private static final int INDEX_HEADER_BYTES = 40;
    private static final int INDEX_COUNT_POSITION = 36;
    private static final int INDEX_SLOT_BYTES = 4;
    private static final int INDEX_ENTRY_BYTES = 20;
    private static final int QUEUE_ENTRY_BYTES = 20;

    /** What one record of the topic under test says of itself. */
    private record Stored(int queueId, long queueOffset, int size, long tagsCode, String uniqKey, String keys,
                          boolean dispatched) {
    }

    /** What the check saw, for the report. */
    record Summary(long records, long queueEntries, long indexEntries) {
    }

    private StoreChecker() {
    }

    static Summary check(Path storeRoot, String topic) throws IOException {
        Set<Long> recordStarts = new HashSet<>();
        Map<Long, Stored> ofTopic = new HashMap<>();
        long records = scanCommitLog(storeRoot.resolve("commitlog"), topic, recordStarts, ofTopic);
        long queueEntries = checkConsumeQueues(storeRoot.resolve("consumequeue").resolve(topic), topic, ofTopic);
        long indexEntries = checkIndex(storeRoot.resolve("index"), topic, recordStarts, ofTopic);
        return new Summary(records, queueEntries, indexEntries);
    }

    private static long scanCommitLog(Path dir, String topic, Set<Long> recordStarts, Map<Long, Stored> ofTopic)
        throws IOException {
        List<Path> files = sortedFiles(dir);
        long records = 0;
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            long base = Long.parseLong(file.getFileName().toString());
            MappedByteBuffer map = readOnly(file);
            int position = 0;
            while (position + 8 <= map.limit()) {
                int totalSize = map.getInt(position);
                int magic = map.getInt(position + 4);
                if (magic == MessageDecoder.BLANK_MAGIC_CODE) {
                    break;
                }
                if (totalSize == 0 && magic == 0) {
                    if (f != files.size() - 1) {
                        throw fail(file, position, "the log ends (zeros) in a file that is not the last");
                    }
                    break;
                }
                if ((magic != MessageDecoder.MESSAGE_MAGIC_CODE && magic != MessageDecoder.MESSAGE_MAGIC_CODE_V2)
                    || totalSize <= 0 || position + totalSize > map.limit()) {
                    throw fail(file, position, "no record here: size " + totalSize + ", magic " + Integer.toHexString(magic));
                }
                ByteBuffer record = map.slice(position, totalSize);
                MessageExt message = MessageDecoder.decode(record, true, false, false, false, true);
                if (message == null) {
                    throw fail(file, position, "the record does not decode or its body CRC is wrong");
                }
                long offset = base + position;
                if (message.getCommitLogOffset() != offset || message.getStoreSize() != totalSize) {
                    throw fail(file, position, "the record says offset " + message.getCommitLogOffset() + ", size "
                        + message.getStoreSize());
                }
                recordStarts.add(offset);
                if (topic.equals(message.getTopic())) {
                    String tags = message.getTags();
                    int transaction = MessageSysFlag.getTransactionValue(message.getSysFlag());
                    boolean dispatched = transaction == MessageSysFlag.TRANSACTION_NOT_TYPE
                        || transaction == MessageSysFlag.TRANSACTION_COMMIT_TYPE;
                    ofTopic.put(offset, new Stored(message.getQueueId(), message.getQueueOffset(), totalSize,
                        tags == null ? 0 : tags.hashCode(), message.getProperty(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
                        message.getKeys(), dispatched));
                }
                records++;
                position += totalSize;
            }
        }
        return records;
    }

    private static long checkConsumeQueues(Path topicDir, String topic, Map<Long, Stored> ofTopic) throws IOException {
        Set<String> listed = new HashSet<>();
        long entries = 0;
        if (Files.isDirectory(topicDir)) {
            for (Path queueDir : sortedFiles(topicDir)) {
                int queueId = Integer.parseInt(queueDir.getFileName().toString());
                for (Path file : sortedFiles(queueDir)) {
                    long firstIndex = Long.parseLong(file.getFileName().toString()) / QUEUE_ENTRY_BYTES;
                    MappedByteBuffer map = readOnly(file);
                    for (int position = 0; position + QUEUE_ENTRY_BYTES <= map.limit(); position += QUEUE_ENTRY_BYTES) {
                        long physical = map.getLong(position);
                        int size = map.getInt(position + 8);
                        long tagsCode = map.getLong(position + 12);
                        if (size == Integer.MAX_VALUE) {
                            continue; // Java's filler before a queue's first entry
                        }
                        if (size <= 0) {
                            break;
                        }
                        long queueOffset = firstIndex + position / QUEUE_ENTRY_BYTES;
                        Stored stored = ofTopic.get(physical);
                        if (stored == null || stored.queueId != queueId || stored.queueOffset != queueOffset
                            || stored.size != size || stored.tagsCode != tagsCode) {
                            throw fail(file, position, "entry " + queueId + ":" + queueOffset + " -> offset " + physical
                                + " size " + size + " tags " + tagsCode + ", but the log holds " + stored + " there");
                        }
                        if (!listed.add(queueId + ":" + queueOffset)) {
                            throw fail(file, position, "entry " + queueId + ":" + queueOffset + " twice");
                        }
                        entries++;
                    }
                }
            }
        }
        for (Map.Entry<Long, Stored> record : ofTopic.entrySet()) {
            Stored stored = record.getValue();
            if (stored.dispatched && !listed.contains(stored.queueId + ":" + stored.queueOffset)) {
                throw new AssertionError("the record of " + topic + " at offset " + record.getKey() + " (" + stored
                    + ") has no consume-queue entry");
            }
        }
        return entries;
    }

    private static long checkIndex(Path dir, String topic, Set<Long> recordStarts, Map<Long, Stored> ofTopic)
        throws IOException {
        Set<String> indexed = new HashSet<>();
        long entries = 0;
        for (Path file : Files.isDirectory(dir) ? sortedFiles(dir) : List.<Path>of()) {
            MappedByteBuffer map = readOnly(file);
            long slots = -1;
            for (long[] geometry : INDEX_GEOMETRIES) {
                if (map.limit() == INDEX_HEADER_BYTES + geometry[0] * INDEX_SLOT_BYTES + geometry[1] * INDEX_ENTRY_BYTES) {
                    slots = geometry[0];
                }
            }
            if (slots < 0) {
                throw fail(file, 0, "an index file of unknown geometry (" + map.limit() + " bytes)");
            }
            int count = map.getInt(INDEX_COUNT_POSITION);
            for (int entry = 1; entry < count; entry++) {
                int position = (int) (INDEX_HEADER_BYTES + slots * INDEX_SLOT_BYTES + (long) entry * INDEX_ENTRY_BYTES);
                int keyHash = map.getInt(position);
                long physical = map.getLong(position + 4);
                if (!recordStarts.contains(physical)) {
                    throw fail(file, position, "index entry " + entry + " points at offset " + physical
                        + ", where no record starts");
                }
                Stored stored = ofTopic.get(physical);
                if (stored != null) {
                    if (!keyHashes(topic, stored).contains(keyHash)) {
                        throw fail(file, position, "index entry " + entry + " has hash " + keyHash
                            + ", no key of the record at " + physical + " (" + stored + ")");
                    }
                    indexed.add(keyHash + "@" + physical);
                }
                entries++;
            }
        }
        for (Map.Entry<Long, Stored> record : ofTopic.entrySet()) {
            Stored stored = record.getValue();
            if (stored.uniqKey != null && !indexed.contains(keyHash(topic + "#" + stored.uniqKey) + "@" + record.getKey())) {
                throw new AssertionError("the record of " + topic + " at offset " + record.getKey() + " (" + stored
                    + ") is not indexed by its unique key");
            }
        }
        return entries;
    }

    private static Set<Integer> keyHashes(String topic, Stored stored) {
        Set<Integer> hashes = new HashSet<>();
        if (stored.uniqKey != null) {
            hashes.add(keyHash(topic + "#" + stored.uniqKey));
        }
        if (stored.keys != null) {
            for (String key : stored.keys.split(MessageConst.KEY_SEPARATOR)) {
                if (!key.isEmpty()) {
                    hashes.add(keyHash(topic + "#" + key));
                }
            }
        }
        return hashes;
    }

    /** Java's IndexFile.indexKeyHashMethod: |hashCode|, with Integer.MIN_VALUE taken as 0. */
    private static int keyHash(String key) {
        int positive = Math.abs(key.hashCode());
        return positive < 0 ? 0 : positive;
    }

    private static List<Path> sortedFiles(Path dir) throws IOException {
        try (Stream<Path> listing = Files.list(dir)) {
            return new ArrayList<>(listing.sorted().toList());
        }
    }

    private static MappedByteBuffer readOnly(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
        }
    }

    private static AssertionError fail(Path file, long position, String what) {
        return new AssertionError(file + " at " + position + ": " + what);
    }
}
