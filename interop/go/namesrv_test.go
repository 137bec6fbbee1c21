package interop

// The official Go client against our name server (remoting.md §4.1): it must find the brokers
// and queues a broker registered, reach the broker at the registered address, and see an unknown
// topic as "topic not exist".
//
// One name server (our binary, `ferrocket namesrv` on a free loopback port) serves every test;
// fake brokers register through one raw connection that stays open, since the name server drops
// a broker whose registering connection closes.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	rmqerrors "github.com/apache/rocketmq-client-go/v2/errors"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const (
	// Where `cargo build -p ferrocket` puts the binary, relative to this module.
	defaultBinary = "../../target/debug/ferrocket"
	// The name server binds and prints its address well within this on a loaded machine.
	startTimeout = 20 * time.Second
	// After SIGTERM the name server answers what is in flight and exits; then we kill it.
	stopTimeout = 10 * time.Second
	// Any single request on loopback.
	requestTimeout = 10 * time.Second

	clusterName = "DefaultCluster"
	topicTest   = "TopicTest"
	// PermName.PERM_READ | PermName.PERM_WRITE.
	permReadWrite = 6
	// RegisterBrokerBody's crc: Java's crc32(body) & 0x7FFFFFFF.
	crcMask = 0x7FFF_FFFF
)

// brokerSpec is one broker set as the tests register it: TopicTest's queue counts on it.
type brokerSpec struct {
	name       string
	readQueues int
	writeQueue int
}

// Read and write counts differ so a test can tell which one a client used.
var brokerSpecs = []brokerSpec{
	{name: "broker-a", readQueues: 8, writeQueue: 4},
	{name: "broker-b", readQueues: 2, writeQueue: 2},
}

// cluster is what every test shares: our name server and the brokers registered with it.
type cluster struct {
	namesrvAddr string
	masters     map[string]*fakeBroker
	slave       *fakeBroker
	process     *exec.Cmd
	register    net.Conn
	dataDir     string
}

var (
	sharedOnce    sync.Once
	shared        *cluster
	sharedErr     error
	sharedCleanup []func()
)

func TestMain(m *testing.M) {
	rlog.SetLogLevel("error")
	code := m.Run()
	for i := len(sharedCleanup) - 1; i >= 0; i-- {
		sharedCleanup[i]()
	}
	os.Exit(code)
}

// sharedCluster starts the name server and registers the brokers once; a test that cannot get
// them fails (a missing binary is a failure, not a skip).
func sharedCluster(t *testing.T) *cluster {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = startCluster() })
	if sharedErr != nil {
		t.Fatalf("cannot set up the name server: %v", sharedErr)
	}
	return shared
}

func startCluster() (*cluster, error) {
	c := &cluster{masters: make(map[string]*fakeBroker)}
	if err := c.startNamesrv(); err != nil {
		return nil, err
	}
	for _, spec := range brokerSpecs {
		broker, err := startFakeBroker()
		if err != nil {
			return nil, err
		}
		sharedCleanup = append(sharedCleanup, broker.close)
		c.masters[spec.name] = broker
	}
	slave, err := startFakeBroker()
	if err != nil {
		return nil, err
	}
	sharedCleanup = append(sharedCleanup, slave.close)
	c.slave = slave
	if err := c.registerBrokers(); err != nil {
		return nil, err
	}
	return c, nil
}

func binaryPath() (string, error) {
	path := os.Getenv("FERROCKET_BIN")
	if path == "" {
		path = defaultBinary
	}
	absolute, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(absolute); err != nil {
		return "", fmt.Errorf("ferrocket binary %s: %w (build it with `cargo build -p ferrocket` or set FERROCKET_BIN)", absolute, err)
	}
	return absolute, nil
}

// startNamesrv runs `ferrocket namesrv` on a free loopback port and waits for its
// "listening namesrv ADDR" line.
func (c *cluster) startNamesrv() error {
	binary, err := binaryPath()
	if err != nil {
		return err
	}
	c.dataDir, err = os.MkdirTemp("", "ferrocket-go-interop-")
	if err != nil {
		return err
	}
	sharedCleanup = append(sharedCleanup, func() { os.RemoveAll(c.dataDir) })
	c.process = exec.Command(binary, "namesrv", "--host", "127.0.0.1", "--port", "0", "--data-dir", c.dataDir)
	c.process.Env = childEnv()
	c.process.Stderr = os.Stderr
	stdout, err := c.process.StdoutPipe()
	if err != nil {
		return err
	}
	if err := c.process.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", binary, err)
	}
	sharedCleanup = append(sharedCleanup, c.stopNamesrv)
	addr := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if rest, ok := strings.CutPrefix(scanner.Text(), "listening namesrv "); ok {
				addr <- rest
				break
			}
		}
		// Keep draining so the child never blocks on a full pipe.
		io.Copy(io.Discard, stdout)
	}()
	select {
	case c.namesrvAddr = <-addr:
		return nil
	case <-time.After(startTimeout):
		return fmt.Errorf("the name server printed no `listening namesrv` line within %v", startTimeout)
	}
}

// childEnv is ours with quiet logs and JSON headers: the raw codec here speaks only JSON, and
// ROCKETMQ_SERIALIZE_TYPE=ROCKETMQ would make the name server answer in the binary encoding.
func childEnv() []string {
	env := []string{"FERROCKET_LOG=error"}
	for _, entry := range os.Environ() {
		if !strings.HasPrefix(entry, "ROCKETMQ_SERIALIZE_TYPE=") && !strings.HasPrefix(entry, "FERROCKET_LOG=") {
			env = append(env, entry)
		}
	}
	return env
}

func (c *cluster) stopNamesrv() {
	if c.register != nil {
		c.register.Close()
	}
	c.process.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- c.process.Wait() }()
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		c.process.Process.Kill()
		<-exited
	}
}

// registerBrokers registers every master, and a slave of broker-a, over one connection.
func (c *cluster) registerBrokers() error {
	conn, err := net.DialTimeout("tcp", c.namesrvAddr, requestTimeout)
	if err != nil {
		return fmt.Errorf("connecting to the name server: %w", err)
	}
	c.register = conn
	var opaque int32
	for _, spec := range brokerSpecs {
		opaque++
		addr := c.masters[spec.name].addr()
		if _, err := registerBroker(conn, opaque, spec, 0, addr); err != nil {
			return err
		}
	}
	opaque++
	masterAddr, err := registerBroker(conn, opaque, brokerSpecs[0], 1, c.slave.addr())
	if err != nil {
		return err
	}
	if want := c.masters[brokerSpecs[0].name].addr(); masterAddr != want {
		return fmt.Errorf("slave registration answered masterAddr %q, want %q", masterAddr, want)
	}
	return nil
}

// registerBroker sends REGISTER_BROKER as a 5.3.3 broker does and returns the masterAddr
// the name server answers (set for slaves only).
func registerBroker(conn net.Conn, opaque int32, spec brokerSpec, brokerID int, addr string) (string, error) {
	body, err := json.Marshal(registerBrokerBody(spec))
	if err != nil {
		return "", err
	}
	header := remotingHeader{
		Code:     codeRegisterBroker,
		Language: "JAVA",
		Version:  versionV5_3_3,
		Opaque:   opaque,
		ExtFields: map[string]string{
			"brokerName":         spec.name,
			"brokerAddr":         addr,
			"clusterName":        clusterName,
			"haServerAddr":       addr,
			"brokerId":           strconv.Itoa(brokerID),
			"enableActingMaster": "false",
			"compressed":         "false",
			"bodyCrc32":          strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)&crcMask), 10),
		},
	}
	conn.SetDeadline(time.Now().Add(requestTimeout))
	defer conn.SetDeadline(time.Time{})
	if err := writeFrame(conn, header, body); err != nil {
		return "", fmt.Errorf("sending REGISTER_BROKER: %w", err)
	}
	response, _, err := readFrame(conn)
	if err != nil {
		return "", fmt.Errorf("reading the REGISTER_BROKER response: %w", err)
	}
	if response.Code != codeSuccess || response.Opaque != opaque || response.Flag&flagResponse == 0 {
		return "", fmt.Errorf("REGISTER_BROKER %s id %d: code %d remark %q opaque %d flag %d",
			spec.name, brokerID, response.Code, response.Remark, response.Opaque, response.Flag)
	}
	return response.ExtFields["masterAddr"], nil
}

// registerBrokerBody is a 5.x RegisterBrokerBody: TopicTest plus the topic every broker has
// under its own name (a body with a single topic from a new broker is refused, as in Java).
func registerBrokerBody(spec brokerSpec) map[string]any {
	topic := func(name string, read, write int) map[string]any {
		return map[string]any{
			"attributes": map[string]string{}, "order": false, "perm": permReadWrite,
			"readQueueNums": read, "topicFilterType": "SINGLE_TAG", "topicName": name,
			"topicSysFlag": 0, "writeQueueNums": write,
		}
	}
	version := map[string]any{"counter": 1, "stateVersion": 0, "timestamp": time.Now().UnixMilli()}
	return map[string]any{
		"filterServerList": []string{},
		"topicConfigSerializeWrapper": map[string]any{
			"dataVersion":        version,
			"mappingDataVersion": version,
			"topicConfigTable": map[string]any{
				topicTest: topic(topicTest, spec.readQueues, spec.writeQueue),
				spec.name: topic(spec.name, 1, 1),
			},
			"topicQueueMappingDetailMap": map[string]any{},
			"topicQueueMappingInfoMap":   map[string]any{},
		},
	}
}

func newAdmin(t *testing.T, c *cluster) admin.Admin {
	t.Helper()
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{c.namesrvAddr})))
	if err != nil {
		t.Fatalf("admin.NewAdmin: %v", err)
	}
	t.Cleanup(func() { adm.Close() })
	return adm
}

// The admin client resolves TopicTest's publish queues from our name server: every write queue
// of both brokers, none of the extra read queues.
func TestPublishQueuesFromFerrocketNamesrv(t *testing.T) {
	c := sharedCluster(t)
	adm := newAdmin(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	queues, err := adm.FetchPublishMessageQueues(ctx, topicTest)
	if err != nil {
		t.Fatalf("FetchPublishMessageQueues(%s): %v", topicTest, err)
	}
	got := make(map[string][]int)
	for _, queue := range queues {
		if queue.Topic != topicTest {
			t.Errorf("queue %v: topic %q, want %q", queue, queue.Topic, topicTest)
		}
		got[queue.BrokerName] = append(got[queue.BrokerName], queue.QueueId)
	}
	if len(got) != len(brokerSpecs) {
		t.Errorf("publish queues on brokers %v, want %d brokers", got, len(brokerSpecs))
	}
	for _, spec := range brokerSpecs {
		ids := got[spec.name]
		sort.Ints(ids)
		if len(ids) != spec.writeQueue {
			t.Errorf("%s: %d publish queues %v, want its %d write queues", spec.name, len(ids), ids, spec.writeQueue)
			continue
		}
		for i, id := range ids {
			if id != i {
				t.Errorf("%s: queue ids %v, want 0..%d", spec.name, ids, spec.writeQueue-1)
				break
			}
		}
	}
}

// A producer sends to a chosen queue of each broker: the request must reach the fake broker
// listening at the address that broker registered, which the client only knows from our route.
func TestProducerReachesRegisteredBrokerAddress(t *testing.T) {
	c := sharedCluster(t)
	p, err := rocketmq.NewProducer(
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{c.namesrvAddr})),
		producer.WithGroupName("ferrocket_go_interop"),
		producer.WithInstanceName("ferrocket_go_interop_producer"),
		producer.WithQueueSelector(producer.NewManualQueueSelector()),
		producer.WithRetry(0),
		producer.WithSendMsgTimeout(requestTimeout),
	)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer Start: %v", err)
	}
	defer p.Shutdown()
	for _, spec := range brokerSpecs {
		queueID := spec.writeQueue - 1
		msg := primitive.NewMessage(topicTest, []byte("hello from the Go client"))
		msg.Queue = &primitive.MessageQueue{Topic: topicTest, BrokerName: spec.name, QueueId: queueID}
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		result, err := p.SendSync(ctx, msg)
		cancel()
		if err != nil {
			t.Fatalf("SendSync to %s queue %d: %v", spec.name, queueID, err)
		}
		if result.MessageQueue.BrokerName != spec.name || result.MessageQueue.QueueId != queueID {
			t.Errorf("send result queue %v, want %s queue %d", result.MessageQueue, spec.name, queueID)
		}
		sent, err := c.masters[spec.name].nextSend(requestTimeout)
		if err != nil {
			t.Fatalf("%s: %v", spec.name, err)
		}
		if topic := sendTopic(sent.extFields); topic != topicTest {
			t.Errorf("%s received a send for topic %q, want %q", spec.name, topic, topicTest)
		}
		if id := sendQueueID(sent.extFields); id != strconv.Itoa(queueID) {
			t.Errorf("%s received a send for queue %q, want %d", spec.name, id, queueID)
		}
	}
}

// GET_ROUTEINFO_BY_TOPIC for a topic no broker serves: the Go client maps our TOPIC_NOT_EXIST
// (17) to its ErrTopicNotExist.
func TestUnknownTopicIsTopicNotExist(t *testing.T) {
	c := sharedCluster(t)
	adm := newAdmin(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	queues, err := adm.FetchPublishMessageQueues(ctx, "FerrocketNoSuchTopic")
	if !errors.Is(err, rmqerrors.ErrTopicNotExist) {
		t.Fatalf("FetchPublishMessageQueues(unknown) = %v, %v; want ErrTopicNotExist", queues, err)
	}
}

// sendTopic reads the topic of SEND_MESSAGE (full key) or SEND_MESSAGE_V2 (key "b").
func sendTopic(fields map[string]string) string {
	if topic, ok := fields["topic"]; ok {
		return topic
	}
	return fields["b"]
}
