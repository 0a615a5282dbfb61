// Package httpapi serves Sluice's /v1 HTTP API (docs/api.md, types in
// sdk/wire) on top of a node's broker and controller: topics, produce
// (JSON and binary), fetch with long-poll, offsets, cluster, health and
// Prometheus metrics. Errors leave through one function (toWire) as
// {"error":{"code","message"}}.
//
// Other packages add their endpoints (consumer groups, WebSocket,
// plugins) with Server.Handle; they get the same JSON 404/405 answers
// and the same request metrics.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/console"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Admin changes cluster metadata: the controller quorum, reached locally
// or forwarded to the active controller. It answers
// controller.ErrNotController (as a *controller.NotControllerError naming
// the leader) when it cannot reach the active controller.
type Admin interface {
	Propose(ctx context.Context, cmd meta.Command) (meta.Result, error)
}

// ProcessorRunner runs a processor plugin over fetched records (the fetch
// parameter processor=NAME[@N]). Every output record's Offset is the
// offset of the input record it came from. The plugins package fills it;
// without one, fetches naming a processor fail with unknown_plugin.
type ProcessorRunner interface {
	Process(ctx context.Context, ref string, params map[string]string, partition int32, recs []record.Record) ([]record.Record, error)
}

// Config configures a Server. Metadata is required; the rest is optional
// as documented.
type Config struct {
	// NodeID is the answering node, reported by /v1/cluster and /healthz.
	NodeID int32
	// Broker serves produce, fetch and offsets; nil on a controller-only
	// node, which answers them with not_leader.
	Broker *broker.Broker
	// Admin makes topic changes; nil uses Controller, and without either
	// they are answered with not_controller.
	Admin Admin
	// Controller is this node's own controller, nil without the role. It
	// serves the internal metadata-watch and propose routes that other
	// nodes' forwarders call.
	Controller LocalController
	// Peer, if set, forwards a topic change that Admin refuses with
	// not_controller to the active controller it names, so any node
	// answers metadata changes.
	Peer *Peer
	// Metadata returns the newest metadata this node holds. Required.
	Metadata func() *meta.Cluster
	// Cluster answers GET /v1/cluster; nil derives the answer from
	// Metadata alone.
	Cluster func(ctx context.Context) (wire.Cluster, error)
	// Health reports whether the node serves ("ok") or why not
	// ("starting", "no_controller"); nil is always ok.
	Health func() string
	// HealthWarnings lists conditions /healthz reports without failing
	// (file descriptors running low); nil has none.
	HealthWarnings func() []string
	// Processors runs processor plugins on fetch; nil has none.
	Processors ProcessorRunner
	// MaxRequestBytes bounds a request body (413 record_too_large past
	// it). Default DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Limits bound header and body read times, idle connections, header
	// size and the request body bytes in flight (limits.go); zero fields
	// take their defaults.
	Limits Limits
	// Registerer receives the API's and the broker's metrics; nil uses a
	// fresh registry (served at /metrics either way).
	Registry *prometheus.Registry
	// Logger receives request errors. Default slog.Default().
	Logger *slog.Logger
	// Security: authentication, ACLs, browser checks, audit (auth.go).
	// The zero value serves without authentication.
	Security Security
}

// DefaultMaxRequestBytes is Config.MaxRequestBytes's default (64 MiB).
const DefaultMaxRequestBytes = 64 << 20

// Server is the HTTP handler of one node. Build it with New, add routes
// with Handle before serving, and serve it with any http.Server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	internal *http.ServeMux // the /internal/ routes, served on the cluster listener
	metrics  *metrics

	mu    sync.Mutex
	paths map[string]bool // paths that have a method-less 405 fallback
	// internalRoutes lists the patterns registered under InternalPrefix.
	internalRoutes []string
	patterns       []string // every pattern given to Handle

	verifier *auth.Verifier

	async asyncProducer // acks=0 produces answered, not yet appended

	produceStreams streamSet // produce streams served (RouteProduceStream)

	inflight     byteBudget             // request body bytes held by running handlers
	bodyRefusals *prometheus.CounterVec // requests refused while reading their body
}

// New builds the server with every route of docs/api.md registered.
func New(cfg Config) (*Server, error) {
	if cfg.Metadata == nil {
		return nil, errors.New("httpapi: Config.Metadata is required")
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.Admin == nil && cfg.Controller != nil {
		cfg.Admin = cfg.Controller
	}
	if cfg.Security.Verifier == nil {
		cfg.Security.Verifier = auth.NewVerifier(0, nil)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "httpapi"),
		mux:      http.NewServeMux(),
		internal: http.NewServeMux(),
		paths:    map[string]bool{},

		verifier: cfg.Security.Verifier,
	}
	s.inflight.limit = cfg.Limits.MaxInFlightBodyBytes
	m, err := newMetrics(cfg.Registry, cfg.Broker)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if err := s.registerLimitMetrics(); err != nil {
		return nil, err
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, wire.Errorf(wire.CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
	}
	s.mux.HandleFunc("/", notFound)
	s.internal.HandleFunc("/", notFound)

	s.Handle(wire.RouteListTopics, http.HandlerFunc(s.listTopics))
	s.Handle(wire.RouteCreateTopic, http.HandlerFunc(s.createTopic))
	s.Handle(wire.RouteDescribeTopic, http.HandlerFunc(s.describeTopic))
	s.Handle(wire.RouteAlterTopic, http.HandlerFunc(s.alterTopic))
	s.Handle(wire.RouteDeleteTopic, http.HandlerFunc(s.deleteTopic))
	s.Handle(wire.RouteProduce, http.HandlerFunc(s.produce))
	s.Handle(wire.RouteFetch, http.HandlerFunc(s.fetch))
	s.Handle(wire.RouteOffsets, http.HandlerFunc(s.offsets))
	s.Handle(wire.RouteCluster, http.HandlerFunc(s.cluster))
	s.Handle(wire.RouteHealth, http.HandlerFunc(s.health))
	s.Handle(wire.RouteMetrics, m.handler())
	if err := s.registerOps(); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	s.registerInternal()
	s.registerAuthAdmin()
	s.registerAdmin()
	s.registerConsoleAPI()
	// The web console: the page at "/" and its assets under /console/.
	if err := console.Mount(s); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	// Plugin routes (wire.RoutePlugins*) are added by the plugins package
	// through Handle.
	return s, nil
}

// Handle registers h for pattern ("METHOD /path", Go 1.22 ServeMux
// syntax), counted in the request metrics under pattern. Other methods on
// the same path answer 405 method_not_allowed as JSON. Register every
// route before the server starts serving.
//
// A route under InternalPrefix is a node-to-node route: it is served only
// by ClusterHandler (the cluster listener), never by ServeHTTP, whose
// answer for it is 404.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mu.Lock()
	s.patterns = append(s.patterns, pattern)
	s.mu.Unlock()
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		path = pattern
	}
	mux := s.mux
	if strings.HasPrefix(path, InternalPrefix) {
		mux = s.internal
		s.mu.Lock()
		s.internalRoutes = append(s.internalRoutes, pattern)
		s.mu.Unlock()
	}
	mux.Handle(pattern, s.metrics.instrument(pattern, s.guard(pattern, h)))
	if !ok || strings.Contains(method, "/") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paths[path] {
		return
	}
	s.paths[path] = true
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, wire.Errorf(wire.CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
	})
}

// InternalRoutes lists the patterns of every node-to-node route
// registered so far (served by ClusterHandler only).
func (s *Server) InternalRoutes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.internalRoutes)
}

// HandleFunc is Handle for a function.
func (s *Server) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.Handle(pattern, http.HandlerFunc(h))
}

// ServeHTTP dispatches a request. Its body is read under the server's
// Limits (limits.go).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.preflight(w, r) {
		return
	}
	r, release := s.limitBody(w, r)
	defer release()
	s.mux.ServeHTTP(w, r)
}

// Registry is where the server's metrics live; other packages may add
// theirs.
func (s *Server) Registry() *prometheus.Registry { return s.cfg.Registry }

// WriteError writes err as the API's error answer, mapped to its code and
// status; handlers of other packages use it to keep one error format.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, err)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	we := toWire(s.notReady(err))
	status := we.Code.HTTPStatus()
	if status >= 500 && we.Code == wire.CodeInternal {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var bo *plugins.BackedOffError
	if errors.As(err, &bo) {
		// Whole seconds (RFC 9110), rounded up.
		w.Header().Set("Retry-After", strconv.FormatInt(int64((bo.RetryAfter+time.Second-1)/time.Second), 10))
	}
	writeJSON(w, status, wire.ErrorResponse{Error: we})
}

// badRequest wraps a description of malformed input.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}
