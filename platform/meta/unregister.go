package meta

import (
	"fmt"
	"slices"
)

// UnregisterBroker removes a node that is gone for good from the
// metadata (`sluice broker remove`). It is refused while the node is
// alive (it would register again at once) and while any partition still
// lists it as a replica (move them first: DrainPlan, ReassignPartitions).
type UnregisterBroker struct {
	ID NodeID `json:"id"`
}

func (a *applier) unregisterBroker(id NodeID) error {
	cur := a.cur()
	b, ok := cur.Brokers[id]
	if !ok {
		return fmt.Errorf("broker %d: %w", id, ErrUnknownBroker)
	}
	if b.Alive() {
		return fmt.Errorf("broker %d is alive: stop it first (a broker that runs registers again): %w", id, ErrInvalidRequest)
	}
	var held []string
	for _, name := range cur.TopicNames() {
		for _, p := range cur.Topics[name].Partitions {
			if slices.Contains(p.Replicas, id) {
				held = append(held, fmt.Sprintf("%s-%d", name, p.Index))
			}
		}
	}
	if len(held) > 0 {
		shown := held[:min(len(held), 5)]
		return fmt.Errorf("broker %d still holds replicas of %d partitions (%v...): reassign them first: %w", id, len(held), shown, ErrInvalidRequest)
	}
	m := a.mut()
	if !a.brokersCopied {
		m.Brokers = cloneMap(m.Brokers)
		a.brokersCopied = true
	}
	delete(m.Brokers, id)
	a.res.Broker = b
	return nil
}
