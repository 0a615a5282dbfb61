package platform_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// scrape returns the node's metrics as series text ("name{labels}") →
// value. Labels are in the order promhttp writes them (sorted by name).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", l, err)
		}
		out[l[:i]] = v
	}
	return out
}

// TestOperatorMetrics runs a known workload on one node and checks the
// series docs/monitoring.md alerts on.
func TestOperatorMetrics(t *testing.T) {
	n := testnode.Start(t)
	cl, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if _, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "m", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	recs := make([]client.Record, 40)
	for i := range recs {
		recs[i] = client.Record{Value: []byte(strings.Repeat("v", 100))}
	}
	if _, err := cl.Produce(ctx, "m", recs, client.ProduceOptions{}); err != nil {
		t.Fatal(err)
	}
	tp, err := cl.DescribeTopic(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	end0 := tp.Partitions[0].HighWatermark
	// The group commits in partition 0 only.
	if _, err := cl.ResetGroupOffsets(ctx, "g", wire.ResetOffsetsRequest{Topic: "m", To: "3", Partitions: []int32{0}}); err != nil {
		t.Fatal(err)
	}

	m := scrape(t, n.URL())
	want := map[string]float64{
		`sluice_controller_active`:                                         1,
		`sluice_controller_raft_state{state="Leader"}`:                     1,
		`sluice_controller_raft_state{state="Follower"}`:                   0,
		`sluice_controller_halted`:                                         0,
		`sluice_cluster_partitions{state="offline"}`:                       0,
		`sluice_cluster_partitions{state="under_replicated"}`:              0,
		`sluice_cluster_partitions{state="under_min_isr"}`:                 0,
		`sluice_cluster_brokers{state="alive"}`:                            1,
		`sluice_cluster_brokers{state="fenced"}`:                           0,
		`sluice_group_members{group="g"}`:                                  0,
		`sluice_group_committed_offset{group="g",partition="0",topic="m"}`: 3,
		`sluice_group_lag{group="g",partition="0",topic="m"}`:              float64(end0 - 3),
	}
	for series, v := range want {
		if got, ok := m[series]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, v)
		}
	}
	// Partition 1 has no commit: no committed or lag series (no phantom lag).
	for _, series := range []string{`sluice_group_committed_offset{group="g",partition="1",topic="m"}`, `sluice_group_lag{group="g",partition="1",topic="m"}`} {
		if _, ok := m[series]; ok {
			t.Errorf("%s reported for a partition without a commit", series)
		}
	}
	// Every partition of every topic is counted, __consumer_offsets too.
	total := 0
	c := n.Controller().Metadata()
	for _, name := range c.TopicNames() {
		total += len(c.Topics[name].Partitions)
	}
	if got := m[`sluice_cluster_partitions{state="total"}`]; got != float64(total) || total < 3 {
		t.Errorf("total partitions %v, metadata has %d", got, total)
	}
	// The log sizes cover the 40 values of 100 bytes.
	logBytes := m[`sluice_partition_log_bytes{partition="0",topic="m"}`] + m[`sluice_partition_log_bytes{partition="1",topic="m"}`]
	if logBytes < 4000 {
		t.Errorf("log bytes of m: %v, want >= 4000", logBytes)
	}
	var sawBuild bool
	for s, v := range m {
		if strings.HasPrefix(s, "sluice_build_info{") && v == 1 {
			sawBuild = true
		}
	}
	if !sawBuild {
		t.Error("no sluice_build_info")
	}
	// Describe agrees: partition 1's lag is 0 with nothing committed.
	g, err := cl.DescribeGroup(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range g.Offsets {
		if o.Partition == 1 && (o.Committed != -1 || o.Lag != 0) {
			t.Errorf("uncommitted partition: %+v, want committed -1, lag 0", o)
		}
	}
}

// TestProduceCountedOnceAndSessionsNotTimed: records a node forwards to
// the partition leader are counted once over the cluster, and a WebSocket
// session counts as a request but not in the answer-time histogram.
func TestProduceCountedOnceAndSessionsNotTimed(t *testing.T) {
	first := testnode.Start(t)
	second := testnode.Join(t, first, 2, []string{"broker"})
	cl, err := client.New(first.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	tp, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "f", Partitions: 4, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	leaders := map[int32]bool{}
	for _, p := range tp.Partitions {
		leaders[p.Leader] = true
	}
	if !leaders[2] {
		t.Skipf("no partition placed on node 2 (%+v): nothing forwarded", tp.Partitions)
	}
	recs := make([]client.Record, 100)
	for i := range recs {
		recs[i] = client.Record{Key: []byte(strconv.Itoa(i)), Value: []byte("x")}
	}
	if _, err := cl.Produce(ctx, "f", recs, client.ProduceOptions{}); err != nil {
		t.Fatal(err)
	}
	series := `sluice_produce_records_total{topic="f"}`
	if a, b := scrape(t, first.URL())[series], scrape(t, second.URL())[series]; a+b != 100 {
		t.Errorf("records counted on node 1 %v + node 2 %v, want 100 in all", a, b)
	}

	wp, err := cl.ProduceWS(ctx, client.WSProducerConfig{Topic: "f", Acks: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wp.Send(ctx, []wire.Record{{Value: []byte("w1")}, {Value: []byte("w2")}, {Value: []byte("w3")}}); err != nil {
		t.Fatal(err)
	}
	wp.Close()
	wsSeries := `sluice_ws_produce_records_total{topic="f"}`
	if a, b := scrape(t, first.URL())[wsSeries], scrape(t, second.URL())[wsSeries]; a+b != 3 {
		t.Errorf("WebSocket records counted %v + %v, want 3", a, b)
	}
	if m := scrape(t, first.URL())[series]; m > 100 {
		t.Errorf("WebSocket records counted as HTTP produce too: %v", m)
	}

	ws, err := cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "f", From: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ws.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws.Close()
	if got := scrape(t, first.URL())[`sluice_ws_fetch_records_total{topic="f"}`]; got < float64(len(b.Records)) || got == 0 {
		t.Errorf("WebSocket fetch records %v, the consumer got %d", got, len(b.Records))
	}
	route := "GET /v1/topics/{topic}/consume"
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := scrape(t, first.URL())
		if m[`sluice_http_requests_total{code="101",route="`+route+`"}`] == 1 {
			if n := m[`sluice_http_request_duration_seconds_count{route="`+route+`"}`]; n != 0 {
				t.Errorf("a WebSocket session was timed as an answer (%v observations)", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the WebSocket session was never counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFollowerLagAndRebalanceSeries: the leader of a replicated partition
// reports each follower's lag (0 once it caught up after a known workload),
// and a group's rebalances are counted by its coordinator.
func TestFollowerLagAndRebalanceSeries(t *testing.T) {
	first := testnode.Start(t)
	second := testnode.Join(t, first, 2, []string{"broker"})
	cl, err := client.New(first.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	tp, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "lag", Partitions: 1, ReplicationFactor: 2})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]client.Record, 50)
	for i := range recs {
		recs[i] = client.Record{Value: []byte("x")}
	}
	if _, err := cl.Produce(ctx, "lag", recs, client.ProduceOptions{Acks: client.AcksAll}); err != nil {
		t.Fatal(err)
	}
	leader, follower := first, second
	if tp.Partitions[0].Leader == 2 {
		leader, follower = second, first
	}
	series := `sluice_partition_follower_lag_records{follower="` + strconv.Itoa(int(follower.Config.NodeID)) + `",partition="0",topic="lag"}`
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, ok := scrape(t, leader.URL())[series]
		if ok && v == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (present %v) on the leader, want 0 once the follower caught up", series, v, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok := scrape(t, follower.URL())[series]; ok {
		t.Errorf("the follower reports %s: only leaders know follower positions", series)
	}

	ws, err := cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "lag", Group: "rg"})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	rebalances := `sluice_group_rebalances_total{group="rg"}`
	deadline = time.Now().Add(30 * time.Second)
	for {
		a, b := scrape(t, first.URL())[rebalances], scrape(t, second.URL())[rebalances]
		if a+b >= 1 && (a == 0 || b == 0) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v on node 1, %v on node 2; want at least 1 on the coordinator only", rebalances, a, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFetchLatencyExcludesTheLongPoll: a fetch that long-polls an empty
// partition is recorded with its wait in sluice_fetch_wait_seconds and
// only the rest in sluice_fetch_duration_seconds; the two together fit in
// the route's answer time.
func TestFetchLatencyExcludesTheLongPoll(t *testing.T) {
	n := testnode.Start(t)
	cl, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.CreateTopic(context.Background(), wire.CreateTopicRequest{Name: "idle", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(n.URL() + "/v1/topics/idle/partitions/0/records?offset=0&max_wait_ms=300")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fetch: %s", resp.Status)
	}
	// The observations are made before the answer completes; poll anyway
	// so that a scrape racing the server's bookkeeping cannot fail this.
	var wait, waitN, read, readN, answer, answerN float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m := scrape(t, n.URL())
		wait, waitN = m[`sluice_fetch_wait_seconds_sum{format="json"}`], m[`sluice_fetch_wait_seconds_count{format="json"}`]
		read, readN = m[`sluice_fetch_duration_seconds_sum{format="json"}`], m[`sluice_fetch_duration_seconds_count{format="json"}`]
		route := `{route="` + wire.RouteFetch + `"}`
		answer, answerN = m[`sluice_http_request_duration_seconds_sum`+route], m[`sluice_http_request_duration_seconds_count`+route]
		if waitN == 1 && readN == 1 && answerN == 1 || time.Now().After(deadline) {
			break
		}
	}
	if waitN != 1 || readN != 1 || answerN != 1 {
		t.Fatalf("fetch histograms counted %v waits, %v answers, route %v; want 1 each", waitN, readN, answerN)
	}
	if wait < 0.3 {
		t.Errorf("wait %vs, want the whole long-poll of 0.3s", wait)
	}
	if read+wait > answer {
		t.Errorf("read %vs + wait %vs exceed the route's answer time %vs", read, wait, answer)
	}
}
