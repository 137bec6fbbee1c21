package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.RPCHook;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * {@code migrateAuthFromV1Enabled=true} with 5.x auth: a 4.x {@code plain_acl.yml} becomes users and
 * ACLs at start (Java 5.3.3's {@code AuthMigrator}), and the 5.3.3 client signing as a migrated
 * account is served or refused as the account's 1.0 grants say, with 5.x answers (code 16). Java
 * reads the file through {@code -Drocketmq.acl.plain.file} (relative to its home); ours through
 * {@code plainAclFile}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AclMigrateFromV1Test {

    private static final String ROOT = "root";
    private static final String ROOT_SECRET = "rootsecret1";
    private static final String ALLOWED = "MigAllowed";
    private static final String READ_ONLY = "MigReadOnly";
    private static final String PLAIN_ACL = String.join("\n",
        "accounts:",
        "  - accessKey: migUser01",
        "    secretKey: migSecret01",
        "    admin: false",
        "    defaultTopicPerm: DENY",
        "    defaultGroupPerm: SUB",
        "    topicPerms:",
        "      - " + ALLOWED + "=PUB|SUB",
        "      - " + READ_ONLY + "=SUB",
        "  - accessKey: migAdmin01",
        "    secretKey: migAdminSecret",
        "    admin: true",
        "");

    private final List<DefaultMQProducer> producers = new ArrayList<>();
    private BrokerFixture fixture;

    @BeforeAll
    void start() throws Exception {
        // Beside the class's work directory, which the fixture wipes before it starts the broker.
        Path file = Paths.get(System.getProperty("ferrocket.interop.workRoot"), getClass().getSimpleName() + "-plain_acl.yml")
            .toAbsolutePath();
        Files.createDirectories(file.getParent());
        Files.writeString(file, PLAIN_ACL, StandardCharsets.UTF_8);
        String root = "{\"username\":\"" + ROOT + "\",\"password\":\"" + ROOT_SECRET + "\"}";
        Map<String, String> conf = Map.of(
            "authenticationEnabled", "true",
            "authorizationEnabled", "true",
            "authenticationMetadataProvider",
            "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider",
            "authorizationMetadataProvider",
            "org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider",
            "initAuthenticationUser", root,
            "migrateAuthFromV1Enabled", "true",
            "plainAclFile", file.toString());
        // Java's home is <work>/<class>/broker-broker-a/home: three levels below the file's directory.
        Map<String, String> javaProperties = BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA
            ? Map.of("rocketmq.acl.plain.file", "../../../" + file.getFileName())
            : Map.of();
        fixture = BrokerFixture.start(getClass(), conf, javaProperties, false, hook(ROOT, ROOT_SECRET));
        fixture.createTopic(ALLOWED, 2);
        fixture.createTopic(READ_ONLY, 2);
    }

    @AfterAll
    void stop() throws Exception {
        producers.forEach(DefaultMQProducer::shutdown);
        if (fixture != null) {
            fixture.close();
        }
    }

    private static RPCHook hook(String accessKey, String secretKey) {
        return new AclClientRPCHook(new SessionCredentials(accessKey, secretKey));
    }

    private DefaultMQProducer producer(RPCHook hook) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(BrokerFixture.uniqueName("it-mig-producer"), hook);
        producer.setNamesrvAddr(fixture.broker.namesrvAddress());
        producer.setInstanceName(BrokerFixture.uniqueName("it-mig-producer"));
        producer.setSendMsgTimeout(10_000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.start();
        producers.add(producer);
        return producer;
    }

    private static Message message(String topic) {
        return new Message(topic, "t", "migrated".getBytes(StandardCharsets.UTF_8));
    }

    private static MQBrokerException refusal(org.junit.jupiter.api.function.Executable send) {
        Throwable cause = assertThrows(Exception.class, send);
        while (cause != null && !(cause instanceof MQBrokerException)) {
            cause = cause.getCause();
        }
        assertTrue(cause != null, "no broker answer");
        return (MQBrokerException) cause;
    }

    @Test
    void migrated_accounts_are_served_as_their_grants_say() throws Exception {
        DefaultMQProducer user = producer(hook("migUser01", "migSecret01"));
        assertEquals(SendStatus.SEND_OK, user.send(message(ALLOWED)).getSendStatus());
        MQBrokerException readOnly = refusal(() -> user.send(message(READ_ONLY)));
        assertEquals(16, readOnly.getResponseCode(), readOnly.toString());
        assertEquals("User:migUser01 has no permission to access Topic:" + READ_ONLY
            + " from 127.0.0.1, the decision is deny.", readOnly.getErrorMessage());
        DefaultMQProducer admin = producer(hook("migAdmin01", "migAdminSecret"));
        assertEquals(SendStatus.SEND_OK, admin.send(message(READ_ONLY)).getSendStatus(), "admin became Super");
        DefaultMQProducer wrong = producer(hook("migUser01", "notTheSecret"));
        MQBrokerException signature = refusal(() -> wrong.send(message(ALLOWED)));
        assertEquals(16, signature.getResponseCode(), signature.toString());
        assertEquals("check signature failed.", signature.getErrorMessage());
    }
}
