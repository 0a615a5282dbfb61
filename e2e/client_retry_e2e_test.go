package e2e_test

import (
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// refusingTransport injects a fault: the first `fail` produce requests
// fail as if the node refused the connection; the rest reach the node.
type refusingTransport struct {
	fail     int32
	produces atomic.Int32
	next     http.RoundTripper
}

func (rt *refusingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && rt.produces.Add(1) <= rt.fail {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "injected refusal", IsNotFound: true}}
	}
	return rt.next.RoundTrip(r)
}

// TestProducerRetriesUnavailable: a request that never reached the node is
// sent again; one that keeps failing reports ErrUnavailable to every record.
func TestProducerRetriesUnavailable(t *testing.T) {
	n := testnode.Start(t)
	ctx := ctxT(t)
	admin, err := client.New(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.CreateTopic(ctx, wire.CreateTopicRequest{Name: "r", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	rt := &refusingTransport{fail: 2, next: http.DefaultTransport}
	c, err := client.New(n.URL(), client.WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	p := c.NewProducer(client.ProducerConfig{Retries: 3, RetryBackoff: time.Millisecond})
	f, err := p.Produce(ctx, "r", client.Record{Value: []byte("once")})
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Wait(ctx)
	if err != nil || r.Offset != 0 {
		t.Fatalf("after two refusals: %+v, %v", r, err)
	}
	if got := rt.produces.Load(); got != 3 {
		t.Errorf("%d produce attempts, want 3", got)
	}
	p.Close()

	// More refusals than retries: the error reaches the record.
	rt.produces.Store(0)
	rt.fail = 100
	p = c.NewProducer(client.ProducerConfig{Retries: 2, RetryBackoff: time.Millisecond})
	defer p.Close()
	f, err = p.Produce(ctx, "r", client.Record{Value: []byte("lost")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Wait(ctx); !isUnavailable(err) {
		t.Errorf("after exhausting retries: %v", err)
	}
	if got := rt.produces.Load(); got != 3 {
		t.Errorf("%d produce attempts, want 1 + 2 retries", got)
	}
	// Nothing but the first record was written.
	if off, err := admin.Offset(ctx, "r", 0, wire.AtLatest); err != nil || off != 1 {
		t.Errorf("log end %d, %v; want 1", off, err)
	}
}

func isUnavailable(err error) bool {
	return errors.Is(err, client.ErrUnavailable)
}
