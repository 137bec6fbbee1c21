package org.ferrocket.interop.broker.v49;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.common.DataVersion;
import org.apache.rocketmq.common.protocol.RequestCode;
import org.apache.rocketmq.common.protocol.ResponseCode;
import org.apache.rocketmq.common.protocol.header.CreateAccessConfigRequestHeader;
import org.apache.rocketmq.common.protocol.header.CreateTopicRequestHeader;
import org.apache.rocketmq.common.protocol.header.DeleteAccessConfigRequestHeader;
import org.apache.rocketmq.common.protocol.header.GetBrokerAclConfigResponseHeader;
import org.apache.rocketmq.common.protocol.header.UpdateGlobalWhiteAddrsConfigRequestHeader;
import com.alibaba.fastjson.JSON;
import org.apache.rocketmq.remoting.CommandCustomHeader;
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
 * ACL 1.0's admin codes and file reload as a 4.x operator uses them: the requests 4.9.8's
 * {@code MQClientAPIImpl} sends for mqadmin's updateAclConfig, deleteAccessConfig,
 * updateGlobalWhiteAddr and clusterAclConfigVersion (its own headers, signed by an admin account
 * with {@code AclClientRPCHook}) change {@code plain_acl.yml}; the change is in the file and in
 * force, and a hand edit of the file is in force without a restart. (4.9.8's
 * {@code DefaultMQAdminExt} itself is refused "Check signature failed" by the 4.9.x broker here,
 * so the test sends the same requests on a remoting client of its own.) With {@code -Dbroker.impl=java}: the official broker (4.9.7 with
 * the 4.9.8 ACL module, see pom.xml), which applies some changes only when its file watcher
 * (every 5 s) reloads, hence the polls.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AclPlainAdminWithJava49Test {

    private static final String SERIALIZE_TYPE = "ROCKETMQ";
    private static final long TIMEOUT_MS = 10_000;
    private static final Duration APPLIED_WAIT = Duration.ofSeconds(20);
    private static final String TOPIC = "AclAdminTopic";
    private static final String NEW_KEY = "aclNew0001";
    private static final String NEW_SECRET = "aclNewSecret1";
    private static final String EXCEPTION = "org.apache.rocketmq.acl.common.AclException: ";
    private static final String MANAGER = "org.apache.rocketmq.acl.plain.PlainPermissionManager";

    private static final String PLAIN_ACL = String.join("\n",
        "accounts:",
        "  - accessKey: aclUser01",
        "    secretKey: aclSecret01",
        "    admin: false",
        "    defaultTopicPerm: PUB",
        "  - accessKey: aclAdmin01",
        "    secretKey: aclAdminSecret",
        "    admin: true",
        "");

    private static final String LOGBACK = "<configuration><appender name=\"OUT\" "
        + "class=\"ch.qos.logback.core.ConsoleAppender\"><encoder><pattern>%d %p %c{1} - %m%n</pattern>"
        + "</encoder></appender><root level=\"WARN\"><appender-ref ref=\"OUT\"/></root></configuration>\n";

    private final List<AutoCloseable> closing = new ArrayList<>();
    private String namesrvAddress;
    private String brokerAddress;
    private Path aclFile;

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(getClass());
        String classpath5 = InteropEnv.classpathFromFile("ferrocket.interop.rocketmq5Classpath");
        if (BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA) {
            JavaNamesrv namesrv = JavaNamesrv.start(classpath5, workDir, SERIALIZE_TYPE);
            closing.add(namesrv);
            Path conf = workDir.resolve("broker-" + BrokerUnderTest.JAVA_BROKER_NAME).resolve("home/conf");
            Files.createDirectories(conf);
            aclFile = conf.resolve("plain_acl.yml");
            Files.writeString(aclFile, PLAIN_ACL, StandardCharsets.UTF_8);
            Files.writeString(conf.resolve("logback_broker.xml"), LOGBACK, StandardCharsets.UTF_8);
            JavaBroker broker = JavaBroker.start(InteropEnv.classpathFromFile("ferrocket.interop.rocketmq49BrokerClasspath"),
                workDir, namesrv.address(), BrokerUnderTest.JAVA_CLUSTER, BrokerUnderTest.JAVA_BROKER_NAME,
                SERIALIZE_TYPE, Map.of("aclEnable", "true"));
            closing.add(0, broker);
            namesrvAddress = namesrv.address();
            brokerAddress = broker.address();
        } else {
            Files.createDirectories(workDir);
            aclFile = workDir.resolve("plain_acl.yml");
            Files.writeString(aclFile, PLAIN_ACL, StandardCharsets.UTF_8);
            BrokerUnderTest broker = BrokerUnderTest.start(workDir, classpath5, SERIALIZE_TYPE,
                Map.of("aclEnable", "true", "plainAclFile", aclFile.toString()));
            closing.add(broker);
            namesrvAddress = broker.namesrvAddress();
            brokerAddress = broker.brokerAddress();
        }
        assertEquals(ResponseCode.SUCCESS, invoke(hook("aclAdmin01", "aclAdminSecret"), createTopic()).getCode());
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

    private static RemotingCommand createTopic() {
        CreateTopicRequestHeader header = new CreateTopicRequestHeader();
        header.setTopic(TOPIC);
        header.setDefaultTopic("TBW102");
        header.setReadQueueNums(2);
        header.setWriteQueueNums(2);
        header.setPerm(6);
        header.setTopicFilterType("SINGLE_TAG");
        header.setTopicSysFlag(0);
        header.setOrder(false);
        return RemotingCommand.createRequestCommand(RequestCode.UPDATE_AND_CREATE_TOPIC, header);
    }

    private static RemotingCommand send() {
        SendMessageRequestHeader header = new SendMessageRequestHeader();
        header.setProducerGroup("aclAdminProducers");
        header.setTopic(TOPIC);
        header.setDefaultTopic("TBW102");
        header.setDefaultTopicQueueNums(2);
        header.setQueueId(0);
        header.setSysFlag(0);
        header.setBornTimestamp(System.currentTimeMillis());
        header.setFlag(0);
        RemotingCommand request = RemotingCommand.createRequestCommand(RequestCode.SEND_MESSAGE, header);
        request.setBody("hello acl admin".getBytes(StandardCharsets.UTF_8));
        return request;
    }

    /** Polls a send signed by {@code hook} until its answer's remark (null: success) is {@code expected}. */
    private void awaitSend(RPCHook hook, String expected) throws InterruptedException {
        String what = expected == null ? "a send accepted" : "a send refused with " + expected;
        Poll.until(what, APPLIED_WAIT, () -> {
            try {
                RemotingCommand response = invoke(hook, send());
                return response.getCode() == ResponseCode.SUCCESS ? "OK" : response.getRemark();
            } catch (Exception e) {
                return e.toString();
            }
        }, remark -> Objects.equals(remark, expected == null ? "OK" : expected));
    }

    /** What 4.9.8's {@code MQClientAPIImpl.createPlainAccessConfig} sends for the account. */
    private static CreateAccessConfigRequestHeader account(String topicPerm) {
        CreateAccessConfigRequestHeader header = new CreateAccessConfigRequestHeader();
        header.setAccessKey(NEW_KEY);
        header.setSecretKey(NEW_SECRET);
        // No whiteRemoteAddress: an empty header value reaches the 4.9.x broker as null and no
        // longer matches the signature (mqadmin leaves it out unless -w is given).
        header.setAdmin(false);
        header.setDefaultTopicPerm("DENY");
        header.setDefaultGroupPerm("SUB");
        header.setTopicPerms(TOPIC + "=" + topicPerm);
        header.setGroupPerms("aclAdminGroup=SUB");
        return header;
    }

    /** An admin code signed by the admin account, as the 4.9.8 admin tool sends it. */
    private RemotingCommand asAdmin(int code, CommandCustomHeader header) throws Exception {
        return invoke(hook("aclAdmin01", "aclAdminSecret"), RemotingCommand.createRequestCommand(code, header));
    }

    private void assertSuccess(RemotingCommand response) {
        assertEquals(ResponseCode.SUCCESS, response.getCode(), response.getRemark());
    }

    private String aclFileText() throws Exception {
        return Files.readString(aclFile, StandardCharsets.UTF_8);
    }

    @Test
    @Order(1)
    void an_admin_adds_an_account_that_is_written_and_in_force() throws Exception {
        assertSuccess(asAdmin(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, account("PUB")));
        assertTrue(aclFileText().contains(NEW_KEY), aclFileText());
        awaitSend(hook(NEW_KEY, NEW_SECRET), null);
    }

    @Test
    @Order(2)
    void a_non_admin_may_not_change_accounts() throws Exception {
        CreateAccessConfigRequestHeader header = new CreateAccessConfigRequestHeader();
        header.setAccessKey("aclSneaky01");
        header.setSecretKey("aclSneakySecret");
        header.setAdmin(true);
        RemotingCommand response = invoke(hook("aclUser01", "aclSecret01"),
            RemotingCommand.createRequestCommand(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, header));
        if (BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA) {
            // 4.9.8's admin codes are five topic and group codes: any account may write accounts,
            // an admin one included. Observed here, and undone.
            assertSuccess(response);
            assertTrue(aclFileText().contains("aclSneaky01"));
            DeleteAccessConfigRequestHeader delete = new DeleteAccessConfigRequestHeader();
            delete.setAccessKey("aclSneaky01");
            assertSuccess(asAdmin(RequestCode.DELETE_ACL_CONFIG, delete));
            return;
        }
        assertEquals(ResponseCode.SYSTEM_ERROR, response.getCode(), response.getRemark());
        assertEquals(EXCEPTION + "Need admin permission for request code=50, but accessKey=aclUser01 is not, "
            + MANAGER + ".checkPerm(PlainPermissionManager.java:581)", response.getRemark());
        assertFalse(aclFileText().contains("aclSneaky01"));
    }

    @Test
    @Order(3)
    void an_update_takes_the_permission_away_and_moves_the_file_version_on() throws Exception {
        long before = fileVersionCounter();
        assertSuccess(asAdmin(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, account("SUB")));
        awaitSend(hook(NEW_KEY, NEW_SECRET), EXCEPTION + "No default permission for topic:" + TOPIC + ", "
            + MANAGER + ".checkPerm(PlainPermissionManager.java:611)");
        assertEquals(before + 1, fileVersionCounter());
    }

    /** GET_BROKER_CLUSTER_ACL_INFO: the counter of plain_acl.yml's dataVersion. */
    private long fileVersionCounter() throws Exception {
        RemotingCommand response = asAdmin(RequestCode.GET_BROKER_CLUSTER_ACL_INFO, null);
        assertSuccess(response);
        GetBrokerAclConfigResponseHeader info = (GetBrokerAclConfigResponseHeader)
            response.decodeCommandCustomHeader(GetBrokerAclConfigResponseHeader.class);
        assertEquals(BrokerUnderTest.JAVA_CLUSTER, info.getClusterName());
        assertEquals(brokerAddress, info.getBrokerAddr());
        // `version` is deprecated and, on 4.9.8, stays at the start-up value; the map is current.
        assertNotNull(DataVersion.fromJson(info.getVersion(), DataVersion.class), info.getVersion());
        Map<String, Object> all = JSON.parseObject(info.getAllAclFileVersion(), Map.class);
        Object fileVersion = all.entrySet().stream().filter(e -> e.getKey().endsWith("plain_acl.yml"))
            .findFirst().orElseThrow().getValue();
        long counter = DataVersion.fromJson(JSON.toJSONString(fileVersion), DataVersion.class).getCounter().get();
        assertTrue(counter > 0, info.getAllAclFileVersion());
        return counter;
    }

    @Test
    @Order(4)
    void a_deleted_account_is_gone_from_the_file_and_unknown() throws Exception {
        DeleteAccessConfigRequestHeader delete = new DeleteAccessConfigRequestHeader();
        delete.setAccessKey(NEW_KEY);
        assertSuccess(asAdmin(RequestCode.DELETE_ACL_CONFIG, delete));
        assertFalse(aclFileText().contains(NEW_KEY), aclFileText());
        awaitSend(hook(NEW_KEY, NEW_SECRET), EXCEPTION + "No acl config for " + NEW_KEY + ", "
            + MANAGER + ".validate(PlainPermissionManager.java:668)");
        RemotingCommand again = asAdmin(RequestCode.DELETE_ACL_CONFIG, delete);
        assertEquals(ResponseCode.DELETE_ACL_CONFIG_FAILED, again.getCode());
        assertEquals("The accesskey[" + NEW_KEY + "] corresponding to accessConfig has been deleted failed.",
            again.getRemark());
    }

    @Test
    @Order(5)
    void a_hand_edit_of_the_file_is_in_force_without_a_restart() throws Exception {
        String edited = PLAIN_ACL + String.join("\n",
            "  - accessKey: aclHand001",
            "    secretKey: aclHandSecret",
            "    defaultTopicPerm: PUB",
            "");
        Files.writeString(aclFile, edited, StandardCharsets.UTF_8);
        awaitSend(hook("aclHand001", "aclHandSecret"), null);
    }

    @Test
    @Order(6)
    void the_global_whitelist_is_replaced_in_the_named_file_only() throws Exception {
        UpdateGlobalWhiteAddrsConfigRequestHeader header = new UpdateGlobalWhiteAddrsConfigRequestHeader();
        header.setGlobalWhiteAddrs("127.0.0.1");
        header.setAclFileFullPath(aclFile.resolveSibling("nope.yml").toString());
        RemotingCommand elsewhere = asAdmin(RequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, header);
        assertEquals(ResponseCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED, elsewhere.getCode());
        assertEquals("The globalWhiteAddresses[127.0.0.1] has been updated failed.", elsewhere.getRemark());
        header.setGlobalWhiteAddrs("10.10.103.*,127.0.0.1");
        header.setAclFileFullPath(aclFile.toString());
        assertSuccess(asAdmin(RequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, header));
        assertTrue(aclFileText().contains("127.0.0.1"), aclFileText());
        awaitSend(null, null);
    }

    /**
     * mqadmin 4.9.8 itself (MQAdminStartup from this JVM's rocketmq-tools 4.9.8, signing as the
     * admin account from its {@code conf/tools.yml}) for the four ACL subcommands: each succeeds on
     * the Java 4.9.x broker (observed) and on ours (updateGlobalWhiteAddr sends no aclFileFullPath:
     * both update their default file), the file shows the changes, and the account it added
     * sends. (So the signature failure this class's head mentions is not what mqadmin's
     * own subcommands meet: an empty header value is refused, and mqadmin sends none for an
     * option left out.)
     */
    @Test
    @Order(7)
    void mqadmin_498_itself() throws Exception {
        boolean java = BrokerUnderTest.selectedImpl() == BrokerUnderTest.Impl.JAVA;
        Path workDir = aclFile.getParent().resolve("mqadmin498");
        org.ferrocket.interop.namesrv.support.MqAdmin mqadmin = new org.ferrocket.interop.namesrv.support.MqAdmin(
            System.getProperty("java.class.path"), workDir, namesrvAddress, SERIALIZE_TYPE);
        Path tools = workDir.resolve("mqadmin").resolve("home").resolve("conf").resolve("tools.yml");
        Files.createDirectories(tools.getParent());
        Files.writeString(tools, "accessKey: aclAdmin01\nsecretKey: aclAdminSecret\n", StandardCharsets.UTF_8);
        // What each prints on success (Java 4.9.x broker and ours alike).
        String[] expected = {
            "create or update plain access config to " + brokerAddress + " success.",
            "create or update plain access config to " + brokerAddress + " success.",
            "delete plain access config account from " + brokerAddress + " success.",
            "update global white remote addresses to " + brokerAddress + " success.",
            "get broker's plain access config version success.",
        };
        String[][] commands = {
            {"updateAclConfig", "-b", brokerAddress, "-a", "aclCli0001", "-s", "aclCliSecret1", "-i", "PUB"},
            {"updateAclConfig", "-b", brokerAddress, "-a", "aclCli0002", "-s", "aclCliSecret2", "-i", "PUB",
                "-w", "127.0.0.1"},
            {"deleteAccessConfig", "-b", brokerAddress, "-a", "aclCli0002"},
            {"updateGlobalWhiteAddr", "-b", brokerAddress, "-g", "10.10.104.*,127.0.0.1"},
            {"clusterAclConfigVersion", "-b", brokerAddress},
        };
        StringBuilder seen = new StringBuilder();
        for (int i = 0; i < commands.length; i++) {
            String[] command = commands[i];
            org.ferrocket.interop.namesrv.support.MqAdmin.Result result = mqadmin.run(command);
            assertEquals(0, result.exitStatus(), result.toString());
            // updateGlobalWhiteAddr sends no aclFileFullPath: both brokers update their default file.
            assertTrue(result.stdout().contains(expected[i]), result.toString());
            String out = result.stdout().lines().filter(l -> !l.isBlank()).limit(3)
                .reduce("", (a, b) -> a + " | " + b);
            seen.append("\n").append(String.join(" ", command)).append(" -> exit ").append(result.exitStatus())
                .append(out);
        }
        System.out.println("AclPlainAdminWithJava49Test mqadmin 4.9.8 (" + BrokerUnderTest.selectedImpl() + "):" + seen);
        String file = aclFileText();
        System.out.println("file now:\n" + file);
        assertTrue(file.contains("aclCli0001") && !file.contains("aclCli0002"), file);
        assertTrue(file.contains("10.10.104.*"), file);
        awaitSend(hook("aclCli0001", "aclCliSecret1"), null);
    }
}
