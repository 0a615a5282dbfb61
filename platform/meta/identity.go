package meta

import (
	"fmt"
	"slices"
)

// ReplicaLost is a broker's report that its replica of one partition lost
// its data: the file was damaged (moved aside), or missing or empty while
// the broker had created it. The replica becomes a new one: out of the
// ISR, in Partition.Lost, never elected leader by a clean election, until
// it has caught up and its leader lets it rejoin the ISR.
type ReplicaLost struct {
	Broker NodeID `json:"broker"`
	// BrokerEpoch is the reporter's current Broker.Epoch: a report from an
	// earlier incarnation is refused (ErrStaleEpoch).
	BrokerEpoch int64  `json:"broker_epoch"`
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	// Reason is for the log and the operator (e.g. the storage error).
	Reason string `json:"reason,omitempty"`
}

// RecoverPartition is an operator's unclean recovery of a partition that
// has no leader (PartitionOffline or PartitionDataLost): the first alive
// replica that did not lose its data, else the first alive one that did,
// becomes leader and sole ISR member. Records that only the other
// replicas held are lost; that is what the operator accepts.
type RecoverPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

func (a *applier) partitionRef(topic string, idx int32) (*Topic, Partition, error) {
	t, ok := a.cur().Topics[topic]
	if !ok {
		return nil, Partition{}, fmt.Errorf("topic %q: %w", topic, ErrUnknownTopic)
	}
	if idx < 0 || int(idx) >= len(t.Partitions) {
		return nil, Partition{}, fmt.Errorf("topic %q partition %d: %w", topic, idx, ErrUnknownPartition)
	}
	return t, t.Partitions[idx], nil
}

func (a *applier) putPartition(t *Topic, n Partition) {
	nt := *t
	nt.Partitions = slices.Clone(t.Partitions)
	nt.Partitions[n.Index] = n
	a.putTopic(&nt)
	a.res.Partition = &nt.Partitions[n.Index]
	a.res.Partitions = append(a.res.Partitions, n)
}

func (a *applier) replicaLost(r *ReplicaLost) error {
	b, ok := a.cur().Brokers[r.Broker]
	if !ok {
		return fmt.Errorf("broker %d: %w", r.Broker, ErrUnknownBroker)
	}
	if b.Epoch != r.BrokerEpoch {
		return fmt.Errorf("broker %d reports at epoch %d, registered at %d: %w", r.Broker, r.BrokerEpoch, b.Epoch, ErrStaleEpoch)
	}
	t, p, err := a.partitionRef(r.Topic, r.Partition)
	if err != nil {
		return err
	}
	if !p.IsReplica(r.Broker) {
		return fmt.Errorf("%s-%d: broker %d holds no replica %v: %w", r.Topic, r.Partition, r.Broker, p.Replicas, ErrInvalidRequest)
	}
	n, changed := a.loseReplica(t, p, r.Broker)
	if !changed {
		a.res.Partition = &t.Partitions[r.Partition]
		return nil
	}
	a.putPartition(t, n)
	return nil
}

func (a *applier) recoverPartition(r *RecoverPartition) error {
	t, p, err := a.partitionRef(r.Topic, r.Partition)
	if err != nil {
		return err
	}
	if p.Leader != NoLeader {
		return fmt.Errorf("%s-%d is online (leader %d); only a partition without a leader is recovered: %w",
			r.Topic, r.Partition, p.Leader, ErrInvalidRequest)
	}
	n := p.clone()
	n.Leader = a.uncleanLeader(&n)
	if n.Leader == NoLeader {
		return fmt.Errorf("%s-%d: no replica of %v is alive: %w", r.Topic, r.Partition, p.Replicas, ErrNotEnoughBrokers)
	}
	n.LeaderEpoch++
	n.PartitionEpoch++
	a.putPartition(t, n)
	return nil
}
