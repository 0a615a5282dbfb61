package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sluicehq/sluice/plugins"
	"github.com/urfave/cli/v2"
)

// pluginTestCommand is `sluice plugin test`: a plugin author's inner loop.
// It runs a module on records read from stdin, with no server.
func pluginTestCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run a module locally on records from stdin (one per line) and print what it decided",
		ArgsUsage: "FILE.wasm",
		Description: "No server is needed. Each input line is a record (with --key-separator, the text\n" +
			"before the first separator is its key); record i gets offset i. Output, one line each:\n\n" +
			"   partitioner:  OFFSET <TAB> PARTITION <TAB> KEY <TAB> VALUE\n" +
			"   processor:    SOURCE_OFFSET <TAB> KEY <TAB> VALUE\n\n" +
			"or JSON lines with --output json, with each record's timestamp and headers. With --jsonl\n" +
			"each input line is a JSON record with key, value, timestamp, offset and headers.\n" +
			"A summary goes to stderr; the plugin's stdout/stderr lines too.\n\n" +
			"   printf '{\"customer_id\":\"c-1\"}\\n' | sluice plugin test by-field.wasm --kind partitioner --partitions 6 --param field=customer_id",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kind", Aliases: []string{"k"}, Usage: "partitioner or processor", DefaultText: "detected from the module's exports"},
			&cli.IntFlag{Name: "partitions", Value: 1, Usage: "partition count given to a partitioner"},
			&cli.IntFlag{Name: "partition", Usage: "partition a processor is told the records come from"},
			&cli.StringSliceFlag{Name: "param", Aliases: []string{"p"}, Usage: "plugin parameter `KEY=VALUE` (repeatable)"},
			&cli.StringFlag{Name: "key-separator", Aliases: []string{"K"}, Usage: "split each line into key and value at the first `SEP`"},
			&cli.BoolFlag{Name: "jsonl", Usage: "each input line is a JSON record: {\"key\",\"value\",\"timestamp\" (ms),\"offset\",\"headers\":[{\"key\",\"value\"}]}, all optional"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "read records from `FILE` instead of stdin"},
			&cli.IntFlag{Name: "batch-size", Value: 1000, Usage: "records per call into the plugin"},
			&cli.UintFlag{Name: "memory-pages", Usage: "memory limit in 64 KiB `PAGES`", DefaultText: "1024 (64 MiB)"},
			&cli.Int64Flag{Name: "timeout-ms", Usage: "time limit per call in `MS`", DefaultText: "100"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no summary on stderr"},
		},
		Action: pluginTest,
	}
}

func pluginTest(c *cli.Context) error {
	file, err := oneArg(c, "FILE.wasm")
	if err != nil {
		return err
	}
	var kind plugins.Kind
	if k := c.String("kind"); k != "" {
		if kind, err = plugins.ParseKind(k); err != nil {
			return fmt.Errorf("--kind: %w", err)
		}
	}
	params, err := parseKV("param", c.StringSlice("param"))
	if err != nil {
		return err
	}
	if c.Int("partitions") < 1 {
		return fmt.Errorf("--partitions %d: need at least 1", c.Int("partitions"))
	}
	if c.Int("batch-size") < 1 {
		return fmt.Errorf("--batch-size %d: need at least 1", c.Int("batch-size"))
	}
	module, err := os.ReadFile(file)
	if err != nil {
		return err
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
	// The plugin's stdout/stderr lines go to stderr, apart from the results.
	logger := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelInfo}))
	start := time.Now()
	st, err := plugins.RunLocal(c.Context, plugins.LocalRun{
		Wasm:         module,
		Kind:         kind,
		Partitions:   c.Int("partitions"),
		Partition:    int32(c.Int("partition")),
		Params:       params,
		Input:        in,
		KeySeparator: c.String("key-separator"),
		InputJSON:    c.Bool("jsonl"),
		Output:       c.App.Writer,
		JSON:         wantJSON(c),
		BatchSize:    c.Int("batch-size"),
		Limits: plugins.Limits{
			MemoryPages: uint32(c.Uint("memory-pages")),
			CallTimeout: time.Duration(c.Int64("timeout-ms")) * time.Millisecond,
		},
		Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("plugin test %s: %w", file, err)
	}
	if !c.Bool("quiet") {
		fmt.Fprintf(c.App.ErrWriter, "%d records in, %d out, %d calls, %v\n", st.Records, st.Outputs, st.Batches, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
