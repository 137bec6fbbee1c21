package org.ferrocket.interop.broker.v49;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.RequestCode;
import org.apache.rocketmq.common.protocol.ResponseCode;
import org.apache.rocketmq.common.protocol.header.CreateTopicRequestHeader;
import org.apache.rocketmq.common.protocol.header.PullMessageRequestHeader;
import org.apache.rocketmq.common.protocol.header.SendMessageRequestHeader;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.namesrv.support.BrokerUnderTest;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.JavaBroker;
import org.ferrocket.interop.namesrv.support.JavaNamesrv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * ACL 1.0 as a 4.x operator runs it: {@code aclEnable=true} and one {@code plain_acl.yml}, the
 * official 4.9.8 client signing with {@code AclClientRPCHook}. Each refusal must come back as Java
 * 4.9.8 answers it: code 1 (SYSTEM_ERROR) and the remark {@code AclException: <message>, <frame>}
 * byte for byte. With {@code -Dbroker.impl=java} the broker is the official one (4.9.7, the last
 * 4.9.x broker on Maven Central, with the 4.9.8 ACL module; see pom.xml) reading the file from
 * {@code $ROCKETMQ_HOME/conf}; ours reads the same file through {@code plainAclFile}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AclPlainWithJava49Test {

    private static final String SERIALIZE_TYPE = "ROCKETMQ";
    private static final long TIMEOUT_MS = 10_000;
    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);
    private static final String TOPIC = "AclAllowed";
    private static final String READ_ONLY_TOPIC = "AclReadOnly";
    private static final String EXCEPTION = "org.apache.rocketmq.acl.common.AclException: ";
    private static final String MANAGER = "org.apache.rocketmq.acl.plain.PlainPermissionManager";

    private static final String PLAIN_ACL = String.join("\n",
        "globalWhiteRemoteAddresses:",
        "  - 10.10.103.*",
        "accounts:",
        "  - accessKey: aclUser01",
        "    secretKey: aclSecret01",
        "    whiteRemoteAddress:",
        "    admin: false",
        "    defaultTopicPerm: DENY",
        "    defaultGroupPerm: SUB",
        "    topicPerms:",
        "      - " + TOPIC + "=PUB|SUB",
        "      - " + READ_ONLY_TOPIC + "=SUB",
        "    groupPerms:",
        "      - aclFrozenGroup=DENY",
        "  - accessKey: aclAdmin01",
        "    secretKey: aclAdminSecret",
        "    admin: true",
        "  - accessKey: aclWhite01",
        "    secretKey: aclWhiteSecret",
        "    whiteRemoteAddress: 127.0.0.1",
        "    defaultTopicPerm: DENY",
        "    defaultGroupPerm: DENY",
        "");

    private static final String LOGBACK = "<configuration><appender name=\"OUT\" "
        + "class=\"ch.qos.logback.core.ConsoleAppender\"><encoder><pattern>%d %p %c{1} - %m%n</pattern>"
        + "</encoder></appender><root level=\"WARN\"><appender-ref ref=\"OUT\"/></root></configuration>\n";

    private final List<AutoCloseable> closing = new ArrayList<>();
    private String namesrvAddress;
    private String brokerAddress;

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(getClass());
        String classpath5 = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        Map<String, String> acl = Map.of("aclEnable", "true");
        if (BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA) {
            JavaNamesrv namesrv = JavaNamesrv.start(classpath5, workDir, SERIALIZE_TYPE);
            closing.add(namesrv);
            // JavaBroker's ROCKETMQ_HOME (and rocketmq.home.dir) is broker-<name>/home.
            Path conf = workDir.resolve("broker-" + BrokerUnderTest.JAVA_BROKER_NAME).resolve("home/conf");
            Files.createDirectories(conf);
            Files.writeString(conf.resolve("plain_acl.yml"), PLAIN_ACL, StandardCharsets.UTF_8);
            // The 4.x BrokerStartup exits without $ROCKETMQ_HOME/conf/logback_broker.xml.
            Files.writeString(conf.resolve("logback_broker.xml"), LOGBACK, StandardCharsets.UTF_8);
            JavaBroker broker = JavaBroker.start(InteropEnv.classpathFromFile("ferrocket.interop.rocketmq49BrokerClasspath"),
                workDir, namesrv.address(), BrokerUnderTest.JAVA_CLUSTER, BrokerUnderTest.JAVA_BROKER_NAME,
                SERIALIZE_TYPE, acl);
            closing.add(0, broker);
            namesrvAddress = namesrv.address();
            brokerAddress = broker.address();
        } else {
            Path file = workDir.resolve("plain_acl.yml");
            Files.createDirectories(workDir);
            Files.writeString(file, PLAIN_ACL, StandardCharsets.UTF_8);
            BrokerUnderTest broker = BrokerUnderTest.start(workDir, classpath5, SERIALIZE_TYPE,
                Map.of("aclEnable", "true", "plainAclFile", file.toString()));
            closing.add(broker);
            namesrvAddress = broker.namesrvAddress();
            brokerAddress = broker.brokerAddress();
        }
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    private static RPCHook hook(String accessKey, String secretKey) {
        return new AclClientRPCHook(new SessionCredentials(accessKey, secretKey));
    }

    /** One request, signed by {@code hook} (none: unsigned), on a client of its own. */
    private RemotingCommand invoke(RPCHook hook, RemotingCommand request) throws Exception {
        NettyRemotingClient client = new NettyRemotingClient(new NettyClientConfig());
        if (hook != null) {
            client.registerRPCHook(hook);
        }
        client.start();
        try {
            return client.invokeSync(brokerAddress, request, TIMEOUT_MS);
        } finally {
            client.shutdown();
        }
    }

    private static RemotingCommand createTopic(String topic) {
        CreateTopicRequestHeader header = new CreateTopicRequestHeader();
        header.setTopic(topic);
        header.setDefaultTopic("TBW102");
        header.setReadQueueNums(2);
        header.setWriteQueueNums(2);
        header.setPerm(6);
        header.setTopicFilterType("SINGLE_TAG");
        header.setTopicSysFlag(0);
        header.setOrder(false);
        return RemotingCommand.createRequestCommand(RequestCode.UPDATE_AND_CREATE_TOPIC, header);
    }

    private static RemotingCommand send(String topic) {
        SendMessageRequestHeader header = new SendMessageRequestHeader();
        header.setProducerGroup("aclProducers");
        header.setTopic(topic);
        header.setDefaultTopic("TBW102");
        header.setDefaultTopicQueueNums(2);
        header.setQueueId(0);
        header.setSysFlag(0);
        header.setBornTimestamp(System.currentTimeMillis());
        header.setFlag(0);
        RemotingCommand request = RemotingCommand.createRequestCommand(RequestCode.SEND_MESSAGE, header);
        request.setBody("hello acl".getBytes(StandardCharsets.UTF_8));
        return request;
    }

    private static RemotingCommand pull(String topic, String group) {
        PullMessageRequestHeader header = new PullMessageRequestHeader();
        header.setConsumerGroup(group);
        header.setTopic(topic);
        header.setQueueId(0);
        header.setQueueOffset(0L);
        header.setMaxMsgNums(1);
        header.setSysFlag(0);
        header.setCommitOffset(0L);
        header.setSuspendTimeoutMillis(0L);
        header.setSubVersion(0L);
        return RemotingCommand.createRequestCommand(RequestCode.PULL_MESSAGE, header);
    }

    private static void assertRefused(RemotingCommand response, String message, String frame) {
        assertEquals(ResponseCode.SYSTEM_ERROR, response.getCode(), response.getRemark());
        assertEquals(EXCEPTION + message + ", " + frame, response.getRemark());
    }

    @Test
    @Order(1)
    void an_admin_creates_the_topic_and_a_user_sends_and_pulls_it() throws Exception {
        assertEquals(ResponseCode.SUCCESS, invoke(hook("aclAdmin01", "aclAdminSecret"), createTopic(TOPIC)).getCode());
        DefaultMQProducer producer = new DefaultMQProducer("aclProducers", hook("aclUser01", "aclSecret01"));
        producer.setNamesrvAddr(namesrvAddress);
        producer.setInstanceName("acl-producer-" + System.nanoTime());
        producer.setRetryTimesWhenSendFailed(0);
        producer.setSendMsgTimeout(10_000);
        producer.start();
        DefaultMQPullConsumer consumer = new DefaultMQPullConsumer("aclConsumers", hook("aclUser01", "aclSecret01"));
        consumer.setNamesrvAddr(namesrvAddress);
        consumer.setInstanceName("acl-consumer-" + System.nanoTime());
        try {
            Poll.until("a route for " + TOPIC, ROUTE_WAIT, () -> {
                try {
                    return producer.fetchPublishMessageQueues(TOPIC).size();
                } catch (Exception e) {
                    return 0;
                }
            }, queues -> queues > 0);
            SendResult sent = producer.send(new Message(TOPIC, "hello acl".getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus());
            consumer.start();
            MessageQueue queue = sent.getMessageQueue();
            PullResult pulled = consumer.pull(queue, "*", 0, 32);
            assertEquals(PullStatus.FOUND, pulled.getPullStatus());
            assertEquals(sent.getMsgId(), pulled.getMsgFoundList().get(0).getMsgId());
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }

    @Test
    @Order(2)
    void a_topic_the_account_may_only_read_is_refused_for_sending() throws Exception {
        assertRefused(invoke(hook("aclUser01", "aclSecret01"), send(READ_ONLY_TOPIC)),
            "No default permission for topic:" + READ_ONLY_TOPIC, MANAGER + ".checkPerm(PlainPermissionManager.java:611)");
        assertRefused(invoke(hook("aclUser01", "aclSecret01"), send("AclUnlisted")),
            "No default permission for topic:AclUnlisted", MANAGER + ".checkPerm(PlainPermissionManager.java:606)");
    }

    /**
     * Both resources fail; Java names the one its HashMap walks first: the group (bucket 13 of
     * {@code %RETRY%aclFrozenGroup}), added after the topic (bucket 15 of {@code AclSecret}).
     */
    @Test
    @Order(3)
    void a_pull_refused_on_topic_and_group_names_the_resource_java_walks_first() throws Exception {
        assertRefused(invoke(hook("aclUser01", "aclSecret01"), pull("AclSecret", "aclFrozenGroup")),
            "No default permission for group:aclFrozenGroup", MANAGER + ".checkPerm(PlainPermissionManager.java:611)");
    }

    @Test
    @Order(4)
    void a_wrong_secret_an_unknown_key_and_no_key_are_refused() throws Exception {
        assertRefused(invoke(hook("aclUser01", "notTheSecret"), send(TOPIC)),
            "Check signature failed for accessKey=aclUser01", MANAGER + ".validate(PlainPermissionManager.java:684)");
        assertRefused(invoke(hook("nobody0001", "whatever01"), send(TOPIC)),
            "No acl config for nobody0001", MANAGER + ".validate(PlainPermissionManager.java:668)");
        assertRefused(invoke(null, RemotingCommand.createRequestCommand(RequestCode.GET_BROKER_CONFIG, null)),
            "No accessKey is configured", MANAGER + ".validate(PlainPermissionManager.java:664)");
    }

    @Test
    @Order(5)
    void a_non_admin_cannot_create_a_topic() throws Exception {
        assertRefused(invoke(hook("aclUser01", "aclSecret01"), createTopic("AclByUser")),
            "Need admin permission for request code=17, but accessKey=aclUser01 is not",
            MANAGER + ".checkPerm(PlainPermissionManager.java:581)");
    }

    /** An account whose whiteRemoteAddress matches skips the signature and every permission. */
    @Test
    @Order(6)
    void a_whitelisted_address_skips_signature_and_permissions() throws Exception {
        RemotingCommand response = invoke(hook("aclWhite01", "notTheSecret"), send(TOPIC));
        assertEquals(ResponseCode.SUCCESS, response.getCode(), response.getRemark());
        assertNotNull(response.getExtFields(), "a send's answer carries the message id");
    }
}
