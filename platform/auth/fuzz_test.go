package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
)

// FuzzTokenID: the token parser reads what any client sends in an
// Authorization header; it never panics, and what it accepts has the
// documented shape.
func FuzzTokenID(f *testing.F) {
	tok, _ := NewToken()
	for _, s := range []string{tok, "", "slu_", "slu_0123456789abcdef_", "slu_0123456789abcdef_x_y", "Bearer slu_x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := TokenID(s)
		if !ok {
			return
		}
		if len(id) != 16 || !strings.HasPrefix(s, TokenPrefix+id+"_") {
			t.Fatalf("TokenID(%q) = %q", s, id)
		}
	})
}

// FuzzCheckHash: a stored hash string is parsed before it is used; a
// malformed one is refused, never a panic, and never matches a token
// other than the one hashed.
func FuzzCheckHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, phc string) {
		// Bound the cost the fuzzer may ask for (CheckHash bounds it
		// further for real).
		if strings.Contains(phc, "m=") && len(phc) > 300 {
			return
		}
		_ = CheckHash("slu_0123456789abcdef_secret", phc)
	})
}

// FuzzJWTVerify: a bearer JWT is untrusted input decoded before its
// signature is known good; no input panics, and none verifies without
// the key's signature.
func FuzzJWTVerify(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIiwiZXhwIjo5OTk5OTk5OTk5fQ.AAAA")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
	f.Add("..")
	f.Add("e30.e30.e30")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v, err := NewJWTVerifierKey(&key.PublicKey, "", "", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if p, err := v.Verify(tok); err == nil {
			t.Fatalf("a fuzzed token verified as %q", p)
		}
	})
}
