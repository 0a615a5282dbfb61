package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Workload settings. Short server-side and client timeouts keep a worker
// stuck on a dead or paused node for seconds, so failover is measured
// with a resolution of about produceWait / workersPerPartition.
const (
	topicName           = "chaos"
	partitions          = 4
	workersPerPartition = 3
	recordsPerRequest   = 2
	produceWait         = 1500 * time.Millisecond // acks=all wait on the server
	requestTimeout      = 2 * time.Second         // client bound on top of it
	groupName           = "chaos-group"
	consumers           = 2
	commitEvery         = 300 * time.Millisecond
	describeEvery       = 400 * time.Millisecond
)

// createTopic creates the workload's topic: RF 3, min.insync.replicas 2.
func createTopic(t testing.TB, c *cluster) {
	t.Helper()
	waitFor(t, 60*time.Second, "create topic", func() error {
		return c.ask(func(cl *client.Client) error {
			_, err := cl.CreateTopic(context.Background(), wire.CreateTopicRequest{
				Name: topicName, Partitions: partitions, ReplicationFactor: 3,
				Config: map[string]string{"min.insync.replicas": "2"},
			})
			if errors.Is(err, client.ErrTopicExists) {
				return nil
			}
			return err
		})
	})
	if err := c.waitSettled(topicName, 60*time.Second); err != nil {
		t.Fatal(err)
	}
}

// keysFor returns, for each partition, a key the topic's default
// partitioner (Kafka's murmur2) sends there, so that each producer writes
// to one partition and a stuck partition does not stall the others.
func keysFor(n int) [][]byte {
	keys := make([][]byte, n)
	for i, found := 0, 0; found < n; i++ {
		k := []byte("key-" + strconv.Itoa(i))
		p := partitioner.HashPartition(k, n)
		if keys[p] == nil {
			keys[p] = k
			found++
		}
	}
	return keys
}

// classify maps a produce error to what it says about the write (the
// harness's clients make one attempt per call, so the error is that
// attempt's). Failed: the server cannot have appended it. That is a
// connection never made, and the codes wire.Code.NothingWritten and the
// API define as writing nothing: unknown_topic, unknown_partition,
// record_too_large, invalid_request, not_controller, unavailable (a node
// not ready, a leader it could not dial), overloaded,
// out_of_order_sequence, forbidden, unauthenticated, quota_exceeded,
// request_timeout (the body never arrived). not_leader and
// not_enough_replicas are also given after an append, as per-record
// results ("leadership lost before offset N was committed", an append
// on a closed broker or log; "... after append"), so those messages,
// timeouts, internal errors and cut connections are Indeterminate.
func classify(err error) Outcome {
	if err == nil {
		return Acked
	}
	var ae *client.APIError
	if !errors.As(err, &ae) {
		if errors.Is(err, client.ErrUnavailable) {
			return Failed // the connection to the node was never made
		}
		return Indeterminate
	}
	msg := ae.Message
	switch ae.Code {
	case wire.CodeUnknownTopic, wire.CodeUnknownPartition, wire.CodeRecordTooLarge,
		wire.CodeInvalidRequest, wire.CodeNotController, wire.CodeUnavailable,
		wire.CodeOverloaded, wire.CodeOutOfOrderSequence, wire.CodeForbidden,
		wire.CodeUnauthenticated, wire.CodeQuotaExceeded, wire.CodeRequestTimeout:
		return Failed
	case wire.CodeNotEnoughReplicas:
		if strings.Contains(msg, "after append") {
			return Indeterminate
		}
		return Failed
	case wire.CodeNotLeader:
		for _, s := range []string{"leadership lost", "append to", "closed"} {
			if strings.Contains(msg, s) {
				return Indeterminate
			}
		}
		return Failed
	}
	return Indeterminate
}

// workload runs acks=all producers (unique values, one partition each)
// and a consumer group committing offsets, recording everything.
type workload struct {
	c      *cluster
	nodes  []*node // the nodes at the start: the clients' bootstrap list
	rec    *Recorder
	keys   [][]byte
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWorkload(c *cluster) *workload {
	ctx, cancel := context.WithCancel(context.Background())
	w := &workload{c: c, nodes: c.all(), rec: NewRecorder(partitions), keys: keysFor(partitions), cancel: cancel}
	for p := range partitions {
		for k := range workersPerPartition {
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				w.produce(ctx, int32(p), k)
			}()
		}
	}
	for k := range consumers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.consume(ctx, k)
		}()
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.observeCommits(ctx)
	}()
	return w
}

// stop ends every worker and waits for them.
func (w *workload) stop() {
	w.cancel()
	w.wg.Wait()
}

func (w *workload) produce(ctx context.Context, p int32, worker int) {
	clients := make([]*client.Client, len(w.nodes))
	for i, n := range w.nodes {
		clients[i] = n.client(requestTimeout)
		defer clients[i].Close()
	}
	for seq := 0; ctx.Err() == nil; seq++ {
		recs := make([]client.Record, recordsPerRequest)
		for i := range recs {
			recs[i] = client.Record{Key: w.keys[p], Value: []byte(fmt.Sprintf("p%d-w%d-%d-%d", p, worker, seq, i))}
		}
		// Any node serves any produce: pick one as a client with a
		// bootstrap list would, dead or alive.
		cl := clients[rand.IntN(len(clients))]
		start := time.Now()
		res, err := cl.Produce(context.Background(), topicName, recs, client.ProduceOptions{Acks: client.AcksAll, Timeout: produceWait})
		end := time.Now()
		backoff := err != nil
		for i := range recs {
			rerr := err
			if err == nil {
				rerr = res[i].Err
			}
			wr := Write{Value: string(recs[i].Value), Target: p, Partition: -1, Offset: -1, Start: start, End: end, Outcome: classify(rerr)}
			if rerr != nil {
				backoff = true
				wr.Err = rerr.Error()
			} else {
				wr.Partition, wr.Offset = res[i].Partition, res[i].Offset
			}
			w.rec.Write(wr)
		}
		if backoff {
			// Do not spin on a node that refuses connections or a
			// partition that refuses writes (not_enough_replicas).
			sleepCtx(ctx, 50*time.Millisecond)
		}
	}
}

func (w *workload) consume(ctx context.Context, k int) {
	source := "consumer-" + strconv.Itoa(k)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		n := w.nodes[(k+attempt)%len(w.nodes)]
		cl := n.client(3 * time.Second)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cons, err := cl.ConsumeWS(cctx, client.WSConsumerConfig{
			Topic: topicName, Group: groupName, From: "earliest", ClientID: source,
			SessionTimeout: 6 * time.Second,
		})
		cancel()
		if err != nil {
			cl.Close()
			sleepCtx(ctx, 500*time.Millisecond)
			continue
		}
		w.consumeFrom(ctx, cons, source)
		cons.Close()
		cl.Close()
		sleepCtx(ctx, 200*time.Millisecond)
	}
}

// consumeFrom polls one connection, committing positions every
// commitEvery, until ctx ends or the connection fails.
func (w *workload) consumeFrom(ctx context.Context, cons *client.WSConsumer, source string) {
	lastCommit := time.Now()
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, commitEvery)
		b, err := cons.Poll(pctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return
		}
		if b != nil {
			reads := make([]Read, len(b.Records))
			for i, r := range b.Records {
				reads[i] = Read{Source: source, Partition: b.Partition, Offset: r.Offset, Value: string(r.Value)}
			}
			w.rec.Reads(reads...)
		}
		if time.Since(lastCommit) < commitEvery {
			continue
		}
		lastCommit = time.Now()
		positions := cons.Positions()
		if len(positions) == 0 {
			continue
		}
		gen := cons.Generation()
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = cons.Commit(cctx, gen, positions)
		cancel()
		end := time.Now()
		if err != nil {
			if ctx.Err() != nil || cons.Err() != nil {
				return
			}
			continue // a refused commit (fenced generation) is no anomaly
		}
		for p, off := range positions {
			w.rec.Commit(Commit{Kind: CommitAck, Partition: p, Offset: off, Start: start, End: end, Source: fmt.Sprintf("%s gen %d", source, gen)})
		}
	}
}

// observeCommits describes the group regularly through a live node.
func (w *workload) observeCommits(ctx context.Context) {
	for ctx.Err() == nil {
		sleepCtx(ctx, describeEvery)
		w.describeCommits(ctx, "describe")
	}
}

// describeCommits records the group's committed offsets as one live node
// describes them; false when no node answered.
func (w *workload) describeCommits(ctx context.Context, what string) bool {
	for _, n := range w.c.live() {
		cl := n.client(2 * time.Second)
		start := time.Now()
		g, err := cl.DescribeGroup(ctx, groupName)
		end := time.Now()
		cl.Close()
		if err != nil {
			continue
		}
		for _, o := range g.Offsets {
			if o.Topic == topicName {
				w.rec.Commit(Commit{Kind: CommitObserved, Partition: o.Partition, Offset: o.Committed, Start: start, End: end, Source: fmt.Sprintf("%s via node %d", what, n.id)})
			}
		}
		return true
	}
	return false
}

// finalCommits reads the committed offsets once more after the heal: they
// must not be below any acknowledged commit.
func (w *workload) finalCommits(t testing.TB) {
	t.Helper()
	if err := poll(60*time.Second, func() error {
		if !w.describeCommits(context.Background(), "final describe") {
			return errors.New("no node described the group")
		}
		return nil
	}); err != nil {
		t.Logf("final committed offsets: %v", err)
	}
}

// finalRead reads every partition from its log start to its high
// watermark through the leader (any node redirects the fetch there),
// marking the partitions read in full.
func (w *workload) finalRead(t testing.TB) {
	t.Helper()
	for p := range int32(partitions) {
		deadline := time.Now().Add(60 * time.Second)
		for {
			reads, err := w.readPartition(p)
			if err == nil {
				w.rec.Reads(reads...)
				w.rec.MarkComplete(p)
				break
			}
			if time.Now().After(deadline) {
				t.Logf("final read of partition %d: %v", p, err)
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

func (w *workload) readPartition(p int32) ([]Read, error) {
	var out []Read
	err := w.c.ask(func(cl *client.Client) error {
		out = out[:0]
		ctx := context.Background()
		off, err := cl.Offset(ctx, topicName, p, "earliest")
		if err != nil {
			return err
		}
		hw, err := cl.Offset(ctx, topicName, p, "latest")
		if err != nil {
			return err
		}
		for off < hw {
			b, err := cl.Fetch(ctx, topicName, p, off, client.FetchOptions{})
			if err != nil {
				return err
			}
			if len(b.Records) == 0 {
				return fmt.Errorf("partition %d: empty fetch at %d below the high watermark %d", p, off, hw)
			}
			for _, r := range b.Records {
				out = append(out, Read{Source: finalSource, Partition: p, Offset: r.Offset, Value: string(r.Value)})
			}
			off = b.NextOffset
		}
		return nil
	})
	return out, err
}

// readReplicas reads every node's file of every partition (the nodes must
// be stopped) and records the records below each file's high-watermark
// checkpoint: what that replica holds as committed.
func (w *workload) readReplicas(t testing.TB) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range w.c.all() {
		for p := range partitions {
			files, _ := filepath.Glob(filepath.Join(n.dir, "partitions", topicName+"-*", strconv.Itoa(p)+".db"))
			for _, f := range files {
				cmd := exec.Command(self)
				cmd.Env = append(os.Environ(), dumpEnv+"="+f)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Logf("replica %s: %v: %s", f, err, firstLine(stderr.String()))
					continue
				}
				var d replicaDump
				if err := json.Unmarshal(out, &d); err != nil {
					t.Logf("replica %s: %v", f, err)
					continue
				}
				source := "replica-" + strconv.Itoa(int(n.id))
				for i, off := range d.Offsets {
					if off < d.HW {
						w.rec.Reads(Read{Source: source, Partition: int32(p), Offset: off, Value: d.Values[i]})
					}
				}
			}
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
