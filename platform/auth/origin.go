package auth

import (
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
