package auth_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/auth/authtest"
)

func serial(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.String()
}

func TestCertReloaderPicksUpNewFiles(t *testing.T) {
	dir := t.TempDir()
	ca := authtest.NewCA(t, "test-ca")
	c1, k1 := ca.Issue(t, "first", false)
	certFile, keyFile := authtest.WriteFiles(t, dir, "server", c1, k1)
	now := time.Unix(1000, 0)
	r, err := auth.NewCertReloader(certFile, keyFile, time.Second, func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func() string {
		c, err := r.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return serial(t, c)
	}
	first := get()

	// New files: not looked at before the interval passed.
	c2, k2 := ca.Issue(t, "second", false)
	authtest.WriteFiles(t, dir, "server", c2, k2)
	future := time.Now().Add(time.Hour)
	os.Chtimes(certFile, future, future) // a distinct mtime even on a coarse clock
	if got := get(); got != first {
		t.Fatalf("reloaded before the interval: %s", got)
	}
	now = now.Add(time.Second)
	second := get()
	if second == first {
		t.Fatal("new certificate not served after the interval")
	}

	// A broken pair (half-written key) keeps the previous certificate.
	if err := os.WriteFile(keyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if got := get(); got != second {
		t.Fatalf("broken files replaced the certificate: %s", got)
	}
	if err := r.Reload(); err == nil {
		t.Fatal("Reload of a broken pair succeeded")
	}

	// Reload (SIGHUP) takes a good pair at once.
	c3, k3 := ca.Issue(t, "third", false)
	authtest.WriteFiles(t, dir, "server", c3, k3)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := serial(t, r.Certificate()); got == second {
		t.Fatal("Reload did not load the third certificate")
	}
	if _, err := auth.NewCertReloader(certFile, dir+"/missing.key", 0, nil, nil); err == nil {
		t.Fatal("NewCertReloader accepted a missing key")
	}
}
