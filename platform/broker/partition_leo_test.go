package broker

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/record"
)

// committedButCancelledLog is storage's behaviour when a produce's context
// ends while its batch is inside a group commit: the batch is written, and
// Append returns the context's error all the same.
type committedButCancelledLog struct{ Log }

func (l committedButCancelledLog) Append(_ context.Context, recs []record.Record, epoch int32) (int64, error) {
	if _, err := l.Log.Append(context.Background(), recs, epoch); err != nil {
		return 0, err
	}
	return 0, context.Canceled
}

// A batch written although its produce saw an error still moves the LEO,
// and the HW with it: the HW never stays below what the log holds on a
// leader alone in its ISR.
func TestLEOFollowsTheLogWhenAppendReportsCancellation(t *testing.T) {
	src := newMemSource(t, 1)
	b := startBroker(t, src, t.TempDir(), func(c *Config) {
		c.OpenLog = func(path string, o LogOptions) (Log, error) {
			l, err := OpenStorageLog(path, o)
			if err != nil {
				return nil, err
			}
			return committedButCancelledLog{l}, nil
		}
	})
	waitVersion(t, b, src.createTopic(t, "c", 1, map[string]string{}))
	res, err := b.Produce(context.Background(), ProduceRequest{Topic: "c", Records: []record.Record{{Value: []byte("a")}, {Value: []byte("b")}}, Acks: AcksLeader}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, context.Canceled) {
		t.Fatalf("produce result %+v, want the append's context.Canceled", res[0])
	}
	info, err := b.PartitionInfo("c", 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.LogEnd != 2 || info.HighWatermark != 2 {
		t.Fatalf("log end %d, HW %d after a written batch; want both 2", info.LogEnd, info.HighWatermark)
	}
}
