package platform_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

// A restart from a raft snapshot (plus the log after it) brings back every
// topic and record, and the broker deletes nothing while the controller
// replays.
func TestRestartFromMetadataSnapshot(t *testing.T) {
	n := testnode.Start(t)
	a := api{t, n.URL()}
	for i := range 20 {
		a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: fmt.Sprintf("t%02d", i), Partitions: 2}, &wire.Topic{})
	}
	if err := n.Controller().Snapshot(); err != nil {
		t.Fatal(err)
	}
	// Changes after the snapshot live only in the raft log.
	a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "late", Partitions: 1}, &wire.Topic{})
	if st := a.json("DELETE", "/v1/topics/t00", nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete t00: %d", st)
	}
	for _, topic := range []string{"t05", "late"} {
		var pr wire.ProduceResponse
		a.json("POST", "/v1/topics/"+topic+"/records", wire.ProduceRequest{Records: []wire.ProduceRecord{{Value: "x"}, {Value: "y"}}}, &pr)
	}

	n.Restart(t)
	a.base = n.URL()
	var list wire.TopicList
	a.json("GET", "/v1/topics", nil, &list)
	names := map[string]bool{}
	for _, tp := range list.Topics {
		names[tp.Name] = true
	}
	if !names["late"] || names["t00"] || !names["t19"] {
		t.Fatalf("topics after restart: %v", names)
	}
	for _, topic := range []string{"t05", "late"} {
		total := 0
		var tp wire.Topic
		a.json("GET", "/v1/topics/"+topic, nil, &tp)
		for p := range tp.PartitionCount {
			total += len(a.consume(topic, p))
		}
		if total != 2 {
			t.Fatalf("%s holds %d records after restart, want 2", topic, total)
		}
	}
}

// Close does not wait for long-polling fetches: they are cut short and
// answer "nothing yet", as if their wait had run out.
func TestCloseEndsLongPolls(t *testing.T) {
	n := testnode.Start(t)
	a := api{t, n.URL()}
	a.json("POST", "/v1/topics", wire.CreateTopicRequest{Name: "idle", Partitions: 1}, &wire.Topic{})
	type answer struct {
		status int
		fr     wire.FetchResponse
		err    error
	}
	done := make(chan answer, 1)
	// The client gives up well before the 30 s wait: if Close waited the
	// long-poll out, the answer would be this client's timeout.
	client := &http.Client{Timeout: 20 * time.Second}
	go func() {
		var ans answer
		resp, err := client.Get(n.URL() + "/v1/topics/idle/partitions/0/records?offset=0&max_wait_ms=30000")
		if err != nil {
			ans.err = err
		} else {
			ans.status = resp.StatusCode
			ans.err = json.NewDecoder(resp.Body).Decode(&ans.fr)
			resp.Body.Close()
		}
		done <- ans
	}()
	// Wait until the fetch is parked in the broker.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(a.metrics(), `sluice_http_requests_in_flight{route="GET /v1/topics/{topic}/partitions/{partition}/records"} 1`) {
		if time.Now().After(deadline) {
			t.Fatal("the long-poll fetch never reached the server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.Stop(t)
	ans := <-done
	if ans.err != nil || ans.status != http.StatusOK || len(ans.fr.Records) != 0 || ans.fr.NextOffset != 0 {
		t.Fatalf("long-poll cut by Close: %d %+v %v; want 200 with no records", ans.status, ans.fr, ans.err)
	}
}

func (a api) metrics() string {
	a.t.Helper()
	_, raw := a.call("GET", "/metrics", "", "", nil)
	return string(raw)
}

// A client connection that has not sent a request yet (clients keep such
// spare connections) does not hold Close up: without closing it, Close
// would wait 5 s for it and fail this node's 1 s shutdown budget.
func TestCloseDoesNotWaitForSilentConnections(t *testing.T) {
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.ShutdownTimeout = time.Second }))
	conn, err := net.Dial("tcp", n.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Make sure the server has accepted it: a request on another
	// connection is answered after the accept loop ran.
	api{t, n.URL()}.call("GET", "/healthz", "", "", nil)
	n.Stop(t) // fails the test if Close returns an error
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("the silent connection is still open after Close")
	}
}
