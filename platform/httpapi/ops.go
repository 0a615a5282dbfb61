package httpapi

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/platform/buildinfo"
	"github.com/sluicehq/sluice/sdk/wire"
)

// registerOps adds the routes and series that tell operators what runs:
// GET /v1/version and the sluice_build_info metric.
func (s *Server) registerOps() error {
	s.Handle(wire.RouteVersion, http.HandlerFunc(s.version))
	bi := buildinfo.Get()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_build_info",
		Help: "Always 1; the labels name the running build (version, VCS revision, Go version).",
		ConstLabels: prometheus.Labels{
			"version": bi.Version, "revision": bi.Revision, "go_version": bi.GoVersion,
		},
	})
	g.Set(1)
	if err := s.cfg.Registry.Register(g); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if !errors.As(err, &dup) {
			return err
		}
	}
	return nil
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	bi := buildinfo.Get()
	writeJSON(w, http.StatusOK, wire.BuildVersion{
		Version: bi.Version, Revision: bi.Revision, Modified: bi.Modified, Time: bi.Time,
		GoVersion: bi.GoVersion, OS: bi.OS, Arch: bi.Arch, NodeID: s.cfg.NodeID,
	})
}
