// Package buildinfo says which build of Sluice is running: the version
// stamped by the release build, else what the Go toolchain recorded
// (module version, VCS revision and time). The CLI prints it (`sluice
// version`), the API serves it (GET /v1/version) and the metrics export it
// (sluice_build_info).
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// version is set by the release build:
//
//	go build -ldflags "-X github.com/sluicehq/sluice/platform/buildinfo.version=v1.2.3"
//
// Empty in other builds, where Get falls back on debug.ReadBuildInfo.
var version string

// Info describes a build. Fields the build did not record are empty.
type Info struct {
	// Version is the release version ("v1.2.3"), the module version of a
	// `go install ...@version`, or "devel".
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from; Modified says
	// the work tree had uncommitted changes.
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// Time is the commit time (RFC 3339), as the toolchain records it.
	Time      string `json:"time,omitempty"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

var (
	once sync.Once
	info Info
)

// Get returns the running binary's build information.
func Get() Info {
	once.Do(func() { info = read(version, debug.ReadBuildInfo) })
	return info
}

// read builds the Info from the stamped version and the toolchain's
// record (a parameter for tests).
func read(stamped string, readBuild func() (*debug.BuildInfo, bool)) Info {
	in := Info{Version: stamped, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	bi, ok := readBuild()
	if ok {
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if in.Version == "" {
		in.Version = "devel"
	}
	return in
}

// String is one line for people: "v1.2.3 (abc1234, go1.25.0 linux/amd64)".
func (in Info) String() string {
	s := in.Version + " ("
	if in.Revision != "" {
		rev := in.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += rev
		if in.Modified {
			s += "+modified"
		}
		s += ", "
	}
	return s + in.GoVersion + " " + in.OS + "/" + in.Arch + ")"
}
