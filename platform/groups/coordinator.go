package groups

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Coordinator runs the consumer groups of this broker: membership,
// assignment, fencing and committed offsets. Create it with NewCoordinator;
// it loads committed offsets in the background and serves requests once
// loaded (requests before that wait, bounded by their context). Close stops
// it. All methods are safe for concurrent use.
type Coordinator struct {
	cfg Config

	mu      sync.Mutex
	groups  map[string]*groupEntry
	offsets offsetTable // the latest commit per group/topic/partition
	// offsetsParts is the partition count of __consumer_offsets, set by
	// the load.
	offsetsParts int
	// loadedEpoch is, per partition of __consumer_offsets, the leader
	// epoch at which its records were read into offsets. Commits to it
	// go through this node only while it leads the partition; once the
	// epoch moved (another node led it meanwhile and may have taken
	// commits), the partition is read again before its groups are served.
	loadedEpoch map[int32]int32
	closed      bool
	reloadMu    sync.Mutex // serializes partition reloads

	ready   chan struct{} // closed once offsets are loaded
	wake    chan struct{} // pokes the timer loop after a deadline may have moved
	stop    chan struct{}
	stopped sync.WaitGroup
}

// groupEntry is one group: its state machine, the handles of its members,
// and the lock that orders commits against releases of partitions.
type groupEntry struct {
	// commitMu is held across validating and writing a commit, and across
	// every change that releases a partition, so a commit validated while
	// its member held the partition is durable before anyone else may read
	// or overwrite that position. Lock order: commitMu, then Coordinator.mu.
	commitMu sync.Mutex
	group    *Group // guarded by Coordinator.mu
	handles  map[string]*Member
}

// NewCoordinator validates cfg and starts the coordinator: a goroutine
// creates __consumer_offsets if needed and loads the committed offsets
// (retrying until the broker serves them), and another drives session and
// revocation timeouts.
func NewCoordinator(cfg Config) (*Coordinator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Coordinator{
		cfg:     cfg,
		groups:  map[string]*groupEntry{},
		offsets: offsetTable{},
		ready:   make(chan struct{}),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
	}
	c.stopped.Add(3)
	go c.loadLoop()
	go c.timerLoop()
	go c.metadataLoop()
	return c, nil
}

// Close stops the coordinator's goroutines and removes every member (their
// handles report Done). Committed offsets are already durable.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for _, e := range c.groups {
		for _, h := range e.handles {
			h.finish(ErrClosed)
		}
		e.handles = map[string]*Member{}
	}
	c.mu.Unlock()
	close(c.stop)
	c.stopped.Wait()
	return nil
}

// Ready returns a channel closed once the committed offsets of the
// __consumer_offsets partitions this node leads are loaded (it does not
// wait for other nodes; a partition this node comes to lead later is read
// when one of its groups is first served).
func (c *Coordinator) Ready() <-chan struct{} { return c.ready }

func (c *Coordinator) waitReady(ctx context.Context) error {
	select {
	case <-c.ready:
	case <-c.stop:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for committed offsets to load: %w", ErrNotStarted, ctx.Err())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return nil
}

func (c *Coordinator) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// timerLoop runs Tick on every group when its next deadline passes.
func (c *Coordinator) timerLoop() {
	defer c.stopped.Done()
	for {
		c.mu.Lock()
		var next time.Time
		for _, e := range c.groups {
			if d := e.group.NextDeadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
		now := c.cfg.Clock.Now()
		c.mu.Unlock()
		var fire <-chan time.Time
		if !next.IsZero() {
			fire = c.cfg.Clock.After(max(next.Sub(now), 0))
		}
		select {
		case <-c.stop:
			return
		case <-c.wake:
		case <-fire:
			c.tick()
		}
	}
}

func (c *Coordinator) tick() {
	c.mu.Lock()
	now := c.cfg.Clock.Now()
	var due []*groupEntry
	for _, e := range c.groups {
		if d := e.group.NextDeadline(); !d.IsZero() && !now.Before(d) {
			due = append(due, e)
		}
	}
	c.mu.Unlock()
	for _, e := range due {
		e.commitMu.Lock()
		c.mu.Lock()
		ns := e.group.Tick(c.cfg.Clock.Now())
		c.deliver(e, ns)
		c.mu.Unlock()
		e.commitMu.Unlock()
	}
}

// deliver queues notices on member handles. Caller holds c.mu.
func (c *Coordinator) deliver(e *groupEntry, ns []Notice) {
	for _, n := range ns {
		h, ok := e.handles[n.Member]
		if !ok {
			continue
		}
		if n.Kind == NoticeRemoved {
			c.cfg.Logger.Info("group member removed: session expired",
				"group", e.group.Name(), "member", n.Member, "partitions", n.Partitions)
			delete(e.handles, n.Member)
			h.push(n)
			h.finish(fmt.Errorf("%w: %s: session expired", ErrUnknownMember, n.Member))
			continue
		}
		h.push(n)
	}
}

// entry returns the group's entry, creating it. Caller holds c.mu.
func (c *Coordinator) entry(group string) *groupEntry {
	e, ok := c.groups[group]
	if !ok {
		e = &groupEntry{group: NewGroup(group, c.cfg.RebalanceTimeout), handles: map[string]*Member{}}
		c.groups[group] = e
	}
	return e
}

// JoinRequest asks to add a member to a group.
type JoinRequest struct {
	Group    string
	Topic    string
	ClientID string // shown by describe; may be empty
	Host     string // the client's address, shown by describe
	// Assignor is range, roundrobin or sticky; empty means sticky. All
	// members of a group must use the same one.
	Assignor string
	// SessionTimeout: zero means Config.SessionTimeout; else it must lie
	// within [MinSessionTimeout, MaxSessionTimeout].
	SessionTimeout time.Duration
}

// Join adds a member to a group and returns its handle; its first
// assignment arrives as a notice on the handle. The topic must exist.
func (c *Coordinator) Join(ctx context.Context, req JoinRequest) (*Member, error) {
	if req.Group == "" || req.Topic == "" {
		return nil, fmt.Errorf("%w: join needs a group and a topic", ErrInvalidRequest)
	}
	a, err := AssignorByName(req.Assignor)
	if err != nil {
		return nil, err
	}
	st := req.SessionTimeout
	if st == 0 {
		st = c.cfg.SessionTimeout
	}
	if st < c.cfg.MinSessionTimeout || st > c.cfg.MaxSessionTimeout {
		return nil, fmt.Errorf("%w: session timeout %v outside [%v, %v]", ErrInvalidRequest, st, c.cfg.MinSessionTimeout, c.cfg.MaxSessionTimeout)
	}
	if err := c.checkOwner(ctx, req.Group); err != nil {
		return nil, err
	}
	parts, err := c.cfg.Log.Partitions(ctx, req.Topic)
	if err != nil {
		return nil, fmt.Errorf("join group %s: %w", req.Group, err)
	}
	id := newMemberID(req.ClientID)
	h := newMember(c, req.Group, id, req.Topic, req.Host)
	e := c.lockGroup(req.Group)
	defer e.commitMu.Unlock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	ns, err := e.group.Join(c.cfg.Clock.Now(), JoinSpec{
		MemberID: id, ClientID: req.ClientID, Topic: req.Topic, Partitions: parts, SessionTimeout: st,
	}, a)
	if err != nil {
		if e.group.Empty() && !c.hasOffsetsLocked(req.Group) {
			delete(c.groups, req.Group)
		}
		return nil, fmt.Errorf("join group %s: %w", req.Group, err)
	}
	e.handles[id] = h
	c.deliver(e, ns)
	c.cfg.Logger.Debug("group member joined", "group", req.Group, "member", id, "topic", req.Topic, "generation", e.group.Generation())
	c.poke()
	return h, nil
}

func newMemberID(clientID string) string {
	var b [8]byte
	rand.Read(b[:])
	if clientID == "" {
		clientID = "member"
	}
	if len(clientID) > 64 {
		clientID = clientID[:64]
	}
	return clientID + "-" + hex.EncodeToString(b[:])
}

// lockGroup returns the group's entry, creating it, with e.commitMu and
// c.mu held (in that order).
func (c *Coordinator) lockGroup(group string) *groupEntry {
	for {
		c.mu.Lock()
		e := c.entry(group)
		c.mu.Unlock()
		e.commitMu.Lock()
		c.mu.Lock()
		if c.groups[group] == e {
			return e
		}
		c.mu.Unlock()
		e.commitMu.Unlock()
	}
}

// dropIfUnused forgets an entry without members or offsets.
func (c *Coordinator) dropIfUnused(group string, e *groupEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups[group] == e && e.group.Empty() && !c.hasOffsetsLocked(group) {
		delete(c.groups, group)
	}
}

// hasOffsetsLocked reports whether the group has committed offsets.
func (c *Coordinator) hasOffsetsLocked(group string) bool { return c.offsets.has(group) }

// Committed returns the group's committed position in a partition, if any.
func (c *Coordinator) Committed(ctx context.Context, group, topic string, partition int32) (Committed, bool, error) {
	if err := c.waitReady(ctx); err != nil {
		return Committed{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.offsets.get(OffsetKey{group, topic, partition})
	return v, ok, nil
}

// committedFor returns the group's committed offsets for topic (partition
// -> offset). Caller holds c.mu.
func (c *Coordinator) committedFor(group, topic string) map[int32]Committed {
	out := map[int32]Committed{}
	for tp, v := range c.offsets[group] {
		if tp.Topic == topic {
			out[tp.Partition] = v
		}
	}
	return out
}

// groupTopics returns the topics the group consumes or has offsets for.
// Caller holds c.mu.
func (c *Coordinator) groupTopics(group string) []string {
	set := map[string]bool{}
	if e, ok := c.groups[group]; ok {
		for _, m := range e.group.Members() {
			set[m.Topic] = true
		}
	}
	for tp := range c.offsets[group] {
		set[tp.Topic] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// SessionTimeout is the session timeout of members that ask for none.
func (c *Coordinator) SessionTimeout() time.Duration { return c.cfg.SessionTimeout }

// RebalanceTimeout is how long a member may take to acknowledge a
// revocation before its partitions move anyway.
func (c *Coordinator) RebalanceTimeout() time.Duration { return c.cfg.RebalanceTimeout }
