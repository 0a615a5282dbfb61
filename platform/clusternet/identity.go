package clusternet

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// NodeIDOf returns the node id a certificate names (its URI SAN
// sluice://node/<id>), or false when it names none. Verifying the
// certificate is the caller's job (the TLS handshake does it).
func NodeIDOf(cert *x509.Certificate) (int32, bool) {
	for _, u := range cert.URIs {
		if u.Scheme != "sluice" || u.Host != "node" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			continue
		}
		s, ok := strings.CutPrefix(u.Path, "/")
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 32)
		if err != nil || id < 0 || strconv.FormatInt(id, 10) != s {
			continue
		}
		return int32(id), true
	}
	return 0, false
}

// CanControl reports whether a certificate lets its node run a
// controller: it names a node and carries ControllerURI of the same id.
func CanControl(cert *x509.Certificate) bool {
	id, ok := NodeIDOf(cert)
	if !ok {
		return false
	}
	want := ControllerURI(id).String()
	for _, u := range cert.URIs {
		if u.String() == want {
			return true
		}
	}
	return false
}

// ClientNameOf returns the client name a certificate names (its URI SAN
// sluice://client/<name>), or false.
func ClientNameOf(cert *x509.Certificate) (string, bool) {
	for _, u := range cert.URIs {
		if u.Scheme == "sluice" && u.Host == "client" && u.User == nil {
			if s, ok := strings.CutPrefix(u.Path, "/"); ok && validClientName(s) {
				return s, true
			}
		}
	}
	return "", false
}

// NodeHeader carries the calling node's id on a cluster plane without TLS
// (Config.Insecure and no certificates). It is a claim, not a proof: with
// TLS the certificate decides and the header is ignored.
const NodeHeader = "Sluice-Node-Id"

// ErrNoNodeIdentity: a request on the node-to-node plane that does not
// come from a node (no verified node certificate, or, without TLS, no
// NodeHeader).
var ErrNoNodeIdentity = errors.New("no node identity")

// ErrForbidden: the calling node may not do what it asked.
var ErrForbidden = errors.New("forbidden")

// NodeOf returns the id of the node that sent r: from its verified TLS
// certificate, or, when insecure is set and the connection has no TLS,
// from NodeHeader.
func NodeOf(r *http.Request, insecure bool) (int32, error) {
	if r.TLS != nil {
		if len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
			return 0, fmt.Errorf("%w: no verified client certificate", ErrNoNodeIdentity)
		}
		id, ok := NodeIDOf(r.TLS.PeerCertificates[0])
		if !ok {
			return 0, fmt.Errorf("%w: certificate %q names no node", ErrNoNodeIdentity, r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		return id, nil
	}
	if !insecure {
		return 0, fmt.Errorf("%w: the connection has no TLS", ErrNoNodeIdentity)
	}
	v := r.Header.Get(NodeHeader)
	id, err := strconv.ParseInt(v, 10, 32)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("%w: header %s=%q", ErrNoNodeIdentity, NodeHeader, v)
	}
	return int32(id), nil
}

type callerKey struct{}

// WithCaller returns ctx carrying the calling node's id.
func WithCaller(ctx context.Context, id int32) context.Context {
	return context.WithValue(ctx, callerKey{}, id)
}

// Caller returns the calling node's id that WithCaller stored, or false
// for a context of no node-to-node request.
func Caller(ctx context.Context) (int32, bool) {
	id, ok := ctx.Value(callerKey{}).(int32)
	return id, ok
}
