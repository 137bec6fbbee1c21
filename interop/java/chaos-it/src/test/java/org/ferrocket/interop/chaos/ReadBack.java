package org.ferrocket.interop.chaos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * The verdict of a fault test: a fresh consumer group (no committed offset, so it starts at each
 * queue's first message) reads the whole topic through the official 5.3.3 lite pull consumer, and
 * the keys read are compared with the acknowledged-ids log.
 *
 * @param acknowledged sends answered SEND_OK
 * @param lost         acknowledged keys not read back
 * @param duplicated   keys read back more than once (a send is never retried by the producer)
 * @param read         messages read back, unacknowledged ones that were stored included
 * @param offsetGaps   queues whose offsets read back are not 0, 1, 2, ... without a gap or a repeat
 */
record ReadBack(int acknowledged, List<String> lost, List<String> duplicated, int read, List<String> offsetGaps) {

    /** Read until nothing new arrives for this long once every acknowledged key was seen. */
    private static final Duration QUIET = Duration.ofSeconds(2);
    /** Give up when nothing new arrives for this long (a long run reads hundreds of thousands). */
    private static final Duration STALL_WAIT = Duration.ofSeconds(60);

    static ReadBack read(String namesrvAddress, String topic, String group, Set<String> acknowledgedKeys)
        throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(group);
        consumer.setNamesrvAddr(namesrvAddress);
        consumer.setInstanceName(group);
        consumer.setAutoCommit(false);
        consumer.setPullBatchSize(256);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.start();
        Map<String, Integer> counts = new HashMap<>();
        Map<Integer, List<Long>> offsets = new TreeMap<>();
        int read = 0;
        try {
            // Not seek(0): it races with the pull that assign() starts and can hand out messages twice.
            consumer.assign(consumer.fetchMessageQueues(topic));
            long lastNew = System.nanoTime();
            while (System.nanoTime() - lastNew < STALL_WAIT.toNanos()) {
                List<MessageExt> batch = consumer.poll(300);
                for (MessageExt message : batch) {
                    counts.merge(message.getKeys(), 1, Integer::sum);
                    offsets.computeIfAbsent(message.getQueueId(), q -> new ArrayList<>()).add(message.getQueueOffset());
                    read++;
                }
                if (!batch.isEmpty()) {
                    lastNew = System.nanoTime();
                } else if (counts.keySet().containsAll(acknowledgedKeys) && System.nanoTime() - lastNew > QUIET.toNanos()) {
                    break;
                }
            }
        } finally {
            consumer.shutdown();
        }
        List<String> lost = acknowledgedKeys.stream().filter(k -> !counts.containsKey(k)).sorted().toList();
        List<String> duplicated = counts.entrySet().stream().filter(e -> e.getValue() > 1)
            .map(e -> e.getKey() + "x" + e.getValue()).sorted().toList();
        List<String> gaps = new ArrayList<>();
        offsets.forEach((queue, list) -> {
            List<Long> sorted = list.stream().sorted().toList();
            for (int i = 0; i < sorted.size(); i++) {
                if (sorted.get(i) != i) {
                    gaps.add("queue " + queue + ": offset " + sorted.get(i) + " read as the " + i + "th");
                    return;
                }
            }
        });
        return new ReadBack(acknowledgedKeys.size(), lost, duplicated, read, gaps);
    }

    /** For failure messages: the counts and the first few keys of each list. */
    String summary() {
        return "acknowledged " + acknowledged + ", read " + read + ", lost " + lost.size() + " " + first(lost)
            + ", duplicated " + duplicated.size() + " " + first(duplicated) + ", offset gaps " + offsetGaps;
    }

    private static List<String> first(List<String> list) {
        return list.subList(0, Math.min(10, list.size()));
    }
}
