package wire

import (
	"fmt"
	"strings"
)

// Built-in partitioner names. A Wasm partitioner is "wasm:NAME" (latest
// version at the time the topic is created or altered) or "wasm:NAME@N".
const (
	PartitionerAuto       = "auto"
	PartitionerHash       = "hash"
	PartitionerRoundRobin = "roundrobin"
	// PartitionerSticky hashes keyed records and sends the keyless records
	// of a request in runs of up to 64 KiB, each run to one partition
	// (Kafka's sticky partitioning): lower replicated latency for small
	// requests.
	PartitionerSticky = "sticky"
	// PartitionerWasmPrefix starts the spec of a Wasm partitioner.
	PartitionerWasmPrefix = "wasm:"
)

// Well-known topic configuration keys. The server rejects unknown keys with
// invalid_config. Values are strings, as in Kafka.
const (
	// ConfigRetentionMs: keep records at least this long; -1 = forever.
	// Default 604800000 (7 days).
	ConfigRetentionMs = "retention.ms"
	// ConfigRetentionBytes: per-partition size bound; -1 = none (default).
	ConfigRetentionBytes = "retention.bytes"
	// ConfigDurability: "fsync" (default) or "replicated".
	ConfigDurability = "durability"
	// ConfigMinInsyncReplicas: the ISR size acks=all needs. Default 1.
	ConfigMinInsyncReplicas = "min.insync.replicas"
	// ConfigMaxMessageBytes: largest record (key+value+headers). Default 1048576.
	ConfigMaxMessageBytes = "max.message.bytes"
	// ConfigUncleanLeaderElection: "true" lets a replica outside the ISR
	// become leader. Default "false".
	ConfigUncleanLeaderElection = "unclean.leader.election.enable"
	// ConfigReplicaLagTimeMaxMs: a follower not caught up for this long
	// leaves the ISR. Default "0": the node's setting (10 s); else at
	// least 1000.
	ConfigReplicaLagTimeMaxMs = "replica.lag.time.max.ms"
)

// MaxTopicNameLen is the longest topic name accepted.
const MaxTopicNameLen = 249

// ValidateTopicName reports why name is not a valid topic name: 1 to 249
// characters from [a-zA-Z0-9._-], not "." or "..". Names starting with "__"
// are reserved for internal topics; allowInternal admits them.
func ValidateTopicName(name string, allowInternal bool) error {
	switch {
	case name == "":
		return fmt.Errorf("topic name is empty")
	case len(name) > MaxTopicNameLen:
		return fmt.Errorf("topic name is %d characters, the limit is %d", len(name), MaxTopicNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed", name)
	case !allowInternal && strings.HasPrefix(name, "__"):
		return fmt.Errorf("topic name %q: names starting with __ are reserved for internal topics", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			continue
		}
		return fmt.Errorf("topic name %q: character %q not allowed (use a-z A-Z 0-9 . _ -)", name, c)
	}
	return nil
}

// CreateTopicRequest is the body of POST /v1/topics. A field not listed
// here is refused with CodeInvalidRequest naming it.
type CreateTopicRequest struct {
	Name string `json:"name"`
	// Partitions is the partition count, at least 1.
	Partitions int32 `json:"partitions"`
	// ReplicationFactor is the number of replicas per partition; 0 means the
	// server's default (1 on a one-broker cluster, else min(3, brokers)).
	ReplicationFactor int32 `json:"replication_factor,omitempty"`
	// Partitioner is "auto" (default when empty), "hash", "roundrobin", "sticky" or
	// "wasm:NAME[@N]".
	Partitioner string `json:"partitioner,omitempty"`
	// PartitionerParams are handed to a Wasm partitioner when it is
	// instantiated; ignored by built-in partitioners.
	PartitionerParams map[string]string `json:"partitioner_params,omitempty"`
	// Config sets topic configuration keys (Config* constants).
	Config map[string]string `json:"config,omitempty"`
}

// AlterTopicRequest is the body of PATCH /v1/topics/{topic}. Absent fields
// are left unchanged; a field not listed here is refused with
// CodeInvalidRequest naming it.
type AlterTopicRequest struct {
	// Config sets these keys; an empty value resets a key to its default.
	Config map[string]string `json:"config,omitempty"`
	// Partitioner replaces the partitioner when non-nil.
	Partitioner *string `json:"partitioner,omitempty"`
	// PartitionerParams replace the parameters when non-nil (also when the
	// partitioner is unchanged).
	PartitionerParams map[string]string `json:"partitioner_params,omitempty"`
}

// TopicSummary is one entry of GET /v1/topics.
type TopicSummary struct {
	Name              string `json:"name"`
	Partitions        int32  `json:"partitions"`
	ReplicationFactor int32  `json:"replication_factor"`
	Partitioner       string `json:"partitioner"`
	Internal          bool   `json:"internal,omitempty"`
}

// TopicList is the answer of GET /v1/topics, sorted by name.
type TopicList struct {
	Topics []TopicSummary `json:"topics"`
}

// Topic is the answer of GET, POST and PATCH on a topic: its settings and
// every partition's state.
type Topic struct {
	Name              string            `json:"name"`
	PartitionCount    int32             `json:"partition_count"`
	ReplicationFactor int32             `json:"replication_factor"`
	Partitioner       string            `json:"partitioner"`
	PartitionerParams map[string]string `json:"partitioner_params,omitempty"`
	// Config holds every key set on the topic (not the defaults).
	Config   map[string]string `json:"config"`
	Internal bool              `json:"internal,omitempty"`
	// Partitions are ordered by index.
	Partitions []Partition `json:"partitions"`
}

// Partition is one partition's assignment and log state. The log fields
// come from the leader; they are -1 when the leader cannot be reached.
type Partition struct {
	Index int32 `json:"index"`
	// Leader is the leading broker's node id, -1 when there is none.
	Leader         int32   `json:"leader"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	LeaderEpoch    int32   `json:"leader_epoch"`
	PartitionEpoch int32   `json:"partition_epoch"`
	// LogStart is the first offset still in the log.
	LogStart int64 `json:"log_start"`
	// LogEnd is the offset the next appended record gets.
	LogEnd int64 `json:"log_end"`
	// HighWatermark is the first offset not yet committed; consumers see
	// offsets below it only.
	HighWatermark int64 `json:"high_watermark"`
	// State is PartitionOnline, PartitionOffline or PartitionDataLost.
	State string `json:"state,omitempty"`
	// Lost lists replicas that lost their data and have not caught up
	// since (they are never elected leader by a clean election).
	Lost []int32 `json:"lost,omitempty"`
	// AddingReplicas and RemovingReplicas are set while a reassignment
	// moves the partition (Replicas then holds both the target replicas
	// and those being removed).
	AddingReplicas   []int32 `json:"adding_replicas,omitempty"`
	RemovingReplicas []int32 `json:"removing_replicas,omitempty"`
	// LogBytes is the size on disk of the leader's log of the partition
	// (one replica); -1 when the leader did not answer.
	LogBytes int64 `json:"log_bytes"`
}
