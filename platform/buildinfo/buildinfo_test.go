package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	rec := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Main:      debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := func() (*debug.BuildInfo, bool) { return rec, true }
	cases := []struct {
		name, stamped, main, want string
	}{
		{"stamped wins", "v1.2.3", "v0.9.0", "v1.2.3"},
		{"go install @version", "", "v0.9.0", "v0.9.0"},
		{"local build", "", "(devel)", "devel"},
	}
	for _, c := range cases {
		rec.Main.Version = c.main
		in := read(c.stamped, got)
		if in.Version != c.want || in.Revision != "0123456789abcdef0123" || !in.Modified || in.Time != "2026-12-01T10:00:00Z" || in.GoVersion != "go1.99.1" {
			t.Errorf("%s: %+v", c.name, in)
		}
	}
	in := read("", func() (*debug.BuildInfo, bool) { return nil, false })
	if in.Version != "devel" || in.Revision != "" || in.OS == "" {
		t.Errorf("no build info: %+v", in)
	}
	if s := read("v1.2.3", got).String(); !strings.HasPrefix(s, "v1.2.3 (0123456789ab+modified, go1.99.1 ") {
		t.Errorf("String = %q", s)
	}
	if Get().GoVersion == "" {
		t.Error("Get: no Go version")
	}
}
