package org.ferrocket.interop.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import apache.rocketmq.v2.Code;
import apache.rocketmq.v2.MessagingServiceGrpc;
import apache.rocketmq.v2.QueryRouteRequest;
import apache.rocketmq.v2.QueryRouteResponse;
import apache.rocketmq.v2.Resource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientException;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.shaded.grpc.netty.NettyChannelBuilder;
import org.apache.rocketmq.shaded.io.grpc.ManagedChannel;
import org.apache.rocketmq.shaded.io.grpc.Metadata;
import org.apache.rocketmq.shaded.io.grpc.stub.MetadataUtils;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.ferrocket.interop.namesrv.support.InteropEnv;
import org.ferrocket.interop.namesrv.support.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * 5.x auth over gRPC (authenticationEnabled, authorizationEnabled): the official 5.x client with a
 * {@code StaticSessionCredentialsProvider} signs each call's {@code authorization} metadata
 * (MQv2-HMAC-SHA1 over {@code x-mq-date-time}). A user whose ACL allows a topic sends and receives
 * on it; a denied topic, a wrong secret, an unknown user and no credentials are answered in band
 * with UNAUTHORIZED (40100) and Java's message. Java's local-mode proxy first
 * ({@code -Dbroker.impl=java}), then ours.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthTest {

    private static final Duration ROUTE_WAIT = Duration.ofSeconds(30);
    private static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();
    private static final String ROOT = "root";
    private static final String ROOT_SECRET = "rootsecret1";
    private static final String ALICE = "alice";
    private static final String ALICE_SECRET = "alicesecret1";
    private static final String ALLOWED = "GrpcAuthOk";
    private static final String DENIED = "GrpcAuthDenied";
    private static final String GROUP = "GrpcAuthGroup";

    private GrpcEndpoint endpoint;
    private DefaultMQAdminExt admin;

    @BeforeAll
    void start() throws Exception {
        Path workDir = InteropEnv.freshWorkDir(AuthTest.class);
        Map<String, String> conf = new java.util.LinkedHashMap<>();
        conf.put("authenticationEnabled", "true");
        conf.put("authorizationEnabled", "true");
        conf.put("authenticationProvider", "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider");
        conf.put("authenticationMetadataProvider",
            "org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider");
        conf.put("authorizationProvider", "org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider");
        conf.put("authorizationMetadataProvider",
            "org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider");
        conf.put("initAuthenticationUser", "{\"username\":\"" + ROOT + "\",\"password\":\"" + ROOT_SECRET + "\"}");
        endpoint = GrpcEndpoint.startWithBrokerConf(workDir, conf);
        admin = new DefaultMQAdminExt(new AclClientRPCHook(new SessionCredentials(ROOT, ROOT_SECRET)));
        admin.setNamesrvAddr(endpoint.namesrvAddress);
        admin.setInstanceName("grpc-it-auth-admin-" + ProcessHandle.current().pid());
        admin.start();
        for (String topic : List.of(ALLOWED, DENIED)) {
            createTopic(topic);
        }
        admin.createUser(endpoint.brokerAddress, ALICE, ALICE_SECRET, "Normal");
        admin.createAcl(endpoint.brokerAddress, "User:" + ALICE, List.of("Topic:" + ALLOWED, "Group:" + GROUP),
            List.of("Pub", "Sub"), List.of(), "Allow");
        admin.createAcl(endpoint.brokerAddress, "User:" + ALICE, List.of("Topic:" + DENIED), List.of("Pub"),
            List.of(), "Deny");
    }

    @AfterAll
    void stop() throws Exception {
        if (admin != null) {
            admin.shutdown();
        }
        if (endpoint != null) {
            endpoint.close();
        }
    }

    private void createTopic(String topic) throws Exception {
        TopicConfig config = new TopicConfig(topic, 2, 2, 6);
        Map<String, String> attributes = new HashMap<>();
        attributes.put("+message.type", "NORMAL");
        config.setAttributes(attributes);
        admin.createAndUpdateTopicConfig(endpoint.brokerAddress, config);
        Poll.until("the route of " + topic, ROUTE_WAIT, () -> {
            try {
                return admin.examineTopicRouteInfo(topic);
            } catch (Exception notYet) {
                return null;
            }
        }, (TopicRouteData route) -> route != null && !route.getQueueDatas().isEmpty());
    }

    /** A configuration signed as {@code accessKey}/{@code secret}; none when {@code accessKey} is null. */
    private ClientConfiguration configuration(String accessKey, String secret) {
        org.apache.rocketmq.client.apis.ClientConfigurationBuilder builder = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint.grpcAddress)
            .enableSsl(false)
            .setRequestTimeout(Duration.ofSeconds(10));
        if (accessKey != null) {
            builder.setCredentialProvider(new StaticSessionCredentialsProvider(accessKey, secret));
        }
        return builder.build();
    }

    private static Message message(String topic, String body) {
        return PROVIDER.newMessageBuilder().setTopic(topic).setTag("TagA")
            .setBody(body.getBytes(StandardCharsets.UTF_8)).build();
    }

    /**
     * A producer (no topics named, so it starts without a route) whose send to {@code topic} is
     * refused: the client's exception names the in-band code and carries the server's message.
     */
    private void assertSendRefused(String accessKey, String secret, String topic, String remark) throws Exception {
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(configuration(accessKey, secret))
            .build()) {
            ClientException refused = assertThrows(ClientException.class, () -> producer.send(message(topic, "x")));
            String text = refused.getClass().getSimpleName() + ": " + refused.getMessage();
            System.out.println("AuthTest refused (" + accessKey + "): " + text);
            assertEquals("UnauthorizedException", refused.getClass().getSimpleName(), text);
            assertTrue(text.contains("response-code=40100"), text);
            assertTrue(text.endsWith(remark), text + "\nwanted the remark: " + remark);
        }
    }

    @Test
    void anAllowedUserSendsAndReceives() throws Exception {
        ClientConfiguration configuration = configuration(ALICE, ALICE_SECRET);
        try (Producer producer = PROVIDER.newProducerBuilder().setClientConfiguration(configuration)
            .setTopics(ALLOWED).build();
             SimpleConsumer consumer = PROVIDER.newSimpleConsumerBuilder().setClientConfiguration(configuration)
                 .setConsumerGroup(GROUP).setAwaitDuration(Duration.ofSeconds(3))
                 .setSubscriptionExpressions(Collections.singletonMap(ALLOWED, FilterExpression.SUB_ALL)).build()) {
            producer.send(message(ALLOWED, "signed"));
            List<String> bodies = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (bodies.isEmpty() && System.nanoTime() < deadline) {
                for (MessageView view : consumer.receive(16, Duration.ofSeconds(30))) {
                    byte[] bytes = new byte[view.getBody().remaining()];
                    view.getBody().get(bytes);
                    bodies.add(new String(bytes, StandardCharsets.UTF_8));
                    consumer.ack(view);
                }
            }
            assertEquals(List.of("signed"), bodies, endpoint.tail(20));
        }
    }

    @Test
    void aDeniedTopicIsRefused() throws Exception {
        assertSendRefused(ALICE, ALICE_SECRET, DENIED,
            "User:" + ALICE + " has no permission to access Topic:" + DENIED + " from 127.0.0.1, the decision is deny.");
    }

    @Test
    void aTopicWithoutAPolicyIsRefused() throws Exception {
        assertSendRefused(ALICE, ALICE_SECRET, "GrpcAuthUnlisted",
            "User:" + ALICE + " has no permission to access Topic:GrpcAuthUnlisted from 127.0.0.1, no matched policies.");
    }

    @Test
    void aWrongSecretIsRefused() throws Exception {
        assertSendRefused(ALICE, "not-the-secret", ALLOWED, "check signature failed.");
    }

    @Test
    void anUnknownUserIsRefused() throws Exception {
        assertSendRefused("mallory", ALICE_SECRET, ALLOWED, "User:mallory is not found.");
    }

    @Test
    void noCredentialsAreRefused() throws Exception {
        assertSendRefused(null, null, ALLOWED, "username cannot be null.");
    }

    /**
     * A caller signed as alice that also sends {@code x-mq-authorization-ak: root}: Java's proxy
     * fills that metadata in only when the client did not ({@code putHeaderIfNotExist}) and
     * authorizes whoever it names, so it answers the denied topic's route (recorded as Java's
     * behaviour); ours authorizes the authenticated caller and refuses.
     */
    @Test
    void aSubjectNamedInTheMetadataIsNotTakenForTheCaller() throws Exception {
        String datetime = "20261207T091500Z";
        Mac mac = Mac.getInstance("HmacSHA1");
        mac.init(new SecretKeySpec(ALICE_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
        StringBuilder hex = new StringBuilder();
        for (byte b : mac.doFinal(datetime.getBytes(StandardCharsets.UTF_8))) {
            hex.append(String.format("%02x", b));
        }
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("x-mq-client-id", Metadata.ASCII_STRING_MARSHALLER), "grpc-it-auth@" + UUID.randomUUID());
        headers.put(Metadata.Key.of("x-mq-language", Metadata.ASCII_STRING_MARSHALLER), "JAVA");
        headers.put(Metadata.Key.of("x-mq-protocol", Metadata.ASCII_STRING_MARSHALLER), "v2");
        headers.put(Metadata.Key.of("x-mq-client-version", Metadata.ASCII_STRING_MARSHALLER), "5.2.0");
        headers.put(Metadata.Key.of("x-mq-date-time", Metadata.ASCII_STRING_MARSHALLER), datetime);
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
            "MQv2-HMAC-SHA1 Credential=" + ALICE + ", SignedHeaders=x-mq-date-time, Signature=" + hex);
        headers.put(Metadata.Key.of("x-mq-authorization-ak", Metadata.ASCII_STRING_MARSHALLER), ROOT);
        ManagedChannel channel = NettyChannelBuilder.forTarget(endpoint.grpcAddress).usePlaintext().build();
        try {
            MessagingServiceGrpc.MessagingServiceBlockingStub stub = MessagingServiceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(10, TimeUnit.SECONDS);
            QueryRouteResponse route = stub.queryRoute(QueryRouteRequest.newBuilder()
                .setTopic(Resource.newBuilder().setName(DENIED)).build());
            System.out.println("AuthTest impersonation: " + route.getStatus().getCode() + " " + route.getStatus().getMessage());
            if (endpoint.java) {
                assertEquals(Code.OK, route.getStatus().getCode(), route.getStatus().toString());
            } else {
                assertEquals(Code.UNAUTHORIZED, route.getStatus().getCode(), route.getStatus().toString());
                assertEquals("User:" + ALICE + " has no permission to access Topic:" + DENIED
                    + " from 127.0.0.1, the decision is deny.", route.getStatus().getMessage());
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
