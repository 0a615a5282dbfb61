package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

var jwtNow = time.Unix(1_800_000_000, 0)

// signJWT makes a compact JWT; alg goes into the header as given.
func signJWT(t testing.TB, key crypto.Signer, alg string, claims map[string]any) string {
	t.Helper()
	b64 := base64.RawURLEncoding
	hb, _ := json.Marshal(map[string]any{"alg": alg, "typ": "JWT"})
	pb, _ := json.Marshal(claims)
	signed := b64.EncodeToString(hb) + "." + b64.EncodeToString(pb)
	var sig []byte
	var err error
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		h := sha256.Sum256([]byte(signed))
		r, s, e := ecdsa.Sign(rand.Reader, k, h[:])
		err = e
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	case *rsa.PrivateKey:
		h := sha256.Sum256([]byte(signed))
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(signed))
	}
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + b64.EncodeToString(sig)
}

func claims(extra map[string]any) map[string]any {
	c := map[string]any{"sub": "alice", "iss": "https://idp.example", "aud": "sluice", "exp": jwtNow.Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestJWTVerify(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := func() time.Time { return jwtNow }
	vEC, err := NewJWTVerifierKey(&ec.PublicKey, "https://idp.example", "sluice", now)
	if err != nil {
		t.Fatal(err)
	}
	vED, _ := NewJWTVerifierKey(ed.Public(), "", "", now)
	vRSA, _ := NewJWTVerifierKey(&rk.PublicKey, "https://idp.example", "", now)

	tampered := signJWT(t, ec, "ES256", claims(nil))
	parts := strings.Split(tampered, ".")
	pb, _ := json.Marshal(claims(map[string]any{"sub": "admin"}))
	tampered = parts[0] + "." + base64.RawURLEncoding.EncodeToString(pb) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString(pb) + "."

	cases := []struct {
		name  string
		v     *JWTVerifier
		token string
		want  string // principal, "" for a refusal
	}{
		{"ES256", vEC, signJWT(t, ec, "ES256", claims(nil)), "alice"},
		{"EdDSA", vED, signJWT(t, ed, "EdDSA", claims(nil)), "alice"},
		{"RS256", vRSA, signJWT(t, rk, "RS256", claims(nil)), "alice"},
		{"audience in a list", vEC, signJWT(t, ec, "ES256", claims(map[string]any{"aud": []string{"x", "sluice"}})), "alice"},
		{"within leeway after exp", vEC, signJWT(t, ec, "ES256", claims(map[string]any{"exp": jwtNow.Add(-30 * time.Second).Unix()})), "alice"},
		{"another key", vEC, signJWT(t, other, "ES256", claims(nil)), ""},
		{"alg none", vEC, none, ""},
		{"alg of another key type", vEC, signJWT(t, rk, "RS256", claims(nil)), ""},
		{"tampered payload", vEC, tampered, ""},
		{"expired", vEC, signJWT(t, ec, "ES256", claims(map[string]any{"exp": jwtNow.Add(-time.Hour).Unix()})), ""},
		{"no exp", vEC, signJWT(t, ec, "ES256", claims(map[string]any{"exp": nil})), ""},
		{"not yet valid", vEC, signJWT(t, ec, "ES256", claims(map[string]any{"nbf": jwtNow.Add(time.Hour).Unix()})), ""},
		{"wrong issuer", vEC, signJWT(t, ec, "ES256", claims(map[string]any{"iss": "https://evil.example"})), ""},
		{"wrong audience", vEC, signJWT(t, ec, "ES256", claims(map[string]any{"aud": "other"})), ""},
		{"no subject", vEC, signJWT(t, ec, "ES256", claims(map[string]any{"sub": nil})), ""},
		{"subject with a newline", vEC, signJWT(t, ec, "ES256", claims(map[string]any{"sub": "a\nb"})), ""},
		{"garbage", vEC, "a.b.c", ""},
	}
	for _, tc := range cases {
		p, err := tc.v.Verify(tc.token)
		if tc.want != "" && (err != nil || p != tc.want) {
			t.Errorf("%s: %q %v, want %q", tc.name, p, err, tc.want)
		}
		if tc.want == "" && (err == nil || !errors.Is(err, ErrBadJWT)) {
			t.Errorf("%s: accepted as %q (%v)", tc.name, p, err)
		}
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := NewJWTVerifierKey(&small.PublicKey, "", "", nil); err == nil {
		t.Error("a 1024-bit RSA key was accepted")
	}
	der, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if k, err := ParseJWTKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil || !k.(*ecdsa.PublicKey).Equal(&ec.PublicKey) {
		t.Errorf("ParseJWTKey: %v", err)
	}
	if !LooksLikeJWT("a.b.c") || LooksLikeJWT("slu_0123456789abcdef_x") {
		t.Error("LooksLikeJWT")
	}
}
