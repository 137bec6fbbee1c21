package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.netty.TlsSystemConfig;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Both servers in enforcing mode with certificate files and {@code tls.server.need.client.auth=require}
 * (acl.md §8.2): the 5.3.3 client presenting a certificate from the configured CA sends and
 * consumes; a TLS client without a certificate is refused. The broker presents the same client
 * certificate to the name server, or it would not register. Certificates are made with openssl.
 *
 * <p>The Java client reads its TLS settings from {@link TlsSystemConfig}'s static fields when a
 * client starts; the test sets them for its clients and restores them after.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TlsClientCertificateTest {

    private static final int MESSAGES = 10;

    @Test
    void aRequiredClientCertificateIsCheckedAndItsAbsenceRefused() throws Exception {
        Path pki = Files.createTempDirectory("ferrocket-it-pki");
        try {
            makePki(pki);
            Map<String, String> server = Map.of(
                "tls.server.mode", "enforcing",
                "tls.test.mode.enable", "false",
                "tls.server.certPath", pki.resolve("server.pem").toString(),
                "tls.server.keyPath", pki.resolve("server.key").toString(),
                "tls.server.need.client.auth", "require",
                "tls.server.authClient", "true",
                "tls.server.trustCertPath", pki.resolve("ca.pem").toString(),
                "tls.client.certPath", pki.resolve("client.pem").toString(),
                "tls.client.keyPath", pki.resolve("client.key").toString());
            boolean testMode = TlsSystemConfig.tlsTestModeEnable;
            String certPath = TlsSystemConfig.tlsClientCertPath;
            String keyPath = TlsSystemConfig.tlsClientKeyPath;
            TlsSystemConfig.tlsTestModeEnable = false;
            TlsSystemConfig.tlsClientCertPath = pki.resolve("client.pem").toString();
            TlsSystemConfig.tlsClientKeyPath = pki.resolve("client.key").toString();
            try (BrokerFixture fixture = BrokerFixture.start(getClass(), Map.of(), server, true)) {
                String topic = "it-tls-client-cert";
                fixture.createTopic(topic, 2);
                DefaultMQProducer producer = fixture.startProducer("it-tls-cert-producer");
                try {
                    for (int i = 0; i < MESSAGES; i++) {
                        Message message = new Message(topic, ("cert " + i).getBytes(StandardCharsets.UTF_8));
                        assertEquals(SendStatus.SEND_OK, producer.send(message).getSendStatus());
                    }
                } finally {
                    producer.shutdown();
                }
                fixture.pullAll(topic, MESSAGES);

                // Test mode: TLS, any server certificate trusted, no client certificate.
                TlsSystemConfig.tlsTestModeEnable = true;
                DefaultMQProducer anonymous = new DefaultMQProducer("it-tls-no-cert");
                anonymous.setNamesrvAddr(fixture.broker.namesrvAddress());
                anonymous.setInstanceName(BrokerFixture.uniqueName("it-tls-no-cert"));
                anonymous.setUseTLS(true);
                anonymous.setSendMsgTimeout(3_000);
                anonymous.setRetryTimesWhenSendFailed(0);
                anonymous.start();
                try {
                    Message message = new Message(topic, "anonymous".getBytes(StandardCharsets.UTF_8));
                    assertThrows(Exception.class, () -> anonymous.send(message), "served without a client certificate");
                } finally {
                    anonymous.shutdown();
                }
                fixture.broker.assertAlive();
            } finally {
                TlsSystemConfig.tlsTestModeEnable = testMode;
                TlsSystemConfig.tlsClientCertPath = certPath;
                TlsSystemConfig.tlsClientKeyPath = keyPath;
            }
        } finally {
            InteropEnv.deleteRecursively(pki);
        }
    }

    /** A CA and, signed by it, a server and a client certificate: P-256 keys in PKCS#8 PEM. */
    private static void makePki(Path dir) throws Exception {
        openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=ferrocket-it-ca", "-days", "2");
        for (String name : List.of("server", "client")) {
            openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name);
            Files.writeString(dir.resolve(name + ".ext"), name.equals("server")
                ? "subjectAltName=DNS:localhost,IP:127.0.0.1\n" : "extendedKeyUsage=clientAuth\n");
            openssl(dir, "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext");
        }
    }

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor(), "openssl " + String.join(" ", args) + ":\n" + output);
    }
}
