package httpapi

import (
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
)

// The default replication factor is docs/api.md's: 1 on one broker, else
// min(3, brokers), counting alive nodes with the broker role.
func TestDefaultReplicationFactor(t *testing.T) {
	for _, c := range []struct {
		brokers, fenced, controllers, want int
	}{
		{0, 0, 1, 1}, {1, 0, 0, 1}, {2, 0, 0, 2}, {3, 0, 0, 3}, {5, 0, 0, 3},
		{2, 1, 0, 2}, {1, 2, 0, 1}, {1, 0, 3, 1}, {4, 2, 0, 3},
	} {
		cl := meta.NewCluster()
		cl.Brokers = map[meta.NodeID]*meta.Broker{}
		id := meta.NodeID(1)
		add := func(n int, state meta.BrokerState, role string) {
			for range n {
				cl.Brokers[id] = &meta.Broker{ID: id, State: state, Roles: []string{role}}
				id++
			}
		}
		add(c.brokers, meta.BrokerAlive, meta.RoleBroker)
		add(c.fenced, meta.BrokerFenced, meta.RoleBroker)
		add(c.controllers, meta.BrokerAlive, meta.RoleController)
		if got := defaultReplicationFactor(cl); got != c.want {
			t.Errorf("%d alive brokers, %d fenced, %d controller-only: %d, want %d", c.brokers, c.fenced, c.controllers, got, c.want)
		}
	}
}
