package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/sluicehq/sluice/sdk/wire"
)

// WithToken sends token as "Authorization: Bearer TOKEN" on every HTTP
// request and WebSocket upgrade.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithTLSConfig makes the client's own transport, and its WebSocket
// dialer, use cfg for https and wss URLs (trusted CAs, a client
// certificate). It has no effect on a transport given with
// WithHTTPClient.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *Client) { c.tls = cfg }
}

// TLSFiles names the files of a TLS client configuration: CAFile (PEM)
// holds the CAs to trust besides the system's; CertFile and KeyFile a
// client certificate for mutual TLS (both or neither).
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
}

// Config loads the files into a tls.Config; all empty gives nil (the
// system's roots, no client certificate).
func (f TLSFiles) Config() (*tls.Config, error) {
	if f.CAFile == "" && f.CertFile == "" && f.KeyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca file %s: no PEM certificate in it", f.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("client certificate: give both the certificate and the key file")
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// authorize adds the client's credential to h.
func (c *Client) authorize(h http.Header) {
	if c.token != "" {
		h.Set("Authorization", wire.AuthorizationScheme+" "+c.token)
	}
}

// Principals lists the users and service accounts (admin on the cluster).
func (c *Client) Principals(ctx context.Context) ([]wire.Principal, error) {
	var out wire.PrincipalList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/principals", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Principals, nil
}

// CreatePrincipal creates a user (kind "user" or "") or service account
// ("service") with a first token, returned once.
func (c *Client) CreatePrincipal(ctx context.Context, name, kind string) (wire.NewToken, error) {
	var out wire.NewToken
	err := c.doJSON(ctx, http.MethodPost, "/v1/principals", nil, wire.CreatePrincipalRequest{Name: name, Kind: kind}, &out)
	return out, err
}

// DeletePrincipal deletes a principal and its tokens.
func (c *Client) DeletePrincipal(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/v1/principals/"+seg(name), nil, nil, nil)
}

// CreateToken adds a token to a principal; the secret is returned once.
func (c *Client) CreateToken(ctx context.Context, principal string) (wire.NewToken, error) {
	var out wire.NewToken
	err := c.doJSON(ctx, http.MethodPost, "/v1/principals/"+seg(principal)+"/tokens", nil, struct{}{}, &out)
	return out, err
}

// RevokeToken removes one token of a principal.
func (c *Client) RevokeToken(ctx context.Context, principal, tokenID string) error {
	return c.doJSON(ctx, http.MethodDelete, "/v1/principals/"+seg(principal)+"/tokens/"+seg(tokenID), nil, nil, nil)
}

// ACLs lists the access control entries; principal and resourceType
// filter when not empty.
func (c *Client) ACLs(ctx context.Context, principal, resourceType string) ([]wire.ACL, error) {
	q := url.Values{}
	if principal != "" {
		q.Set("principal", principal)
	}
	if resourceType != "" {
		q.Set("resource_type", resourceType)
	}
	var out wire.ACLList
	if err := c.doJSON(ctx, http.MethodGet, "/v1/acls", q, nil, &out); err != nil {
		return nil, err
	}
	return out.ACLs, nil
}

// AddACL adds an entry and returns it with its id (an equal entry that
// exists already is returned as it is).
func (c *Client) AddACL(ctx context.Context, acl wire.ACL) (wire.ACL, error) {
	var out wire.ACL
	err := c.doJSON(ctx, http.MethodPost, "/v1/acls", nil, acl, &out)
	return out, err
}

// RemoveACL removes the entry with id.
func (c *Client) RemoveACL(ctx context.Context, id string) error {
	return c.doJSON(ctx, http.MethodDelete, "/v1/acls/"+seg(id), nil, nil, nil)
}

// WhoAmI asks the server who it takes the client for.
func (c *Client) WhoAmI(ctx context.Context) (wire.WhoAmI, error) {
	var out wire.WhoAmI
	err := c.doJSON(ctx, http.MethodGet, "/v1/whoami", nil, nil, &out)
	return out, err
}
