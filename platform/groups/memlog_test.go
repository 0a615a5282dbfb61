package groups

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// memLog is an in-memory Log for the coordinator's unit tests (the node
// tests use the real broker). failAppend injects a write fault.
type memLog struct {
	mu         sync.Mutex
	topics     map[string][][]record.Record
	internal   map[string]bool
	failAppend error
	remote     *meta.Broker // the leader of every partition, when not nil
	epoch      int32        // the leader epoch of every partition
	appends    int
}

func newMemLog() *memLog {
	return &memLog{topics: map[string][][]record.Record{}, internal: map[string]bool{}}
}

func (l *memLog) createTopic(name string, partitions int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.topics[name]; !ok {
		l.topics[name] = make([][]record.Record, partitions)
	}
}

// fill appends n empty records to every partition of topic, so that
// commits up to offset n are in range.
func (l *memLog) fill(topic string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.topics[topic] {
		for j := 0; j < n; j++ {
			l.topics[topic][i] = append(l.topics[topic][i], record.Record{})
		}
	}
}

func (l *memLog) CreateInternalTopic(_ context.Context, topic string, partitions int) error {
	l.createTopic(topic, partitions)
	l.mu.Lock()
	l.internal[topic] = true
	l.mu.Unlock()
	return nil
}

func (l *memLog) part(topic string, p int32) (*[]record.Record, error) {
	ps, ok := l.topics[topic]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	if p < 0 || int(p) >= len(ps) {
		return nil, errors.New("unknown partition")
	}
	return &ps[p], nil
}

// Leader is local unless the test set remote (then every partition is
// led by that node).
func (l *memLog) Leader(_ context.Context, _ string, _ int32) (Leader, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.remote != nil {
		return Leader{Node: l.remote, Epoch: l.epoch}, nil
	}
	return Leader{Local: true, Epoch: l.epoch}, nil
}

func (l *memLog) Append(_ context.Context, topic string, p int32, recs []record.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failAppend != nil {
		return l.failAppend
	}
	part, err := l.part(topic, p)
	if err != nil {
		return err
	}
	for _, r := range recs {
		r.Offset = int64(len(*part))
		*part = append(*part, r)
	}
	l.appends++
	return nil
}

func (l *memLog) Read(_ context.Context, topic string, p int32, offset int64, maxBytes int) ([]record.Record, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	part, err := l.part(topic, p)
	if err != nil {
		return nil, 0, err
	}
	var out []record.Record
	size := 0
	for i := offset; i < int64(len(*part)) && (size < maxBytes || len(out) == 0); i++ {
		r := (*part)[i]
		out = append(out, r)
		size += r.Size()
	}
	return out, int64(len(*part)), nil
}

func (l *memLog) Partitions(_ context.Context, topic string) (int32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps, ok := l.topics[topic]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	return int32(len(ps)), nil
}

func (l *memLog) Bounds(_ context.Context, topic string, p int32) (int64, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	part, err := l.part(topic, p)
	if err != nil {
		return 0, 0, err
	}
	return 0, int64(len(*part)), nil
}

func (l *memLog) OffsetForTimestamp(_ context.Context, topic string, p int32, ts int64) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	part, err := l.part(topic, p)
	if err != nil {
		return 0, err
	}
	for _, r := range *part {
		if r.Timestamp >= ts {
			return r.Offset, nil
		}
	}
	return int64(len(*part)), nil
}
