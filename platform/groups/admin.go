package groups

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Group states, as List and Describe report them.
const (
	StateEmpty       = "empty"       // no members; committed offsets only
	StateRebalancing = "rebalancing" // a revocation or grant is pending
	StateStable      = "stable"      // every member serves its share
)

// Summary is one group in List.
type Summary struct {
	Group    string
	State    string
	Members  int
	Assignor string
}

// Description is a group as Describe reports it.
type Description struct {
	Group      string
	State      string
	Generation int32
	Assignor   string
	Members    []MemberDescription
	// Offsets cover every partition of every topic the group consumes or
	// has committed in, ordered by topic then partition.
	Offsets []PartitionOffset
}

// MemberDescription is one member with its address.
type MemberDescription struct {
	MemberState
	Host string
}

// PartitionOffset is a group's position in one partition. Committed is -1
// where the group has not committed; Lag is then LogEnd - LogStart.
type PartitionOffset struct {
	Topic     string
	Partition int32
	Committed int64
	LogStart  int64
	LogEnd    int64
	Lag       int64
}

func stateOf(e *groupEntry) string {
	switch {
	case e == nil || e.group.Empty():
		return StateEmpty
	case !e.group.Stable():
		return StateRebalancing
	}
	return StateStable
}

// List returns every group this node coordinates (see CoordinatorOf)
// with members or committed offsets, by name.
func (c *Coordinator) List(ctx context.Context) ([]Summary, error) {
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	names := map[string]bool{}
	for name, e := range c.groups {
		if !e.group.Empty() {
			names[name] = true
		}
	}
	for g := range c.offsets {
		names[g] = true
	}
	for g := range names {
		if !c.ownsLocked(ctx, g) {
			delete(names, g)
		}
	}
	out := make([]Summary, 0, len(names))
	for _, name := range slices.Sorted(maps.Keys(names)) {
		e := c.groups[name]
		s := Summary{Group: name, State: stateOf(e)}
		if e != nil {
			s.Members, s.Assignor = len(e.group.members), e.group.AssignorName()
		}
		out = append(out, s)
	}
	return out, nil
}

// Describe returns a group's members, assignment, committed offsets, log
// ends and lag. A group with neither members nor offsets is ErrUnknownGroup.
func (c *Coordinator) Describe(ctx context.Context, group string) (Description, error) {
	if err := c.checkOwner(ctx, group); err != nil {
		return Description{}, err
	}
	c.mu.Lock()
	e := c.groups[group]
	d := Description{Group: group, State: stateOf(e)}
	if e != nil {
		d.Generation, d.Assignor = e.group.Generation(), e.group.AssignorName()
		for _, m := range e.group.Members() {
			md := MemberDescription{MemberState: m}
			if h, ok := e.handles[m.ID]; ok {
				md.Host = h.host
			}
			d.Members = append(d.Members, md)
		}
	}
	topics := c.groupTopics(group)
	committed := map[string]map[int32]Committed{}
	for _, t := range topics {
		committed[t] = c.committedFor(group, t)
	}
	c.mu.Unlock()
	if len(d.Members) == 0 && len(topics) == 0 {
		return Description{}, fmt.Errorf("%w: %s", ErrUnknownGroup, group)
	}
	for _, t := range topics {
		n, err := c.cfg.Log.Partitions(ctx, t)
		if errors.Is(err, ErrUnknownTopic) {
			continue // offsets of a deleted topic: nothing to measure against
		}
		if err != nil {
			return Description{}, fmt.Errorf("describe group %s: %w", group, err)
		}
		for p := int32(0); p < n; p++ {
			start, end, err := c.cfg.Log.Bounds(ctx, t, p)
			if err != nil {
				return Description{}, fmt.Errorf("describe group %s: %w", group, err)
			}
			// Nothing committed: the members' position is unknown (a
			// member that started at latest is at the end), so no lag is
			// claimed; Committed -1 says so.
			po := PartitionOffset{Topic: t, Partition: p, Committed: -1, LogStart: start, LogEnd: end}
			if v, ok := committed[t][p]; ok {
				po.Committed = v.Offset
				po.Lag = max(end-max(v.Offset, start), 0)
			}
			d.Offsets = append(d.Offsets, po)
		}
	}
	return d, nil
}

// ResetKind says where ResetTo points.
type ResetKind int

// Reset targets.
const (
	ResetEarliest  ResetKind = iota + 1 // the log start
	ResetLatest                         // the high watermark
	ResetOffset                         // a given offset (clamped to the log)
	ResetTimestamp                      // the first record at or after a time
	ResetShift                          // the committed offset moved by Value (clamped to the log)
)

// ResetTo is a target position for ResetOffsets.
type ResetTo struct {
	Kind  ResetKind
	Value int64 // the offset, the timestamp in ms, or the shift
}

// ParseResetTo reads "earliest", "latest", an offset ("42") or
// "@<timestamp ms>".
func ParseResetTo(s string) (ResetTo, error) {
	switch {
	case s == "earliest":
		return ResetTo{Kind: ResetEarliest}, nil
	case s == "latest":
		return ResetTo{Kind: ResetLatest}, nil
	case strings.HasPrefix(s, "@"):
		ts, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil || ts < 0 {
			return ResetTo{}, fmt.Errorf("%w: reset to %q: want @<timestamp in ms>", ErrInvalidRequest, s)
		}
		return ResetTo{Kind: ResetTimestamp, Value: ts}, nil
	}
	off, err := strconv.ParseInt(s, 10, 64)
	if err != nil || off < 0 {
		return ResetTo{}, fmt.Errorf("%w: reset to %q: want earliest, latest, an offset or @<timestamp ms>", ErrInvalidRequest, s)
	}
	return ResetTo{Kind: ResetOffset, Value: off}, nil
}

// ResetOffsets commits new positions for a group in topic (all partitions
// when partitions is empty). It is refused with ErrGroupNotEmpty while the
// group has members.
func (c *Coordinator) ResetOffsets(ctx context.Context, group, topic string, to ResetTo, partitions []int32) ([]PartitionOffset, error) {
	return c.resetOffsets(ctx, group, topic, to, partitions, true)
}

// PlanResetOffsets computes what ResetOffsets would commit, with the same
// rules, and commits nothing (a dry run). It does not require the group
// to be empty.
func (c *Coordinator) PlanResetOffsets(ctx context.Context, group, topic string, to ResetTo, partitions []int32) ([]PartitionOffset, error) {
	return c.resetOffsets(ctx, group, topic, to, partitions, false)
}

func (c *Coordinator) resetOffsets(ctx context.Context, group, topic string, to ResetTo, partitions []int32, write bool) ([]PartitionOffset, error) {
	if group == "" || topic == "" {
		return nil, fmt.Errorf("%w: reset-offsets needs a group and a topic", ErrInvalidRequest)
	}
	if err := c.checkOwner(ctx, group); err != nil {
		return nil, err
	}
	n, err := c.cfg.Log.Partitions(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("reset offsets of group %s: %w", group, err)
	}
	if len(partitions) == 0 {
		for p := int32(0); p < n; p++ {
			partitions = append(partitions, p)
		}
	}
	var current map[int32]Committed
	if to.Kind == ResetShift {
		c.mu.Lock()
		current = c.committedFor(group, topic)
		c.mu.Unlock()
	}
	vals := map[OffsetKey]Committed{}
	var out []PartitionOffset
	now := c.cfg.Clock.Now().UnixMilli()
	for _, p := range partitions {
		if p < 0 || p >= n {
			return nil, fmt.Errorf("%w: topic %s has no partition %d", ErrInvalidRequest, topic, p)
		}
		start, end, err := c.cfg.Log.Bounds(ctx, topic, p)
		if err != nil {
			return nil, fmt.Errorf("reset offsets of group %s: %w", group, err)
		}
		var off int64
		switch to.Kind {
		case ResetEarliest:
			off = start
		case ResetLatest:
			off = end
		case ResetOffset:
			off = min(max(to.Value, start), end)
		case ResetTimestamp:
			if off, err = c.cfg.Log.OffsetForTimestamp(ctx, topic, p, to.Value); err != nil {
				return nil, fmt.Errorf("reset offsets of group %s: %w", group, err)
			}
		case ResetShift:
			cur, ok := current[p]
			if !ok {
				return nil, fmt.Errorf("%w: group %s has no committed offset in %s partition %d to shift (reset it to an offset first)", ErrInvalidRequest, group, topic, p)
			}
			off = shiftOffset(cur.Offset, to.Value, start, end)
		default:
			return nil, fmt.Errorf("%w: reset target %+v", ErrInvalidRequest, to)
		}
		vals[OffsetKey{group, topic, p}] = Committed{Offset: off, Timestamp: now}
		out = append(out, PartitionOffset{Topic: topic, Partition: p, Committed: off, LogStart: start, LogEnd: end, Lag: end - off})
	}
	if !write {
		return out, nil
	}
	e, err := c.lockEmptyGroup(group)
	if err != nil {
		return nil, err
	}
	defer e.commitMu.Unlock()
	if err := c.writeOffsets(ctx, group, vals); err != nil {
		return nil, err
	}
	return out, nil
}

// shiftOffset is cur+delta clamped to [start, end], without overflow.
func shiftOffset(cur, delta, start, end int64) int64 {
	switch {
	case delta > 0 && cur > end-delta:
		return end
	case delta < 0 && cur < start-delta:
		return start
	}
	return min(max(cur+delta, start), end)
}

// Delete removes a group's committed offsets (tombstones in
// __consumer_offsets). It is refused with ErrGroupNotEmpty while the group
// has members, and is ErrUnknownGroup for a group without offsets.
func (c *Coordinator) Delete(ctx context.Context, group string) error {
	if err := c.checkOwner(ctx, group); err != nil {
		return err
	}
	e, err := c.lockEmptyGroup(group)
	if err != nil {
		return err
	}
	defer e.commitMu.Unlock()
	c.mu.Lock()
	keys := c.offsets.keys(group)
	c.mu.Unlock()
	if len(keys) == 0 {
		c.dropIfUnused(group, e)
		return fmt.Errorf("%w: %s", ErrUnknownGroup, group)
	}
	slices.SortFunc(keys, compareKeys)
	if err := c.deleteOffsets(ctx, group, keys); err != nil {
		return err
	}
	c.dropIfUnused(group, e)
	return nil
}

// lockEmptyGroup returns the group's entry (created if needed) with its
// commitMu held, so no member can join until the caller unlocks, once it is
// sure the group has no members; else ErrGroupNotEmpty and no lock held.
func (c *Coordinator) lockEmptyGroup(group string) (*groupEntry, error) {
	e := c.lockGroup(group)
	defer c.mu.Unlock()
	if !e.group.Empty() {
		e.commitMu.Unlock()
		return nil, fmt.Errorf("%w: %s has %d members", ErrGroupNotEmpty, group, len(e.group.members))
	}
	return e, nil
}
