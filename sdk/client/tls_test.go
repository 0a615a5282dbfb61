package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestSharedTLSConfigIsNotWritten: many clients made from one
// tls.Config and used at once (run with -race) each work on a copy: the
// caller's configuration is left as it was, although every transport
// adds HTTP/2 to its own on first use.
func TestSharedTLSConfigIsNotWritten(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	shared := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	var wg sync.WaitGroup
	for range 8 {
		cl, err := New(srv.URL, WithTLSConfig(shared), WithDeliveryTimeout(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cl.Health(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(shared.NextProtos) != 0 {
		t.Fatalf("the shared configuration was changed: NextProtos %v", shared.NextProtos)
	}
}
