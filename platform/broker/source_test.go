package broker

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

// memSource is a MetadataSource that runs meta's real state machine
// without raft: commands apply at once, in order, and Watch wakes on each.
type memSource struct {
	mu      sync.Mutex
	cluster *meta.Cluster
	index   uint64
	changed *broadcast
}

func newMemSource(t *testing.T, brokers ...meta.NodeID) *memSource {
	s := &memSource{cluster: meta.NewCluster(), changed: newBroadcast()}
	for _, id := range brokers {
		s.propose(t, meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{
			Broker: meta.Broker{ID: id, HTTPAddr: "http://node" + string(rune('0'+id)), Roles: []string{meta.RoleBroker}}}})
	}
	return s
}

func (s *memSource) Metadata() *meta.Cluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cluster
}

func (s *memSource) Watch(ctx context.Context, after uint64) (*meta.Cluster, error) {
	for {
		ch := s.changed.Wait()
		if c := s.Metadata(); c.Version > after {
			return c, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Propose applies cmd as the controller would.
func (s *memSource) Propose(_ context.Context, cmd meta.Command) (meta.Result, error) {
	s.mu.Lock()
	s.index++
	c, res, err := meta.Apply(s.cluster, s.index, cmd, time.Now())
	s.cluster = c
	s.mu.Unlock()
	s.changed.Notify()
	return res, err
}

// propose applies cmd and returns the new version; it fails the test on error.
func (s *memSource) propose(t testing.TB, cmd meta.Command) uint64 {
	t.Helper()
	v, err := s.try(cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd.Op, err)
	}
	return v
}

func (s *memSource) try(cmd meta.Command) (uint64, error) {
	s.mu.Lock()
	s.index++
	c, _, err := meta.Apply(s.cluster, s.index, cmd, time.Now())
	s.cluster = c
	s.mu.Unlock()
	s.changed.Notify()
	return c.Version, err
}

func (s *memSource) createTopic(t testing.TB, name string, partitions int, config map[string]string) uint64 {
	return s.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{
		Name: name, Partitions: partitions, Config: config}})
}

// quiet discards the logs of brokers under test.
var quiet = slog.New(slog.DiscardHandler)
