package broker

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// memReplicas carries follower fetches between brokers in one process:
// the replica transport seam, without HTTP.
type memReplicas struct {
	mu sync.Mutex
	by map[meta.NodeID]*Broker
}

func (m *memReplicas) set(id meta.NodeID, b *Broker) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.by[id] = b
}

func (m *memReplicas) FetchReplica(ctx context.Context, leader *meta.Broker, req *ReplicaFetchRequest) (*ReplicaFetchResponse, error) {
	m.mu.Lock()
	b := m.by[leader.ID]
	m.mu.Unlock()
	if b == nil {
		return nil, fmt.Errorf("broker %d is down", leader.ID)
	}
	return b.ReplicaFetch(ctx, req)
}

// memHeartbeat is the active controller's heartbeat handling over a
// memSource: the first or a new directory id is committed as a
// registration (meta.RegisterBroker then makes a new directory's replicas
// lost ones).
func memHeartbeat(src *memSource) func(context.Context, meta.Heartbeat) (meta.HeartbeatReply, error) {
	return func(ctx context.Context, hb meta.Heartbeat) (meta.HeartbeatReply, error) {
		b, ok := src.Metadata().Broker(hb.Broker)
		if !ok {
			return meta.HeartbeatReply{}, nil
		}
		if b.DirID != hb.DirID || !b.Alive() {
			nb := *b
			nb.DirID = hb.DirID
			if _, err := src.Propose(ctx, meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: nb}}); err != nil {
				return meta.HeartbeatReply{}, err
			}
		}
		b, _ = src.Metadata().Broker(hb.Broker)
		return meta.HeartbeatReply{Registered: true, BrokerEpoch: b.Epoch}, nil
	}
}

// TestNewcomerWithEmptyLogIsNeverTheTruth: a leader loses its disk and is
// back at once, while the metadata still names it leader. Its empty log
// must never be what its follower truncates to: it takes no role until
// the metadata has its new directory id, the follower (which kept the
// data) is elected, and the newcomer catches up from it and rejoins the
// ISR with the same records at the same offsets.
func TestNewcomerWithEmptyLogIsNeverTheTruth(t *testing.T) {
	src := newMemSource(t, 1, 2)
	net := &memReplicas{by: map[meta.NodeID]*Broker{}}
	dirs := map[meta.NodeID]string{1: t.TempDir(), 2: t.TempDir()}
	start := func(id meta.NodeID) *Broker {
		b, err := Start(context.Background(), Config{
			NodeID: int32(id), DataDir: dirs[id], Metadata: src, Logger: quiet,
			Replicas: net, Heartbeat: memHeartbeat(src), HeartbeatInterval: 10 * time.Millisecond,
			ReplicaLagMax: 5 * time.Second, ReplicaBackoff: 10 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		net.set(id, b)
		return b
	}
	b1, b2 := start(1), start(2)
	defer func() { b2.Close() }()
	waitVersion(t, b1, src.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{
		Name: "n", Partitions: 1, ReplicationFactor: 2}}))
	eventually(t, "both brokers registered with their directories", func() bool { return b1.Registered() && b2.Registered() })
	if p := src.Metadata().Topics["n"].Partitions[0]; p.Leader != 1 {
		t.Fatalf("setup: %+v", p)
	}
	var acked []int64
	for i := range 20 {
		base, err := b1.ProducePartition(context.Background(), "n", 0, []record.Record{{Value: fmt.Appendf(nil, "v%d", i)}}, AcksAll, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, base)
	}
	eventually(t, "follower has every record", func() bool {
		info, err := b2.PartitionInfo("n", 0)
		return err == nil && info.LogEnd == 20 && info.HighWatermark == 20
	})
	before := src.Metadata().Topics["n"].Partitions[0]

	// Disk loss: broker 1 stops, its directory is wiped, it is back at
	// once under the same id; nobody fenced it.
	net.set(1, nil)
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dirs[1]); err != nil {
		t.Fatal(err)
	}
	b1 = start(1)
	defer func() { b1.Close() }()

	eventually(t, "broker 2 leads in a new epoch, broker 1 rejoined the ISR", func() bool {
		p := src.Metadata().Topics["n"].Partitions[0]
		return p.Leader == 2 && p.LeaderEpoch > before.LeaderEpoch && len(p.ISR) == 2 && len(p.Lost) == 0
	})
	eventually(t, "newcomer caught up", func() bool {
		info, err := b1.PartitionInfo("n", 0)
		return err == nil && info.LogEnd == 20
	})
	info, err := b2.PartitionInfo("n", 0)
	if err != nil || info.LogStart != 0 || info.LogEnd != 20 {
		t.Fatalf("the replica that kept the data lost some: %+v %v", info, err)
	}
	for i, off := range acked {
		res, err := b2.Fetch(context.Background(), FetchRequest{Topic: "n", Offset: off, MaxBytes: 1}, nil)
		if err != nil || len(res.Records) == 0 || string(res.Records[0].Value) != fmt.Sprintf("v%d", i) {
			t.Fatalf("offset %d: %+v %v", off, res.Records, err)
		}
	}
	b1Batches, err1 := b1.LocalBatches("n", 0, 0, 1<<20)
	b2Batches, err2 := b2.LocalBatches("n", 0, 0, 1<<20)
	if err1 != nil || err2 != nil || len(b1Batches) != len(b2Batches) {
		t.Fatalf("replicas differ: %d/%v vs %d/%v batches", len(b1Batches), err1, len(b2Batches), err2)
	}
	for i := range b1Batches {
		if string(b1Batches[i]) != string(b2Batches[i]) {
			t.Fatalf("batch %d differs", i)
		}
	}
}
