package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

// maxReportedFailures bounds the per-record failures produce --verbose
// prints; the one-line summary counts them all.
const maxReportedFailures = 5

// maxLine bounds one input line of produce (and so one record).
const maxLine = 16 << 20

func produceCommand() *cli.Command {
	return &cli.Command{
		Name:      "produce",
		Usage:     "send one record per input line to a topic",
		ArgsUsage: "TOPIC",
		Description: "Reads lines from stdin (or --file) and sends each as a record; the topic's\n" +
			"partitioner picks the partition (unless --partition). With --key-separator, the text before the\n" +
			"first separator is the key (a line without it has no key).\n\n" +
			"   printf 'user-1:hello\\nuser-2:world\\n' | sluice produce orders --key-separator : --verbose",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "read records from `FILE` instead of stdin"},
			&cli.StringFlag{Name: "key-separator", Aliases: []string{"K"}, Usage: "split each line into key and value at the first `SEP`"},
			&cli.StringFlag{Name: "acks", Value: "all", Usage: "0 (no wait), 1 (leader appended) or all (every in-sync replica)"},
			&cli.StringSliceFlag{Name: "header", Aliases: []string{"H"}, Usage: "header `KEY=VALUE` added to every record (repeatable)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print the partition and offset of every record"},
			&cli.IntFlag{Name: "partition", Aliases: []string{"p"}, Usage: "send every record to partition `P` instead of the topic partitioner's choice", DefaultText: "the partitioner's choice"},
			&cli.StringFlag{Name: "timestamp", Usage: "give every record timestamp `T`: ms since the epoch or RFC 3339 (default: the broker's append time)"},
			&cli.DurationFlag{Name: "linger", Value: 5 * time.Millisecond, Usage: "how long a batch waits for more lines"},
			&cli.DurationFlag{Name: "delivery-timeout", Value: client.DefaultDeliveryTimeout,
				Usage: "how long a batch may be retried (leader elections, a node starting, lost answers) before its records fail"},
			&cli.BoolFlag{Name: "no-idempotence", Usage: "send without the idempotent producer: a timeout or a lost answer then fails the records instead of being retried"},
		},
		Action: produce,
	}
}

func produce(c *cli.Context) error {
	topic, err := oneArg(c, "TOPIC")
	if err != nil {
		return err
	}
	acks, err := client.ParseAcks(c.String("acks"))
	if err != nil {
		return err
	}
	hdrs, err := parseHeaders(c.StringSlice("header"))
	if err != nil {
		return err
	}
	var ts int64
	if v := c.String("timestamp"); v != "" {
		if ts, err = parseTimestamp(v); err != nil {
			return err
		}
	}
	in := c.App.Reader
	if f := c.String("file"); f != "" && f != "-" {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		defer fh.Close()
		in = fh
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	// Fail on an unknown topic before reading any input.
	tp, err := cl.DescribeTopic(c.Context, topic)
	if err != nil {
		return err
	}
	var partition *int32
	if c.IsSet("partition") {
		n := c.Int("partition")
		if n < 0 || n > math.MaxInt32 {
			return usagef("--partition %d: want a partition number >= 0", n)
		}
		partition = wire.Ptr(int32(n))
		if tp.PartitionCount <= int32(n) {
			return fmt.Errorf("produce %s: --partition %d: %w (the topic has %d)", topic, n, client.ErrUnknownPartition, tp.PartitionCount)
		}
	}
	p := cl.NewProducer(client.ProducerConfig{Acks: acks, Partition: partition, Linger: c.Duration("linger"),
		DeliveryTimeout: c.Duration("delivery-timeout"), DisableIdempotence: c.Bool("no-idempotence")})
	pr := &producePrinter{w: c.App.Writer, errw: c.App.ErrWriter, verbose: c.Bool("verbose"), json: wantJSON(c)}
	readErr := readRecords(c.Context, in, c.String("key-separator"), hdrs, func(r client.Record) error {
		r.Timestamp = ts
		f, err := p.Produce(c.Context, topic, r)
		if err != nil {
			return err
		}
		pr.add(f)
		return nil
	})
	closeErr := p.Close()
	pr.drain(true)
	if readErr != nil {
		return readErr
	}
	if closeErr != nil {
		return closeErr
	}
	if pr.failed > 0 {
		return fmt.Errorf("%d of %d records failed (first: %v)", pr.failed, pr.n, pr.firstErr)
	}
	switch {
	case pr.json && !pr.verbose:
		return printJSON(c.App.Writer, map[string]any{"topic": topic, "produced": pr.n})
	case !pr.verbose:
		fmt.Fprintf(c.App.ErrWriter, "produced %d records to %s\n", pr.n, topic)
	}
	return nil
}

// parseTimestamp reads --timestamp: ms since the epoch (> 0) or RFC 3339.
func parseTimestamp(v string) (int64, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		if ms <= 0 {
			return 0, usagef("--timestamp %d: want ms since the epoch > 0", ms)
		}
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || t.UnixMilli() <= 0 {
		return 0, usagef("--timestamp %q: want ms since the epoch or an RFC 3339 time after 1970", v)
	}
	return t.UnixMilli(), nil
}

func parseHeaders(vals []string) ([]client.Header, error) {
	var hs []client.Header
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usagef("--header %q: want key=value", v)
		}
		hs = append(hs, client.Header{Key: k, Value: []byte(val)})
	}
	return hs, nil
}

// readRecords calls emit for every line of in, split into key and value at
// sep when sep is set. It returns when in ends or ctx does (Ctrl-C): lines
// are read by a goroutine so that a terminal read cannot hold up the exit;
// that goroutine ends with in (at EOF, or with the process).
func readRecords(ctx context.Context, in io.Reader, sep string, hdrs []client.Header, emit func(client.Record) error) error {
	lines := make(chan string, 64)
	readErr := make(chan error, 1)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		for sc.Scan() {
			select {
			case lines <- strings.TrimSuffix(sc.Text(), "\r"):
			case <-quit:
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		if !ok {
			break
		}
		r := client.Record{Value: []byte(line), Headers: hdrs}
		if sep != "" {
			if k, v, ok := strings.Cut(line, sep); ok {
				r.Key, r.Value = []byte(k), []byte(v)
			}
		}
		if err := emit(r); err != nil {
			return err
		}
	}
	if err := <-readErr; err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("read input: a line is longer than %d bytes", maxLine)
		}
		return fmt.Errorf("read input: %w", err)
	}
	return nil
}

// producePrinter reports results in input order as they complete.
type producePrinter struct {
	w, errw  io.Writer
	verbose  bool
	json     bool
	queue    []*client.Future
	n        int
	failed   int
	firstErr error
}

func (pp *producePrinter) add(f *client.Future) {
	pp.queue = append(pp.queue, f)
	pp.drain(false)
}

// drain reports the completed futures at the head of the queue; with wait
// it reports all of them.
func (pp *producePrinter) drain(wait bool) {
	for len(pp.queue) > 0 {
		f := pp.queue[0]
		if !wait {
			select {
			case <-f.Done():
			default:
				return
			}
		}
		<-f.Done()
		pp.queue[0] = nil
		pp.queue = pp.queue[1:]
		r := f.Result()
		pp.n++
		if r.Err != nil {
			pp.failed++
			if pp.firstErr == nil {
				pp.firstErr = r.Err
			}
			if pp.verbose && pp.failed <= maxReportedFailures {
				fmt.Fprintf(pp.errw, "sluice: record %d: %v\n", pp.n, r.Err)
			}
			continue
		}
		switch {
		case pp.json && pp.verbose:
			fmt.Fprintf(pp.w, "{\"record\":%d,\"partition\":%d,\"offset\":%d}\n", pp.n, r.Partition, r.Offset)
		case pp.verbose:
			fmt.Fprintf(pp.w, "record %d: partition %d offset %d\n", pp.n, r.Partition, r.Offset)
		}
	}
}
