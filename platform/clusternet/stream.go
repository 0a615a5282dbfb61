package clusternet

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// HandshakeTimeout bounds a TLS handshake on a raft connection, so that a
// peer that connects and says nothing does not hold a goroutine forever.
const HandshakeTimeout = 10 * time.Second

// StreamLayer is hashicorp/raft's network layer over mutual TLS: both
// ends present node certificates of the cluster CA that may run a
// controller (CanControl; a certificate from IssueBroker is refused).
// Give it to raft.NewNetworkTransportWithConfig.
type StreamLayer struct {
	ln     net.Listener
	adv    net.Addr
	server *tls.Config
	tls    *TLS
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

// NewStreamLayer listens on bind; advertise is the address other raft
// members dial.
func NewStreamLayer(bind string, advertise net.Addr, t *TLS) (*StreamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("raft listen on %s: %w", bind, err)
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	return &StreamLayer{ln: ln, adv: advertise, server: t.serverConfig(requireController), tls: t}, nil
}

// Accept returns the next connection; its handshake runs on first use,
// bounded by HandshakeTimeout.
func (s *StreamLayer) Accept() (net.Conn, error) {
	c, err := s.ln.Accept()
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(HandshakeTimeout))
	return &serverConn{Conn: tls.Server(c, s.server)}, nil
}

// Close stops listening.
func (s *StreamLayer) Close() error { return s.ln.Close() }

// Addr is the advertised address.
func (s *StreamLayer) Addr() net.Addr { return s.adv }

// Dial connects to a raft peer and completes the TLS handshake within
// timeout.
func (s *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	host, _, err := net.SplitHostPort(string(address))
	if err != nil {
		return nil, fmt.Errorf("raft dial %s: %w", address, err)
	}
	cfg := s.tls.ClientConfig() // the identity current now (see TLS.Reload)
	cfg.ServerName = host
	cfg.VerifyConnection = requireController
	d := &net.Dialer{Timeout: timeout}
	c, err := tls.DialWithDialer(d, "tcp", string(address), cfg)
	if err != nil {
		return nil, fmt.Errorf("raft dial %s: %w", address, err)
	}
	return c, nil
}

// serverConn completes the handshake before the first read or write and
// then lifts the handshake deadline.
type serverConn struct {
	*tls.Conn
	once sync.Once
	err  error
}

func (c *serverConn) handshake() error {
	c.once.Do(func() {
		if c.err = c.Conn.Handshake(); c.err == nil {
			c.err = c.Conn.SetDeadline(time.Time{})
		}
	})
	return c.err
}

func (c *serverConn) Read(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *serverConn) Write(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}
