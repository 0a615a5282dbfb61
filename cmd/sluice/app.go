package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/urfave/cli/v2"
)

// defaultServer is where the CLI looks for a node: `sluice dev`'s default
// HTTP address.
const defaultServer = "http://127.0.0.1:8080"

// defaultRetryTimeout is --retry-timeout's default: long enough to ride
// out a leader election, short enough that a wrong --server fails soon.
const defaultRetryTimeout = 15 * time.Second

// Output formats of --output.
const (
	outputTable = "table"
	outputJSON  = "json"
)

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "sluice",
		Usage: "a Kafka-style event streaming platform with WebAssembly plugins",
		Description: "One binary is server, admin tool, producer, consumer and benchmark.\n\n" +
			"Start a node:       sluice dev\n" +
			"Create a topic:     sluice topic create orders --partitions 3\n" +
			"Produce lines:      echo 'user-1:hello' | sluice produce orders --key-separator :\n" +
			"Read them back:     sluice consume orders --max 1\n\n" +
			"Commands other than server and dev talk to the node named by --server.",
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "server",
				Aliases: []string{"s"},
				Usage:   "base URL (or host:port) of any node's HTTP API",
				EnvVars: []string{"SLUICE_SERVER"},
				Value:   defaultServer,
			},
			&cli.StringFlag{
				Name:    "token",
				Usage:   "API `TOKEN` sent as Authorization: Bearer (sluice user create prints one)",
				EnvVars: []string{"SLUICE_TOKEN"},
			},
			&cli.StringFlag{Name: "ca-file", Usage: "PEM `FILE` of CAs to trust for an https server", EnvVars: []string{"SLUICE_CA_FILE"}},
			&cli.StringFlag{Name: "cert-file", Usage: "PEM client certificate `FILE` (mutual TLS)", EnvVars: []string{"SLUICE_CERT_FILE"}},
			&cli.StringFlag{Name: "key-file", Usage: "PEM key `FILE` of --cert-file", EnvVars: []string{"SLUICE_KEY_FILE"}},
			&cli.StringFlag{
				Name:    "output",
				Aliases: []string{"o"},
				Usage:   "output format: table (for people) or json (for scripts)",
				EnvVars: []string{"SLUICE_OUTPUT"},
				Value:   outputTable,
			},
			&cli.DurationFlag{
				Name:    "retry-timeout",
				Usage:   "how long a command retries a node that is unreachable or not ready (not leader, no controller) before it fails; 0: no retries",
				EnvVars: []string{"SLUICE_RETRY_TIMEOUT"},
				Value:   defaultRetryTimeout,
			},
		},
		Before: func(c *cli.Context) error {
			switch o := c.String("output"); o {
			case outputTable, outputJSON:
				return nil
			default:
				return usagef("--output %q: want table or json", o)
			}
		},
		Commands: []*cli.Command{
			serverCommand(),
			devCommand(),
			certCommand(),
			clusterCommand(),
			topicCommand(),
			produceCommand(),
			consumeCommand(),
			groupCommand(),
			pluginCommand(),
			partitionCommand(),
			userCommand(),
			aclCommand(),
			benchCommand(),
			brokerCommand(),
			controllerCommand(),
			versionCommand(),
			completionCommand(),
		},
		OnUsageError:    usageError,
		ExitErrHandler:  func(*cli.Context, error) {}, // run prints the error
		HideHelpCommand: true,
		// Values such as --config k=a,b must not be split at commas.
		DisableSliceFlagSeparator: true,
		EnableBashCompletion:      true, // for `sluice completion`
		UseShortOptionHandling:    false,
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(c.App.ErrWriter, "sluice: unknown command %q (see sluice --help)\n", name)
		},
	}
	setUsageErrors(app.Commands)
	requireFlags(app.Commands)
	return app
}

func usageError(c *cli.Context, err error, _ bool) error {
	return usagef("%s (see %s --help)", err, commandPath(c))
}

// commandPath is "sluice" followed by the command being run, for help hints.
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != l.App.Name {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	return strings.Join(append([]string{"sluice"}, names...), " ")
}

// commandName is the command being run without "sluice", as an error's
// first part ("topic create").
func commandName(c *cli.Context) string {
	return strings.TrimPrefix(commandPath(c), "sluice ")
}

func setUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = usageError
		}
		// No "help" (alias "h") subcommand: in a leaf command cli would
		// take a topic named help for it. resolveCommand reads "help".
		c.HideHelpCommand = true
		setUsageErrors(c.Subcommands)
	}
}

// newClient builds the API client from the global flags.
func newClient(c *cli.Context) (*client.Client, error) {
	tc, err := client.TLSFiles{CAFile: c.String("ca-file"), CertFile: c.String("cert-file"), KeyFile: c.String("key-file")}.Config()
	if err != nil {
		return nil, err
	}
	opts := []client.Option{client.WithDeliveryTimeout(c.Duration("retry-timeout"))}
	if tc != nil {
		opts = append(opts, client.WithTLSConfig(tc))
	}
	if tok := c.String("token"); tok != "" {
		opts = append(opts, client.WithToken(tok))
	}
	cl, err := client.New(c.String("server"), opts...)
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// wantJSON reports whether --output json was given.
func wantJSON(c *cli.Context) bool { return c.String("output") == outputJSON }

// oneArg returns the single positional argument called name, or an error.
func oneArg(c *cli.Context, name string) (string, error) {
	switch c.NArg() {
	case 1:
		return c.Args().First(), nil
	case 0:
		return "", usagef("%s: missing %s (see %s --help)", commandName(c), name, commandPath(c))
	default:
		return "", usagef("%s: want one %s, got %d arguments: %s", commandName(c), name, c.NArg(), strings.Join(c.Args().Slice(), " "))
	}
}

// describeOne runs a "describe NAME" command: it asks the node with get and
// prints the answer as JSON under --output json, else with table.
func describeOne[T any](c *cli.Context, arg string, get func(*client.Client, context.Context, string) (T, error), table func(T) error) error {
	name, err := oneArg(c, arg)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	v, err := get(cl, c.Context, name)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c.App.Writer, v)
	}
	return table(v)
}
