package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
)

// freePortPair returns "127.0.0.1:p" where p and p+1 are both free now
// (dev --nodes 2 counts ports up from the given one).
func freePortPair(t *testing.T) string {
	t.Helper()
	return testnode.FreePorts(t, 2)
}

// TestDevClustersStayApart: a second dev cluster (its own data directory,
// distinct ports) whose node 1 is pointed at the first cluster's gossip
// port cannot join it; the first cluster never lists the foreign nodes
// and still commits. Before clusters had names, the foreign nodes joined,
// were made voters, and took the first cluster's quorum with them when
// they stopped.
func TestDevClustersStayApart(t *testing.T) {
	serfA := freePortPair(t)
	url, _ := serveInBackground(t, "dev", "--nodes", "2", "--data-dir", filepath.Join(t.TempDir(), "a"),
		"--http-addr", "127.0.0.1:0", "--raft-addr", freePortPair(t), "--serf-addr", serfA, "--cluster-addr", "127.0.0.1:0")

	serfB := freePortPair(t)
	cfgs, err := devConfigs(devOptions{nodes: 2, dataDir: filepath.Join(t.TempDir(), "b"),
		httpAddr: "127.0.0.1:0", raftAddr: freePortPair(t), serfAddr: serfB, clusterAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if cfgs[0].ClusterName == "" || cfgs[0].ClusterName != cfgs[1].ClusterName {
		t.Fatalf("dev nodes' cluster names %q, %q: want one name", cfgs[0].ClusterName, cfgs[1].ClusterName)
	}
	for i := range cfgs {
		cfgs[i].Logger = slog.New(slog.DiscardHandler)
	}
	cfgs[0].Join = []string{serfA} // the mistake: pointed at the other cluster
	// A foreign cluster drops our gossip as it would a seed that is not up
	// yet: the join retries until --retry-join-timeout, then fails.
	cfgs[0].RetryJoinTimeout = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	started := false
	err = serveNodes(ctx, cfgs, func([]*platform.Node) { started = true; cancel() })
	if started || err == nil || !strings.Contains(err.Error(), "join") {
		t.Fatalf("the second dev cluster, pointed at the first: started %v, err %v; want a failed join", started, err)
	}

	// The first cluster still commits (retried while a FastTiming election
	// settles on a loaded machine).
	deadline := time.Now().Add(45 * time.Second)
	for {
		r := sluice(t, url, "", "topic", "create", "still-committing", "--partitions", "2", "--if-not-exists")
		if r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first cluster cannot create a topic: %s", r.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := ok(t, url, "", "cluster", "brokers")
	_, portB, _ := net.SplitHostPort(serfB)
	if strings.Contains(r.stdout, ":"+portB) || strings.Count(strings.TrimSpace(r.stdout), "\n") > 2 {
		t.Fatalf("the first cluster lists a foreign node:\n%s", r.stdout)
	}
}

// TestDevClusterNameKeptPerDataDir: every dev data directory is its own
// cluster, and a restart on the same directory finds the same name.
func TestDevClusterNameKeptPerDataDir(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	nameA, err := devClusterName(a)
	if err != nil {
		t.Fatal(err)
	}
	again, err := devClusterName(a)
	if err != nil || again != nameA {
		t.Fatalf("second read %q, %v; want %q", again, err, nameA)
	}
	nameB, err := devClusterName(b)
	if err != nil || nameB == nameA {
		t.Fatalf("two data dirs got %q and %q (%v): want distinct names", nameA, nameB, err)
	}
	if err := os.WriteFile(filepath.Join(a, devClusterNameFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := devClusterName(a); err == nil {
		t.Fatal("an empty cluster-name file was accepted")
	}
	cfgs, err := devConfigs(devOptions{nodes: 1, dataDir: b, httpAddr: "127.0.0.1:0", raftAddr: "127.0.0.1:0",
		serfAddr: "127.0.0.1:0", clusterName: "chosen"})
	if err != nil || cfgs[0].ClusterName != "chosen" {
		t.Fatalf("--cluster-name: %+v, %v", cfgs, err)
	}
}
