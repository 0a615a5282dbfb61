package wsapi_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// ledger counts deliveries per (partition, offset).
type ledger struct {
	mu        sync.Mutex
	count     map[[2]int64]int
	redeliver [][2]int64 // deliveries of a record seen before
}

func newLedger() *ledger { return &ledger{count: map[[2]int64]int{}} }

func (l *ledger) add(p int32, off int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]int64{int64(p), off}
	if l.count[k] > 0 {
		l.redeliver = append(l.redeliver, k)
	}
	l.count[k]++
}

func (l *ledger) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.count)
}

func (l *ledger) redeliveries() [][2]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.redeliver)
}

// member is a group consumer running its poll loop in a goroutine: it
// records every record in the ledger and commits after every batch.
type member struct {
	name   string
	c      *client.WSConsumer
	kd     *killableDialer
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	assigned map[int32]bool
	err      error
}

func (e *env) join(t *testing.T, name, topic, group string, l *ledger) *member {
	t.Helper()
	m := &member{name: name, kd: &killableDialer{}, done: make(chan struct{}), assigned: map[int32]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	c, err := e.cl.ConsumeWS(ctx, client.WSConsumerConfig{
		Topic: topic, Group: group, From: "earliest", ClientID: name, Credit: 100, Dialer: m.kd.dialer(),
		OnAssigned: func(_ int32, ps []wire.WSPartitionStart) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range ps {
				m.assigned[p.Partition] = true
			}
		},
		OnRevoked: func(_ int32, ps []int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range ps {
				delete(m.assigned, p)
			}
		},
	})
	if err != nil {
		t.Fatalf("%s joins: %v", name, err)
	}
	m.c = c
	go func() {
		defer close(m.done)
		for {
			b, err := c.Poll(ctx)
			if err != nil {
				if ctx.Err() != nil {
					// Asked to stop: commit what was processed and leave.
					cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
					err = c.CommitPositions(cctx)
					ccancel()
				}
				c.Close()
				m.mu.Lock()
				m.err = err
				m.mu.Unlock()
				return
			}
			for _, r := range b.Records {
				l.add(b.Partition, r.Offset)
			}
			if err := c.CommitPositions(ctx); err != nil && !errors.Is(err, client.ErrFencedGeneration) && ctx.Err() == nil {
				m.mu.Lock()
				m.err = err
				m.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { m.stop() })
	return m
}

func (m *member) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.assigned))
}

// stop makes the member commit and leave cleanly.
func (m *member) stop() {
	m.cancel()
	<-m.done
}

// crash cuts the member's TCP connection without a goodbye.
func (m *member) crash() {
	m.kd.kill()
	<-m.done
}

func waitShares(t *testing.T, what string, want map[*member]int) {
	t.Helper()
	eventually(t, 20*time.Second, what, func() bool {
		seen := map[int32]bool{}
		for m, n := range want {
			ps := m.partitions()
			if len(ps) != n {
				return false
			}
			for _, p := range ps {
				if seen[p] {
					return false
				}
				seen[p] = true
			}
		}
		return true
	})
}

func TestGroupRebalanceDeliversEverything(t *testing.T) {
	e := startEnv(t, nil)
	e.createTopic(t, "orders", 6)
	e.produce(t, "orders", "a", 600)
	l := newLedger()

	// Three members join one after another; each join is a clean
	// rebalance (revoke, commit, acknowledge, assign).
	a := e.join(t, "a", "orders", "g", l)
	waitShares(t, "a owns all 6 partitions", map[*member]int{a: 6})
	b := e.join(t, "b", "orders", "g", l)
	waitShares(t, "a and b own 3 each", map[*member]int{a: 3, b: 3})
	c := e.join(t, "c", "orders", "g", l)
	waitShares(t, "a, b and c own 2 each", map[*member]int{a: 2, b: 2, c: 2})
	eventually(t, 20*time.Second, "all 600 records delivered", func() bool { return l.distinct() == 600 })
	if r := l.redeliveries(); len(r) != 0 {
		t.Fatalf("clean rebalances after commits redelivered %d records: %v", len(r), r[:min(len(r), 10)])
	}

	// c vanishes (TCP reset, no close frame): its partitions move to a
	// and b once its session times out.
	cParts := c.partitions()
	start := time.Now()
	c.crash()
	e.produce(t, "orders", "b", 600)
	waitShares(t, "a and b take over c's partitions", map[*member]int{a: 3, b: 3})
	moved := time.Since(start)
	t.Logf("c's partitions %v moved %v after the crash (session timeout %v)", cParts, moved, sessionTimeout)
	// The session runs from c's last pong, up to one ping interval before
	// the crash; moving earlier than that would be a premature expiry.
	if earliest := sessionTimeout - pingInterval - 50*time.Millisecond; moved < earliest {
		t.Fatalf("partitions moved after %v, before the session (timeout %v from the last pong, at most %v before the crash) could expire", moved, sessionTimeout, pingInterval)
	}
	eventually(t, 20*time.Second, "all 1200 records delivered at least once", func() bool { return l.distinct() == 1200 })

	// b leaves cleanly after committing: a takes b's partitions from b's
	// committed positions, so nothing is delivered twice from here on.
	before := len(l.redeliveries())
	b.stop()
	waitShares(t, "a owns all 6", map[*member]int{a: 6})
	e.produce(t, "orders", "c", 600)
	eventually(t, 20*time.Second, "all 1800 records delivered", func() bool { return l.distinct() == 1800 })
	if r := l.redeliveries()[before:]; len(r) != 0 {
		t.Fatalf("clean leave after commits redelivered %d records: %v", len(r), r[:min(len(r), 10)])
	}

	// The group's description shows one member, all partitions committed
	// to the end (a commits after every batch).
	eventually(t, 10*time.Second, "lag 0 everywhere", func() bool {
		d, err := e.cl.DescribeGroup(context.Background(), "g")
		if err != nil || len(d.Members) != 1 || len(d.Offsets) != 6 {
			return false
		}
		for _, o := range d.Offsets {
			if o.Lag != 0 || o.Committed != o.LogEnd {
				return false
			}
		}
		return d.State == "stable" && d.Members[0].ClientID == "a"
	})
	for _, m := range []*member{a, b} {
		m.mu.Lock()
		err := m.err
		m.mu.Unlock()
		if err != nil && !errors.Is(err, client.ErrClosed) {
			t.Errorf("member %s: %v", m.name, err)
		}
	}
	_ = fmt.Sprint
}
