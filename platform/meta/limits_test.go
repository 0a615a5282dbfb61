package meta

import (
	"errors"
	"strings"
	"testing"
)

func registerWithCapacity(s *seq, id NodeID, maxReplicas int) {
	s.must(Command{Op: OpRegisterBroker, RegisterBroker: &RegisterBroker{Broker: Broker{
		ID: id, HTTPAddr: "http://b", MaxReplicas: maxReplicas}}})
}

// Two 10,000-partition topics on a broker whose file-descriptor budget
// holds 18,976 replicas (RLIMIT_NOFILE 20,000 less the default reserve of
// 1,024): the first fits, the second is refused before anything changes.
func TestTopicsPastABrokersReplicaCapacityAreRefused(t *testing.T) {
	s := newSeq(t)
	registerWithCapacity(s, 1, 20000-1024)
	s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "a", Partitions: MaxPartitions}})
	_, err := s.try(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "b", Partitions: MaxPartitions}})
	if !errors.Is(err, ErrQuotaExceeded) || !strings.Contains(err.Error(), "broker 1, which holds 10000 of at most 18976") {
		t.Fatalf("second topic: %v, want ErrQuotaExceeded naming broker 1", err)
	}
	if _, ok := s.c.Topics["b"]; ok {
		t.Fatal("refused topic exists")
	}
	// What still fits is accepted.
	s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "c", Partitions: 8976}})
	if got := s.c.ReplicaCounts()[1]; got != 18976 {
		t.Fatalf("broker 1 holds %d replicas", got)
	}
}

// With replication, every broker's share counts: the broker with the
// smallest capacity refuses the topic.
func TestReplicaCapacityCountsEveryBroker(t *testing.T) {
	s := newSeq(t)
	registerWithCapacity(s, 1, 0) // no limit
	registerWithCapacity(s, 2, 5)
	registerWithCapacity(s, 3, 100)
	s.must(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "small", Partitions: 3, ReplicationFactor: 3}})
	_, err := s.try(Command{Op: OpCreateTopic, CreateTopic: &CreateTopic{Name: "big", Partitions: 3, ReplicationFactor: 3}})
	if !errors.Is(err, ErrQuotaExceeded) || !strings.Contains(err.Error(), "broker 2") {
		t.Fatalf("err = %v, want broker 2 over its capacity", err)
	}
	// A broker re-registering with another capacity is a new registration.
	registerWithCapacity(s, 2, 6)
	if b, _ := s.c.Broker(2); b.MaxReplicas != 6 {
		t.Fatalf("capacity %d after re-registering", b.MaxReplicas)
	}
	if _, err := s.try(Command{Op: OpRegisterBroker, RegisterBroker: &RegisterBroker{Broker: Broker{ID: 4, MaxReplicas: -1}}}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("negative capacity: %v", err)
	}
}

func TestPluginQuotas(t *testing.T) {
	s := newSeq(t)
	up := func(name string, size int) error {
		_, err := s.try(Command{Op: OpUploadPlugin, UploadPlugin: &UploadPlugin{Name: name, Kind: PluginKindPartitioner, Wasm: make([]byte, size)}})
		return err
	}
	for range MaxPluginVersions {
		if err := up("p", 10); err != nil {
			t.Fatal(err)
		}
	}
	if err := up("p", 10); !errors.Is(err, ErrQuotaExceeded) || !strings.Contains(err.Error(), "32 versions") {
		t.Fatalf("version %d: %v", MaxPluginVersions+1, err)
	}
	// Another name still has room; deleting a version frees one.
	if err := up("q", 10); err != nil {
		t.Fatal(err)
	}
	s.must(Command{Op: OpDeletePlugin, DeletePlugin: &DeletePlugin{Name: "p", Version: 1}})
	if err := up("p", 10); err != nil {
		t.Fatalf("after deleting a version: %v", err)
	}
	// Total bytes: the registry never passes MaxPluginTotalBytes.
	if err := s.c.CheckPluginQuota("r", MaxPluginTotalBytes); !errors.Is(err, ErrQuotaExceeded) || !strings.Contains(err.Error(), "256 MiB") {
		t.Fatalf("bytes quota: %v", err)
	}
	if err := s.c.CheckPluginQuota("r", MaxPluginTotalBytes-33*10); err != nil {
		t.Fatalf("exactly at the quota: %v", err)
	}
}
