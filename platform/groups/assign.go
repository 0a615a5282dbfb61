package groups

import (
	"fmt"
	"slices"
)

// An Assignor divides the partitions of one topic among the group members
// that consume it. Assignors are pure: the same arguments give the same
// result, and they neither keep state nor read a clock.
type Assignor interface {
	// Name is the name clients use to choose the assignor.
	Name() string
	// Assign returns the partitions of every member. members is sorted and
	// holds no duplicates; partitions is the topic's partition count (>= 0);
	// prev is the current ownership (member -> partitions), which may name
	// members that are gone or partitions that no longer exist. The result
	// has an entry (possibly empty) for every member, each slice sorted, and
	// assigns every partition in [0, partitions) to exactly one member.
	Assign(members []string, partitions int32, prev map[string][]int32) map[string][]int32
}

// Assignor names.
const (
	AssignorRange      = "range"
	AssignorRoundRobin = "roundrobin"
	AssignorSticky     = "sticky"
	// DefaultAssignor is used when a member names none.
	DefaultAssignor = AssignorSticky
)

// AssignorByName returns the built-in assignor called name; the empty name is
// DefaultAssignor. An unknown name is ErrUnknownAssignor.
func AssignorByName(name string) (Assignor, error) {
	switch name {
	case "", AssignorSticky:
		return Sticky{}, nil
	case AssignorRange:
		return Range{}, nil
	case AssignorRoundRobin:
		return RoundRobin{}, nil
	}
	return nil, fmt.Errorf("%w: %q (want range, roundrobin or sticky)", ErrUnknownAssignor, name)
}

func emptyAssignment(members []string) map[string][]int32 {
	out := make(map[string][]int32, len(members))
	for _, m := range members {
		out[m] = []int32{}
	}
	return out
}

// Range gives each member a contiguous run of partitions, the first
// partitions%len(members) members one more than the rest (Kafka's range
// assignor for one topic). It ignores the previous ownership.
type Range struct{}

// Name returns "range".
func (Range) Name() string { return AssignorRange }

// Assign implements Assignor.
func (Range) Assign(members []string, partitions int32, _ map[string][]int32) map[string][]int32 {
	out := emptyAssignment(members)
	if len(members) == 0 {
		return out
	}
	n := int32(len(members))
	base, extra := partitions/n, partitions%n
	next := int32(0)
	for i, m := range members {
		size := base
		if int32(i) < extra {
			size++
		}
		for p := next; p < next+size; p++ {
			out[m] = append(out[m], p)
		}
		next += size
	}
	return out
}

// RoundRobin deals partitions to members in turn: partition p goes to
// members[p % len(members)]. It ignores the previous ownership.
type RoundRobin struct{}

// Name returns "roundrobin".
func (RoundRobin) Name() string { return AssignorRoundRobin }

// Assign implements Assignor.
func (RoundRobin) Assign(members []string, partitions int32, _ map[string][]int32) map[string][]int32 {
	out := emptyAssignment(members)
	if len(members) == 0 {
		return out
	}
	for p := int32(0); p < partitions; p++ {
		m := members[int(p)%len(members)]
		out[m] = append(out[m], p)
	}
	return out
}

// Sticky balances partitions within one of each other while moving as few as
// possible: every member keeps what it owned, up to its share; only the
// surplus of members above their share and the partitions of departed members
// move. The members that owned most get the shares rounded up, which keeps
// the number of moved partitions minimal among balanced assignments.
type Sticky struct{}

// Name returns "sticky".
func (Sticky) Name() string { return AssignorSticky }

// Assign implements Assignor.
func (Sticky) Assign(members []string, partitions int32, prev map[string][]int32) map[string][]int32 {
	out := emptyAssignment(members)
	if len(members) == 0 || partitions <= 0 {
		return out
	}
	// What each present member may keep: valid partitions, each claimed
	// once (the first member in sorted order wins a duplicate claim).
	claimed := make([]bool, partitions)
	kept := make(map[string][]int32, len(members))
	for _, m := range members {
		ps := slices.Clone(prev[m])
		slices.Sort(ps)
		for _, p := range ps {
			if p >= 0 && p < partitions && !claimed[p] {
				claimed[p] = true
				kept[m] = append(kept[m], p)
			}
		}
	}
	// Shares: base for everyone, one more for the `extra` members that
	// hold the most already (ties by name, for determinism).
	n := int32(len(members))
	base, extra := partitions/n, partitions%n
	order := slices.Clone(members)
	slices.SortStableFunc(order, func(a, b string) int { return len(kept[b]) - len(kept[a]) })
	share := make(map[string]int, len(members))
	for i, m := range order {
		share[m] = int(base)
		if int32(i) < extra {
			share[m]++
		}
	}
	// Keep up to the share; release the rest.
	owned := make([]bool, partitions)
	for _, m := range members {
		k := kept[m]
		if len(k) > share[m] {
			k = k[:share[m]]
		}
		for _, p := range k {
			owned[p] = true
		}
		out[m] = append(out[m], k...)
	}
	// Deal the free partitions to members below their share, in member
	// order.
	free := make([]int32, 0, partitions)
	for p := int32(0); p < partitions; p++ {
		if !owned[p] {
			free = append(free, p)
		}
	}
	for _, m := range members {
		for len(out[m]) < share[m] && len(free) > 0 {
			out[m] = append(out[m], free[0])
			free = free[1:]
		}
		slices.Sort(out[m])
	}
	return out
}
