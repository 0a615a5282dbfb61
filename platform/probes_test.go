package platform_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
	"github.com/sluicehq/sluice/sdk/wire"
)

func probe(t *testing.T, url string) (int, wire.Readiness) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r wire.Readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode, r
}

// TestProbes: a started node is alive and ready; a broker-only node that
// joined is ready too, and both stay alive.
func TestProbes(t *testing.T) {
	first := testnode.Start(t)
	if code, r := probe(t, first.URL()+"/livez"); code != 200 || r.Status != wire.AliveStatus || r.NodeID != 1 {
		t.Errorf("livez: %d %+v", code, r)
	}
	if code, r := probe(t, first.URL()+"/readyz"); code != 200 || r.Status != wire.ReadyStatus || len(r.Reasons) != 0 || len(r.Warnings) != 0 {
		t.Errorf("readyz: %d %+v", code, r)
	}
	second := testnode.Join(t, first, 2, []string{platform.RoleBroker})
	if code, r := probe(t, second.URL()+"/readyz"); code != 200 || r.Status != wire.ReadyStatus || r.NodeID != 2 {
		t.Errorf("readyz of a joined broker: %d %+v", code, r)
	}
	if code, _ := probe(t, second.URL()+"/livez"); code != 200 {
		t.Errorf("livez of a joined broker: %d", code)
	}
}
