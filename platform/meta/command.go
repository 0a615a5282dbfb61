package meta

import (
	"encoding/json"
	"fmt"
	"time"
)

// Op names a command.
type Op string

// The commands Apply knows.
const (
	OpRegisterBroker Op = "register_broker"
	OpFenceBroker    Op = "fence_broker"
	OpUnfenceBroker  Op = "unfence_broker"
	OpCreateTopic    Op = "create_topic"
	OpDeleteTopic    Op = "delete_topic"
	OpAlterTopic     Op = "alter_topic"
	OpAlterPartition Op = "alter_partition"
	OpElectLeader    Op = "elect_leader"
	OpUploadPlugin   Op = "upload_plugin"
	OpDeletePlugin   Op = "delete_plugin"
	OpSetClusterID   Op = "set_cluster_id"
	// OpRaiseReplication: see RaiseReplication (internal.go).
	OpRaiseReplication Op = "raise_replication"
	// OpReplicaLost: a broker reports that one of its replicas lost its
	// data (see ReplicaLost).
	OpReplicaLost Op = "replica_lost"
	// OpRecoverPartition: an operator's unclean recovery of an offline
	// partition (see RecoverPartition).
	OpRecoverPartition Op = "recover_partition"

	// Principals and ACLs (principals.go, acl.go).
	OpCreatePrincipal Op = "create_principal"
	OpDeletePrincipal Op = "delete_principal"
	OpAddToken        Op = "add_token"
	OpRevokeToken     Op = "revoke_token"
	OpAddACL          Op = "add_acl"
	OpRemoveACL       Op = "remove_acl"
	OpBootstrapAuth   Op = "bootstrap_auth"
	// Cluster administration (partition_count.go, reassign.go).
	OpCreatePartitions   Op = "create_partitions"
	OpReassignPartitions Op = "reassign_partitions"
	OpUnregisterBroker   Op = "unregister_broker"
)

// Command is one change to the metadata, as stored in the raft log. Op says
// which payload field is set; the others are nil.
type Command struct {
	Op Op `json:"op"`
	// At is the proposer's clock when it proposed the command. The state
	// machine uses it (never its own clock) for CreatedAt fields, so that every
	// replica and every replay computes the same state.
	At time.Time `json:"at"`

	RegisterBroker *RegisterBroker `json:"register_broker,omitempty"`
	FenceBroker    *FenceBroker    `json:"fence_broker,omitempty"`
	UnfenceBroker  *UnfenceBroker  `json:"unfence_broker,omitempty"`
	CreateTopic    *CreateTopic    `json:"create_topic,omitempty"`
	DeleteTopic    *DeleteTopic    `json:"delete_topic,omitempty"`
	AlterTopic     *AlterTopic     `json:"alter_topic,omitempty"`
	AlterPartition *AlterPartition `json:"alter_partition,omitempty"`
	ElectLeader    *ElectLeader    `json:"elect_leader,omitempty"`
	UploadPlugin   *UploadPlugin   `json:"upload_plugin,omitempty"`
	DeletePlugin   *DeletePlugin   `json:"delete_plugin,omitempty"`
	SetClusterID   *SetClusterID   `json:"set_cluster_id,omitempty"`

	RaiseReplication   *RaiseReplication   `json:"raise_replication,omitempty"`
	ReplicaLost        *ReplicaLost        `json:"replica_lost,omitempty"`
	RecoverPartition   *RecoverPartition   `json:"recover_partition,omitempty"`
	CreatePrincipal    *CreatePrincipal    `json:"create_principal,omitempty"`
	DeletePrincipal    *DeletePrincipal    `json:"delete_principal,omitempty"`
	AddToken           *AddToken           `json:"add_token,omitempty"`
	RevokeToken        *RevokeToken        `json:"revoke_token,omitempty"`
	AddACL             *AddACL             `json:"add_acl,omitempty"`
	RemoveACL          *RemoveACL          `json:"remove_acl,omitempty"`
	BootstrapAuth      *BootstrapAuth      `json:"bootstrap_auth,omitempty"`
	CreatePartitions   *CreatePartitions   `json:"create_partitions,omitempty"`
	ReassignPartitions *ReassignPartitions `json:"reassign_partitions,omitempty"`
	UnregisterBroker   *UnregisterBroker   `json:"unregister_broker,omitempty"`
}

// RegisterBroker upserts a node and marks it alive. Re-registering an alive
// node with the same addresses, rack and roles changes nothing.
type RegisterBroker struct {
	Broker Broker `json:"broker"` // State and Epoch are ignored
}

// FenceBroker marks a node fenced and moves leadership and ISR membership
// away from it (see Apply).
type FenceBroker struct {
	ID NodeID `json:"id"`
}

// UnfenceBroker marks a fenced node alive again; partitions left without a
// leader whose ISR still holds it get it back as leader.
type UnfenceBroker struct {
	ID NodeID `json:"id"`
}

// CreateTopic creates a topic and assigns its replicas.
type CreateTopic struct {
	Name string `json:"name"`
	// Partitions: 1..MaxPartitions; 0 means 1.
	Partitions int `json:"partitions"`
	// ReplicationFactor: 1..alive brokers; 0 means 1.
	ReplicationFactor int `json:"replication_factor"`
	// Partitioner: zero value means auto.
	Partitioner PartitionerSpec `json:"partitioner"`
	// Config overrides on DefaultTopicConfig (keys as in ParseTopicConfig).
	Config   map[string]string `json:"config,omitempty"`
	Internal bool              `json:"internal,omitempty"`
	// ID, if set, becomes the topic ID; otherwise Apply derives one from the
	// raft index (unique per creation either way).
	ID string `json:"id,omitempty"`
}

// DeleteTopic deletes a topic.
type DeleteTopic struct {
	Name string `json:"name"`
}

// AlterTopic changes a topic's configuration and/or partitioner.
type AlterTopic struct {
	Name string `json:"name"`
	// Config overrides applied on the topic's current configuration.
	Config map[string]string `json:"config,omitempty"`
	// Partitioner, when set, replaces the topic's partitioner.
	Partitioner *PartitionerSpec `json:"partitioner,omitempty"`
}

// AlterPartition is a partition leader's request to change the ISR. It
// carries the epochs the leader knows; Apply refuses it with ErrStaleEpoch
// unless Leader, LeaderEpoch and PartitionEpoch are all current.
type AlterPartition struct {
	Topic          string   `json:"topic"`
	Partition      int32    `json:"partition"`
	Leader         NodeID   `json:"leader"`
	LeaderEpoch    int32    `json:"leader_epoch"`
	PartitionEpoch int32    `json:"partition_epoch"`
	ISR            []NodeID `json:"isr"`
}

// ElectLeader elects leaders for partitions of a topic.
type ElectLeader struct {
	Topic string `json:"topic"`
	// Partitions to elect for; empty means all of the topic's partitions.
	Partitions []int32 `json:"partitions,omitempty"`
	// Preferred moves leadership to the first replica when it is alive and in
	// the ISR. Otherwise a new leader is elected only where the partition has
	// none or its leader is fenced: the first alive ISR member in replica
	// order (any alive replica if unclean election is enabled for the topic).
	Preferred bool `json:"preferred,omitempty"`
}

// UploadPlugin adds a new version (last+1) of a plugin. The Wasm must already
// have been validated by the plugin host; Apply checks only names and kinds.
type UploadPlugin struct {
	Name    string            `json:"name"`
	Kind    string            `json:"kind"`
	Wasm    []byte            `json:"wasm"`
	Params  map[string]string `json:"params,omitempty"`
	Limits  PluginLimits      `json:"limits"`
	Exports []string          `json:"exports,omitempty"`
}

// DeletePlugin deletes one version of a plugin, or all of them (Version 0).
type DeletePlugin struct {
	Name    string `json:"name"`
	Version int    `json:"version,omitempty"`
}

// SetClusterID sets the cluster ID once; setting the same value again is a
// no-op, a different one is refused.
type SetClusterID struct {
	ClusterID string `json:"cluster_id"`
}

// Result is what a successful command produced.
type Result struct {
	// Version of the cluster after the command (unchanged if Changed is false).
	Version uint64 `json:"version"`
	// Changed is false when the command was a no-op (idempotent repeat).
	Changed bool `json:"changed"`
	// One of these is set depending on the command.
	Broker    *Broker        `json:"broker,omitempty"`
	Topic     *Topic         `json:"topic,omitempty"`
	Partition *Partition     `json:"partition,omitempty"`
	Plugin    *PluginVersion `json:"plugin,omitempty"`
	Principal *Principal     `json:"principal,omitempty"`
	ACL       *ACL           `json:"acl,omitempty"`
	// Partitions lists the partitions whose leader or ISR changed
	// (FenceBroker, UnfenceBroker, ElectLeader, ReassignPartitions).
	Partitions []Partition `json:"partitions,omitempty"`
}

// Encode serializes a command for the raft log (JSON).
func (c Command) Encode() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s command: %w", c.Op, err)
	}
	return b, nil
}

// DecodeCommand is the inverse of Command.Encode.
func DecodeCommand(b []byte) (Command, error) {
	var c Command
	if err := json.Unmarshal(b, &c); err != nil {
		return Command{}, fmt.Errorf("decode command: %w", err)
	}
	return c, nil
}
