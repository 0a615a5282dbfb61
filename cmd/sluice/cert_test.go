package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/testnode"
)

// TestCertCommands: sluice cert writes a CA, node and client certificates
// and a gossip key that the node loads; keys are 0600 and nothing is
// overwritten.
func TestCertCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	ok(t, defaultServer, "", "cert", "ca", "--dir", dir)
	ok(t, defaultServer, "", "cert", "node", "--dir", dir, "--id", "2", "--host", "h2.example,10.1.1.2")
	ok(t, defaultServer, "", "cert", "client", "--dir", dir, "--name", "alice")
	ok(t, defaultServer, "", "cert", "gossip-key", "--dir", dir)
	if r := sluice(t, defaultServer, "", "cert", "ca", "--dir", dir); r.code == 0 {
		t.Fatal("cert ca overwrote the CA")
	}
	for _, f := range []string{"ca.key", "node-2.key", "client-alice.key", "gossip.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want mode 0600", f, st, err)
		}
	}
	files, gossip := clusternet.DirFiles(dir, 2)
	tt, err := clusternet.Load(files, 2, clusternet.Issue{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tt.Certificate().VerifyHostname("h2.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := clusternet.ReadGossipKeys(gossip); err != nil {
		t.Fatal(err)
	}
	if k := ok(t, defaultServer, "", "cert", "gossip-key", "--print").stdout; len(strings.TrimSpace(k)) != 44 {
		t.Fatalf("gossip-key --print: %q", k)
	}
}

// TestClusterKeyringList: the keyring command reaches a node's cluster
// listener with a node certificate from a TLS directory.
func TestClusterKeyringList(t *testing.T) {
	n := testnode.Start(t)
	r := ok(t, n.URL(), "", "cluster", "keyring", "list", "--cluster-server", n.ClusterURL(), "--tls-dir", testnode.TLSDir(t), "--node-id", "9")
	if !strings.Contains(r.stdout, "1 of 1 members answered") || !strings.Contains(r.stdout, n.Membership().LocalKeys()[0]) {
		t.Fatalf("keyring list: %s", r.stdout)
	}
}

// TestServerClusterPlaneSettings: the cluster-plane settings come from
// flags, the environment or the config file.
func TestServerClusterPlaneSettings(t *testing.T) {
	if s, err := settingsFor(t, nil); err != nil || s.cfg.Insecure || s.cfg.ClusterAddr != "127.0.0.1:9400" {
		t.Fatalf("defaults: %+v %v", s.cfg, err)
	}
	s, err := settingsFor(t, nil, "--tls-dir", "certs", "--cluster-addr", "10.0.0.1:9400", "--insecure",
		"--cluster-ca", "ca.pem", "--cluster-cert", "n.pem", "--cluster-key", "n.key", "--gossip-key-file", "g.key")
	if err != nil {
		t.Fatal(err)
	}
	c := s.cfg
	if c.ClusterTLSDir != "certs" || c.ClusterAddr != "10.0.0.1:9400" || !c.Insecure || c.ClusterTLS.CA != "ca.pem" ||
		c.ClusterTLS.Cert != "n.pem" || c.ClusterTLS.Key != "n.key" || c.GossipKeyFile != "g.key" {
		t.Fatalf("flags: %+v", c)
	}
	file := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(file, []byte(`{"tls_dir": "from-file", "insecure": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = settingsFor(t, map[string]string{"SLUICE_CLUSTER_ADDR": "127.0.0.1:1"}, "--config", file)
	if err != nil || s.cfg.ClusterTLSDir != "from-file" || !s.cfg.Insecure || s.cfg.ClusterAddr != "127.0.0.1:1" {
		t.Fatalf("file and env: %+v %v", s.cfg, err)
	}
}
