package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

func consumeCommand() *cli.Command {
	return &cli.Command{
		Name:      "consume",
		Usage:     "print the records of a topic",
		ArgsUsage: "TOPIC",
		Description: "Reads every partition (or --partition P) from --from and prints one record\n" +
			"per line: the value (text format; non-printable bytes escaped unless --raw), or a JSON object with partition, offset,\n" +
			"timestamp, key, value and headers (json format). Exits after --max records,\n" +
			"after --idle-timeout without records, or follows the topic until Ctrl-C.\n" +
			"Within a partition records arrive in offset order.\n\n" +
			"   sluice consume orders --from earliest --max 10 --format json\n" +
			"   sluice consume orders --processor redact@2 --param fields=email",
		Flags: []cli.Flag{
			&cli.IntSliceFlag{Name: "partition", Aliases: []string{"p"}, Usage: "read only partition `P` (repeatable; default all)"},
			&cli.StringFlag{Name: "from", Value: "earliest", Usage: "start at earliest, latest, an OFFSET, or @TIMESTAMP (ms since the epoch or RFC 3339)"},
			&cli.IntFlag{Name: "max", Aliases: []string{"n"}, Usage: "exit after `N` records (0: follow)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text (the value; key too with --key-separator), json (one object per line; the default with --output json), or a template such as '%p:%o %k=%v\\n' (%k key, %v value, %p partition, %o offset, %t timestamp ms, %h headers, %K/%V key/value length, %% a percent sign; \\n \\t escapes)"},
			&cli.StringFlag{Name: "until", Usage: "end: read every partition up to its high watermark as of the start, then exit (as kcat -e)"},
			&cli.StringSliceFlag{Name: "offset", Usage: "start partition P at offset N: `P=N` (repeatable or P=N,P=N; overrides --from for P)"},
			&cli.StringFlag{Name: "key-separator", Aliases: []string{"K"}, Usage: "text format: print key, `SEP`, value for records with a key"},
			&cli.BoolFlag{Name: "raw", Usage: "text format: print keys and values byte for byte (default: control characters and invalid UTF-8 escaped as \\n, \\xNN)"},
			&cli.StringFlag{Name: "processor", Usage: "run processor plugin `NAME[@N]` on the broker"},
			&cli.StringSliceFlag{Name: "param", Usage: "processor parameter `KEY=VALUE` (repeatable)"},
			&cli.DurationFlag{Name: "idle-timeout", Usage: "exit when no record arrives for this long (0: never)"},
			&cli.StringFlag{Name: "group", Aliases: []string{"g"}, Usage: "consume as a member of consumer group `G` (over WebSocket; --from applies where G has no committed offset; commits every second and on exit)"},
		},
		Action: consume,
	}
}

func consume(c *cli.Context) error {
	topic, err := oneArg(c, "TOPIC")
	if err != nil {
		return err
	}
	from, err := client.ParsePosition(c.String("from"))
	if err != nil {
		return err
	}
	format := c.String("format")
	if !c.IsSet("format") && wantJSON(c) {
		format = "json" // --output json without --format: JSON lines
	}
	var tmpl []fmtPart
	if format != "text" && format != "json" {
		if tmpl, err = parseFormat(format); err != nil {
			return err
		}
	}
	untilEnd := false
	switch u := c.String("until"); u {
	case "":
	case "end":
		untilEnd = true
	default:
		return usagef("--until %q: want end", u)
	}
	offsets, err := parseOffsets(c.StringSlice("offset"))
	if err != nil {
		return err
	}
	params, err := parseKV("param", c.StringSlice("param"))
	if err != nil {
		return err
	}
	if params != nil && c.String("processor") == "" {
		return usagef("--param needs --processor")
	}
	var parts []int32
	for _, p := range c.IntSlice("partition") {
		parts = append(parts, int32(p))
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	pr := recordPrinter{w: c.App.Writer, json: format == "json", sep: c.String("key-separator"), raw: c.Bool("raw"), tmpl: tmpl}
	if g := c.String("group"); g != "" {
		switch {
		case len(parts) > 0:
			return usagef("--partition and --group exclude each other: the group assigns partitions")
		case untilEnd:
			return usagef("--until and --group exclude each other: a member's partitions change with the group")
		case len(offsets) > 0:
			return usagef("--offset with --group: set a group's offsets with sluice group reset-offsets")
		}
		return consumeGroup(c, cl, topic, g, from, params, &pr)
	}
	for p := range offsets {
		if len(parts) > 0 && !slices.Contains(parts, p) {
			parts = append(parts, p) // --offset names a partition to read
		}
	}
	if len(offsets) > 0 && len(parts) == 0 {
		// Every partition, and the ones --offset names must exist.
		tp, err := cl.DescribeTopic(c.Context, topic)
		if err != nil {
			return err
		}
		for p := range offsets {
			if p >= tp.PartitionCount {
				return fmt.Errorf("consume %s: --offset partition %d: %w (the topic has %d)", topic, p, client.ErrUnknownPartition, tp.PartitionCount)
			}
		}
	}
	var ends map[int32]int64
	if untilEnd {
		if parts, ends, err = endOffsets(c.Context, cl, topic, parts); err != nil {
			return err
		}
	}
	cs, err := cl.NewConsumer(c.Context, client.ConsumerConfig{
		Topic:      topic,
		Partitions: parts,
		From:       from,
		Offsets:    offsets,
		Processor:  c.String("processor"),
		Params:     params,
	})
	if err != nil {
		return err
	}
	defer cs.Close()
	var done untilTracker
	if untilEnd {
		done = newUntilTracker(ends, cs.Positions())
	}

	max, idle := c.Int("max"), c.Duration("idle-timeout")
	n := 0
	for (max == 0 || n < max) && !done.finished() {
		ctx, cancel := c.Context, context.CancelFunc(func() {})
		if idle > 0 {
			ctx, cancel = context.WithTimeout(c.Context, idle)
		}
		fb, err := cs.Poll(ctx)
		cancel()
		switch {
		case err == nil:
		case c.Context.Err() != nil:
			return nil // Ctrl-C ends following: not an error
		case errors.Is(err, context.DeadlineExceeded) && idle > 0:
			return nil
		default:
			return err
		}
		for _, r := range fb.Records {
			if max > 0 && n >= max {
				break
			}
			if !done.wants(r.Partition, r.Offset) {
				continue
			}
			if err := pr.print(&r); err != nil {
				return err
			}
			n++
		}
		done.advance(fb.Partition, fb.NextOffset)
	}
	return nil
}

// recordPrinter writes one record per line.
type recordPrinter struct {
	w    io.Writer
	json bool
	sep  string
	raw  bool      // text format: bytes unchanged (else escaped, see appendSafe)
	tmpl []fmtPart // --format template, if given
	buf  []byte
}

func (p *recordPrinter) print(r *client.Record) error {
	if p.json {
		b, err := json.Marshal(wire.NewFetchRecord(*r, false))
		if err != nil {
			return fmt.Errorf("encode record: %w", err)
		}
		b = append(b, '\n')
		_, err = p.w.Write(b)
		return err
	}
	b := p.buf[:0]
	if p.tmpl != nil {
		b = p.template(b, r)
		p.buf = b
		_, err := p.w.Write(b)
		return err
	}
	if p.sep != "" && r.Key != nil {
		b = p.text(b, r.Key)
		b = append(b, p.sep...)
	}
	b = p.text(b, r.Value)
	b = append(b, '\n')
	p.buf = b
	_, err := p.w.Write(b)
	return err
}

func (p *recordPrinter) text(dst, v []byte) []byte {
	if p.raw {
		return append(dst, v...)
	}
	return appendSafe(dst, v)
}
