package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.ResponseCode;
import org.ferrocket.interop.namesrv.support.Poll;
import org.ferrocket.interop.namesrv.support.Ports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The Prometheus exporter ({@code metricsExporterType=PROM}): the official Java 5.3.3 broker and
 * the broker under test run side by side, each gets the same traffic from the official client (a
 * producer's sends, a push consumer's pulls), both are scraped, and the broker under test must
 * export every sample name Java exports with the same label names, apart from the few listed in
 * {@link #DELIBERATELY_ABSENT} with their reasons, and count the traffic as Java does (and a
 * timer two minutes ahead in the timer snapshot's 60..300 s window and the per-topic timer
 * counters; a lite pull consumer's in-flight, lagging and ready messages). Against
 * {@code -Dbroker.impl=java} both sides are Java, which validates the test itself. Both scrapes are
 * saved under the work directory ({@code metrics-java.txt}, {@code metrics-under-test.txt}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class MetricsTest {

    /** Sample names Java exports and we do not, with the reason. */
    static final Map<String, String> DELIBERATELY_ABSENT = Map.of(
        "rocketmq_timing_messages", "timers waiting per topic: our wheel does not keep topics",
        "rocketmq_delay_message_latency", "the delivery-latency histogram of Java's timer dequeue",
        "target_info", "OpenTelemetry SDK resource metadata, not a RocketMQ metric (empty in Java's)",
        "otel_scope_info", "OpenTelemetry SDK scope metadata; every series carries otel_scope_name instead",
        "rocketmq_pop_", "POP service internals (buffer scan time, revive lag and latency, checkpoint and offset "
            + "buffer sizes) of Java's PopBufferMergeService, which our POP implementation does not have");

    private static final String TOPIC = "it-metrics";
    private static final String GROUP = "it-metrics-group";
    /** A one-queue topic a lite pull consumer reads ahead of what it commits. */
    private static final String PULL_TOPIC = "it-metrics-pull";
    private static final String PULL_GROUP = "it-metrics-pull-group";
    private static final int PULL_MESSAGES = 20;
    private static final long PULL_COMMITTED = 5;
    private static final int MESSAGES = 50;
    /** A sample line: name, optional {labels}, value, optional timestamp. */
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})?\\s+(\\S+)(\\s+\\S+)?$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** Marks the reference's work directory. */
    static final class JavaReference {
    }

    private final List<AutoCloseable> closing = new ArrayList<>();
    private Side java;
    private Side underTest;

    /** One broker with its clients and the port its metrics are served on. */
    private record Side(String what, BrokerFixture fixture, int metricsPort, AtomicInteger consumed) {
    }

    @BeforeAll
    void start() throws Exception {
        java = side("java", true);
        underTest = side("under test (" + System.getProperty("broker.impl", "ferrocket") + ")", false);
    }

    private Side side(String what, boolean reference) throws Exception {
        int port = Ports.freePort();
        // The timer wheel on for both (the fixture's Java reference turns it off to save memory):
        // Java registers its timer gauges only with it.
        Map<String, String> conf = Map.of("metricsExporterType", "PROM", "metricsPromExporterHost", "127.0.0.1",
            "metricsPromExporterPort", Integer.toString(port), "timerWheelEnable", "true");
        BrokerFixture fixture = reference ? BrokerFixture.startJavaReference(JavaReference.class, conf)
            : BrokerFixture.start(getClass(), conf);
        closing.add(fixture);
        fixture.createTopic(TOPIC, 4);
        AtomicInteger consumed = new AtomicInteger();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(GROUP);
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-metrics-consumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            consumed.addAndGet(messages.size());
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        closing.add(consumer::shutdown);
        DefaultMQProducer producer = fixture.startProducer("it-metrics-producer");
        closing.add(producer::shutdown);
        for (int i = 0; i < MESSAGES; i++) {
            Message message = new Message(TOPIC, "tag", ("metrics " + i).getBytes(StandardCharsets.UTF_8));
            assertEquals(SendStatus.SEND_OK, sendPatiently(producer, message).getSendStatus());
        }
        Poll.until(what + " consumer got " + MESSAGES, BrokerFixture.DELIVERY_WAIT, consumed::get, n -> n >= MESSAGES);
        // One timer two minutes ahead: the timer gauges' snapshot must count it in 60..300 s.
        Message timer = new Message(TOPIC, "tag", "timer".getBytes(StandardCharsets.UTF_8));
        timer.setDeliverTimeMs(System.currentTimeMillis() + 120_000);
        assertEquals(SendStatus.SEND_OK, sendPatiently(producer, timer).getSendStatus());
        // A lite pull consumer pulls all of PULL_TOPIC into its cache and commits 5: Java counts
        // 15 in flight (pulled, not committed), 15 lagging, none ready.
        fixture.createTopic(PULL_TOPIC, 1);
        for (int i = 0; i < PULL_MESSAGES; i++) {
            Message message = new Message(PULL_TOPIC, "tag", ("pull " + i).getBytes(StandardCharsets.UTF_8));
            assertEquals(SendStatus.SEND_OK, sendPatiently(producer, message).getSendStatus());
        }
        DefaultLitePullConsumer puller = new DefaultLitePullConsumer(PULL_GROUP);
        puller.setNamesrvAddr(fixture.broker.namesrvAddress());
        puller.setInstanceName(BrokerFixture.uniqueName("it-metrics-puller"));
        puller.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        puller.setAutoCommit(false);
        puller.subscribe(PULL_TOPIC, "*");
        puller.start();
        closing.add(puller::shutdown);
        Poll.until(what + " lite pull consumer polls", BrokerFixture.DELIVERY_WAIT,
            () -> puller.poll(1_000), list -> !list.isEmpty());
        MessageQueue queue = puller.fetchMessageQueues(PULL_TOPIC).iterator().next();
        puller.commit(Map.of(queue, PULL_COMMITTED), true);
        return new Side(what, fixture, port, consumed);
    }

    /**
     * A send retried while the broker answers busy: on a loaded machine Java's reference answers
     * SYSTEM_BUSY ([TIMEOUT_CLEAN_QUEUE], a send waited over 200 ms in its queue) now and then.
     */
    private static SendResult sendPatiently(DefaultMQProducer producer, Message message) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return producer.send(message);
            } catch (MQBrokerException busy) {
                if (busy.getResponseCode() != ResponseCode.SYSTEM_BUSY || attempt == 5) {
                    throw busy;
                }
                Thread.sleep(200);
            } catch (MQClientException failed) {
                if (!(failed.getCause() instanceof MQBrokerException busy)
                    || busy.getResponseCode() != ResponseCode.SYSTEM_BUSY || attempt == 5) {
                    throw failed;
                }
                Thread.sleep(200);
            }
        }
    }

    @AfterAll
    void stop() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    @Test
    void ourSampleNamesAndLabelSetsCoverJavasAndCountTheSameTraffic() throws Exception {
        // Java's OpenTelemetry reader collects on scrape, so one scrape each suffices; the counters
        // are polled until the consumed messages are counted (pull answers precede the callback).
        List<Sample> javaSamples = awaitCounted(java);
        List<Sample> ourSamples = awaitCounted(underTest);
        Files.writeString(underTest.fixture.workDir.resolve("metrics-java.txt"), dump(javaSamples));
        Files.writeString(underTest.fixture.workDir.resolve("metrics-under-test.txt"), dump(ourSamples));

        Map<String, Set<Set<String>>> ours = labelSets(ourSamples);
        List<String> missing = new ArrayList<>();
        labelSets(javaSamples).forEach((name, sets) -> {
            if (DELIBERATELY_ABSENT.keySet().stream().anyMatch(name::startsWith)) {
                return;
            }
            for (Set<String> labels : sets) {
                if (!ours.getOrDefault(name, Set.of()).contains(labels)) {
                    missing.add(name + labels);
                }
            }
        });
        assertTrue(missing.isEmpty(), "exported by Java, not by the broker under test: " + missing
            + "\nours: " + ours.keySet());
        // The traffic both sides saw, counted under the same series.
        for (Side side : List.of(java, underTest)) {
            List<Sample> samples = side == java ? javaSamples : ourSamples;
            assertEquals(MESSAGES, sum(samples, "rocketmq_messages_in_total", Map.of("topic", TOPIC)), side.what);
            assertEquals(MESSAGES, sum(samples, "rocketmq_message_size_count", Map.of("topic", TOPIC)), side.what);
            assertEquals(MESSAGES, sum(samples, "rocketmq_messages_out_total",
                Map.of("topic", TOPIC, "consumer_group", GROUP)), side.what);
            assertEquals(1, sum(samples, "rocketmq_consumer_connections",
                Map.of("consumer_group", GROUP, "consume_mode", "push", "language", "java")), side.what);
            assertEquals(1, sum(samples, "rocketmq_timer_message_snapshot", Map.of("timer_bound_s", "300")), side.what);
            // Java's dequeue lag is every timer in the wheel from the read time on.
            assertEquals(1, sum(samples, "rocketmq_timer_dequeue_lag", Map.of()), side.what);
            // Per-topic timer counters, under the topic the timer names.
            assertEquals(1, sum(samples, "rocketmq_timer_enqueue_total", Map.of("topic", TOPIC)), side.what);
            assertEquals(0, sum(samples, "rocketmq_timer_dequeue_total", Map.of("topic", TOPIC)), side.what);
            Map<String, String> pulled = Map.of("topic", PULL_TOPIC, "consumer_group", PULL_GROUP);
            long inFlight = PULL_MESSAGES - PULL_COMMITTED;
            assertEquals(inFlight, sum(samples, "rocketmq_consumer_inflight_messages", pulled), side.what);
            assertEquals(inFlight, sum(samples, "rocketmq_consumer_lag_messages", pulled), side.what);
            assertEquals(0, sum(samples, "rocketmq_consumer_ready_messages", pulled), side.what);
        }
        // Same record bytes in, same bytes out: the stored records are Java's bytes on both.
        assertEquals(sum(javaSamples, "rocketmq_throughput_in_total", Map.of("topic", TOPIC)),
            sum(ourSamples, "rocketmq_throughput_in_total", Map.of("topic", TOPIC)));
        assertEquals(sum(javaSamples, "rocketmq_throughput_out_total", Map.of("topic", TOPIC)),
            sum(ourSamples, "rocketmq_throughput_out_total", Map.of("topic", TOPIC)));
    }

    private List<Sample> awaitCounted(Side side) throws InterruptedException {
        return Poll.until(side.what + " exports the " + MESSAGES + " messages out", BrokerFixture.DELIVERY_WAIT,
            () -> scrape(side.metricsPort),
            samples -> sum(samples, "rocketmq_messages_out_total", Map.of("topic", TOPIC)) >= MESSAGES
                && sum(samples, "rocketmq_consumer_connections", Map.of("consumer_group", GROUP)) >= 1
                && sum(samples, "rocketmq_timer_message_snapshot", Map.of("timer_bound_s", "300")) >= 1
                // The lite pull consumer's pulls reached the end and its commit landed.
                && sum(samples, "rocketmq_consumer_inflight_messages",
                    Map.of("topic", PULL_TOPIC)) == PULL_MESSAGES - PULL_COMMITTED);
    }

    record Sample(String name, Map<String, String> labels, double value) {
    }

    static List<Sample> scrape(int port) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
            .timeout(Duration.ofSeconds(10)).GET().build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        List<Sample> samples = new ArrayList<>();
        for (String line : response.body().split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher sample = SAMPLE.matcher(line.trim());
            assertTrue(sample.matches(), "not a sample line: " + line);
            Map<String, String> labels = new TreeMap<>();
            if (sample.group(3) != null) {
                Matcher label = LABEL.matcher(sample.group(3));
                while (label.find()) {
                    labels.put(label.group(1), label.group(2));
                }
            }
            samples.add(new Sample(sample.group(1), labels, Double.parseDouble(sample.group(4))));
        }
        return samples;
    }

    /** Sample name → the label-name sets it appears with ({@code le} left out: it is the bucket). */
    static Map<String, Set<Set<String>>> labelSets(List<Sample> samples) {
        Map<String, Set<Set<String>>> sets = new TreeMap<>();
        for (Sample sample : samples) {
            Set<String> names = new TreeSet<>(sample.labels.keySet());
            names.remove("le");
            sets.computeIfAbsent(sample.name, k -> new TreeSet<>(Comparator.comparing(Object::toString)))
                .add(names);
        }
        return sets;
    }

    static long sum(List<Sample> samples, String name, Map<String, String> want) {
        return Math.round(samples.stream()
            .filter(s -> s.name.equals(name))
            .filter(s -> want.entrySet().stream().allMatch(e -> e.getValue().equals(s.labels.get(e.getKey()))))
            .mapToDouble(Sample::value).sum());
    }

    static String dump(List<Sample> samples) {
        StringBuilder text = new StringBuilder();
        samples.forEach(s -> text.append(s.name).append(s.labels).append(' ').append(s.value).append('\n'));
        return text.toString();
    }
}
