package platform

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/httpapi"
	"github.com/sluicehq/sluice/platform/meta"
)

// AdminTokenFile is the file in the data directory where a node that
// bootstraps authentication writes the generated token of the first
// admin (mode 0600), when Config.BootstrapAdminTokenFile is not given.
const AdminTokenFile = "admin-token"

// BootstrapAdminName is the principal the bootstrap creates.
const BootstrapAdminName = "admin"

// clientTLS reports whether the client listener serves TLS.
func (c *Config) clientTLS() bool { return c.TLSCertFile != "" }

// validateSecurity is the start-up gate of the client plane: a node that
// any other machine can reach (a listen, advertise or join address that is
// not loopback) must serve TLS and require authentication, unless the
// operator said Insecure. A node on loopback only may run without TLS.
func (c *Config) validateSecurity() []error {
	var errs []error
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("tls: give both the certificate and the key file"))
	}
	if c.TLSClientCAFile != "" && !c.clientTLS() {
		errs = append(errs, errors.New("tls client ca: needs a certificate and key (client certificates come over TLS)"))
	}
	for _, o := range c.AllowedOrigins {
		// "null" is the Origin of pages opened from file:// URLs (and of
		// sandboxed frames): allowed only when listed explicitly.
		if u, err := url.Parse(o); o != "*" && o != "null" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "") {
			errs = append(errs, fmt.Errorf("allowed origin %q: want scheme://host[:port] (e.g. https://console.example.com), null or *", o))
		}
	}
	if c.Insecure || len(errs) > 0 {
		return errs
	}
	if exposed := c.exposedAddrs(); len(exposed) > 0 && (!c.clientTLS() || !c.Auth) {
		errs = append(errs, fmt.Errorf("refusing to serve %s without TLS and authentication: give a TLS certificate and key "+
			"and keep auth on, or say --insecure (Config.Insecure) to run unprotected (see docs/security.md)", strings.Join(exposed, ", ")))
	}
	return errs
}

// exposedAddrs lists the configured addresses that are not loopback.
func (c *Config) exposedAddrs() []string {
	var out []string
	check := func(name, addr string, withPort bool) {
		host := addr
		if withPort {
			h, _, err := net.SplitHostPort(addr)
			if err != nil {
				return // Validate reports it
			}
			host = h
		}
		if !isLoopbackHost(host) {
			out = append(out, fmt.Sprintf("%s %s", name, addr))
		}
	}
	check("http addr", c.HTTPAddr, true)
	check("serf addr", c.SerfAddr, true)
	if c.HasRole(RoleController) {
		check("raft addr", c.RaftAddr, true)
	}
	if c.AdvertiseAddr != "" {
		check("advertise addr", c.AdvertiseAddr, false)
	}
	for _, j := range c.Join {
		check("join address", j, true)
	}
	return out
}

// isLoopbackHost: "localhost" or a loopback IP. An empty host (":8080")
// is every interface.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clientTLSConfig builds the client listener's TLS configuration: the
// certificate through a reloader (new files are served without a
// restart), and with a client CA, client certificates verified when
// given (tokens stay usable: VerifyClientCertIfGiven).
func (n *Node) clientTLSConfig() (*tls.Config, error) {
	cfg := n.cfg
	r, err := auth.NewCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, 0, nil, n.log.With("component", "tls"))
	if err != nil {
		return nil, err
	}
	n.certs = r
	tc := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
	if cfg.TLSClientCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls client ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls client ca %s: no PEM certificate in it", cfg.TLSClientCAFile)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// peerTLSConfig is the TLS configuration of this node's calls to other
// nodes' client listeners: the system roots plus TLSCAFile (default
// TLSClientCAFile). nil without client TLS.
func (c *Config) peerTLSConfig() (*tls.Config, error) {
	if !c.clientTLS() {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	file := c.TLSCAFile
	if file == "" {
		file = c.TLSClientCAFile
	}
	if file != "" {
		pem, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("tls ca: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca %s: no PEM certificate in it", file)
		}
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// ReloadTLS loads the client listener's certificate and key files again
// (sluice server does on SIGHUP). Without TLS it does nothing.
func (n *Node) ReloadTLS() error {
	if n.certs == nil {
		return nil
	}
	return n.certs.Reload()
}

// apiSecurity is the HTTP API's part of the configuration.
func (n *Node) apiSecurity() (httpapi.Security, error) {
	var jv *auth.JWTVerifier
	if f := n.cfg.JWTPublicKeyFile; f != "" {
		var err error
		if jv, err = auth.NewJWTVerifier(f, n.cfg.JWTIssuer, n.cfg.JWTAudience, nil); err != nil {
			return httpapi.Security{}, err
		}
	}
	return httpapi.Security{
		JWT:      jv,
		Auth:     n.cfg.Auth,
		Verifier: auth.NewVerifier(n.cfg.TokenCacheTTL, nil),
		Origins:  n.origins(),
		Audit:    n.cfg.AuditLogger,
		TLS:      n.cfg.clientTLS(),
		Insecure: n.cfg.Insecure,

		RecheckInterval: n.cfg.Timing.AccessRecheck,
	}, nil
}

func (n *Node) origins() auth.OriginPolicy {
	trusted := []string{}
	if n.cfg.AdvertiseAddr != "" {
		trusted = append(trusted, n.cfg.AdvertiseAddr)
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		trusted = append(trusted, h)
	}
	return auth.OriginPolicy{Allowed: n.cfg.AllowedOrigins, TrustedHosts: trusted}
}

// checkOrigin is the WebSocket upgrader's origin check.
func (n *Node) checkOrigin(r *http.Request) bool { return n.origins().Check(r) }

// BootstrapAuth creates the first admin of a cluster with authentication
// on, once: when the metadata holds no principal and was never
// bootstrapped. The token is read from Config.BootstrapAdminTokenFile
// (created with a fresh token when missing), else generated and written
// to <DataDir>/admin-token (0600) — kept only if this node's bootstrap is
// the one that committed. It returns the file holding the token when this
// call created the admin, "" otherwise. Start calls it on a node that
// bootstraps alone; sluice server calls it on every node once ready.
func (n *Node) BootstrapAuth(ctx context.Context) (string, error) {
	if !n.cfg.Auth {
		return "", nil
	}
	if c := n.metadata(); c.AuthBootstrapped || len(c.Principals) > 0 {
		return "", nil
	}
	path, generated := n.cfg.BootstrapAdminTokenFile, false
	if path == "" {
		path, generated = filepath.Join(n.cfg.DataDir, AdminTokenFile), true
	}
	tok, err := readOrCreateToken(path, generated)
	if err != nil {
		return "", err
	}
	id, _ := auth.TokenID(tok)
	cmd := meta.Command{Op: meta.OpBootstrapAuth, BootstrapAuth: &meta.BootstrapAuth{Principal: meta.CreatePrincipal{
		Name: BootstrapAdminName, Kind: meta.PrincipalUser, Token: meta.Token{ID: id, Hash: auth.HashToken(tok)}}}}
	res, err := n.proposeISR(n.source)(ctx, cmd)
	if err != nil {
		if generated {
			_ = os.Remove(path)
		}
		return "", fmt.Errorf("bootstrap the first admin: %w", err)
	}
	if !res.Changed {
		if generated {
			_ = os.Remove(path) // another node's bootstrap won
		}
		return "", nil
	}
	if n.broker != nil {
		if err := n.broker.WaitForVersion(ctx, res.Version); err != nil {
			return "", fmt.Errorf("bootstrap the first admin: %w", err)
		}
	}
	n.log.Warn("authentication bootstrapped: created principal "+BootstrapAdminName+" with admin on the cluster; its token is in the file named here (keep it secret)",
		"token_file", path)
	return path, nil
}

// readOrCreateToken returns the token in path; when the file is missing
// (or fresh is set) it writes a new token there with mode 0600 first.
func readOrCreateToken(path string, fresh bool) (string, error) {
	if !fresh {
		b, err := os.ReadFile(path)
		if err == nil {
			tok := strings.TrimSpace(string(b))
			if _, ok := auth.TokenID(tok); !ok {
				return "", fmt.Errorf("bootstrap admin token file %s: not a Sluice token (slu_<16 hex>_<secret>; sluice user gen-token makes one)", path)
			}
			return tok, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("bootstrap admin token file: %w", err)
		}
	}
	tok, _ := auth.NewToken()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("bootstrap admin token file: %w", err)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("bootstrap admin token file: %w", err)
	}
	return tok, nil
}
