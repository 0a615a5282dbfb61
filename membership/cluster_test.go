package membership

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestForeignClusterCannotJoin: a node of cluster "beta" pointed at a member
// of cluster "alpha" fails to start, and alpha never reports it; a node of
// alpha joining afterwards is reported as usual.
func TestForeignClusterCannotJoin(t *testing.T) {
	cfg := fastConfig(1)
	cfg.Cluster = "alpha"
	a := start(t, cfg)
	if a.Cluster() != "alpha" || a.Local().Cluster != "alpha" {
		t.Fatalf("cluster %q, local member's %q; want alpha", a.Cluster(), a.Local().Cluster)
	}

	foreign := fastConfig(2, a.Local().SerfAddr)
	foreign.Cluster = "beta"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if m, err := Start(ctx, foreign); err == nil {
		_ = m.Close()
		t.Fatal("a node of cluster beta joined cluster alpha")
	}

	own := fastConfig(3, a.Local().SerfAddr)
	own.Cluster = "alpha"
	start(t, own)
	waitEvent(t, a, EventJoin, 3)
	ids := func() []int32 {
		var out []int32
		for _, m := range a.Members() {
			out = append(out, m.ID)
		}
		slices.Sort(out)
		return out
	}
	if got := ids(); !slices.Equal(got, []int32{1, 3}) {
		t.Fatalf("alpha's members %v, want [1 3]", got)
	}
	for _, ev := range seen[a] {
		if ev.Member.ID == 2 {
			t.Fatalf("alpha reported the foreign node: %+v", ev)
		}
	}
}

// TestDefaultCluster: a Config without a cluster name joins DefaultCluster,
// and two such nodes form one cluster.
func TestDefaultCluster(t *testing.T) {
	a := start(t, fastConfig(1))
	b := start(t, fastConfig(2, a.Local().SerfAddr))
	waitEvent(t, a, EventJoin, 2)
	if a.Cluster() != DefaultCluster || b.Local().Cluster != DefaultCluster {
		t.Fatalf("clusters %q, %q; want %q", a.Cluster(), b.Local().Cluster, DefaultCluster)
	}
}
