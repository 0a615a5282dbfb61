package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/sluicehq/sluice/platform/meta"
)

// TokenPrefix starts every API token: "slu_<id>_<secret>". The id (16 hex
// digits) is public and stored in the metadata next to the hash, so that a
// presented token is checked against one hash; the secret is 32 random
// bytes, base64url without padding.
const TokenPrefix = "slu_"

// The argon2id parameters (RFC 9106's second recommendation, OWASP's
// minimum): 19 MiB, 2 passes, 1 lane. One verification costs tens of
// milliseconds of CPU, which is why Verifier caches results.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// ErrBadToken: the token is malformed, unknown, revoked, or its secret
// does not match.
var ErrBadToken = errors.New("invalid or revoked token")

// NewToken returns a fresh token and its id.
func NewToken() (token, id string) {
	var idb [8]byte
	var sec [32]byte
	_, _ = rand.Read(idb[:]) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(sec[:])
	id = hex.EncodeToString(idb[:])
	return TokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(sec[:]), id
}

// TokenID returns the id part of a well-formed token.
func TokenID(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 16 || secret == "" || len(secret) > 128 {
		return "", false
	}
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", false
	}
	return id, true
}

// HashToken returns the argon2id hash of token in PHC string form
// ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>).
func HashToken(token string) string {
	var salt [argonSaltLen]byte
	_, _ = rand.Read(salt[:])
	key := argon2.IDKey([]byte(token), salt[:], argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64.EncodeToString(salt[:]), b64.EncodeToString(key))
}

// CheckHash reports whether token matches the PHC hash. The parameters are
// read from the hash but bounded, so a hash from the metadata cannot make
// a check arbitrarily expensive.
func CheckHash(token, phc string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	if m == 0 || m > 256*1024 || t == 0 || t > 10 || p == 0 || p > 16 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(token), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Defaults of Verifier.
const (
	// DefaultCacheTTL is how long a verified token is trusted without
	// hashing it again. Revocation takes effect at once regardless: a
	// cached entry counts only while the metadata still holds the token
	// with the same hash.
	DefaultCacheTTL = 5 * time.Minute
	// maxCacheEntries bounds the cache; past it, expired entries are
	// dropped, and if none were, the cache starts over.
	maxCacheEntries = 4096
)

// Verifier checks API tokens against the metadata, caching successes so
// argon2 runs once per token per CacheTTL rather than once per request.
// The zero value is not usable; build it with NewVerifier.
type Verifier struct {
	now func() time.Time
	ttl time.Duration
	// hashing bounds concurrent argon2 checks (each holds 19 MiB for
	// tens of milliseconds): a burst of requests with unknown secrets
	// queues here instead of exhausting memory.
	hashing chan struct{}

	mu    sync.Mutex
	cache map[[32]byte]cached
	// index maps token ids to their owners in indexed, the metadata
	// snapshot it was built from (snapshots are immutable, so the
	// pointer identifies the content).
	indexed *meta.Cluster
	index   map[string]owned
}

type owned struct {
	principal string
	hash      string
}

// owner finds the token with id in c through an index rebuilt once per
// metadata snapshot, so a request costs a map lookup, not a scan of every
// principal.
func (v *Verifier) owner(c *meta.Cluster, id string) (owned, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.indexed != c {
		idx := make(map[string]owned)
		for _, p := range c.Principals {
			for _, t := range p.Tokens {
				idx[t.ID] = owned{principal: p.Name, hash: t.Hash}
			}
		}
		v.indexed, v.index = c, idx
	}
	o, ok := v.index[id]
	return o, ok
}

type cached struct {
	principal string
	tokenID   string
	hash      string
	expires   time.Time
}

// NewVerifier returns a Verifier; ttl 0 means DefaultCacheTTL and now nil
// the wall clock.
func NewVerifier(ttl time.Duration, now func() time.Time) *Verifier {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Verifier{now: now, ttl: ttl, cache: map[[32]byte]cached{}, hashing: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// Verify returns the principal owning token in c, or ErrBadToken.
func (v *Verifier) Verify(c *meta.Cluster, token string) (string, error) {
	id, ok := TokenID(token)
	if !ok {
		return "", fmt.Errorf("malformed token: %w", ErrBadToken)
	}
	own, ok := v.owner(c, id)
	if !ok {
		return "", fmt.Errorf("token %s: %w", id, ErrBadToken)
	}
	key := sha256.Sum256([]byte(token))
	now := v.now()
	v.mu.Lock()
	e, hit := v.cache[key]
	v.mu.Unlock()
	if hit && now.Before(e.expires) && e.tokenID == id && e.hash == own.hash && e.principal == own.principal {
		return own.principal, nil
	}
	v.hashing <- struct{}{}
	ok = CheckHash(token, own.hash)
	<-v.hashing
	if !ok {
		return "", fmt.Errorf("token %s: %w", id, ErrBadToken)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) >= maxCacheEntries {
		for k, e := range v.cache {
			if !now.Before(e.expires) {
				delete(v.cache, k)
			}
		}
		if len(v.cache) >= maxCacheEntries {
			clear(v.cache)
		}
	}
	v.cache[key] = cached{principal: own.principal, tokenID: id, hash: own.hash, expires: now.Add(v.ttl)}
	return own.principal, nil
}

// Len is the number of cached verifications (for tests and metrics).
func (v *Verifier) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.cache)
}
