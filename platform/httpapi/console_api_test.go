package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// TestTopicPage: totals cover every topic whatever the page; pages are
// sorted and bounded; log figures are those of the page's topics.
func TestTopicPage(t *testing.T) {
	c := startAPI(t, 0)
	const topics = 12
	for i := range topics {
		c.createTopic(fmt.Sprintf("t%02d", i), int32(1+i%3), nil)
	}
	// t05 gets 5 records, t07 gets 2: the largest by records.
	for name, n := range map[string]int{"t05": 5, "t07": 2} {
		recs := strings.Repeat(`{"value":"xxxxxxxxxx"},`, n)
		body := fmt.Sprintf(`{"records":[%s]}`, strings.TrimSuffix(recs, ","))
		if st, raw := c.do("POST", "/v1/topics/"+name+"/records", wire.MediaTypeJSON, []byte(body), nil); st != 200 {
			t.Fatalf("produce to %s: %d %s", name, st, raw)
		}
	}
	var page wire.TopicPage
	if st, raw := c.do("GET", "/v1/cluster/topics?limit=5&offset=5", "", nil, &page); st != 200 {
		t.Fatalf("page: %d %s", st, raw)
	}
	wantParts := 0
	for i := range topics {
		wantParts += 1 + i%3
	}
	if page.Totals.Topics != topics || page.Totals.Partitions != wantParts || page.Matched != topics || len(page.Topics) != 5 {
		t.Fatalf("totals %+v matched %d rows %d", page.Totals, page.Matched, len(page.Topics))
	}
	if page.Topics[0].Name != "t05" || page.Topics[4].Name != "t09" {
		t.Fatalf("page 2 by name: %s..%s", page.Topics[0].Name, page.Topics[4].Name)
	}
	if r := page.Topics[0]; r.HighWatermark != 5 || r.Records != 5 || r.LogBytes <= 0 || r.Unknown != 0 || len(r.Leaders) != 1 || r.Leaders[0] != 1 {
		t.Fatalf("t05 row %+v", r)
	}
	if len(page.Totals.Brokers) == 0 || page.Totals.Brokers[0].ID != 1 || page.Totals.Brokers[0].Leads != wantParts {
		t.Fatalf("broker loads %+v", page.Totals.Brokers)
	}
	// Sorted by records, largest first: t05, t07, then by name.
	if st, raw := c.do("GET", "/v1/cluster/topics?sort=records&order=desc&limit=3", "", nil, &page); st != 200 {
		t.Fatalf("page: %d %s", st, raw)
	}
	if got := []string{page.Topics[0].Name, page.Topics[1].Name, page.Topics[2].Name}; got[0] != "t05" || got[1] != "t07" || got[2] != "t00" {
		t.Fatalf("by records desc: %v", got)
	}
	// Filter narrows Matched, not Totals; a page past the end is empty.
	if st, raw := c.do("GET", "/v1/cluster/topics?filter=T1&offset=0", "", nil, &page); st != 200 {
		t.Fatalf("page: %d %s", st, raw)
	}
	if page.Matched != 2 || len(page.Topics) != 2 || page.Totals.Topics != topics {
		t.Fatalf("filter t1: matched %d rows %d totals %d", page.Matched, len(page.Topics), page.Totals.Topics)
	}
	if st, raw := c.do("GET", "/v1/cluster/topics?offset=100", "", nil, &page); st != 200 || len(page.Topics) != 0 || page.Matched != topics {
		t.Fatalf("past the end: %d %s", st, raw)
	}
	for _, q := range []string{"limit=0", "limit=501", "offset=-1", "sort=size", "order=up", "internal=yes"} {
		st, raw := c.do("GET", "/v1/cluster/topics?"+q, "", nil, nil)
		c.wantError(st, raw, http.StatusBadRequest, wire.CodeInvalidRequest)
	}
}

// TestPermissions: with auth off everything is allowed (said so); with
// auth on, each check is decided by the caller's ACLs.
func TestPermissions(t *testing.T) {
	c := startAPI(t, 0)
	body := `{"checks":[{"resource_type":"topic","resource":"orders","operation":"delete"},{"resource_type":"cluster","operation":"alter"}]}`
	var out wire.PermissionsResponse
	if st, raw := c.do("POST", "/v1/whoami/permissions", "", []byte(body), &out); st != 200 {
		t.Fatalf("permissions: %d %s", st, raw)
	}
	if out.AuthEnabled || len(out.Results) != 2 || !out.Results[0].Allowed || !out.Results[1].Allowed || out.Results[1].Resource != meta.ClusterResourceName {
		t.Fatalf("auth off: %+v", out)
	}
	st, raw := c.do("POST", "/v1/whoami/permissions", "", []byte(`{"checks":[{"resource_type":"table","operation":"alter"}]}`), nil)
	c.wantError(st, raw, http.StatusBadRequest, wire.CodeInvalidRequest)

	// Auth on: a principal allowed to produce to orders only.
	acls := []meta.ACL{{Principal: "alice", ResourceType: meta.ResourceTopic, Resource: "orders", Pattern: meta.PatternLiteral,
		Operation: meta.OperationProduce, Effect: meta.EffectAllow}}
	s, err := New(Config{Metadata: func() *meta.Cluster { m := meta.NewCluster(); m.ACLs = acls; return m }, Security: Security{Auth: true}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/v1/whoami/permissions", strings.NewReader(
		`{"checks":[{"resource_type":"topic","resource":"orders","operation":"produce"},{"resource_type":"topic","resource":"orders","operation":"delete"}]}`))
	req.Header.Set("Content-Type", wire.MediaTypeJSON)
	rec := httptest.NewRecorder()
	s.permissions(rec, req.WithContext(context.WithValue(req.Context(), identityKey{}, Identity{Principal: "alice", Method: "token"})))
	if rec.Code != 200 {
		t.Fatalf("auth on: %d %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !out.AuthEnabled || out.Principal != "alice" || !out.Results[0].Allowed || out.Results[1].Allowed {
		t.Fatalf("auth on: %+v", out)
	}
}

// FuzzTopicQuery parses RouteTopicPage's query as the route does: never a
// panic, every refusal invalid_request, and what parses is in range.
func FuzzTopicQuery(f *testing.F) {
	for _, s := range []string{"", "offset=50&limit=50", "sort=records&order=desc", "filter=Or&internal=true",
		"limit=0", "limit=501", "offset=-1", "sort=size", "order=up", "internal=yes", "offset=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseTopicQuery(v)
		if err != nil {
			if c := toWire(err).Code; c != wire.CodeInvalidRequest {
				t.Fatalf("refusal %v has code %s", err, c)
			}
			return
		}
		if q.offset < 0 || q.limit < 1 || q.limit > wire.MaxTopicPage || q.sort == "" || q.filter != strings.ToLower(q.filter) {
			t.Fatalf("parsed %q into %+v", raw, q)
		}
	})
}
