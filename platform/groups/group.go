package groups

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition) }

// NoticeKind says what a Notice tells a member.
type NoticeKind int

const (
	// NoticeAssigned: the member now owns Partitions (in addition to what it
	// owned) as of Generation and may start serving them.
	NoticeAssigned NoticeKind = iota + 1
	// NoticeRevoked: the member must stop serving Partitions, commit what it
	// processed and acknowledge (AckRevoke) so they can move on.
	NoticeRevoked
	// NoticeRemoved: the member is no longer in the group (its session
	// expired); Partitions lists what it owned. Its commits are refused.
	NoticeRemoved
)

func (k NoticeKind) String() string {
	switch k {
	case NoticeAssigned:
		return "assigned"
	case NoticeRevoked:
		return "revoked"
	case NoticeRemoved:
		return "removed"
	}
	return fmt.Sprintf("NoticeKind(%d)", int(k))
}

// A Notice is a change a member must learn about, in the order produced.
type Notice struct {
	Member     string
	Kind       NoticeKind
	Generation int32
	Topic      string
	Partitions []int32 // sorted
}

// JoinSpec describes a member joining a group.
type JoinSpec struct {
	MemberID       string        // unique within the group; chosen by the coordinator
	ClientID       string        // free text for people (describe output)
	Topic          string        // the topic the member consumes
	Partitions     int32         // the topic's partition count
	SessionTimeout time.Duration // > 0
}

type member struct {
	id, clientID, topic string
	sessionTimeout      time.Duration
	deadline            time.Time // session expiry
	joinGeneration      int32
	generation          int32                   // last generation told to the member
	owned               map[int32]int32         // served partition -> generation granted
	revoking            map[int32]revokingState // told revoked, not yet acknowledged
	target              []int32                 // what the current rebalance wants it to own
}

type revokingState struct {
	granted  int32     // generation in which the partition had been granted
	deadline time.Time // after it, the partition is released without an ack
}

// Group is the membership and assignment state of one consumer group, as a
// plain value: methods take the current time and return the notices for
// members, in order. It is not safe for concurrent use; the Coordinator
// serialises access.
//
// Invariants kept here:
//   - a partition has at most one holder, counting partitions that a member
//     was told are revoked but has not yet acknowledged;
//   - a partition is granted to a member only while nobody holds it;
//   - Generation increases with every rebalance; a member's generation is
//     the latest generation in which it received a notice.
type Group struct {
	name             string
	assignor         Assignor
	rebalanceTimeout time.Duration
	generation       int32
	members          map[string]*member
	holder           map[TopicPartition]string
	partitions       map[string]int32        // topic -> partition count seen at the last join
	added            map[TopicPartition]bool // partitions created while the group consumed their topic
}

// NewGroup returns an empty group. rebalanceTimeout bounds how long a member
// may take to acknowledge a revocation before the partition is released
// anyway.
func NewGroup(name string, rebalanceTimeout time.Duration) *Group {
	return &Group{
		name:             name,
		rebalanceTimeout: rebalanceTimeout,
		members:          map[string]*member{},
		holder:           map[TopicPartition]string{},
		partitions:       map[string]int32{},
	}
}

// Name returns the group's name.
func (g *Group) Name() string { return g.name }

// Generation returns the current generation (0 before the first rebalance).
func (g *Group) Generation() int32 { return g.generation }

// Empty reports whether the group has no members.
func (g *Group) Empty() bool { return len(g.members) == 0 }

// AssignorName returns the assignor the current members use ("" when empty).
func (g *Group) AssignorName() string {
	if g.assignor == nil || g.Empty() {
		return ""
	}
	return g.assignor.Name()
}

// Join adds a member and rebalances. A group's members share one assignor:
// the first member chooses it, later members asking for another are refused
// with ErrInconsistentAssignor.
func (g *Group) Join(now time.Time, spec JoinSpec, a Assignor) ([]Notice, error) {
	if spec.MemberID == "" || spec.Topic == "" || spec.Partitions < 0 || spec.SessionTimeout <= 0 {
		return nil, fmt.Errorf("%w: join %+v", ErrInvalidRequest, spec)
	}
	if _, ok := g.members[spec.MemberID]; ok {
		return nil, fmt.Errorf("%w: member %s already in group %s", ErrInvalidRequest, spec.MemberID, g.name)
	}
	if g.Empty() {
		g.assignor = a
	} else if g.assignor.Name() != a.Name() {
		return nil, fmt.Errorf("%w: group %s uses %s, member asked for %s", ErrInconsistentAssignor, g.name, g.assignor.Name(), a.Name())
	}
	g.partitions[spec.Topic] = max(g.partitions[spec.Topic], spec.Partitions)
	g.members[spec.MemberID] = &member{
		id:             spec.MemberID,
		clientID:       spec.ClientID,
		topic:          spec.Topic,
		sessionTimeout: spec.SessionTimeout,
		deadline:       now.Add(spec.SessionTimeout),
		joinGeneration: g.generation + 1,
		owned:          map[int32]int32{},
		revoking:       map[int32]revokingState{},
	}
	return g.rebalance(now), nil
}

// Heartbeat extends the member's session.
func (g *Group) Heartbeat(now time.Time, memberID string) error {
	m, ok := g.members[memberID]
	if !ok {
		return fmt.Errorf("%w: %s in group %s", ErrUnknownMember, memberID, g.name)
	}
	m.deadline = now.Add(m.sessionTimeout)
	return nil
}

// Leave removes a member at its request, releases what it held and
// rebalances the rest.
func (g *Group) Leave(now time.Time, memberID string) ([]Notice, error) {
	if _, ok := g.members[memberID]; !ok {
		return nil, fmt.Errorf("%w: %s in group %s", ErrUnknownMember, memberID, g.name)
	}
	g.remove(memberID)
	return g.rebalance(now), nil
}

// AckRevoke records that the member stopped serving partitions it was told
// were revoked; they are released and granted to their new owners.
// Partitions not pending revocation are ignored (the acknowledgement may
// arrive after the rebalance timeout released them).
func (g *Group) AckRevoke(now time.Time, memberID string, partitions []int32) ([]Notice, error) {
	m, ok := g.members[memberID]
	if !ok {
		return nil, fmt.Errorf("%w: %s in group %s", ErrUnknownMember, memberID, g.name)
	}
	m.deadline = now.Add(m.sessionTimeout)
	for _, p := range partitions {
		if _, ok := m.revoking[p]; ok {
			delete(m.revoking, p)
			delete(g.holder, TopicPartition{m.topic, p})
		}
	}
	return g.grant(), nil
}

// Tick removes members whose session expired (notifying them with
// NoticeRemoved), releases revocations past the rebalance timeout, and
// rebalances or grants as needed.
func (g *Group) Tick(now time.Time) []Notice {
	var out []Notice
	expired := false
	for _, id := range g.memberIDs() {
		m := g.members[id]
		if !now.Before(m.deadline) {
			held := slices.Sorted(maps.Keys(m.owned))
			for p := range m.revoking {
				held = append(held, p)
			}
			slices.Sort(held)
			out = append(out, Notice{Member: id, Kind: NoticeRemoved, Generation: m.generation, Topic: m.topic, Partitions: held})
			g.remove(id)
			expired = true
		}
	}
	if expired {
		return append(out, g.rebalance(now)...)
	}
	released := false
	for _, m := range g.members {
		for p, r := range m.revoking {
			if !now.Before(r.deadline) {
				delete(m.revoking, p)
				delete(g.holder, TopicPartition{m.topic, p})
				released = true
			}
		}
	}
	if released {
		out = append(out, g.grant()...)
	}
	return out
}

// NextDeadline is the earliest time at which Tick has work to do (a session
// expiry or a revocation timeout); zero when the group is empty.
func (g *Group) NextDeadline() time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, m := range g.members {
		earlier(m.deadline)
		for _, r := range m.revoking {
			earlier(r.deadline)
		}
	}
	return next
}

// CheckCommit decides whether the member may commit an offset for the
// partition, claiming generation gen. It may while it holds the partition
// (served, or revoked but not yet acknowledged) and gen lies between the
// generation in which the partition was granted to it and the latest
// generation it was told.
func (g *Group) CheckCommit(memberID string, gen int32, tp TopicPartition) error {
	m, ok := g.members[memberID]
	if !ok {
		return fmt.Errorf("%w: %s in group %s", ErrUnknownMember, memberID, g.name)
	}
	granted, held := int32(0), false
	if tp.Topic == m.topic {
		if gg, ok := m.owned[tp.Partition]; ok {
			granted, held = gg, true
		} else if r, ok := m.revoking[tp.Partition]; ok {
			granted, held = r.granted, true
		}
	}
	if !held {
		return fmt.Errorf("%w: member %s does not hold %s (group %s, generation %d)", ErrFencedGeneration, memberID, tp, g.name, g.generation)
	}
	if gen < granted || gen > m.generation {
		return fmt.Errorf("%w: member %s committed %s with generation %d, holds it in generations %d..%d",
			ErrFencedGeneration, memberID, tp, gen, granted, m.generation)
	}
	return nil
}

// remove drops a member and releases everything it held.
func (g *Group) remove(id string) {
	m := g.members[id]
	for p := range m.owned {
		delete(g.holder, TopicPartition{m.topic, p})
	}
	for p := range m.revoking {
		delete(g.holder, TopicPartition{m.topic, p})
	}
	delete(g.members, id)
}

func (g *Group) memberIDs() []string { return slices.Sorted(maps.Keys(g.members)) }

// rebalance starts a new generation: it computes every member's target,
// revokes what members hold beyond it and grants what is free.
func (g *Group) rebalance(now time.Time) []Notice {
	if g.Empty() {
		return nil
	}
	g.generation++
	byTopic := map[string][]string{}
	for _, id := range g.memberIDs() {
		m := g.members[id]
		byTopic[m.topic] = append(byTopic[m.topic], id)
	}
	for _, topic := range slices.Sorted(maps.Keys(byTopic)) {
		ids := byTopic[topic]
		prev := make(map[string][]int32, len(ids))
		for _, id := range ids {
			prev[id] = slices.Sorted(maps.Keys(g.members[id].owned))
		}
		target := g.assignor.Assign(ids, g.partitions[topic], prev)
		for _, id := range ids {
			g.members[id].target = target[id]
		}
	}
	var out []Notice
	for _, id := range g.memberIDs() {
		m := g.members[id]
		var revoked []int32
		for _, p := range slices.Sorted(maps.Keys(m.owned)) {
			if !slices.Contains(m.target, p) {
				revoked = append(revoked, p)
				m.revoking[p] = revokingState{granted: m.owned[p], deadline: now.Add(g.rebalanceTimeout)}
				delete(m.owned, p)
			}
		}
		if len(revoked) > 0 {
			m.generation = g.generation
			out = append(out, Notice{Member: id, Kind: NoticeRevoked, Generation: g.generation, Topic: m.topic, Partitions: revoked})
		}
	}
	return append(out, g.grant()...)
}

// grant gives every member the partitions of its target that nobody holds.
func (g *Group) grant() []Notice {
	var out []Notice
	for _, id := range g.memberIDs() {
		m := g.members[id]
		var granted []int32
		for _, p := range m.target {
			tp := TopicPartition{m.topic, p}
			if _, held := g.holder[tp]; held {
				continue
			}
			g.holder[tp] = id
			m.owned[p] = g.generation
			granted = append(granted, p)
		}
		if len(granted) > 0 {
			m.generation = g.generation
			out = append(out, Notice{Member: id, Kind: NoticeAssigned, Generation: g.generation, Topic: m.topic, Partitions: granted})
		}
	}
	return out
}

// MemberState is one member as Describe reports it.
type MemberState struct {
	ID         string
	ClientID   string
	Topic      string
	Generation int32
	Assigned   []int32 // served now
	Revoking   []int32 // revoked, not yet acknowledged
}

// Members returns the members sorted by id.
func (g *Group) Members() []MemberState {
	out := make([]MemberState, 0, len(g.members))
	for _, id := range g.memberIDs() {
		m := g.members[id]
		out = append(out, MemberState{
			ID: id, ClientID: m.clientID, Topic: m.topic, Generation: m.generation,
			Assigned: slices.Sorted(maps.Keys(m.owned)),
			Revoking: slices.Sorted(maps.Keys(m.revoking)),
		})
	}
	return out
}

// Holder returns the member holding tp, if any.
func (g *Group) Holder(tp TopicPartition) (string, bool) {
	id, ok := g.holder[tp]
	return id, ok
}

// Stable reports whether every member serves exactly its target: no
// revocation is pending and nothing waits to be granted.
func (g *Group) Stable() bool {
	for _, m := range g.members {
		if len(m.revoking) > 0 || len(m.owned) != len(m.target) {
			return false
		}
	}
	return true
}
