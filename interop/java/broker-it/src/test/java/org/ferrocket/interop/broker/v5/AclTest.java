package org.ferrocket.interop.broker.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RPCHook;
import org.ferrocket.interop.namesrv.support.MqAdmin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * 5.x ACL (authenticationEnabled, authorizationEnabled): mqadmin 5.3.3 signed as the initial super
 * user creates a normal user and its ACL; the 5.3.3 producer and lite pull consumer with
 * {@code AclClientRPCHook} send and consume on an allowed topic; a denied topic, a topic without a
 * policy, a wrong secret and no credentials are refused with NO_PERMISSION (16) and Java's remarks;
 * then mqadmin lists, reads, updates and deletes users and ACLs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AclTest {

    private static final String ROOT = "root";
    private static final String ROOT_SECRET = "rootsecret1";
    private static final String ALICE = "alice";
    private static final String ALICE_SECRET = "alicesecret1";

    private final String allowed = BrokerFixture.uniqueName("it-acl-ok");
    private final String denied = BrokerFixture.uniqueName("it-acl-denied");
    private final String unlisted = BrokerFixture.uniqueName("it-acl-unlisted");
    /** Matches both {@code Topic:it-acl-ok*} (Allow) and {@code Topic:it-acl-ok-special*} (Deny). */
    private final String special = BrokerFixture.uniqueName("it-acl-ok-special");
    private final List<DefaultMQProducer> producers = new ArrayList<>();
    private BrokerFixture fixture;
    private MqAdmin mqadmin;
    private String brokerAddr;

    @BeforeAll
    void start() throws Exception {
        String root = "{\"username\":\"" + ROOT + "\",\"password\":\"" + ROOT_SECRET + "\"}";
        Map<String, String> conf = Map.of(
            "authenticationEnabled", "true",
            "authorizationEnabled", "true",
            "authenticationProvider", "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider",
            "authenticationMetadataProvider",
            "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider",
            "authorizationProvider", "org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider",
            "authorizationMetadataProvider",
            "org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider",
            "initAuthenticationUser", root);
        fixture = BrokerFixture.start(getClass(), conf, Map.of(), false, hook(ROOT, ROOT_SECRET));
        mqadmin = fixture.mqadmin;
        brokerAddr = fixture.broker.brokerAddress();
        // mqadmin signs with $ROCKETMQ_HOME/conf/tools.yml.
        Path tools = fixture.workDir.resolve("mqadmin").resolve("home").resolve("conf").resolve("tools.yml");
        Files.createDirectories(tools.getParent());
        Files.writeString(tools, "accessKey: " + ROOT + "\nsecretKey: " + ROOT_SECRET + "\n", StandardCharsets.UTF_8);
        for (String topic : List.of(allowed, denied, unlisted, special)) {
            fixture.createTopic(topic, 2);
        }
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

    private MqAdmin.Result mqadmin(String... args) throws Exception {
        MqAdmin.Result result = mqadmin.run(args);
        assertEquals(0, result.exitStatus(), result.toString());
        return result;
    }

    private DefaultMQProducer producer(RPCHook hook) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(BrokerFixture.uniqueName("it-acl-producer"), hook);
        producer.setNamesrvAddr(fixture.broker.namesrvAddress());
        producer.setInstanceName(BrokerFixture.uniqueName("it-acl-producer"));
        producer.setSendMsgTimeout(10_000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.start();
        producers.add(producer);
        return producer;
    }

    private static Message message(String topic, String body) {
        return new Message(topic, "t", body.getBytes(StandardCharsets.UTF_8));
    }

    /** The producer retries NO_PERMISSION, so the broker's answer is the cause of its MQClientException. */
    private static void assertRefused(String remark, org.junit.jupiter.api.function.Executable send) {
        Throwable thrown = assertThrows(Exception.class, send);
        Throwable cause = thrown;
        while (cause != null && !(cause instanceof MQBrokerException)) {
            cause = cause.getCause();
        }
        assertTrue(cause != null, "no broker answer in " + thrown);
        MQBrokerException refused = (MQBrokerException) cause;
        assertEquals(16, refused.getResponseCode(), refused.toString());
        assertEquals(remark, refused.getErrorMessage());
    }

    @Test
    @Order(1)
    void mqadminCreatesAUserAndItsAcl() throws Exception {
        MqAdmin.Result created = mqadmin("createUser", "-b", brokerAddr, "-u", ALICE, "-p", ALICE_SECRET);
        assertTrue(created.stdout().contains("create user to " + brokerAddr + " success."), created.toString());
        MqAdmin.Result allow = mqadmin("createAcl", "-b", brokerAddr, "-s", "User:" + ALICE,
            "-r", "Topic:it-acl-ok*,Group:*", "-a", "Pub,Sub,Get,Update", "-d", "Allow");
        assertTrue(allow.stdout().contains("create acl to " + brokerAddr + " success."), allow.toString());
        mqadmin("createAcl", "-b", brokerAddr, "-s", "User:" + ALICE, "-r", "Topic:" + denied, "-a", "Pub", "-d", "Deny");
        mqadmin("createAcl", "-b", brokerAddr, "-s", "User:" + ALICE, "-r", "Topic:it-acl-ok-special*", "-a", "Pub",
            "-d", "Deny");
    }

    @Test
    @Order(2)
    void theRightKeySendsAndConsumes() throws Exception {
        DefaultMQProducer producer = producer(hook(ALICE, ALICE_SECRET));
        for (int i = 0; i < 4; i++) {
            assertEquals(SendStatus.SEND_OK, producer.send(message(allowed, "m" + i)).getSendStatus());
        }
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(BrokerFixture.uniqueName("it-acl-group"),
            hook(ALICE, ALICE_SECRET));
        consumer.setNamesrvAddr(fixture.broker.namesrvAddress());
        consumer.setInstanceName(BrokerFixture.uniqueName("it-acl-consumer"));
        consumer.setAutoCommit(true);
        consumer.setPollTimeoutMillis(500);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.start();
        try {
            consumer.assign(consumer.fetchMessageQueues(allowed));
            List<MessageExt> all = new ArrayList<>();
            long deadline = System.nanoTime() + BrokerFixture.DELIVERY_WAIT.toNanos();
            while (all.size() < 4 && System.nanoTime() < deadline) {
                all.addAll(consumer.poll(500));
            }
            assertEquals(4, all.size(), "consumed " + all + "\n" + fixture.broker.brokerTail(20));
        } finally {
            consumer.shutdown();
        }
    }

    @Test
    @Order(3)
    void deniedAndUnlistedTopicsAreRefusedWithJavasRemarks() throws Exception {
        DefaultMQProducer producer = producer(hook(ALICE, ALICE_SECRET));
        assertRefused("User:alice has no permission to access Topic:" + denied + " from 127.0.0.1, the decision is deny.",
            () -> producer.send(message(denied, "x")));
        assertRefused("User:alice has no permission to access Topic:" + unlisted + " from 127.0.0.1, no matched policies.",
            () -> producer.send(message(unlisted, "x")));
    }

    /**
     * Java sorts matching prefixed entries shorter prefix first ({@code AclAuthorizationHandler}
     * compares the lengths ascending), so the broader Allow wins over the narrower Deny.
     */
    @Test
    @Order(4)
    void theShorterPrefixDecidesAsJavaSortsIt() throws Exception {
        DefaultMQProducer producer = producer(hook(ALICE, ALICE_SECRET));
        assertEquals(SendStatus.SEND_OK, producer.send(message(special, "x")).getSendStatus());
    }

    @Test
    @Order(5)
    void aWrongSecretAndNoCredentialsAreRefused() throws Exception {
        DefaultMQProducer wrong = producer(hook(ALICE, "not-the-secret"));
        assertRefused("check signature failed.", () -> wrong.send(message(allowed, "x")));
        DefaultMQProducer unknown = producer(hook("mallory", ALICE_SECRET));
        assertRefused("User:mallory is not found.", () -> unknown.send(message(allowed, "x")));
        DefaultMQProducer anonymous = producer(null);
        assertRefused("username cannot be null.", () -> anonymous.send(message(allowed, "x")));
    }

    @Test
    @Order(6)
    void mqadminListsReadsUpdatesAndDeletes() throws Exception {
        MqAdmin.Result users = mqadmin("listUser", "-b", brokerAddr);
        assertTrue(users.stdout().lines().anyMatch(l -> l.startsWith(ALICE + " ") && l.contains("Normal")
            && l.contains("enable")), users.toString());
        assertTrue(users.stdout().lines().anyMatch(l -> l.startsWith(ROOT + " ") && l.contains("Super")), users.toString());
        MqAdmin.Result alice = mqadmin("getUser", "-b", brokerAddr, "-u", ALICE);
        assertTrue(alice.stdout().contains(ALICE_SECRET), alice.toString());

        MqAdmin.Result acl = mqadmin("getAcl", "-b", brokerAddr, "-s", "User:" + ALICE);
        assertTrue(acl.stdout().lines().anyMatch(l -> l.contains("Topic:it-acl-ok*") && l.contains("Allow")), acl.toString());
        assertTrue(acl.stdout().lines().anyMatch(l -> l.contains("Topic:" + denied) && l.contains("Deny")), acl.toString());
        MqAdmin.Result filtered = mqadmin("listAcl", "-b", brokerAddr, "-s", "User:" + ALICE, "-r", "Group");
        assertTrue(filtered.stdout().contains("Group:*"), filtered.toString());
        assertFalse(filtered.stdout().contains("Topic:"), filtered.toString());

        mqadmin("deleteAcl", "-b", brokerAddr, "-s", "User:" + ALICE, "-r", "Topic:" + denied);
        assertFalse(mqadmin("getAcl", "-b", brokerAddr, "-s", "User:" + ALICE).stdout().contains(denied));
        DefaultMQProducer producer = producer(hook(ALICE, ALICE_SECRET));
        assertRefused("User:alice has no permission to access Topic:" + denied + " from 127.0.0.1, no matched policies.",
            () -> producer.send(message(denied, "x")));

        mqadmin("updateUser", "-b", brokerAddr, "-u", ALICE, "-s", "disable");
        assertRefused("User:alice is disabled.", () -> producer.send(message(allowed, "x")));

        MqAdmin.Result deleted = mqadmin("deleteUser", "-b", brokerAddr, "-u", ALICE);
        assertTrue(deleted.stdout().contains("delete user to " + brokerAddr + " success."), deleted.toString());
        assertFalse(mqadmin("listUser", "-b", brokerAddr).stdout().contains(ALICE + " "));
        assertFalse(mqadmin("listAcl", "-b", brokerAddr).stdout().contains("User:" + ALICE));
    }
}
