package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sluicehq/sluice/internal/testtool"
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/client"
)

// TestPageInBrowser opens index.html in headless Chromium against a real
// node: the page joins a group, shows every record, commits its position,
// and reports a bad processor as an error.
func TestPageInBrowser(t *testing.T) {
	chrome := testtool.Need(t, testtool.Chromium)
	// The page is opened from a file:// URL: its Origin is "null".
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.AllowedOrigins = []string{"null"} }))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := n.Controller().CreateTopic(ctx, meta.CreateTopic{Name: "orders", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []record.Record
	for i := range 40 {
		recs = append(recs, record.Record{Key: fmt.Appendf(nil, "customer-%d", i%5), Value: fmt.Appendf(nil, `{"order":%d}`, i)})
	}
	for {
		_, err := n.Broker().Produce(ctx, broker.ProduceRequest{Topic: "orders", Records: recs, Acks: broker.AcksAll}, nil)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the broker opens the new partitions
	}

	page, err := filepath.Abs("index.html")
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(n.URL(), "http://")
	open := func(q url.Values) string { return "file://" + page + "?" + q.Encode() }

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.Headless)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	text := func(sel string) string {
		v, err := chromedp.Run(bctx, chromedp.TextContent(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	if _, err := chromedp.Run(bctx, chromedp.Navigate(open(url.Values{"server": {host}, "topic": {"orders"}, "group": {"dash"}, "from": {"earliest"}, "connect": {"1"}}))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("count").textContent === "40"`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("page did not show 40 records: %v (status %q)", err, text("#status"))
	}
	table, status := text("#records"), text("#status")
	if !strings.Contains(table, `{"order":39}`) || !strings.Contains(table, "customer-4") {
		t.Fatalf("table lacks records:\n%s", table)
	}
	if !strings.Contains(status, "generation") {
		t.Fatalf("status = %q", status)
	}
	// The page commits every second: the group catches up.
	deadline := time.Now().Add(20 * time.Second)
	for {
		g, err := cl.DescribeGroup(ctx, "dash")
		if err == nil && len(g.Members) == 1 && g.Members[0].ClientID == "browser" && g.Offsets[0].Lag == 0 && g.Offsets[1].Lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group dash never caught up: %+v, %v", g, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A processor that does not exist is reported on the page.
	if _, err := chromedp.Run(bctx, chromedp.Navigate(open(url.Values{"server": {host}, "topic": {"orders"}, "processor": {"no-such-plugin"}, "connect": {"1"}}))); err != nil {
		t.Fatal(err)
	}
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("status").className === "error"`, chromedp.WithPollingTimeout(30*time.Second)))
	status = text("#status")
	if err != nil || !strings.Contains(status, "unknown_plugin") {
		t.Fatalf("bad processor: status %q, %v", status, err)
	}
}
