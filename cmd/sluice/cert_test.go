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
	tt, err := clusternet.Load(files, 2, nil)
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
