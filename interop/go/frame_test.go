// Package interop drives Ferrocket's binaries with the official RocketMQ Go client
// (github.com/apache/rocketmq-client-go/v2).
//
// This file is a tiny raw remoting codec for what the Go client cannot do itself: registering a
// broker with the name server, and playing a broker that answers the client. Only the JSON
// header encoding (serialize type 0) is spoken, which is what both sides use by default
// (remoting.md §1):
//
//	+--------------+---------------------------------+-------------+------+
//	| i32 length   | u8 serialize type | u24 hdr len | header JSON | body |
//	+--------------+---------------------------------+-------------+------+
//	  length counts everything after itself.
package interop

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

const (
	// Java rejects frames over 16 MiB; so do we when reading.
	frameBytesMax = 16 * 1024 * 1024
	// The serialize-type byte of a JSON header.
	serializeTypeJSON = 0
	// The flag bit that marks a response, and the one that marks a oneway request.
	flagResponse = 1
	flagOneway   = 2
	// MQVersion.Version.V5_3_3.ordinal(), as counted in the 5.3.3 enum: we speak as a 5.3.3 broker.
	versionV5_3_3 = 479
)

// Request and response codes used here (remoting.md §3).
const (
	codeSuccess        = 0
	codeSendMessage    = 10
	codeRegisterBroker = 103
	codeSendMessageV2  = 310
)

// remotingHeader is a RemotingCommand's JSON header.
type remotingHeader struct {
	Code      int               `json:"code"`
	Language  string            `json:"language"`
	Version   int               `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int               `json:"flag"`
	Remark    string            `json:"remark,omitempty"`
	ExtFields map[string]string `json:"extFields,omitempty"`
}

// writeFrame writes one frame with a JSON header.
func writeFrame(w io.Writer, header remotingHeader, body []byte) error {
	headerBytes, err := json.Marshal(header)
	if err != nil {
		return err
	}
	frame := make([]byte, 8, 8+len(headerBytes)+len(body))
	binary.BigEndian.PutUint32(frame[0:4], uint32(4+len(headerBytes)+len(body)))
	binary.BigEndian.PutUint32(frame[4:8], uint32(serializeTypeJSON)<<24|uint32(len(headerBytes)))
	frame = append(frame, headerBytes...)
	frame = append(frame, body...)
	_, err = w.Write(frame)
	return err
}

// readFrame reads one frame and decodes its JSON header; the body may be empty.
func readFrame(r io.Reader) (remotingHeader, []byte, error) {
	var header remotingHeader
	var prefix [8]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return header, nil, err
	}
	length := binary.BigEndian.Uint32(prefix[0:4])
	word := binary.BigEndian.Uint32(prefix[4:8])
	headerLength := word & 0x00FF_FFFF
	if length < 4 || length > frameBytesMax || headerLength > length-4 {
		return header, nil, fmt.Errorf("bad frame: length %d, header length %d", length, headerLength)
	}
	if serializeType := word >> 24; serializeType != serializeTypeJSON {
		return header, nil, fmt.Errorf("serialize type %d: only JSON headers are spoken here", serializeType)
	}
	rest := make([]byte, length-4)
	if _, err := io.ReadFull(r, rest); err != nil {
		return header, nil, err
	}
	if err := json.Unmarshal(rest[:headerLength], &header); err != nil {
		return header, nil, fmt.Errorf("bad JSON header %q: %w", rest[:headerLength], err)
	}
	return header, rest[headerLength:], nil
}
