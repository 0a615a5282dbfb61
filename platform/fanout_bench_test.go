package platform_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// BenchmarkProduceFanout is the cost of a small replicated request by the
// number of partitions it touches: three real nodes in this process, a
// 6-partition topic, RF 3, acks=all, min.insync.replicas 2; each request
// is 6 keyless 1 KiB records, sent to node 1, one after another. With
// auto the records go one per partition (six appends on three leaders,
// four of them forwarded); with sticky, to one partition. Per request:
// ns/op, and cpu-ns/op (user+system CPU of the process: all three nodes
// and the client), docs/benchmarks.md.
//
//	go test -run '^$' -bench ProduceFanout -benchtime 2000x ./platform/
func BenchmarkProduceFanout(b *testing.B) {
	n1 := testnode.Start(b)
	testnode.Join(b, n1, 2, nil)
	testnode.Join(b, n1, 3, nil)
	for _, part := range []string{"auto", "sticky"} {
		createReplicatedTopic(b, n1.URL(), wire.CreateTopicRequest{Name: "fan-" + part, Partitions: 6, ReplicationFactor: 3, Partitioner: part,
			Config: map[string]string{meta.KeyMinInsyncReplicas: "2", "durability": "replicated"}})
	}
	recs := make([]wire.Record, 6)
	for i := range recs {
		recs[i] = wire.Record{Value: bytes.Repeat([]byte("v"), 1024)}
	}
	payload := wire.AppendRecords(nil, recs)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	post := func(topic string) error {
		return postRecords(client, n1.URL()+"/v1/topics/"+topic+"/records?acks=all", payload)
	}
	for _, part := range []string{"auto", "sticky"} {
		topic := "fan-" + part
		// Wait until every partition has its full ISR and answers.
		deadline := time.Now().Add(30 * time.Second)
		for post(topic) != nil {
			if time.Now().After(deadline) {
				b.Fatal("topic never accepted acks=all")
			}
			time.Sleep(50 * time.Millisecond) // retry interval while leaders settle
		}
		b.Run(part, func(b *testing.B) {
			cpu0 := processCPU()
			for b.Loop() {
				if err := post(topic); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
