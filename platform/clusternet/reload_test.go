package clusternet

import (
	"context"
	"crypto/tls"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReloadFollowsRenewedFiles: a TLS loaded from files serves a renewed
// certificate, and trusts a CA added to the CA file, once ReloadInterval
// has passed after the files changed, without a restart; a file that names
// another node is ignored and the previous identity stays.
func TestReloadFollowsRenewedFiles(t *testing.T) {
	dir := t.TempDir()
	caA, err := NewCA("A")
	if err != nil {
		t.Fatal(err)
	}
	files := Files{CA: filepath.Join(dir, "ca.crt"), Cert: filepath.Join(dir, "n.crt"), Key: filepath.Join(dir, "n.key")}
	stamp := time.Now()
	write := func(caPEM []byte, is Issued) {
		t.Helper()
		stamp = stamp.Add(time.Minute) // a new modification time, whatever the file system's resolution
		for path, b := range map[string][]byte{files.CA: caPEM, files.Cert: is.CertPEM, files.Key: is.KeyPEM} {
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(path, stamp, stamp); err != nil {
				t.Fatal(err)
			}
		}
	}
	issue := func(ca *CA, id int32) Issued {
		is, err := ca.IssueNode(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return is
	}
	write(caA.PEM, issue(caA, 3))
	srv, err := Load(files, 3, Issue{})
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64 // the handshakes read it on the server's goroutine
	clock.Store(time.Now().UnixNano())
	srv.now = func() time.Time { return time.Unix(0, clock.Load()) }
	serial := func() *big.Int { return srv.Certificate().SerialNumber }

	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_, _ = c.Write([]byte{1}) // lets the client see the verdict
			c.Close()
		}
	}()
	defer wg.Wait()
	defer ln.Close()

	dial := func(client *TLS) (*big.Int, error) {
		c, err := client.DialTLS(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if _, err := c.Read(make([]byte, 1)); err != nil {
			return nil, err
		}
		return c.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber, nil
	}
	clientA := mustNew(t, caA.PEM, issue(caA, 4))
	first := serial()
	if got, err := dial(clientA); err != nil || got.Cmp(first) != 0 {
		t.Fatalf("first handshake: serial %v %v, want %v", got, err, first)
	}

	// Renewed: served once the interval has passed.
	write(caA.PEM, issue(caA, 3))
	if got, _ := dial(clientA); got.Cmp(first) != 0 {
		t.Fatal("reloaded before ReloadInterval passed")
	}
	clock.Add(int64(ReloadInterval))
	if got, err := dial(clientA); err != nil || got.Cmp(first) == 0 {
		t.Fatalf("after renewal: serial %v %v, want a new one", got, err)
	}
	renewed := serial()

	// Another node's certificate in the files is refused; the renewed one stays.
	write(caA.PEM, issue(caA, 5))
	if err := srv.Reload(); err == nil {
		t.Fatal("reloaded a certificate of node 5 for node 3")
	}
	if serial().Cmp(renewed) != 0 {
		t.Fatal("a bad reload replaced the identity")
	}

	// A second CA added to the CA file: its nodes are accepted after reload.
	caB, err := NewCA("B")
	if err != nil {
		t.Fatal(err)
	}
	both := append(append([]byte{}, caA.PEM...), caB.PEM...)
	clientB := mustNew(t, both, issue(caB, 6))
	if _, err := dial(clientB); err == nil {
		t.Fatal("a node of CA B accepted before the CA file named B")
	}
	write(both, issue(caA, 3))
	clock.Add(int64(ReloadInterval))
	if _, err := dial(clientB); err != nil {
		t.Fatalf("a node of CA B after the CA file gained B: %v", err)
	}
}

func mustNew(t *testing.T, caPEM []byte, is Issued) *TLS {
	t.Helper()
	tt, err := New(caPEM, is.CertPEM, is.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}
