package auth

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// OriginPolicy decides which browser origins may use the API across
// origins (CORS and WebSocket upgrades). A request without an Origin
// header (a program, not a browser) passes; so does one whose origin is
// the listener's own (scheme and host:port of the request). Allowed lists
// further origins ("https://console.example.com"); "*" allows any.
type OriginPolicy struct {
	Allowed []string
	// TrustedHosts are host names (no port) that name this node, for
	// HostAllowed: the advertised host, the machine's host name.
	TrustedHosts []string
}

// HostAllowed reports whether r's Host header names this node: an IP
// literal, localhost, a trusted host, or the host of an allowed origin.
// A DNS-rebinding page reaches the node under the attacker's own domain
// name, which fails this, while its requests are "same-origin" to the
// browser (and a same-origin GET carries no Origin at all).
func (p OriginPolicy) HostAllowed(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" || net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	for _, h := range p.TrustedHosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	for _, a := range p.Allowed {
		if a == "*" {
			return true
		}
		if u, err := url.Parse(a); err == nil && strings.EqualFold(u.Hostname(), host) {
			return true
		}
	}
	return false
}

// Check reports whether r's Origin is acceptable.
func (p OriginPolicy) Check(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	return SameOrigin(r, origin) || p.Listed(origin)
}

// Listed reports whether origin is in the allow-list (or the list holds
// "*").
func (p OriginPolicy) Listed(origin string) bool {
	origin = strings.TrimSuffix(strings.ToLower(origin), "/")
	return slices.ContainsFunc(p.Allowed, func(a string) bool {
		return a == "*" || strings.TrimSuffix(strings.ToLower(a), "/") == origin
	})
}

// SameOrigin reports whether origin names the server r reached: the same
// scheme (https when r came over TLS) and host:port as r.Host.
func SameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(hostPort(u.Host, u.Scheme), hostPort(r.Host, scheme))
}

// hostPort adds the scheme's default port to a host without one.
func hostPort(host, scheme string) string {
	if strings.LastIndex(host, ":") > strings.LastIndex(host, "]") {
		return host
	}
	if strings.EqualFold(scheme, "https") {
		return host + ":443"
	}
	return host + ":80"
}
