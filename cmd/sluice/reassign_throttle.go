package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// The reassignment throttle and byte progress of `sluice partition
// reassign` and `sluice broker decommission` (docs/operations.md,
// "Throttling a move").

// throttleUsage is the --throttle flag's help.
const throttleUsage = "limit the catch-up traffic of the replicas the move adds to `RATE` bytes per second on each receiving broker " +
	"(a number of bytes, or with a KiB, MiB or GiB suffix: 10MiB)"

// parseRate parses a rate in bytes per second: a positive number with an
// optional KiB, MiB or GiB suffix (case-insensitive, "/s" allowed after
// it): "1048576", "512KiB", "10MiB/s", "1.5GiB".
func parseRate(flag, s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("--%s %q: %s (want bytes per second: a number with an optional KiB, MiB or GiB suffix, such as 10MiB)", flag, s, why)
	}
	v := strings.TrimSpace(s)
	v = strings.TrimSuffix(strings.TrimSuffix(v, "/s"), "/S")
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != '-' && r != '+' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	mult := 1.0
	switch strings.ToLower(unit) {
	case "", "b":
	case "kib":
		mult = 1 << 10
	case "mib":
		mult = 1 << 20
	case "gib":
		mult = 1 << 30
	default:
		return bad(fmt.Sprintf("unknown unit %q", unit))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return bad("not a number")
	}
	n := math.Floor(f * mult)
	switch {
	case n <= 0:
		return bad("the rate must be positive (to lift a throttle use --remove-throttle)")
	case n > float64(maxThrottle):
		return bad(fmt.Sprintf("above the maximum of %s/s", humanBytes(maxThrottle)))
	}
	return int64(n), nil
}

// maxThrottle is meta.MaxReassignThrottle (1 TiB/s); the server checks it
// too.
const maxThrottle int64 = 1 << 40

// throttleOf is the throttle flags of c: rate > 0 to set, remove to lift.
func throttleOf(c *cli.Context) (rate int64, remove bool, err error) {
	remove = c.Bool("remove-throttle")
	if !c.IsSet("throttle") {
		return 0, remove, nil
	}
	if remove {
		return 0, false, fmt.Errorf("%s: --throttle and --remove-throttle contradict each other", c.Command.FullName())
	}
	rate, err = parseRate("throttle", c.String("throttle"))
	return rate, false, err
}

// applyThrottle puts the throttle flags on every entry of plan.
func applyThrottle(plan *wire.ReassignRequest, rate int64, remove bool) {
	for i := range plan.Reassignments {
		if rate > 0 || remove {
			plan.Reassignments[i].Throttle, plan.Reassignments[i].RemoveThrottle = rate, remove
		}
	}
}

// throttleOnly reports whether c only changes the throttle of moves in
// progress: --throttle or --remove-throttle with at most a TOPIC/PARTITION
// and nothing else that starts or cancels a move.
func throttleOnly(c *cli.Context) bool {
	return (c.IsSet("throttle") || c.Bool("remove-throttle")) &&
		!c.IsSet("replicas") && !c.IsSet("plan") && !c.Bool("cancel") && c.NArg() <= 1
}

// reassignThrottle changes the throttle of the move of the partition
// named, or of every move in progress.
func reassignThrottle(c *cli.Context, cl *client.Client, rate int64, remove bool) error {
	var plan wire.ReassignRequest
	if c.NArg() == 1 {
		topic, p, err := parseTopicPartition(c.Args().First())
		if err != nil {
			return err
		}
		if p < 0 {
			return fmt.Errorf("partition reassign %s: name one partition as TOPIC/PARTITION", topic)
		}
		plan.Reassignments = []wire.Reassignment{{Topic: topic, Partition: p}}
	} else {
		list, err := cl.Reassignments(c.Context)
		if err != nil {
			return err
		}
		for _, r := range list.Reassignments {
			plan.Reassignments = append(plan.Reassignments, wire.Reassignment{Topic: r.Topic, Partition: r.Partition})
		}
	}
	if len(plan.Reassignments) == 0 {
		fmt.Fprintln(c.App.Writer, "nothing to do: no reassignment in progress")
		return nil
	}
	applyThrottle(&plan, rate, remove)
	list, err := cl.Reassign(c.Context, plan)
	if err != nil {
		return err
	}
	moving := 0
	for _, r := range list.Reassignments {
		if len(r.Adding)+len(r.Removing) > 0 {
			moving++
		}
	}
	if !wantJSON(c) {
		what := "throttle removed from"
		if rate > 0 {
			what = "throttle " + humanRate(float64(rate)) + " on"
		}
		fmt.Fprintf(c.App.ErrWriter, "%s %d moves in progress\n", what, moving)
	}
	if c.Bool("wait") {
		return waitReassignments(c, cl, list)
	}
	return printReassignments(c, list)
}

// humanRate formats bytes per second ("?" when unknown).
func humanRate(r float64) string {
	if r < 0 {
		return "?"
	}
	return humanBytes(int64(r)) + "/s"
}

// humanETA formats an ETA in seconds: "-" when done, "?" when unknown.
func humanETA(s float64) string {
	switch {
	case s == 0:
		return "-"
	case s < 0:
		return "?"
	}
	return (time.Duration(math.Ceil(s)) * time.Second).String()
}

// progressText is a CopyProgress for a line: "12.0 MiB left at 1.0
// MiB/s, ETA 12s".
func progressText(p wire.CopyProgress) string {
	if p.BytesLeft < 0 {
		return "bytes left unknown (no progress reported yet)"
	}
	s := fmt.Sprintf("%s left", humanBytes(p.BytesLeft))
	if p.BytesLeft > 0 {
		s += fmt.Sprintf(" at %s, ETA %s", humanRate(p.Rate), humanETA(p.ETASeconds))
	}
	if p.Unknown > 0 {
		s += fmt.Sprintf(" (%d copies without figures yet)", p.Unknown)
	}
	return s
}

// throttleText is a move's throttle for a table.
func throttleText(rate int64) string {
	if rate <= 0 {
		return "-"
	}
	return humanRate(float64(rate))
}

// byteProgress follows the bytes copied by a set of moves for a bar: per
// partition the leader's size times its replicas being added (need) and
// what they hold (have); a partition that stopped moving counts as done
// at its last figures.
type byteProgress struct {
	need, have map[string]int64
}

func newByteProgress() *byteProgress {
	return &byteProgress{need: map[string]int64{}, have: map[string]int64{}}
}

// update takes a status poll of the moves still running; it returns the
// bytes copied and the bytes to copy in all.
func (b *byteProgress) update(moving []wire.ReassignmentStatus) (have, need int64) {
	running := map[string]bool{}
	for _, r := range moving {
		key := r.Topic + "/" + itoa(r.Partition)
		running[key] = true
		if r.LeaderLogBytes < 0 {
			continue
		}
		var h, n int64
		known := true
		for _, c := range r.Copies {
			if c.LogBytes < 0 {
				known = false
				break
			}
			h += min(c.LogBytes, r.LeaderLogBytes)
			n += r.LeaderLogBytes
		}
		if known {
			b.have[key], b.need[key] = h, n
		}
	}
	for key := range b.need {
		if !running[key] {
			b.have[key] = b.need[key] // done
		}
		have += b.have[key]
		need += b.need[key]
	}
	return have, need
}

// byteBar is an mpb bar of bytes copied, with the server's ETA.
type byteBar struct {
	p     *mpb.Progress
	bar   *mpb.Bar
	eta   atomic.Value // string
	mu    sync.Mutex
	total int64 // the bytes to copy as last set
}

func startByteBar(w io.Writer, name string) *byteBar {
	b := &byteBar{}
	b.eta.Store("ETA ?")
	b.p = mpb.New(mpb.WithOutput(w), mpb.WithAutoRefresh(), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond))
	b.bar = b.p.AddBar(0,
		mpb.PrependDecorators(decor.Name(name+" "), decor.Counters(decor.SizeB1024(0), "% .1f / % .1f")),
		mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace),
			decor.Any(func(decor.Statistics) string { return b.eta.Load().(string) }, decor.WCSyncSpace)),
	)
	return b
}

// set shows have of need bytes and the ETA of the poll.
func (b *byteBar) set(have, need int64, p wire.CopyProgress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.eta.Store(fmt.Sprintf("%s, ETA %s", humanRate(p.Rate), humanETA(p.ETASeconds)))
	b.total = max(need, have, 1)
	b.bar.SetTotal(b.total, false)
	b.bar.SetCurrent(have)
}

// stop completes the bar when done, else aborts it, and waits for it.
func (b *byteBar) stop(done bool) {
	b.mu.Lock()
	if done {
		b.eta.Store("done")
		b.bar.SetTotal(max(b.total, 1), true) // every byte copied
	} else {
		b.bar.Abort(false)
	}
	b.mu.Unlock()
	b.p.Wait()
}

// moveTotal sums the progress of the moves of cur that want names (the
// list's total covers every move in progress, maybe others' too).
func moveTotal(cur *wire.ReassignmentList, want map[string]bool) wire.CopyProgress {
	if len(cur.Reassignments) == 0 {
		return wire.CopyProgress{}
	}
	mine := true
	for _, r := range cur.Reassignments {
		if !want[r.Topic+"/"+itoa(r.Partition)] {
			mine = false
			break
		}
	}
	if mine {
		return cur.Total
	}
	// Others' moves run too: sum ours the way the server does.
	var parts []wire.CopyProgress
	for _, r := range cur.Reassignments {
		if want[r.Topic+"/"+itoa(r.Partition)] {
			parts = append(parts, r.Progress)
		}
	}
	return wire.SumProgress(parts)
}

// maxMoveLines bounds the per-partition lines of one --wait report.
const maxMoveLines = 20

// printMoveLines writes one line per partition still copying (those with
// replicas being added), at most maxMoveLines of them.
func printMoveLines(w io.Writer, moving []wire.ReassignmentStatus) {
	n := 0
	for _, r := range moving {
		if len(r.Adding) == 0 {
			continue
		}
		if n == maxMoveLines {
			fmt.Fprintf(w, "  ... and more (see --status)\n")
			return
		}
		n++
		line := fmt.Sprintf("  %s/%d: %s", r.Topic, r.Partition, progressText(r.Progress))
		if r.Throttle > 0 {
			line += ", throttle " + throttleText(r.Throttle)
		}
		fmt.Fprintln(w, line)
	}
}
