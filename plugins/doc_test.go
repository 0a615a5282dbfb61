package plugins

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testtool"
	"github.com/sluicehq/sluice/record"
)

// The WAT example printed in docs/plugin-abi.md section 9 assembles, passes
// validation and partitions as the page says (everything to partition 0).
func TestABIDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/plugin-abi.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```wat\n")
	if !ok {
		t.Fatal("no ```wat block in docs/plugin-abi.md")
	}
	wat, _, _ := strings.Cut(rest, "```")
	testtool.Need(t, testtool.WAT2Wasm)
	path := filepath.Join(t.TempDir(), "doc.wat")
	if err := os.WriteFile(path, []byte(wat), 0o644); err != nil {
		t.Fatal(err)
	}
	wasm := buildWAT(t, path)
	h, _ := newTestHost(t, Config{})
	ctx := context.Background()
	if _, err := h.Validate(ctx, wasm, KindPartitioner); err != nil {
		t.Fatal(err)
	}
	p, err := h.Partitioner(ctx, Module{Name: "doc", Version: 1, Wasm: wasm}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	recs := make([]record.Record, 3000) // 3000 records: sluice_alloc must grow memory
	for i := range recs {
		recs[i] = record.Record{Key: []byte("k"), Value: make([]byte, 100)}
	}
	out := make([]int32, len(recs))
	for i := range out {
		out[i] = -1
	}
	if err := p.Partition(ctx, recs, 4, out); err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o != 0 {
			t.Fatalf("record %d: partition %d, want 0", i, o)
		}
	}
}
