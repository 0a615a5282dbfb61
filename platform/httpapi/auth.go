package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Security configures the client plane's protection of a Server. The zero
// value (no auth) still applies the browser checks: a foreign Origin and
// a cross-origin "simple" POST are refused.
type Security struct {
	// Auth requires a credential on every /v1 route and /metrics, and an
	// ACL that allows the route's operation (see routeAccess).
	Auth bool
	// Verifier checks API tokens; nil builds one with the default cache.
	Verifier *auth.Verifier
	// JWT, if set, accepts bearer JWTs from an identity provider (their
	// subject is the principal) besides API tokens.
	JWT *auth.JWTVerifier
	// Origins are the browser origins allowed besides the listener's own.
	Origins auth.OriginPolicy
	// Audit receives one record per admin action and per denial; nil
	// uses the server's logger.
	Audit *slog.Logger
	// RecheckInterval is how often an open WebSocket's credential and
	// ACLs are checked again (auth.Recheck); default
	// auth.DefaultRecheckInterval.
	RecheckInterval time.Duration
	// TLS and Insecure are reported in /v1/cluster.
	TLS, Insecure bool
}

// Identity is who a request comes from.
type Identity struct {
	Principal string
	// Method is "token", "jwt" or "certificate".
	Method string
}

type identityKey struct{}

// IdentityFrom returns the identity the auth check attached to ctx.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// access is what a route needs: an operation on a resource whose name
// comes from a path value (param), or the cluster. public routes need
// nothing; more adds checks that depend on the request (a consumer group,
// a processor plugin).
type access struct {
	resource string
	param    string
	op       string
	public   bool
	// authenticated routes need a credential (with auth on) but no ACL.
	authenticated bool
	// listOf marks a list route: a principal without the rule's
	// operation (describe on the cluster) still gets the list, of the
	// resources of this type it may describe.
	listOf string
	// fromBody reads the resource name from the JSON body's "name" field.
	fromBody bool
	more     func(r *http.Request) []auth.Request
}

// routeAccess maps every route outside /internal/ to its access rule. A
// /v1 route registered without an entry is refused for everyone (and a
// test fails): there is no unguarded route.
var routeAccess = map[string]access{
	wire.RouteListTopics:    {resource: meta.ResourceCluster, op: meta.OperationDescribe, listOf: meta.ResourceTopic},
	wire.RouteCreateTopic:   {resource: meta.ResourceTopic, fromBody: true, op: meta.OperationCreate},
	wire.RouteDescribeTopic: {resource: meta.ResourceTopic, param: "topic", op: meta.OperationDescribe},
	wire.RouteAlterTopic:    {resource: meta.ResourceTopic, param: "topic", op: meta.OperationAlter},
	wire.RouteDeleteTopic:   {resource: meta.ResourceTopic, param: "topic", op: meta.OperationDelete},
	wire.RouteProduce:       {resource: meta.ResourceTopic, param: "topic", op: meta.OperationProduce},
	wire.RouteFetch:         {resource: meta.ResourceTopic, param: "topic", op: meta.OperationConsume, more: processorAccess},
	wire.RouteOffsets:       {resource: meta.ResourceTopic, param: "topic", op: meta.OperationDescribe},
	wire.RouteCluster:       {resource: meta.ResourceCluster, op: meta.OperationDescribe},
	wire.RouteHealth:        {public: true},
	// Probes (a kubelet or load balancer has no token) and the build
	// running are open, as /healthz is.
	wire.RouteLive:    {public: true},
	wire.RouteReady:   {public: true},
	wire.RouteVersion: {public: true},
	// Cluster administration (admin.go): moving leaders and replicas and
	// changing the quorum are cluster-wide acts; growing a topic alters it.
	wire.RouteElectLeaders:          {resource: meta.ResourceCluster, op: meta.OperationAlter},
	wire.RouteReassign:              {resource: meta.ResourceCluster, op: meta.OperationAlter},
	wire.RouteListReassignments:     {resource: meta.ResourceCluster, op: meta.OperationDescribe},
	wire.RouteGenerateReassignments: {resource: meta.ResourceCluster, op: meta.OperationDescribe},
	wire.RouteCreatePartitions:      {resource: meta.ResourceTopic, param: "topic", op: meta.OperationAlter},
	wire.RouteClusterHealth:         {resource: meta.ResourceCluster, op: meta.OperationDescribe},
	wire.RouteAddController:         {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteRemoveController:      {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteDecommissionBroker:    {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteRemoveBroker:          {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	// Unclean recovery may expose a replica that lost data: cluster admins only.
	wire.RouteRecoverPartition: {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteMetrics:          {resource: meta.ResourceCluster, op: meta.OperationDescribe},

	wire.RouteListPlugins:         {resource: meta.ResourceCluster, op: meta.OperationDescribe, listOf: meta.ResourcePlugin},
	wire.RouteUploadPlugin:        {resource: meta.ResourcePlugin, param: "name", op: meta.OperationUpload},
	wire.RouteDescribePlugin:      {resource: meta.ResourcePlugin, param: "name", op: meta.OperationDescribe},
	wire.RoutePluginLogs:          {resource: meta.ResourcePlugin, param: "name", op: meta.OperationDescribe},
	wire.RouteDeletePlugin:        {resource: meta.ResourcePlugin, param: "name", op: meta.OperationDelete},
	wire.RouteDeletePluginVersion: {resource: meta.ResourcePlugin, param: "name", op: meta.OperationDelete},

	wire.RouteListGroups:    {resource: meta.ResourceCluster, op: meta.OperationDescribe, listOf: meta.ResourceGroup},
	wire.RouteDescribeGroup: {resource: meta.ResourceGroup, param: "group", op: meta.OperationDescribe},
	wire.RouteResetOffsets:  {resource: meta.ResourceGroup, param: "group", op: meta.OperationAlter},
	wire.RouteDeleteGroup:   {resource: meta.ResourceGroup, param: "group", op: meta.OperationDelete},

	wire.RouteWSConsume: {resource: meta.ResourceTopic, param: "topic", op: meta.OperationConsume, more: consumeAccess},
	wire.RouteWSProduce: {resource: meta.ResourceTopic, param: "topic", op: meta.OperationProduce},

	wire.RouteListPrincipals:  {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteCreatePrincipal: {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteDeletePrincipal: {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteCreateToken:     {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteRevokeToken:     {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteListACLs:        {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteAddACL:          {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	wire.RouteRemoveACL:       {resource: meta.ResourceCluster, op: meta.OperationAdmin},
	// whoami answers any authenticated caller about itself.
	wire.RouteWhoAmI: {authenticated: true},
	// The caller's own permissions (what the console may offer it).
	wire.RoutePermissions: {authenticated: true},
	// A page of topics with figures: the list's rule (only the topics the
	// caller may describe without describe on the cluster).
	wire.RouteTopicPage: {resource: meta.ResourceCluster, op: meta.OperationDescribe, listOf: meta.ResourceTopic},
	// The node's throughput and lag history, as /metrics.
	wire.RouteStatsHistory: {resource: meta.ResourceCluster, op: meta.OperationDescribe},
	// Running an uploaded plugin on sample records, as a processor runs
	// on fetch: describe on the plugin.
	wire.RouteTestPlugin: {resource: meta.ResourcePlugin, param: "name", op: meta.OperationDescribe},

	// The console's page and assets hold no data.
	"GET /{$}":      {public: true},
	"GET /console/": {public: true},
}

// RouteAccessFor reports the access rule of pattern (for tests and docs):
// resource type, operation, and whether it is public. ok is false for a
// route without an entry.
func RouteAccessFor(pattern string) (resource, op string, public, ok bool) {
	a, ok := routeAccess[pattern]
	return a.resource, a.op, a.public, ok
}

// processorAccess: running a processor plugin needs describe on it.
func processorAccess(r *http.Request) []auth.Request {
	ref := r.URL.Query().Get(wire.ParamProcessor)
	if ref == "" {
		return nil
	}
	name, _, err := wire.ParsePluginRef(ref)
	if err != nil {
		name = ref // the handler refuses it; the check must not pass it
	}
	return []auth.Request{{ResourceType: meta.ResourcePlugin, Resource: name, Operation: meta.OperationDescribe}}
}

// consumeAccess: joining a group needs consume on the group.
func consumeAccess(r *http.Request) []auth.Request {
	out := processorAccess(r)
	if g := r.URL.Query().Get(wire.WSParamGroup); g != "" {
		out = append(out, auth.Request{ResourceType: meta.ResourceGroup, Resource: g, Operation: meta.OperationConsume})
	}
	return out
}

// guarded reports whether pattern's path is under the auth regime: the
// API and the metrics, not the node-to-node routes (another plane).
func guarded(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return !strings.HasPrefix(path, "/internal/")
}

// UnguardedRoutes lists registered routes outside /internal/ that have no
// access rule: they are refused for everyone. A test keeps it empty.
func (s *Server) UnguardedRoutes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.patterns {
		if _, ok := routeAccess[p]; !ok && guarded(p) {
			out = append(out, p)
		}
	}
	return out
}

// guard wraps a route's handler with the browser checks, authentication,
// authorization and the audit log.
func (s *Server) guard(pattern string, h http.Handler) http.Handler {
	if !guarded(pattern) {
		return h
	}
	rule, known := routeAccess[pattern]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.browserCheck(w, r); err != nil {
			s.deny(w, r, Identity{}, pattern, err)
			return
		}
		if !known {
			s.deny(w, r, Identity{}, pattern, wire.Errorf(wire.CodeForbidden, "route %s has no access rule", pattern))
			return
		}
		id, err := s.authenticate(r)
		if err != nil {
			s.deny(w, r, Identity{}, pattern, err)
			return
		}
		if id.Principal != "" {
			r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
		}
		sec := s.cfg.Security
		if rule.public {
			h.ServeHTTP(w, r)
			return
		}
		if !sec.Auth {
			s.serveAudited(w, r, h, id, pattern, rule, "")
			return
		}
		if id.Principal == "" {
			s.deny(w, r, id, pattern, wire.Errorf(wire.CodeUnauthenticated, "%s needs a credential: an Authorization: Bearer token or a client certificate", r.URL.Path))
			return
		}
		if rule.authenticated {
			h.ServeHTTP(w, r)
			return
		}
		checks, err := s.checksFor(r, rule)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		acls := s.cfg.Metadata().ACLs
		for i, c := range checks {
			c.Principal = id.Principal
			d := auth.Authorize(acls, c)
			if !d.Allowed && i == 0 && rule.listOf != "" {
				// A list without describe on the cluster: only what the
				// principal may describe.
				principal := id.Principal
				r = r.WithContext(auth.WithVisibility(r.Context(), func(rt, name string) bool {
					return auth.Authorize(acls, auth.Request{Principal: principal, ResourceType: rt, Resource: name, Operation: meta.OperationDescribe}).Allowed
				}))
				continue
			}
			if !d.Allowed {
				s.deny(w, r, id, pattern, wire.Errorf(wire.CodeForbidden, "principal %q may not %s %s %q (%s)",
					id.Principal, c.Operation, c.ResourceType, c.Resource, d.Reason))
				return
			}
		}
		r = r.WithContext(auth.WithRecheck(r.Context(), auth.Recheck{Every: s.recheckEvery(), Check: func() error {
			return s.recheck(r, id, checks)
		}}))
		s.serveAudited(w, r, h, id, pattern, rule, checks[0].Resource)
	})
}

func (s *Server) recheckEvery() time.Duration {
	if d := s.cfg.Security.RecheckInterval; d > 0 {
		return d
	}
	return auth.DefaultRecheckInterval
}

// recheck decides an open request again with the metadata of now: the
// same credential must still name the same principal, and every check
// must still be allowed.
func (s *Server) recheck(r *http.Request, id Identity, checks []auth.Request) error {
	now, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if now.Principal != id.Principal {
		return wire.Errorf(wire.CodeUnauthenticated, "the credential no longer names %q", id.Principal)
	}
	acls := s.cfg.Metadata().ACLs
	for _, c := range checks {
		c.Principal = id.Principal
		if d := auth.Authorize(acls, c); !d.Allowed {
			return wire.Errorf(wire.CodeForbidden, "principal %q may no longer %s %s %q (%s)", id.Principal, c.Operation, c.ResourceType, c.Resource, d.Reason)
		}
	}
	return nil
}

// serveAudited serves the request and, for an admin action (auth on or
// off), writes its audit record with the answer's status.
func (s *Server) serveAudited(w http.ResponseWriter, r *http.Request, h http.Handler, id Identity, pattern string, rule access, resource string) {
	if !auditedOp(rule.op) {
		h.ServeHTTP(w, r)
		return
	}
	if resource == "" && rule.param != "" {
		resource = r.PathValue(rule.param)
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	h.ServeHTTP(sw, r)
	s.audit().Info("admin action", "principal", id.Principal, "auth", id.Method, "route", pattern,
		"path", r.URL.Path, "resource_type", rule.resource, "resource", resource,
		"operation", rule.op, "status", sw.status, "remote", r.RemoteAddr)
}

// auditedOp: every operation but reading and writing records and
// describing is an admin action.
func auditedOp(op string) bool {
	switch op {
	case meta.OperationProduce, meta.OperationConsume, meta.OperationDescribe:
		return false
	}
	return true
}

func (s *Server) audit() *slog.Logger {
	if a := s.cfg.Security.Audit; a != nil {
		return a
	}
	return s.log.With("audit", true)
}

// deny answers err and writes the denial to the audit log.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, id Identity, pattern string, err error) {
	s.audit().Warn("request denied", "principal", id.Principal, "auth", id.Method, "route", pattern,
		"method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr, "reason", err.Error())
	s.writeError(w, r, err)
}

// checksFor lists the authorization questions of one request.
func (s *Server) checksFor(r *http.Request, rule access) ([]auth.Request, error) {
	name := meta.ClusterResourceName
	switch {
	case rule.fromBody:
		n, err := peekName(r, s.cfg.MaxRequestBytes)
		if err != nil {
			return nil, err
		}
		name = n
	case rule.param != "":
		name = r.PathValue(rule.param)
	}
	out := []auth.Request{{ResourceType: rule.resource, Resource: name, Operation: rule.op}}
	if rule.more != nil {
		out = append(out, rule.more(r)...)
	}
	return out, nil
}

// peekName reads the body's "name" field and leaves the body readable
// again for the handler.
func peekName(r *http.Request, limit int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return "", badRequest("read body: %v", err)
	}
	if int64(len(b)) > limit {
		return "", &http.MaxBytesError{Limit: limit}
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	var v struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", badRequest("malformed JSON body: %v", err)
	}
	return v.Name, nil
}

// authenticate finds the request's credential: a bearer token (header,
// or for a WebSocket upgrade the sluice.token.* subprotocol), else a
// verified client certificate. No credential is the zero Identity; a bad
// token is an error whether auth is on or not.
func (s *Server) authenticate(r *http.Request) (Identity, error) {
	tok := bearerToken(r)
	if jv := s.cfg.Security.JWT; tok != "" && jv != nil && auth.LooksLikeJWT(tok) {
		p, err := jv.Verify(tok)
		if err != nil {
			return Identity{}, wire.Errorf(wire.CodeUnauthenticated, "%v", err)
		}
		return Identity{Principal: p, Method: "jwt"}, nil
	}
	if tok != "" {
		p, err := s.verifier.Verify(s.cfg.Metadata(), tok)
		if err != nil {
			return Identity{}, wire.Errorf(wire.CodeUnauthenticated, "%v", err)
		}
		return Identity{Principal: p, Method: "token"}, nil
	}
	if cn := certPrincipal(r.TLS); cn != "" {
		return Identity{Principal: cn, Method: "certificate"}, nil
	}
	return Identity{}, nil
}

func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, wire.AuthorizationScheme) {
			return strings.TrimSpace(tok)
		}
		return h // a malformed header fails verification rather than passing unseen
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if tok, ok := strings.CutPrefix(strings.TrimSpace(p), wire.WSTokenSubprotocolPrefix); ok {
				return tok
			}
		}
	}
	return ""
}

// certPrincipal is the subject CN of a client certificate that verified
// against the client CA (the TLS config only fills VerifiedChains then).
func certPrincipal(cs *tls.ConnectionState) string {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return ""
	}
	return cs.VerifiedChains[0][0].Subject.CommonName
}

// simpleContentTypes are the types a cross-origin page may POST without a
// CORS preflight (plus none at all).
var simpleContentTypes = map[string]bool{
	"":                                  true,
	"text/plain":                        true,
	"application/x-www-form-urlencoded": true,
	"multipart/form-data":               true,
}

// browserCheck refuses what a web page on another origin could make a
// browser send: with auth off, a request whose Host is not a name of this
// node (DNS rebinding); any request with an Origin outside the policy, and a POST
// without an Authorization header whose content type a form or a simple
// fetch could produce (CSRF). Allowed cross-origin requests get CORS
// headers.
func (s *Server) browserCheck(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.Security.Auth && !s.cfg.Security.Origins.HostAllowed(r) {
		// Without auth the API is protected by where it listens; a page
		// that rebinds its own domain name to this address must not get in.
		return wire.Errorf(wire.CodeForbidden, "host %q does not name this node (DNS rebinding guard): use its address, or set --advertise-addr or --allowed-origins", r.Host)
	}
	origin := r.Header.Get("Origin")
	if origin != "" {
		if !s.cfg.Security.Origins.Check(r) {
			return wire.Errorf(wire.CodeForbidden, "origin %q is not allowed (see --allowed-origins)", origin)
		}
		if !auth.SameOrigin(r, origin) {
			setCORS(w.Header(), origin)
		}
	}
	if r.Method == http.MethodPost && r.Header.Get("Authorization") == "" {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if simpleContentTypes[strings.ToLower(mt)] {
			return wire.Errorf(wire.CodeForbidden, "a POST needs Content-Type %s, %s or %s, or an Authorization header",
				wire.MediaTypeJSON, wire.MediaTypeRecords, wire.MediaTypeWasm)
		}
	}
	return nil
}

func setCORS(h http.Header, origin string) {
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
	h.Set("Access-Control-Max-Age", "600")
}

// preflight answers a CORS preflight (OPTIONS with
// Access-Control-Request-Method): 204 with CORS headers for an allowed
// origin, 403 otherwise. It reports whether r was one.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if r.Method != http.MethodOptions || origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	if !s.cfg.Security.Origins.Check(r) {
		s.deny(w, r, Identity{}, "OPTIONS "+r.URL.Path, wire.Errorf(wire.CodeForbidden, "origin %q is not allowed (see --allowed-origins)", origin))
		return true
	}
	setCORS(w.Header(), origin)
	w.WriteHeader(http.StatusNoContent)
	return true
}

// securityInfo is the Security part of /v1/cluster.
func (s *Server) securityInfo() wire.Security {
	sec := s.cfg.Security
	return wire.Security{TLS: sec.TLS, Auth: sec.Auth, Insecure: sec.Insecure}
}

// Routes lists every pattern registered with Handle, in order.
func (s *Server) Routes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.patterns)
}
