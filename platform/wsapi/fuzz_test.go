package wsapi

import (
	"errors"
	"net/url"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sluicehq/sluice/sdk/wire"
)

// FuzzDecodeClientMsg reads a consumer's frames: never a panic; a refused
// frame is errMalformed (the documented fatal error); accepted credit is
// never negative.
func FuzzDecodeClientMsg(f *testing.F) {
	for _, s := range []string{
		`{"type":"credit","records":100,"bytes":65536}`,
		`{"type":"credit","records":-1}`,
		`{"type":"commit","offsets":[{"partition":0,"offset":10}]}`,
		`{"type":"revoke_ack","generation":3}`,
		`{"type":"ping"}`, `{"type":"nope"}`, `{"type":"credit","records":"x"}`, `{`,
	} {
		f.Add(websocket.TextMessage, []byte(s))
	}
	f.Add(websocket.BinaryMessage, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, mt int, data []byte) {
		m, err := decodeClientMsg(mt, data)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v is not errMalformed", err)
			}
			return
		}
		if m.typ == "" {
			t.Fatal("accepted a message without a type")
		}
		if m.typ == wire.WSCredit && (m.credit.Records < 0 || m.credit.Bytes < 0) {
			t.Fatalf("negative credit accepted: %+v", m.credit)
		}
	})
}

// FuzzDecodeProduceFrame reads a producer's frames, JSON and binary:
// never a panic; a frame that cannot be read is errMalformed (fatal); a
// batch with bad records is answered with errBadRequest and carries no
// records; an accepted batch has records.
func FuzzDecodeProduceFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"produce","seq":1,"records":[{"key":"k","value":"v"}]}`,
		`{"type":"produce","seq":2,"records":[]}`,
		`{"type":"produce","seq":3,"records":[{"value":"x","encoding":"base64"}]}`,
		`{"type":"ping"}`, `{"type":"produce","seq":"x"}`,
	} {
		f.Add(websocket.TextMessage, []byte(s))
	}
	f.Add(websocket.BinaryMessage, wire.AppendWSProduce(nil, 9, []wire.Record{{Key: []byte("k"), Value: []byte("v")}}))
	f.Add(websocket.BinaryMessage, wire.AppendWSProduce(nil, 9, nil))
	f.Fuzz(func(t *testing.T, mt int, data []byte) {
		b, err := decodeProduceFrame(mt, data)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("fatal error %v is not errMalformed", err)
			}
			return
		}
		if b.err != nil {
			if !errors.Is(b.err, errBadRequest) || b.recs != nil {
				t.Fatalf("batch error %v (records %d): want errBadRequest and no records", b.err, len(b.recs))
			}
		}
	})
}

// FuzzParseConsumeParams reads a consume URL's query: never a panic, and
// every refusal is errBadRequest (answered 400 before the upgrade).
func FuzzParseConsumeParams(f *testing.F) {
	for _, s := range []string{
		"group=g&from=earliest&assignor=sticky&client_id=c&session_timeout_ms=10000",
		"partitions=0,1,1,2&from=0:5,1:7",
		"from=@1700000000000&processor=redact@2&param.field=email",
		"format=binary&encoding=base64", "from=x", "partitions=-1", "group=g&partitions=1",
		"param.x=1", "session_timeout_ms=0", "unknown=1", "%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		p, err := parseConsumeParams("t", q)
		if err != nil {
			if !errors.Is(err, errBadRequest) {
				t.Fatalf("error %v is not errBadRequest", err)
			}
			return
		}
		if p.group != "" && p.partitions != nil {
			t.Fatal("accepted partitions with a group")
		}
		seen := map[int32]bool{}
		for _, n := range p.partitions {
			if n < 0 || seen[n] {
				t.Fatalf("partitions %v: negative or repeated", p.partitions)
			}
			seen[n] = true
		}
	})
}
