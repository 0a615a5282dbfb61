package groups

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/record"
)

// laggingLog is a memLog whose high watermark trails its log end, as on a
// leader just elected whose followers have not yet confirmed its log.
type laggingLog struct {
	*memLog
	hw int64 // the high watermark of every partition (clamped to its end)
}

func (l *laggingLog) LogEnd(_ context.Context, topic string, p int32) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	part, err := l.part(topic, p)
	if err != nil {
		return 0, err
	}
	return int64(len(*part)), nil
}

func (l *laggingLog) Bounds(ctx context.Context, topic string, p int32) (int64, int64, error) {
	start, end, err := l.memLog.Bounds(ctx, topic, p)
	l.mu.Lock()
	defer l.mu.Unlock()
	return start, min(end, l.hw), err
}

func (l *laggingLog) Read(ctx context.Context, topic string, p int32, offset int64, maxBytes int) ([]record.Record, int64, error) {
	recs, _, err := l.memLog.Read(ctx, topic, p, offset, maxBytes)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []record.Record
	for _, r := range recs {
		if r.Offset < l.hw {
			out = append(out, r)
		}
	}
	return out, l.hw, err
}

// TestNewLeaderLoadsOnlyItsWholeCommittedLog: a coordinator taking over an
// offsets partition whose high watermark still trails its log end (the last
// commits acknowledged but not yet known committed here) does not serve the
// group from the older offsets below the mark: it waits until the mark
// reaches the log end, then serves the latest commit. Committed offsets
// never go backwards across a coordinator change.
func TestNewLeaderLoadsOnlyItsWholeCommittedLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		base := newMemLog()
		base.createTopic("orders", 1)
		base.fill("orders", 10) // commits below go up to 9
		c := newTestCoordinator(t, base)
		m, err := c.Join(ctx, JoinRequest{Group: "g", Topic: "orders"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		f := &follower{m: m, owned: map[int32]bool{}}
		f.drain(t)
		for _, off := range []int64{5, 9} {
			if err := m.Commit(ctx, f.gen, []CommitOffset{{Partition: 0, Offset: off}}); err != nil {
				t.Fatal(err)
			}
		}
		m.Leave()
		c.Close()

		// The new leader's high watermark covers the first commit only.
		lag := &laggingLog{memLog: base, hw: 1}
		c2, err := NewCoordinator(Config{Log: lag, OffsetsPartitions: 4, Logger: c.cfg.Logger})
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		short, cancel := context.WithTimeout(ctx, time.Minute) // fake time in the bubble
		_, _, err = c2.Committed(short, "g", "orders", 0)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("served offsets while its log was not committed: %v", err)
		}
		lag.mu.Lock()
		lag.hw = 1 << 40 // the followers caught up
		lag.mu.Unlock()
		v, ok, err := c2.Committed(ctx, "g", "orders", 0)
		if err != nil || !ok || v.Offset != 9 {
			t.Fatalf("committed after the mark reached the log end: %+v %v %v, want 9", v, ok, err)
		}
	})
}
