package meta

import (
	"bytes"
	"encoding/json"
	"testing"
)

// fuzzCluster is a small cluster for FuzzDecodeCommand to apply commands
// to: three brokers (one with a replica capacity), a topic with a
// partitioner plugin, a processor plugin.
func fuzzCluster(t testing.TB) (*Cluster, uint64) {
	c, idx := NewCluster(), uint64(0)
	apply := func(cmd Command) {
		idx++
		next, _, err := Apply(c, idx, cmd, t0)
		if err != nil {
			t.Fatalf("fuzz cluster: %s: %v", cmd.Op, err)
		}
		c = next
	}
	apply(Command{Op: OpSetClusterID, SetClusterID: &SetClusterID{ClusterID: "fuzz"}})
	for id := NodeID(1); id <= 3; id++ {
		apply(Command{Op: OpRegisterBroker, RegisterBroker: &RegisterBroker{Broker: Broker{ID: id, HTTPAddr: "http://b", MaxReplicas: int(id) * 10}}})
	}
	apply(Command{Op: OpUploadPlugin, UploadPlugin: &UploadPlugin{Name: "p", Kind: PluginKindPartitioner, Wasm: []byte("\x00asm")}})
	apply(Command{Op: OpUploadPlugin, UploadPlugin: &UploadPlugin{Name: "q", Kind: PluginKindProcessor, Wasm: []byte("\x00asm")}})
	apply(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "t", Partitions: 3, ReplicationFactor: 2, Partitioner: PartitionerSpec{Name: "wasm", Plugin: "p"}}})
	return c, idx
}

// fuzzCommands are the seeds: one of every op, valid against fuzzCluster.
func fuzzCommands() []Command {
	return []Command{
		{Op: OpRegisterBroker, RegisterBroker: &RegisterBroker{Broker: Broker{ID: 4, HTTPAddr: "http://new", Roles: []string{RoleBroker}, MaxReplicas: 5}}},
		{Op: OpFenceBroker, FenceBroker: &FenceBroker{ID: 2}},
		{Op: OpUnfenceBroker, UnfenceBroker: &UnfenceBroker{ID: 2}},
		{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "u", Partitions: 2, ReplicationFactor: 3, Config: map[string]string{KeyMinInsyncReplicas: "2"}}},
		{Op: OpDeleteTopic, DeleteTopic: &DeleteTopic{Name: "t"}},
		{Op: OpAlterTopic, AlterTopic: &AlterTopic{Name: "t", Config: map[string]string{"retention.ms": "1000"}}},
		{Op: OpAlterPartition, AlterPartition: &AlterPartition{Topic: "t", Partition: 0, Leader: 1, ISR: []NodeID{1}}},
		{Op: OpElectLeader, ElectLeader: &ElectLeader{Topic: "t"}},
		{Op: OpUploadPlugin, UploadPlugin: &UploadPlugin{Name: "p", Kind: PluginKindPartitioner, Wasm: []byte("\x00asm\x01")}},
		{Op: OpDeletePlugin, DeletePlugin: &DeletePlugin{Name: "q"}},
		{Op: OpSetClusterID, SetClusterID: &SetClusterID{ClusterID: "other"}},
	}
}

// FuzzDecodeCommand decodes arbitrary bytes as a metadata command (the
// raft log entry format; the internal propose route takes the same JSON)
// and applies what decodes to a small cluster. Decoding never panics and
// re-encodes stably; Apply never panics, never changes the cluster it is
// given, and a failed Apply returns that cluster unchanged: the
// controller must treat every command as untrusted.
func FuzzDecodeCommand(f *testing.F) {
	for _, cmd := range fuzzCommands() {
		b, err := cmd.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"op":"create_topic","create_topic":{"name":"x","partitions":-1}}`))
	f.Add([]byte(`{"op":"alter_partition","alter_partition":{"topic":"t","partition":99}}`))
	base, idx := fuzzCluster(f)
	before, err := json.Marshal(base)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := DecodeCommand(b)
		if err != nil {
			return
		}
		enc, err := cmd.Encode()
		if err != nil {
			t.Fatalf("a decoded command does not encode: %v", err)
		}
		again, err := DecodeCommand(enc)
		if err != nil {
			t.Fatalf("re-encoded command does not decode: %v", err)
		}
		if enc2, _ := again.Encode(); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", enc, enc2)
		}
		next, _, err := Apply(base, idx+1, cmd, cmd.At)
		if after, _ := json.Marshal(base); !bytes.Equal(after, before) {
			t.Fatalf("Apply(%s) modified the cluster it was given", cmd.Op)
		}
		if err != nil && next != base {
			t.Fatalf("failed Apply(%s) returned a new cluster: %v", cmd.Op, err)
		}
		if err == nil {
			if _, err := json.Marshal(next); err != nil {
				t.Fatalf("cluster after Apply(%s) does not encode: %v", cmd.Op, err)
			}
		}
	})
}
