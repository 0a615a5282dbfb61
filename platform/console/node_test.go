package console_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform/testnode"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
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

// Every node serves the console at "/" beside its API, and the API's own
// answers are unchanged.
func TestNodeServesConsole(t *testing.T) {
	n := testnode.Start(t)
	resp, body := get(t, n.URL()+"/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "Sluice console") {
		t.Fatalf("GET /: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, n.URL()+"/console/app.js"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /console/app.js: %d", resp.StatusCode)
	}
	resp, body = get(t, n.URL()+"/console") // redirected to /console/
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sluice console") {
		t.Errorf("GET /console: %d", resp.StatusCode)
	}
	resp, body = get(t, n.URL()+"/v1/topics")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"topics"`) {
		t.Errorf("GET /v1/topics: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, n.URL()+"/no-such-route")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
		t.Errorf("GET /no-such-route: %d %q", resp.StatusCode, body)
	}
}
