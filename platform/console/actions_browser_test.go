package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// openActions opens every action of the page (they are <details>), so
// that their fields can be clicked.
func (b *browser) openActions() {
	b.t.Helper()
	eval[bool](b, `(document.querySelectorAll("details.action").forEach((d) => { d.open = true; }), true)`)
}

// set sets a form field's value.
func (b *browser) set(sel, v string) {
	b.t.Helper()
	b.run("set "+sel, chromedp.SetValue(chromedp.CSS(sel), v))
}

// submit clicks the button of form id named button ("do" for the
// default one) and waits for the result to be ok or error; it returns
// the state and the result's text.
func (b *browser) submit(id, button string) (state, text string) {
	b.t.Helper()
	sel := fmt.Sprintf(`#%s button[value=%q]`, id, button)
	b.run("clear the result of "+id, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector("#%s .result").dataset.state = ""`, id)))
	b.run("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	cond := fmt.Sprintf(`["ok", "error"].includes(document.querySelector("#%s .result").dataset.state)`, id)
	b.waitFor(id+" to finish", cond)
	return b.text(fmt.Sprintf("#%s .result", id)) /* text first */, b.text(fmt.Sprintf("#%s .result", id))
}

// submitOK submits and fails the test unless the API accepted it.
func (b *browser) submitOK(id, button string) string {
	b.t.Helper()
	b.submit(id, button)
	state := eval[string](b, fmt.Sprintf(`document.querySelector("#%s .result").dataset.state`, id))
	text := b.text(fmt.Sprintf("#%s .result", id))
	if state != "ok" {
		b.t.Fatalf("%s: %s", id, text)
	}
	return text
}

// submitError submits and fails the test unless the API refused it; it
// returns the error shown.
func (b *browser) submitError(id, button string) string {
	b.t.Helper()
	b.submit(id, button)
	state := eval[string](b, fmt.Sprintf(`document.querySelector("#%s .result").dataset.state`, id))
	text := b.text(fmt.Sprintf("#%s .result", id))
	if state != "error" {
		b.t.Fatalf("%s succeeded (%s), want an error", id, text)
	}
	return text
}

func newClient(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	cl, err := client.New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// poll waits until cond holds (API state the page changed), or fails.
func poll(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, got := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s", what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConsoleActions performs every action of the console through the
// page and checks the server's state through the API: topics created,
// altered, grown and deleted, a record produced and browsed (JSON
// pretty-printed, binary as hex, by offset and by time), a group's
// offsets previewed, reset and deleted, a plugin uploaded and tried, a
// leader election; errors from the API appear verbatim.
func TestConsoleActions(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.Timing.StatsInterval = 200 * time.Millisecond }))
	cl := newClient(t, n.URL())
	b := startBrowser(t, ctx)

	// Create a topic through the form.
	b.run("open topics", chromedp.Navigate(n.URL()+"/#/topics"))
	b.waitFor("the create form", `!!document.querySelector("#create-topic")`)
	b.openActions()
	b.set(`#create-topic [name=name]`, "events")
	b.set(`#create-topic [name=partitions]`, "2")
	b.set(`#create-topic [name=retention]`, "86400000")
	b.set(`#create-topic [name=config]`, "durability=replicated")
	b.submitOK("create-topic", "do")
	tp, err := cl.DescribeTopic(ctx, "events")
	if err != nil {
		t.Fatalf("the topic created in the page: %v", err)
	}
	if tp.PartitionCount != 2 || tp.Config["retention.ms"] != "86400000" || tp.Config["durability"] != "replicated" {
		t.Fatalf("created topic %+v", tp)
	}
	b.waitText(`#topics tr[data-topic="events"] td[data-col="partitions"]`, "2")
	// The same again: the API's error, verbatim.
	if got := b.submitError("create-topic", "do"); !strings.Contains(got, "POST /v1/topics: topic_exists") {
		t.Errorf("duplicate create shows %q", got)
	}

	// Produce a JSON record with key, header and partition through the
	// topic page.
	b.run("open the topic", chromedp.Navigate(n.URL()+"/#/topics/events"))
	b.waitFor("the produce form", `!!document.querySelector("#produce")`)
	b.openActions()
	b.set(`#produce [name=key]`, "customer-7")
	b.set(`#produce [name=value]`, `{"order":7,"items":["a","b"]}`)
	b.set(`#produce [name=headers]`, "source=console")
	b.set(`#produce [name=partition]`, "1")
	if got := b.submitOK("produce", "do"); !strings.Contains(got, "partition 1 at offset 0") {
		t.Errorf("produce result %q", got)
	}
	b.waitFor("partition 1's size", `Number(document.querySelector('#partitions tr[data-partition="1"] td[data-col="size"]').dataset.value) > 0`)
	fr, err := cl.Fetch(ctx, "events", 1, 0, client.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.Records) != 1 || string(fr.Records[0].Key) != "customer-7" || len(fr.Records[0].Headers) != 1 || string(fr.Records[0].Headers[0].Value) != "console" {
		t.Fatalf("fetched %+v", fr.Records)
	}
	// A binary record and three with timestamps for the browser.
	if _, err := cl.Produce(ctx, "events", []client.Record{{Value: []byte{0x00, 0xff, 0x10, 'A'}}}, client.ProduceOptions{Partition: wire.Ptr(int32(1))}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Produce(ctx, "events", []client.Record{{Value: []byte("t1"), Timestamp: 1_000_000}, {Value: []byte("t2"), Timestamp: 2_000_000},
		{Value: []byte("t3"), Timestamp: 3_000_000}}, client.ProduceOptions{Partition: wire.Ptr(int32(0))}); err != nil {
		t.Fatal(err)
	}

	// The browser: partition 1 from the log start shows the JSON record
	// pretty-printed and the binary one as hex.
	b.set(`#browse-form [name=partition]`, "1")
	b.set(`#browse-form [name=from]`, "earliest")
	b.run("load", chromedp.Click(chromedp.CSS("#browse-load")))
	b.waitFor("two records", `document.querySelectorAll("#browse-records tr[data-offset]").length === 2`)
	jsonCell := `#browse-records tr[data-offset="0"] td[data-col="value"]`
	if kind := eval[string](b, fmt.Sprintf(`document.querySelector(%q).dataset.kind`, jsonCell)); kind != "json" {
		t.Errorf("JSON value shown as %q", kind)
	}
	if got := b.text(jsonCell + " pre.json"); !strings.Contains(got, "\"order\": 7,\n") || !strings.Contains(got, "\"items\": [\n    \"a\",") {
		t.Errorf("JSON value not pretty-printed: %q", got)
	}
	if got := b.text(`#browse-records tr[data-offset="0"] td[data-col="headers"]`); got != "source=console" {
		t.Errorf("headers %q", got)
	}
	binCell := `#browse-records tr[data-offset="1"] td[data-col="value"]`
	if got := b.text(binCell + " pre.hex"); !strings.Contains(got, "00 ff 10 41") || !strings.Contains(got, "...A") {
		t.Errorf("binary value shown as %q", got)
	}
	// By time on partition 0: the first record at or after 2 000 000 ms.
	b.set(`#browse-form [name=partition]`, "0")
	b.set(`#browse-form [name=from]`, "time")
	b.set(`#browse-form [name=at]`, "2000000")
	b.run("load", chromedp.Click(chromedp.CSS("#browse-load")))
	b.waitFor("records from offset 1", `!!document.querySelector('#browse-records tr[data-offset="1"]') && !document.querySelector('#browse-records tr[data-offset="0"]')`)
	if got := b.text(`#browse-records tr[data-offset="1"] td[data-col="value"]`); got != "t2" {
		t.Errorf("record at time 2000000: %q", got)
	}
	// Paging: previous goes back to the log start.
	b.run("previous page", chromedp.Click(chromedp.CSS("#browse-prev")))
	b.waitFor("records from offset 0", `!!document.querySelector('#browse-records tr[data-offset="0"]')`)
	if got := eval[int](b, `document.querySelectorAll("#browse-records tr[data-offset]").length`); got != 3 {
		t.Errorf("page from offset 0 shows %d records, want 3", got)
	}
	if !eval[bool](b, `document.getElementById("browse-next").disabled && document.getElementById("browse-prev").disabled`) {
		t.Error("paging buttons enabled although the page holds the whole partition")
	}
	b.screenshotTo("topic-browser")
	// A link to a position loads it (a fresh page, as a bookmark would).
	b.run("open a linked position", chromedp.Navigate(n.URL()+"/"), chromedp.Navigate(n.URL()+"/#/topics/events?partition=0&from=offset&at=2&action=produce"))
	b.waitFor("offset 2 only", `document.querySelectorAll("#browse-records tr[data-offset]").length === 1 && !!document.querySelector('#browse-records tr[data-offset="2"]')`)
	if !eval[bool](b, `document.querySelector('[data-action="produce"]').open && !document.querySelector('[data-action="delete-topic"]').open`) {
		t.Error("?action=produce did not open (only) the produce form")
	}
	b.waitFor("the produce form", `!!document.querySelector("#produce")`)
	b.openActions()

	// Alter: a configuration key; grow the topic; errors verbatim.
	b.set(`#alter-topic [name=config]`, "retention.ms=3600000")
	b.submitOK("alter-topic", "do")
	poll(t, "retention.ms altered", func() (bool, string) {
		tp, err := cl.DescribeTopic(ctx, "events")
		return err == nil && tp.Config["retention.ms"] == "3600000", fmt.Sprint(tp.Config, err)
	})
	b.set(`#alter-topic [name=config]`, "no.such.key=1")
	if got := b.submitError("alter-topic", "do"); !strings.Contains(got, "PATCH /v1/topics/events: invalid_config") {
		t.Errorf("bad config shows %q", got)
	}
	if got := b.text(`[data-action="add-partitions"] .warn-note`); !strings.Contains(got, "different partition") {
		t.Errorf("no keys-move warning: %q", got)
	}
	b.set(`#add-partitions [name=count]`, "4")
	b.submitOK("add-partitions", "do")
	if tp, err := cl.DescribeTopic(ctx, "events"); err != nil || tp.PartitionCount != 4 {
		t.Fatalf("after add partitions: %+v %v", tp, err)
	}
	// The page's partition choices follow once it reloaded the topic.
	b.waitFor("four partition rows", `document.querySelectorAll('#partitions tr[data-partition]').length === 4`)
	b.run("focus the produce partition", chromedp.Evaluate[chromedp.Void](`document.querySelector("#produce [name=partition]").dispatchEvent(new Event("focus"))`))
	if got := eval[int](b, `document.querySelector("#produce [name=partition]").options.length`); got != 5 {
		t.Errorf("produce offers %d partition choices after the increase, want 5 (the partitioner's and 0-3)", got)
	}
	// Elect preferred leaders of the topic (one broker: nothing moves,
	// the API answers); reassign to a broker that does not exist: refused.
	b.submitOK("elect-topic", "do")
	b.set(`#reassign [name=replicas]`, "9")
	if got := b.submitError("reassign", "do"); !strings.Contains(got, "POST /v1/partitions/reassignments:") {
		t.Errorf("reassign to broker 9 shows %q", got)
	}

	// A group with committed offsets (at the end of each partition) and
	// no members: what a consumer that read everything and left leaves.
	const group = "billing"
	if _, err := cl.ResetGroupOffsets(ctx, group, wire.ResetOffsetsRequest{Topic: "events", To: "latest"}); err != nil {
		t.Fatal(err)
	}
	committed := func(p int32) int64 {
		g, err := cl.DescribeGroup(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range g.Offsets {
			if o.Topic == "events" && o.Partition == p {
				return o.Committed
			}
		}
		return -1
	}
	if c := committed(0); c != 3 {
		t.Fatalf("partition 0 committed %d, want 3", c)
	}
	b.run("open the group", chromedp.Navigate(n.URL()+"/#/groups/"+group))
	b.waitFor("the reset form", `!!document.querySelector("#reset-offsets")`)
	b.openActions()
	b.set(`#reset-offsets [name=to]`, "shift")
	b.set(`#reset-offsets [name=value]`, "-2")
	b.set(`#reset-offsets [name=partitions]`, "0")
	b.submitOK("reset-offsets", "preview")
	b.waitText(`#reset-preview tr[data-partition="0"] td[data-col="committed"]`, "1")
	if c := committed(0); c != 3 {
		t.Fatalf("a preview committed: partition 0 at %d", c)
	}
	b.submitOK("reset-offsets", "apply")
	poll(t, "the reset committed", func() (bool, string) {
		c := committed(0)
		return c == 1, fmt.Sprintf("%d (page: %s)", c, b.text("#reset-offsets .result"))
	})
	b.set(`#reset-offsets [name=to]`, "offset")
	b.set(`#reset-offsets [name=value]`, "x")
	if got := b.submitError("reset-offsets", "apply"); !strings.Contains(got, "give an offset") {
		t.Errorf("bad offset shows %q", got)
	}
	b.screenshotTo("group")
	// Delete the group's offsets: a wrong confirmation is refused.
	b.set(`#delete-group [name=confirm]`, "billin")
	if got := b.submitError("delete-group", "do"); !strings.Contains(got, `Type "billing" exactly`) {
		t.Errorf("wrong confirmation shows %q", got)
	}
	b.set(`#delete-group [name=confirm]`, group)
	b.submitOK("delete-group", "do")
	if _, err := cl.DescribeGroup(ctx, group); err == nil {
		t.Error("the group still has offsets after delete")
	}

	// Delete the topic, typed confirmation.
	b.run("open the topic", chromedp.Navigate(n.URL()+"/#/topics/events"))
	b.waitFor("the delete form", `!!document.querySelector("#delete-topic")`)
	b.openActions()
	b.set(`#delete-topic [name=confirm]`, "event")
	b.submitError("delete-topic", "do")
	if _, err := cl.DescribeTopic(ctx, "events"); err != nil {
		t.Fatalf("a wrong confirmation deleted the topic: %v", err)
	}
	b.set(`#delete-topic [name=confirm]`, "events")
	b.submitOK("delete-topic", "do")
	if _, err := cl.DescribeTopic(ctx, "events"); !errors.Is(err, client.ErrUnknownTopic) {
		t.Fatalf("after delete: %v", err)
	}

	// Upload a plugin through the file input and try it.
	if wasm := watPlugin(t); wasm != nil {
		file := filepath.Join(t.TempDir(), "murmur.wasm")
		if err := os.WriteFile(file, wasm, 0o644); err != nil {
			t.Fatal(err)
		}
		b.run("open plugins", chromedp.Navigate(n.URL()+"/#/plugins"))
		b.waitFor("the upload form", `!!document.querySelector("#upload-plugin")`)
		b.openActions()
		b.set(`#upload-plugin [name=name]`, "murmur")
		b.set(`#upload-plugin [name=kind]`, wire.KindPartitioner)
		b.run("choose the module", chromedp.SetUploadFiles(chromedp.CSS(`#upload-plugin [name=file]`), []string{file}))
		b.submitOK("upload-plugin", "do")
		p, err := cl.DescribePlugin(ctx, "murmur")
		if err != nil || p.Latest != 1 || p.Kind != wire.KindPartitioner {
			t.Fatalf("uploaded plugin %+v %v", p, err)
		}
		b.waitText(`#plugins tr[data-plugin="murmur"] td[data-col="latest"]`, "@1")
		b.run("open the plugin", chromedp.Navigate(n.URL()+"/#/plugins/murmur"))
		b.waitFor("the try form", `!!document.querySelector("#try-plugin")`)
		b.set(`#try-plugin [name=partitions]`, "6")
		b.set(`#try-plugin [name=sep]`, ":")
		b.set(`#try-plugin [name=records]`, "a:1\nb:2\nc:3")
		b.submitOK("try-plugin", "do")
		b.waitFor("three results", `document.querySelectorAll("#try-results tr[data-offset]").length === 3`)
		for i, key := range []string{"a", "b", "c"} {
			row := fmt.Sprintf(`#try-results tr[data-offset="%d"]`, i)
			part, err := strconv.Atoi(b.text(row + ` td[data-col="partition"]`))
			if err != nil || part < 0 || part >= 6 {
				t.Errorf("record %s placed in %q", key, b.text(row+` td[data-col="partition"]`))
			}
			if got := b.text(row + ` td[data-col="key"]`); got != key {
				t.Errorf("result %d key %q", i, got)
			}
		}
		b.screenshotTo("plugin")

		// A topic on murmur@1 switches to a second upload through the
		// partitioner-version form.
		if _, err := cl.UploadPlugin(ctx, "murmur", wasm, client.UploadOptions{Kind: wire.KindPartitioner}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "placed", Partitions: 3, Partitioner: "wasm:murmur@1"}); err != nil {
			t.Fatal(err)
		}
		b.run("open the topic", chromedp.Navigate(n.URL()+"/#/topics/placed"))
		b.waitFor("the version form", `!!document.querySelector("#upgrade-partitioner")`)
		b.openActions()
		if got := b.text(`[data-action="upgrade-partitioner"] summary`); !strings.Contains(got, "murmur @1") {
			t.Errorf("version form says %q", got)
		}
		b.set(`#upgrade-partitioner [name=version]`, "2")
		b.submitOK("upgrade-partitioner", "do")
		if tp, err := cl.DescribeTopic(ctx, "placed"); err != nil || tp.Partitioner != "wasm:murmur@2" {
			t.Fatalf("after the upgrade: %+v %v", tp, err)
		}
	}

	// The charts draw from the node's real samples: produce, then the
	// produce series shows a rate above 0.
	var recs []client.Record
	for i := range 50 {
		recs = append(recs, client.Record{Value: fmt.Appendf(nil, "chart-%d", i)})
	}
	if _, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "chart", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	b.run("open the cluster", chromedp.Navigate(n.URL()+"/#/cluster"))
	b.run("refresh every 2 s", chromedp.SetValue(chromedp.CSS("#refresh-every"), "2000"))
	produce(t, ctx, cl, "chart", recs)
	b.waitFor("a chart with a produce rate",
		`[...document.querySelectorAll('#chart-records polyline[data-series="produce"]')].some((p) => Number(p.dataset.points) >= 2 && Number(p.dataset.max) > 0)`)
	// The rate drawn is the node's: the history route holds a sample with
	// a produce rate above 0.
	var hist wire.StatsHistory
	if err := getJSON(n.URL()+"/v1/stats/history", &hist); err != nil {
		t.Fatal(err)
	}
	peak := 0.0
	for _, s := range hist.Samples {
		peak = max(peak, s.ProduceRecordsPerSec)
	}
	if peak <= 0 || hist.IntervalMs != 200 {
		t.Fatalf("history %+v", hist)
	}
	b.screenshotTo("cluster")
	b.checkNoExceptions()
}

func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// screenshotTo is screenshot under a name (console-NAME.png).
func (b *browser) screenshotTo(name string) { b.screenshot(name) }

// clickNow clicks the element sel finds, found and clicked in one step
// (the view re-renders its tables on every refresh, so a node found
// first may be gone by the time a separate click reaches it).
func (b *browser) clickNow(sel string) {
	b.t.Helper()
	b.waitFor(sel, fmt.Sprintf(`!!document.querySelector(%q)`, sel))
	b.run("click "+sel, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).click()`, sel)))
}

// signIn opens the console and signs in with token.
func (b *browser) signIn(url, token string) {
	b.t.Helper()
	b.run("open the console", chromedp.Navigate(url))
	b.waitFor("the sign-in form", `!document.getElementById("signin").hidden`)
	b.run("sign in", chromedp.SetValue(chromedp.CSS("#signin-token"), token), chromedp.Click(chromedp.CSS("#signin-submit")))
	b.waitFor("signed in", `document.getElementById("signin").hidden`)
}

// TestConsoleActionsDenied: with auth on, the actions a principal's ACLs
// do not allow are disabled and say why; an action refused by the API
// (the ACL was removed after the page asked) shows the 403 verbatim and
// changes nothing.
func TestConsoleActionsDenied(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.Auth = true }))
	raw, err := os.ReadFile(filepath.Join(n.Config.DataDir, platform.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	admin := newClient(t, n.URL(), client.WithToken(strings.TrimSpace(string(raw))))
	if _, err := admin.CreateTopic(ctx, wire.CreateTopicRequest{Name: "orders", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	viewer, err := admin.CreatePrincipal(ctx, "viewer", "")
	if err != nil {
		t.Fatal(err)
	}
	var produceACL string
	for _, op := range []string{"describe", "produce", "consume"} {
		a, err := admin.AddACL(ctx, wire.ACL{Principal: "viewer", ResourceType: "topic", Resource: "orders", Operation: op})
		if err != nil {
			t.Fatal(err)
		}
		if op == "produce" {
			produceACL = a.ID
		}
	}

	if _, err := admin.AddACL(ctx, wire.ACL{Principal: "viewer", ResourceType: "topic", Resource: "team-", Pattern: "prefix", Operation: "create"}); err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, ctx)
	b.signIn(n.URL()+"/#/topics/orders", viewer.Token)
	b.waitFor("the produce form", `!!document.querySelector("#produce")`)
	// Delete, alter and reassign are not the viewer's: disabled, saying so.
	for _, id := range []string{"delete-topic", "alter-topic", "add-partitions", "reassign", "elect-topic"} {
		b.waitFor(id+" disabled", fmt.Sprintf(`document.querySelector('[data-action=%q]').classList.contains("not-allowed") && document.querySelector('#%s button').disabled`, id, id))
	}
	if got := b.text(`[data-action="delete-topic"] .denied`); !strings.Contains(got, `not allowed: you may not delete topic "orders"`) {
		t.Errorf("delete says %q", got)
	}
	if eval[bool](b, `document.querySelector('[data-action="produce"]').classList.contains("not-allowed")`) {
		t.Fatal("produce disabled although the viewer may produce")
	}
	// The ACL goes away while the page is open: the API refuses, the page
	// shows its answer, nothing is written.
	if err := admin.RemoveACL(ctx, produceACL); err != nil {
		t.Fatal(err)
	}
	b.openActions()
	b.set(`#produce [name=value]`, "denied")
	got := b.submitError("produce", "do")
	if !strings.Contains(got, "POST /v1/topics/orders/records: forbidden:") || !strings.Contains(got, `"viewer" may not produce topic "orders"`) {
		t.Errorf("denied produce shows %q", got)
	}
	if tp, err := admin.DescribeTopic(ctx, "orders"); err != nil || tp.Partitions[0].HighWatermark != 0 {
		t.Fatalf("after a denied produce: %+v %v", tp, err)
	}
	// Creating topics: only those named team-…; the button follows the
	// name typed.
	b.run("open topics", chromedp.Navigate(n.URL()+"/#/topics"))
	b.waitFor("the create form", `!!document.querySelector("#create-topic")`)
	b.openActions()
	typeName := func(name string) {
		b.run("type "+name, chromedp.SetValue(chromedp.CSS(`#create-topic [name=name]`), name),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#create-topic [name=name]").dispatchEvent(new Event("input"))`))
	}
	typeName("orders2")
	b.waitFor("create refused for orders2", `document.querySelector("#create-topic button").disabled && document.querySelector('[data-action="create-topic"] .denied').textContent.includes('may not create topic "orders2"')`)
	typeName("team-a")
	b.waitFor("create allowed for team-a", `!document.querySelector("#create-topic button").disabled && document.getElementById("create-topic").dataset.allowed === "true"`)
	b.submitOK("create-topic", "do")
	if _, err := admin.DescribeTopic(ctx, "team-a"); err != nil {
		t.Fatalf("team-a created by the viewer: %v", err)
	}
	b.checkNoExceptions()
}

// TestConsoleManyTopics: with 250 topics the totals count every one (not
// the first 200), the table pages 50 at a time and sorts on the server,
// and one refresh of the list is one request whatever the topic count.
func TestConsoleManyTopics(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n := testnode.Start(t)
	cl := newClient(t, n.URL())
	const topics = 250
	wantParts := 0
	for i := range topics {
		parts := int32(1 + i%3)
		wantParts += int(parts)
		if _, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: fmt.Sprintf("topic-%03d", i), Partitions: parts}); err != nil {
			t.Fatal(err)
		}
	}
	// The biggest topic by records.
	produce(t, ctx, cl, "topic-123", []client.Record{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}})

	// What the tiles must say, from the plain list: every topic, the
	// internal ones apart.
	all, err := cl.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	internal, allParts := 0, 0
	for _, tp := range all {
		allParts += int(tp.Partitions)
		if tp.Internal {
			internal++
		}
	}
	wantTopics := "250"
	if internal > 0 {
		wantTopics += fmt.Sprintf(" (+%d internal)", internal)
	}
	if allParts-wantParts < 0 {
		t.Fatalf("the list has %d partitions, fewer than the %d created", allParts, wantParts)
	}

	b := startBrowser(t, ctx)
	b.run("open topics", chromedp.Navigate(n.URL()+"/#/topics"))
	b.waitText(`[data-field="total-topics"] .v`, wantTopics)
	b.waitText(`[data-field="total-partitions"] .v`, fmtThousands(allParts))
	b.waitText("#topics-pager .range", "1–50 of 250")
	if got := eval[int](b, `document.querySelectorAll("#topics tr[data-topic]").length`); got != 50 {
		t.Errorf("first page shows %d rows", got)
	}
	b.clickNow("#topics-pager .next")
	b.waitText("#topics-pager .range", "51–100 of 250")
	b.waitFor("topic-050 first", `document.querySelector("#topics tr[data-topic]").dataset.topic === "topic-050"`)
	// Sort by records, largest first: a click, then another reverses.
	b.clickNow(`#topics th[data-sort="records"]`)
	b.waitFor("sorted by records, ascending", `document.querySelector('#topics th[data-sort="records"]').dataset.order === "asc"`)
	b.waitText("#topics-pager .range", "1–50 of 250")
	b.clickNow(`#topics th[data-sort="records"]`)
	b.waitFor("sorted by records, descending", `document.querySelector('#topics th[data-sort="records"]').dataset.order === "desc"`)
	b.waitFor("topic-123 first", `document.querySelector("#topics tr[data-topic]").dataset.topic === "topic-123"`)
	b.waitText(`#topics tr[data-topic="topic-123"] td[data-col="records"]`, "3")
	// The last page.
	for _, want := range []string{"51–100", "101–150", "151–200", "201–250"} {
		b.clickNow("#topics-pager .next")
		b.waitText("#topics-pager .range", want+" of 250")
	}
	if !eval[bool](b, `document.querySelector("#topics-pager .next").disabled`) {
		t.Error("next is enabled on the last page")
	}
	// No refresh described a topic one by one: the list is one call.
	resp, body := get(t, n.URL()+"/metrics")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `sluice_http_requests_total{code="200",route="GET /v1/cluster/topics"}`) {
		t.Fatalf("metrics: %d, no count of the page route", resp.StatusCode)
	}
	if strings.Contains(body, `sluice_http_requests_total{code="200",route="GET /v1/topics/{topic}"}`) {
		t.Error("the topic list described topics one request each")
	}
	// The cluster tiles count every partition too.
	b.run("open the cluster", chromedp.Navigate(n.URL()+"/#/cluster"))
	b.waitFor("the partition tile", fmt.Sprintf(`[...document.querySelectorAll(".kv-item")].some((e) => e.querySelector(".k").textContent === "Partitions" && e.querySelector(".v").textContent === %q)`, fmtThousands(allParts)))
	b.screenshot("many-topics")
	b.checkNoExceptions()
}

// fmtThousands formats n as the page does (en-US grouping).
func fmtThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestConsoleReassign moves a partition to another broker through the
// page (two real nodes) and checks the move in the metadata.
func TestConsoleReassign(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n1 := testnode.Start(t)
	testnode.Join(t, n1, 2, []string{platform.RoleBroker})
	cl := newClient(t, n1.URL())
	poll(t, "broker 2 registered", func() (bool, string) {
		c, err := cl.Cluster(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, b := range c.Brokers {
			if b.ID == 2 && b.State == "alive" {
				return true, ""
			}
		}
		return false, fmt.Sprint(c.Brokers)
	})
	tp, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "moving", Partitions: 1, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	from := tp.Partitions[0].Replicas[0]
	to := 3 - from
	produce(t, ctx, cl, "moving", []client.Record{{Value: []byte("before the move")}})

	b := startBrowser(t, ctx)
	b.run("open the topic", chromedp.Navigate(n1.URL()+"/#/topics/moving"))
	b.set("#refresh-every", "2000")
	b.waitFor("the reassign form", `!!document.querySelector("#reassign")`)
	b.openActions()
	b.set(`#reassign [name=partition]`, "0")
	b.set(`#reassign [name=replicas]`, strconv.Itoa(int(to)))
	b.submitOK("reassign", "do")
	deadline := time.Now().Add(60 * time.Second)
	for {
		tp, err := cl.DescribeTopic(ctx, "moving")
		if err == nil && len(tp.Partitions[0].Replicas) == 1 && tp.Partitions[0].Replicas[0] == to && tp.Partitions[0].Leader == to {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition not moved to %d: %+v %v", to, tp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.waitText(`#partitions tr[data-partition="0"] td[data-col="leader"]`, strconv.Itoa(int(to)))
	b.checkNoExceptions()
}
