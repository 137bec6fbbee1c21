//go:build broker

package interop

// The official Go client (rocketmq-client-go v2) against our broker: a producer sends sync,
// async, oneway and batched messages through `ferrocket standalone`, and a push consumer in
// clustering mode consumes every one of them exactly once.
//
// Behind the `broker` build tag until our broker exists: run with `./run.sh -tags broker`.
// With FERROCKET_BROKER_NAMESRV and FERROCKET_BROKER_ADDR set, the test uses a broker that is
// already running there instead (the official Java one, to validate the test itself).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

const (
	// A topic's route reaches the name server at the broker's next registration (immediate in Java).
	routeTimeout = 30 * time.Second
	// A few hundred messages on loopback; the margin is for 2 loaded cores.
	deliveryTimeout = 30 * time.Second
	brokerQueues    = 4
	// Per send mode.
	brokerMessages = 50
)

// standalone is `ferrocket standalone` on free loopback ports, or an external broker.
type standalone struct {
	namesrvAddr string
	brokerAddr  string
	process     *exec.Cmd
	dataDir     string
}

func startStandalone(t *testing.T) *standalone {
	t.Helper()
	if ns, addr := os.Getenv("FERROCKET_BROKER_NAMESRV"), os.Getenv("FERROCKET_BROKER_ADDR"); ns != "" && addr != "" {
		return &standalone{namesrvAddr: ns, brokerAddr: addr}
	}
	binary, err := binaryPath()
	if err != nil {
		t.Fatal(err)
	}
	s := &standalone{dataDir: t.TempDir()}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s.process = exec.Command(binary, "standalone", "--host", "127.0.0.1", "--namesrv-port", "0",
		"--broker-port", strconv.Itoa(port), "--grpc-port", "0", "--data-dir", s.dataDir)
	s.process.Env = childEnv()
	s.process.Stderr = os.Stderr
	stdout, err := s.process.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.process.Start(); err != nil {
		t.Fatalf("starting %s: %v", binary, err)
	}
	t.Cleanup(s.stop)
	lines := make(chan string, 4)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if strings.HasPrefix(scanner.Text(), "listening ") {
				lines <- scanner.Text()
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	deadline := time.After(startTimeout)
	for s.namesrvAddr == "" || s.brokerAddr == "" {
		select {
		case line := <-lines:
			if rest, ok := strings.CutPrefix(line, "listening namesrv "); ok {
				s.namesrvAddr = rest
			} else if rest, ok := strings.CutPrefix(line, "listening broker "); ok {
				s.brokerAddr = rest
			}
		case <-deadline:
			t.Fatalf("ferrocket standalone printed no `listening namesrv`/`listening broker` lines within %v", startTimeout)
		}
	}
	return s
}

func (s *standalone) stop() {
	s.process.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- s.process.Wait() }()
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		s.process.Process.Kill()
		<-exited
	}
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// createTopic creates the topic on the broker (UPDATE_AND_CREATE_TOPIC) and waits for its route.
func (s *standalone) createTopic(t *testing.T, topic string) {
	t.Helper()
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{s.namesrvAddr})))
	if err != nil {
		t.Fatalf("admin.NewAdmin: %v", err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	err = adm.CreateTopic(ctx, admin.WithTopicCreate(topic), admin.WithBrokerAddrCreate(s.brokerAddr),
		admin.WithReadQueueNums(brokerQueues), admin.WithWriteQueueNums(brokerQueues))
	if err != nil {
		t.Fatalf("CreateTopic(%s): %v", topic, err)
	}
	deadline := time.Now().Add(routeTimeout)
	for {
		queues, err := adm.FetchPublishMessageQueues(context.Background(), topic)
		if err == nil && len(queues) == brokerQueues {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no route with %d queues for %s within %v: %v %v", brokerQueues, topic, routeTimeout, queues, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestBrokerSendThenPushConsumeEveryMessage(t *testing.T) {
	s := startStandalone(t)
	topic := fmt.Sprintf("go-broker-%d", time.Now().UnixNano())
	s.createTopic(t, topic)
	resolver := primitive.NewPassthroughResolver([]string{s.namesrvAddr})

	p, err := rocketmq.NewProducer(producer.WithNsResolver(resolver), producer.WithRetry(0),
		producer.WithGroupName("go-broker-producer"), producer.WithSendMsgTimeout(requestTimeout))
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer Start: %v", err)
	}
	defer p.Shutdown()

	sent := make(map[string]bool)
	ctx := context.Background()
	for i := 0; i < brokerMessages; i++ {
		body := fmt.Sprintf("sync-%d", i)
		msg := primitive.NewMessage(topic, []byte(body)).WithTag("sync").WithKeys([]string{"key-" + body})
		result, err := p.SendSync(ctx, msg)
		if err != nil || result.Status != primitive.SendOK {
			t.Fatalf("SendSync %s: %v %v", body, result, err)
		}
		if result.MessageQueue.Topic != topic || result.MsgID == "" || result.OffsetMsgID == "" {
			t.Fatalf("SendSync %s: result %v", body, result)
		}
		sent[body] = true
	}
	var wg sync.WaitGroup
	var asyncMu sync.Mutex
	var asyncErrs []error
	for i := 0; i < brokerMessages; i++ {
		body := fmt.Sprintf("async-%d", i)
		wg.Add(1)
		err := p.SendAsync(ctx, func(_ context.Context, result *primitive.SendResult, err error) {
			defer wg.Done()
			if err == nil && result.Status != primitive.SendOK {
				err = fmt.Errorf("status %v", result.Status)
			}
			if err != nil {
				asyncMu.Lock()
				asyncErrs = append(asyncErrs, err)
				asyncMu.Unlock()
			}
		}, primitive.NewMessage(topic, []byte(body)).WithTag("async"))
		if err != nil {
			t.Fatalf("SendAsync %s: %v", body, err)
		}
		sent[body] = true
	}
	wg.Wait()
	if len(asyncErrs) > 0 {
		t.Fatalf("async sends failed: %v", asyncErrs)
	}
	for i := 0; i < brokerMessages; i++ {
		body := fmt.Sprintf("oneway-%d", i)
		if err := p.SendOneWay(ctx, primitive.NewMessage(topic, []byte(body)).WithTag("oneway")); err != nil {
			t.Fatalf("SendOneWay %s: %v", body, err)
		}
		sent[body] = true
	}
	var batch []*primitive.Message
	for i := 0; i < brokerMessages; i++ {
		body := fmt.Sprintf("batch-%d", i)
		batch = append(batch, primitive.NewMessage(topic, []byte(body)).WithTag("batch"))
		sent[body] = true
	}
	if result, err := p.SendSync(ctx, batch...); err != nil || result.Status != primitive.SendOK {
		t.Fatalf("batch SendSync: %v %v", result, err)
	}

	var mu sync.Mutex
	received := make(map[string]int)
	c, err := rocketmq.NewPushConsumer(consumer.WithNsResolver(resolver), consumer.WithGroupName("go-broker-consumer"),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset), consumer.WithConsumerModel(consumer.Clustering))
	if err != nil {
		t.Fatalf("NewPushConsumer: %v", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			received[string(m.Body)]++
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("consumer Start: %v", err)
	}
	defer c.Shutdown()

	deadline := time.Now().Add(deliveryTimeout)
	for {
		mu.Lock()
		got := len(received)
		mu.Unlock()
		if got >= len(sent) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for body := range sent {
		if received[body] != 1 {
			t.Errorf("%s consumed %d times, want once", body, received[body])
		}
	}
	for body := range received {
		if !sent[body] {
			t.Errorf("consumed %q, which was never sent", body)
		}
	}
}
