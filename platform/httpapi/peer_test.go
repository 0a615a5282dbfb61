package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
)

// lateReader is a transport that gives up at once but keeps the request
// body, as net/http's may after a timeout: its writer can still be
// reading it when Do has returned. It answers a produce stream's upgrade
// 404, as a leader without produce streams does, so Forward falls back to
// the POST route.
type lateReader struct{ bodies chan io.ReadCloser }

func (l lateReader) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Upgrade") != "" {
		return &http.Response{StatusCode: http.StatusNotFound, Body: io.NopCloser(strings.NewReader("404 page not found")), Request: req}, nil
	}
	l.bodies <- req.Body
	return nil, errors.New("injected: the leader did not answer in time")
}

// TestForwardBodyOutlivesTheCall: the bytes of a forwarded produce stay
// intact after Forward returned with an error, even while the server's
// buffers are being reused by other requests; the transport reads the
// records that were forwarded, not another request's.
func TestForwardBodyOutlivesTheCall(t *testing.T) {
	tr := lateReader{bodies: make(chan io.ReadCloser, 1)}
	p := &Peer{HTTP: &http.Client{Transport: tr}}
	recs := []record.Record{{Key: []byte("k"), Value: []byte("the forwarded value")}, {Value: []byte("second")}}
	leader := &meta.Broker{ID: 2, ClusterAddr: "http://127.0.0.1:1"}
	for round := range 20 {
		if _, err := p.Forward(context.Background(), leader, "t", 0, recs, broker.AcksAll); err == nil {
			t.Fatal("Forward succeeded through a failing transport")
		}
		body := <-tr.bodies
		// Other requests take buffers from the pool and fill them.
		var held []*[]byte
		for range 8 {
			b := getBuffer()
			*b = (*b)[:cap(*b)]
			for i := range *b {
				(*b)[i] = 0xEE
			}
			held = append(held, b)
		}
		raw, err := io.ReadAll(body)
		_ = body.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecords(nil, raw)
		if err != nil || len(got) != 2 || string(got[0].Value) != "the forwarded value" || string(got[1].Value) != "second" {
			t.Fatalf("round %d: the transport read %d records (%v) from a body that changed under it", round, len(got), err)
		}
		for _, b := range held {
			putBuffer(b)
		}
	}
}
