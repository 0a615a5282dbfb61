package auth

import "context"

// Visibility filters a list answer: it reports whether the caller may see
// the resource of resourceType named name.
type Visibility func(resourceType, name string) bool

type visibilityKey struct{}

// WithVisibility returns ctx carrying v; list handlers ask Visible.
func WithVisibility(ctx context.Context, v Visibility) context.Context {
	return context.WithValue(ctx, visibilityKey{}, v)
}

// Visible reports whether a list answer may include the resource: true
// unless the request's context carries a Visibility that says no (the
// HTTP API sets one for a principal allowed to list only what it may
// describe, as Kafka filters its metadata answers).
func Visible(ctx context.Context, resourceType, name string) bool {
	v, ok := ctx.Value(visibilityKey{}).(Visibility)
	return !ok || v(resourceType, name)
}
