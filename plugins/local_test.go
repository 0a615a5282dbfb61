package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
)

func TestRunLocalPartitioner(t *testing.T) {
	var out bytes.Buffer
	in := "customer-1:{\"total\":10}\ncustomer-2:{\"total\":12}\r\nno key here\n"
	st, err := RunLocal(context.Background(), LocalRun{
		Wasm: buildWAT(t, watPartitioner), Partitions: 6, KeySeparator: ":",
		Input: strings.NewReader(in), Output: &out, BatchSize: 2, Limits: Limits{CallTimeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("0\t%d\tcustomer-1\t{\"total\":10}\n1\t%d\tcustomer-2\t{\"total\":12}\n2\t0\t\tno key here\n",
		partitioner.HashPartition([]byte("customer-1"), 6), partitioner.HashPartition([]byte("customer-2"), 6))
	if out.String() != want {
		t.Errorf("output\n%q\nwant\n%q", out.String(), want)
	}
	if st != (LocalStats{Records: 3, Outputs: 3, Batches: 2}) {
		t.Errorf("stats = %+v", st)
	}
}

// JSON-lines input carries keys, timestamps, offsets and headers; the JSON
// output shows all of them as the plugin returned them.
func TestRunLocalProcessorJSON(t *testing.T) {
	var out bytes.Buffer
	in := `{"key":"a","value":"x","timestamp":1764085200000,"headers":[{"key":"h","value":"1"},{"key":"h","value":"2"}]}` + "\n" +
		"\n" + // skipped
		`{"value":"b","timestamp":1764085200001,"offset":40}` + "\n"
	_, err := RunLocal(context.Background(), LocalRun{
		Wasm: buildWAT(t, "testdata/echo.wat"), Kind: KindProcessor, Partition: 2, JSON: true,
		Input: strings.NewReader(in), InputJSON: true, Output: &out, Limits: Limits{CallTimeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"source_offset":0,"partition":2,"timestamp":1764085200000,"key":"a","value":"x","headers":[{"key":"h","value":"1"},{"key":"h","value":"2"}]}` + "\n" +
		`{"source_offset":40,"partition":2,"timestamp":1764085200001,"key":null,"value":"b"}` + "\n"
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
	for _, bad := range []string{`{"value":1}`, `{"valu":"x"}`, `not json`, `{"offset":-1}`} {
		_, err := RunLocal(context.Background(), LocalRun{
			Wasm: buildWAT(t, "testdata/echo.wat"), Kind: KindProcessor, JSON: true,
			Input: strings.NewReader(`{"value":"ok"}` + "\n" + bad + "\n"), InputJSON: true, Output: &bytes.Buffer{},
		})
		if err == nil || !strings.Contains(err.Error(), "input line 2: ") {
			t.Errorf("input %s: err = %v, want one naming line 2", bad, err)
		}
	}
}

func TestRunLocalErrors(t *testing.T) {
	ctx := context.Background()
	_, err := RunLocal(ctx, LocalRun{Wasm: []byte("nope"), Input: strings.NewReader(""), Output: &bytes.Buffer{}})
	if !errors.Is(err, ErrInvalidModule) {
		t.Errorf("invalid module: %v", err)
	}
	_, err = RunLocal(ctx, LocalRun{Wasm: buildWAT(t, "testdata/trap.wat"), Partitions: 3,
		Input: strings.NewReader("x\n"), Output: &bytes.Buffer{}})
	if !errors.Is(err, ErrPluginFailed) || !strings.Contains(err.Error(), "plugin local@0: ") {
		t.Errorf("trap: %v", err)
	}
	_, err = RunLocal(ctx, LocalRun{Wasm: buildWAT(t, watPartitioner),
		Input: strings.NewReader("x\n"), Output: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "partition count") {
		t.Errorf("no partitions: %v", err)
	}
}
