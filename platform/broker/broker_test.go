package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startBroker(t *testing.T, src MetadataSource, dir string, opts ...func(*Config)) *Broker {
	t.Helper()
	cfg := Config{NodeID: 1, DataDir: dir, Metadata: src, Logger: quiet}
	for _, o := range opts {
		o(&cfg)
	}
	b, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func waitVersion(t *testing.T, b *Broker, v uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitForVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
}

func keyed(n int, prefix string) []record.Record {
	recs := make([]record.Record, n)
	for i := range recs {
		recs[i] = record.Record{Key: fmt.Appendf(nil, "%s-key-%d", prefix, i%37), Value: fmt.Appendf(nil, "%s-%d", prefix, i)}
	}
	return recs
}

func produce(t *testing.T, b *Broker, topic string, recs []record.Record, acks Acks) []ProduceResult {
	t.Helper()
	res, err := b.Produce(context.Background(), ProduceRequest{Topic: topic, Records: recs, Acks: acks}, nil)
	if err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
	}
	return res
}

// fetchAll reads a partition from 0 to its HW.
func fetchAll(t *testing.T, b *Broker, topic string, p int32) []record.Record {
	t.Helper()
	var out []record.Record
	for off := int64(0); ; {
		res, err := b.Fetch(context.Background(), FetchRequest{Topic: topic, Partition: p, Offset: off, MaxBytes: 4096}, nil)
		if err != nil {
			t.Fatalf("fetch %s-%d@%d: %v", topic, p, off, err)
		}
		if len(res.Records) == 0 {
			return out
		}
		out = append(out, res.Records...)
		off = res.NextOffset
	}
}

func TestProduceFetchKeepsOrderAndKafkaKeyMapping(t *testing.T) {
	src := newMemSource(t, 1)
	b := startBroker(t, src, t.TempDir())
	waitVersion(t, b, src.createTopic(t, "orders", 4, nil))

	var sent []record.Record
	for round := range 3 {
		recs := keyed(500, fmt.Sprint(round))
		res := produce(t, b, "orders", recs, AcksAll)
		for i, r := range res {
			if want := partitioner.HashPartition(recs[i].Key, 4); r.Partition != want {
				t.Fatalf("key %s went to %d, Kafka's murmur2 says %d", recs[i].Key, r.Partition, want)
			}
		}
		sent = append(sent, recs...)
	}
	total := 0
	for p := range int32(4) {
		got := fetchAll(t, b, "orders", p)
		var want []string
		for _, r := range sent {
			if partitioner.HashPartition(r.Key, 4) == p {
				want = append(want, string(r.Value))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("partition %d: %d records, want %d", p, len(got), len(want))
		}
		for i := range got {
			if got[i].Offset != int64(i) || string(got[i].Value) != want[i] {
				t.Fatalf("partition %d[%d]: offset %d value %s, want %d %s", p, i, got[i].Offset, got[i].Value, i, want[i])
			}
		}
		total += len(got)
	}
	if total != len(sent) {
		t.Fatalf("read %d records, sent %d", total, len(sent))
	}
}

func TestValidationFailureWritesNothing(t *testing.T) {
	src := newMemSource(t, 1)
	b := startBroker(t, src, t.TempDir())
	waitVersion(t, b, src.createTopic(t, "small", 2, map[string]string{"max.message.bytes": "100"}))
	produce(t, b, "small", keyed(10, "ok"), AcksLeader)

	recs := keyed(10, "bad")
	recs[7].Value = make([]byte, 101)
	_, err := b.Produce(context.Background(), ProduceRequest{Topic: "small", Records: recs, Acks: AcksLeader}, nil)
	var re *RecordError
	if !errors.Is(err, ErrRecordTooLarge) || !errors.As(err, &re) || re.Index != 7 {
		t.Fatalf("oversized record 7: err %v, want ErrRecordTooLarge at index 7", err)
	}
	_, err = b.Produce(context.Background(), ProduceRequest{Topic: "nope", Records: keyed(1, "x"), Acks: AcksLeader}, nil)
	if !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("unknown topic: err %v", err)
	}
	n := len(fetchAll(t, b, "small", 0)) + len(fetchAll(t, b, "small", 1))
	if n != 10 {
		t.Fatalf("%d records in the topic after failed produces, want the 10 of the first", n)
	}
	if _, err := b.Fetch(context.Background(), FetchRequest{Topic: "small", Partition: 2}, nil); !errors.Is(err, ErrUnknownPartition) {
		t.Fatalf("fetch partition 2 of 2: err %v, want ErrUnknownPartition", err)
	}
	var oe *OffsetRangeError
	if _, err := b.Fetch(context.Background(), FetchRequest{Topic: "small", Partition: 0, Offset: 1000}, nil); !errors.As(err, &oe) || oe.LogEnd < 1 {
		t.Fatalf("fetch past the end: err %v, want OffsetRangeError with the range", err)
	}
}

func TestLongPollWakesOnProduce(t *testing.T) {
	src := newMemSource(t, 1)
	b := startBroker(t, src, t.TempDir())
	waitVersion(t, b, src.createTopic(t, "events", 1, nil))

	type result struct {
		res FetchResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := b.Fetch(context.Background(), FetchRequest{Topic: "events", Offset: 0, MaxWait: time.Minute}, nil)
		done <- result{res, err}
	}()
	// The fetch must still be waiting: nothing was produced.
	select {
	case r := <-done:
		t.Fatalf("fetch returned before any produce: %+v %v", r.res, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	produce(t, b, "events", []record.Record{{Value: []byte("wake")}}, AcksLeader)
	select {
	case r := <-done:
		if r.err != nil || len(r.res.Records) != 1 || string(r.res.Records[0].Value) != "wake" || r.res.NextOffset != 1 {
			t.Fatalf("long-poll answer %+v, %v", r.res, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll fetch did not wake on produce")
	}

	// A cancelled long-poll returns its context's error.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := b.Fetch(ctx, FetchRequest{Topic: "events", Offset: 1, MaxWait: time.Minute}, nil)
		done <- result{err: err}
	}()
	cancel()
	if r := <-done; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled long-poll: err %v", r.err)
	}
}

func TestRestartKeepsRecordsAndDeleteRemovesFiles(t *testing.T) {
	src := newMemSource(t, 1)
	dir := t.TempDir()
	b, err := Start(context.Background(), Config{NodeID: 1, DataDir: dir, Metadata: src, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	waitVersion(t, b, src.createTopic(t, "keep", 3, nil))
	waitVersion(t, b, src.createTopic(t, "drop", 2, nil))
	produce(t, b, "keep", keyed(300, "k"), AcksAll)
	produce(t, b, "drop", keyed(30, "d"), AcksAll)
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	b = startBroker(t, src, dir)
	n := 0
	for p := range int32(3) {
		n += len(fetchAll(t, b, "keep", p))
	}
	if n != 300 {
		t.Fatalf("after restart: %d records of 300", n)
	}
	dropDir := b.lookupDir(t, "drop")
	waitVersion(t, b, src.propose(t, meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: "drop"}}))
	if _, err := os.Stat(dropDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deleted topic's directory %s: stat err %v, want it gone", dropDir, err)
	}
	_, err = b.Produce(context.Background(), ProduceRequest{Topic: "drop", Records: keyed(1, "x"), Acks: AcksLeader}, nil)
	if !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("produce to deleted topic: %v", err)
	}
	// Re-created under the same name: a new, empty topic with new files.
	waitVersion(t, b, src.createTopic(t, "drop", 1, nil))
	if got := fetchAll(t, b, "drop", 0); len(got) != 0 {
		t.Fatalf("re-created topic holds %d old records", len(got))
	}
}

func (b *Broker) lookupDir(t *testing.T, name string) string {
	t.Helper()
	tp, err := b.lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return tp.dir
}

func TestStaleMetadataAfterRestartDeletesNothing(t *testing.T) {
	src := newMemSource(t, 1)
	dir := t.TempDir()
	b, err := Start(context.Background(), Config{NodeID: 1, DataDir: dir, Metadata: src, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	stale := src.Metadata() // before the topic existed
	waitVersion(t, b, src.createTopic(t, "t", 1, nil))
	produce(t, b, "t", keyed(5, "v"), AcksAll)
	tdir := b.lookupDir(t, "t")
	b.Close()

	// A source still replaying its log offers the old snapshot first.
	replay := newMemSource(t)
	replay.cluster, replay.index = stale, stale.Version
	b = startBroker(t, replay, dir)
	if _, err := os.Stat(tdir); err != nil {
		t.Fatalf("topic files deleted on stale metadata: %v", err)
	}
	replay.mu.Lock()
	replay.cluster, replay.index = src.Metadata(), src.Metadata().Version
	replay.mu.Unlock()
	replay.changed.Notify()
	waitVersion(t, b, src.Metadata().Version)
	if got := fetchAll(t, b, "t", 0); len(got) != 5 {
		t.Fatalf("%d records once metadata caught up, want 5", len(got))
	}
}

func TestPartitionsLedElsewhereAreNotLeader(t *testing.T) {
	src := newMemSource(t, 1, 2)
	b := startBroker(t, src, t.TempDir())
	waitVersion(t, b, src.createTopic(t, "split", 4, nil))
	c := src.Metadata()
	tp, _ := c.Topic("split")
	var mine, theirs int32 = -1, -1
	for i, p := range tp.Partitions {
		if p.Leader == 1 {
			mine = int32(i)
		} else {
			theirs = int32(i)
		}
	}
	if mine < 0 || theirs < 0 {
		t.Fatalf("assignment %+v does not split leadership", tp.Partitions)
	}
	_, err := b.Fetch(context.Background(), FetchRequest{Topic: "split", Partition: theirs}, nil)
	var nl *NotLeaderError
	if !errors.As(err, &nl) || nl.LeaderID != 2 || nl.LeaderAddr != "http://node2" {
		t.Fatalf("fetch from partition led by 2: %v, want NotLeaderError naming node 2", err)
	}
	// Records for every partition: the ones led by 2 fail the request up
	// front, nothing is written to the ones led here.
	_, err = b.Produce(context.Background(), ProduceRequest{Topic: "split", Records: []record.Record{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}, {Value: []byte("d")}}, Acks: AcksLeader}, nil)
	if !errors.Is(err, ErrNotLeader) {
		t.Fatalf("produce across leaders: %v, want ErrNotLeader", err)
	}
	if got := fetchAll(t, b, "split", mine); len(got) != 0 {
		t.Fatalf("%d records written although the request failed", len(got))
	}
}

func TestListOffsets(t *testing.T) {
	src := newMemSource(t, 1)
	b := startBroker(t, src, t.TempDir())
	waitVersion(t, b, src.createTopic(t, "ts", 1, nil))
	recs := make([]record.Record, 10)
	for i := range recs {
		recs[i] = record.Record{Timestamp: int64(1000 + 10*i), Value: []byte{byte(i)}}
	}
	produce(t, b, "ts", recs, AcksAll)
	for _, c := range []struct {
		at, want int64
	}{{OffsetEarliest, 0}, {OffsetLatest, 10}, {1000, 0}, {1045, 5}, {1090, 9}, {5000, 10}} {
		got, err := b.ListOffset(context.Background(), "ts", 0, c.at)
		if err != nil || got != c.want {
			t.Errorf("ListOffset(%d) = %d, %v; want %d", c.at, got, err, c.want)
		}
	}
}

// failingLog makes appends fail, to check that a storage error reaches
// the producer per record and the HW does not move.
type failingLog struct {
	Log
	err error
}

func (f failingLog) Append(context.Context, []record.Record, int32) (int64, error) { return 0, f.err }

func TestStorageFailureIsReportedPerRecord(t *testing.T) {
	src := newMemSource(t, 1)
	disk := errors.New("disk on fire")
	b := startBroker(t, src, t.TempDir(), func(c *Config) {
		c.OpenLog = func(path string, o LogOptions) (Log, error) {
			l, err := OpenStorageLog(path, o)
			if err != nil || filepath.Base(path) != "1.db" {
				return l, err
			}
			return failingLog{l, disk}, nil
		}
	})
	waitVersion(t, b, src.createTopic(t, "f", 2, map[string]string{}))
	recs := []record.Record{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}, {Value: []byte("d")}}
	res, err := b.Produce(context.Background(), ProduceRequest{Topic: "f", Records: recs, Acks: AcksAll}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Partition == 1 && (!errors.Is(r.Err, disk) || r.Offset != -1) {
			t.Fatalf("record %d on failing partition: %+v", i, r)
		}
		if r.Partition == 0 && r.Err != nil {
			t.Fatalf("record %d on healthy partition: %v", i, r.Err)
		}
	}
	if info, _ := b.PartitionInfo("f", 1); info.HighWatermark != 0 {
		t.Fatalf("HW of the failing partition moved to %d", info.HighWatermark)
	}
}

func TestAcksAllFollowsISR(t *testing.T) {
	src := newMemSource(t, 1, 2)
	b := startBroker(t, src, t.TempDir())
	v := src.propose(t, meta.Command{Op: meta.OpCreateTopic, CreateTopic: &meta.CreateTopic{
		Name: "r", Partitions: 1, ReplicationFactor: 2, Config: map[string]string{"min.insync.replicas": "2"}}})
	waitVersion(t, b, v)
	tp, _ := src.Metadata().Topic("r")
	if tp.Partitions[0].Leader != 1 {
		t.Fatalf("the assignment changed: node 1 does not lead r-0 (%+v); pick a topic it leads", tp.Partitions[0])
	}
	// Follower 2 never fetches (no follower fetching on this node yet), so
	// the HW cannot pass acks=1 records and acks=all times out.
	produce(t, b, "r", []record.Record{{Value: []byte("one")}}, AcksLeader)
	res, err := b.Produce(context.Background(), ProduceRequest{Topic: "r", Records: []record.Record{{Value: []byte("two")}}, Acks: AcksAll, Timeout: 50 * time.Millisecond}, nil)
	if err != nil || !errors.Is(res[0].Err, ErrTimeout) || res[0].Offset != 1 {
		t.Fatalf("acks=all with a silent follower: %+v, %v; want ErrTimeout at offset 1", res, err)
	}
	if got := fetchAll(t, b, "r", 0); len(got) != 0 {
		t.Fatalf("consumer sees %d uncommitted records", len(got))
	}
	// An acks=all produce waits for the silent follower...
	waiting := make(chan ProduceResult, 1)
	go func() {
		res, err := b.Produce(context.Background(), ProduceRequest{Topic: "r", Records: []record.Record{{Value: []byte("three")}}, Acks: AcksAll, Timeout: time.Minute}, nil)
		if err != nil {
			waiting <- ProduceResult{Err: err}
			return
		}
		waiting <- res[0]
	}()
	deadline := time.Now().Add(10 * time.Second)
	for info, _ := b.PartitionInfo("r", 0); info.LogEnd != 3; info, _ = b.PartitionInfo("r", 0) {
		if time.Now().After(deadline) {
			t.Fatalf("the acks=all produce never appended: %+v", info)
		}
		time.Sleep(time.Millisecond)
	}
	// ...node 2 fails: the controller drops it from the ISR, which releases
	// the HW; the waiting produce is committed by a smaller ISR than
	// min.insync.replicas asks, so it is not acknowledged as acks=all.
	waitVersion(t, b, src.propose(t, meta.Command{Op: meta.OpFenceBroker, FenceBroker: &meta.FenceBroker{ID: 2}}))
	if r := <-waiting; !errors.Is(r.Err, ErrNotEnoughReplicasAfterAppend) || !errors.Is(r.Err, ErrNotEnoughReplicas) || r.Offset != 2 {
		t.Fatalf("acks=all across the ISR shrink: %+v, want ErrNotEnoughReplicasAfterAppend at offset 2", r)
	}
	if got := fetchAll(t, b, "r", 0); len(got) != 3 {
		t.Fatalf("after the ISR shrank: %d committed records, want 3", len(got))
	}
	// From now on acks=all is refused before anything is written.
	_, err = b.Produce(context.Background(), ProduceRequest{Topic: "r", Records: []record.Record{{Value: []byte("four")}}, Acks: AcksAll}, nil)
	if !errors.Is(err, ErrNotEnoughReplicas) {
		t.Fatalf("acks=all with ISR 1 < min.insync.replicas 2: %v, want ErrNotEnoughReplicas", err)
	}
	if info, _ := b.PartitionInfo("r", 0); info.LogEnd != 3 {
		t.Fatalf("log end %d after a refused produce, want 3 (nothing written)", info.LogEnd)
	}
}

func TestTopicConfigChangesApply(t *testing.T) {
	src := newMemSource(t, 1)
	b := startBroker(t, src, t.TempDir(), func(c *Config) { c.JanitorInterval = 10 * time.Millisecond })
	waitVersion(t, b, src.createTopic(t, "cfg", 1, nil))
	for range 20 {
		produce(t, b, "cfg", []record.Record{{Value: make([]byte, 500)}}, AcksAll)
	}
	// durability fsync -> replicated reopens the log; nothing is lost.
	waitVersion(t, b, src.propose(t, meta.Command{Op: meta.OpAlterTopic, AlterTopic: &meta.AlterTopic{
		Name: "cfg", Config: map[string]string{"durability": "replicated", "max.message.bytes": "600"}}}))
	if got := fetchAll(t, b, "cfg", 0); len(got) != 20 {
		t.Fatalf("%d records after the durability change, want 20", len(got))
	}
	if _, err := b.Produce(context.Background(), ProduceRequest{Topic: "cfg", Records: []record.Record{{Value: make([]byte, 601)}}, Acks: AcksAll}, nil); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("601 bytes after max.message.bytes=600: %v", err)
	}
	// retention.bytes: the janitor drops whole batches from the head.
	waitVersion(t, b, src.propose(t, meta.Command{Op: meta.OpAlterTopic, AlterTopic: &meta.AlterTopic{
		Name: "cfg", Config: map[string]string{"retention.bytes": "2000"}}}))
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := b.PartitionInfo("cfg", 0)
		if err != nil {
			t.Fatal(err)
		}
		if info.LogStart > 0 {
			if info.LogEnd != 20 || info.HighWatermark != 20 {
				t.Fatalf("retention moved the end: %+v", info)
			}
			got, err := b.ListOffset(context.Background(), "cfg", 0, OffsetEarliest)
			if err != nil || got != info.LogStart {
				t.Fatalf("earliest %d %v, want %d", got, err, info.LogStart)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention.bytes=2000 never removed a batch: %+v", info)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeleteWakesLongPollAndCloseEndsIt(t *testing.T) {
	src := newMemSource(t, 1)
	b, err := Start(context.Background(), Config{NodeID: 1, DataDir: t.TempDir(), Metadata: src, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	waitVersion(t, b, src.createTopic(t, "a", 1, nil))
	waitVersion(t, b, src.createTopic(t, "b", 1, nil))
	errs := make(chan error, 2)
	for _, topic := range []string{"a", "b"} {
		go func() {
			_, err := b.Fetch(context.Background(), FetchRequest{Topic: topic, MaxWait: time.Minute}, nil)
			errs <- err
		}()
	}
	// The deleted topic's waiter wakes with ErrUnknownTopic.
	waitVersion(t, b, src.propose(t, meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: "a"}}))
	select {
	case err := <-errs:
		if !errors.Is(err, ErrUnknownTopic) {
			t.Fatalf("long-poll on a deleted topic: %v, want ErrUnknownTopic", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll on a deleted topic did not wake")
	}
	// Close ends the other one instead of waiting out its minute.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if err == nil {
			t.Fatal("long-poll survived Close without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a long-poll")
	}
}

func TestConcurrentProducersGetDenseUniqueOffsets(t *testing.T) {
	src := newMemSource(t, 1)
	b := startBroker(t, src, t.TempDir())
	waitVersion(t, b, src.createTopic(t, "c", 2, map[string]string{"durability": "replicated"}))
	const producers, requests, perRequest = 8, 20, 25
	seen := make([]map[int64]bool, 2)
	for i := range seen {
		seen[i] = map[int64]bool{}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range requests {
				res, err := b.Produce(context.Background(), ProduceRequest{Topic: "c", Records: keyed(perRequest, fmt.Sprintf("%d-%d", w, r)), Acks: AcksAll}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, x := range res {
					if x.Err != nil || seen[x.Partition][x.Offset] {
						t.Errorf("result %+v: error or offset given twice", x)
					}
					seen[x.Partition][x.Offset] = true
				}
				mu.Unlock()
			}
		}()
	}
	// A reader follows partition 0 meanwhile; it must only see dense offsets.
	done := make(chan struct{})
	go func() {
		defer close(done)
		next := int64(0)
		for next < 100 {
			res, err := b.Fetch(context.Background(), FetchRequest{Topic: "c", Offset: next, MaxWait: 5 * time.Second}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range res.Records {
				if r.Offset != next {
					t.Errorf("reader got offset %d, want %d", r.Offset, next)
					return
				}
				next++
			}
		}
	}()
	wg.Wait()
	<-done
	total := 0
	for p := range int32(2) {
		info, _ := b.PartitionInfo("c", p)
		if int(info.LogEnd) != len(seen[p]) || info.HighWatermark != info.LogEnd {
			t.Fatalf("partition %d: LEO %d HW %d, %d offsets handed out", p, info.LogEnd, info.HighWatermark, len(seen[p]))
		}
		total += len(seen[p])
	}
	if total != producers*requests*perRequest {
		t.Fatalf("%d offsets for %d records", total, producers*requests*perRequest)
	}
}
