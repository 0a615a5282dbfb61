package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/urfave/cli/v2"
)

// defaultServer is where the CLI looks for a node: `sluice dev`'s default
// HTTP address.
const defaultServer = "http://127.0.0.1:8080"

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
		},
		Before: func(c *cli.Context) error {
			switch o := c.String("output"); o {
			case outputTable, outputJSON:
				return nil
			default:
				return fmt.Errorf("--output %q: want table or json", o)
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
		},
		OnUsageError:    usageError,
		ExitErrHandler:  func(*cli.Context, error) {}, // run prints the error
		HideHelpCommand: true,
		// Values such as --config k=a,b must not be split at commas.
		DisableSliceFlagSeparator: true,
		EnableBashCompletion:      false,
		UseShortOptionHandling:    false,
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(c.App.ErrWriter, "sluice: unknown command %q (see sluice --help)\n", name)
		},
	}
	setUsageErrors(app.Commands)
	return app
}

func usageError(_ *cli.Context, err error, _ bool) error {
	return fmt.Errorf("%w (see --help)", err)
}

func setUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = usageError
		}
		setUsageErrors(c.Subcommands)
	}
}

// printError writes err as one line.
func printError(w io.Writer, err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(w, "sluice: %s\n", msg)
}

// newClient builds the API client from the global flags.
func newClient(c *cli.Context) (*client.Client, error) {
	tc, err := client.TLSFiles{CAFile: c.String("ca-file"), CertFile: c.String("cert-file"), KeyFile: c.String("key-file")}.Config()
	if err != nil {
		return nil, err
	}
	var opts []client.Option
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
		return "", fmt.Errorf("%s: missing %s (see --help)", c.Command.FullName(), name)
	default:
		return "", fmt.Errorf("%s: want one %s, got %d arguments: %s", c.Command.FullName(), name, c.NArg(), strings.Join(c.Args().Slice(), " "))
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
