package controller

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/membership"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/meta"
)

// NodeRule decides whether node from may propose cmd, given the metadata
// cur the active controller holds and the members serf knows. It runs on
// the active controller before the command reaches raft, after
// CheckCommand; an error wraps clusternet.ErrForbidden.
type NodeRule func(from meta.NodeID, cur *meta.Cluster, members []membership.Member, cmd *meta.Command) error

// NodePolicy is what another node may ask the controller (through the
// internal propose route, see ProposeFrom). An op missing here is refused
// from every other node: the active controller's own decisions (fencing,
// unfencing, the cluster id) are never taken on another node's word. A new
// op is denied until a rule for it is added here.
var NodePolicy = map[meta.Op]NodeRule{
	// A partition leader commits its ISR changes; only the leader itself
	// (Apply then refuses a leader that is not current: ErrStaleEpoch).
	meta.OpAlterPartition: func(from meta.NodeID, _ *meta.Cluster, _ []membership.Member, cmd *meta.Command) error {
		if cmd.AlterPartition.Leader != from {
			return forbidden(from, "an ISR change of %s-%d in the name of leader %d", cmd.AlterPartition.Topic, cmd.AlterPartition.Partition, cmd.AlterPartition.Leader)
		}
		return nil
	},
	// A node registers only itself, with the addresses it gossips.
	meta.OpRegisterBroker: func(from meta.NodeID, _ *meta.Cluster, members []membership.Member, cmd *meta.Command) error {
		b := &cmd.RegisterBroker.Broker
		if b.ID != from {
			return forbidden(from, "the registration of node %d", b.ID)
		}
		for _, m := range members {
			if meta.NodeID(m.ID) == from && m.Status == membership.StatusAlive {
				if m.HTTPAddr != b.HTTPAddr || m.ClusterAddr != b.ClusterAddr || m.RaftAddr != b.RaftAddr || m.SerfAddr != b.SerfAddr {
					return forbidden(from, "a registration with addresses other than the ones it gossips")
				}
				return nil
			}
		}
		return forbidden(from, "a registration while serf does not show it alive")
	},
	// Topic and plugin administration that a node forwards for a client
	// (the node that took the request checked the client). Internal
	// topics are created by the controller itself only.
	meta.OpCreateTopic: func(from meta.NodeID, _ *meta.Cluster, _ []membership.Member, cmd *meta.Command) error {
		// The group coordinator of any node creates __consumer_offsets
		// when it first needs it; no other internal topic comes from a node.
		if cmd.CreateTopic.Internal && !meta.KnownInternalTopic(cmd.CreateTopic.Name) {
			return forbidden(from, "the internal topic %s (only the controller creates those)", cmd.CreateTopic.Name)
		}
		return nil
	},
	// A broker reports only its own replicas lost (Apply checks its
	// broker epoch).
	meta.OpReplicaLost: func(from meta.NodeID, _ *meta.Cluster, _ []membership.Member, cmd *meta.Command) error {
		if cmd.ReplicaLost.Broker != from {
			return forbidden(from, "the loss of node %d's replica of %s-%d", cmd.ReplicaLost.Broker, cmd.ReplicaLost.Topic, cmd.ReplicaLost.Partition)
		}
		return nil
	},
	// An operator's unclean recovery, forwarded by the node that took it.
	meta.OpRecoverPartition: anyNode,
	// Principals and ACLs: forwarded for a client the forwarding node
	// authenticated and authorised (cluster admin); the first admin is
	// bootstrapped by whichever node starts the secure cluster (Apply
	// takes it once, only while no principal exists).
	meta.OpCreatePrincipal: anyNode,
	meta.OpDeletePrincipal: anyNode,
	meta.OpAddToken:        anyNode,
	meta.OpRevokeToken:     anyNode,
	meta.OpAddACL:          anyNode,
	meta.OpRemoveACL:       anyNode,
	meta.OpBootstrapAuth:   anyNode,
	// Cluster administration forwarded for an operator (reassignments,
	// partition count increases, unregistering a stopped broker).
	meta.OpCreatePartitions:   anyNode,
	meta.OpReassignPartitions: anyNode,
	meta.OpUnregisterBroker:   anyNode,
	meta.OpDeleteTopic:        anyNode,
	meta.OpAlterTopic:         anyNode,
	meta.OpElectLeader:        anyNode,
	meta.OpUploadPlugin:       anyNode,
	meta.OpDeletePlugin:       anyNode,
	meta.OpSetClusterID:       nil, // listed to say so: never from another node
	meta.OpFenceBroker:        nil,
	// Raising an internal topic's replication is the active controller's
	// own decision (reconcileInternalTopics).
	meta.OpRaiseReplication: nil,
	meta.OpUnfenceBroker:    nil,
}

func anyNode(meta.NodeID, *meta.Cluster, []membership.Member, *meta.Command) error { return nil }

func forbidden(from meta.NodeID, format string, args ...any) error {
	return fmt.Errorf("%w: node %d may not propose %s", clusternet.ErrForbidden, from, fmt.Sprintf(format, args...))
}

// allowFrom applies NodePolicy to a command from another node.
func (c *Controller) allowFrom(from meta.NodeID, cmd *meta.Command) error {
	rule := NodePolicy[cmd.Op]
	if rule == nil {
		return forbidden(from, "%s (the active controller's own decision)", cmd.Op)
	}
	cur := c.Metadata()
	var members []membership.Member
	if c.cfg.Membership != nil {
		members = c.cfg.Membership.Members()
	}
	if cmd.Op != meta.OpRegisterBroker {
		if _, ok := cur.Broker(from); !ok {
			return forbidden(from, "anything: it is not a registered node")
		}
	}
	return rule(from, cur, members, cmd)
}

// ProposeFrom is Propose for a command node from sent over the internal
// propose route (the caller's identity comes from its verified
// certificate). Besides CheckCommand it applies NodePolicy on the active
// controller; a refusal wraps clusternet.ErrForbidden. A command this
// controller sends itself uses Propose.
func (c *Controller) ProposeFrom(ctx context.Context, from meta.NodeID, cmd meta.Command) (meta.Result, error) {
	if from == c.cfg.NodeID {
		return c.Propose(ctx, cmd)
	}
	return c.propose(ctx, cmd, func() error { return c.allowFrom(from, &cmd) })
}
