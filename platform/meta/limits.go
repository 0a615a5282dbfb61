package meta

import (
	"errors"
	"fmt"
	"sort"
)

// ErrQuotaExceeded: the command would pass a limit of a broker (replicas
// it can hold) or of the cluster (plugin versions or bytes). Nothing was
// changed.
var ErrQuotaExceeded = errors.New("quota exceeded")

// Plugin registry quotas. Every plugin version's module lives in the
// metadata (raft log and snapshots, on every controller and in every
// node's memory), so the registry is bounded. Deleting versions frees
// their share.
const (
	// MaxPluginVersions bounds the versions kept under one plugin name.
	MaxPluginVersions = 32
	// MaxPluginTotalBytes bounds the module bytes of all kept versions of
	// all plugins together (256 MiB).
	MaxPluginTotalBytes = 256 << 20
)

// CheckPluginQuota says whether a module of size bytes may be uploaded as
// a new version of plugin name: ErrQuotaExceeded (wrapped, naming the
// quota and how to free room) when the name has MaxPluginVersions versions
// or the registry would pass MaxPluginTotalBytes. The API checks it before
// a module is validated or proposed, and Apply checks it again.
func (c *Cluster) CheckPluginQuota(name string, size int) error {
	total := 0
	for _, p := range c.Plugins {
		for i := range p.Versions {
			total += p.Versions[i].Size
		}
	}
	if p, ok := c.Plugins[name]; ok && len(p.Versions) >= MaxPluginVersions {
		return fmt.Errorf("plugin %s has %d versions, the limit is %d: delete old versions first: %w",
			name, len(p.Versions), MaxPluginVersions, ErrQuotaExceeded)
	}
	if total+size > MaxPluginTotalBytes {
		return fmt.Errorf("plugin %s: %d more bytes would bring the plugin registry to %d bytes, the limit is %d (256 MiB): delete unused plugin versions first: %w",
			name, size, total+size, MaxPluginTotalBytes, ErrQuotaExceeded)
	}
	return nil
}

// ReplicaCounts is how many partition replicas each broker holds.
func (c *Cluster) ReplicaCounts() map[NodeID]int {
	out := map[NodeID]int{}
	for _, t := range c.Topics {
		for i := range t.Partitions {
			for _, r := range t.Partitions[i].Replicas {
				out[r]++
			}
		}
	}
	return out
}

// CheckReplicaCapacity says whether brokers can take the replicas of
// assignment on top of those they hold: ErrQuotaExceeded (wrapped, naming
// the first broker, in ID order, that would pass its Broker.MaxReplicas)
// otherwise. Every command that places replicas checks it before it
// changes anything, so a broker is never assigned more replica files than
// it has file descriptors for.
func (c *Cluster) CheckReplicaCapacity(what string, assignment [][]NodeID) error {
	adding := map[NodeID]int{}
	for _, replicas := range assignment {
		for _, r := range replicas {
			adding[r]++
		}
	}
	ids := make([]NodeID, 0, len(adding))
	for id := range adding {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var held map[NodeID]int
	for _, id := range ids {
		b, ok := c.Brokers[id]
		if !ok || b.MaxReplicas <= 0 {
			continue
		}
		if held == nil {
			held = c.ReplicaCounts()
		}
		if held[id]+adding[id] > b.MaxReplicas {
			return fmt.Errorf("%s would place %d replicas on broker %d, which holds %d of at most %d (its partition and file-descriptor budget): %w",
				what, adding[id], id, held[id], b.MaxReplicas, ErrQuotaExceeded)
		}
	}
	return nil
}
