package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/platform"
)

// TestServerClusterName: --cluster-name defaults to "sluice" and comes
// from a flag, SLUICE_CLUSTER_NAME or the config file's "cluster-name".
func TestServerClusterName(t *testing.T) {
	s, err := settingsFor(t, nil)
	if err != nil || s.cfg.ClusterName != platform.DefaultClusterName {
		t.Fatalf("default: %q, %v; want %q", s.cfg.ClusterName, err, platform.DefaultClusterName)
	}
	file := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(file, []byte(`{"cluster_name": "from-file"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--config", file}, "from-file"},
		{map[string]string{"SLUICE_CLUSTER_NAME": "from-env"}, []string{"--config", file}, "from-env"},
		{map[string]string{"SLUICE_CLUSTER_NAME": "from-env"}, []string{"--cluster-name", "from-flag"}, "from-flag"},
	} {
		s, err := settingsFor(t, tc.env, tc.args...)
		if err != nil || s.cfg.ClusterName != tc.want {
			t.Errorf("%v %v: %q, %v; want %q", tc.env, tc.args, s.cfg.ClusterName, err, tc.want)
		}
	}
}
