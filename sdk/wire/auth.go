package wire

import "time"

// Routes of the principal and ACL administration API (docs/api.md,
// "Authentication and authorization"). Every one needs the admin
// operation on the cluster resource.
const (
	RouteListPrincipals  = "GET /v1/principals"
	RouteCreatePrincipal = "POST /v1/principals"
	RouteDeletePrincipal = "DELETE /v1/principals/{principal}"
	RouteCreateToken     = "POST /v1/principals/{principal}/tokens"
	RouteRevokeToken     = "DELETE /v1/principals/{principal}/tokens/{token}"
	RouteListACLs        = "GET /v1/acls"
	RouteAddACL          = "POST /v1/acls"
	RouteRemoveACL       = "DELETE /v1/acls/{acl}"
	RouteWhoAmI          = "GET /v1/whoami"
)

// Credentials on the wire.
const (
	// AuthorizationScheme prefixes a token in the Authorization header:
	// "Authorization: Bearer slu_...".
	AuthorizationScheme = "Bearer"
	// WSSubprotocol is the WebSocket subprotocol the server selects when a
	// client offers it. A browser, which cannot set an Authorization
	// header on a WebSocket, offers it together with
	// WSTokenSubprotocolPrefix+token.
	WSSubprotocol = "sluice.v1"
	// WSTokenSubprotocolPrefix marks the subprotocol that carries a token:
	// new WebSocket(url, ["sluice.v1", "sluice.token." + token]).
	WSTokenSubprotocolPrefix = "sluice.token."
)

// Principal kinds.
const (
	PrincipalUser           = "user"
	PrincipalServiceAccount = "service"
)

// Principal is a user or service account (GET /v1/principals). Token
// secrets are never shown after creation; only their ids.
type Principal struct {
	Name      string      `json:"name"`
	Kind      string      `json:"kind"`
	CreatedAt time.Time   `json:"created_at"`
	Tokens    []TokenInfo `json:"tokens,omitempty"`
}

// TokenInfo describes one API token without its secret.
type TokenInfo struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

// PrincipalList is the answer of GET /v1/principals.
type PrincipalList struct {
	Principals []Principal `json:"principals"`
}

// CreatePrincipalRequest is the body of POST /v1/principals. The answer
// (201) is a NewToken: a principal is created with its first token.
type CreatePrincipalRequest struct {
	Name string `json:"name"`
	// Kind is "user" (default) or "service".
	Kind string `json:"kind,omitempty"`
}

// NewToken answers principal and token creation. Token is the secret,
// shown this once: the server keeps only its argon2id hash.
type NewToken struct {
	Principal string `json:"principal"`
	ID        string `json:"id"`
	Token     string `json:"token"`
}

// ACL is one access control entry (Kafka's model): Principal (a name, or
// "*" for every authenticated principal) is allowed or denied Operation on
// the resources of ResourceType that Resource names (literally, or as a
// prefix when Pattern is "prefix"; "*" literally matches every name).
type ACL struct {
	ID           string `json:"id,omitempty"`
	Principal    string `json:"principal"`
	ResourceType string `json:"resource_type"`
	Resource     string `json:"resource"`
	Pattern      string `json:"pattern,omitempty"` // "literal" (default) or "prefix"
	Operation    string `json:"operation"`
	Effect       string `json:"effect,omitempty"` // "allow" (default) or "deny"
}

// ACLList is the answer of GET /v1/acls.
type ACLList struct {
	ACLs []ACL `json:"acls"`
}

// WhoAmI is the answer of GET /v1/whoami: who the server takes the caller
// for. Anonymous is true (and Principal empty) when auth is off and no
// credential was sent.
type WhoAmI struct {
	Principal string `json:"principal,omitempty"`
	// Method is "token", "certificate" or "" (anonymous).
	Method    string `json:"method,omitempty"`
	Anonymous bool   `json:"anonymous,omitempty"`
	// AuthEnabled reports whether the server requires credentials.
	AuthEnabled bool `json:"auth_enabled"`
}
