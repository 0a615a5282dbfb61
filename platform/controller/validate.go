package controller

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/platform/meta"
)

// Limits CheckCommand enforces on every proposal, whoever sends it. They
// are far above what a legitimate command carries and keep one command
// from making the raft log, the metadata or the broker's files grow
// without bound.
const (
	// MaxReplicationFactor bounds a topic's replication factor.
	MaxReplicationFactor = 64
	// MaxConfigEntries bounds the configuration keys of one command.
	MaxConfigEntries = 64
	// MaxConfigKeyLen and MaxConfigValueLen bound one configuration entry
	// (topic configuration, partitioner and plugin parameters).
	MaxConfigKeyLen   = 128
	MaxConfigValueLen = 4096
	// MaxPluginBytes bounds an uploaded module (the HTTP route's limit).
	MaxPluginBytes = 16 << 20
	// MaxPluginExports bounds the exports an upload lists.
	MaxPluginExports = 64
	// MaxPluginMemoryPages is Wasm's 4 GiB; MaxPluginTimeoutMs and
	// MaxPluginOutputBytes are the HTTP route's limits.
	MaxPluginMemoryPages = 65536
	MaxPluginTimeoutMs   = 60_000
	MaxPluginOutputBytes = 256 << 20
	// maxAddrLen bounds an address in a broker registration.
	maxAddrLen = 512
	// maxClusterIDLen bounds SetClusterID.
	maxClusterIDLen = 64
)

// CheckCommand validates cmd as if it came from an untrusted source, before
// it reaches raft: the op is known and only its payload is set; every name
// is one the platform can use as a file name (no separators, no "." or
// ".."); counts, sizes and configuration values are within bounds; and no
// field is set that only the controller may fill (topic ids, internal
// topics outside the reserved prefix). Apply checks what depends on the
// state (existence, epochs, alive brokers) and again what becomes a path.
// The error wraps meta.ErrInvalidRequest (or meta.ErrInvalidConfig).
func CheckCommand(cmd *meta.Command) error {
	// The error names what is wrong in the user's terms (a topic name, a
	// partition count); the op is an internal name and stays out of it.
	return checkCommand(cmd)
}

func checkCommand(cmd *meta.Command) error {
	if set := payloads(cmd); set > 1 {
		return invalid("%d payloads set, want the one of the op", set)
	}
	missing := invalid("payload missing")
	switch cmd.Op {
	case meta.OpRegisterBroker:
		if cmd.RegisterBroker == nil {
			return missing
		}
		return checkBroker(&cmd.RegisterBroker.Broker)
	case meta.OpFenceBroker:
		if cmd.FenceBroker == nil {
			return missing
		}
		return checkNodeID(cmd.FenceBroker.ID)
	case meta.OpUnfenceBroker:
		if cmd.UnfenceBroker == nil {
			return missing
		}
		return checkNodeID(cmd.UnfenceBroker.ID)
	case meta.OpCreateTopic:
		if cmd.CreateTopic == nil {
			return missing
		}
		return checkCreateTopic(cmd.CreateTopic)
	case meta.OpDeleteTopic:
		if cmd.DeleteTopic == nil {
			return missing
		}
		return checkTopicName(cmd.DeleteTopic.Name)
	case meta.OpAlterTopic:
		if cmd.AlterTopic == nil {
			return missing
		}
		at := cmd.AlterTopic
		if err := checkTopicName(at.Name); err != nil {
			return err
		}
		if err := checkMap("config", at.Config); err != nil {
			return err
		}
		if at.Partitioner != nil {
			return checkPartitioner(at.Partitioner)
		}
		return nil
	case meta.OpAlterPartition:
		if cmd.AlterPartition == nil {
			return missing
		}
		return checkAlterPartition(cmd.AlterPartition)
	case meta.OpElectLeader:
		if cmd.ElectLeader == nil {
			return missing
		}
		el := cmd.ElectLeader
		if err := checkTopicName(el.Topic); err != nil {
			return err
		}
		if len(el.Partitions) > meta.MaxPartitions {
			return invalid("%d partitions, at most %d", len(el.Partitions), meta.MaxPartitions)
		}
		for _, p := range el.Partitions {
			if p < 0 || p >= meta.MaxPartitions {
				return invalid("partition %d", p)
			}
		}
		return nil
	case meta.OpUploadPlugin:
		if cmd.UploadPlugin == nil {
			return missing
		}
		return checkUpload(cmd.UploadPlugin)
	case meta.OpDeletePlugin:
		if cmd.DeletePlugin == nil {
			return missing
		}
		if err := checkPluginName(cmd.DeletePlugin.Name); err != nil {
			return err
		}
		if cmd.DeletePlugin.Version < 0 {
			return invalid("plugin version %d", cmd.DeletePlugin.Version)
		}
		return nil
	case meta.OpReplicaLost:
		rl := cmd.ReplicaLost
		if rl == nil {
			return missing
		}
		if err := checkNodeID(rl.Broker); err != nil {
			return err
		}
		if len(rl.Reason) > maxReasonLen {
			return invalid("reason of %d bytes, at most %d", len(rl.Reason), maxReasonLen)
		}
		return checkPartitionRef(rl.Topic, rl.Partition)
	case meta.OpRecoverPartition:
		if cmd.RecoverPartition == nil {
			return missing
		}
		return checkPartitionRef(cmd.RecoverPartition.Topic, cmd.RecoverPartition.Partition)
	case meta.OpCreatePrincipal:
		if cmd.CreatePrincipal == nil {
			return missing
		}
		return checkPrincipalName(cmd.CreatePrincipal.Name)
	case meta.OpDeletePrincipal:
		if cmd.DeletePrincipal == nil {
			return missing
		}
		return checkPrincipalName(cmd.DeletePrincipal.Name)
	case meta.OpAddToken:
		if cmd.AddToken == nil {
			return missing
		}
		return checkPrincipalName(cmd.AddToken.Principal)
	case meta.OpRevokeToken:
		if cmd.RevokeToken == nil {
			return missing
		}
		return checkPrincipalName(cmd.RevokeToken.Principal)
	case meta.OpBootstrapAuth:
		if cmd.BootstrapAuth == nil {
			return missing
		}
		return checkPrincipalName(cmd.BootstrapAuth.Principal.Name)
	case meta.OpAddACL, meta.OpRemoveACL:
		// Apply checks every field of an entry (meta/acl.go).
		if cmd.AddACL == nil && cmd.RemoveACL == nil {
			return missing
		}
		return nil
	case meta.OpCreatePartitions:
		cp := cmd.CreatePartitions
		if cp == nil {
			return missing
		}
		if err := checkTopicName(cp.Topic); err != nil {
			return err
		}
		if cp.Count < 1 || cp.Count > meta.MaxPartitions {
			return invalid("partition count %d: want 1 to %d", cp.Count, meta.MaxPartitions)
		}
		return nil
	case meta.OpReassignPartitions:
		rp := cmd.ReassignPartitions
		if rp == nil {
			return missing
		}
		if len(rp.Reassignments) > meta.MaxPartitions {
			return invalid("%d reassignments, at most %d", len(rp.Reassignments), meta.MaxPartitions)
		}
		for _, ra := range rp.Reassignments {
			if err := checkPartitionRef(ra.Topic, ra.Partition); err != nil {
				return err
			}
			if len(ra.Replicas) > MaxReplicationFactor {
				return invalid("%d replicas for %s/%d, at most %d", len(ra.Replicas), ra.Topic, ra.Partition, MaxReplicationFactor)
			}
			if ra.Throttle < 0 || ra.Throttle > meta.MaxReassignThrottle {
				return invalid("throttle %d bytes/s for %s/%d: want 1 to %d (0: none)", ra.Throttle, ra.Topic, ra.Partition, meta.MaxReassignThrottle)
			}
			for _, id := range ra.Replicas {
				if err := checkNodeID(id); err != nil {
					return err
				}
			}
		}
		return nil
	case meta.OpUnregisterBroker:
		if cmd.UnregisterBroker == nil {
			return missing
		}
		return checkNodeID(cmd.UnregisterBroker.ID)
	case meta.OpRaiseReplication:
		rr := cmd.RaiseReplication
		if rr == nil {
			return missing
		}
		if !meta.KnownInternalTopic(rr.Topic) {
			return invalid("raise the replication of %q: not an internal topic", rr.Topic)
		}
		if rr.ReplicationFactor < 1 || rr.ReplicationFactor > meta.MaxInternalReplication || rr.MinInsyncReplicas < 1 || rr.MinInsyncReplicas > rr.ReplicationFactor {
			return invalid("replication factor %d, min.insync.replicas %d", rr.ReplicationFactor, rr.MinInsyncReplicas)
		}
		return nil
	case meta.OpSetClusterID:
		if cmd.SetClusterID == nil {
			return missing
		}
		if id := cmd.SetClusterID.ClusterID; !safeName(id, maxClusterIDLen) {
			return invalid("cluster id %q: want 1 to %d letters, digits, '.', '_' or '-'", id, maxClusterIDLen)
		}
		return nil
	}
	return invalid("unknown op %q", cmd.Op)
}

func checkPrincipalName(name string) error {
	if !meta.ValidPrincipalName(name) {
		return invalid("principal name %q", name)
	}
	return nil
}

// maxReasonLen bounds the free text a broker attaches to a report.
const maxReasonLen = 4096

func checkPartitionRef(topic string, p int32) error {
	if err := checkTopicName(topic); err != nil {
		return err
	}
	if p < 0 || p >= meta.MaxPartitions {
		return invalid("partition %d", p)
	}
	return nil
}

// payloads counts the payload pointers set in cmd (every pointer field of
// meta.Command is one op's payload), so an op added to meta.Command is
// counted without a list to keep in step.
func payloads(cmd *meta.Command) int {
	v := reflect.ValueOf(cmd).Elem()
	n := 0
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), meta.ErrInvalidRequest)
}

// safeName reports whether s is 1..max of [a-zA-Z0-9._-] and not "." or
// "..": usable as (part of) a file name on every platform, never a path.
func safeName(s string, max int) bool {
	if s == "" || len(s) > max || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func checkNodeID(id meta.NodeID) error {
	if id < 0 {
		return invalid("node id %d", id)
	}
	return nil
}

func checkTopicName(name string) error {
	if !meta.ValidTopicName(name) {
		return invalid("topic name %q: want [a-zA-Z0-9._-]{1,%d}, not . or ..", name, meta.MaxTopicNameLen)
	}
	return nil
}

func checkPluginName(name string) error {
	if !safeName(name, meta.MaxPluginNameLen) {
		return invalid("plugin name %q: want [a-zA-Z0-9._-]{1,%d}, not . or ..", name, meta.MaxPluginNameLen)
	}
	return nil
}

func checkMap(what string, m map[string]string) error {
	if len(m) > MaxConfigEntries {
		return invalid("%s: %d entries, at most %d", what, len(m), MaxConfigEntries)
	}
	for k, v := range m {
		if k == "" || len(k) > MaxConfigKeyLen || len(v) > MaxConfigValueLen {
			return invalid("%s entry %.40q: key of 1 to %d bytes, value of at most %d", what, k, MaxConfigKeyLen, MaxConfigValueLen)
		}
	}
	return nil
}

func checkCreateTopic(ct *meta.CreateTopic) error {
	if err := checkTopicName(ct.Name); err != nil {
		return err
	}
	if ct.ID != "" {
		return invalid("topic %q: topic ids are chosen by the controller, not by the proposer", ct.Name)
	}
	if ct.Internal != strings.HasPrefix(ct.Name, meta.InternalPrefix) {
		return invalid("topic %q: internal topics, and only they, are named %s...", ct.Name, meta.InternalPrefix)
	}
	if ct.Partitions < 0 || ct.Partitions > meta.MaxPartitions {
		return invalid("topic %q: %d partitions, want 1..%d", ct.Name, ct.Partitions, meta.MaxPartitions)
	}
	if ct.ReplicationFactor < 0 || ct.ReplicationFactor > MaxReplicationFactor {
		return invalid("topic %q: replication factor %d, want 1..%d", ct.Name, ct.ReplicationFactor, MaxReplicationFactor)
	}
	if err := checkMap("config", ct.Config); err != nil {
		return err
	}
	if _, err := meta.ParseTopicConfig(meta.DefaultTopicConfig(), ct.Config); err != nil {
		return fmt.Errorf("topic %q: %w", ct.Name, err)
	}
	return checkPartitioner(&ct.Partitioner)
}

func checkPartitioner(p *meta.PartitionerSpec) error {
	switch p.Name {
	case "", meta.PartitionerAuto, meta.PartitionerHash, meta.PartitionerRoundRobin, meta.PartitionerSticky:
	case meta.PartitionerWasm:
		if err := checkPluginName(p.Plugin); err != nil {
			return err
		}
	default:
		return invalid("partitioner %q", p.Name)
	}
	if p.Version < 0 {
		return invalid("partitioner plugin version %d", p.Version)
	}
	return checkMap("partitioner params", p.Params)
}

func checkAlterPartition(ap *meta.AlterPartition) error {
	if err := checkTopicName(ap.Topic); err != nil {
		return err
	}
	if ap.Partition < 0 || ap.Partition >= meta.MaxPartitions {
		return invalid("partition %d", ap.Partition)
	}
	if err := checkNodeID(ap.Leader); err != nil {
		return err
	}
	if len(ap.ISR) == 0 || len(ap.ISR) > MaxReplicationFactor {
		return invalid("ISR of %d replicas, want 1..%d", len(ap.ISR), MaxReplicationFactor)
	}
	for i, id := range ap.ISR {
		if id < 0 || slices.Contains(ap.ISR[:i], id) {
			return invalid("ISR %v: negative or repeated node", ap.ISR)
		}
	}
	return nil
}

func checkUpload(up *meta.UploadPlugin) error {
	if err := checkPluginName(up.Name); err != nil {
		return err
	}
	if up.Kind != meta.PluginKindPartitioner && up.Kind != meta.PluginKindProcessor {
		return invalid("plugin kind %q: want %s or %s", up.Kind, meta.PluginKindPartitioner, meta.PluginKindProcessor)
	}
	if len(up.Wasm) == 0 || len(up.Wasm) > MaxPluginBytes {
		return invalid("plugin module of %d bytes, want 1..%d", len(up.Wasm), MaxPluginBytes)
	}
	if err := checkMap("plugin params", up.Params); err != nil {
		return err
	}
	if len(up.Exports) > MaxPluginExports {
		return invalid("%d exports, at most %d", len(up.Exports), MaxPluginExports)
	}
	l := up.Limits
	if l.MemoryPages > MaxPluginMemoryPages || l.CallTimeoutMs < 0 || l.CallTimeoutMs > MaxPluginTimeoutMs ||
		l.MaxOutputBytes < 0 || l.MaxOutputBytes > MaxPluginOutputBytes {
		return invalid("plugin limits %+v out of range", l)
	}
	return nil
}

func checkBroker(b *meta.Broker) error {
	if err := checkNodeID(b.ID); err != nil {
		return err
	}
	for _, u := range []struct{ name, v string }{{"http addr", b.HTTPAddr}, {"cluster addr", b.ClusterAddr}} {
		if u.v == "" || len(u.v) <= maxAddrLen && validHostPort(u.v) {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || len(u.v) > maxAddrLen || (p.Scheme != "http" && p.Scheme != "https") || !validHostPort(p.Host) ||
			p.User != nil || (p.Path != "" && p.Path != "/") || p.RawQuery != "" || p.Fragment != "" || p.Opaque != "" {
			return invalid("broker %d: %s %q: want http(s)://host:port or host:port", b.ID, u.name, u.v)
		}
	}
	for _, a := range []struct{ name, v string }{{"raft addr", b.RaftAddr}, {"serf addr", b.SerfAddr}} {
		if a.v == "" {
			continue
		}
		if !validHostPort(a.v) || len(a.v) > maxAddrLen {
			return invalid("broker %d: %s %q: want host:port", b.ID, a.name, a.v)
		}
	}
	if b.Rack != "" && !safeName(b.Rack, 64) {
		return invalid("broker %d: rack %q", b.ID, b.Rack)
	}
	if len(b.Roles) > 2 {
		return invalid("broker %d: roles %v", b.ID, b.Roles)
	}
	for _, r := range b.Roles {
		if r != meta.RoleBroker && r != meta.RoleController {
			return invalid("broker %d: role %q", b.ID, r)
		}
	}
	return nil
}

// validHostPort reports whether s is host:port with a numeric port and a
// host free of '/', '@' and spaces.
func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || strings.ContainsAny(host, "/@ \t") {
		return false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return port != ""
}
