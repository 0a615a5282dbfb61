package platform

import (
	"context"
	"slices"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/httpapi"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// clusterInfo answers GET /v1/cluster: the metadata's brokers with the
// state serf sees now, and the controller quorum as this node knows it.
func (n *Node) clusterInfo(context.Context) (wire.Cluster, error) {
	c := n.metadata()
	out := httpapi.ClusterFromMetadata(c, n.cfg.NodeID)
	states := map[int32]membership.Status{}
	for _, m := range n.members.Members() {
		states[m.ID] = m.Status
	}
	seen := map[int32]bool{}
	for i := range out.Brokers {
		b := &out.Brokers[i]
		seen[b.ID] = true
		if st, ok := states[b.ID]; ok {
			b.State = string(st)
		} else {
			b.State = wire.StateFailed
		}
	}
	// Members serf knows that the metadata has not registered yet.
	for _, m := range n.members.Members() {
		if seen[m.ID] {
			continue
		}
		out.Brokers = append(out.Brokers, wire.Broker{ID: m.ID, Roles: m.Roles, HTTPAddr: m.HTTPAddr,
			RaftAddr: m.RaftAddr, SerfAddr: m.SerfAddr, Rack: m.Rack, State: string(m.Status)})
	}
	slices.SortFunc(out.Brokers, func(a, b wire.Broker) int { return int(a.ID) - int(b.ID) })
	if n.controller != nil {
		id, _ := n.controller.Leader()
		out.Controller.Leader = int32(id)
		if b, ok := c.Broker(id); ok && id != meta.NoLeader {
			out.Controller.LeaderAddr = b.HTTPAddr
		}
	}
	return out, nil
}
