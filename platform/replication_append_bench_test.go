//go:build unix

package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// BenchmarkReplicatedAppend appends 100 × 1 KiB records per call straight
// to the leader's broker of a one-partition topic with durability
// replicated (no client HTTP, so what is measured is the
// append and its replication) on three real nodes in this process, over
// the real mTLS cluster listeners, once per follower fetch protocol:
//
//   - rf=1: the leader's own cost (no replication);
//   - rf=3/acks=all serial: one call at a time, min.insync.replicas 2 —
//     ns/op is the acks=all round trip;
//   - rf=3/acks=all parallel: 8 concurrent calls, the throughput.
//
// allocs/op and B/op cover the whole process (leader and both followers),
// as does cpu-ns/rec (user + system CPU of the process during the loop,
// per record: the three nodes' serf, raft and heartbeats included);
// the metrics allocs/rec and B/rec divide by records, and the followers'
// share is (rf=3 − rf=1) / 2 per follower. CPU profile:
//
//	go test -run '^$' -bench ReplicatedAppend -benchtime 2000x -cpuprofile cpu.out ./platform/
func BenchmarkReplicatedAppend(b *testing.B) {
	for _, proto := range benchProtocols {
		b.Run(proto.name, func(b *testing.B) {
			n1 := testnode.Start(b, proto.opt)
			nodes := []*testnode.Node{n1, testnode.Join(b, n1, 2, nil, proto.opt), testnode.Join(b, n1, 3, nil, proto.opt)}
			one := benchTopic(b, nodes, "one", 1)
			three := benchTopic(b, nodes, "three", 3)
			value := bytes.Repeat([]byte("v"), 1024)
			recs := make([]record.Record, 100)
			for i := range recs {
				recs[i] = record.Record{Value: value}
			}
			run := func(b *testing.B, leader *testnode.Node, topic string, parallel bool) {
				ctx := context.Background()
				b.SetBytes(int64(len(recs) * len(value)))
				b.ReportAllocs()
				var failed atomic.Value
				produce := func() {
					if _, err := leader.Broker().ProducePartition(ctx, topic, 0, recs, broker.AcksAll, 30*time.Second); err != nil {
						failed.Store(err)
					}
				}
				cpu0 := processCPU()
				if parallel {
					b.SetParallelism(4) // 4 × GOMAXPROCS callers
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							produce()
						}
					})
				} else {
					for b.Loop() {
						produce()
					}
				}
				if err, _ := failed.Load().(error); err != nil {
					b.Fatal(err)
				}
				cpu := processCPU() - cpu0
				recsN := float64(b.N * len(recs))
				b.ReportMetric(recsN/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(cpu.Nanoseconds())/recsN, "cpu-ns/rec")
			}
			b.Run("rf=1", func(b *testing.B) { run(b, one, "one", false) })
			b.Run("rf=3/acks=all/serial", func(b *testing.B) { run(b, three, "three", false) })
			b.Run("rf=3/acks=all/parallel", func(b *testing.B) { run(b, three, "three", true) })
		})
	}
}

// benchTopic creates a one-partition topic of replication factor rf,
// durability replicated (min.insync.replicas 2 when rf is 3) and returns its leader once the ISR
// is whole.
func benchTopic(b *testing.B, nodes []*testnode.Node, name string, rf int) *testnode.Node {
	cfg := map[string]string{meta.KeyDurability: meta.DurabilityReplicated}
	if rf == 3 {
		cfg[meta.KeyMinInsyncReplicas] = "2"
	}
	body, _ := json.Marshal(wire.CreateTopicRequest{Name: name, Partitions: 1, ReplicationFactor: int32(rf), Config: cfg})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Post(nodes[0].URL()+"/v1/topics", wire.MediaTypeJSON, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		st := resp.StatusCode
		if st == http.StatusCreated || st == http.StatusConflict {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("create %s: %d", name, st)
		}
		time.Sleep(50 * time.Millisecond) // retry interval while the quorum settles
	}
	for {
		if time.Now().After(deadline) {
			b.Fatalf("%s: no leader with a whole ISR", name)
		}
		for _, n := range nodes {
			info, err := n.Broker().PartitionInfo(name, 0)
			if err != nil || !info.Leader {
				continue
			}
			if t, ok := n.Broker().Cluster().Topic(name); ok && len(t.Partitions[0].ISR) == rf {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

// processCPU is the user + system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
