package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/sdk/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts the console alone on a real listener, mounted as a node
// mounts it.
func serve(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	if err := Mount(mux); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestServesPageAndAssets(t *testing.T) {
	srv := serve(t)
	cases := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="/console/app.js"`},
		{"/console/", "text/html; charset=utf-8", `<script src="/console/app.js"`},
		{"/console/index.html", "text/html; charset=utf-8", `<title>Sluice console</title>`},
		{"/console/app.js", "text/javascript; charset=utf-8", `new WebSocket(`},
		{"/console/style.css", "text/css; charset=utf-8", `.grid`},
		{"/console/favicon.svg", "image/svg+xml", `<svg`},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp, body := get(t, srv.URL+c.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != c.contentType {
				t.Errorf("Content-Type = %q, want %q", got, c.contentType)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if resp.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if !strings.Contains(body, c.contains) {
				t.Errorf("body lacks %q", c.contains)
			}
			if strings.HasPrefix(c.contentType, "text/html") && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "connect-src 'self'") {
				t.Errorf("page CSP = %q", resp.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

// The page loads nothing from elsewhere, and everything it references is
// served.
func TestPageReferencesOnlyServedAssets(t *testing.T) {
	srv := serve(t)
	_, page := get(t, srv.URL+"/", nil)
	refs := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("found only %d asset references in the page", len(refs))
	}
	for _, r := range refs {
		ref := r[1]
		if !strings.HasPrefix(ref, Prefix) {
			t.Errorf("page references %q, outside %s (no external assets allowed)", ref, Prefix)
			continue
		}
		if resp, _ := get(t, srv.URL+ref, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", ref, resp.StatusCode)
		}
	}
	for _, name := range []string{"app.js", "style.css"} {
		_, body := get(t, srv.URL+Prefix+name, nil)
		if m := regexp.MustCompile(`(?i)https?://|//cdn|@import`).FindString(body); m != "" {
			t.Errorf("%s loads from elsewhere: %q", name, m)
		}
	}
}

func TestUnknownAssetIs404(t *testing.T) {
	srv := serve(t)
	for _, p := range []string{"/console/nope.js", "/console/app.js/x", "/console/static/app.js"} {
		resp, body := get(t, srv.URL+p, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
		var e wire.ErrorResponse
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == nil || e.Error.Code != wire.CodeNotFound {
			t.Errorf("GET %s: body %q (%v), want a not_found error", p, body, err)
		}
	}
}

func TestAssetName(t *testing.T) {
	cases := []struct {
		path, name string
		ok         bool
	}{
		{"/", "index.html", true},
		{"/console/", "index.html", true},
		{"/console/app.js", "app.js", true},
		{"/console", "", false},
		{"/console/../console.go", "", false},
		{"/console//etc/passwd", "", false},
		{"/other/app.js", "", false},
		{"/index.html", "", false},
	}
	for _, c := range cases {
		name, ok := assetName(c.path)
		if name != c.name || ok != c.ok {
			t.Errorf("assetName(%q) = %q, %v; want %q, %v", c.path, name, ok, c.name, c.ok)
		}
	}
}

func TestConditionalGetAndMethods(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/app.js", nil))
	etag := rec.Header().Get("ETag")
	if rec.Code != http.StatusOK || etag == "" {
		t.Fatalf("GET: %d, ETag %q", rec.Code, etag)
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/console/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("GET with If-None-Match: %d, want 304", rec.Code)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("HEAD /: %d, %d body bytes, Content-Type %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"))
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Body.String(), `"method_not_allowed"`) {
		t.Errorf("POST /: %d %q", rec.Code, rec.Body.String())
	}
}
