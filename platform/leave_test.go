package platform_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
)

// memberStatus polls first's serf view until node id has status want.
func waitMemberStatus(t *testing.T, first *testnode.Node, id int32, want membership.Status) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got membership.Status = "absent"
	for time.Now().Before(deadline) {
		got = "absent"
		for _, m := range first.Membership().Members() {
			if m.ID == id {
				got = m.Status
			}
		}
		if got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("node %d is %s in node %d's serf view, want %s", id, got, first.Config.NodeID, want)
}

// canCommit reports whether the controller quorum still commits: a topic
// is created through first's API (which forwards to the active
// controller), retried while leadership settles (FastTiming elections
// flap on a loaded machine) for up to 10 s.
func canCommit(t *testing.T, first *testnode.Node, name string) error {
	t.Helper()
	body := []byte(`{"name":"` + name + `","partitions":1,"replication_factor":1}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Post(first.URL()+"/v1/topics", "application/json", bytes.NewReader(body))
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusConflict {
				return nil
			}
			err = fmt.Errorf("create topic %s: %d %s", name, resp.StatusCode, raw)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCloseLeavesTheCluster: a controller node that is closed leaves serf
// gracefully, so the active controller takes it out of the raft
// configuration and the remaining node keeps a quorum of its own. Without
// the leave it would stay a failed voter, and a two-voter configuration
// with one voter gone commits nothing.
func TestCloseLeavesTheCluster(t *testing.T) {
	first := testnode.Start(t)
	second := testnode.Join(t, first, 2, nil)
	if err := canCommit(t, first, "before"); err != nil {
		t.Fatal(err)
	}
	second.Stop(t)
	waitMemberStatus(t, first, 2, membership.StatusLeft)
	if err := canCommit(t, first, "after"); err != nil {
		t.Fatalf("the remaining controller cannot commit after node 2 closed: %v", err)
	}
	if b, ok := first.Controller().Metadata().Broker(2); !ok || b.Alive() {
		t.Fatalf("node 2's broker after it left: %+v, %v; want fenced", b, ok)
	}
}

// TestFailedStartLeavesTheCluster: a node that joined the gossip and then
// failed to start (its data directory is a file) leaves again on the way
// out, rather than lingering as a failed member of the cluster.
func TestFailedStartLeavesTheCluster(t *testing.T) {
	first := testnode.Start(t)
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := first.Config
	cfg.NodeID = 2
	cfg.Roles = []string{platform.RoleBroker}
	cfg.DataDir = notADir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ClusterAddr = "127.0.0.1:0"
	cfg.SerfAddr = freeLoopback(t)
	cfg.Join = []string{first.Config.SerfAddr}
	cfg.BootstrapExpect = 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n, err := platform.Start(ctx, cfg); err == nil {
		_ = n.Close()
		t.Fatal("node 2 started on a data directory that is a file")
	}
	waitMemberStatus(t, first, 2, membership.StatusLeft)
	if b, ok := first.Controller().Metadata().Broker(2); ok && b.Alive() {
		// Registered in between: the leave fences it.
		deadline := time.Now().Add(10 * time.Second)
		for b.Alive() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			b, _ = first.Controller().Metadata().Broker(2)
		}
		if b.Alive() {
			t.Fatal("node 2's broker is still alive after its failed start")
		}
	}
}

// TestForeignClusterNodeNeverJoins: a node configured with another
// cluster's name and pointed at this cluster's gossip address fails to
// start, and this cluster never registers it.
func TestForeignClusterNodeNeverJoins(t *testing.T) {
	first := testnode.Start(t)
	cfg := first.Config
	cfg.NodeID = 2
	cfg.ClusterName = "another"
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ClusterAddr = "127.0.0.1:0"
	cfg.RaftAddr = freeLoopback(t)
	cfg.SerfAddr = freeLoopback(t)
	cfg.Join = []string{first.Config.SerfAddr}
	cfg.BootstrapExpect = 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n, err := platform.Start(ctx, cfg); err == nil {
		_ = n.Close()
		t.Fatal("a node of another cluster joined")
	}
	// A node of this cluster joins after it: once it is registered, the
	// foreign one would have been too.
	testnode.Join(t, first, 3, []string{platform.RoleBroker})
	md := first.Controller().Metadata()
	if _, ok := md.Broker(2); ok {
		t.Fatal("the node of another cluster was registered")
	}
	for _, m := range first.Membership().Members() {
		if m.ID == 2 {
			t.Fatalf("the node of another cluster is a member: %+v", m)
		}
	}
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	return testnode.FreePorts(t, 1)
}
