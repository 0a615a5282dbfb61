package meta

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// NodeID identifies a node (broker and/or controller). It is chosen by the
// operator (--node-id) and is stable across restarts.
type NodeID int32

// NoLeader is Partition.Leader when no replica may lead.
const NoLeader NodeID = -1

// Role names carried in Broker.Roles.
const (
	RoleController = "controller"
	RoleBroker     = "broker"
)

// BrokerState is a registered node's state in the metadata.
type BrokerState string

const (
	// BrokerAlive: the node is a member in good standing; it may lead and be
	// in ISRs.
	BrokerAlive BrokerState = "alive"
	// BrokerFenced: the node failed or left; it leads nothing and is in no ISR
	// except as the last member of one (so that it can come back clean).
	BrokerFenced BrokerState = "fenced"
)

// Broker is a registered node.
type Broker struct {
	ID       NodeID `json:"id"`
	HTTPAddr string `json:"http_addr"`
	RaftAddr string `json:"raft_addr,omitempty"`
	SerfAddr string `json:"serf_addr,omitempty"`
	// ClusterAddr is the base URL of the node's cluster listener, where
	// other nodes call its /internal/ routes ("https://host:port").
	ClusterAddr string      `json:"cluster_addr,omitempty"`
	Rack        string      `json:"rack,omitempty"`
	Roles       []string    `json:"roles,omitempty"`
	State       BrokerState `json:"state"`
	// Epoch is the raft index of the broker's last registration (or unfence);
	// it grows every time the broker (re)joins, so stale sessions can be told apart.
	Epoch int64 `json:"epoch"`
	// DirID identifies the broker's data directory (KIP-858): created with
	// the directory, reported in every heartbeat. A broker whose DirID
	// changed lost its data; see RegisterBroker. Empty for a broker that
	// never heartbeated (serf registration only).
	DirID string `json:"dir_id,omitempty"`
	// MaxReplicas is how many partition replicas the broker can hold (its
	// configured maximum and its file-descriptor budget, the smaller);
	// 0 is no limit. Commands that would place more are refused
	// (CheckReplicaCapacity).
	MaxReplicas int `json:"max_replicas,omitempty"`
}

// HasRole reports whether the node carries role. A node registered with no
// roles at all counts as a broker (the one-role default).
func (b *Broker) HasRole(role string) bool {
	if len(b.Roles) == 0 {
		return role == RoleBroker
	}
	return slices.Contains(b.Roles, role)
}

// Alive reports whether the broker is in state BrokerAlive.
func (b *Broker) Alive() bool { return b.State == BrokerAlive }

// Partition is the assignment of one partition of a topic.
type Partition struct {
	Topic string `json:"topic"`
	Index int32  `json:"index"`
	// Replicas in preference order: Replicas[0] is the preferred leader.
	Replicas []NodeID `json:"replicas"`
	// Leader is NoLeader (-1) when no eligible replica is left.
	Leader NodeID `json:"leader"`
	// LeaderEpoch grows with every leader change (including to NoLeader).
	LeaderEpoch int32 `json:"leader_epoch"`
	// ISR: in-sync replicas, always a subset of Replicas; contains Leader
	// when there is one.
	ISR []NodeID `json:"isr"`
	// PartitionEpoch grows with every change of this partition's state
	// (leader, ISR); AlterPartition must name the current one.
	PartitionEpoch int32 `json:"partition_epoch"`
	// Lost lists replicas that lost their data (a new data directory, a
	// missing or damaged partition file) and have not rejoined the ISR
	// since: they are never elected leader by a clean election, and an
	// unclean one takes them only when no other replica is alive.
	Lost []NodeID `json:"lost,omitempty"`
	// AddingReplicas and RemovingReplicas describe a reassignment in
	// progress (KIP-455): Replicas is then the union of the target set
	// and the replicas being removed; the target set is Replicas without
	// RemovingReplicas. Both are empty when no reassignment runs (see
	// reassign.go).
	AddingReplicas   []NodeID `json:"adding_replicas,omitempty"`
	RemovingReplicas []NodeID `json:"removing_replicas,omitempty"`
	// ReassignThrottle, in bytes per second, limits the catch-up traffic
	// of the replicas being added while a reassignment runs (throttle.go);
	// 0 is no limit. It is always 0 when no reassignment runs.
	ReassignThrottle int64 `json:"reassign_throttle,omitempty"`
}

// Partition states (Partition.State).
const (
	// PartitionOnline: the partition has a leader.
	PartitionOnline = "online"
	// PartitionOffline: no ISR member is alive; the partition comes back
	// when one returns.
	PartitionOffline = "offline"
	// PartitionDataLost: every ISR member lost its data; the partition stays
	// offline until an operator recovers it (RecoverPartition, or the
	// topic's unclean.leader.election.enable), accepting the loss of the
	// records no surviving replica holds.
	PartitionDataLost = "offline_data_lost"
)

// State is PartitionOnline, PartitionOffline or PartitionDataLost.
func (p *Partition) State() string {
	switch {
	case p.Leader != NoLeader:
		return PartitionOnline
	case len(p.ISR) == 0:
		return PartitionDataLost
	default:
		return PartitionOffline
	}
}

// IsLost reports whether replica id lost its data and has not caught up.
func (p *Partition) IsLost(id NodeID) bool { return slices.Contains(p.Lost, id) }

// InISR reports whether id is in the partition's ISR.
func (p *Partition) InISR(id NodeID) bool { return slices.Contains(p.ISR, id) }

// IsReplica reports whether id holds a replica of the partition.
func (p *Partition) IsReplica(id NodeID) bool { return slices.Contains(p.Replicas, id) }

func (p Partition) clone() Partition {
	p.Replicas = slices.Clone(p.Replicas)
	p.ISR = slices.Clone(p.ISR)
	p.Lost = slices.Clone(p.Lost)
	p.AddingReplicas = slices.Clone(p.AddingReplicas)
	p.RemovingReplicas = slices.Clone(p.RemovingReplicas)
	return p
}

// Topic is a topic's metadata.
type Topic struct {
	Name string `json:"name"`
	// ID is unique per creation, so a deleted and re-created topic gets new
	// files (storage paths should include it).
	ID                string          `json:"id"`
	ReplicationFactor int             `json:"replication_factor"`
	Partitioner       PartitionerSpec `json:"partitioner"`
	Config            TopicConfig     `json:"config"`
	Partitions        []Partition     `json:"partitions"`
	Internal          bool            `json:"internal,omitempty"`
	CreatedAt         time.Time       `json:"created_at"`
}

// Clone returns a deep copy that the caller may modify.
func (t *Topic) Clone() *Topic {
	n := *t
	n.Partitioner = t.Partitioner.clone()
	n.Partitions = make([]Partition, len(t.Partitions))
	for i := range t.Partitions {
		n.Partitions[i] = t.Partitions[i].clone()
	}
	return &n
}

// Cluster is one immutable snapshot of all metadata.
type Cluster struct {
	// Version is the raft index of the last command that changed the state
	// (0 for the empty cluster). Commands that fail or change nothing leave
	// it alone, so a Version change always means new content.
	Version   uint64             `json:"version"`
	ClusterID string             `json:"cluster_id,omitempty"`
	Brokers   map[NodeID]*Broker `json:"brokers"`
	Topics    map[string]*Topic  `json:"topics"`
	Plugins   map[string]*Plugin `json:"plugins"`
	// DeletedTopics records, by topic ID, every topic a DeleteTopic
	// removed (see tombstones.go): brokers delete a topic's files only
	// for IDs listed here.
	DeletedTopics map[string]DeletedTopic `json:"deleted_topics,omitempty"`
	// Principals are the users and service accounts, by name (auth).
	Principals map[string]*Principal `json:"principals,omitempty"`
	// ACLs are the access control entries, in the order they were added.
	ACLs []ACL `json:"acls,omitempty"`
	// AuthBootstrapped is set by the first BootstrapAuth.
	AuthBootstrapped bool `json:"auth_bootstrapped,omitempty"`
}

// NewCluster returns the empty cluster (Version 0).
func NewCluster() *Cluster {
	return &Cluster{
		Brokers: map[NodeID]*Broker{},
		Topics:  map[string]*Topic{},
		Plugins: map[string]*Plugin{},
	}
}

// Topic returns the named topic.
func (c *Cluster) Topic(name string) (*Topic, bool) {
	t, ok := c.Topics[name]
	return t, ok
}

// TopicNames returns all topic names, sorted.
func (c *Cluster) TopicNames() []string {
	names := make([]string, 0, len(c.Topics))
	for n := range c.Topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// PartitionOf returns one partition of a topic, or ErrUnknownTopic /
// ErrUnknownPartition (wrapped).
func (c *Cluster) PartitionOf(topic string, idx int32) (*Partition, error) {
	t, ok := c.Topics[topic]
	if !ok {
		return nil, fmt.Errorf("topic %q: %w", topic, ErrUnknownTopic)
	}
	if idx < 0 || int(idx) >= len(t.Partitions) {
		return nil, fmt.Errorf("topic %q partition %d: %w", topic, idx, ErrUnknownPartition)
	}
	return &t.Partitions[idx], nil
}

// Broker returns the registered broker with id.
func (c *Cluster) Broker(id NodeID) (*Broker, bool) {
	b, ok := c.Brokers[id]
	return b, ok
}

// BrokerList returns all registered nodes sorted by ID.
func (c *Cluster) BrokerList() []*Broker {
	out := make([]*Broker, 0, len(c.Brokers))
	for _, b := range c.Brokers {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *Broker) int { return int(a.ID) - int(b.ID) })
	return out
}

// AliveBrokers returns the alive nodes with the broker role, sorted by ID:
// the nodes that may be assigned replicas.
func (c *Cluster) AliveBrokers() []*Broker {
	var out []*Broker
	for _, b := range c.BrokerList() {
		if b.Alive() && b.HasRole(RoleBroker) {
			out = append(out, b)
		}
	}
	return out
}

// PluginVersion returns one version of a plugin; version 0 means the latest.
func (c *Cluster) PluginVersion(name string, version int) (*PluginVersion, error) {
	p, ok := c.Plugins[name]
	if !ok || len(p.Versions) == 0 {
		return nil, fmt.Errorf("plugin %q: %w", name, ErrUnknownPlugin)
	}
	if version == 0 {
		return &p.Versions[len(p.Versions)-1], nil
	}
	for i := range p.Versions {
		if p.Versions[i].Version == version {
			return &p.Versions[i], nil
		}
	}
	return nil, fmt.Errorf("plugin %s@%d: %w", name, version, ErrUnknownPlugin)
}

// PluginNames returns all plugin names, sorted.
func (c *Cluster) PluginNames() []string {
	names := make([]string, 0, len(c.Plugins))
	for n := range c.Plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// UsersOfPlugin returns the sorted names of topics whose partitioner uses the
// plugin version. Version 0 asks about every version. A topic whose
// partitioner names no version (latest) uses the current latest version.
func (c *Cluster) UsersOfPlugin(name string, version int) []string {
	var latest int
	if p, ok := c.Plugins[name]; ok && len(p.Versions) > 0 {
		latest = p.Versions[len(p.Versions)-1].Version
	}
	var users []string
	for _, t := range c.Topics {
		s := t.Partitioner
		if s.Name != PartitionerWasm || s.Plugin != name {
			continue
		}
		used := s.Version
		if used == 0 {
			used = latest
		}
		if version == 0 || used == version {
			users = append(users, t.Name)
		}
	}
	sort.Strings(users)
	return users
}
