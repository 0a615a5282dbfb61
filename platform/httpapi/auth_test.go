package httpapi

import (
	"github.com/sluicehq/sluice/platform/clusternet"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestRouteWithoutAccessRuleIsRefused: a /v1 route registered without an
// entry in routeAccess is refused for everyone (auth on or off) and
// reported by UnguardedRoutes; internal routes are outside the regime.
func TestRouteWithoutAccessRuleIsRefused(t *testing.T) {
	for _, authOn := range []bool{false, true} {
		s, err := New(Config{Metadata: meta.NewCluster, Security: Security{Auth: authOn}})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.UnguardedRoutes(); len(got) != 0 {
			t.Fatalf("built-in routes without a rule: %v", got)
		}
		reached := false
		s.HandleFunc("GET /v1/new-thing", func(w http.ResponseWriter, r *http.Request) { reached = true })
		s.HandleFunc("GET /internal/v1/new-thing", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
		if got := s.UnguardedRoutes(); len(got) != 1 || got[0] != "GET /v1/new-thing" {
			t.Fatalf("UnguardedRoutes = %v", got)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/new-thing", nil))
		if reached || rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), string(wire.CodeForbidden)) {
			t.Errorf("auth %v: unguarded route answered %d %s (reached %v)", authOn, rec.Code, rec.Body, reached)
		}
		// An internal route is outside this regime: the public listener
		// does not serve it at all, the cluster listener (mutual TLS)
		// does, without an access rule.
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/internal/v1/new-thing", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("internal route on the public listener: %d, want 404", rec.Code)
		}
		rec = httptest.NewRecorder()
		s.ClusterHandler(true).ServeHTTP(rec, nodeRequest("GET", "/internal/v1/new-thing"))
		if rec.Code != 204 {
			t.Errorf("internal route on the cluster listener: %d %s", rec.Code, rec.Body)
		}
	}
}

// TestEveryRouteConstantHasARule: every public route the wire package
// names has an access rule, so a route added there without one fails here
// even before a node registers it.
func TestEveryRouteConstantHasARule(t *testing.T) {
	for _, r := range []string{wire.RouteListTopics, wire.RouteCreateTopic, wire.RouteDescribeTopic, wire.RouteAlterTopic,
		wire.RouteDeleteTopic, wire.RouteProduce, wire.RouteFetch, wire.RouteOffsets, wire.RouteCluster, wire.RouteHealth,
		wire.RouteMetrics, wire.RouteListPlugins, wire.RouteUploadPlugin, wire.RouteDescribePlugin, wire.RouteDeletePlugin,
		wire.RouteDeletePluginVersion, wire.RouteListGroups, wire.RouteDescribeGroup, wire.RouteResetOffsets,
		wire.RouteDeleteGroup, wire.RouteWSConsume, wire.RouteWSProduce, wire.RouteListPrincipals, wire.RouteCreatePrincipal,
		wire.RouteDeletePrincipal, wire.RouteCreateToken, wire.RouteRevokeToken, wire.RouteListACLs, wire.RouteAddACL,
		wire.RouteRemoveACL, wire.RouteWhoAmI, wire.RouteTopicPage, wire.RoutePermissions, wire.RouteTestPlugin,
		wire.RouteStatsHistory} {
		if _, _, _, ok := RouteAccessFor(r); !ok {
			t.Errorf("%s has no access rule", r)
		}
	}
}

// nodeRequest is a request as an insecure cluster listener takes it from
// node 2 (clusternet.NodeHeader names the caller).
func nodeRequest(method, path string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set(clusternet.NodeHeader, "2")
	return r
}
