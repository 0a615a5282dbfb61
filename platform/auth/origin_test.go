package auth

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestOriginPolicy(t *testing.T) {
	p := OriginPolicy{Allowed: []string{"https://console.example.com"}}
	cases := []struct {
		name, host, origin string
		tls, want          bool
	}{
		{"no origin (not a browser)", "127.0.0.1:8080", "", false, true},
		{"same origin", "127.0.0.1:8080", "http://127.0.0.1:8080", false, true},
		{"same origin, case", "LOCALHOST:8080", "http://localhost:8080", false, true},
		{"other port", "127.0.0.1:8080", "http://127.0.0.1:9090", false, false},
		{"other scheme", "127.0.0.1:8080", "https://127.0.0.1:8080", false, false},
		{"https same origin, default port", "sluice.example.com", "https://sluice.example.com", true, true},
		{"https same origin, explicit port", "sluice.example.com:443", "https://sluice.example.com", true, true},
		{"foreign", "127.0.0.1:8080", "https://evil.example", false, false},
		{"listed", "127.0.0.1:8080", "https://console.example.com", false, true},
		{"listed with slash", "127.0.0.1:8080", "https://console.example.com/", false, true},
		{"null origin", "127.0.0.1:8080", "null", false, false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/v1/topics", nil)
		r.Host = tc.host
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := p.Check(r); got != tc.want {
			t.Errorf("%s: Check = %v, want %v", tc.name, got, tc.want)
		}
	}
	any := OriginPolicy{Allowed: []string{"*"}}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Origin", "https://evil.example")
	if !any.Check(r) {
		t.Error(`"*" does not allow every origin`)
	}
}

func TestHostAllowed(t *testing.T) {
	p := OriginPolicy{Allowed: []string{"https://console.example.com"}, TrustedHosts: []string{"node1.internal"}}
	for host, want := range map[string]bool{
		"127.0.0.1:8080":           true,
		"[::1]:8080":               true,
		"10.0.0.5":                 true,
		"localhost:8080":           true,
		"app.localhost":            true,
		"node1.internal:8080":      true,
		"NODE1.internal.":          true,
		"console.example.com":      true,
		"rebind.evil.example:8080": false,
		"evil.example":             false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		if got := p.HostAllowed(r); got != want {
			t.Errorf("HostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}
