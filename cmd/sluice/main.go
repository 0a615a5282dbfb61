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
// process exit code: 0 on success, 130 when Ctrl-C stopped a run that then
// printed what it had, 1 on any other error. The error is printed to stderr
// as one line "sluice: <reason>", or with --output json as
// {"error":{"code":"...","message":"..."}}.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	resolved, err := args, error(nil)
	if completing(args) {
		setCompletion(app, args)
	} else {
		resolved, err = resolveCommand(app, interleaveArgs(app, args))
	}
	if err == nil {
		err = app.RunContext(ctx, resolved)
	}
	if err != nil {
		printError(stderr, err, outputFromArgs(args) == outputJSON)
	}
	return exitCode(err)
}
