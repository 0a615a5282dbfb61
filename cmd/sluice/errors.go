package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sluicehq/sluice/sdk/client"
)

// errInterrupted marks a run stopped by Ctrl-C (or SIGTERM) after it
// printed what it had measured or read so far. The process exits 130, as
// a shell reports a command ended by SIGINT.
var errInterrupted = errors.New("interrupted")

// Exit codes of run.
const (
	exitOK          = 0
	exitError       = 1
	exitInterrupted = 130
)

// Codes of the JSON error that are not API codes (those come from the
// server unchanged: unknown_topic, not_leader, ...).
const (
	codeUsage       = "usage"       // the CLI was called wrongly
	codeInterrupted = "interrupted" // Ctrl-C
	codeError       = "error"       // anything else found by the CLI itself (a file it cannot read, ...)
)

// errorCode is the code of err in a JSON error: the API code when the
// server refused the call, "unavailable" when no node answered.
func errorCode(err error) string {
	var ae *client.APIError
	switch {
	case errors.As(err, &ae):
		return string(ae.Code)
	case errors.Is(err, client.ErrUnavailable):
		return "unavailable"
	case isUsage(err):
		return codeUsage
	case errors.Is(err, errInterrupted):
		return codeInterrupted
	}
	return codeError
}

// errorMessage is err as one line without repeated parts.
func errorMessage(err error) string {
	return dedupeMessage(strings.ReplaceAll(err.Error(), "\n", " "))
}

// printError writes err to w: one line "sluice: <reason>", or under
// --output json one JSON object {"error":{"code":...,"message":...}}.
func printError(w io.Writer, err error, asJSON bool) {
	msg := errorMessage(err)
	if !asJSON {
		fmt.Fprintf(w, "sluice: %s\n", msg)
		return
	}
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	b, _ := json.Marshal(struct {
		Error body `json:"error"`
	}{body{Code: errorCode(err), Message: msg}})
	fmt.Fprintf(w, "%s\n", b)
}

// exitCode is the process exit code for err.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	}
	return exitError
}

// outputFromArgs is the --output value given in args (or SLUICE_OUTPUT),
// read without the flag parser so that an error found while parsing is
// still printed the way the caller asked.
func outputFromArgs(args []string) string {
	out := os.Getenv("SLUICE_OUTPUT")
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		switch {
		case a == "--output" || a == "-o" || a == "-output":
			if i+1 < len(args) {
				out = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--output="):
			out = strings.TrimPrefix(a, "--output=")
		case strings.HasPrefix(a, "-o="):
			out = strings.TrimPrefix(a, "-o=")
		}
	}
	return out
}
