package clusternet

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// Files names the PEM files of a node's cluster-plane identity.
type Files struct {
	// CA is the cluster CA's certificate. Required.
	CA string
	// Cert and Key are the node's certificate and key (from `sluice cert
	// node`).
	Cert, Key string
	// CAKey, when Cert is empty, is the CA's private key: the node issues
	// its own certificate at start (for its id and hosts; kept in memory).
	// For development and tests: a production node never holds the CA key.
	CAKey string
}

// TLS is a node's cluster-plane identity: the cluster CA it trusts and its
// own certificate. Its configurations accept only peers whose certificate
// the CA signed and that name a node (NodeIDOf).
type TLS struct {
	// NodeID is the id in the node's own certificate.
	NodeID int32
	pool   *x509.CertPool
	cert   tls.Certificate
	leaf   *x509.Certificate
}

// Load reads files and checks that the node certificate names node id and
// chains to the CA. hosts are the extra SANs of a certificate issued from
// CAKey.
func Load(files Files, id int32, hosts []string) (*TLS, error) {
	if files.CA == "" {
		return nil, errors.New("cluster TLS: the CA certificate file is not set")
	}
	var certPEM, keyPEM []byte
	switch {
	case files.Cert != "" || files.Key != "":
		if files.Cert == "" || files.Key == "" {
			return nil, errors.New("cluster TLS: set both the node certificate and its key")
		}
		var err error
		if certPEM, err = os.ReadFile(files.Cert); err != nil {
			return nil, fmt.Errorf("cluster TLS: read node certificate: %w", err)
		}
		if keyPEM, err = os.ReadFile(files.Key); err != nil {
			return nil, fmt.Errorf("cluster TLS: read node key: %w", err)
		}
	case files.CAKey != "":
		ca, err := LoadCA(files.CA, files.CAKey)
		if err != nil {
			return nil, fmt.Errorf("cluster TLS: %w", err)
		}
		is, err := ca.IssueNode(id, hosts)
		if err != nil {
			return nil, fmt.Errorf("cluster TLS: %w", err)
		}
		certPEM, keyPEM = is.CertPEM, is.KeyPEM
	default:
		return nil, errors.New("cluster TLS: neither a node certificate nor the CA key to issue one is set")
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

// New builds a TLS from PEM bytes: the CA certificate(s), the node's
// certificate and key. The certificate must name a node and chain to the
// CA.
func New(caPEM, certPEM, keyPEM []byte) (*TLS, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("cluster TLS: no certificate in the CA file")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster TLS: node certificate and key: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("cluster TLS: parse node certificate: %w", err)
	}
	id, ok := NodeIDOf(leaf)
	if !ok {
		return nil, fmt.Errorf("cluster TLS: certificate %q names no node (want a URI SAN sluice://node/<id>; issue one with sluice cert node)", leaf.Subject.CommonName)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("cluster TLS: node certificate not valid under the cluster CA: %w", err)
	}
	cert.Leaf = leaf
	return &TLS{NodeID: id, pool: pool, cert: cert, leaf: leaf}, nil
}

// ServerConfig is the configuration of a cluster-plane listener: TLS 1.3,
// a client certificate is required, must chain to the cluster CA and must
// name a node.
func (t *TLS) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{t.cert},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        t.pool,
		VerifyConnection: requireNode,
	}
}

// ClientConfig is the configuration of a cluster-plane client: it presents
// the node's certificate, verifies the server's under the cluster CA
// (host name included) and requires it to name a node.
func (t *TLS) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{t.cert},
		RootCAs:          t.pool,
		VerifyConnection: requireNode,
	}
}

// Certificate is the node's own certificate.
func (t *TLS) Certificate() *x509.Certificate { return t.leaf }

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

// CertPEM is the node certificate, PEM-encoded (for tests and tools).
func (t *TLS) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.cert.Certificate[0]})
}
