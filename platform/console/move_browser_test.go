package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// The cluster page's reassignments table shows a throttled move's bytes
// left, ETA and throttle, as `partition reassign --status` does.
func TestConsoleShowsMoveProgress(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n1 := testnode.Start(t)
	testnode.Join(t, n1, 2, nil)
	cl, err := client.New(n1.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	var tp *wire.Topic
	for {
		if tp, err = cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "moving", Partitions: 1, ReplicationFactor: 1}); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the quorum may still be electing
	}
	// 16 batches of 16 KiB.
	for range 16 {
		var recs []client.Record
		for range 16 {
			recs = append(recs, client.Record{Value: []byte(strings.Repeat("v", 1<<10))})
		}
		produce(t, ctx, cl, "moving", recs)
	}
	from := tp.Partitions[0].Replicas[0]
	plan := wire.ReassignRequest{Reassignments: []wire.Reassignment{{Topic: "moving", Partition: 0, Replicas: []int32{from, 3 - from}, Throttle: 1 << 10}}}
	if _, err := cl.Reassign(ctx, plan); err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, ctx)
	b.run("open cluster", chromedp.Navigate(n1.URL()+"/#/cluster"))
	row := `#reassignments tr[data-move="moving/0"]`
	b.waitFor("the move's row", fmt.Sprintf(`!!document.querySelector(%q)`, row))
	b.waitText(row+` td[data-col="throttle"]`, "1.0 KiB/s")
	b.waitFor("bytes left in KiB", fmt.Sprintf(`/KiB$/.test(((document.querySelector(%q) || {}).textContent || "").trim())`, row+` td[data-col="bytes-left"]`))
	b.waitFor("an ETA in minutes", fmt.Sprintf(`/^\d+m\d\ds$/.test(((document.querySelector(%q) || {}).textContent || "").trim())`, row+` td[data-col="eta"]`))
	b.screenshot("cluster-move")
	b.checkNoExceptions()
}
