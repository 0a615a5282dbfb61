package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/record"
)

const watPartitioner = "../examples/wat-partitioner/partitioner.wat"

func watModule(t testing.TB) Module {
	return Module{Name: "wat-hash", Version: 1, Wasm: buildWAT(t, watPartitioner)}
}

// TestWATPartitionerMatchesKafka checks the hand-written WAT example
// against the built-in Kafka hash, and its round-robin for keyless records.
func TestWATPartitionerMatchesKafka(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	info, err := h.Validate(ctx, watModule(t).Wasm, KindPartitioner)
	if err != nil {
		t.Fatal(err)
	}
	if info.ABIVersion != 1 || info.Kind != KindPartitioner || len(info.Imports) != 0 || len(info.SHA256) != 64 {
		t.Errorf("info = %+v", info)
	}
	p, err := h.Partitioner(ctx, watModule(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)

	var recs []record.Record
	for i := range 200 {
		r := record.Record{Offset: int64(i), Value: []byte(`{"n":1}`)}
		if i%4 != 3 {
			r.Key = fmt.Appendf(nil, "customer-%d", i*7919)
		}
		if i%10 == 0 {
			r.Headers = []record.Header{{Key: "trace", Value: []byte("abc")}}
		}
		recs = append(recs, r)
	}
	recs = append(recs, record.Record{Key: []byte("21")}, record.Record{Key: []byte{}},
		record.Record{Key: []byte("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")})
	for _, n := range []int{1, 6, 7, 64} {
		out := make([]int32, len(recs))
		if err := p.Partition(ctx, recs, n, out); err != nil {
			t.Fatal(err)
		}
		keyless := make([]int, n)
		for i, r := range recs {
			if r.Key == nil {
				keyless[out[i]]++
				continue
			}
			if want := partitioner.HashPartition(r.Key, n); out[i] != want {
				t.Fatalf("n=%d record %d key %q: partition %d, Kafka's is %d", n, i, r.Key, out[i], want)
			}
		}
		for part, c := range keyless {
			if c < 50/n || c > 50/n+1 {
				t.Errorf("n=%d: keyless records per partition %v, not round-robin", n, keyless)
				_ = part
				break
			}
		}
	}
}

// TestEchoProcessor runs a WAT processor that passes records through, and
// checks outputs, source offsets and the captured stdout line.
func TestEchoProcessor(t *testing.T) {
	h, logs := newTestHost(t, Config{})
	ctx := context.Background()
	pr, err := h.Processor(ctx, Module{Name: "echo", Version: 2, Wasm: buildWAT(t, "testdata/echo.wat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close(ctx)
	in := []record.Record{
		{Offset: 40, Timestamp: 1700000000000, Key: []byte("k"), Value: []byte("v"),
			Headers: []record.Header{{Key: "a", Value: []byte("b")}}},
		{Offset: 41, Value: []byte(strings.Repeat("x", 100000))},
	}
	outs, err := pr.Process(ctx, 3, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].SourceOffset != 40 || outs[1].SourceOffset != 41 ||
		string(outs[0].Key) != "k" || outs[1].Key != nil || len(outs[1].Value) != 100000 ||
		outs[0].Timestamp != 1700000000000 || outs[0].Headers[0].Key != "a" {
		t.Fatalf("outputs = %+v", outs[0])
	}
	if !containsAll(logs.String(), "echo: batch", "plugin=echo@2", "stream=stdout") {
		t.Errorf("stdout not logged with the plugin's name:\n%s", logs)
	}
	if outs, err := pr.Process(ctx, 3, nil); err != nil || outs != nil {
		t.Errorf("empty batch: %v %v", outs, err)
	}
}

func TestParamsWithoutInitRefused(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	_, err := h.Partitioner(context.Background(), watModule(t), map[string]string{"field": "x"})
	if !errors.Is(err, ErrPluginFailed) || !strings.Contains(err.Error(), "takes none") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidateKindMismatch(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	_, err := h.Validate(context.Background(), watModule(t).Wasm, KindProcessor)
	if !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), "sluice_process") {
		t.Fatalf("err = %v", err)
	}
	info, err := h.Validate(context.Background(), watModule(t).Wasm, "")
	if err != nil || info.Kind != KindPartitioner {
		t.Fatalf("detect kind: %+v %v", info, err)
	}
}

// A result over Limits.MaxOutputBytes fails the call; smaller batches on the
// same processor still work.
func TestOutputLimit(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	pr, err := h.Processor(ctx, Module{Name: "echo", Version: 1, Wasm: buildWAT(t, "testdata/echo.wat"),
		Limits: Limits{MaxOutputBytes: 1000}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close(ctx)
	_, err = pr.Process(ctx, 0, []record.Record{{Value: make([]byte, 2000)}})
	if !errors.Is(err, ErrBadOutput) || !strings.Contains(err.Error(), "over the limit of 1000") {
		t.Fatalf("err = %v", err)
	}
	if outs, err := pr.Process(ctx, 0, []record.Record{{Offset: 9, Value: []byte("ok")}}); err != nil || len(outs) != 1 {
		t.Fatalf("small batch after the failure: %v %v", outs, err)
	}
}
