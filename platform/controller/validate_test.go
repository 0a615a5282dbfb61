package controller

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/platform/meta"
)

// TestCheckCommand: what CheckCommand refuses before raft, each case
// beside an accepted neighbour.
func TestCheckCommand(t *testing.T) {
	big := map[string]string{}
	for i := range MaxConfigEntries + 1 {
		big[strings.Repeat("k", i+1)] = "v"
	}
	ct := func(c meta.CreateTopic) meta.Command { return meta.Command{Op: meta.OpCreateTopic, CreateTopic: &c} }
	rp := func(r meta.Reassignment) meta.Command {
		return meta.Command{Op: meta.OpReassignPartitions, ReassignPartitions: &meta.ReassignPartitions{Reassignments: []meta.Reassignment{r}}}
	}
	for _, tc := range []struct {
		name string
		cmd  meta.Command
		ok   bool
	}{
		{"plain topic", ct(meta.CreateTopic{Name: "orders", Partitions: 3}), true},
		{"traversal topic", ct(meta.CreateTopic{Name: "../x"}), false},
		{"slash topic", ct(meta.CreateTopic{Name: "a/b"}), false},
		{"dot-dot topic", ct(meta.CreateTopic{Name: ".."}), false},
		{"caller's id", ct(meta.CreateTopic{Name: "t", ID: "0123"}), false},
		{"traversal id", ct(meta.CreateTopic{Name: "t", ID: "../../etc"}), false},
		{"internal named so", ct(meta.CreateTopic{Name: "__offsets", Internal: true}), true},
		{"internal not named so", ct(meta.CreateTopic{Name: "orders", Internal: true}), false},
		{"reserved name", ct(meta.CreateTopic{Name: "__offsets"}), false},
		{"too many partitions", ct(meta.CreateTopic{Name: "t", Partitions: meta.MaxPartitions + 1}), false},
		{"replication factor", ct(meta.CreateTopic{Name: "t", ReplicationFactor: MaxReplicationFactor + 1}), false},
		{"bad config value", ct(meta.CreateTopic{Name: "t", Config: map[string]string{meta.KeyRetentionMs: "soon"}}), false},
		{"too much config", ct(meta.CreateTopic{Name: "t", Config: big}), false},
		{"wasm traversal plugin", ct(meta.CreateTopic{Name: "t", Partitioner: meta.PartitionerSpec{Name: meta.PartitionerWasm, Plugin: "../p"}}), false},
		{"two payloads", meta.Command{Op: meta.OpDeleteTopic, DeleteTopic: &meta.DeleteTopic{Name: "t"}, FenceBroker: &meta.FenceBroker{ID: 1}}, false},
		{"missing payload", meta.Command{Op: meta.OpDeleteTopic}, false},
		{"unknown op", meta.Command{Op: "x"}, false},
		{"upload", meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: &meta.UploadPlugin{Name: "p", Kind: meta.PluginKindProcessor, Wasm: []byte{0}}}, true},
		{"upload traversal", meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: &meta.UploadPlugin{Name: "../p", Kind: meta.PluginKindProcessor, Wasm: []byte{0}}}, false},
		{"upload kind", meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: &meta.UploadPlugin{Name: "p", Kind: "virus", Wasm: []byte{0}}}, false},
		{"upload empty", meta.Command{Op: meta.OpUploadPlugin, UploadPlugin: &meta.UploadPlugin{Name: "p", Kind: meta.PluginKindProcessor}}, false},
		{"register", meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: meta.Broker{ID: 2, HTTPAddr: "http://h:1", ClusterAddr: "https://h:2", RaftAddr: "h:3", Roles: []string{"broker"}}}}, true},
		{"register bad url", meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: meta.Broker{ID: 2, HTTPAddr: "javascript:alert(1)"}}}, false},
		{"register bad role", meta.Command{Op: meta.OpRegisterBroker, RegisterBroker: &meta.RegisterBroker{Broker: meta.Broker{ID: 2, Roles: []string{"root"}}}}, false},
		{"isr", meta.Command{Op: meta.OpAlterPartition, AlterPartition: &meta.AlterPartition{Topic: "t", Leader: 1, ISR: []meta.NodeID{1, 2}}}, true},
		{"isr repeated", meta.Command{Op: meta.OpAlterPartition, AlterPartition: &meta.AlterPartition{Topic: "t", Leader: 1, ISR: []meta.NodeID{1, 1}}}, false},
		{"isr empty", meta.Command{Op: meta.OpAlterPartition, AlterPartition: &meta.AlterPartition{Topic: "t", Leader: 1}}, false},
		{"cluster id", meta.Command{Op: meta.OpSetClusterID, SetClusterID: &meta.SetClusterID{ClusterID: "0a1b"}}, true},
		{"cluster id path", meta.Command{Op: meta.OpSetClusterID, SetClusterID: &meta.SetClusterID{ClusterID: "a/b"}}, false},
		{"throttled move", rp(meta.Reassignment{Topic: "t", Replicas: []meta.NodeID{1, 2}, Throttle: 1 << 20}), true},
		{"throttle change", rp(meta.Reassignment{Topic: "t", Throttle: 1 << 20}), true},
		{"negative throttle", rp(meta.Reassignment{Topic: "t", Replicas: []meta.NodeID{1, 2}, Throttle: -1}), false},
		{"huge throttle", rp(meta.Reassignment{Topic: "t", Throttle: meta.MaxReassignThrottle + 1}), false},
	} {
		err := CheckCommand(&tc.cmd)
		if tc.ok != (err == nil) {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, meta.ErrInvalidRequest) && !errors.Is(err, meta.ErrInvalidConfig) {
			t.Errorf("%s: %v does not wrap ErrInvalidRequest", tc.name, err)
		}
	}
}

// TestNodePolicyDeniesUnlisted: an op without a rule is refused from
// other nodes (the lead adds rules for new ops).
func TestNodePolicyDeniesUnlisted(t *testing.T) {
	for _, op := range []meta.Op{meta.OpFenceBroker, meta.OpUnfenceBroker, meta.OpSetClusterID, "some_new_op"} {
		if NodePolicy[op] != nil {
			t.Errorf("%s is allowed from other nodes", op)
		}
	}
}
