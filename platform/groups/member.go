package groups

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Member is the handle of one group member, held by whoever serves it (a
// WebSocket connection). Notices about its assignment queue on it in order;
// Signal says when there are new ones. The member must Heartbeat within its
// session timeout, acknowledge revocations, and Leave when it goes away
// cleanly. Methods are safe for concurrent use.
type Member struct {
	c            *Coordinator
	group, id    string
	topic, host  string
	mu           sync.Mutex
	queue        []Notice
	err          error         // why the member is gone, once done is closed
	signal       chan struct{} // capacity 1: "queue may be non-empty"
	done         chan struct{} // closed when the member is no longer in the group
	finishedOnce sync.Once
}

func newMember(c *Coordinator, group, id, topic, host string) *Member {
	return &Member{c: c, group: group, id: id, topic: topic, host: host,
		signal: make(chan struct{}, 1), done: make(chan struct{})}
}

// ID returns the member id the coordinator chose.
func (m *Member) ID() string { return m.id }

// Group returns the group's name.
func (m *Member) Group() string { return m.group }

// Topic returns the topic the member consumes.
func (m *Member) Topic() string { return m.topic }

// Signal receives after notices were queued; call Notices to take them.
func (m *Member) Signal() <-chan struct{} { return m.signal }

// Done is closed when the member is no longer in the group (it left, its
// session expired, or the coordinator closed); Err says why.
func (m *Member) Done() <-chan struct{} { return m.done }

// Err returns why the member is gone, or nil while it is in the group.
func (m *Member) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Notices takes the queued notices, oldest first.
func (m *Member) Notices() []Notice {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue
	m.queue = nil
	return q
}

func (m *Member) push(n Notice) {
	m.mu.Lock()
	m.queue = append(m.queue, n)
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

func (m *Member) finish(err error) {
	m.finishedOnce.Do(func() {
		m.mu.Lock()
		m.err = err
		m.mu.Unlock()
		close(m.done)
	})
}

// Heartbeat extends the member's session. ErrUnknownMember means it was
// removed; the caller must stop serving and may rejoin.
func (m *Member) Heartbeat() error {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.groups[m.group]
	if !ok {
		return fmt.Errorf("%w: %s (group %s gone)", ErrUnknownMember, m.id, m.group)
	}
	return e.group.Heartbeat(c.cfg.Clock.Now(), m.id)
}

// AckRevoke tells the coordinator the member stopped serving partitions it
// was told were revoked (after committing what it processed), so they may
// move to their new owners.
func (m *Member) AckRevoke(partitions []int32) error {
	c := m.c
	e, err := c.lockedEntry(m.group, m.id)
	if err != nil {
		return err
	}
	defer e.commitMu.Unlock()
	defer c.mu.Unlock()
	ns, err := e.group.AckRevoke(c.cfg.Clock.Now(), m.id, partitions)
	if err != nil {
		return err
	}
	c.deliver(e, ns)
	c.poke()
	return nil
}

// Leave removes the member from the group now (a clean goodbye); its
// partitions move to the others. Leaving twice is harmless.
func (m *Member) Leave() error {
	c := m.c
	e, err := c.lockedEntry(m.group, m.id)
	if err != nil {
		m.finish(err)
		return nil
	}
	ns, lerr := e.group.Leave(c.cfg.Clock.Now(), m.id)
	if lerr == nil {
		delete(e.handles, m.id)
		c.deliver(e, ns)
		if e.group.Empty() && !c.hasOffsetsLocked(m.group) {
			delete(c.groups, m.group)
		}
	}
	c.mu.Unlock()
	e.commitMu.Unlock()
	m.finish(fmt.Errorf("%w: %s left the group", ErrUnknownMember, m.id))
	c.poke()
	return nil
}

// lockedEntry returns the member's group entry with e.commitMu and c.mu
// held, or an error (and no lock held) when the member is unknown.
func (c *Coordinator) lockedEntry(group, id string) (*groupEntry, error) {
	c.mu.Lock()
	e, ok := c.groups[group]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s (group %s gone)", ErrUnknownMember, id, group)
	}
	e.commitMu.Lock()
	c.mu.Lock()
	if c.groups[group] != e {
		c.mu.Unlock()
		e.commitMu.Unlock()
		return nil, fmt.Errorf("%w: %s (group %s gone)", ErrUnknownMember, id, group)
	}
	return e, nil
}

// CommitOffset is one position to commit: Offset is the next offset to
// read (one past the last record processed).
type CommitOffset struct {
	Partition int32
	Offset    int64
	Metadata  string
}

// Commit stores positions in the member's topic, claiming generation gen
// (the generation of the latest notice the client saw). It is refused as a
// whole with ErrUnknownMember when the member is gone, or
// ErrFencedGeneration when it does not hold one of the partitions in that
// generation, or ErrNotCoordinator when this node no longer coordinates
// the group (the member is then removed). It returns once the commit is
// durable and replicated.
func (m *Member) Commit(ctx context.Context, gen int32, offsets []CommitOffset) error {
	c := m.c
	if err := c.checkOwner(ctx, m.group); err != nil {
		if errors.Is(err, ErrNotCoordinator) {
			// Another node leads the group's offsets partition now, and
			// coordinates the group there: this member must reconnect.
			m.finish(err)
			m.Leave()
		}
		return err
	}
	for _, o := range offsets {
		if o.Offset < 0 || len(o.Metadata) > maxMetadata {
			return fmt.Errorf("%w: commit offset %d (metadata %d bytes, max %d)", ErrInvalidRequest, o.Offset, len(o.Metadata), maxMetadata)
		}
	}
	e, err := c.lockedEntry(m.group, m.id)
	if err != nil {
		return err
	}
	defer e.commitMu.Unlock()
	for _, o := range offsets {
		if err := e.group.CheckCommit(m.id, gen, TopicPartition{m.topic, o.Partition}); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	now := c.cfg.Clock.Now().UnixMilli()
	c.mu.Unlock()
	vals := make(map[OffsetKey]Committed, len(offsets))
	for _, o := range offsets {
		off, err := c.checkCommitOffset(ctx, m.topic, o.Partition, o.Offset)
		if err != nil {
			return err
		}
		vals[OffsetKey{m.group, m.topic, o.Partition}] = Committed{Offset: off, Metadata: o.Metadata, Timestamp: now}
	}
	return c.writeOffsets(ctx, m.group, vals)
}

// checkCommitOffset applies the range rule of commits: an offset past the
// partition's high watermark is refused (ErrOffsetOutOfRange: the group
// would silently skip the records written up to it), and one below the log
// start is raised to the start (retention removed those records; the
// group's position is the first record still there). Either way the
// committed offset lies in [log start, high watermark].
func (c *Coordinator) checkCommitOffset(ctx context.Context, topic string, p int32, off int64) (int64, error) {
	start, end, err := c.cfg.Log.Bounds(ctx, topic, p)
	if err != nil {
		return 0, fmt.Errorf("commit offset of %s-%d: %w", topic, p, err)
	}
	return commitOffsetInRange(topic, p, off, start, end)
}

// commitOffsetInRange is the rule of checkCommitOffset on known bounds.
func commitOffsetInRange(topic string, p int32, off, start, end int64) (int64, error) {
	if off > end {
		return 0, fmt.Errorf("%w: commit offset %d of %s-%d is past the high watermark %d (log [%d, %d])", ErrOffsetOutOfRange, off, topic, p, end, start, end)
	}
	return max(off, start), nil
}
