package interop

// A fake broker: a loopback listener that answers every request with SUCCESS and reports what
// it received, so a test can see which address the Go client chose from the route our name
// server served. Sends are answered as a broker would (msgId, queueId, queueOffset), so the Go
// producer's SendSync completes.

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// Requests a fake broker remembers for the test; later ones are dropped, never blocked on.
const receivedRequestsMax = 1024

// receivedRequest is what a fake broker saw of one request.
type receivedRequest struct {
	code      int
	extFields map[string]string
}

type fakeBroker struct {
	listener net.Listener
	received chan receivedRequest
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

func startFakeBroker() (*fakeBroker, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake broker cannot listen: %w", err)
	}
	broker := &fakeBroker{
		listener: listener,
		received: make(chan receivedRequest, receivedRequestsMax),
		conns:    make(map[net.Conn]struct{}),
	}
	broker.wg.Add(1)
	go broker.accept()
	return broker, nil
}

func (b *fakeBroker) addr() string {
	return b.listener.Addr().String()
}

func (b *fakeBroker) close() {
	b.listener.Close()
	b.mu.Lock()
	for conn := range b.conns {
		conn.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *fakeBroker) accept() {
	defer b.wg.Done()
	for {
		conn, err := b.listener.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns[conn] = struct{}{}
		b.mu.Unlock()
		b.wg.Add(1)
		go b.serve(conn)
	}
}

func (b *fakeBroker) serve(conn net.Conn) {
	defer b.wg.Done()
	defer func() {
		b.mu.Lock()
		delete(b.conns, conn)
		b.mu.Unlock()
		conn.Close()
	}()
	for {
		request, _, err := readFrame(conn)
		if err != nil {
			return
		}
		select {
		case b.received <- receivedRequest{code: request.Code, extFields: request.ExtFields}:
		default:
		}
		if request.Flag&flagOneway != 0 {
			continue
		}
		if err := writeFrame(conn, fakeBrokerResponse(request), nil); err != nil {
			return
		}
	}
}

// fakeBrokerResponse answers SUCCESS; a send gets the fields a broker's SendMessageResponseHeader has.
func fakeBrokerResponse(request remotingHeader) remotingHeader {
	response := remotingHeader{
		Code:     codeSuccess,
		Language: "JAVA",
		Version:  versionV5_3_3,
		Opaque:   request.Opaque,
		Flag:     flagResponse,
	}
	if request.Code == codeSendMessage || request.Code == codeSendMessageV2 {
		response.ExtFields = map[string]string{
			"msgId":       "7F00000100002A9F0000000000000000",
			"queueId":     sendQueueID(request.ExtFields),
			"queueOffset": "0",
		}
	}
	return response
}

// sendQueueID reads the queue id of SEND_MESSAGE (full key) or SEND_MESSAGE_V2 (key "e").
func sendQueueID(fields map[string]string) string {
	if id, ok := fields["queueId"]; ok {
		return id
	}
	return fields["e"]
}

// nextSend waits for the next send request, skipping others (the producer's heartbeats).
func (b *fakeBroker) nextSend(timeout time.Duration) (receivedRequest, error) {
	deadline := time.After(timeout)
	for {
		select {
		case request := <-b.received:
			if request.code == codeSendMessage || request.code == codeSendMessageV2 {
				return request, nil
			}
		case <-deadline:
			return receivedRequest{}, fmt.Errorf("no send request reached %s within %v", b.addr(), timeout)
		}
	}
}
