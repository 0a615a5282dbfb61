package replwire

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/platform/broker"
)

// FuzzDecode feeds arbitrary bytes to every decoder of the replication
// stream (the bytes a leader or a follower receives from the network). No
// input may panic or allocate past what it describes; whatever decodes
// encodes back to a frame that decodes to the same value. The committed
// corpus (testdata/fuzz/FuzzDecode) holds one frame of each type.
func FuzzDecode(f *testing.F) {
	f.Add(AppendFetch(nil, sampleFetch()))
	f.Add(AppendResponse(nil, sampleResponse()))
	f.Add(AppendPositions(nil, 2, samplePositions()))
	f.Add(AppendError(nil, "stop"))
	f.Add(AppendProduce(nil, sampleProduce()))
	f.Add(AppendProduceResult(nil, &ProduceResult{ID: 9, BaseOffset: -1, Code: "not_leader", Message: "moved", Details: []byte(`{"leader_id":2}`)}))
	f.Fuzz(func(t *testing.T, frame []byte) {
		if _, _, _, err := ReadFrame(bytes.NewReader(frame), nil); err != nil {
			return
		}
		typ, body, err := SplitFrame(frame)
		if err != nil {
			return
		}
		switch typ {
		case TypeFetch:
			var req broker.ReplicaFetchRequest
			if DecodeFetch(body, &req) != nil {
				return
			}
			var again broker.ReplicaFetchRequest
			_, b2, _ := SplitFrame(AppendFetch(nil, &req))
			if err := DecodeFetch(b2, &again); err != nil || !reflect.DeepEqual(req, again) {
				t.Fatalf("fetch does not round-trip: %v\n%+v\n%+v", err, req, again)
			}
		case TypeResponse:
			var resp broker.ReplicaFetchResponse
			if DecodeResponse(body, &resp) != nil {
				return
			}
			var again broker.ReplicaFetchResponse
			_, b2, _ := SplitFrame(AppendResponse(nil, &resp))
			if err := DecodeResponse(b2, &again); err != nil || !reflect.DeepEqual(resp, again) {
				t.Fatalf("response does not round-trip: %v\n%+v\n%+v", err, resp, again)
			}
		case TypeProduce:
			var p Produce
			if DecodeProduce(body, &p) != nil {
				return
			}
			var again Produce
			_, b2, _ := SplitFrame(AppendProduce(nil, &p))
			if err := DecodeProduce(b2, &again); err != nil || !reflect.DeepEqual(p, again) {
				t.Fatalf("produce does not round-trip: %v\n%+v\n%+v", err, p, again)
			}
		case TypeProduceResult:
			var r ProduceResult
			if DecodeProduceResult(body, &r) != nil {
				return
			}
			var again ProduceResult
			_, b2, _ := SplitFrame(AppendProduceResult(nil, &r))
			if err := DecodeProduceResult(b2, &again); err != nil || !reflect.DeepEqual(r, again) {
				t.Fatalf("produce result does not round-trip: %v\n%+v\n%+v", err, r, again)
			}
		case TypePositions:
			replica, pos, err := DecodePositions(body)
			if err != nil {
				return
			}
			_, b2, _ := SplitFrame(AppendPositions(nil, replica, pos))
			r2, pos2, err := DecodePositions(b2)
			if err != nil || r2 != replica || !reflect.DeepEqual(pos, pos2) {
				t.Fatalf("positions do not round-trip: %v", err)
			}
		}
	})
}
