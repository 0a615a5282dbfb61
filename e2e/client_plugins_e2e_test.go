package e2e_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/testtool"
	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// watPartitioner builds examples/wat-partitioner with wat2wasm (installed
// by .ci/run from Debian's wabt).
func watPartitioner(t *testing.T) []byte {
	t.Helper()
	tool := testtool.Need(t, testtool.WAT2Wasm)
	out := filepath.Join(t.TempDir(), "p.wasm")
	if b, err := exec.Command(tool, "../examples/wat-partitioner/partitioner.wat", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// TestPluginCalls uploads a partitioner, uses it on a topic, and walks the
// plugin admin calls and their named errors.
func TestPluginCalls(t *testing.T) {
	wasm := watPartitioner(t)
	c := startNode(t)
	ctx := ctxT(t)

	if _, err := c.UploadPlugin(ctx, "bad", []byte("not wasm"), client.UploadOptions{Kind: wire.KindPartitioner}); !errors.Is(err, client.ErrInvalidPlugin) {
		t.Errorf("garbage upload: %v", err)
	}
	v1, err := c.UploadPlugin(ctx, "murmur", wasm, client.UploadOptions{Kind: wire.KindPartitioner, TimeoutMs: 50})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := c.UploadPlugin(ctx, "murmur", wasm, client.UploadOptions{Kind: wire.KindPartitioner})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || v2.Version != 2 || v1.Size != int64(len(wasm)) || v1.Limits.TimeoutMs != 50 || v1.SHA256 != v2.SHA256 {
		t.Errorf("versions: %+v / %+v", v1, v2)
	}
	if _, err := c.CreateTopic(ctx, wire.CreateTopicRequest{Name: "w", Partitions: 6, Partitioner: "wasm:murmur@1"}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"customer-1", "customer-2", "c-42"}
	recs := make([]client.Record, len(keys))
	for i, k := range keys {
		recs[i] = client.Record{Key: []byte(k), Value: []byte("v")}
	}
	res, err := c.Produce(ctx, "w", recs, client.ProduceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if want := partitioner.HashPartition([]byte(k), 6); res[i].Partition != want {
			t.Errorf("key %s: partition %d, the WAT murmur2 should give %d", k, res[i].Partition, want)
		}
	}

	ps, err := c.ListPlugins(ctx)
	if err != nil || len(ps) != 1 || ps[0].Latest != 2 || len(ps[0].Versions) != 2 {
		t.Fatalf("list: %+v, %v", ps, err)
	}
	p, err := c.DescribePlugin(ctx, "murmur")
	if err != nil || len(p.UsedBy) == 0 {
		t.Errorf("describe: %+v, %v", p, err)
	}
	if err := c.DeletePlugin(ctx, "murmur", 1); !errors.Is(err, client.ErrPluginInUse) {
		t.Errorf("delete a version in use: %v", err)
	}
	if err := c.DeletePlugin(ctx, "murmur", 2); err != nil {
		t.Errorf("delete an unused version: %v", err)
	}
	if _, err := c.DescribePlugin(ctx, "nope"); !errors.Is(err, client.ErrUnknownPlugin) {
		t.Errorf("describe unknown: %v", err)
	}
	if err := c.DeleteTopic(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePlugin(ctx, "murmur", 0); err != nil {
		t.Errorf("delete after the topic is gone: %v", err)
	}
}
