package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/sluicehq/sluice/storage"
)

// recordingForwarder answers forwards with a fixed error, or base 0, and
// records the producer fields it was handed.
type recordingForwarder struct {
	err  error
	mu   sync.Mutex
	seen []Producer
	last []int64
}

func (f *recordingForwarder) Forward(context.Context, *meta.Broker, string, int32, []record.Record, Acks) (int64, error) {
	return 0, f.err
}

func (f *recordingForwarder) ForwardAs(_ context.Context, _ *meta.Broker, _ string, _ int32, _ []record.Record, _ Acks, p Producer, last int64) (int64, error) {
	f.mu.Lock()
	f.seen, f.last = append(f.seen, p), append(f.last, last)
	f.mu.Unlock()
	return 0, f.err
}

func values(n int, tag string) []record.Record {
	recs := make([]record.Record, n)
	for i := range recs {
		recs[i] = record.Record{Value: fmt.Appendf(nil, "%s-%d", tag, i)}
	}
	return recs
}

// A leader that answers unknown_topic for a partition this broker knows
// has metadata behind this broker's: ErrLeaderUnreachable (retriable).
func TestForwardToLeaderBehindIsRetriable(t *testing.T) {
	src := newMemSource(t, 1, 2)
	f := &recordingForwarder{err: wire.Errorf(wire.CodeUnknownTopic, "topic \"split\" does not exist")}
	b := startBroker(t, src, t.TempDir(), func(c *Config) { c.Forwarder = f })
	waitVersion(t, b, src.createTopic(t, "split", 4, nil))
	res, err := b.Produce(context.Background(), ProduceRequest{Topic: "split", Records: values(8, "x"), Acks: AcksLeader}, nil)
	if err != nil {
		t.Fatal(err)
	}
	forwarded := 0
	for _, r := range res {
		if r.Err != nil {
			forwarded++
			if !errors.Is(r.Err, ErrLeaderUnreachable) {
				t.Fatalf("partition %d: %v, want ErrLeaderUnreachable", r.Partition, r.Err)
			}
		}
	}
	if forwarded == 0 {
		t.Fatal("nothing was forwarded")
	}
}

// produceTwice sends req and then the same request again, as a retry, and
// fails unless every record of both succeeded with the same answer.
func produceTwice(t *testing.T, b *Broker, req ProduceRequest) []ProduceResult {
	t.Helper()
	first, err := b.Produce(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Produce(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if first[i].Err != nil || first[i] != again[i] {
			t.Fatalf("%s seq %d record %d: first %+v, retry %+v", req.Topic, req.Producer.BaseSequence, i, first[i], again[i])
		}
	}
	return first
}

// With the sticky partitioner, an idempotent request's small keyless
// records go to one partition, a function of the producer and the
// sequence (a retry lands there too), keyed ones hash; requests with other
// sequences visit every partition.
func TestIdempotentStickySplit(t *testing.T) {
	src := newMemSource(t, 1)
	b := startBroker(t, src, t.TempDir())
	waitVersion(t, b, src.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{
		Name: "sticky", Partitions: 4, Partitioner: meta.PartitionerSpec{Name: meta.PartitionerSticky}}}))
	recs := append(values(6, "nokey"), keyed(2, "k")...)
	seen := map[int32]bool{}
	for seq := int64(0); seq < 64; seq += 8 {
		prod := &Producer{ID: 777, BaseSequence: seq}
		first := produceTwice(t, b, ProduceRequest{Topic: "sticky", Records: recs, Acks: AcksLeader, Producer: prod})
		want := int32(mix64(777^uint64(seq)) % 4)
		for i := range first {
			if i < 6 && first[i].Partition != want {
				t.Fatalf("seq %d keyless record %d went to %d, want %d (one run)", seq, i, first[i].Partition, want)
			}
			if i >= 6 && first[i].Partition != partitioner.HashPartition(recs[i].Key, 4) {
				t.Fatalf("seq %d keyed record %d went to %d", seq, i, first[i].Partition)
			}
		}
		seen[want] = true
	}
	if len(seen) < 3 {
		t.Errorf("8 requests' runs used partitions %v only", seen)
	}
}

// An idempotent request is split as a function of the request, its fields
// travel to the leaders, and a retry is answered with the original
// offsets where this broker leads.
func TestIdempotentProduceSplitAndRetry(t *testing.T) {
	src := newMemSource(t, 1, 2)
	f := &recordingForwarder{}
	b := startBroker(t, src, t.TempDir(), func(c *Config) { c.Forwarder = f })
	waitVersion(t, b, src.createTopic(t, "idem", 4, nil))
	recs := append(values(6, "nokey"), keyed(6, "k")...)
	prod := &Producer{ID: 12345, BaseSequence: 100}
	first := produceTwice(t, b, ProduceRequest{Topic: "idem", Records: recs, Acks: AcksLeader, Producer: prod})
	var parts []int32
	for i := range first {
		parts = append(parts, first[i].Partition)
	}
	// Keyless records go round-robin from the producer's start partition.
	for i := range 6 {
		if want := int32((12345 + 100 + i) % 4); parts[i] != want {
			t.Fatalf("keyless record %d went to %d, want %d", i, parts[i], want)
		}
	}
	c := src.Metadata()
	tp, _ := c.Topic("idem")
	local := 0
	for p := range tp.Partitions {
		if tp.Partitions[p].Leader == 1 {
			local += len(fetchAll(t, b, "idem", int32(p)))
		}
	}
	wantLocal := 0
	for _, p := range parts {
		if tp.Partitions[p].Leader == 1 {
			wantLocal++
		}
	}
	if local != wantLocal {
		t.Fatalf("%d records stored here, want %d (each once)", local, wantLocal)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		t.Fatal("nothing forwarded")
	}
	for i, p := range f.seen {
		if p != *prod || f.last[i] != 100+int64(len(recs))-1 {
			t.Fatalf("forwarded %+v last %d", p, f.last[i])
		}
	}
	if !slices.ContainsFunc(tp.Partitions, func(p meta.Partition) bool { return p.Leader == 1 }) {
		t.Fatal("no partition led here")
	}
}

// lyingLog writes an idempotent batch and then reports a failure, as an
// append whose context ended inside a group commit does.
type lyingLog struct {
	storageLog
	lie *atomic.Bool
}

func (l lyingLog) AppendAs(ctx context.Context, recs []record.Record, epoch int32, prod storage.Producer) (int64, error) {
	base, err := l.storageLog.AppendAs(ctx, recs, epoch, prod)
	if err == nil && l.lie.CompareAndSwap(true, false) {
		return 0, context.DeadlineExceeded
	}
	return base, err
}

// Fault: the append of an idempotent batch fails after it was written.
// Guarantee: the leader learns the batch from its log, so the retry is
// answered with the offsets it was written at, not written again.
func TestIdempotentRetryAfterAmbiguousAppend(t *testing.T) {
	src := newMemSource(t, 1)
	var lie atomic.Bool
	b := startBroker(t, src, t.TempDir(), func(c *Config) {
		c.OpenLog = func(path string, opts LogOptions) (Log, error) {
			l, err := OpenStorageLog(path, opts)
			if err != nil {
				return nil, err
			}
			return lyingLog{storageLog: l.(storageLog), lie: &lie}, nil
		}
	})
	waitVersion(t, b, src.createTopic(t, "amb", 1, nil))
	req := ProduceRequest{Topic: "amb", Records: values(3, "a"), Acks: AcksLeader, Producer: &Producer{ID: 9, BaseSequence: 0}}
	produce(t, b, "amb", values(2, "plain"), AcksLeader)
	lie.Store(true)
	res, err := b.Produce(context.Background(), req, nil)
	if err != nil || res[0].Err == nil {
		t.Fatalf("first attempt: %+v, %v; want a per-record failure", res, err)
	}
	res, err = b.Produce(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.Offset != 2+int64(i) {
			t.Fatalf("retry, record %d: %+v; want offset %d", i, r, 2+i)
		}
	}
	if got := fetchAll(t, b, "amb", 0); len(got) != 5 {
		t.Fatalf("%d records stored, want 5 (the batch once)", len(got))
	}
}

// Concurrent retries of one batch are decided one at a time: written once.
func TestConcurrentRetriesWriteOnce(t *testing.T) {
	src := newMemSource(t, 1)
	b := startBroker(t, src, t.TempDir())
	waitVersion(t, b, src.createTopic(t, "cc", 2, nil))
	req := ProduceRequest{Topic: "cc", Records: values(10, "c"), Acks: AcksLeader, Producer: &Producer{ID: 5, BaseSequence: 0}}
	var wg sync.WaitGroup
	answers := make([][]ProduceResult, 8)
	for g := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.Produce(context.Background(), req, nil)
			if err != nil {
				t.Error(err)
			}
			answers[g] = res
		}()
	}
	wg.Wait()
	for g := range answers {
		for i := range answers[g] {
			if answers[g][i].Err != nil || answers[g][i] != answers[0][i] {
				t.Fatalf("attempt %d record %d: %+v, attempt 0: %+v", g, i, answers[g][i], answers[0][i])
			}
		}
	}
	if n := len(fetchAll(t, b, "cc", 0)) + len(fetchAll(t, b, "cc", 1)); n != 10 {
		t.Fatalf("%d records stored, want 10", n)
	}
}
