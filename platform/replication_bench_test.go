package platform_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// BenchmarkProduceReplicated produces 100-record batches (100-byte
// values) to the leader of a one-partition topic on three real nodes over
// loopback HTTP: acks=1, and acks=all with replication factor 3 (the
// answer waits for both followers' next fetch).
// createReplicatedTopic creates req through base, retrying while a new
// cluster's controller quorum elects (a conflict counts as created).
func createReplicatedTopic(tb testing.TB, base string, req wire.CreateTopicRequest) {
	tb.Helper()
	body, _ := json.Marshal(req)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(base+"/v1/topics", wire.MediaTypeJSON, bytes.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusConflict {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("create %s: %d", req.Name, resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond) // retry interval while the quorum elects
	}
}

func BenchmarkProduceReplicated(b *testing.B) {
	n1 := testnode.Start(b)
	nodes := []*testnode.Node{n1, testnode.Join(b, n1, 2, nil), testnode.Join(b, n1, 3, nil)}
	createReplicatedTopic(b, n1.URL(), wire.CreateTopicRequest{Name: "bench", Partitions: 1, ReplicationFactor: 3,
		Config: map[string]string{meta.KeyMinInsyncReplicas: "2"}})
	deadline := time.Now().Add(30 * time.Second)
	var leader *testnode.Node
	for leader == nil {
		if time.Now().After(deadline) {
			b.Fatal("no leader")
		}
		for _, n := range nodes {
			if info, err := n.Broker().PartitionInfo("bench", 0); err == nil && info.Leader {
				leader = n
			}
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
	var req wire.ProduceRequest
	for i := range 100 {
		req.Records = append(req.Records, wire.ProduceRecord{Value: fmt.Sprintf("%0100d", i)})
	}
	payload, _ := json.Marshal(req)
	for _, acks := range []string{"1", "all"} {
		b.Run("acks="+acks, func(b *testing.B) {
			b.SetBytes(100 * 100)
			for b.Loop() {
				resp, err := http.Post(leader.URL()+"/v1/topics/bench/records?acks="+acks, wire.MediaTypeJSON, bytes.NewReader(payload))
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("produce: %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
