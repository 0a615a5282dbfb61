package wsapi_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// poller runs a group member's Poll loop and tracks what it is assigned.
type poller struct {
	c      *client.WSConsumer
	mu     sync.Mutex
	owned  map[int32]bool
	read   int
	err    error
	cancel context.CancelFunc
	done   chan struct{}
}

func startPoller(t *testing.T, url, topic, group string) *poller {
	t.Helper()
	cl, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	p := &poller{owned: map[int32]bool{}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	jctx, jcancel := context.WithTimeout(ctx, 60*time.Second)
	defer jcancel()
	p.c, err = cl.ConsumeWS(jctx, client.WSConsumerConfig{Topic: topic, Group: group, From: "earliest", Credit: 100,
		OnAssigned: func(_ int32, ps []wire.WSPartitionStart) {
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, s := range ps {
				p.owned[s.Partition] = true
			}
		},
		OnRevoked: func(_ int32, ps []int32) {
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, q := range ps {
				delete(p.owned, q)
			}
		},
	})
	if err != nil {
		t.Fatalf("join %s through %s: %v", group, url, err)
	}
	go func() {
		defer close(p.done)
		for {
			b, err := p.c.Poll(ctx)
			if err != nil {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
				return
			}
			p.mu.Lock()
			p.read += len(b.Records)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *poller) stop() {
	p.cancel()
	<-p.done
	p.c.Close()
}

func (p *poller) partitions() []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int32
	for q := range p.owned {
		out = append(out, q)
	}
	slices.Sort(out)
	return out
}

// TestThreeNodes runs the consumer group and WebSocket APIs on a 3-node
// cluster: the offsets loader of every node reads __consumer_offsets
// through its leaders; a WebSocket reads a topic whose partitions other
// nodes lead; and two members of one group connected to different nodes
// share one coordinator (the node leading the group's offsets partition),
// so they split the partitions instead of both getting all of them.
func TestThreeNodes(t *testing.T) {
	n1 := testnode.Start(t)
	n2 := testnode.Join(t, n1, 2, nil)
	n3 := testnode.Join(t, n1, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin, err := client.New(n1.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	eventually(t, 30*time.Second, "three alive brokers", func() bool {
		return len(n1.Controller().Metadata().AliveBrokers()) == 3
	})
	// The quorum may still elect a leader as the voters join: retry.
	var lastErr error
	eventually(t, 30*time.Second, "the topic is created", func() bool {
		_, lastErr = admin.CreateTopic(ctx, wire.CreateTopicRequest{Name: "mn", Partitions: 3, ReplicationFactor: 1})
		return lastErr == nil || errors.Is(lastErr, client.ErrTopicExists)
	})
	var recs []client.Record
	for i := range 30 {
		recs = append(recs, client.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	eventually(t, 30*time.Second, "every node knows the topic", func() bool {
		for _, n := range []*testnode.Node{n1, n2, n3} {
			if _, ok := n.Broker().Cluster().Topic("mn"); !ok {
				return false
			}
		}
		return true
	})
	eventually(t, 30*time.Second, "the records are produced", func() bool {
		_, lastErr = admin.Produce(ctx, "mn", recs, client.ProduceOptions{})
		return lastErr == nil // a retry may duplicate records: the reads below count at least 30
	})

	// A node that does not lead every partition serves a whole-topic read.
	mt, _ := n1.Controller().Metadata().Topic("mn")
	var reader *testnode.Node
	for _, n := range []*testnode.Node{n1, n2, n3} {
		for _, p := range mt.Partitions {
			if int32(p.Leader) != n.ID() {
				reader = n
			}
		}
		if reader != nil {
			break
		}
	}
	rc, err := client.New(reader.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ws, err := rc.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "mn", From: "earliest", Credit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for got < 30 {
		b, err := ws.Poll(ctx)
		if err != nil {
			t.Fatalf("read through node %d (leaders %v) after %d records: %v", reader.ID(), leaders(mt), got, err)
		}
		got += len(b.Records)
	}
	ws.Close()

	// Two members of one group on two nodes split the partitions.
	a := startPoller(t, n2.URL(), "mn", "mg")
	b := startPoller(t, n3.URL(), "mn", "mg")
	eventually(t, 60*time.Second, "the members split the partitions", func() bool {
		pa, pb := a.partitions(), b.partitions()
		all := slices.Sorted(slices.Values(append(slices.Clone(pa), pb...)))
		return len(pa) > 0 && len(pb) > 0 && slices.Equal(all, []int32{0, 1, 2})
	})
	// The group's coordinator created __consumer_offsets before it took
	// the members in; it exists now on every node's view of the metadata.
	eventually(t, 10*time.Second, "__consumer_offsets in the metadata", func() bool {
		_, ok := n1.Controller().Metadata().Topic("__consumer_offsets")
		return ok
	})
	// It is replicated like any topic: RF min(3, brokers) and
	// min.insync.replicas 2 (created so, or raised by the controller when
	// it was created before all three brokers were alive).
	eventually(t, 60*time.Second, "__consumer_offsets at RF 3, min.insync.replicas 2", func() bool {
		offs, _ := n1.Controller().Metadata().Topic("__consumer_offsets")
		if offs.ReplicationFactor != 3 || offs.Config.MinInsyncReplicas != 2 {
			return false
		}
		for _, p := range offs.Partitions {
			if len(p.Replicas) != 3 {
				return false
			}
		}
		return true
	})
	// Any node describes the group (the request goes to its coordinator).
	for _, n := range []*testnode.Node{n1, n2, n3} {
		c, err := client.New(n.URL())
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.DescribeGroup(ctx, "mg")
		c.Close()
		if err != nil || len(g.Members) != 2 {
			t.Fatalf("describe through node %d: %+v, %v; want 2 members", n.ID(), g, err)
		}
	}
	// Any node lists the group once, coordinated by one node.
	for _, n := range []*testnode.Node{n2, n3} {
		c, err := client.New(n.URL())
		if err != nil {
			t.Fatal(err)
		}
		l, err := c.ListGroups(ctx)
		c.Close()
		var names []string
		for _, g := range l {
			names = append(names, g.Group)
		}
		if err != nil || !slices.Equal(names, []string{"mg"}) {
			t.Fatalf("list through node %d: %v, %v; want [mg] once", n.ID(), names, err)
		}
	}
	eventually(t, 30*time.Second, "the members read every record", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		b.mu.Lock()
		defer b.mu.Unlock()
		return a.read+b.read >= 30
	})
}

func leaders(t *meta.Topic) []meta.NodeID {
	var out []meta.NodeID
	for _, p := range t.Partitions {
		out = append(out, p.Leader)
	}
	return out
}
