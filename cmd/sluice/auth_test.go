package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/auth/authtest"
	"github.com/sluicehq/sluice/platform/testnode"
)

// TestUserAndACLCommands: on a `sluice server` with auth on (the
// default), the bootstrap admin creates a user and grants it produce on
// one topic; the user's token produces there and is refused elsewhere;
// revoking the token locks it out.
func TestUserAndACLCommands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	url, _ := serveInBackground(t, "server", "--data-dir", data, "--http-addr", "127.0.0.1:0",
		"--raft-addr", freeAddr(t), "--serf-addr", freeAddr(t), "--cluster-addr", "127.0.0.1:0", "--audit-log", filepath.Join(dir, "audit.jsonl"))
	raw, err := os.ReadFile(filepath.Join(data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	as := func(token string, args ...string) cliResult {
		return sluice(t, url, "", append([]string{"--token", token}, args...)...)
	}
	mustAs := func(token string, args ...string) cliResult {
		t.Helper()
		r := as(token, args...)
		if r.code != 0 {
			t.Fatalf("sluice %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r
	}
	if w := mustAs(admin, "user", "whoami").stdout; w != "admin (by token)\n" {
		t.Errorf("whoami: %q", w)
	}
	mustAs(admin, "topic", "create", "orders")
	mustAs(admin, "topic", "create", "other")
	r := mustAs(admin, "user", "create", "alice", "-o", "json")
	var tok string
	for _, f := range strings.Split(r.stdout, "\"") {
		if strings.HasPrefix(f, "slu_") {
			tok = f
		}
	}
	if tok == "" {
		t.Fatalf("no token in %s", r.stdout)
	}
	id := mustAs(admin, "acl", "add", "--principal", "alice", "--topic", "orders", "--operation", "produce").stdout
	if !strings.HasPrefix(id, "acl-") {
		t.Fatalf("acl add printed %q", id)
	}
	if l := mustAs(admin, "acl", "list", "--principal", "alice").stdout; !strings.Contains(l, "produce") || !strings.Contains(l, "orders") {
		t.Errorf("acl list: %s", l)
	}
	if l := mustAs(admin, "user", "list").stdout; !strings.Contains(l, "alice") || !strings.Contains(l, "admin") {
		t.Errorf("user list: %s", l)
	}
	if r := sluice(t, url, "hello\n", "--token", tok, "produce", "orders"); r.code != 0 {
		t.Fatalf("alice produce: %s", r.stderr)
	}
	if r := sluice(t, url, "hello\n", "--token", tok, "produce", "other"); r.code == 0 || !strings.Contains(r.stderr, "may not") {
		t.Errorf("alice produce to other: exit %d %s", r.code, r.stderr)
	}
	if r := as(tok, "topic", "delete", "orders"); r.code == 0 {
		t.Error("alice deleted a topic")
	}
	if r := as(tok, "user", "list"); r.code == 0 {
		t.Error("alice listed users")
	}
	// A second token, then revoke the first.
	r = mustAs(admin, "user", "token", "create", "alice")
	if !strings.Contains(r.stdout, "token:") {
		t.Fatalf("token create: %s", r.stdout)
	}
	tokID := strings.Split(strings.TrimPrefix(tok, "slu_"), "_")[0]
	mustAs(admin, "user", "token", "revoke", "alice", tokID)
	if r := sluice(t, url, "x\n", "--token", tok, "produce", "orders"); r.code == 0 || !strings.Contains(r.stderr, "revoked") {
		t.Errorf("revoked token: exit %d %s", r.code, r.stderr)
	}
	mustAs(admin, "acl", "remove", strings.TrimSpace(id))
	mustAs(admin, "user", "delete", "alice")
	audit, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if err != nil || !strings.Contains(string(audit), `"principal":"alice"`) || !strings.Contains(string(audit), `"msg":"admin action"`) {
		t.Errorf("audit log (%v):\n%.1500s", err, audit)
	}
	if r := sluice(t, url, "", "user", "gen-token"); r.code != 0 || !strings.HasPrefix(r.stdout, "slu_") {
		t.Errorf("gen-token: %q %s", r.stdout, r.stderr)
	}
}

// TestCLIOverTLS: --ca-file trusts a private CA for an https --server;
// without it the certificate is refused.
func TestCLIOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := authtest.NewCA(t, "cli-ca")
	c, k := ca.Issue(t, "node", false)
	certFile, keyFile := authtest.WriteFiles(t, dir, "server", c, k)
	caFile := ca.WriteCA(t, dir, "ca")
	n := testnode.Start(t, testnode.WithConfig(func(cfg *platform.Config) {
		cfg.TLSCertFile, cfg.TLSKeyFile, cfg.Auth = certFile, keyFile, true
	}))
	raw, err := os.ReadFile(filepath.Join(n.Config.DataDir, platform.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(n.URL(), "https://") {
		t.Fatalf("url %s", n.URL())
	}
	r := sluice(t, n.URL(), "", "--ca-file", caFile, "--token", tok, "cluster", "brokers")
	if r.code != 0 || !strings.Contains(r.stdout, "https://") {
		t.Fatalf("over TLS with --ca-file: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := sluice(t, n.URL(), "", "--token", tok, "cluster", "brokers"); r.code == 0 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("without --ca-file: exit %d %s", r.code, r.stderr)
	}
}
