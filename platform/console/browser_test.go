package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sluicehq/sluice/internal/testtool"
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// screenshotDirEnv names a directory that, when set, receives a PNG of
// every view the browser test visits (to look at the console by eye).
const screenshotDirEnv = "SLUICE_CONSOLE_SCREENSHOTS"

// waitTimeout bounds each wait for the page; the page refreshes every
// 2 s in the test.
const waitTimeout = 10 * time.Second

// findChromium returns the Chromium binary or skips the test.
func findChromium(t *testing.T) string {
	t.Helper()
	return testtool.Need(t, testtool.Chromium)
}

// browser is a headless Chromium tab driven over the DevTools protocol.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	exceptions []string // uncaught JavaScript exceptions of the page
}

func startBrowser(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	chrome := findChromium(t)
	profile := t.TempDir() // removed after the browser exits (cleanups run in reverse)
	// chromedp's defaults (headless, no first run, no background
	// networking, no sync, ...) and what a container and an offline
	// machine need on top.
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel() // waits for the browser process to exit
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium %s: %v", chrome, err)
	}
	b := &browser{t: t, ctx: bctx}
	err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok && e.ExceptionDetails != nil {
			d := e.ExceptionDetails
			msg := fmt.Sprintf("%s:%d:%d: %s", d.URL, d.LineNumber+1, d.ColumnNumber+1, d.Text)
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, msg)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listen to page events: %v", err)
	}
	return b
}

// checkNoExceptions fails the test if the page threw an uncaught
// exception (a view that broke without an assertion noticing).
func (b *browser) checkNoExceptions() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.exceptions {
		b.t.Errorf("uncaught exception in the page: %s", e)
	}
}

func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v%s", what, err, b.diagnose())
	}
}

// eval returns a JavaScript expression's value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v%s", expr, err, b.diagnose())
	}
	return v
}

// text is the text of the first element matching a CSS selector, "" if
// there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

// waitFor polls a JavaScript condition until it holds.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(waitTimeout), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		b.t.Fatalf("waiting for %s (%s): %v%s", what, cond, err, b.diagnose())
	}
}

// waitText waits until the element matching sel has exactly want as text.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%s to read %q", sel, want),
		fmt.Sprintf(`((document.querySelector(%q) || {}).textContent || "").trim() === %q`, sel, want))
}

// diagnose describes the page for a failure message.
func (b *browser) diagnose() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	url, _ := chromedp.Run(ctx, chromedp.Location())
	errText, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("error") || {}).textContent || ""`))
	status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("tail-status") || {}).textContent || ""`))
	browse, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("browse-status") || {}).textContent || ""`))
	results, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll(".action .result")].filter((r) => r.textContent).map((r) => r.closest("form").id + ": " + r.textContent).join("; ")`))
	return fmt.Sprintf("\npage %s\nerror banner: %q\ntail status: %q\nbrowser status: %q\naction results: %q", url, errText, status, browse, results)
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, "console-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("write screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s", path)
}

// produce sends records to topic, retrying while the new topic's
// partitions open, and returns where each landed.
func produce(t *testing.T, ctx context.Context, cl *client.Client, topic string, recs []client.Record) []client.ProduceResult {
	t.Helper()
	for {
		res, err := cl.Produce(ctx, topic, recs, client.ProduceOptions{})
		if err == nil {
			for _, r := range res {
				if r.Err != nil {
					err = r.Err
				}
			}
		}
		if err == nil {
			return res
		}
		if ctx.Err() != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
		time.Sleep(20 * time.Millisecond) // the broker opens the new partitions
	}
}

// TestConsoleInBrowser opens the console of a real node in headless
// Chromium and checks what an operator sees: the topic list with
// partition counts and high watermarks, a topic's partitions with leader
// and ISR, the consumer group, and a live tail that shows a record
// produced after it started; API errors are shown on the page.
func TestConsoleInBrowser(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := testnode.Start(t)
	cl, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })

	const topic, group, records = "orders", "billing", 10
	if _, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: topic, Partitions: 3}); err != nil {
		t.Fatal(err)
	}
	var recs []client.Record
	for i := range records {
		recs = append(recs, client.Record{Key: fmt.Appendf(nil, "customer-%d", i), Value: fmt.Appendf(nil, `{"order":%d}`, i)})
	}
	produce(t, ctx, cl, topic, recs)

	// A group member that has read and committed everything.
	member, err := cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: topic, Group: group, From: "earliest", ClientID: "billing-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { member.Close() })
	for got := 0; got < records; {
		b, err := member.Poll(ctx)
		if err != nil {
			t.Fatalf("group member poll: %v", err)
		}
		got += len(b.Records)
	}
	if err := member.CommitPositions(ctx); err != nil {
		t.Fatal(err)
	}

	// Two versions of a plugin (the hand-written WAT example), when
	// wat2wasm is there to assemble it.
	plugin := watPlugin(t)
	if plugin != nil {
		for range 2 {
			if _, err := cl.UploadPlugin(ctx, "murmur", plugin, client.UploadOptions{Kind: wire.KindPartitioner}); err != nil {
				t.Fatalf("upload plugin: %v", err)
			}
		}
	}

	b := startBrowser(t, ctx)

	// Topics: the topic, its partition count and high watermark.
	b.run("open the console", chromedp.Navigate(n.URL()+"/#/topics"))
	b.run("refresh every 2 s", chromedp.SetValue(chromedp.CSS("#refresh-every"), "2000"))
	row := `#topics tr[data-topic="orders"]`
	b.waitText(row+` td[data-col="partitions"]`, "3")
	b.waitText(row+` td[data-col="hw"]`, strconv.Itoa(records))
	b.waitText(row+` td[data-col="records"]`, strconv.Itoa(records))
	if got := eval[bool](b, `!!document.querySelector('#topics tr[data-topic="__consumer_offsets"]')`); got {
		t.Error("internal topic listed although 'internal topics' is off")
	}
	b.screenshot("topics")

	// Topic detail, reached by its link: leader, replicas and ISR per
	// partition, the group's lag.
	b.clickNow(row + ` td[data-col="name"] a`)
	b.waitFor("three partition rows", `document.querySelectorAll('#partitions tr[data-partition]').length === 3`)
	desc, err := cl.DescribeTopic(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	hwSum := int64(0)
	for _, p := range desc.Partitions {
		sel := fmt.Sprintf(`#partitions tr[data-partition="%d"]`, p.Index)
		b.waitText(sel+` td[data-col="leader"]`, strconv.Itoa(int(p.Leader)))
		b.waitText(sel+` td[data-col="isr"]`, joinIDs(p.ISR))
		b.waitText(sel+` td[data-col="replicas"]`, joinIDs(p.Replicas))
		b.waitText(sel+` td[data-col="hw"]`, strconv.FormatInt(p.HighWatermark, 10))
		hwSum += p.HighWatermark
	}
	if hwSum != records {
		t.Fatalf("API reports HW sum %d, want %d", hwSum, records)
	}
	b.waitText(`#topic-groups tr[data-group="billing"] td[data-col="lag"]`, "0")
	b.screenshot("topic")

	// Groups: the member and its lag.
	b.run("open groups", chromedp.Navigate(n.URL()+"/#/groups"))
	b.waitText(`#groups tr[data-group="billing"] td[data-col="members"]`, "1")
	b.waitText(`#groups tr[data-group="billing"] td[data-col="lag"]`, "0")
	b.run("open the group", chromedp.Navigate(n.URL()+"/#/groups/billing"))
	b.waitFor("the member's client id", `[...document.querySelectorAll('#members td[data-col="client"]')].some(td => td.textContent === "billing-1")`)
	b.screenshot("group")

	// Cluster: this node is the active controller.
	b.run("open cluster", chromedp.Navigate(n.URL()+"/#/cluster"))
	b.waitFor("the broker row", `!!document.querySelector('#brokers tr[data-broker="1"]')`)
	if got := b.text(`[data-field="controller"] .v`); !strings.HasPrefix(got, "node 1") {
		t.Errorf("active controller shows %q", got)
	}
	// Leader balance and reassignments (cluster administration): the one
	// broker leads every partition it prefers; nothing is moving.
	b.waitText(`#brokers tr[data-broker="1"] td[data-col="not-leading"]`, "0")
	b.waitText(`[data-field="reassigning"] .v`, "0")
	if got := b.text(`#brokers tr[data-broker="1"] td[data-col="preferred"]`); got == "?" || got == "0" {
		t.Errorf("broker 1 prefers %q partitions, want the topic's and the offsets topic's", got)
	}
	b.screenshot("cluster")

	// Plugins: name, kind, latest version, every version.
	if plugin != nil {
		b.run("open plugins", chromedp.Navigate(n.URL()+"/#/plugins"))
		b.waitText(`#plugins tr[data-plugin="murmur"] td[data-col="latest"]`, "@2")
		b.waitText(`#plugins tr[data-plugin="murmur"] td[data-col="kind"]`, wire.KindPartitioner)
		b.clickNow(`#plugins tr[data-plugin="murmur"] a`)
		b.waitFor("two version rows", `document.querySelectorAll('#versions tr[data-version]').length === 2`)
		b.screenshot("plugin")
	}

	// Live tail from latest: a record produced after it started shows up,
	// with its partition and offset.
	b.run("open the tail", chromedp.Navigate(n.URL()+"/#/tail/orders"))
	b.waitFor("the topic prefilled", `document.getElementById("tail-topic").value === "orders"`)
	b.run("start the tail", chromedp.Click(chromedp.CSS("#tail-start")))
	b.waitFor("the tail to stream", `document.getElementById("tail-status").dataset.state === "streaming"`)
	if got := eval[int](b, `document.querySelectorAll("#tail-records tr").length`); got != 0 {
		t.Fatalf("tail from latest shows %d old records", got)
	}
	probe := fmt.Sprintf("tail-probe-%d", time.Now().UnixNano())
	res := produce(t, ctx, cl, topic, []client.Record{{Key: []byte("probe"), Value: []byte(probe),
		Headers: []client.Header{{Key: "source", Value: []byte("test")}}}})
	probeRow := fmt.Sprintf(`#tail-records tr[data-partition="%d"][data-offset="%d"]`, res[0].Partition, res[0].Offset)
	b.waitText(probeRow+` td[data-col="value"]`, probe)
	b.waitText(probeRow+` td[data-col="key"]`, "probe")
	b.waitText(probeRow+` td[data-col="headers"]`, "source=test")
	b.screenshot("tail")

	// The list is bounded: with "keep 10", 30 more records leave the 10
	// newest on screen, while all are counted.
	b.run("keep 10 records", chromedp.SetValue(chromedp.CSS("#tail-keep"), "10"))
	var more []client.Record
	for i := range 30 {
		more = append(more, client.Record{Value: fmt.Appendf(nil, "burst-%d", i)})
	}
	produce(t, ctx, cl, topic, more)
	b.waitFor("31 records counted", `document.getElementById("tail-status").textContent.includes("31 records received")`)
	if got := eval[int](b, `document.querySelectorAll("#tail-records tr").length`); got != 10 {
		t.Errorf("tail shows %d records with keep=10", got)
	}
	if got := b.text(`#tail-records tr td[data-col="value"]`); !strings.HasPrefix(got, "burst-") {
		t.Errorf("newest record on top reads %q", got)
	}
	b.run("stop the tail", chromedp.Click(chromedp.CSS("#tail-stop")))
	b.waitFor("the tail to stop", `document.getElementById("tail-status").dataset.state === "stopped"`)

	// Errors from the API are shown plainly: a processor that does not
	// exist, a topic that does not exist.
	b.run("name a missing processor", chromedp.SetValue(chromedp.CSS("#tail-processor"), "no-such-plugin"))
	b.run("start the tail", chromedp.Click(chromedp.CSS("#tail-start")))
	b.waitFor("the tail error", `document.getElementById("tail-status").dataset.state === "error"`)
	if got := b.text("#tail-status"); !strings.Contains(got, "unknown_plugin") {
		t.Errorf("tail status %q does not name unknown_plugin", got)
	}
	b.run("open a missing topic", chromedp.Navigate(n.URL()+"/#/topics/no-such-topic"))
	b.waitFor("the error banner", `!document.getElementById("error").hidden`)
	if got := b.text("#error"); !strings.Contains(got, "unknown_topic") || !strings.Contains(got, "no-such-topic") {
		t.Errorf("error banner %q", got)
	}
	b.screenshot("error")
	b.checkNoExceptions()
}

// watPlugin assembles examples/wat-partitioner with wat2wasm, or returns
// nil (and says so) without it.
func watPlugin(t *testing.T) []byte {
	t.Helper()
	if testtool.Want(t, testtool.WAT2Wasm, "the plugin views are not checked") == "" {
		return nil
	}
	out := filepath.Join(t.TempDir(), "partitioner.wasm")
	cmd := exec.Command("wat2wasm", "-o", out, filepath.Join("..", "..", "examples", "wat-partitioner", "partitioner.wat"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func joinIDs(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ", ")
}

// TestConsoleSignsInWithToken: with auth on, the console asks for a token,
// shows the topics once given the admin's, and tails a topic over a
// WebSocket that carries the token as a subprotocol.
func TestConsoleSignsInWithToken(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.Auth = true }))
	raw, err := os.ReadFile(filepath.Join(n.Config.DataDir, platform.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(raw))
	cl, err := client.New(n.URL(), client.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	const topic = "secured"
	if _, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: topic, Partitions: 1}); err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, ctx)
	b.run("open the console", chromedp.Navigate(n.URL()+"/#/topics"))
	b.waitFor("the sign-in form", `!document.getElementById("signin").hidden`)
	if got := eval[bool](b, `!!document.querySelector('#topics tr[data-topic="secured"]')`); got {
		t.Fatal("topics shown before signing in")
	}
	b.run("enter a wrong token", chromedp.SetValue(chromedp.CSS("#signin-token"), "slu_0123456789abcdef_wrong"),
		chromedp.Click(chromedp.CSS("#signin-submit")))
	b.waitFor("the refusal", `document.getElementById("signin-message").textContent.includes("not accepted")`)
	b.run("enter the admin token", chromedp.SetValue(chromedp.CSS("#signin-token"), token),
		chromedp.Click(chromedp.CSS("#signin-submit")))
	b.waitFor("the topic row", `!!document.querySelector('#topics tr[data-topic="secured"]')`)
	if got := eval[string](b, `sessionStorage.getItem("sluice.token")`); got != token {
		t.Errorf("token in sessionStorage %q", got)
	}
	b.waitFor("the sign-in form gone", `document.getElementById("signin").hidden`)
	b.waitText("#whoami", "signed in as admin")

	b.run("open the tail", chromedp.Navigate(n.URL()+"/#/tail/"+topic))
	b.waitFor("the topic prefilled", `document.getElementById("tail-topic").value === "secured"`)
	b.run("start the tail", chromedp.Click(chromedp.CSS("#tail-start")))
	b.waitFor("the tail to stream", `document.getElementById("tail-status").dataset.state === "streaming"`)
	res := produce(t, ctx, cl, topic, []client.Record{{Value: []byte("signed-in-probe")}})
	b.waitText(fmt.Sprintf(`#tail-records tr[data-offset="%d"] td[data-col="value"]`, res[0].Offset), "signed-in-probe")
	b.screenshot("signed-in")
	b.checkNoExceptions()
}
