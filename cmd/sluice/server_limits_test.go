package main

import (
	"testing"

	"github.com/sluicehq/sluice/platform"
)

func TestServerLimitFlags(t *testing.T) {
	s, err := settingsFor(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.MaxReplicas != 0 || s.cfg.FDReserve != platform.DefaultFDReserve {
		t.Fatalf("defaults: max replicas %d, fd reserve %d", s.cfg.MaxReplicas, s.cfg.FDReserve)
	}
	s, err = settingsFor(t, map[string]string{"SLUICE_FD_RESERVE": "64"}, "--max-replicas", "500")
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.MaxReplicas != 500 || s.cfg.FDReserve != 64 {
		t.Fatalf("max replicas %d, fd reserve %d", s.cfg.MaxReplicas, s.cfg.FDReserve)
	}
}
