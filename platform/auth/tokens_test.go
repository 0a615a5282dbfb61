package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/platform/meta"
)

func TestTokenFormatAndHash(t *testing.T) {
	tok, id := NewToken()
	if !strings.HasPrefix(tok, TokenPrefix+id+"_") {
		t.Fatalf("token %q does not carry its id %q", tok, id)
	}
	if got, ok := TokenID(tok); !ok || got != id {
		t.Fatalf("TokenID(%q) = %q %v", tok, got, ok)
	}
	for _, bad := range []string{"", "slu_", "slu_abc_x", "xyz_0123456789abcdef_s", "slu_0123456789ABCDEF_s", "slu_0123456789abcdef_"} {
		if _, ok := TokenID(bad); ok {
			t.Errorf("TokenID accepted %q", bad)
		}
	}
	h := HashToken(tok)
	if strings.Contains(h, tok) || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if h2 := HashToken(tok); h2 == h {
		t.Error("two hashes of one token are equal: no salt")
	}
	if !CheckHash(tok, h) {
		t.Error("token does not match its hash")
	}
	other, _ := NewToken()
	if CheckHash(other, h) || CheckHash(tok[:len(tok)-1], h) {
		t.Error("another token matches")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", strings.Replace(h, "$argon2id", "$x", 1)} {
		if CheckHash(tok, bad) {
			t.Errorf("CheckHash accepted %q", bad)
		}
	}
}

func clusterWith(principal, id, hash string) *meta.Cluster {
	c := meta.NewCluster()
	c.Principals = map[string]*meta.Principal{principal: {Name: principal, Kind: meta.PrincipalUser,
		Tokens: []meta.Token{{ID: id, Hash: hash}}}}
	return c
}

func TestVerifierCachesAndHonoursRevocation(t *testing.T) {
	now := time.Unix(1000, 0)
	v := NewVerifier(time.Minute, func() time.Time { return now })
	tok, id := NewToken()
	c := clusterWith("alice", id, HashToken(tok))
	p, err := v.Verify(c, tok)
	if err != nil || p != "alice" {
		t.Fatalf("Verify = %q, %v", p, err)
	}
	if v.Len() != 1 {
		t.Fatalf("cache holds %d entries, want 1", v.Len())
	}
	// A hit: a cluster whose hash no longer matches the token would fail a
	// real check, but the same hash string in the metadata is trusted
	// from the cache.
	if p, err := v.Verify(c, tok); err != nil || p != "alice" {
		t.Fatalf("cached Verify = %q, %v", p, err)
	}
	// Wrong secret with the right id: never passes, cache or not.
	forged := tok[:len(tok)-2] + "zz"
	if _, err := v.Verify(c, forged); !errors.Is(err, ErrBadToken) {
		t.Fatalf("forged token: %v", err)
	}
	// Revoked (token gone from the metadata): refused at once, though cached.
	revoked := meta.NewCluster()
	if _, err := v.Verify(revoked, tok); !errors.Is(err, ErrBadToken) {
		t.Fatalf("revoked token: %v", err)
	}
	// Re-issued under the same id with another hash: the cache entry does
	// not apply; the real check fails.
	other, _ := NewToken()
	if _, err := v.Verify(clusterWith("alice", id, HashToken(other)), tok); !errors.Is(err, ErrBadToken) {
		t.Fatalf("token against another hash: %v", err)
	}
	// Moved to another principal: the answer follows the metadata.
	if p, err := v.Verify(clusterWith("bob", id, c.Principals["alice"].Tokens[0].Hash), tok); err != nil || p != "bob" {
		t.Fatalf("after move: %q %v", p, err)
	}
	// Expiry: past the TTL the hash is checked again (and still passes).
	now = now.Add(2 * time.Minute)
	if p, err := v.Verify(c, tok); err != nil || p != "alice" {
		t.Fatalf("after expiry: %q %v", p, err)
	}
	if _, err := v.Verify(c, "not-a-token"); !errors.Is(err, ErrBadToken) {
		t.Fatalf("malformed: %v", err)
	}
}

// BenchmarkCheckHash is the cost of one token verification without the
// cache (docs/security.md quotes it).
func BenchmarkCheckHash(b *testing.B) {
	tok, _ := NewToken()
	h := HashToken(tok)
	for b.Loop() {
		if !CheckHash(tok, h) {
			b.Fatal("mismatch")
		}
	}
}

// BenchmarkVerifyCached is a cached token's check among 10,000
// principals: what most authenticated requests cost.
func BenchmarkVerifyCached(b *testing.B) {
	c := meta.NewCluster()
	c.Principals = map[string]*meta.Principal{}
	for i := range 10000 {
		name := fmt.Sprint("user-", i)
		c.Principals[name] = &meta.Principal{Name: name, Tokens: []meta.Token{{ID: fmt.Sprintf("%016x", i), Hash: "x"}}}
	}
	tok, id := NewToken()
	c.Principals["me"] = &meta.Principal{Name: "me", Tokens: []meta.Token{{ID: id, Hash: HashToken(tok)}}}
	v := NewVerifier(0, nil)
	if _, err := v.Verify(c, tok); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := v.Verify(c, tok); err != nil {
			b.Fatal(err)
		}
	}
}
