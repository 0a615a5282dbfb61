package replwire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/platform/broker"
)

func sampleFetch() *broker.ReplicaFetchRequest {
	return &broker.ReplicaFetchRequest{ReplicaID: 2, MaxWaitMs: 500, MaxBytes: 1 << 20, Partitions: []broker.ReplicaFetchPartition{
		{Topic: "orders", Partition: 3, LeaderEpoch: 7, FetchOffset: 120, AckedOffset: 100, HighWatermark: 90, EpochQuery: -1},
		{Topic: "é", Partition: 0, LeaderEpoch: 1, FetchOffset: 0, AckedOffset: -1, HighWatermark: 0, EpochQuery: 4},
	}}
}

func sampleResponse() *broker.ReplicaFetchResponse {
	return &broker.ReplicaFetchResponse{Partitions: []broker.ReplicaFetchResult{
		{Topic: "orders", Partition: 3, Batches: [][]byte{[]byte("batch-one"), {0, 1, 2}}, HighWatermark: 110, LogStart: 5, LogEnd: 130},
		{Topic: "orders", Partition: 4, Error: broker.ErrCodeFencedEpoch, Message: "follower epoch 6, leader epoch 7", HighWatermark: -1},
		{Topic: "x", Partition: 1, EpochEnd: &broker.EpochEnd{Epoch: 3, EndOffset: 77}, LogEnd: 80},
	}}
}

func samplePositions() []broker.ReplicaPosition {
	return []broker.ReplicaPosition{{Topic: "orders", Partition: 3, LeaderEpoch: 7, Offset: 130}, {Topic: "y", Partition: 9, LeaderEpoch: 0, Offset: 0}}
}

func TestRoundTrip(t *testing.T) {
	frame := AppendFetch(nil, sampleFetch())
	frame = AppendResponse(frame, sampleResponse())
	frame = AppendPositions(frame, 2, samplePositions())
	frame = AppendError(frame, "stop")
	r := bytes.NewReader(frame)
	var buf []byte

	typ, body, buf, err := ReadFrame(r, buf)
	if err != nil || typ != TypeFetch {
		t.Fatalf("first frame: type %d, %v", typ, err)
	}
	var req broker.ReplicaFetchRequest
	if err := DecodeFetch(body, &req); err != nil || !reflect.DeepEqual(&req, sampleFetch()) {
		t.Fatalf("fetch: %v\n got %+v", err, req)
	}

	typ, body, buf, err = ReadFrame(r, buf)
	if err != nil || typ != TypeResponse {
		t.Fatalf("second frame: type %d, %v", typ, err)
	}
	var resp broker.ReplicaFetchResponse
	if err := DecodeResponse(body, &resp); err != nil || !reflect.DeepEqual(&resp, sampleResponse()) {
		t.Fatalf("response: %v\n got %+v", err, resp)
	}
	// Batches are slices of the frame, not copies.
	b0 := resp.Partitions[0].Batches[0]
	if i := bytes.Index(body, []byte("batch-one")); i < 0 || &body[i] != &b0[0] {
		t.Fatal("batch bytes were copied out of the frame")
	}

	typ, body, buf, err = ReadFrame(r, buf)
	if err != nil || typ != TypePositions {
		t.Fatalf("third frame: type %d, %v", typ, err)
	}
	replica, pos, err := DecodePositions(body)
	if err != nil || replica != 2 || !reflect.DeepEqual(pos, samplePositions()) {
		t.Fatalf("positions: %v %d %+v", err, replica, pos)
	}

	typ, body, _, err = ReadFrame(r, buf)
	if err != nil || typ != TypeError || string(body) != "stop" {
		t.Fatalf("fourth frame: type %d %q, %v", typ, body, err)
	}
}

func TestMalformed(t *testing.T) {
	whole := AppendFetch(nil, sampleFetch())
	_, body, err := SplitFrame(whole)
	if err != nil {
		t.Fatal(err)
	}
	var req broker.ReplicaFetchRequest
	for n := range len(body) {
		if err := DecodeFetch(body[:n], &req); !errors.Is(err, ErrFrame) {
			t.Fatalf("fetch body cut at %d of %d: %v, want ErrFrame", n, len(body), err)
		}
	}
	if err := DecodeFetch(append(body[:len(body):len(body)], 0), &req); !errors.Is(err, ErrFrame) {
		t.Fatalf("trailing byte: %v, want ErrFrame", err)
	}
	// A count larger than the body can hold is refused before allocating.
	huge := []byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}
	if err := DecodeFetch(huge, &req); !errors.Is(err, ErrFrame) {
		t.Fatalf("huge count: %v, want ErrFrame", err)
	}
	for _, frame := range [][]byte{{0, 0, 0, 0, 1}, {0xff, 0xff, 0xff, 0xff, 1}} {
		if _, _, _, err := ReadFrame(bytes.NewReader(frame), nil); !errors.Is(err, ErrFrame) {
			t.Fatalf("length field of %x: %v, want ErrFrame", frame[:4], err)
		}
	}
	if _, _, _, err := ReadFrame(bytes.NewReader(whole[:len(whole)-1]), nil); !errors.Is(err, ErrFrame) {
		t.Fatalf("truncated frame: %v, want ErrFrame", err)
	}
	resp := AppendResponse(nil, sampleResponse())
	_, rbody, _ := SplitFrame(resp)
	var r broker.ReplicaFetchResponse
	for n := range len(rbody) {
		if err := DecodeResponse(rbody[:n], &r); !errors.Is(err, ErrFrame) {
			t.Fatalf("response body cut at %d of %d: %v, want ErrFrame", n, len(rbody), err)
		}
	}
}

// BenchmarkResponse is the leader's encode and the follower's decode of a
// 1 MiB answer of 1 KiB batches: one copy of the batch bytes in, none out.
func BenchmarkResponse(b *testing.B) {
	batch := bytes.Repeat([]byte{7}, 1024)
	res := broker.ReplicaFetchResult{Topic: "bench", HighWatermark: 1}
	for range 1024 {
		res.Batches = append(res.Batches, batch)
	}
	resp := &broker.ReplicaFetchResponse{Partitions: []broker.ReplicaFetchResult{res}}
	var buf []byte
	var out broker.ReplicaFetchResponse
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendResponse(buf[:0], resp)
		_, body, err := SplitFrame(buf)
		if err != nil {
			b.Fatal(err)
		}
		if err := DecodeResponse(body, &out); err != nil {
			b.Fatal(err)
		}
	}
}
