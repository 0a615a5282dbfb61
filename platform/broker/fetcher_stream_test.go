package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// memStreamer opens in-process replication streams from broker self to
// the leaders of a memReplicas: the stream seam without HTTP. The leader
// end does what httpapi's does: acknowledged offsets and positions are
// recorded as they are sent, in order; fetches are served in order by
// one goroutine. Every breakEvery-th fetch (0: never) breaks the stream
// before it is answered, as a lost connection would.
type memStreamer struct {
	*memReplicas
	self       int32
	breakEvery int64
	// unsupported: every open fails as against a leader without the
	// stream route.
	unsupported bool
	fetches     atomic.Int64
	opened      atomic.Int64
}

func (m *memStreamer) OpenReplicaStream(_ context.Context, leader *meta.Broker) (ReplicaStream, error) {
	m.mu.Lock()
	b := m.by[leader.ID]
	m.mu.Unlock()
	if b == nil {
		return nil, fmt.Errorf("broker %d is down", leader.ID)
	}
	m.opened.Add(1)
	if m.unsupported {
		return nil, fmt.Errorf("open: %w", ErrStreamUnsupported)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &memStream{m: m, b: b, ctx: ctx, cancel: cancel, reqs: make(chan *ReplicaFetchRequest, 4), resps: make(chan *ReplicaFetchResponse, 4), done: make(chan struct{})}
	go s.serve()
	return s, nil
}

type memStream struct {
	m      *memStreamer
	b      *Broker
	ctx    context.Context
	cancel context.CancelFunc
	reqs   chan *ReplicaFetchRequest
	resps  chan *ReplicaFetchResponse
	done   chan struct{}
	once   sync.Once
}

var errStreamBroken = errors.New("stream broken (injected)")

func (s *memStream) serve() {
	defer close(s.done)
	var arena []byte
	for {
		select {
		case <-s.ctx.Done():
			return
		case req := <-s.reqs:
			resp, a, err := s.b.ReplicaFetchInto(s.ctx, req, arena[:0])
			arena = a
			if err != nil {
				return
			}
			// The arena is reused: hand over copies, as a frame would.
			for i := range resp.Partitions {
				for j, raw := range resp.Partitions[i].Batches {
					resp.Partitions[i].Batches[j] = bytes.Clone(raw)
				}
			}
			select {
			case s.resps <- resp:
			case <-s.ctx.Done():
				return
			}
		}
	}
}

func (s *memStream) Fetch(req *ReplicaFetchRequest) error {
	if n := s.m.fetches.Add(1); s.m.breakEvery > 0 && n%s.m.breakEvery == 0 {
		s.cancel()
		return nil // the break shows at the next Recv
	}
	cp := *req
	cp.Partitions = append([]ReplicaFetchPartition(nil), req.Partitions...)
	var pos []ReplicaPosition
	for i := range cp.Partitions {
		rp := &cp.Partitions[i]
		if rp.AckedOffset >= 0 {
			pos = append(pos, ReplicaPosition{Topic: rp.Topic, Partition: rp.Partition, LeaderEpoch: rp.LeaderEpoch, Offset: rp.AckedOffset})
			rp.AckedOffset = -1
		}
	}
	if err := s.b.ReplicaPositions(s.m.self, pos); errors.Is(err, ErrClosed) {
		return err
	}
	select {
	case s.reqs <- &cp:
		return nil
	case <-s.ctx.Done():
		return errStreamBroken
	}
}

func (s *memStream) Positions(pos []ReplicaPosition) error {
	if s.ctx.Err() != nil {
		return errStreamBroken
	}
	if err := s.b.ReplicaPositions(s.m.self, pos); errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

func (s *memStream) Recv(wait time.Duration) (*ReplicaFetchResponse, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case resp := <-s.resps:
		return resp, nil
	case <-s.ctx.Done():
		return nil, errStreamBroken
	case <-t.C:
		return nil, errors.New("no answer")
	}
}

func (s *memStream) Close() error {
	s.once.Do(func() {
		s.cancel()
		<-s.done
	})
	return nil
}

// TestStreamFollowersMatchLeader: two followers on replication streams
// (one of them losing its stream every 7th fetch) of a leader that takes
// acks=all appends to three partitions from three goroutines. Every
// acknowledgement means both followers hold the records (the ISR is
// whole), and at the end all three replicas are equal byte for byte with
// the HW at the log end; the broken stream was reopened, and the other
// follower pipelined most of its fetches.
func TestStreamFollowersMatchLeader(t *testing.T) {
	src := newMemSource(t, 1, 2, 3)
	net := &memReplicas{by: map[meta.NodeID]*Broker{}}
	streamers := map[meta.NodeID]*memStreamer{}
	var brokers []*Broker
	for _, id := range []meta.NodeID{1, 2, 3} {
		st := &memStreamer{memReplicas: net, self: int32(id)}
		if id == 3 {
			st.breakEvery = 7
		}
		streamers[id] = st
		b, err := Start(context.Background(), Config{
			NodeID: int32(id), DataDir: t.TempDir(), Metadata: src, Logger: quiet,
			Replicas: st, ReplicaStreaming: true, Heartbeat: memHeartbeat(src), HeartbeatInterval: 10 * time.Millisecond,
			ReplicaLagMax: time.Hour, ReplicaBackoff: 5 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		net.set(id, b)
		brokers = append(brokers, b)
	}
	defer func() {
		for _, b := range brokers {
			b.Close()
		}
	}()
	waitVersion(t, brokers[0], src.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{
		Name: "s", Partitions: 3, ReplicationFactor: 3}}))
	eventually(t, "brokers registered", func() bool {
		return brokers[0].Registered() && brokers[1].Registered() && brokers[2].Registered()
	})
	leaderOf := func(p int32) *Broker { return brokers[src.Metadata().Topics["s"].Partitions[p].Leader-1] }
	eventually(t, "every partition has a leader", func() bool {
		for p := range int32(3) {
			if info, err := leaderOf(p).PartitionInfo("s", p); err != nil || !info.Leader {
				return false
			}
		}
		return true
	})
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for p := range int32(3) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				recs := []record.Record{{Value: fmt.Appendf(nil, "p%d-%d", p, i)}, {Value: bytes.Repeat([]byte{byte(i)}, 300)}}
				if _, err := leaderOf(p).ProducePartition(context.Background(), "s", p, recs, AcksAll, 20*time.Second); err != nil {
					errs <- fmt.Errorf("partition %d record %d: %w", p, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for p := range int32(3) {
		leader := leaderOf(p)
		want, err := leader.LocalBatches("s", p, 0, 1<<30)
		if err != nil || len(want) != 60 {
			t.Fatalf("partition %d on its leader: %d batches, %v", p, len(want), err)
		}
		for _, b := range brokers {
			eventually(t, fmt.Sprintf("partition %d on node %d: HW 120 and the leader's batches", p, b.cfg.NodeID), func() bool {
				info, err := b.PartitionInfo("s", p)
				if err != nil || info.HighWatermark != 120 || info.LogEnd != 120 {
					return false
				}
				got, err := b.LocalBatches("s", p, 0, 1<<30)
				if err != nil || len(got) != len(want) {
					return false
				}
				for i := range got {
					if !bytes.Equal(got[i], want[i]) {
						return false
					}
				}
				return true
			})
		}
	}
	// In steady state the next fetch is sent before the append: node 2
	// (no breaks) built few of its fetches from the logs.
	if built, piped := brokers[1].streamRounds.built.Load(), brokers[1].streamRounds.pipelined.Load(); piped < 4*built {
		t.Fatalf("node 2: %d fetches pipelined, %d built from the logs; want most pipelined", piped, built)
	}
	if n := streamers[3].opened.Load(); n < 2 {
		t.Fatalf("node 3 opened %d streams, want a reopen after the injected breaks", n)
	}
}

// TestStreamUnsupportedFallsBackToRequests: a follower whose leader serves
// no stream (an older node) replicates over requests instead; acks=all
// still completes and the replicas are equal.
func TestStreamUnsupportedFallsBackToRequests(t *testing.T) {
	src := newMemSource(t, 1, 2)
	net := &memReplicas{by: map[meta.NodeID]*Broker{}}
	var brokers []*Broker
	for _, id := range []meta.NodeID{1, 2} {
		b, err := Start(context.Background(), Config{
			NodeID: int32(id), DataDir: t.TempDir(), Metadata: src, Logger: quiet,
			Replicas: &memStreamer{memReplicas: net, self: int32(id), unsupported: true}, ReplicaStreaming: true,
			Heartbeat: memHeartbeat(src), HeartbeatInterval: 10 * time.Millisecond,
			ReplicaLagMax: time.Hour, ReplicaBackoff: 5 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		net.set(id, b)
		brokers = append(brokers, b)
	}
	defer func() {
		for _, b := range brokers {
			b.Close()
		}
	}()
	waitVersion(t, brokers[0], src.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{
		Name: "u", Partitions: 1, ReplicationFactor: 2}}))
	eventually(t, "brokers registered", func() bool { return brokers[0].Registered() && brokers[1].Registered() })
	leader := brokers[src.Metadata().Topics["u"].Partitions[0].Leader-1]
	eventually(t, "a leader", func() bool { info, err := leader.PartitionInfo("u", 0); return err == nil && info.Leader })
	for i := range 10 {
		if _, err := leader.ProducePartition(context.Background(), "u", 0, []record.Record{{Value: fmt.Appendf(nil, "v%d", i)}}, AcksAll, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := leader.LocalBatches("u", 0, 0, 1<<20)
	for _, b := range brokers {
		got, err := b.LocalBatches("u", 0, 0, 1<<20)
		if err != nil || len(got) != 10 || len(want) != 10 {
			t.Fatalf("node %d: %d batches %v, leader %d", b.cfg.NodeID, len(got), err, len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("node %d batch %d differs", b.cfg.NodeID, i)
			}
		}
	}
}
