// The official Go v5 gRPC client (github.com/apache/rocketmq-clients/golang/v5, which always
// dials TLS and accepts any certificate) against the endpoint in FERROCKET_GRPC_ENDPOINT: run.sh
// starts the target and creates the topics <prefix>Normal, Fifo, Delay and Tx with their
// message.type first.
package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

// How long the delay message waits: long enough to tell "delayed" from "not".
const delay = 3 * time.Second

// The proxy's minInvisibleTimeMillsForRecv is 10 s; 15 s stays clear of it.
const invisible = 15 * time.Second

// Every expected message has arrived well before this on a loaded machine.
const receiveDeadline = 60 * time.Second

func env(t *testing.T, name string) string {
	value := os.Getenv(name)
	if value == "" {
		t.Fatalf("%s is not set (run through interop/grpc-sdk/run.sh)", name)
	}
	return value
}

func TestSendAndSimpleConsume(t *testing.T) {
	endpoint := env(t, "FERROCKET_GRPC_ENDPOINT")
	prefix := env(t, "FERROCKET_SDK_TOPIC_PREFIX")
	os.Setenv("mq.consoleAppender.enabled", "true")
	os.Setenv("rocketmq.client.logLevel", "warn")
	rmq.ResetLogger()
	normal, fifo, delayed, tx := prefix+"Normal", prefix+"Fifo", prefix+"Delay", prefix+"Tx"
	config := func(group string) *rmq.Config {
		return &rmq.Config{Endpoint: endpoint, ConsumerGroup: group, Credentials: &credentials.SessionCredentials{}}
	}

	// The client gives its start-up route queries 3 s; a Java proxy just started on a loaded
	// machine (JIT still cold) can take longer for the first, so start-up is tried three times.
	var producer rmq.Producer
	var err error
	for attempt := 1; ; attempt++ {
		producer, err = rmq.NewProducer(config(""), rmq.WithTopics(normal, fifo, delayed, tx),
			rmq.WithTransactionChecker(&rmq.TransactionChecker{
				Check: func(*rmq.MessageView) rmq.TransactionResolution { return rmq.COMMIT },
			}))
		if err != nil {
			t.Fatalf("NewProducer: %v", err)
		}
		if err = producer.Start(); err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("producer Start: %v", err)
		}
		t.Logf("producer Start (attempt %d): %v", attempt, err)
		_ = producer.GracefulStop()
	}
	defer producer.GracefulStop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*receiveDeadline)
	defer cancel()

	expected := map[string]string{} // body -> topic
	send := func(msg *rmq.Message) {
		t.Helper()
		receipts, err := producer.Send(ctx, msg)
		if err != nil {
			t.Fatalf("Send %s to %s: %v", msg.Body, msg.Topic, err)
		}
		if len(receipts) != 1 || receipts[0].MessageID == "" {
			t.Fatalf("Send %s: receipts %v", msg.Body, receipts)
		}
		expected[string(msg.Body)] = msg.Topic
	}
	for i := 0; i < 3; i++ {
		msg := &rmq.Message{Topic: normal, Body: []byte(fmt.Sprintf("go-normal-%d", i))}
		msg.SetTag("tagA")
		msg.SetKeys(fmt.Sprintf("key-%d", i))
		send(msg)
	}
	for i := 0; i < 2; i++ {
		msg := &rmq.Message{Topic: fifo, Body: []byte(fmt.Sprintf("go-fifo-%d", i))}
		msg.SetMessageGroup("group-1")
		send(msg)
	}
	delaySentAt := time.Now()
	delayMsg := &rmq.Message{Topic: delayed, Body: []byte("go-delay")}
	delayMsg.SetDelayTimestamp(delaySentAt.Add(delay))
	send(delayMsg)

	for _, resolution := range []string{"commit", "rollback"} {
		transaction := producer.BeginTransaction()
		msg := &rmq.Message{Topic: tx, Body: []byte("go-tx-" + resolution)}
		if _, err := producer.SendWithTransaction(ctx, msg, transaction); err != nil {
			t.Fatalf("SendWithTransaction: %v", err)
		}
		if resolution == "commit" {
			err = transaction.Commit()
			expected[string(msg.Body)] = tx
		} else {
			err = transaction.RollBack()
		}
		if err != nil {
			t.Fatalf("%s: %v", resolution, err)
		}
	}

	// One consumer (and group) per topic: the client picks the topic of each receive from a Go
	// map, so with one consumer over four topics the empty ones (each a full long poll) came in
	// random number and the run took 20 to 60 s.
	consumers := map[string]rmq.SimpleConsumer{}
	for _, topic := range []string{normal, fifo, delayed, tx} {
		consumer, err := rmq.NewSimpleConsumer(config(topic+"_Group"),
			// 5 s: Java refuses a receive whose deadline (await + request timeout) leaves under
			// grpcClientConsumerMinLongPollingTimeoutMillis (5 s) with ILLEGAL_POLLING_TIME.
			rmq.WithSimpleAwaitDuration(5*time.Second),
			rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: rmq.SUB_ALL}))
		if err != nil {
			t.Fatalf("NewSimpleConsumer: %v", err)
		}
		if err := consumer.Start(); err != nil {
			t.Fatalf("consumer Start: %v", err)
		}
		defer consumer.GracefulStop()
		consumers[topic] = consumer
	}
	remaining := func(topic string) bool {
		for _, t := range expected {
			if t == topic {
				return true
			}
		}
		return false
	}

	changed := false
	deadline := time.Now().Add(receiveDeadline)
	for _, topic := range []string{normal, fifo, tx, delayed} {
		consumer := consumers[topic]
		for remaining(topic) && time.Now().Before(deadline) {
			asked := time.Now()
			views, err := consumer.Receive(ctx, 16, invisible)
			t.Logf("receive: %d messages in %v, err %v", len(views), time.Since(asked).Round(time.Millisecond), err)
			var status *rmq.ErrRpcStatus
			if errors.As(err, &status) && status.GetCode() == 40401 { // MESSAGE_NOT_FOUND: nothing yet
				continue
			}
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			for _, view := range views {
				body := string(view.GetBody())
				topic, ok := expected[body]
				if !ok {
					t.Fatalf("unexpected or repeated message %q from %s", body, view.GetTopic())
				}
				if view.GetTopic() != topic {
					t.Fatalf("%q came from %s, sent to %s", body, view.GetTopic(), topic)
				}
				switch {
				case topic == fifo:
					if group := view.GetMessageGroup(); group == nil || *group != "group-1" {
						t.Fatalf("%q lost its message group: %v", body, group)
					}
				case topic == delayed:
					if early := delaySentAt.Add(delay).Sub(time.Now()); early > 500*time.Millisecond {
						t.Fatalf("delay message came %v early", early)
					}
				case topic == normal:
					if tag := view.GetTag(); tag == nil || *tag != "tagA" {
						t.Fatalf("%q lost its tag: %v", body, tag)
					}
				}
				if !changed {
					// The changed handle replaces the old one; the ack below must use it.
					if err := consumer.ChangeInvisibleDuration(view, invisible+5*time.Second); err != nil {
						t.Fatalf("ChangeInvisibleDuration: %v", err)
					}
					changed = true
				}
				if err := consumer.Ack(ctx, view); err != nil {
					t.Fatalf("Ack %q: %v", body, err)
				}
				delete(expected, body)
			}
		}
	}
	if len(expected) > 0 {
		t.Fatalf("never received: %v", expected)
	}
}
