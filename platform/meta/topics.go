package meta

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"
)

// InternalPrefix starts the names of internal topics (such as
// __consumer_offsets): only a CreateTopic with Internal set may use it.
const InternalPrefix = "__"

func (a *applier) createTopic(ct *CreateTopic) error {
	cur := a.cur()
	if !ValidTopicName(ct.Name) {
		return fmt.Errorf("topic name %q: want [a-zA-Z0-9._-]{1,%d}: %w", ct.Name, MaxTopicNameLen, ErrInvalidRequest)
	}
	if !ct.Internal && strings.HasPrefix(ct.Name, InternalPrefix) {
		return fmt.Errorf("topic name %q: names starting with %s are reserved for internal topics: %w", ct.Name, InternalPrefix, ErrInvalidRequest)
	}
	if _, ok := cur.Topics[ct.Name]; ok {
		return fmt.Errorf("topic %q: %w", ct.Name, ErrTopicExists)
	}
	parts := ct.Partitions
	if parts == 0 {
		parts = 1
	}
	if parts < 1 || parts > MaxPartitions {
		return fmt.Errorf("topic %q: %d partitions, want 1..%d: %w", ct.Name, ct.Partitions, MaxPartitions, ErrInvalidRequest)
	}
	rf := ct.ReplicationFactor
	if rf == 0 {
		rf = 1
	}
	if rf < 1 {
		return fmt.Errorf("topic %q: replication factor %d: %w", ct.Name, rf, ErrInvalidRequest)
	}
	spec, err := a.checkPartitioner(ct.Partitioner)
	if err != nil {
		return fmt.Errorf("topic %q: %w", ct.Name, err)
	}
	cfg, err := ParseTopicConfig(DefaultTopicConfig(), ct.Config)
	if err != nil {
		return fmt.Errorf("topic %q: %w", ct.Name, err)
	}
	if err := checkConfigFits(cfg, rf); err != nil {
		return fmt.Errorf("topic %q: %w", ct.Name, err)
	}
	brokers := cur.AliveBrokers()
	if rf > len(brokers) {
		return fmt.Errorf("topic %q: replication factor %d, %d alive brokers: %w", ct.Name, rf, len(brokers), ErrNotEnoughBrokers)
	}
	// Start where the previous topics left off, so that leaders of many
	// small topics spread over the brokers too.
	start := 0
	for _, t := range cur.Topics {
		start += len(t.Partitions)
	}
	assignment := assignReplicas(brokers, parts, rf, start)
	if err := cur.CheckReplicaCapacity("topic "+ct.Name, assignment); err != nil {
		return err
	}
	id := ct.ID
	if id == "" {
		id = topicID(cur.ClusterID, ct.Name, a.index)
	} else if !ValidTopicID(id) {
		// Brokers name the topic's directory after its name and id: an id
		// from the log must never be a path (the controller refuses
		// proposed ids before raft; this holds for any log).
		return fmt.Errorf("topic %q: id %q: want [a-zA-Z0-9_-]{1,%d}: %w", ct.Name, id, MaxTopicIDLen, ErrInvalidRequest)
	}
	t := &Topic{
		Name:              ct.Name,
		ID:                id,
		ReplicationFactor: rf,
		Partitioner:       spec,
		Config:            cfg,
		Partitions:        make([]Partition, parts),
		Internal:          ct.Internal,
		CreatedAt:         a.now,
	}
	for i, replicas := range assignment {
		t.Partitions[i] = Partition{
			Topic:    ct.Name,
			Index:    int32(i),
			Replicas: replicas,
			Leader:   replicas[0],
			ISR:      append([]NodeID(nil), replicas...),
		}
	}
	a.putTopic(t)
	a.res.Topic = t
	return nil
}

// topicID derives a topic ID from the creation's raft index: unique per
// creation within a cluster, identical on every replica.
func topicID(clusterID, name string, index uint64) string {
	h := sha256.New()
	h.Write([]byte(clusterID))
	h.Write([]byte{0})
	h.Write([]byte(name))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], index)
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func checkConfigFits(cfg TopicConfig, rf int) error {
	if cfg.MinInsyncReplicas > rf {
		return fmt.Errorf("%s=%d exceeds replication factor %d (acks=all could never succeed): %w",
			KeyMinInsyncReplicas, cfg.MinInsyncReplicas, rf, ErrInvalidConfig)
	}
	return nil
}

// checkPartitioner validates spec against the registry and returns it
// normalised (empty name = auto).
func (a *applier) checkPartitioner(spec PartitionerSpec) (PartitionerSpec, error) {
	spec = spec.clone()
	switch spec.Name {
	case "":
		spec.Name = PartitionerAuto
		fallthrough
	case PartitionerAuto, PartitionerHash, PartitionerRoundRobin, PartitionerSticky:
		if spec.Plugin != "" || spec.Version != 0 {
			return spec, fmt.Errorf("partitioner %s takes no plugin: %w", spec.Name, ErrInvalidRequest)
		}
		return spec, nil
	case PartitionerWasm:
		if !validPluginName(spec.Plugin) {
			return spec, fmt.Errorf("partitioner plugin name %q: %w", spec.Plugin, ErrInvalidRequest)
		}
		if spec.Version < 0 {
			return spec, fmt.Errorf("partitioner plugin version %d: %w", spec.Version, ErrInvalidRequest)
		}
		pv, err := a.cur().PluginVersion(spec.Plugin, spec.Version)
		if err != nil {
			return spec, err
		}
		if pv.Kind != PluginKindPartitioner {
			return spec, fmt.Errorf("plugin %s@%d is a %s, not a partitioner: %w", pv.Name, pv.Version, pv.Kind, ErrInvalidRequest)
		}
		return pinPartitioner(spec, pv), nil
	default:
		return spec, fmt.Errorf("partitioner %q: want auto, hash, roundrobin or wasm: %w", spec.Name, ErrInvalidRequest)
	}
}

func (a *applier) deleteTopic(name string) error {
	t, ok := a.cur().Topics[name]
	if !ok {
		return fmt.Errorf("topic %q: %w", name, ErrUnknownTopic)
	}
	if t.Internal {
		return fmt.Errorf("topic %q is internal (the cluster keeps its data there) and cannot be deleted: %w", name, ErrInvalidRequest)
	}
	a.removeTopic(name)
	a.tombstone(t)
	a.res.Topic = t
	return nil
}

func (a *applier) alterTopic(at *AlterTopic) error {
	t, ok := a.cur().Topics[at.Name]
	if !ok {
		return fmt.Errorf("topic %q: %w", at.Name, ErrUnknownTopic)
	}
	if t.Internal {
		// Its readers and writers depend on its partitioner and
		// configuration (e.g. records keyed to a fixed partition).
		return fmt.Errorf("topic %q is internal and cannot be altered: %w", at.Name, ErrInvalidRequest)
	}
	cfg, err := ParseTopicConfig(t.Config, at.Config)
	if err != nil {
		return fmt.Errorf("topic %q: %w", at.Name, err)
	}
	if err := checkConfigFits(cfg, t.ReplicationFactor); err != nil {
		return fmt.Errorf("topic %q: %w", at.Name, err)
	}
	spec := t.Partitioner
	if at.Partitioner != nil {
		if spec, err = a.checkPartitioner(*at.Partitioner); err != nil {
			return fmt.Errorf("topic %q: %w", at.Name, err)
		}
	}
	if cfg == t.Config && samePartitioner(spec, t.Partitioner) {
		a.res.Topic = t
		return nil
	}
	n := *t // partitions are shared: AlterTopic does not touch them
	n.Config = cfg
	n.Partitioner = spec
	a.putTopic(&n)
	a.res.Topic = &n
	return nil
}

func samePartitioner(a, b PartitionerSpec) bool {
	return a.Name == b.Name && a.Plugin == b.Plugin && a.Version == b.Version &&
		maps.Equal(a.Params, b.Params)
}
