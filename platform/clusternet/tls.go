package clusternet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Files names the PEM files of a node's cluster-plane identity.
type Files struct {
	// CA is the cluster CA's certificate(s). Required. It may hold several
	// certificates (an old and a new CA while the CA is replaced).
	CA string
	// Cert and Key are the node's certificate and key (from `sluice cert
	// node`).
	Cert, Key string
	// CAKey, when Cert is empty, is the CA's private key: the node issues
	// its own certificate at start (for its id and hosts; kept in memory).
	// For development and tests: a production node never holds the CA key.
	CAKey string
}

// ReloadInterval is how often, at most, a TLS loaded from files checks
// whether they changed (on a handshake): renewed certificates, and a CA
// file that gained a new CA, take effect without a restart.
const ReloadInterval = 10 * time.Second

// TLS is a node's cluster-plane identity: the cluster CA it trusts and its
// own certificate. Its configurations accept only peers whose certificate
// the CA signed and that name a node (NodeIDOf). Loaded from files, it
// re-reads them when they change (ReloadInterval); a changed file that
// does not load, or names another node, is ignored (Reload reports why)
// and the previous identity stays.
type TLS struct {
	// NodeID is the id in the node's own certificate.
	NodeID int32

	cur   atomic.Pointer[material]
	files Files // Cert and Key set: reloadable

	mu      sync.Mutex
	checked time.Time
	stamp   [3]time.Time // modification times of CA, Cert, Key when loaded
	now     func() time.Time
}

// material is one loaded identity.
type material struct {
	pool *x509.CertPool
	cert tls.Certificate
	leaf *x509.Certificate
}

// Issue says what certificate a node given Files.CAKey issues itself.
type Issue struct {
	// Hosts are its SANs besides loopback.
	Hosts []string
	// Controller lets it run a controller (IssueNode rather than
	// IssueBroker).
	Controller bool
}

// Load reads files and checks that the node certificate names node id and
// chains to the CA. issue describes a certificate issued from CAKey.
func Load(files Files, id int32, issue Issue) (*TLS, error) {
	if files.CA == "" {
		return nil, errors.New("cluster TLS: the CA certificate file is not set")
	}
	var certPEM, keyPEM []byte
	reloadable := false
	switch {
	case files.Cert != "" || files.Key != "":
		if files.Cert == "" || files.Key == "" {
			return nil, errors.New("cluster TLS: set both the node certificate and its key")
		}
		reloadable = true
	case files.CAKey != "":
		ca, err := LoadCA(files.CA, files.CAKey)
		if err != nil {
			return nil, fmt.Errorf("cluster TLS: %w", err)
		}
		is, err := ca.issueNode(id, issue.Hosts, issue.Controller)
		if err != nil {
			return nil, fmt.Errorf("cluster TLS: %w", err)
		}
		certPEM, keyPEM = is.CertPEM, is.KeyPEM
	default:
		return nil, errors.New("cluster TLS: neither a node certificate nor the CA key to issue one is set")
	}
	if reloadable {
		t := &TLS{NodeID: id, files: files, now: time.Now}
		m, stamp, err := t.read()
		if err != nil {
			return nil, err
		}
		t.cur.Store(m)
		t.stamp, t.checked = stamp, t.now()
		return t, nil
	}
	caPEM, err := os.ReadFile(files.CA)
	if err != nil {
		return nil, fmt.Errorf("cluster TLS: read CA certificate: %w", err)
	}
	t, err := New(caPEM, certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if t.NodeID != id {
		return nil, fmt.Errorf("cluster TLS: the node certificate names node %d, this node is %d", t.NodeID, id)
	}
	return t, nil
}

// read loads the files of a reloadable TLS and checks they name t.NodeID.
func (t *TLS) read() (*material, [3]time.Time, error) {
	var stamp [3]time.Time
	var raw [3][]byte
	for i, path := range []string{t.files.CA, t.files.Cert, t.files.Key} {
		st, err := os.Stat(path)
		if err != nil {
			return nil, stamp, fmt.Errorf("cluster TLS: %w", err)
		}
		stamp[i] = st.ModTime()
		if raw[i], err = os.ReadFile(path); err != nil {
			return nil, stamp, fmt.Errorf("cluster TLS: %w", err)
		}
	}
	m, id, err := parse(raw[0], raw[1], raw[2])
	if err != nil {
		return nil, stamp, err
	}
	if id != t.NodeID {
		return nil, stamp, fmt.Errorf("cluster TLS: the node certificate names node %d, this node is %d", id, t.NodeID)
	}
	return m, stamp, nil
}

// Reload re-reads the files now (a TLS built from bytes, or whose
// certificate was issued at start, has nothing to reload). On error the
// previous identity stays in use.
func (t *TLS) Reload() error {
	if t.files.Cert == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reloadLocked()
}

func (t *TLS) reloadLocked() error {
	t.checked = t.now()
	m, stamp, err := t.read()
	if err != nil {
		return err
	}
	t.cur.Store(m)
	t.stamp = stamp
	return nil
}

// current is the identity to use, re-read first when the files changed
// and ReloadInterval has passed since the last check.
func (t *TLS) current() *material {
	if t.files.Cert == "" {
		return t.cur.Load()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.now().Sub(t.checked) < ReloadInterval {
		return t.cur.Load()
	}
	t.checked = t.now()
	for i, path := range []string{t.files.CA, t.files.Cert, t.files.Key} {
		if st, err := os.Stat(path); err == nil && !st.ModTime().Equal(t.stamp[i]) {
			_ = t.reloadLocked() // a bad file leaves the previous identity; Reload says why
			break
		}
	}
	return t.cur.Load()
}

// New builds a TLS from PEM bytes: the CA certificate(s), the node's
// certificate and key. The certificate must name a node and chain to the
// CA.
func New(caPEM, certPEM, keyPEM []byte) (*TLS, error) {
	m, id, err := parse(caPEM, certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	t := &TLS{NodeID: id, now: time.Now}
	t.cur.Store(m)
	return t, nil
}

func parse(caPEM, certPEM, keyPEM []byte) (*material, int32, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, 0, errors.New("cluster TLS: no certificate in the CA file")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, 0, fmt.Errorf("cluster TLS: node certificate and key: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, 0, fmt.Errorf("cluster TLS: parse node certificate: %w", err)
	}
	id, ok := NodeIDOf(leaf)
	if !ok {
		return nil, 0, fmt.Errorf("cluster TLS: certificate %q names no node (want a URI SAN sluice://node/<id>; issue one with sluice cert node)", leaf.Subject.CommonName)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, 0, fmt.Errorf("cluster TLS: node certificate not valid under the cluster CA: %w", err)
	}
	cert.Leaf = leaf
	return &material{pool: pool, cert: cert, leaf: leaf}, id, nil
}

// ServerConfig is the configuration of a cluster-plane listener: TLS 1.3,
// a client certificate is required, must chain to the cluster CA and must
// name a node. Each handshake uses the current identity (see Reload).
func (t *TLS) ServerConfig() *tls.Config { return t.serverConfig(requireNode) }

// CanControl reports whether the node's own certificate lets it run a
// controller (see IssueBroker).
func (t *TLS) CanControl() bool { return CanControl(t.current().leaf) }

func (t *TLS) serverConfig(verify func(tls.ConnectionState) error) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := t.current()
			return &tls.Config{
				MinVersion:       tls.VersionTLS13,
				Certificates:     []tls.Certificate{m.cert},
				ClientAuth:       tls.RequireAndVerifyClientCert,
				ClientCAs:        m.pool,
				VerifyConnection: verify,
			}, nil
		},
	}
}

// ClientConfig is the configuration of a cluster-plane client: it presents
// the node's certificate, verifies the server's under the cluster CA (host
// name included) and requires it to name a node. The CA pool is the one
// current when it is called: a client that should follow a reloaded CA
// file calls it per connection (DialTLS and StreamLayer.Dial do).
func (t *TLS) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    t.current().pool,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c := t.current().cert
			return &c, nil
		},
		VerifyConnection: requireNode,
	}
}

// DialTLS connects to addr over the cluster plane's mutual TLS with the
// identity current at the call; it fits http.Transport.DialTLSContext.
func (t *TLS) DialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("cluster TLS dial %s: %w", addr, err)
	}
	cfg := t.ClientConfig()
	cfg.ServerName = host
	d := &tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("cluster TLS dial %s: %w", addr, err)
	}
	return c, nil
}

// Certificate is the node's own certificate.
func (t *TLS) Certificate() *x509.Certificate { return t.current().leaf }

// requireNode refuses a peer whose (verified) certificate names no node.
func requireNode(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("cluster TLS: the peer presented no certificate")
	}
	if _, ok := NodeIDOf(cs.PeerCertificates[0]); !ok {
		return fmt.Errorf("cluster TLS: certificate %q is not a node certificate", cs.PeerCertificates[0].Subject.CommonName)
	}
	return nil
}

// requireController refuses a peer whose certificate does not let it run
// a controller (raft's peers).
func requireController(cs tls.ConnectionState) error {
	if err := requireNode(cs); err != nil {
		return err
	}
	if !CanControl(cs.PeerCertificates[0]) {
		return fmt.Errorf("cluster TLS: certificate %q may not run a controller (no %s URI)", cs.PeerCertificates[0].Subject.CommonName, "sluice://controller/<id>")
	}
	return nil
}

// CertPEM is the node certificate, PEM-encoded (for tests and tools).
func (t *TLS) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.current().cert.Certificate[0]})
}
