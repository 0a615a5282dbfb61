package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

// pluginCommand is `sluice plugin`: the Wasm plugin registry (upload, list,
// describe, delete) and `plugin test`, which runs a module locally.
func pluginCommand() *cli.Command {
	paramFlag := &cli.StringSliceFlag{Name: "param", Aliases: []string{"p"}, Usage: "plugin parameter `KEY=VALUE` (repeatable)"}
	return &cli.Command{
		Name:  "plugin",
		Usage: "upload, list, describe, delete and test WebAssembly plugins",
		Description: "Plugins are Wasm modules (docs/plugin-abi.md): partitioners choose the partition of\n" +
			"each produced record, processors filter, rewrite or expand records for a consumer.\n\n" +
			"   sluice plugin test by-field.wasm --kind partitioner --partitions 6 --param field=customer_id < orders.jsonl\n" +
			"   sluice plugin upload by-field.wasm --name by-customer --kind partitioner --param field=customer_id\n" +
			"   sluice topic create orders --partitions 6 --partitioner wasm:by-customer\n" +
			"   sluice consume orders --processor redact --param redact=email",
		Subcommands: []*cli.Command{
			{
				Name:      "upload",
				Usage:     "upload a module as the next version of a plugin",
				ArgsUsage: "FILE.wasm",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "plugin `NAME`", DefaultText: "the file name without .wasm"},
					&cli.StringFlag{Name: "kind", Aliases: []string{"k"}, Required: true, Usage: "partitioner or processor"},
					paramFlag,
					&cli.UintFlag{Name: "memory-pages", Usage: "memory limit per instance in 64 KiB `PAGES`", DefaultText: "1024 (64 MiB)"},
					&cli.Int64Flag{Name: "timeout-ms", Usage: "time limit per call in `MS`", DefaultText: "100"},
					&cli.Int64Flag{Name: "max-output-bytes", Usage: "output limit per call in `BYTES`", DefaultText: "16 MiB"},
				},
				Action: pluginUpload,
			},
			{Name: "list", Aliases: []string{"ls"}, Usage: "list plugins", Action: pluginList},
			{Name: "describe", Usage: "show a plugin's versions, limits and users", ArgsUsage: "NAME", Action: pluginDescribe},
			{
				Name:        "delete",
				Usage:       "delete a plugin (every version) or one version",
				ArgsUsage:   "NAME[@N]",
				Description: "Refused while a topic's partitioner uses the plugin (version).",
				Action:      pluginDelete,
			},
			pluginLogsCommand(),
			pluginTestCommand(),
		},
	}
}

func pluginUpload(c *cli.Context) error {
	file, err := oneArg(c, "FILE.wasm")
	if err != nil {
		return err
	}
	params, err := parseKV("param", c.StringSlice("param"))
	if err != nil {
		return err
	}
	name := c.String("name")
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(file), ".wasm")
	}
	if err := wire.ValidatePluginName(name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	kind := c.String("kind")
	if kind != wire.KindPartitioner && kind != wire.KindProcessor {
		return usagef("--kind %q: want partitioner or processor", kind)
	}
	module, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	v, err := cl.UploadPlugin(c.Context, name, module, client.UploadOptions{
		Kind:           kind,
		Params:         params,
		MemoryPages:    uint32(c.Uint("memory-pages")),
		TimeoutMs:      c.Int64("timeout-ms"),
		MaxOutputBytes: c.Int64("max-output-bytes"),
	})
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, v)
	}
	fmt.Fprintf(c.App.Writer, "uploaded %s: %s, %d bytes, sha256 %s\n", v.Ref(), v.Kind, v.Size, v.SHA256)
	return nil
}

func pluginList(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("plugin list: unexpected arguments: %s", strings.Join(c.Args().Slice(), " "))
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	ps, err := cl.ListPlugins(c.Context)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, wire.PluginList{Plugins: ps})
	}
	t := newTable(c.App.Writer, "NAME", "KIND", "LATEST", "VERSIONS", "SIZE", "USED-BY")
	for _, p := range ps {
		vs := make([]string, len(p.Versions))
		size := "-"
		for i, v := range p.Versions {
			vs[i] = itoa(v.Version)
			if v.Version == p.Latest {
				size = itoa(v.Size)
			}
		}
		t.row(p.Name, p.Kind, itoa(p.Latest), strings.Join(vs, ","), size, dash(strings.Join(p.UsedBy, ",")))
	}
	return t.flush()
}

func pluginDescribe(c *cli.Context) error {
	return describeOne(c, "plugin NAME", (*client.Client).DescribePlugin, func(p *wire.Plugin) error {
		w := c.App.Writer
		h := newTable(w)
		h.row("plugin", p.Name)
		h.row("kind", p.Kind)
		h.row("latest", itoa(p.Latest))
		h.row("used by", dash(strings.Join(p.UsedBy, ", ")))
		if err := h.flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		t := newTable(w, "VERSION", "SIZE", "SHA256", "CREATED", "MEMORY-PAGES", "TIMEOUT-MS", "MAX-OUTPUT", "PARAMS", "EXPORTS")
		for _, v := range p.Versions {
			created := time.UnixMilli(v.CreatedAt).UTC().Format(time.RFC3339)
			t.row(itoa(v.Version), itoa(v.Size), v.SHA256, created, itoa(int64(v.Limits.MemoryPages)), itoa(v.Limits.TimeoutMs),
				itoa(v.Limits.MaxOutputBytes), kvString(v.Params), dash(strings.Join(v.Exports, ",")))
		}
		return t.flush()
	})
}

func pluginDelete(c *cli.Context) error {
	ref, err := oneArg(c, "plugin NAME[@N]")
	if err != nil {
		return err
	}
	name, version, err := wire.ParsePluginRef(ref)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.DeletePlugin(c.Context, name, version); err != nil {
		return err
	}
	if version == 0 {
		fmt.Fprintf(c.App.Writer, "deleted plugin %s (every version)\n", name)
	} else {
		fmt.Fprintf(c.App.Writer, "deleted plugin %s\n", ref)
	}
	return nil
}
