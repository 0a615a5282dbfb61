// Package clusternet is Sluice's node-to-node plane: the cluster's
// certificate authority and the certificates it issues (nodes and
// clients), the mutual-TLS configurations of the cluster listener, raft
// and the peer client, the identity of the node that made a request, and
// raft's stream layer over TLS. It uses the standard library only.
//
// A node's identity is the URI SAN sluice://node/<id> of its certificate
// (the common name repeats it as node-<id>); a client certificate carries
// sluice://client/<name>. Only a certificate with a node URI, signed by
// the cluster CA, is accepted on the node-to-node plane.
package clusternet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Validity of the certificates this package issues.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	CertValidity = 2 * 365 * 24 * time.Hour
)

// File names in a TLS directory as `sluice cert` writes it.
const (
	CAFileName     = "ca.crt"
	CAKeyFileName  = "ca.key"
	GossipFileName = "gossip.key"
)

// NodeCertFileName and NodeKeyFileName name node id's certificate and key
// in a TLS directory.
func NodeCertFileName(id int32) string { return "node-" + strconv.Itoa(int(id)) + ".crt" }

// NodeKeyFileName: see NodeCertFileName.
func NodeKeyFileName(id int32) string { return "node-" + strconv.Itoa(int(id)) + ".key" }

// ClientCertFileName and ClientKeyFileName name a client certificate.
func ClientCertFileName(name string) string { return "client-" + name + ".crt" }

// ClientKeyFileName: see ClientCertFileName.
func ClientKeyFileName(name string) string { return "client-" + name + ".key" }

// CA is a certificate authority that can issue certificates: its
// certificate and, for issuing, its private key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey // nil for a CA loaded without its key
	PEM  []byte            // Cert, PEM-encoded
}

// NewCA creates a self-signed CA (ECDSA P-256) named name.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Sluice"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, PEM: pemBlock("CERTIFICATE", der)}, nil
}

// Issued is a certificate with its key, PEM-encoded.
type Issued struct {
	CertPEM, KeyPEM []byte
}

// NodeURI is the URI SAN that names node id.
func NodeURI(id int32) *url.URL {
	return &url.URL{Scheme: "sluice", Host: "node", Path: "/" + strconv.Itoa(int(id))}
}

// ControllerURI is the URI SAN that lets node id run a controller (speak
// raft).
func ControllerURI(id int32) *url.URL {
	return &url.URL{Scheme: "sluice", Host: "controller", Path: "/" + strconv.Itoa(int(id))}
}

// ClientURI is the URI SAN that names client name.
func ClientURI(name string) *url.URL {
	return &url.URL{Scheme: "sluice", Host: "client", Path: "/" + name}
}

// IssueNode issues node id's certificate, good for both ends of a TLS
// connection (server and client auth), with SANs for localhost, 127.0.0.1,
// ::1 and hosts (names or IP addresses). It may run a controller: it also
// carries ControllerURI(id), which raft requires.
func (ca *CA) IssueNode(id int32, hosts []string) (Issued, error) {
	return ca.issueNode(id, hosts, true)
}

// IssueBroker is IssueNode for a node that never runs a controller: raft
// refuses its certificate, so it cannot take part in the metadata quorum
// even if it claims the controller role in gossip.
func (ca *CA) IssueBroker(id int32, hosts []string) (Issued, error) {
	return ca.issueNode(id, hosts, false)
}

func (ca *CA) issueNode(id int32, hosts []string, controller bool) (Issued, error) {
	if id < 0 {
		return Issued{}, fmt.Errorf("node id %d: must be >= 0", id)
	}
	uris := []*url.URL{NodeURI(id)}
	if controller {
		uris = append(uris, ControllerURI(id))
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "node-" + strconv.Itoa(int(id)), Organization: []string{"Sluice"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:        uris,
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		switch ip := net.ParseIP(h); {
		case h == "":
		case ip != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		default:
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(tmpl)
}

// IssueClient issues a client certificate (client auth only) for name,
// which the client plane may take as the principal.
func (ca *CA) IssueClient(name string) (Issued, error) {
	if !validClientName(name) {
		return Issued{}, fmt.Errorf("client name %q: want 1 to 128 letters, digits, '.', '_', '-' or '@'", name)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: []string{"Sluice"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{ClientURI(name)},
	}
	return ca.issue(tmpl)
}

func validClientName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '@') {
			return false
		}
	}
	return true
}

func (ca *CA) issue(tmpl *x509.Certificate) (Issued, error) {
	if ca.Key == nil {
		return Issued{}, errors.New("issue certificate: the CA's private key is not loaded")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Issued{}, fmt.Errorf("generate key: %w", err)
	}
	now := time.Now()
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(CertValidity)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return Issued{}, fmt.Errorf("create certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Issued{}, fmt.Errorf("encode key: %w", err)
	}
	return Issued{CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: pemBlock("EC PRIVATE KEY", kder)}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand never fails
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// KeyPEM is the CA's private key, PEM-encoded.
func (ca *CA) KeyPEM() ([]byte, error) {
	if ca.Key == nil {
		return nil, errors.New("the CA's private key is not loaded")
	}
	der, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("encode CA key: %w", err)
	}
	return pemBlock("EC PRIVATE KEY", der), nil
}

// LoadCA reads a CA certificate and, when keyFile is not empty, its key.
func LoadCA(certFile, keyFile string) (*CA, error) {
	raw, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("CA certificate %s: no PEM certificate", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA certificate %s: %w", certFile, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("CA certificate %s: not a CA", certFile)
	}
	ca := &CA{Cert: cert, PEM: pemBlock("CERTIFICATE", block.Bytes)}
	if keyFile == "" {
		return ca, nil
	}
	kraw, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	kb, _ := pem.Decode(kraw)
	if kb == nil {
		return nil, fmt.Errorf("CA key %s: no PEM block", keyFile)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA key %s: %w", keyFile, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("CA key %s does not belong to %s", keyFile, certFile)
	}
	ca.Key = key
	return ca, nil
}

// WriteCA writes ca.crt (0644) and ca.key (0600) into dir, refusing to
// overwrite an existing CA.
func WriteCA(dir string, ca *CA) error {
	kp, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := writeNew(filepath.Join(dir, CAKeyFileName), kp, 0o600); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, CAFileName), ca.PEM, 0o644)
}

// WritePair writes a certificate (0644) and its key (0600), refusing to
// overwrite either.
func WritePair(certPath, keyPath string, is Issued) error {
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(certPath), err)
	}
	if err := writeNew(keyPath, is.KeyPEM, 0o600); err != nil {
		return err
	}
	return writeNew(certPath, is.CertPEM, 0o644)
}

// writeNew creates path with data and mode; an existing file is an error.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
