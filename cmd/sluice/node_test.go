package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
)

// startNode starts a real one-node cluster (both roles) on t.TempDir() and
// free ports, and returns its base URL. It stops with the test.
func startNode(t *testing.T) string {
	t.Helper()
	return testnode.Start(t).URL()
}

// cliResult is what one in-process CLI run produced.
type cliResult struct {
	stdout, stderr string
	code           int
}

// sluice runs the CLI in-process against server with stdin and args.
func sluice(t *testing.T, server, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	full := append([]string{"sluice", "--server", server}, args...)
	code := run(ctx, full, strings.NewReader(stdin), &out, &errb)
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

// ok runs the CLI and fails the test unless it exits 0.
func ok(t *testing.T, server, stdin string, args ...string) cliResult {
	t.Helper()
	r := sluice(t, server, stdin, args...)
	if r.code != 0 {
		t.Fatalf("sluice %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}
