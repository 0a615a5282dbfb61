package meta

import "sort"

// assignReplicas places rf replicas of each of parts partitions on brokers
// (sorted by ID, all alive, len >= rf), Kafka's way: the first replica of
// partition p is broker (start+p) mod n, so leaders spread evenly; the
// followers are shifted by an amount that grows every n partitions, so
// follower load spreads too. When every broker has a rack, the broker list is
// first interleaved by rack and followers prefer racks the partition does not
// use yet (Kafka's rack-aware assignment), so a rack failure leaves every
// partition a replica whenever there are at least rf racks.
func assignReplicas(brokers []*Broker, parts, rf, start int) [][]NodeID {
	n := len(brokers)
	rackAware := true
	for _, b := range brokers {
		if b.Rack == "" {
			rackAware = false
			break
		}
	}
	arranged := brokers
	numRacks := 1
	if rackAware {
		arranged, numRacks = rackAlternated(brokers)
	}
	startIndex := start % n
	shift := start % max(n-1, 1)
	out := make([][]NodeID, parts)
	for p := range parts {
		if p > 0 && p%n == 0 {
			shift++
		}
		first := (p + startIndex) % n
		replicas := make([]NodeID, 0, rf)
		replicas = append(replicas, arranged[first].ID)
		if !rackAware {
			for j := range rf - 1 {
				replicas = append(replicas, arranged[replicaIndex(first, shift, j, n)].ID)
			}
			out[p] = replicas
			continue
		}
		racks := map[string]bool{arranged[first].Rack: true}
		used := map[NodeID]bool{arranged[first].ID: true}
		k := 0
		for range rf - 1 {
			for {
				b := arranged[replicaIndex(first, shift*numRacks, k, n)]
				k++
				if (!racks[b.Rack] || len(racks) == numRacks) && (!used[b.ID] || len(used) == n) {
					replicas = append(replicas, b.ID)
					racks[b.Rack] = true
					used[b.ID] = true
					break
				}
			}
		}
		out[p] = replicas
	}
	return out
}

// replicaIndex is Kafka's follower placement: never first, distinct for
// distinct j < n-1.
func replicaIndex(first, shift, j, n int) int {
	return (first + 1 + (shift+j)%(n-1)) % n
}

// rackAlternated orders brokers rack by rack in turn (racks sorted, brokers
// by ID within a rack): r1b1, r2b1, r3b1, r1b2, ...
func rackAlternated(brokers []*Broker) ([]*Broker, int) {
	byRack := map[string][]*Broker{}
	var racks []string
	for _, b := range brokers {
		if _, ok := byRack[b.Rack]; !ok {
			racks = append(racks, b.Rack)
		}
		byRack[b.Rack] = append(byRack[b.Rack], b)
	}
	sort.Strings(racks)
	out := make([]*Broker, 0, len(brokers))
	for i := 0; len(out) < len(brokers); i++ {
		for _, r := range racks {
			if i < len(byRack[r]) {
				out = append(out, byRack[r][i])
			}
		}
	}
	return out, len(racks)
}
