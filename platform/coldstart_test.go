package platform_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
)

// TestColdStartMutualJoin: three controllers that list each other as
// --join seeds start in turn, the first while no seed is up. None exits
// with "connection refused": each retries, and together they form one
// cluster whose metadata knows all three brokers.
func TestColdStartMutualJoin(t *testing.T) {
	const n = 3
	cfgs := make([]platform.Config, n)
	for i := range cfgs {
		c := platform.DefaultConfig()
		c.NodeID = int32(i + 1)
		c.DataDir = t.TempDir()
		c.HTTPAddr = "127.0.0.1:0"
		c.RaftAddr = testnode.FreePorts(t, 1)
		c.SerfAddr = testnode.FreePorts(t, 1)
		c.ClusterAddr = "127.0.0.1:0"
		c.ClusterTLSDir = testnode.TLSDir(t)
		c.BootstrapExpect = n
		c.Timing = platform.FastTiming()
		c.ShutdownTimeout = 5 * time.Second
		c.Logger = slog.New(slog.DiscardHandler)
		cfgs[i] = c
	}
	for i := range cfgs {
		for j := range cfgs {
			if i != j {
				cfgs[i].Join = append(cfgs[i].Join, cfgs[j].SerfAddr)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type result struct {
		node *platform.Node
		err  error
	}
	results := make([]chan result, n)
	for i := range cfgs {
		results[i] = make(chan result, 1)
		go func() {
			nd, err := platform.Start(ctx, cfgs[i])
			results[i] <- result{nd, err}
		}()
		// The first node's seeds are all down for a while.
		time.Sleep(700 * time.Millisecond)
	}
	nodes := make([]*platform.Node, n)
	for i := range results {
		r := <-results[i]
		if r.err != nil {
			t.Fatalf("node %d: %v", i+1, r.err)
		}
		nodes[i] = r.node
		t.Cleanup(func() { _ = r.node.Close() })
	}
	for i, nd := range nodes {
		if err := nd.WaitReady(ctx); err != nil {
			t.Fatalf("node %d never ready: %v", i+1, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md := nodes[0].Controller().Metadata()
		if len(md.Brokers) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata has %d brokers, want %d: %+v", len(md.Brokers), n, md.Brokers)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
