package clusternet

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// TestCertificatesRoundTrip: a CA written to disk and read back issues a
// node certificate that Load accepts for its id only, with the SANs asked
// for; key files are 0600; a client certificate names its client and no
// node; a certificate of another CA is refused.
func TestCertificatesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCA(dir, ca); err != nil {
		t.Fatal(err)
	}
	if err := WriteCA(dir, ca); err == nil {
		t.Fatal("WriteCA overwrote an existing CA")
	}
	loaded, err := LoadCA(filepath.Join(dir, CAFileName), filepath.Join(dir, CAKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	is, err := loaded.IssueNode(3, []string{"broker-3.example", "10.0.0.3"})
	if err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(dir, NodeCertFileName(3)), filepath.Join(dir, NodeKeyFileName(3))
	if err := WritePair(crt, key, is); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{CAKeyFileName, NodeKeyFileName(3)} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v %v, want 0600", f, st.Mode().Perm(), err)
		}
	}
	files := Files{CA: filepath.Join(dir, CAFileName), Cert: crt, Key: key}
	tt, err := Load(files, 3, Issue{})
	if err != nil {
		t.Fatal(err)
	}
	c := tt.Certificate()
	if !tt.CanControl() {
		t.Error("IssueNode's certificate may not run a controller")
	}
	bro, err := loaded.IssueBroker(4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bt, err := New(ca.PEM, bro.CertPEM, bro.KeyPEM); err != nil || bt.CanControl() || bt.NodeID != 4 {
		t.Fatalf("IssueBroker: %v, can control %v", err, bt != nil && bt.CanControl())
	}
	if err := c.VerifyHostname("broker-3.example"); err != nil {
		t.Error(err)
	}
	for _, h := range []string{"10.0.0.3", "127.0.0.1", "localhost"} {
		if err := c.VerifyHostname(h); err != nil {
			t.Error(err)
		}
	}
	if _, err := Load(files, 4, Issue{}); err == nil {
		t.Fatal("node 3's certificate loaded for node 4")
	}
	// A node issuing its own certificate from the CA key.
	own, err := Load(Files{CA: files.CA, CAKey: filepath.Join(dir, CAKeyFileName)}, 5, Issue{})
	if err != nil || own.NodeID != 5 {
		t.Fatalf("self-issued: %v %v", own, err)
	}

	cl, err := loaded.IssueClient("alice")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(cl.CertPEM)
	cc, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := ClientNameOf(cc); !ok || name != "alice" {
		t.Fatalf("client name %q %v", name, ok)
	}
	if _, ok := NodeIDOf(cc); ok {
		t.Fatal("a client certificate names a node")
	}
	if _, err := New(ca.PEM, cl.CertPEM, cl.KeyPEM); err == nil {
		t.Fatal("a client certificate accepted as a node's")
	}
	if _, err := loaded.IssueClient("../x"); err == nil {
		t.Fatal("a client name with a separator")
	}

	other, err := NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.IssueNode(3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ca.PEM, foreign.CertPEM, foreign.KeyPEM); err == nil {
		t.Fatal("a node certificate of another CA accepted")
	}
}

func TestNodeIDOf(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		id   int32
		want bool
	}{
		{"sluice://node/0", 0, true},
		{"sluice://node/12", 12, true},
		{"sluice://node/-1", 0, false},
		{"sluice://node/012", 0, false},
		{"sluice://node/1/2", 0, false},
		{"sluice://client/1", 0, false},
		{"https://node/1", 0, false},
		{"sluice://node/99999999999", 0, false},
	} {
		u, _ := parseURL(tc.uri)
		id, ok := NodeIDOf(&x509.Certificate{URIs: u})
		if ok != tc.want || id != tc.id {
			t.Errorf("%s: %d %v, want %d %v", tc.uri, id, ok, tc.id, tc.want)
		}
	}
}

func TestGossipKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), GossipFileName)
	if err := WriteGossipKey(path); err != nil {
		t.Fatal(err)
	}
	keys, err := ReadGossipKeys(path)
	if err != nil || len(keys) != 1 || len(keys[0]) != GossipKeySize {
		t.Fatalf("%v %v", keys, err)
	}
	if err := os.WriteFile(path, []byte("# comment\n\nnot-base64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadGossipKeys(path); err == nil {
		t.Fatal("a bad key was read")
	}
}
