package testtool

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder captures what Need and Want do to a test.
type recorder struct {
	testing.TB
	skipped, failed, logged string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skipf(format string, a ...any)  { r.skipped = fmt.Sprintf(format, a...) }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }
func (r *recorder) Logf(format string, a ...any)   { r.logged = fmt.Sprintf(format, a...) }

func TestMissingToolSkipsLocallyAndFailsInCI(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir) // nothing on PATH
	tool := Tool{Names: []string{"no-such-tool"}, Install: "the no-such-tool package"}

	t.Setenv("CI", "")
	r := &recorder{TB: t}
	if p := Need(r, tool); p != "" || r.failed != "" || !strings.Contains(r.skipped, "install the no-such-tool package") {
		t.Fatalf("local: path %q skipped %q failed %q", p, r.skipped, r.failed)
	}
	r = &recorder{TB: t}
	if p := Want(r, tool, "the plugin views are not checked"); p != "" || r.failed != "" || r.skipped != "" || !strings.Contains(r.logged, "not checked") {
		t.Fatalf("local Want: path %q %+v", p, r)
	}

	for _, ci := range []string{"true", "1"} {
		t.Setenv("CI", ci)
		r = &recorder{TB: t}
		if Need(r, tool); r.skipped != "" || !strings.Contains(r.failed, "CI=true") {
			t.Fatalf("CI=%s Need: skipped %q failed %q", ci, r.skipped, r.failed)
		}
		r = &recorder{TB: t}
		if Want(r, tool, "x"); !strings.Contains(r.failed, "CI=true") {
			t.Fatalf("CI=%s Want: %+v", ci, r)
		}
	}

	// A tool that is there is found under its second name.
	bin := filepath.Join(dir, "second-name")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = &recorder{TB: t}
	if p := Need(r, Tool{Names: []string{"first-name", "second-name"}}); p != bin || r.failed != "" || r.skipped != "" {
		t.Fatalf("found %q (%+v), want %s", p, r, bin)
	}
}
