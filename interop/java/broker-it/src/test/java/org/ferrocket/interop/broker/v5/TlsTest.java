package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The official 5.3.3 client with TLS on ({@code setUseTLS(true)}, test mode: it trusts any
 * certificate) sends and consumes through a name server and broker started with
 * {@code -Dtls.server.mode=permissive|enforcing} and Java's default test-mode certificate; a
 * plaintext client is served in permissive mode and refused in enforcing mode (acl.md §8).
 * In enforcing mode the broker's own registration must go over TLS too, or no route appears.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TlsTest {

    private static final int MESSAGES = 20;

    @ParameterizedTest
    @ValueSource(strings = {"permissive", "enforcing"})
    void tlsClientSendsAndConsumesAndPlaintextFollowsTheMode(String mode) throws Exception {
        try (BrokerFixture fixture = BrokerFixture.start(getClass(), Map.of(), Map.of("tls.server.mode", mode), true)) {
            String topic = "it-tls-" + mode;
            fixture.createTopic(topic, 2);
            DefaultMQProducer producer = fixture.startProducer("it-tls-producer-" + mode);
            try {
                for (int i = 0; i < MESSAGES; i++) {
                    Message message = new Message(topic, ("tls " + i).getBytes(StandardCharsets.UTF_8));
                    assertEquals(SendStatus.SEND_OK, producer.send(message).getSendStatus());
                }
            } finally {
                producer.shutdown();
            }
            List<MessageExt> pulled = fixture.pullAll(topic, MESSAGES);
            Set<String> bodies = pulled.stream().map(m -> new String(m.getBody(), StandardCharsets.UTF_8))
                .collect(Collectors.toSet());
            assertEquals(MESSAGES, bodies.size());

            DefaultMQProducer plaintext = new DefaultMQProducer("it-tls-plaintext-" + mode);
            plaintext.setNamesrvAddr(fixture.broker.namesrvAddress());
            plaintext.setInstanceName(BrokerFixture.uniqueName("it-tls-plaintext"));
            plaintext.setUseTLS(false);
            plaintext.setSendMsgTimeout(3_000);
            plaintext.setRetryTimesWhenSendFailed(0);
            plaintext.start();
            try {
                Message message = new Message(topic, "plaintext".getBytes(StandardCharsets.UTF_8));
                if (mode.equals("enforcing")) {
                    assertThrows(Exception.class, () -> plaintext.send(message), "plaintext served in enforcing mode");
                } else {
                    assertEquals(SendStatus.SEND_OK, plaintext.send(message).getSendStatus());
                }
            } finally {
                plaintext.shutdown();
            }
            fixture.broker.assertAlive();
        }
    }
}
