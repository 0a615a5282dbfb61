package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// FuzzDecodeJSONRecords decodes JSON produce bodies as the produce route
// does: never a panic, and every refusal is invalid_request (400), never
// an internal error.
func FuzzDecodeJSONRecords(f *testing.F) {
	for _, s := range []string{
		`{"records":[{"key":"k","value":"v","headers":[{"key":"h","value":"x"}],"timestamp":5}]}`,
		`{"records":[{"value":"aGk=","value_encoding":"base64"}]}`,
		`{"records":[{"value":"x","encoding":"nope"}]}`,
		`{"records":[{"value":"x","extra":1}]}`, `{"records":[]} {}`, ``, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := decodeJSONRecords(nil, body)
		if err != nil {
			if c := toWire(err).Code; c != wire.CodeInvalidRequest {
				t.Fatalf("refusal %v has code %s, want invalid_request", err, c)
			}
			return
		}
		for i := range recs {
			if recs[i].Offset != 0 {
				t.Fatalf("record %d has an offset before the append", i)
			}
		}
	})
}

// requestBodies are the JSON bodies the HTTP routes decode strictly, by
// the fuzz input's first byte.
var requestBodies = []func() any{
	func() any { return new(wire.CreateTopicRequest) },  // POST /v1/topics
	func() any { return new(wire.AlterTopicRequest) },   // PATCH /v1/topics/{topic}
	func() any { return new(wire.ProduceRequest) },      // POST /v1/topics/{topic}/records
	func() any { return new(meta.Command) },             // POST /internal/v1/propose
	func() any { return new(wire.ResetOffsetsRequest) }, // POST /v1/groups/{group}/offsets/reset
	func() any { return new(wire.PermissionsRequest) },  // POST /v1/whoami/permissions
	func() any { return new(wire.PluginTestRequest) },   // POST /v1/plugins/{name}/test
}

// FuzzRequestBodies decodes every route's JSON body type as the routes do
// (unknown fields refused): never a panic, every refusal invalid_request,
// and what decodes re-encodes to a body that decodes to the same value.
func FuzzRequestBodies(f *testing.F) {
	seeds := []string{
		`{"name":"orders","partitions":6,"replication_factor":3,"config":{"retention.ms":"1000"},"partitioner":"hash"}`,
		`{"config":{"retention.bytes":"1024"},"partitioner":"wasm:p@2"}`,
		`{"records":[{"key":"k","value":"v"}]}`,
		`{"op":"create_topic","create_topic":{"name":"x","partitions":3}}`,
		`{"topic":"t","to":"earliest","partitions":[0,1]}`,
	}
	for i, s := range seeds {
		f.Add(append([]byte{byte(i)}, s...))
		f.Add(append([]byte{byte(i)}, `{"unknown":1}`...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		newV := requestBodies[int(in[0])%len(requestBodies)]
		v := newV()
		if err := unmarshalStrict(in[1:], v); err != nil {
			if c := toWire(err).Code; c != wire.CodeInvalidRequest {
				t.Fatalf("refusal %v has code %s, want invalid_request", err, c)
			}
			return
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("decoded %T does not encode: %v", v, err)
		}
		again := newV()
		if err := unmarshalStrict(enc, again); err != nil {
			t.Fatalf("re-encoded %T refused: %v\n%s", v, err, enc)
		}
		if enc2, _ := json.Marshal(again); !bytes.Equal(enc, enc2) {
			t.Fatalf("%T encoding not stable:\n%s\n%s", v, enc, enc2)
		}
	})
}

// FuzzReplicaFetchRequest decodes follower fetch requests as the leader
// does and serves what decodes from a real broker leading a partition
// (without the long-poll): never a panic, refusals are invalid_request,
// and an answer or an error, never both or neither. A forged request must
// cost the leader nothing but an error.
func FuzzReplicaFetchRequest(f *testing.F) {
	seed, _ := json.Marshal(broker.ReplicaFetchRequest{ReplicaID: 2, MaxWaitMs: 100, MaxBytes: 1 << 20,
		Partitions: []broker.ReplicaFetchPartition{{Topic: "t", Partition: 0, LeaderEpoch: 0, FetchOffset: 0}}})
	f.Add(seed)
	f.Add([]byte(`{"replica_id":-1,"max_bytes":-5,"partitions":[{"topic":"t","partition":-1,"fetch_offset":-9}]}`))
	f.Add([]byte(`{"replica_id":1,"partitions":[{"topic":"t","partition":0,"fetch_offset":9223372036854775807}]}`))
	f.Add([]byte(`{"partitions":null}`))

	ctl := newMemController(f)
	for id := meta.NodeID(2); id <= 3; id++ {
		if _, err := ctl.Propose(context.Background(), meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{
			Broker: meta.Broker{ID: id, HTTPAddr: "http://127.0.0.1:1"}}}); err != nil {
			f.Fatal(err)
		}
	}
	b, err := broker.Start(context.Background(), broker.Config{NodeID: 1, DataDir: f.TempDir(), Metadata: ctl, Logger: quiet,
		Propose: ctl.Propose})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close() })
	if _, err := ctl.Propose(context.Background(), meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{
		Name: "t", Partitions: 1, ReplicationFactor: 3}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeReplicaFetchRequest(body)
		if err != nil {
			if c := toWire(err).Code; c != wire.CodeInvalidRequest {
				t.Fatalf("refusal %v has code %s", err, c)
			}
			return
		}
		enc, _ := json.Marshal(req)
		again, err := decodeReplicaFetchRequest(enc)
		if err != nil {
			t.Fatalf("re-encoded request refused: %v", err)
		}
		if enc2, _ := json.Marshal(again); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
		req.MaxWaitMs = 0 // no long-poll in the fuzz loop
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := b.ReplicaFetch(ctx, req)
		if (resp == nil) == (err == nil) {
			t.Fatalf("ReplicaFetch answered %v and %v", resp, err)
		}
		if resp != nil && len(resp.Partitions) != len(req.Partitions) {
			t.Fatalf("%d partitions answered for %d asked", len(resp.Partitions), len(req.Partitions))
		}
	})
}

// FuzzReplicaFetchResponse decodes leader answers as the follower's peer
// client does: never a panic, and what decodes round-trips (the batches
// inside are checked by storage's FuzzDecodeBatch when appended).
func FuzzReplicaFetchResponse(f *testing.F) {
	seed, _ := json.Marshal(broker.ReplicaFetchResponse{Partitions: []broker.ReplicaFetchResult{
		{Topic: "t", Partition: 0, Batches: [][]byte{{1, 2, 3}}, HighWatermark: 3, LogStart: 0, LogEnd: 3},
		{Topic: "t", Partition: 1, Error: broker.ErrCodeNotLeader, Message: "moved"},
	}})
	f.Add(seed)
	f.Add([]byte(`{"partitions":[{"batches":["!!"]}]}`))
	f.Add([]byte(`{"partitions":[{"epoch_end":{"epoch":1,"end_offset":5}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var resp broker.ReplicaFetchResponse
		if json.Unmarshal(b, &resp) != nil {
			return
		}
		enc, err := json.Marshal(&resp)
		if err != nil {
			t.Fatalf("decoded answer does not encode: %v", err)
		}
		var again broker.ReplicaFetchResponse
		if err := json.Unmarshal(enc, &again); err != nil {
			t.Fatalf("re-encoded answer does not decode: %v", err)
		}
		if enc2, _ := json.Marshal(&again); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
	})
}
