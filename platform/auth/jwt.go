package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"time"
)

// ErrBadJWT: the bearer token is a JWT that does not verify or whose
// claims do not fit (issuer, audience, time, subject).
var ErrBadJWT = errors.New("invalid JWT")

// maxJWTLen bounds a JWT before any decoding.
const maxJWTLen = 8 << 10

// JWTVerifier checks JWTs issued by an identity provider (OIDC ID or
// access tokens) against one public key, read from a PEM file: the
// signature (RS256 with an RSA key, ES256 with a P-256 key, EdDSA with an
// Ed25519 key; the algorithm must match the key, so "none" and
// algorithm confusion are refused), then exp and nbf (with Leeway), iss
// and aud when configured. The principal is the claim named by
// PrincipalClaim (default "sub").
type JWTVerifier struct {
	key            crypto.PublicKey
	alg            string
	Issuer         string
	Audience       string
	PrincipalClaim string
	Leeway         time.Duration
	now            func() time.Time
}

// NewJWTVerifier reads the PEM public key (a PUBLIC KEY block, or a
// CERTIFICATE whose key is used). now nil is the wall clock.
func NewJWTVerifier(keyFile, issuer, audience string, now func() time.Time) (*JWTVerifier, error) {
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("jwt public key: %w", err)
	}
	key, err := ParseJWTKey(b)
	if err != nil {
		return nil, fmt.Errorf("jwt public key %s: %w", keyFile, err)
	}
	return NewJWTVerifierKey(key, issuer, audience, now)
}

// ParseJWTKey reads a PEM PUBLIC KEY or CERTIFICATE.
func ParseJWTKey(pemBytes []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	switch blk.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(blk.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	return nil, fmt.Errorf("PEM block %q: want PUBLIC KEY or CERTIFICATE", blk.Type)
}

// NewJWTVerifierKey is NewJWTVerifier with the key given.
func NewJWTVerifierKey(key crypto.PublicKey, issuer, audience string, now func() time.Time) (*JWTVerifier, error) {
	v := &JWTVerifier{key: key, Issuer: issuer, Audience: audience, PrincipalClaim: "sub", Leeway: time.Minute, now: now}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("rsa key of %d bits: want at least 2048", k.N.BitLen())
		}
		v.alg = "RS256"
	case *ecdsa.PublicKey:
		if k.Curve.Params().Name != "P-256" {
			return nil, fmt.Errorf("ecdsa key on %s: want P-256 (ES256)", k.Curve.Params().Name)
		}
		v.alg = "ES256"
	case ed25519.PublicKey:
		v.alg = "EdDSA"
	default:
		return nil, fmt.Errorf("key type %T: want RSA, ECDSA P-256 or Ed25519", key)
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// LooksLikeJWT reports whether a bearer token has a JWT's shape (three
// dot-separated parts), so it is not taken for an API token.
func LooksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

// Verify checks token and returns its principal.
func (v *JWTVerifier) Verify(token string) (string, error) {
	if len(token) > maxJWTLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrBadJWT, maxJWTLen)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: not three parts", ErrBadJWT)
	}
	b64 := base64.RawURLEncoding
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return "", fmt.Errorf("%w: header: %v", ErrBadJWT, err)
	}
	var hdr struct {
		Alg  string `json:"alg"`
		Crit []any  `json:"crit"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return "", fmt.Errorf("%w: header: %v", ErrBadJWT, err)
	}
	if hdr.Alg != v.alg {
		return "", fmt.Errorf("%w: alg %q, the key verifies %s", ErrBadJWT, hdr.Alg, v.alg)
	}
	if len(hdr.Crit) > 0 {
		return "", fmt.Errorf("%w: critical header extensions are not supported", ErrBadJWT)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return "", fmt.Errorf("%w: signature: %v", ErrBadJWT, err)
	}
	if !v.verifySig([]byte(parts[0]+"."+parts[1]), sig) {
		return "", fmt.Errorf("%w: bad signature", ErrBadJWT)
	}
	pb, err := b64.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("%w: payload: %v", ErrBadJWT, err)
	}
	var claims map[string]any
	if err := json.Unmarshal(pb, &claims); err != nil {
		return "", fmt.Errorf("%w: payload: %v", ErrBadJWT, err)
	}
	now := v.now()
	exp, ok := numClaim(claims, "exp")
	if !ok {
		return "", fmt.Errorf("%w: no exp", ErrBadJWT)
	}
	if now.After(time.Unix(exp, 0).Add(v.Leeway)) {
		return "", fmt.Errorf("%w: expired", ErrBadJWT)
	}
	if nbf, ok := numClaim(claims, "nbf"); ok && now.Add(v.Leeway).Before(time.Unix(nbf, 0)) {
		return "", fmt.Errorf("%w: not valid yet", ErrBadJWT)
	}
	if v.Issuer != "" {
		if iss, _ := claims["iss"].(string); iss != v.Issuer {
			return "", fmt.Errorf("%w: issuer %q, want %q", ErrBadJWT, iss, v.Issuer)
		}
	}
	if v.Audience != "" && !hasAudience(claims["aud"], v.Audience) {
		return "", fmt.Errorf("%w: audience is not %q", ErrBadJWT, v.Audience)
	}
	p, _ := claims[v.PrincipalClaim].(string)
	if p == "" || len(p) > 128 || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("%w: claim %q is not a principal name", ErrBadJWT, v.PrincipalClaim)
	}
	return p, nil
}

func (v *JWTVerifier) verifySig(signed, sig []byte) bool {
	switch k := v.key.(type) {
	case *rsa.PublicKey:
		h := sha256.Sum256(signed)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return false
		}
		h := sha256.Sum256(signed)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, h[:], r, s)
	case ed25519.PublicKey:
		return ed25519.Verify(k, signed, sig)
	}
	return false
}

func numClaim(claims map[string]any, name string) (int64, bool) {
	f, ok := claims[name].(float64)
	if !ok || f != f || f > 1<<53 || f < -(1<<53) {
		return 0, false
	}
	return int64(f), true
}

func hasAudience(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return slices.ContainsFunc(a, func(x any) bool { s, _ := x.(string); return s == want })
	}
	return false
}
