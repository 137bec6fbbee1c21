//go:build broker

package interop

// The official Go client's transaction producer (rocketmq-client-go v2) against our broker: a
// COMMIT is delivered once, a ROLLBACK never, and an UNKNOW is checked back by the broker
// (CHECK_TRANSACTION_STATE on the producer's connection), committed by the checker and delivered
// once. The broker runs as `ferrocket namesrv` plus `ferrocket broker -c broker.conf` with a check
// every 2 s of messages older than 1 s (Java's defaults, 30 s and 6 s, would make a slow test).
//
// With FERROCKET_BROKER_NAMESRV and FERROCKET_BROKER_ADDR set, the test uses a broker already
// running there (the official Java one started with the same two settings, to validate the
// test); then it only requires that a rollback is never delivered and the UNKNOW is checked and
// delivered, since Java 5.3.3 may check and deliver again messages already decided.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

const (
	// transactionCheckInterval and transactionTimeOut of the broker under test.
	txCheckIntervalMs = 2000
	txTimeoutMs       = 1000
	// The timeout plus two check intervals, with margin for 2 loaded cores.
	txCheckWait = 15 * time.Second
	// Long enough for a few check rounds after every delivery arrived.
	txQuiet = 6 * time.Second
)

// startBrokerWithConf runs `ferrocket namesrv` and `ferrocket broker -c broker.conf` (the defaults
// of BrokerUnderTest's broker.conf plus conf) on free loopback ports, or uses the external broker.
func startBrokerWithConf(t *testing.T, conf map[string]string) (s *standalone, external bool) {
	t.Helper()
	if ns, addr := os.Getenv("FERROCKET_BROKER_NAMESRV"), os.Getenv("FERROCKET_BROKER_ADDR"); ns != "" && addr != "" {
		return &standalone{namesrvAddr: ns, brokerAddr: addr}, true
	}
	dir := t.TempDir()
	namesrv, namesrvAddr := startListening(t, "namesrv", "namesrv", "--host", "127.0.0.1", "--port", "0",
		"--data-dir", filepath.Join(dir, "namesrv"))
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		"brokerClusterName=DefaultCluster", "brokerName=broker-a", "brokerId=0", "brokerRole=ASYNC_MASTER",
		"flushDiskType=ASYNC_FLUSH", "namesrvAddr=" + namesrvAddr, "brokerIP1=127.0.0.1", "bindAddress=127.0.0.1",
		fmt.Sprintf("listenPort=%d", port), "storePathRootDir=" + filepath.Join(dir, "store"),
		"storePathCommitLog=" + filepath.Join(dir, "store", "commitlog"), "autoCreateTopicEnable=true",
		"autoCreateSubscriptionGroup=true",
	}
	for key, value := range conf {
		lines = append(lines, key+"="+value)
	}
	confPath := filepath.Join(dir, "broker.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broker, listening := startListening(t, "broker", "broker", "-c", confPath, "--grpc-port", "0")
	s = &standalone{namesrvAddr: namesrvAddr, brokerAddr: fmt.Sprintf("127.0.0.1:%d", port), process: broker}
	// Cleanups run last-added first: the broker stops before its name server.
	t.Cleanup(func() { (&standalone{process: namesrv}).stop() })
	t.Cleanup(s.stop)
	if !strings.HasSuffix(listening, fmt.Sprintf(":%d", port)) {
		t.Fatalf("the broker listens on %s, not port %d", listening, port)
	}
	return s, false
}

// startListening runs `ferrocket ARGS...` and waits for its "listening WHAT ADDR" line.
func startListening(t *testing.T, what string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	binary, err := binaryPath()
	if err != nil {
		t.Fatal(err)
	}
	process := exec.Command(binary, args...)
	process.Env = childEnv()
	process.Stderr = os.Stderr
	stdout, err := process.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := process.Start(); err != nil {
		t.Fatalf("starting %s %s: %v", binary, args[0], err)
	}
	addr := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if rest, ok := strings.CutPrefix(scanner.Text(), "listening "+what+" "); ok {
				addr <- rest
				break
			}
		}
		// Keep draining so the child never blocks on a full pipe.
		io.Copy(io.Discard, stdout)
	}()
	select {
	case listening := <-addr:
		return process, listening
	case <-time.After(startTimeout):
		process.Process.Kill()
		process.Wait()
		t.Fatalf("ferrocket %s printed no `listening %s` line within %v", args[0], what, startTimeout)
		return nil, ""
	}
}

// txListener decides by body: "commit", "rollback", anything else UNKNOW; its checker commits
// everything but "rollback" and records what it was asked about.
type txListener struct {
	mu           sync.Mutex
	checked      []string
	firstChecked map[string]time.Time
}

func (l *txListener) ExecuteLocalTransaction(msg *primitive.Message) primitive.LocalTransactionState {
	switch string(msg.Body) {
	case "commit":
		return primitive.CommitMessageState
	case "rollback":
		return primitive.RollbackMessageState
	default:
		return primitive.UnknowState
	}
}

func (l *txListener) CheckLocalTransaction(msg *primitive.MessageExt) primitive.LocalTransactionState {
	body := string(msg.Body)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.checked = append(l.checked, body)
	if _, seen := l.firstChecked[body]; !seen {
		l.firstChecked[body] = time.Now()
	}
	if body == "rollback" {
		return primitive.RollbackMessageState
	}
	return primitive.CommitMessageState
}

func (l *txListener) snapshot() ([]string, map[string]time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := make(map[string]time.Time, len(l.firstChecked))
	for body, at := range l.firstChecked {
		first[body] = at
	}
	return append([]string(nil), l.checked...), first
}

func TestTransactionProducerCommitRollbackAndUnknownThenCommitOnCheck(t *testing.T) {
	s, external := startBrokerWithConf(t, map[string]string{
		"transactionCheckInterval": fmt.Sprint(txCheckIntervalMs),
		"transactionTimeOut":       fmt.Sprint(txTimeoutMs),
	})
	stamp := time.Now().UnixNano()
	topic := fmt.Sprintf("go-tx-%d", stamp)
	s.createTopic(t, topic)
	resolver := primitive.NewPassthroughResolver([]string{s.namesrvAddr})

	var mu sync.Mutex
	var delivered []string
	c, err := rocketmq.NewPushConsumer(consumer.WithNsResolver(resolver), consumer.WithGroupName(fmt.Sprintf("go-tx-consumer-%d", stamp)),
		consumer.WithInstance(fmt.Sprintf("go-tx-consumer-%d", stamp)),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset), consumer.WithConsumerModel(consumer.Clustering))
	if err != nil {
		t.Fatalf("NewPushConsumer: %v", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			delivered = append(delivered, string(m.Body))
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

	listener := &txListener{firstChecked: make(map[string]time.Time)}
	// Its own instance name: clients of one process share a connection per instance name, and the
	// first one made (here the consumer) owns the handler that passes checks to a producer.
	p, err := rocketmq.NewTransactionProducer(listener, producer.WithNsResolver(resolver), producer.WithRetry(0),
		producer.WithGroupName(fmt.Sprintf("go-tx-producer-%d", stamp)),
		producer.WithInstanceName(fmt.Sprintf("go-tx-producer-%d", stamp)), producer.WithSendMsgTimeout(requestTimeout))
	if err != nil {
		t.Fatalf("NewTransactionProducer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer Start: %v", err)
	}
	defer p.Shutdown()

	var unknownSent time.Time
	for _, body := range []string{"commit", "rollback", "unknown"} {
		unknownSent = time.Now()
		result, err := p.SendMessageInTransaction(context.Background(), primitive.NewMessage(topic, []byte(body)).WithTag("TagA"))
		if err != nil || result.Status != primitive.SendOK {
			t.Fatalf("SendMessageInTransaction %s: %v %v", body, result, err)
		}
	}
	deliveredSnapshot := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), delivered...)
	}
	waitFor(t, "the UNKNOW message checked", txCheckWait, func() bool {
		_, first := listener.snapshot()
		_, ok := first["unknown"]
		return ok
	})
	waitFor(t, "the committed and the checked message delivered", deliveryTimeout+txCheckWait, func() bool {
		got := deliveredSnapshot()
		return contains(got, "commit") && contains(got, "unknown")
	})
	time.Sleep(txQuiet)
	got := deliveredSnapshot()
	checked, first := listener.snapshot()
	t.Logf("delivered %v, checks %v, first check of the UNKNOW message %v after its send (external broker: %v)",
		got, checked, first["unknown"].Sub(unknownSent).Round(time.Millisecond), external)
	if contains(got, "rollback") {
		t.Errorf("the rolled-back message was delivered: %v", got)
	}
	if external {
		return
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "commit,unknown" {
		t.Errorf("delivered %v, want commit and unknown once each", got)
	}
	for _, body := range checked {
		if body != "unknown" {
			t.Errorf("checked %q; only the UNKNOW message may be checked: %v", body, checked)
		}
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func contains(list []string, want string) bool {
	for _, item := range list {
		if item == want {
			return true
		}
	}
	return false
}
