// Command sluice is Sluice in one binary: server (`sluice server`, `sluice
// dev`), command-line admin (`topic`, `cluster`, `plugin`, `group`),
// producer, consumer and benchmark. It is the CLI and nothing else: the node
// lives in package platform, the HTTP client in sdk/client.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal asks for a clean stop; after it the default
		// behaviour returns, so a second Ctrl-C ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI with the given arguments and streams and returns the
// process exit code: 0 on success, 1 on any error, which is printed to
// stderr as one line "sluice: <reason>".
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	if err := app.RunContext(ctx, interleaveArgs(app, args)); err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}
