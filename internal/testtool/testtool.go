// Package testtool finds the external programs some tests need: wat2wasm
// (to assemble WAT plugins) and Chromium (to run the console and the
// WebSocket example in a browser).
//
// Locally, a test whose tool is missing is skipped with a message naming
// what to install. With CI=true (as CI systems set it, and .ci/run runs
// under) it fails instead: a green CI run that skipped the WAT and browser
// tests would prove nothing.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Tool is an external program, under any of its names.
type Tool struct {
	// Names are tried in order on PATH.
	Names []string
	// Install says how to get it.
	Install string
}

// The tools Sluice's tests use.
var (
	WAT2Wasm = Tool{Names: []string{"wat2wasm"}, Install: "Debian's wabt: apt-get install wabt (.ci/run installs it)"}
	Chromium = Tool{Names: []string{"chromium", "chromium-browser", "google-chrome"}, Install: "Debian's chromium: apt-get install chromium (.ci/run installs it)"}
)

// InCI reports whether the tests run under CI (environment CI set to a
// true value: "true", "1", ...).
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// Need returns the path of tool. When it is missing the test is skipped
// (saying what to install), or failed under CI.
func Need(t testing.TB, tool Tool) string {
	t.Helper()
	path, ok := find(tool)
	if ok {
		return path
	}
	if InCI() {
		t.Fatalf("%s: CI=true and the test needs it; install %s", missing(tool), tool.Install)
		return ""
	}
	t.Skipf("%s: skipping; install %s", missing(tool), tool.Install)
	return ""
}

// Want is Need for a test that can do part of its work without tool: it
// returns "" and logs what is not checked when the tool is missing
// locally, and fails the test under CI.
func Want(t testing.TB, tool Tool, without string) string {
	t.Helper()
	path, ok := find(tool)
	if ok {
		return path
	}
	if InCI() {
		t.Fatalf("%s: CI=true and the test needs it; install %s", missing(tool), tool.Install)
		return ""
	}
	t.Logf("%s: %s; install %s", missing(tool), without, tool.Install)
	return ""
}

func find(tool Tool) (string, bool) {
	for _, name := range tool.Names {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

func missing(tool Tool) string {
	return strings.Join(tool.Names, " / ") + " not found on PATH"
}

// GoCommand is the go command to build test fixtures (Wasm examples)
// with: the toolchain under $GOROOT (go test sets it), else the go on
// PATH, else plain "go".
func GoCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}
