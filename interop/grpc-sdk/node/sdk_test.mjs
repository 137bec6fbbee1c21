// The official Node.js 5.x gRPC client (rocketmq-client-nodejs, npm) against the endpoint in
// FERROCKET_GRPC_ENDPOINT, over plaintext (the client's default; with sslEnabled it verifies the
// certificate, which a self-signed one fails). run.sh starts the target and creates the topics
// <prefix>Normal, Fifo, Delay and Tx with their message.type first. Exits non-zero on failure.
import { FilterExpression, Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { createRequire } from 'node:module';

// The client's own generated protobuf module (CommonJS), for the checker's answer.
const { TransactionResolution } = createRequire(import.meta.url)('rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition_pb.js');

const DELAY_MS = 3000; // long enough to tell "delayed" from "not"
const INVISIBLE_MS = 15000; // the proxy's minInvisibleTimeMillsForRecv is 10 s
const AWAIT_MS = 5000; // the long poll: Java refuses a deadline that leaves under 5 s
const RECEIVE_DEADLINE_MS = 60000; // every expected message arrives well before this when loaded

const began = Date.now();
const log = text => console.log(`[${((Date.now() - began) / 1000).toFixed(1)} s] ${text}`);

// The client's shutdown can wait minutes on its own timers (against Java's proxy too): a bounded
// wait, then the process exits anyway.
const SHUTDOWN_WAIT_MS = 5000;

async function shutdown(client, name) {
  const started = Date.now();
  const finished = await Promise.race([
    client.shutdown().then(() => true),
    new Promise(resolve => setTimeout(resolve, SHUTDOWN_WAIT_MS, false).unref()),
  ]);
  log(`${name} shutdown ${finished ? 'done' : 'still running'} after ${Date.now() - started} ms`);
}

function fail(text) {
  log(`FAIL: ${text}`);
  process.exit(1);
}

const endpoints = process.env.FERROCKET_GRPC_ENDPOINT;
const prefix = process.env.FERROCKET_SDK_TOPIC_PREFIX;
if (!endpoints || !prefix) fail('FERROCKET_GRPC_ENDPOINT and FERROCKET_SDK_TOPIC_PREFIX must be set (run through run.sh)');
const [ normal, fifo, delayed, tx ] = [ 'Normal', 'Fifo', 'Delay', 'Tx' ].map(name => prefix + name);
// Warnings and errors only: the client's own INFO lines would bury the test's.
const logger = { info() {}, debug() {}, warn: console.warn, error: console.error };

// No `topics`: a client given topics waits at start-up for a settings answer that comes before
// it starts waiting (1.0.8; against Java's proxy too), then for its 5-minute settings timer.
// Without them it fetches each route at its first send.
const producer = new Producer({
  endpoints, namespace: '', logger,
  checker: { async check() { return TransactionResolution.COMMIT; } },
});
await producer.startup();
log('producer started');
const expected = new Map(); // body -> topic
let delayDue;
try {
  const send = async (message, transaction) => {
    const receipt = await producer.send(message, transaction);
    if (!receipt.messageId) fail(`send ${message.body}: no message id`);
  };
  for (let i = 0; i < 3; i++) {
    const body = `node-normal-${i}`;
    await send({ topic: normal, body: Buffer.from(body), tag: 'tagA', keys: [ `key-${i}` ] });
    expected.set(body, normal);
  }
  for (let i = 0; i < 2; i++) {
    const body = `node-fifo-${i}`;
    await send({ topic: fifo, body: Buffer.from(body), messageGroup: 'group-1' });
    expected.set(body, fifo);
  }
  delayDue = Date.now() + DELAY_MS;
  await send({ topic: delayed, body: Buffer.from('node-delay'), deliveryTimestamp: new Date(delayDue) });
  expected.set('node-delay', delayed);
  for (const resolution of [ 'commit', 'rollback' ]) {
    const transaction = producer.beginTransaction();
    const body = `node-tx-${resolution}`;
    await send({ topic: tx, body: Buffer.from(body) }, transaction);
    if (resolution === 'commit') {
      await transaction.commit();
      expected.set(body, tx);
    } else {
      await transaction.rollback();
    }
  }
  log(`sent ${expected.size} messages to be consumed`);
} finally {
  await shutdown(producer, 'producer');
}

const consumer = new SimpleConsumer({
  endpoints, namespace: '', logger, consumerGroup: prefix + 'Group', awaitDuration: AWAIT_MS,
  // Subscribed after start-up, for the same reason as the producer's missing `topics`.
  subscriptions: new Map(),
});
await consumer.startup();
for (const topic of [ normal, fifo, delayed, tx ]) await consumer.subscribe(topic, new FilterExpression('*'));
log('consumer started');
try {
  let changed = false;
  const deadline = Date.now() + RECEIVE_DEADLINE_MS;
  while (expected.size > 0 && Date.now() < deadline) {
    const asked = Date.now();
    const messages = await consumer.receive(16, INVISIBLE_MS);
    log(`receive: ${messages.length} messages in ${Date.now() - asked} ms`);
    for (const message of messages) {
      const body = message.body.toString();
      const topic = expected.get(body);
      if (topic === undefined) fail(`unexpected or repeated message ${body} from ${message.topic}`);
      expected.delete(body);
      if (message.topic !== topic) fail(`${body} came from ${message.topic}, sent to ${topic}`);
      if (topic === fifo && message.messageGroup !== 'group-1') fail(`${body} lost its message group: ${message.messageGroup}`);
      if (topic === normal && message.tag !== 'tagA') fail(`${body} lost its tag: ${message.tag}`);
      if (topic === delayed && Date.now() < delayDue - 500) fail(`the delay message came ${delayDue - Date.now()} ms early`);
      if (!changed) {
        // The new handle replaces the old one; the ack below must use it.
        const before = message.receiptHandle;
        await consumer.changeInvisibleDuration(message, INVISIBLE_MS + 5000);
        if (!message.receiptHandle || message.receiptHandle === before) fail('changeInvisibleDuration left the receipt handle as it was');
        changed = true;
      }
      await consumer.ack(message);
    }
  }
  if (expected.size > 0) fail(`never received: ${[ ...expected.keys() ]}`);
} finally {
  await shutdown(consumer, 'consumer');
}
log('PASS');
process.exit(0);
