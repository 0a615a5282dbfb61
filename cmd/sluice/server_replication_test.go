package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/platform"
)

// --replication-protocol reaches platform.Config from the flag, the
// environment and a config file; the default is the stream (Config's
// zero value).
func TestServerReplicationProtocolSetting(t *testing.T) {
	s, err := settingsFor(t, nil)
	if err != nil || (s.cfg.ReplicationProtocol != "" && s.cfg.ReplicationProtocol != platform.ReplicationStream) {
		t.Fatalf("default: %q %v, want the stream (\"\" or %q)", s.cfg.ReplicationProtocol, err, platform.ReplicationStream)
	}
	if s, err = settingsFor(t, nil, "--replication-protocol", "request"); err != nil || s.cfg.ReplicationProtocol != platform.ReplicationRequest {
		t.Fatalf("flag: %q %v", s.cfg.ReplicationProtocol, err)
	}
	file := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(file, []byte(`{"replication-protocol": "request"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err = settingsFor(t, nil, "--config", file); err != nil || s.cfg.ReplicationProtocol != platform.ReplicationRequest {
		t.Fatalf("file: %q %v", s.cfg.ReplicationProtocol, err)
	}
	if s, err = settingsFor(t, map[string]string{"SLUICE_REPLICATION_PROTOCOL": "request"}); err != nil || s.cfg.ReplicationProtocol != platform.ReplicationRequest {
		t.Fatalf("env: %q %v", s.cfg.ReplicationProtocol, err)
	}
}
