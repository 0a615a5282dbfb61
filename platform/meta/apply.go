package meta

import (
	"fmt"
	"maps"
	"time"
)

// Apply applies cmd, committed at raft index, to c and returns the new
// cluster. c is never modified: the result shares every value the command did
// not change (copy-on-write). A failed command returns c itself and an error
// wrapping one of the package's sentinel errors; a command that changes
// nothing (an idempotent repeat) returns c itself with Result.Changed false.
// Otherwise the new cluster's Version is index.
//
// now must come from the command (Command.At), not from the applier's clock:
// Apply is deterministic in its inputs, which is what keeps replicas equal.
func Apply(c *Cluster, index uint64, cmd Command, now time.Time) (*Cluster, Result, error) {
	if c == nil {
		c = NewCluster()
	}
	a := &applier{old: c, index: index, now: now}
	if err := a.apply(cmd); err != nil {
		// Not prefixed with cmd.Op: the message reaches API clients, and
		// the error already names what it is about (topic "x": ...).
		return c, Result{Version: c.Version}, err
	}
	if a.next == nil {
		a.res.Version = c.Version
		return c, a.res, nil
	}
	a.next.Version = index
	a.res.Version = index
	a.res.Changed = true
	return a.next, a.res, nil
}

// applier carries one command's copy-on-write state: next is nil until the
// first change, and each map is copied the first time it is written.
type applier struct {
	old, next *Cluster
	index     uint64
	now       time.Time
	res       Result

	brokersCopied, topicsCopied, pluginsCopied, principalsCopied bool
}

func (a *applier) apply(cmd Command) error {
	missing := fmt.Errorf("payload missing: %w", ErrInvalidRequest)
	switch cmd.Op {
	case OpRegisterBroker:
		if cmd.RegisterBroker == nil {
			return missing
		}
		return a.registerBroker(cmd.RegisterBroker)
	case OpFenceBroker:
		if cmd.FenceBroker == nil {
			return missing
		}
		return a.fenceBroker(cmd.FenceBroker.ID)
	case OpUnfenceBroker:
		if cmd.UnfenceBroker == nil {
			return missing
		}
		return a.unfenceBroker(cmd.UnfenceBroker.ID)
	case OpCreateTopic:
		if cmd.CreateTopic == nil {
			return missing
		}
		return a.createTopic(cmd.CreateTopic)
	case OpDeleteTopic:
		if cmd.DeleteTopic == nil {
			return missing
		}
		return a.deleteTopic(cmd.DeleteTopic.Name)
	case OpAlterTopic:
		if cmd.AlterTopic == nil {
			return missing
		}
		return a.alterTopic(cmd.AlterTopic)
	case OpAlterPartition:
		if cmd.AlterPartition == nil {
			return missing
		}
		return a.alterPartition(cmd.AlterPartition)
	case OpElectLeader:
		if cmd.ElectLeader == nil {
			return missing
		}
		return a.electLeader(cmd.ElectLeader)
	case OpUploadPlugin:
		if cmd.UploadPlugin == nil {
			return missing
		}
		return a.uploadPlugin(cmd.UploadPlugin)
	case OpDeletePlugin:
		if cmd.DeletePlugin == nil {
			return missing
		}
		return a.deletePlugin(cmd.DeletePlugin)
	case OpSetClusterID:
		if cmd.SetClusterID == nil {
			return missing
		}
		return a.setClusterID(cmd.SetClusterID.ClusterID)
	case OpRaiseReplication:
		if cmd.RaiseReplication == nil {
			return missing
		}
		return a.raiseReplication(cmd.RaiseReplication)
	case OpReplicaLost:
		if cmd.ReplicaLost == nil {
			return missing
		}
		return a.replicaLost(cmd.ReplicaLost)
	case OpRecoverPartition:
		if cmd.RecoverPartition == nil {
			return missing
		}
		return a.recoverPartition(cmd.RecoverPartition)
	case OpCreatePartitions:
		if cmd.CreatePartitions == nil {
			return missing
		}
		return a.createPartitions(cmd.CreatePartitions)
	case OpReassignPartitions:
		if cmd.ReassignPartitions == nil {
			return missing
		}
		return a.reassignPartitions(cmd.ReassignPartitions)
	case OpUnregisterBroker:
		if cmd.UnregisterBroker == nil {
			return missing
		}
		return a.unregisterBroker(cmd.UnregisterBroker.ID)
	default:
		return a.applyAuth(cmd)
	}
}

// cur is the state as changed so far.
func (a *applier) cur() *Cluster {
	if a.next != nil {
		return a.next
	}
	return a.old
}

func (a *applier) mut() *Cluster {
	if a.next == nil {
		n := *a.old
		a.next = &n
	}
	return a.next
}

func (a *applier) putBroker(b *Broker) {
	m := a.mut()
	if !a.brokersCopied {
		m.Brokers = cloneMap(m.Brokers)
		a.brokersCopied = true
	}
	m.Brokers[b.ID] = b
}

func (a *applier) putTopic(t *Topic) {
	m := a.mut()
	if !a.topicsCopied {
		m.Topics = cloneMap(m.Topics)
		a.topicsCopied = true
	}
	m.Topics[t.Name] = t
}

func (a *applier) removeTopic(name string) {
	m := a.mut()
	if !a.topicsCopied {
		m.Topics = cloneMap(m.Topics)
		a.topicsCopied = true
	}
	delete(m.Topics, name)
}

func (a *applier) putPlugin(p *Plugin) {
	m := a.mut()
	if !a.pluginsCopied {
		m.Plugins = cloneMap(m.Plugins)
		a.pluginsCopied = true
	}
	m.Plugins[p.Name] = p
}

func (a *applier) removePlugin(name string) {
	m := a.mut()
	if !a.pluginsCopied {
		m.Plugins = cloneMap(m.Plugins)
		a.pluginsCopied = true
	}
	delete(m.Plugins, name)
}

func (a *applier) setClusterID(id string) error {
	cur := a.cur().ClusterID
	switch {
	case id == "":
		return fmt.Errorf("empty cluster id: %w", ErrInvalidRequest)
	case cur == id:
		return nil
	case cur != "":
		return fmt.Errorf("cluster id already %q, refusing %q: %w", cur, id, ErrInvalidRequest)
	}
	a.mut().ClusterID = id
	return nil
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return maps.Clone(m)
}
