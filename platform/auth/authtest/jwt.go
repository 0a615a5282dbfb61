package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// IdP is a test identity provider: an ES256 key that signs JWTs.
type IdP struct {
	key *ecdsa.PrivateKey
}

// NewIdP makes an identity provider with a fresh P-256 key.
func NewIdP(t testing.TB) *IdP {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &IdP{key: k}
}

// WritePublicKey writes the public key as PEM to dir/name.pem.
func (p *IdP) WritePublicKey(t testing.TB, dir, name string) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&p.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Sign makes an ES256 JWT with claims.
func (p *IdP) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	b64 := base64.RawURLEncoding
	hb, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT"})
	pb, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signed := b64.EncodeToString(hb) + "." + b64.EncodeToString(pb)
	h := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, p.key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return signed + "." + b64.EncodeToString(sig)
}
