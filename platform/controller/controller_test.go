package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/platform/meta"
)

func TestSingleNodeTopicLifecycle(t *testing.T) {
	c := startSingle(t, t.TempDir(), nil)
	ctx := ctxT(t, 20*time.Second)
	if id, addr := c.Leader(); id != 1 || addr == "" {
		t.Fatalf("Leader() = %d %q", id, addr)
	}
	if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "orders"}); !errors.Is(err, meta.ErrNotEnoughBrokers) {
		t.Fatalf("create without brokers: %v", err)
	}
	if _, err := c.RegisterBroker(ctx, meta.Broker{ID: 1, HTTPAddr: "127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	before := c.Metadata().Version

	// A watcher started before the change sees it.
	got := make(chan *meta.Cluster, 1)
	go func() {
		md, err := c.Watch(ctx, before)
		if err != nil {
			t.Error(err)
		}
		got <- md
	}()
	tp, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "orders", Partitions: 4,
		Config: map[string]string{meta.KeyDurability: meta.DurabilityReplicated}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Partitions) != 4 || tp.Partitions[0].Leader != 1 || tp.Config.Durability != meta.DurabilityReplicated {
		t.Fatalf("created %+v", tp)
	}
	md := <-got
	if md.Version <= before {
		t.Fatalf("watch returned version %d, not after %d", md.Version, before)
	}
	if _, ok := md.Topic("orders"); !ok {
		t.Fatal("watcher's metadata lacks the topic")
	}
	if !c.Metadata().Topics["orders"].CreatedAt.Equal(tp.CreatedAt) || tp.CreatedAt.IsZero() {
		t.Fatal("CreatedAt not stamped from the proposal")
	}

	if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "orders"}); !errors.Is(err, meta.ErrTopicExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	tp, err = c.AlterTopic(ctx, meta.AlterTopic{Name: "orders", Config: map[string]string{meta.KeyRetentionMs: "1000"},
		Partitioner: &meta.PartitionerSpec{Name: meta.PartitionerHash}})
	if err != nil {
		t.Fatal(err)
	}
	if tp.Config.RetentionMs != 1000 || tp.Partitioner.Name != "hash" {
		t.Fatalf("altered %+v", tp)
	}
	if _, err := c.AlterTopic(ctx, meta.AlterTopic{Name: "orders", Config: map[string]string{"bogus": "1"}}); !errors.Is(err, meta.ErrInvalidConfig) {
		t.Fatalf("bad alter: %v", err)
	}

	p := c.Metadata().Topics["orders"].Partitions[0]
	np, err := c.AlterPartition(ctx, meta.AlterPartition{Topic: "orders", Leader: 1, LeaderEpoch: p.LeaderEpoch,
		PartitionEpoch: p.PartitionEpoch, ISR: []meta.NodeID{1}})
	if err != nil || np.PartitionEpoch != p.PartitionEpoch {
		// ISR unchanged ([1]) is a no-op: same epoch.
		t.Fatalf("alter partition: %+v %v", np, err)
	}
	if _, err := c.AlterPartition(ctx, meta.AlterPartition{Topic: "orders", Leader: 1, PartitionEpoch: 7, ISR: []meta.NodeID{1}}); !errors.Is(err, meta.ErrStaleEpoch) {
		t.Fatalf("stale alter partition: %v", err)
	}

	pv, err := c.UploadPlugin(ctx, meta.UploadPlugin{Name: "geo", Kind: meta.PluginKindPartitioner, Wasm: []byte("\x00asm\x01\x00\x00\x00")})
	if err != nil || pv.Version != 1 {
		t.Fatalf("upload: %+v %v", pv, err)
	}
	if _, err := c.AlterTopic(ctx, meta.AlterTopic{Name: "orders", Partitioner: &meta.PartitionerSpec{Name: "wasm", Plugin: "geo"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePlugin(ctx, "geo", 0); !errors.Is(err, meta.ErrPluginInUse) {
		t.Fatalf("delete plugin in use: %v", err)
	}
	if err := c.DeleteTopic(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTopic(ctx, "orders"); !errors.Is(err, meta.ErrUnknownTopic) {
		t.Fatalf("second delete: %v", err)
	}
	if err := c.DeletePlugin(ctx, "geo", 0); err != nil {
		t.Fatal(err)
	}
	if c.Metadata().ClusterID == "" {
		t.Fatal("the active controller did not set a cluster id")
	}
}

func TestWatchManyWaitersAndCancel(t *testing.T) {
	c := startSingle(t, t.TempDir(), nil)
	ctx := ctxT(t, 10*time.Second)
	if _, err := c.RegisterBroker(ctx, meta.Broker{ID: 1}); err != nil {
		t.Fatal(err)
	}
	v := c.Metadata().Version
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			md, err := c.Watch(ctx, v)
			if err == nil && md.Version <= v {
				err = fmt.Errorf("version %d after %d", md.Version, v)
			}
			errs <- err
		}()
	}
	if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := c.Watch(short, c.Metadata().Version); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("watch with nothing new: %v", err)
	}
}

// TestSnapshotAndRestart creates many topics, forces a snapshot (which must
// compact the log), restarts from the same directory and expects identical
// metadata.
func TestSnapshotAndRestart(t *testing.T) {
	dir := t.TempDir()
	raftAddr := freeAddr(t)
	mod := func(cfg *Config) {
		cfg.RaftAddr = raftAddr
		cfg.TrailingLogs = 5
		cfg.SnapshotThreshold = 1 << 20 // only the forced snapshot
	}
	c := startSingle(t, dir, mod)
	ctx := ctxT(t, 30*time.Second)
	for id := meta.NodeID(1); id <= 3; id++ {
		if _, err := c.RegisterBroker(ctx, meta.Broker{ID: id, HTTPAddr: fmt.Sprintf("127.0.0.1:%d", 9000+id)}); err != nil {
			t.Fatal(err)
		}
	}
	wasm := make([]byte, 4096)
	for i := range wasm {
		wasm[i] = byte(i)
	}
	if _, err := c.UploadPlugin(ctx, meta.UploadPlugin{Name: "geo", Kind: meta.PluginKindPartitioner, Wasm: wasm}); err != nil {
		t.Fatal(err)
	}
	const topics = 150
	for i := range topics {
		if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: fmt.Sprintf("topic-%03d", i), Partitions: 1 + i%8, ReplicationFactor: 1 + i%3}); err != nil {
			t.Fatal(err)
		}
	}
	lastBefore, _ := c.store.LastIndex()
	if err := c.Snapshot(); err != nil {
		t.Fatal(err)
	}
	first, err := c.store.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	if first <= 1 || lastBefore-first+1 > 5+1 {
		t.Fatalf("log not compacted: first index %d, last %d", first, lastBefore)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
	if len(snaps) == 0 {
		t.Fatal("no snapshot file written")
	}
	// Entries after the snapshot come back from the log, not the snapshot.
	if _, err := c.CreateTopic(ctx, meta.CreateTopic{Name: "after-snapshot"}); err != nil {
		t.Fatal(err)
	}
	want := c.Metadata()
	wantJSON, _ := json.Marshal(want)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c2 := startSingle(t, dir, mod)
	got := waitMeta(t, c2, 10*time.Second, "restored metadata", func(md *meta.Cluster) bool { return md.Version >= want.Version })
	gotJSON, _ := json.Marshal(got)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("metadata after restart differs:\nwant %.300s\n got %.300s", wantJSON, gotJSON)
	}
	if len(got.Topics) != topics+1 {
		t.Fatalf("%d topics after restart, want %d", len(got.Topics), topics+1)
	}
	pv, err := got.PluginVersion("geo", 1)
	if err != nil || len(pv.Wasm) != len(wasm) || pv.Wasm[4095] != wasm[4095] {
		t.Fatalf("plugin after restart: %v", err)
	}
	// And it keeps serving.
	if _, err := c2.CreateTopic(ctx, meta.CreateTopic{Name: "after-restart"}); err != nil {
		t.Fatal(err)
	}
}

func TestStartValidatesConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no data dir":           {RaftAddr: "127.0.0.1:0"},
		"no raft addr":          {DataDir: t.TempDir()},
		"negative id":           {NodeID: -1, DataDir: t.TempDir(), RaftAddr: "127.0.0.1:1"},
		"unspecified advertise": {DataDir: t.TempDir(), RaftAddr: "0.0.0.0:0"},
	} {
		if c, err := Start(context.Background(), cfg); err == nil {
			_ = c.Close()
			t.Errorf("%s: Start succeeded", name)
		}
	}
	// A data dir that cannot be created.
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(context.Background(), Config{DataDir: filepath.Join(file, "x"), RaftAddr: "127.0.0.1:0"}); err == nil {
		t.Error("Start in an impossible dir succeeded")
	}
}

// Fault: hashicorp/raft's pipelined replication can deadlock after a
// follower answers Success=false (sender and decoder each waiting for the
// other), wedging replication to that follower and the leader's shutdown
// (a Close hung for 10 minutes in a rolling restart; grafana/pyroscope#5518).
// Guarantee: the controller's raft transport never pipelines, so
// replication and Close cannot wedge that way.
func TestRaftTransportDoesNotPipeline(t *testing.T) {
	c := startSingle(t, t.TempDir(), nil)
	_, err := c.trans.AppendEntriesPipeline("peer", "127.0.0.1:1")
	if !errors.Is(err, raft.ErrPipelineReplicationNotSupported) {
		t.Fatalf("AppendEntriesPipeline: %v, want ErrPipelineReplicationNotSupported", err)
	}
}
