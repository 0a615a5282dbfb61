package controller

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// benchController starts a bootstrapped single-node controller with default
// (production) raft timing and one registered broker.
func benchController(b *testing.B) *Controller {
	b.Helper()
	c, err := Start(context.Background(), Config{NodeID: 1, DataDir: b.TempDir(), RaftAddr: freeAddr(b), Bootstrap: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	waitFor(b, 10*time.Second, "leadership", c.IsLeader)
	if _, err := c.RegisterBroker(context.Background(), meta.Broker{ID: 1}); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkProposeSingleNode: one metadata change committed through raft on
// one node (bbolt log, fsync per commit), one proposer at a time.
func BenchmarkProposeSingleNode(b *testing.B) {
	c := benchController(b)
	ctx := context.Background()
	if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "t"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := c.AlterTopic(ctx, meta.AlterTopic{Name: "t", Config: map[string]string{meta.KeyRetentionMs: strconv.Itoa(1000 + i)}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProposeParallel: 16 proposers per CPU at once; raft batches their
// entries into shared log writes.
func BenchmarkProposeParallel(b *testing.B) {
	c := benchController(b)
	ctx := context.Background()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer() // leave the election out
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// A refused command still commits an entry: pure raft cost.
			if _, err := c.Propose(ctx, meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: "none"}}); err == nil {
				b.Error("delete of a missing topic succeeded")
			}
		}
	})
}
