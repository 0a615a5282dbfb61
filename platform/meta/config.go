package meta

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Durability values for TopicConfig.Durability.
const (
	// DurabilityFsync syncs every commit before acknowledging it (default).
	DurabilityFsync = "fsync"
	// DurabilityReplicated never fsyncs; safety comes from replication.
	DurabilityReplicated = "replicated"
)

// Topic configuration keys, as users write them (Kafka's names).
const (
	KeyRetentionMs           = "retention.ms"
	KeyRetentionBytes        = "retention.bytes"
	KeyDurability            = "durability"
	KeyMaxMessageBytes       = "max.message.bytes"
	KeyMinInsyncReplicas     = "min.insync.replicas"
	KeyUncleanLeaderElection = "unclean.leader.election.enable"
	KeyReplicaLagTimeMaxMs   = "replica.lag.time.max.ms"
)

// TopicConfig is a topic's configuration. DefaultTopicConfig gives the
// defaults; ParseTopicConfig applies user overrides.
type TopicConfig struct {
	// RetentionMs: records older than this are deleted; -1 keeps forever.
	// Default 7 days.
	RetentionMs int64 `json:"retention_ms"`
	// RetentionBytes: a partition larger than this loses its oldest batches;
	// -1 (default) means no size limit.
	RetentionBytes int64 `json:"retention_bytes"`
	// Durability: DurabilityFsync (default) or DurabilityReplicated.
	Durability string `json:"durability"`
	// MaxMessageBytes: largest record (key+value+headers). Default 1 MiB.
	MaxMessageBytes int `json:"max_message_bytes"`
	// MinInsyncReplicas: acks=all fails while the ISR is smaller. Default 1.
	MinInsyncReplicas int `json:"min_insync_replicas"`
	// UncleanLeaderElection lets a replica outside the ISR become leader when
	// no ISR member is left (may lose acknowledged records). Default false.
	UncleanLeaderElection bool `json:"unclean_leader_election"`
	// ReplicaLagTimeMaxMs: a follower not caught up with its leader for this
	// long leaves the ISR. 0 (default) takes the node's setting
	// (platform.Timing.ReplicaLagMax, 10 s by default).
	ReplicaLagTimeMaxMs int64 `json:"replica_lag_time_max_ms,omitempty"`
}

// MinReplicaLagTimeMaxMs is the smallest replica.lag.time.max.ms a topic
// may set: twice a follower's idle long-poll (500 ms), so an idle, healthy
// follower is never taken for a lagging one.
const MinReplicaLagTimeMaxMs = 1000

// Defaults of TopicConfig.
const (
	DefaultRetentionMs       = int64(7 * 24 * 60 * 60 * 1000)
	DefaultRetentionBytes    = int64(-1)
	DefaultMaxMessageBytes   = 1 << 20
	DefaultMinInsyncReplicas = 1
)

// DefaultTopicConfig returns the configuration a topic gets without overrides.
func DefaultTopicConfig() TopicConfig {
	return TopicConfig{
		RetentionMs:       DefaultRetentionMs,
		RetentionBytes:    DefaultRetentionBytes,
		Durability:        DurabilityFsync,
		MaxMessageBytes:   DefaultMaxMessageBytes,
		MinInsyncReplicas: DefaultMinInsyncReplicas,
	}
}

// TopicConfigKeys lists the keys ParseTopicConfig accepts, sorted.
func TopicConfigKeys() []string {
	return []string{KeyDurability, KeyMaxMessageBytes, KeyMinInsyncReplicas,
		KeyReplicaLagTimeMaxMs, KeyRetentionBytes, KeyRetentionMs, KeyUncleanLeaderElection}
}

// ParseTopicConfig returns base with the overrides in kv applied. An unknown
// key or a bad value fails the whole call with ErrInvalidConfig (wrapped,
// naming the key); base is never modified.
func ParseTopicConfig(base TopicConfig, kv map[string]string) (TopicConfig, error) {
	cfg := base
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic: the first bad key is always the same one
	for _, k := range keys {
		v := strings.TrimSpace(kv[k])
		bad := func(why string) error {
			return fmt.Errorf("%s=%q: %s: %w", k, kv[k], why, ErrInvalidConfig)
		}
		switch k {
		case KeyRetentionMs, KeyRetentionBytes:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < -1 {
				return base, bad("want an integer >= -1")
			}
			if k == KeyRetentionMs {
				cfg.RetentionMs = n
			} else {
				cfg.RetentionBytes = n
			}
		case KeyDurability:
			if v != DurabilityFsync && v != DurabilityReplicated {
				return base, bad("want fsync or replicated")
			}
			cfg.Durability = v
		case KeyMaxMessageBytes:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return base, bad("want a positive integer")
			}
			cfg.MaxMessageBytes = n
		case KeyMinInsyncReplicas:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return base, bad("want a positive integer")
			}
			cfg.MinInsyncReplicas = n
		case KeyUncleanLeaderElection:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return base, bad("want true or false")
			}
			cfg.UncleanLeaderElection = b
		case KeyReplicaLagTimeMaxMs:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || (n > 0 && n < MinReplicaLagTimeMaxMs) {
				return base, bad(fmt.Sprintf("want 0 (the node's setting) or at least %d", MinReplicaLagTimeMaxMs))
			}
			cfg.ReplicaLagTimeMaxMs = n
		default:
			return base, fmt.Errorf("unknown key %q (known: %s): %w",
				k, strings.Join(TopicConfigKeys(), ", "), ErrInvalidConfig)
		}
	}
	return cfg, nil
}

// ToMap returns the configuration as key/value strings, every key present;
// ParseTopicConfig(DefaultTopicConfig(), c.ToMap()) == c.
func (c TopicConfig) ToMap() map[string]string {
	return map[string]string{
		KeyRetentionMs:           strconv.FormatInt(c.RetentionMs, 10),
		KeyRetentionBytes:        strconv.FormatInt(c.RetentionBytes, 10),
		KeyDurability:            c.Durability,
		KeyMaxMessageBytes:       strconv.Itoa(c.MaxMessageBytes),
		KeyMinInsyncReplicas:     strconv.Itoa(c.MinInsyncReplicas),
		KeyUncleanLeaderElection: strconv.FormatBool(c.UncleanLeaderElection),
		KeyReplicaLagTimeMaxMs:   strconv.FormatInt(c.ReplicaLagTimeMaxMs, 10),
	}
}
