package membership

import (
	"net"
	"testing"

	"github.com/hashicorp/serf/serf"
)

// A node's replica capacity travels in its tags; a missing or malformed
// tag is no limit.
func TestMaxReplicasTag(t *testing.T) {
	tags := Tags{NodeID: 3, Roles: []string{"broker"}, HTTPAddr: "http://x", MaxReplicas: 18976}.encode("c")
	sm := serf.Member{Name: "node-3", Addr: net.ParseIP("127.0.0.1"), Port: 7946, Tags: tags, Status: serf.StatusAlive}
	m, err := parseMember(sm)
	if err != nil || m.MaxReplicas != 18976 {
		t.Fatalf("parsed %+v, %v", m, err)
	}
	for _, bad := range []string{"", "-4", "many"} {
		sm.Tags = Tags{NodeID: 3}.encode("c")
		if bad != "" {
			sm.Tags[tagMaxReplicas] = bad
		}
		if m, err := parseMember(sm); err != nil || m.MaxReplicas != 0 {
			t.Fatalf("tag %q: parsed %+v, %v", bad, m, err)
		}
	}
	if _, ok := (Tags{NodeID: 1}).encode("c")[tagMaxReplicas]; ok {
		t.Fatal("no capacity still sets the tag")
	}
}
