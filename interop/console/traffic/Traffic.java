// Traffic for the console's browser test, from the official Java client 5.3.3:
//   java -cp <client classpath> Traffic.java <namesrv> <topic> <group>
// Sends 10 messages (the 4th with key "find-me"), consumes them with a push consumer of <group>,
// shuts the consumer down (committing its offsets), then sends 5 more: the group's lag is 5.
// Prints "TRAFFIC DONE" at the end; any failure exits non-zero.
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;

public class Traffic {
    static final int FIRST = 10;
    static final int LATER = 5;

    public static void main(String[] args) {
        // The client's threads are not daemons: a failure must end the process, not hang it.
        try {
            run(args);
        } catch (Throwable failure) {
            failure.printStackTrace();
            System.exit(1);
        }
    }

    static void run(String[] args) throws Exception {
        String namesrv = args[0], topic = args[1], group = args[2];
        DefaultMQProducer producer = new DefaultMQProducer("ConsoleProducer");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("console-producer");
        // Two cores shared with builds: the default 3 s is not enough for a first send there.
        producer.setSendMsgTimeout(15_000);
        producer.start();
        for (int i = 0; i < FIRST; i++) {
            String key = i == 3 ? "find-me" : "key-" + i;
            send(producer, new Message(topic, "TagA", key, ("hello " + key).getBytes(StandardCharsets.UTF_8)));
        }
        CountDownLatch consumed = new CountDownLatch(FIRST);
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("console-consumer");
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(message -> consumed.countDown());
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        if (!consumed.await(60, TimeUnit.SECONDS)) {
            throw new AssertionError("consumed only " + (FIRST - consumed.getCount()) + " of " + FIRST);
        }
        // A few more long polls for the live view, then the shutdown commits the offsets.
        Thread.sleep(1500);
        consumer.shutdown();
        for (int i = 0; i < LATER; i++) {
            send(producer, new Message(topic, "TagA", "later-" + i, ("later " + i).getBytes(StandardCharsets.UTF_8)));
        }
        producer.shutdown();
        System.out.println("TRAFFIC DONE sent=" + (FIRST + LATER) + " consumed=" + FIRST);
        DefaultMQPushConsumer live = new DefaultMQPushConsumer(group + "Live");
        live.setNamesrvAddr(namesrv);
        live.setInstanceName("console-live");
        live.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        live.subscribe(topic, "*");
        live.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(message -> System.out.println(
                "LISTENER " + new String(message.getBody(), StandardCharsets.UTF_8)));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        live.start();
        // The start's heartbeat registers the client; one more second for the broker to see it.
        Thread.sleep(1000);
        System.out.println("LIVE READY " + live.buildMQClientId());
        while (System.in.read() != -1) {
            // Until the test closes stdin.
        }
        live.shutdown();
        System.exit(0);
    }

    static void send(DefaultMQProducer producer, Message message) throws Exception {
        SendResult result = producer.send(message);
        if (result.getSendStatus() != SendStatus.SEND_OK) {
            throw new AssertionError("send status " + result.getSendStatus());
        }
    }
}
