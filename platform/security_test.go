package platform_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/auth/authtest"
	"github.com/sluicehq/sluice/platform/httpapi"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// syncBuf is a goroutine-safe buffer for the audit log.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// secureNode is a node with TLS (certificates from a test CA), client
// certificates verified against the same CA, and auth on.
type secureNode struct {
	*testnode.Node
	ca         *authtest.CA
	dir        string
	certFile   string
	keyFile    string
	adminToken string
	audit      *syncBuf
	tls        *tls.Config // trusts the CA
}

func startSecure(t *testing.T, opts ...testnode.Option) *secureNode {
	t.Helper()
	dir := t.TempDir()
	ca := authtest.NewCA(t, "sluice-test-ca")
	certPEM, keyPEM := ca.Issue(t, "node-1", false)
	certFile, keyFile := authtest.WriteFiles(t, dir, "server", certPEM, keyPEM)
	caFile := ca.WriteCA(t, dir, "ca")
	audit := &syncBuf{}
	all := append([]testnode.Option{testnode.WithConfig(func(c *platform.Config) {
		c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = certFile, keyFile, caFile
		c.Auth = true
		c.AuditLogger = slog.New(slog.NewJSONHandler(audit, nil))
	})}, opts...)
	n := testnode.Start(t, all...)
	b, err := os.ReadFile(filepath.Join(n.Config.DataDir, platform.AdminTokenFile))
	if err != nil {
		t.Fatalf("bootstrap token: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(n.Config.DataDir, platform.AdminTokenFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("admin token file mode %v, want 0600", st.Mode().Perm())
	}
	return &secureNode{Node: n, ca: ca, dir: dir, certFile: certFile, keyFile: keyFile,
		adminToken: strings.TrimSpace(string(b)), audit: audit, tls: &tls.Config{RootCAs: ca.Pool()}}
}

// client returns a Go client of the node using token (none if "").
func (s *secureNode) client(t *testing.T, token string) *client.Client {
	t.Helper()
	opts := []client.Option{client.WithTLSConfig(s.tls)}
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	cl, err := client.New(s.URL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// raw sends one request; token "" sends none.
func (s *secureNode) raw(t *testing.T, method, path, token, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: s.tls, DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// dialWS opens a WebSocket to path; it returns the HTTP status of the
// upgrade answer (101 when it succeeded).
func (s *secureNode) dialWS(t *testing.T, path string, h http.Header, subprotocols ...string) (int, *websocket.Conn) {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: s.tls, Subprotocols: subprotocols, HandshakeTimeout: 30 * time.Second}
	url := strings.Replace(s.URL(), "https://", "wss://", 1) + path
	ws, resp, err := d.Dial(url, h)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	t.Cleanup(func() { ws.Close() })
	return resp.StatusCode, ws
}

func bearer(token string) http.Header {
	if token == "" {
		return http.Header{}
	}
	return http.Header{"Authorization": {"Bearer " + token}}
}

// TestACLMatrix: for each operation, a principal the ACLs allow and one
// they deny (an allow and a deny for the same thing: deny wins), over
// HTTP and, for produce and consume, WebSocket, on a real TLS node.
func TestACLMatrix(t *testing.T) {
	s := startSecure(t)
	ctx := context.Background()
	admin := s.client(t, s.adminToken)
	if who, err := admin.WhoAmI(ctx); err != nil || who.Principal != platform.BootstrapAdminName || who.Method != "token" || !who.AuthEnabled {
		t.Fatalf("whoami as admin: %+v %v", who, err)
	}
	for _, name := range []string{"orders", "doomed-ok", "doomed-no"} {
		if _, err := admin.CreateTopic(ctx, wire.CreateTopicRequest{Name: name, Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	topicACL := func(principal, topic, op, effect string) wire.ACL {
		return wire.ACL{Principal: principal, ResourceType: meta.ResourceTopic, Resource: topic, Operation: op, Effect: effect}
	}
	type call struct {
		method, path, ctype, body string
	}
	cases := []struct {
		op      string
		acls    func(p string, effect string) []wire.ACL
		allowed call // as the allowed principal
		denied  call // as the denied one
		// wantOK is the status the allowed call gets (authorization
		// passed; the handler's own answer).
		wantOK int
		ws     string // a WebSocket path checked with both, if set
	}{
		{op: "produce", acls: func(p, e string) []wire.ACL { return []wire.ACL{topicACL(p, "orders", "produce", e)} },
			allowed: call{"POST", "/v1/topics/orders/records", wire.MediaTypeJSON, `{"records":[{"value":"x"}]}`}, wantOK: 200,
			ws: "/v1/topics/orders/produce"},
		{op: "consume", acls: func(p, e string) []wire.ACL {
			return []wire.ACL{topicACL(p, "orders", "consume", e),
				{Principal: p, ResourceType: meta.ResourceGroup, Resource: "g", Operation: "consume", Effect: e}}
		},
			allowed: call{"GET", "/v1/topics/orders/partitions/0/records?offset=0&max_wait_ms=0", "", ""}, wantOK: 200,
			ws: "/v1/topics/orders/consume?group=g"},
		{op: "describe", acls: func(p, e string) []wire.ACL { return []wire.ACL{topicACL(p, "orders", "describe", e)} },
			allowed: call{"GET", "/v1/topics/orders", "", ""}, wantOK: 200},
		{op: "create", acls: func(p, e string) []wire.ACL {
			a := topicACL(p, "new.", "create", e)
			a.Pattern = meta.PatternPrefix
			return []wire.ACL{a}
		},
			allowed: call{"POST", "/v1/topics", wire.MediaTypeJSON, `{"name":"new.ok","partitions":1}`}, wantOK: 201,
			denied: call{"POST", "/v1/topics", wire.MediaTypeJSON, `{"name":"new.no","partitions":1}`}},
		{op: "alter", acls: func(p, e string) []wire.ACL { return []wire.ACL{topicACL(p, "orders", "alter", e)} },
			allowed: call{"PATCH", "/v1/topics/orders", wire.MediaTypeJSON, `{"config":{"retention.ms":"3600000"}}`}, wantOK: 200},
		{op: "delete", acls: func(p, e string) []wire.ACL {
			return []wire.ACL{topicACL(p, "doomed-ok", "delete", e), topicACL(p, "doomed-no", "delete", e)}
		},
			allowed: call{"DELETE", "/v1/topics/doomed-ok", "", ""}, wantOK: 204,
			denied: call{"DELETE", "/v1/topics/doomed-no", "", ""}},
		{op: "upload", acls: func(p, e string) []wire.ACL {
			return []wire.ACL{{Principal: p, ResourceType: meta.ResourcePlugin, Resource: "p", Operation: "upload", Effect: e}}
		},
			// Not a module: authorization passed, validation refuses it.
			allowed: call{"POST", "/v1/plugins/p?kind=partitioner", wire.MediaTypeWasm, "not wasm"}, wantOK: 400},
		{op: "admin", acls: func(p, e string) []wire.ACL {
			return []wire.ACL{{Principal: p, ResourceType: meta.ResourceCluster, Operation: "admin", Effect: e}}
		},
			allowed: call{"GET", "/v1/principals", "", ""}, wantOK: 200},
	}
	for _, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			ok, err := admin.CreatePrincipal(ctx, "ok-"+tc.op, "")
			if err != nil {
				t.Fatal(err)
			}
			no, err := admin.CreatePrincipal(ctx, "no-"+tc.op, wire.PrincipalServiceAccount)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tc.acls(ok.Principal, "allow") {
				if _, err := admin.AddACL(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			// The denied principal has the same allows, and denies: deny wins.
			for _, a := range append(tc.acls(no.Principal, "allow"), tc.acls(no.Principal, "deny")...) {
				if _, err := admin.AddACL(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			denied := tc.denied
			if denied.method == "" {
				denied = tc.allowed
			}
			if st, raw := s.raw(t, denied.method, denied.path, no.Token, denied.ctype, []byte(denied.body)); st != http.StatusForbidden {
				t.Errorf("denied %s %s: %d %s, want 403", denied.method, denied.path, st, raw)
			}
			if st, raw := s.raw(t, tc.allowed.method, tc.allowed.path, ok.Token, tc.allowed.ctype, []byte(tc.allowed.body)); st != tc.wantOK {
				t.Errorf("allowed %s %s: %d %s, want %d", tc.allowed.method, tc.allowed.path, st, raw, tc.wantOK)
			}
			if tc.ws != "" {
				if st, _ := s.dialWS(t, tc.ws, bearer(no.Token)); st != http.StatusForbidden {
					t.Errorf("denied websocket %s: %d, want 403", tc.ws, st)
				}
				if st, _ := s.dialWS(t, tc.ws, bearer(ok.Token)); st != http.StatusSwitchingProtocols {
					t.Errorf("allowed websocket %s: %d, want 101", tc.ws, st)
				}
				// The browser way: the token in a subprotocol.
				st, ws := s.dialWS(t, tc.ws, http.Header{}, wire.WSSubprotocol, wire.WSTokenSubprotocolPrefix+ok.Token)
				if st != http.StatusSwitchingProtocols || ws.Subprotocol() != wire.WSSubprotocol {
					t.Errorf("websocket with a subprotocol token: %d", st)
				}
			}
			if !strings.Contains(s.audit.String(), `"principal":"`+no.Principal+`"`) {
				t.Errorf("no audit record of the denial of %s", no.Principal)
			}
		})
	}
	// Lists: without describe on the cluster, a principal sees only the
	// topics it may describe.
	lister, err := admin.CreatePrincipal(ctx, "lister", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddACL(ctx, topicACL(lister.Principal, "orders", "consume", "allow")); err != nil {
		t.Fatal(err)
	}
	lc := s.client(t, lister.Token)
	topics, err := lc.ListTopics(ctx)
	if err != nil || len(topics) != 1 || topics[0].Name != "orders" {
		t.Errorf("topics listed for a consumer of orders: %+v %v", topics, err)
	}
	if groups, err := lc.ListGroups(ctx); err != nil || len(groups) != 0 {
		t.Errorf("groups listed for a principal with no group ACL: %+v %v", groups, err)
	}
	if all, err := admin.ListTopics(ctx); err != nil || len(all) < 3 {
		t.Errorf("admin's topic list: %+v %v", all, err)
	}

	// A consumer may not join a group it has no ACL for.
	cons, err := admin.CreatePrincipal(ctx, "topic-only", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddACL(ctx, topicACL(cons.Principal, "orders", "consume", "allow")); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.dialWS(t, "/v1/topics/orders/consume", bearer(cons.Token)); st != http.StatusSwitchingProtocols {
		t.Errorf("consume without a group: %d, want 101", st)
	}
	if st, _ := s.dialWS(t, "/v1/topics/orders/consume?group=other", bearer(cons.Token)); st != http.StatusForbidden {
		t.Errorf("consume in a group without its ACL: %d, want 403", st)
	}
	// Admin actions are audited with the principal.
	if a := s.audit.String(); !strings.Contains(a, `"msg":"admin action"`) || !strings.Contains(a, `"principal":"admin"`) {
		t.Errorf("admin actions not audited:\n%.2000s", a)
	}
	// Revocation takes effect on the next request (the cache does not
	// outlive the token).
	cl := s.client(t, cons.Token)
	if _, err := cl.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	if err := admin.RevokeToken(ctx, cons.Principal, cons.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WhoAmI(ctx); !errors.Is(err, client.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
}

// pathFor fills a route's path values with "x" (partition 0).
func pathFor(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	r := strings.NewReplacer("{topic}", "x", "{partition}", "0", "{name}", "x", "{group}", "x", "{version}", "1",
		"{principal}", "x", "{token}", "x", "{acl}", "x", "{$}", "")
	return method, r.Replace(path)
}

// TestAnonymousRefusedEverywhere: with auth on, every registered route
// outside /internal/ but the public ones answers 401 to a request without
// a credential, and no route lacks an access rule.
func TestAnonymousRefusedEverywhere(t *testing.T) {
	s := startSecure(t)
	if missing := s.API().UnguardedRoutes(); len(missing) > 0 {
		t.Fatalf("routes without an access rule: %v", missing)
	}
	checked := 0
	for _, pattern := range s.API().Routes() {
		_, op, public, ok := httpapi.RouteAccessFor(pattern)
		if strings.Contains(pattern, " /internal/") {
			continue
		}
		if !ok {
			t.Errorf("%s: no access rule", pattern)
			continue
		}
		method, path := pathFor(pattern)
		st, raw := s.raw(t, method, path, "", wire.MediaTypeJSON, []byte(`{"name":"x"}`))
		if public {
			if st == http.StatusUnauthorized || st == http.StatusForbidden {
				t.Errorf("public %s: %d", pattern, st)
			}
			continue
		}
		checked++
		if st != http.StatusUnauthorized {
			t.Errorf("anonymous %s (%s): %d %s, want 401", pattern, op, st, raw)
		}
		// A bad token is refused the same way.
		if st, _ := s.raw(t, method, path, "slu_0123456789abcdef_forged", wire.MediaTypeJSON, []byte(`{"name":"x"}`)); st != http.StatusUnauthorized {
			t.Errorf("forged token %s: %d, want 401", pattern, st)
		}
	}
	if checked < 25 {
		t.Fatalf("only %d guarded routes checked", checked)
	}
	if st, _ := s.dialWS(t, "/v1/topics/x/consume", nil); st != http.StatusUnauthorized {
		t.Errorf("anonymous websocket: %d, want 401", st)
	}
}

func servedSerial(t *testing.T, url string, pool *x509.CertPool) string {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	resp, err := hc.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.String()
}

// TestClientTLSAndRotation: the client listener serves the configured
// certificate, refuses plain HTTP, takes a new certificate from changed
// files without a restart (and at once on ReloadTLS), and client
// certificates signed by the client CA authenticate by their CN.
func TestClientTLSAndRotation(t *testing.T) {
	s := startSecure(t)
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s is not https", s.URL())
	}
	first := servedSerial(t, s.URL(), s.ca.Pool())
	if resp, err := http.Get(strings.Replace(s.URL(), "https://", "http://", 1) + "/healthz"); err == nil {
		if resp.StatusCode < 400 {
			t.Errorf("plain HTTP served: %d", resp.StatusCode)
		}
		resp.Body.Close()
	}

	// Rotation by file change: picked up on a handshake after the check
	// interval.
	c2, k2 := s.ca.Issue(t, "node-1-rotated", false)
	authtest.WriteFiles(t, s.dir, "server", c2, k2)
	later := time.Now().Add(time.Minute)
	os.Chtimes(s.certFile, later, later)
	var second string
	eventually(t, "the rotated certificate is served", func() (bool, string) {
		second = servedSerial(t, s.URL(), s.ca.Pool())
		return second != first, "serial " + second
	})
	// Rotation by ReloadTLS (SIGHUP in sluice server).
	c3, k3 := s.ca.Issue(t, "node-1-third", false)
	authtest.WriteFiles(t, s.dir, "server", c3, k3)
	if err := s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if third := servedSerial(t, s.URL(), s.ca.Pool()); third == second {
		t.Error("ReloadTLS did not serve the third certificate")
	}

	// A client certificate from the client CA: its CN is the principal.
	ctx := context.Background()
	admin := s.client(t, s.adminToken)
	if _, err := admin.AddACL(ctx, wire.ACL{Principal: "carol", ResourceType: meta.ResourceCluster, Operation: "describe"}); err != nil {
		t.Fatal(err)
	}
	cc, ck := s.ca.Issue(t, "carol", true)
	pair, err := tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	withCert, err := client.New(s.URL(), client.WithTLSConfig(&tls.Config{RootCAs: s.ca.Pool(), Certificates: []tls.Certificate{pair}}))
	if err != nil {
		t.Fatal(err)
	}
	defer withCert.Close()
	who, err := withCert.WhoAmI(ctx)
	if err != nil || who.Principal != "carol" || who.Method != "certificate" {
		t.Fatalf("whoami with a client certificate: %+v %v", who, err)
	}
	info, err := withCert.Cluster(ctx)
	if err != nil {
		t.Fatalf("describe cluster as carol: %v", err)
	}
	if !info.Security.TLS || !info.Security.Auth || info.Security.Insecure {
		t.Errorf("cluster security %+v", info.Security)
	}
	if _, err := withCert.ListTopics(ctx); err != nil {
		t.Errorf("list topics (cluster describe) as carol: %v", err)
	}
	if _, err := withCert.Principals(ctx); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("principals as carol: %v, want forbidden", err)
	}
	// A certificate from another CA does not get through the handshake.
	other := authtest.NewCA(t, "other-ca")
	oc, ok := other.Issue(t, "admin", true)
	opair, _ := tls.X509KeyPair(oc, ok)
	// (Sent even though the server names another CA: a client picking
	// by the server's list would send none and be anonymous.)
	forced := &tls.Config{RootCAs: s.ca.Pool(), GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &opair, nil }}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: forced}}
	if resp, err := hc.Get(s.URL() + "/v1/cluster"); err == nil {
		resp.Body.Close()
		t.Fatalf("a foreign client certificate was accepted: %d", resp.StatusCode)
	}
	hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.ca.Pool(), Certificates: []tls.Certificate{opair}}}}
	if resp, err := hc.Get(s.URL() + "/v1/cluster"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a client with a certificate the server does not ask for: %v, want 401 (anonymous)", err)
	} else {
		resp.Body.Close()
	}
}

// TestBrowserOrigin: a cross-origin page can neither post a simple
// (text/plain, form) request nor open a WebSocket; same-origin and listed
// origins can, with CORS headers for the listed one. Auth is off (as in
// sluice dev), so only the browser checks stand in the way.
func TestBrowserOrigin(t *testing.T) {
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) {
		c.AllowedOrigins = []string{"https://console.example.com"}
	}))
	base := n.URL()
	do := func(method, path, ctype, origin, body string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	create := `{"name":"csrf","partitions":1}`
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		if r := do("POST", "/v1/topics", ct, "https://evil.example", create); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST %q: %d, want 403", ct, r.StatusCode)
		}
		if r := do("POST", "/v1/topics", ct, "", create); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST %q without an Origin: %d, want 403", ct, r.StatusCode)
		}
	}
	if r := do("POST", "/v1/topics", wire.MediaTypeJSON, "https://evil.example", create); r.StatusCode != http.StatusForbidden {
		t.Errorf("JSON POST from a foreign origin: %d, want 403", r.StatusCode)
	}
	if r := do("DELETE", "/v1/topics/x", "", "https://evil.example", ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("DELETE from a foreign origin: %d, want 403", r.StatusCode)
	}
	if _, ok := n.Controller().Metadata().Topics["csrf"]; ok {
		t.Fatal("a refused request created the topic")
	}
	// Preflight: a listed origin gets CORS headers, a foreign one 403.
	r := do("OPTIONS", "/v1/topics", "", "https://console.example.com", "", "Access-Control-Request-Method", "POST")
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "https://console.example.com" {
		t.Errorf("preflight of a listed origin: %d %v", r.StatusCode, r.Header)
	}
	if r := do("OPTIONS", "/v1/topics", "", "https://evil.example", "", "Access-Control-Request-Method", "POST"); r.StatusCode != http.StatusForbidden {
		t.Errorf("preflight of a foreign origin: %d", r.StatusCode)
	}
	if r := do("POST", "/v1/topics", wire.MediaTypeJSON, "https://console.example.com", create); r.StatusCode != http.StatusCreated ||
		r.Header.Get("Access-Control-Allow-Origin") != "https://console.example.com" {
		t.Errorf("JSON POST from a listed origin: %d %v", r.StatusCode, r.Header)
	}
	// Same origin: the console's own page.
	if r := do("POST", "/v1/topics", wire.MediaTypeJSON, base, `{"name":"same","partitions":1}`); r.StatusCode != http.StatusCreated {
		t.Errorf("same-origin JSON POST: %d", r.StatusCode)
	}

	// DNS rebinding: a page whose own name now resolves to the node. Its
	// requests are same-origin to the browser; a GET carries no Origin.
	_, port, _ := strings.Cut(strings.TrimPrefix(base, "http://"), ":")
	for _, origin := range []string{"", "http://rebind.evil.example:" + port} {
		req, _ := http.NewRequest("GET", base+"/v1/topics", nil)
		req.Host = "rebind.evil.example:" + port
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("rebound host, origin %q: %d, want 403", origin, resp.StatusCode)
		}
	}

	wsURL := strings.Replace(base, "http://", "ws://", 1) + "/v1/topics/same/consume"
	dial := func(origin string) int {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(wsURL, h)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		ws.Close()
		return resp.StatusCode
	}
	if st := dial("https://evil.example"); st != http.StatusForbidden {
		t.Errorf("websocket from a foreign origin: %d, want 403", st)
	}
	if st := dial(base); st != http.StatusSwitchingProtocols {
		t.Errorf("same-origin websocket: %d, want 101", st)
	}
	if st := dial("https://console.example.com"); st != http.StatusSwitchingProtocols {
		t.Errorf("websocket from a listed origin: %d, want 101", st)
	}
	if st := dial(""); st != http.StatusSwitchingProtocols {
		t.Errorf("websocket without an Origin (a program): %d, want 101", st)
	}
}

// TestStartupGate: a node reachable from other machines needs TLS and
// auth, or an explicit Insecure.
func TestStartupGate(t *testing.T) {
	base := platform.DefaultConfig()
	cases := []struct {
		name   string
		change func(*platform.Config)
		ok     bool
	}{
		{"loopback, no TLS", func(*platform.Config) {}, true},
		{"all interfaces, no TLS", func(c *platform.Config) { c.HTTPAddr = ":8080" }, false},
		{"public serf", func(c *platform.Config) { c.SerfAddr = "10.0.0.1:7946" }, false},
		{"public join", func(c *platform.Config) { c.Join = []string{"10.0.0.2:7946"} }, false},
		{"advertised", func(c *platform.Config) { c.AdvertiseAddr = "node1.example.com" }, false},
		{"TLS without auth", func(c *platform.Config) { c.HTTPAddr = ":8080"; c.TLSCertFile, c.TLSKeyFile = "c", "k" }, false},
		{"TLS and auth", func(c *platform.Config) { c.HTTPAddr = ":8080"; c.TLSCertFile, c.TLSKeyFile, c.Auth = "c", "k", true }, true},
		{"insecure", func(c *platform.Config) { c.HTTPAddr = ":8080"; c.SerfAddr = ":7946"; c.Insecure = true }, true},
		{"cert without key", func(c *platform.Config) { c.TLSCertFile = "c" }, false},
		{"client CA without TLS", func(c *platform.Config) { c.TLSClientCAFile = "ca" }, false},
		{"origins", func(c *platform.Config) {
			c.AllowedOrigins = []string{"https://a.example", "http://b.example:8080", "*"}
		}, true},
		{"origin with a path", func(c *platform.Config) { c.AllowedOrigins = []string{"https://a.example/app"} }, false},
		{"origin without a scheme", func(c *platform.Config) { c.AllowedOrigins = []string{"a.example"} }, false},
	}
	for _, tc := range cases {
		c := base
		tc.change(&c)
		err := c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, platform.ErrInvalidConfig) {
			t.Errorf("%s: %v is not ErrInvalidConfig", tc.name, err)
		}
	}
}

// TestInsecureIsReported: an --insecure node says so in /v1/cluster.
func TestInsecureIsReported(t *testing.T) {
	n := testnode.Start(t, testnode.WithConfig(func(c *platform.Config) { c.Insecure = true }))
	resp, err := http.Get(n.URL() + "/v1/cluster")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c wire.Cluster
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if !c.Security.Insecure || c.Security.Auth || c.Security.TLS {
		t.Errorf("security %+v", c.Security)
	}
}

// TestSecureTwoNodes: a second node with its own certificate from the
// cluster CA joins; through it (not the controller, not the coordinator)
// an authenticated client creates a topic, produces, and consumes in a
// group, which needs the nodes' TLS calls to each other.
func TestSecureTwoNodes(t *testing.T) {
	s := startSecure(t)
	c2, k2 := s.ca.Issue(t, "node-2", false)
	cert2, key2 := authtest.WriteFiles(t, s.dir, "node2", c2, k2)
	n2 := testnode.Join(t, s.Node, 2, nil, testnode.WithConfig(func(c *platform.Config) {
		c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = cert2, key2, s.Config.TLSClientCAFile
		c.Auth = true
	}))
	if _, err := n2.BootstrapAuth(context.Background()); err != nil {
		t.Fatalf("bootstrap on the joined node: %v", err)
	}
	if _, err := os.Stat(filepath.Join(n2.Config.DataDir, platform.AdminTokenFile)); err == nil {
		t.Error("the joined node wrote a second admin token")
	}
	ctx := context.Background()
	via := &secureNode{Node: n2, tls: s.tls}
	cl := via.client(t, s.adminToken)
	eventually(t, "create through node 2", func() (bool, string) {
		// A joining controller may not know the leader yet: retriable.
		_, err := cl.CreateTopic(ctx, wire.CreateTopicRequest{Name: "both", Partitions: 4, ReplicationFactor: 2})
		if err != nil && !errors.Is(err, client.ErrNotController) {
			t.Fatalf("create through node 2: %v", err)
		}
		return err == nil, fmt.Sprint(err)
	})
	var recs []client.Record
	for i := range 8 {
		recs = append(recs, client.Record{Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v")})
	}
	eventually(t, "produce through node 2 to every partition", func() (bool, string) {
		res, err := cl.Produce(ctx, "both", recs, client.ProduceOptions{Acks: client.AcksAll})
		if err != nil {
			return false, err.Error()
		}
		for _, r := range res {
			if r.Err != nil {
				return false, r.Err.Error()
			}
		}
		return true, ""
	})
	cons, err := cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "both", Group: "g2", From: "earliest"})
	if err != nil {
		t.Fatalf("group consume through node 2: %v", err)
	}
	defer cons.Close()
	for got := 0; got < len(recs); {
		b, err := cons.Poll(ctx)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		got += len(b.Records)
	}
	groups, err := cl.ListGroups(ctx)
	if err != nil || len(groups) == 0 {
		t.Fatalf("group list across both nodes: %v %v", groups, err)
	}
	// Anonymous through node 2: refused.
	if st, _ := via.raw(t, "GET", "/v1/topics", "", "", nil); st != http.StatusUnauthorized {
		t.Errorf("anonymous list through node 2: %d", st)
	}
}

// TestJWTPrincipals: with an identity provider's key configured, a bearer
// JWT authenticates as its subject over HTTP and WebSocket; an expired or
// foreign one is refused.
func TestJWTPrincipals(t *testing.T) {
	idp := authtest.NewIdP(t)
	keyFile := idp.WritePublicKey(t, t.TempDir(), "idp")
	s := startSecure(t, testnode.WithConfig(func(c *platform.Config) {
		c.JWTPublicKeyFile, c.JWTIssuer, c.JWTAudience = keyFile, "https://idp.example", "sluice"
	}))
	ctx := context.Background()
	admin := s.client(t, s.adminToken)
	if _, err := admin.CreateTopic(ctx, wire.CreateTopicRequest{Name: "jwt-topic", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddACL(ctx, wire.ACL{Principal: "dana@example.com", ResourceType: meta.ResourceTopic, Resource: "jwt-topic", Operation: "consume"}); err != nil {
		t.Fatal(err)
	}
	claims := func(exp time.Duration, iss string) map[string]any {
		return map[string]any{"sub": "dana@example.com", "iss": iss, "aud": "sluice", "exp": time.Now().Add(exp).Unix()}
	}
	good := idp.Sign(t, claims(time.Hour, "https://idp.example"))
	who, err := s.client(t, good).WhoAmI(ctx)
	if err != nil || who.Principal != "dana@example.com" || who.Method != "jwt" {
		t.Fatalf("whoami with a JWT: %+v %v", who, err)
	}
	if st, raw := s.raw(t, "GET", "/v1/topics/jwt-topic/partitions/0/records?offset=0&max_wait_ms=0", good, "", nil); st != http.StatusOK {
		t.Errorf("fetch with a JWT: %d %s", st, raw)
	}
	if st, _ := s.raw(t, "DELETE", "/v1/topics/jwt-topic", good, "", nil); st != http.StatusForbidden {
		t.Errorf("delete with a consume-only JWT: %d, want 403", st)
	}
	if st, _ := s.dialWS(t, "/v1/topics/jwt-topic/consume", bearer(good)); st != http.StatusSwitchingProtocols {
		t.Errorf("websocket with a JWT: %d", st)
	}
	for name, tok := range map[string]string{
		"expired":        idp.Sign(t, claims(-time.Hour, "https://idp.example")),
		"another issuer": idp.Sign(t, claims(time.Hour, "https://evil.example")),
		"another key":    authtest.NewIdP(t).Sign(t, claims(time.Hour, "https://idp.example")),
	} {
		if st, _ := s.raw(t, "GET", "/v1/topics/jwt-topic", tok, "", nil); st != http.StatusUnauthorized {
			t.Errorf("%s JWT: %d, want 401", name, st)
		}
	}
}

// TestWebSocketLosesAccess: an open WebSocket is checked again while it
// runs (every Timing.AccessRecheck): revoking its token, or removing the
// ACL it relies on, closes it with 1008 (policy violation).
func TestWebSocketLosesAccess(t *testing.T) {
	s := startSecure(t)
	ctx := context.Background()
	admin := s.client(t, s.adminToken)
	if _, err := admin.CreateTopic(ctx, wire.CreateTopicRequest{Name: "live", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	p, err := admin.CreatePrincipal(ctx, "streamer", "")
	if err != nil {
		t.Fatal(err)
	}
	consume, err := admin.AddACL(ctx, wire.ACL{Principal: p.Principal, ResourceType: meta.ResourceTopic, Resource: "live", Operation: "consume"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddACL(ctx, wire.ACL{Principal: p.Principal, ResourceType: meta.ResourceTopic, Resource: "live", Operation: "produce"}); err != nil {
		t.Fatal(err)
	}
	closedWith := func(ws *websocket.Conn) int {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(replicationWait))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					return ce.Code
				}
				t.Fatalf("read: %v (want a close frame)", err)
			}
		}
	}
	// Removing the consume ACL closes the consumer; the producer stays.
	st, cons := s.dialWS(t, "/v1/topics/live/consume", bearer(p.Token))
	if st != http.StatusSwitchingProtocols {
		t.Fatalf("consume: %d", st)
	}
	st, prod := s.dialWS(t, "/v1/topics/live/produce", bearer(p.Token))
	if st != http.StatusSwitchingProtocols {
		t.Fatalf("produce: %d", st)
	}
	if err := admin.RemoveACL(ctx, consume.ID); err != nil {
		t.Fatal(err)
	}
	if code := closedWith(cons); code != websocket.ClosePolicyViolation {
		t.Errorf("consumer closed with %d, want %d", code, websocket.ClosePolicyViolation)
	}
	// The producer, still allowed, still produces after several rechecks.
	for seq := 1; seq <= 3; seq++ {
		time.Sleep(250 * time.Millisecond) // longer than AccessRecheck: rechecks run in between
		if err := prod.WriteJSON(map[string]any{"type": "produce", "seq": seq, "records": []map[string]string{{"value": "v"}}}); err != nil {
			t.Fatalf("produce %d: %v", seq, err)
		}
		var ack struct {
			Type  string      `json:"type"`
			Seq   int         `json:"seq"`
			Error *wire.Error `json:"error"`
		}
		prod.SetReadDeadline(time.Now().Add(replicationWait))
		if err := prod.ReadJSON(&ack); err != nil || ack.Type != "ack" || ack.Seq != seq || ack.Error != nil {
			t.Fatalf("ack %d: %+v %v", seq, ack, err)
		}
	}
	// Revoking the token closes the producer.
	if err := admin.RevokeToken(ctx, p.Principal, p.ID); err != nil {
		t.Fatal(err)
	}
	if code := closedWith(prod); code != websocket.ClosePolicyViolation {
		t.Errorf("producer closed with %d, want %d", code, websocket.ClosePolicyViolation)
	}
}
