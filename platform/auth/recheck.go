package auth

import (
	"context"
	"time"
)

// DefaultRecheckInterval is how often a long-lived connection (a
// WebSocket) has its credential and ACLs checked again.
const DefaultRecheckInterval = 10 * time.Second

// Recheck re-decides a request that stays open: Check returns an error
// once the credential no longer verifies (revoked token, expired JWT) or
// the ACLs no longer allow what the connection does.
type Recheck struct {
	Every time.Duration
	Check func() error
}

type recheckKey struct{}

// WithRecheck returns ctx carrying rc (the HTTP API sets it on an
// authorized request; the WebSocket endpoints run it).
func WithRecheck(ctx context.Context, rc Recheck) context.Context {
	return context.WithValue(ctx, recheckKey{}, rc)
}

// RecheckFrom returns the Recheck of ctx, if any.
func RecheckFrom(ctx context.Context) (Recheck, bool) {
	rc, ok := ctx.Value(recheckKey{}).(Recheck)
	return rc, ok && rc.Check != nil && rc.Every > 0
}
