package wsapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// partState is one served partition.
type partState struct {
	p        int32
	next     int64    // the next source offset to fetch
	buf      []Output // fetched (and processed), not yet sent; offset order
	bufBytes int64
	// bufNext is the commit position once buf is sent: the fetch's next
	// offset, past any records the processor dropped.
	bufNext  int64
	hw       int64
	fetching bool
	cancel   context.CancelFunc
	// announce: the position moved past dropped records without a record
	// to carry it; an empty records frame tells the client.
	announce bool
	// outPerRec is the processor's output bytes per input record seen by
	// the last fetch (0: unknown). Only the partition's fetch goroutine
	// uses it, and its fetches run one after another.
	outPerRec int64
}

// fetchOutcome is what a fetch goroutine hands back.
type fetchOutcome struct {
	ps       *partState
	reserved int64
	offset   int64
	outs     []Output
	bytes    int64
	next, hw int64
	err      error
}

func outputSize(o *Output) int64 { return int64(o.Record.Size()) + RecordOverhead }

// run is the connection's event loop.
func (c *consumer) run() (readEnd, error) {
	h := c.h
	ping := time.NewTicker(c.pingEvery)
	defer ping.Stop()
	var signal <-chan struct{}
	var gone <-chan struct{}
	if c.member != nil {
		signal, gone = c.member.Signal(), c.member.Done()
		if err := c.handleNotices(); err != nil {
			return 0, err
		}
	}
	for {
		if err := c.pump(); err != nil {
			var we *writeError
			if errors.As(err, &we) {
				return endVanished, nil // a write failed: the client is gone
			}
			return 0, err
		}
		select {
		case end := <-c.readDone:
			switch end {
			case endIdle:
				return end, wire.Errorf(wire.CodeIdleTimeout, "no message or pong for %v", h.cfg.IdleTimeout)
			case endTooBig:
				return end, fmt.Errorf("%w: frame larger than %d bytes", errMalformed, h.cfg.MaxMessageBytes)
			}
			return end, nil
		case m := <-c.msgs:
			if err := c.handleMsg(m); err != nil {
				return 0, err
			}
		case o := <-c.fetched:
			if err := c.handleFetched(o); err != nil {
				return 0, err
			}
		case <-signal:
			if err := c.handleNotices(); err != nil {
				return 0, err
			}
		case <-gone:
			c.handleNotices()
			return 0, c.member.Err()
		case <-ping.C:
			if err := c.ping(); err != nil {
				return endVanished, nil
			}
		case <-h.stop:
			return 0, wire.Errorf(wire.CodeShuttingDown, "server is shutting down")
		}
	}
}

func (c *consumer) handleMsg(m clientMsg) error {
	if m.err != nil {
		return m.err
	}
	switch m.typ {
	case wire.WSCredit:
		c.credit += m.credit.Records
		if m.credit.Bytes > 0 {
			c.byteMode = true
			c.byteCredit += m.credit.Bytes
		}
	case wire.WSCommit:
		return c.commit(m.commit)
	case wire.WSRevokeAck:
		if c.member == nil {
			return nil
		}
		if err := c.member.AckRevoke(m.revokeAck.Partitions); err != nil {
			return err
		}
	}
	return nil
}

// commit forwards a commit to the coordinator and answers it. A refused
// commit is answered, not fatal.
func (c *consumer) commit(m wire.WSCommitMsg) error {
	answer := wire.WSCommittedMsg{Type: wire.WSCommitted, ID: m.ID}
	switch {
	case c.member == nil:
		answer.Error = wire.Errorf(wire.CodeInvalidRequest, "commit needs a group (connect with ?group=NAME)")
	case len(m.Offsets) == 0:
		answer.Error = wire.Errorf(wire.CodeInvalidRequest, "commit without offsets")
	default:
		gen := c.gen
		if m.Generation != nil {
			gen = *m.Generation
		}
		offs := make([]groups.CommitOffset, len(m.Offsets))
		for i, o := range m.Offsets {
			offs[i] = groups.CommitOffset{Partition: o.Partition, Offset: o.Offset, Metadata: o.Metadata}
		}
		ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
		err := c.member.Commit(ctx, gen, offs)
		cancel()
		if err != nil {
			answer.Error = c.h.toWire(err)
			if answer.Error.Code == wire.CodeInternal {
				c.h.cfg.Logger.Warn("commit failed", "group", c.params.group, "err", err)
			}
		} else {
			answer.Offsets = m.Offsets
		}
	}
	if err := c.writeJSON(answer); err != nil {
		return nil // the read side will notice
	}
	return nil
}

// handleNotices applies the member's assignment changes in order.
func (c *consumer) handleNotices() error {
	for _, n := range c.member.Notices() {
		switch n.Kind {
		case groups.NoticeAssigned:
			if err := c.assign(n.Generation, n.Partitions); err != nil {
				return err
			}
		case groups.NoticeRevoked:
			c.revoke(n.Generation, n.Partitions)
		case groups.NoticeRemoved:
			return fmt.Errorf("%w: session expired", groups.ErrUnknownMember)
		}
	}
	return nil
}

// assign announces partitions with their start offsets, then serves them.
func (c *consumer) assign(gen int32, ps []int32) error {
	c.gen = gen
	msg := wire.WSAssignedMsg{Type: wire.WSAssigned, Generation: gen, Partitions: make([]wire.WSPartitionStart, 0, len(ps))}
	var states []*partState
	for _, p := range ps {
		start, err := c.startOffset(p)
		if err != nil {
			return err
		}
		states = append(states, &partState{p: p, next: start, bufNext: start})
		msg.Partitions = append(msg.Partitions, wire.WSPartitionStart{Partition: p, Offset: start})
	}
	if err := c.writeJSON(msg); err != nil {
		return nil
	}
	for _, st := range states {
		c.parts[st.p] = st
		c.order = append(c.order, st.p)
	}
	return nil
}

// startOffset is the committed offset of the group, else the from spec.
func (c *consumer) startOffset(p int32) (int64, error) {
	h := c.h
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	if c.member != nil {
		v, ok, err := h.cfg.Groups.Committed(ctx, c.params.group, c.params.topic, p)
		if err != nil {
			return 0, err
		}
		if ok {
			return h.clampCommitted(ctx, c.params.topic, p, v.Offset)
		}
		if h.cfg.Groups.PartitionAdded(c.params.group, c.params.topic, p) {
			// Created while the group consumed the topic: every record in
			// it is newer than the member's join, none may be skipped.
			off, err := h.cfg.Broker.ListOffset(ctx, c.params.topic, p, OffsetEarliest)
			if err != nil {
				return 0, fmt.Errorf("start offset of %s/%d: %w", c.params.topic, p, err)
			}
			return off, nil
		}
	}
	at := OffsetLatest
	switch f := c.params.from; f.kind {
	case fromEarliest:
		at = OffsetEarliest
	case fromTimestamp:
		at = f.ts
	case fromOffsets:
		if off, ok := f.offsets[p]; ok {
			return off, nil
		}
	}
	off, err := h.cfg.Broker.ListOffset(ctx, c.params.topic, p, at)
	if err != nil {
		return 0, fmt.Errorf("start offset of %s/%d: %w", c.params.topic, p, err)
	}
	return off, nil
}

// clampCommitted moves a committed offset into the partition's log
// [log start, high watermark]: below the start (retention removed the
// records) the member starts at the start; above the high watermark (an
// offset committed before commits were checked, or a log truncated since)
// at the high watermark. The assigned frame then names the offset the
// member really starts at.
func (h *Handler) clampCommitted(ctx context.Context, topic string, p int32, off int64) (int64, error) {
	start, err := h.cfg.Broker.ListOffset(ctx, topic, p, OffsetEarliest)
	if err != nil {
		return 0, fmt.Errorf("start offset of %s/%d: %w", topic, p, err)
	}
	end, err := h.cfg.Broker.ListOffset(ctx, topic, p, OffsetLatest)
	if err != nil {
		return 0, fmt.Errorf("start offset of %s/%d: %w", topic, p, err)
	}
	return min(max(off, start), end), nil
}

// revoke stops serving partitions at once (dropping what was buffered)
// and tells the client; no record of them is sent after this message.
func (c *consumer) revoke(gen int32, ps []int32) {
	c.gen = gen
	for _, p := range ps {
		st, ok := c.parts[p]
		if !ok {
			continue
		}
		if st.cancel != nil {
			st.cancel()
		}
		c.setBuffered(-st.bufBytes)
		delete(c.parts, p)
		c.order = slices.DeleteFunc(c.order, func(q int32) bool { return q == p })
	}
	c.writeJSON(wire.WSRevokedMsg{Type: wire.WSRevoked, Generation: gen, Partitions: ps})
}

// handleFetched takes a fetch's records into the partition's buffer.
func (c *consumer) handleFetched(o fetchOutcome) error {
	c.setBuffered(-o.reserved)
	st, live := c.parts[o.ps.p]
	if !live || st != o.ps {
		return nil // revoked while fetching
	}
	st.fetching, st.cancel = false, nil
	if o.err != nil {
		if errors.Is(o.err, context.Canceled) && c.ctx.Err() != nil {
			return nil
		}
		return o.err
	}
	st.hw = o.hw
	if o.next < o.offset {
		// The log start moved past our offset (retention): skip ahead.
		o.next = o.offset
	}
	st.next = o.next
	st.bufNext = o.next
	if len(o.outs) == 0 {
		if o.next > o.offset {
			st.announce = true
		}
		return nil
	}
	st.buf, st.bufBytes = o.outs, o.bytes
	c.setBuffered(o.bytes)
	return nil
}

// pump sends what credit allows, announces moved positions and starts
// fetches where a partition is idle and the budget allows.
//
// Revocations are taken between frames, not only between pumps: a frame
// write may block up to WriteTimeout on a slow client, and records of a
// partition revoked meanwhile must not follow it (the coordinator may hand
// the partition to another member once RebalanceTimeout passes; see
// Config.WriteTimeout for the invariant that makes this safe).
func (c *consumer) pump() error {
	for c.credit > 0 && (!c.byteMode || c.byteCredit > 0) {
		if err := c.takeNotices(); err != nil {
			return err
		}
		st := c.nextReady()
		if st == nil {
			break
		}
		if err := c.sendFrame(st); err != nil {
			return err
		}
	}
	for _, p := range c.order {
		st := c.parts[p]
		if len(st.buf) == 0 && st.announce {
			st.announce = false
			if err := c.sendRecords(st, nil, st.bufNext); err != nil {
				return err
			}
		}
	}
	for _, p := range c.order {
		if st := c.parts[p]; len(st.buf) == 0 && !st.fetching {
			if !c.startFetch(st) {
				break // out of budget
			}
		}
	}
	return nil
}

// takeNotices applies queued assignment changes without waiting.
func (c *consumer) takeNotices() error {
	if c.member == nil {
		return nil
	}
	select {
	case <-c.member.Signal():
		return c.handleNotices()
	default:
		return nil
	}
}

// nextReady picks the next partition with buffered records, round-robin.
func (c *consumer) nextReady() *partState {
	for i := range c.order {
		p := c.order[(c.rr+i)%len(c.order)]
		if st := c.parts[p]; len(st.buf) > 0 {
			c.rr = (c.rr + i + 1) % len(c.order)
			return st
		}
	}
	return nil
}

// sendFrame sends as many buffered records of st as credit allows.
func (c *consumer) sendFrame(st *partState) error {
	n, bytes := 0, int64(0)
	limit := int(min(c.credit, int64(c.h.cfg.MaxFrameRecords)))
	for n < len(st.buf) && n < limit {
		if c.byteMode && n > 0 && bytes+int64(st.buf[n].Record.Size()) > c.byteCredit {
			break
		}
		bytes += int64(st.buf[n].Record.Size())
		n++
	}
	send := st.buf[:n]
	next := st.bufNext
	if n < len(st.buf) {
		next = st.buf[n].SourceOffset
	}
	if err := c.sendRecords(st, send, next); err != nil {
		return err
	}
	var held int64
	for i := range send {
		held += outputSize(&send[i])
	}
	c.credit -= int64(n)
	c.byteCredit -= bytes
	st.buf = st.buf[n:]
	st.bufBytes -= held
	c.setBuffered(-held)
	c.sentStat.Add(int64(n))
	if len(st.buf) == 0 {
		st.buf, st.bufBytes = nil, 0
	}
	return nil
}

// sendRecords writes one records frame in the connection's format.
func (c *consumer) sendRecords(st *partState, outs []Output, next int64) error {
	if c.params.binary {
		fb := wire.FetchBatch{Partition: st.p, NextOffset: next, HighWatermark: st.hw, LogEnd: st.hw,
			Records: make([]wire.Record, len(outs))}
		for i := range outs {
			fb.Records[i] = toWireRecord(st.p, &outs[i])
		}
		c.scratch = wire.AppendFetchBatch(c.scratch[:0], &fb)
		return c.write(websocket.BinaryMessage, c.scratch)
	}
	msg := wire.WSRecordsMsg{Type: wire.WSRecords, Topic: c.params.topic, Partition: st.p,
		NextOffset: next, HighWatermark: st.hw, Records: make([]wire.FetchRecord, len(outs))}
	for i := range outs {
		msg.Records[i] = wire.NewFetchRecord(toWireRecord(st.p, &outs[i]), c.params.forceBase64)
	}
	return c.writeJSON(msg)
}

func toWireRecord(p int32, o *Output) wire.Record {
	r := wire.Record{Partition: p, Offset: o.SourceOffset, Timestamp: o.Record.Timestamp,
		Key: o.Record.Key, Value: o.Record.Value}
	if o.Record.Value == nil {
		r.Value = []byte{}
	}
	if len(o.Record.Headers) > 0 {
		r.Headers = make([]wire.Header, len(o.Record.Headers))
		for i, hd := range o.Record.Headers {
			r.Headers[i] = wire.Header{Key: hd.Key, Value: hd.Value}
		}
	}
	return r
}

// startFetch launches a fetch for st if the budget allows; false when it
// does not.
func (c *consumer) startFetch(st *partState) bool {
	h := c.h
	free := h.cfg.MaxBufferedBytes - c.buffered
	if free < int64(h.cfg.FetchMinBytes) {
		return false
	}
	maxBytes := min(free, int64(h.cfg.FetchMaxBytes))
	c.setBuffered(maxBytes)
	ctx, cancel := context.WithCancel(c.ctx)
	st.fetching, st.cancel = true, cancel
	c.fetchers.Add(1)
	go c.fetch(ctx, st, st.next, maxBytes)
	return true
}

// fetch long-polls one partition, runs the processor and hands the result
// to the loop. Retriable broker errors are retried here.
func (c *consumer) fetch(ctx context.Context, st *partState, offset, maxBytes int64) {
	defer c.fetchers.Done()
	h := c.h
	out := fetchOutcome{ps: st, reserved: maxBytes, offset: offset, next: offset}
	for {
		res, err := h.cfg.Broker.Fetch(ctx, FetchRequest{Topic: c.params.topic, Partition: st.p,
			Offset: offset, MaxBytes: int(maxBytes), MaxWait: h.cfg.FetchMaxWait})
		if err == nil {
			recs := trimToBudget(res.Records, offset, maxBytes)
			out.hw, out.next = res.HighWatermark, max(res.NextOffset, offset)
			if len(recs) < len(res.Records) && len(recs) > 0 {
				out.next = recs[len(recs)-1].Offset + 1
			}
			var rest int64
			out.outs, out.bytes, rest, out.err = c.process(ctx, st, offset, recs, maxBytes)
			if rest >= 0 {
				out.next = rest // the processor's output filled the budget: the rest is fetched again later
			}
			break
		}
		if ctx.Err() != nil {
			out.err = ctx.Err()
			break
		}
		e := h.toWire(err)
		if e.Code == wire.CodeOffsetOutOfRange {
			// Below the log start (retention) or a stale position: go to
			// the nearest valid offset.
			start, serr := h.cfg.Broker.ListOffset(ctx, c.params.topic, st.p, OffsetEarliest)
			end, eerr := h.cfg.Broker.ListOffset(ctx, c.params.topic, st.p, OffsetLatest)
			if serr == nil && eerr == nil && (offset < start || offset > end) {
				out.next = min(max(offset, start), end)
				if offset < start {
					out.next = start
				}
				out.offset = out.next // a jump, not a filtered tail
				out.hw = end
				break
			}
		}
		if !e.Code.Retriable() {
			out.err = err
			break
		}
		select {
		case <-ctx.Done():
			out.err = ctx.Err()
		case <-time.After(200 * time.Millisecond):
			continue
		}
		break
	}
	select {
	case c.fetched <- out:
	case <-c.ctx.Done():
	}
}

// trimToBudget drops records before offset and those past maxBytes (the
// broker may return whole storage batches), keeping at least one.
func trimToBudget(recs []record.Record, offset, maxBytes int64) []record.Record {
	i := 0
	for i < len(recs) && recs[i].Offset < offset {
		i++
	}
	recs = recs[i:]
	var size int64
	for j := range recs {
		size += int64(recs[j].Size()) + RecordOverhead
		if size > maxBytes && j > 0 {
			return recs[:j]
		}
	}
	return recs
}

// process drops records before offset and runs the processor, holding at
// most about budget bytes of its output: a processor may expand records
// (flatten one into many), and its output is what the connection buffers.
// The input is processed in pieces sized by the expansion seen so far
// (the first piece of a partition's first fetch is one record); once the output reaches budget the
// rest is left unprocessed and rest is the offset to fetch it from again,
// else rest is -1. The output passes budget by at most what one piece
// produces beyond the estimate: one record's output when records expand
// alike.
func (c *consumer) process(ctx context.Context, st *partState, offset int64, recs []record.Record, budget int64) (outs []Output, bytes, rest int64, err error) {
	i := 0
	for i < len(recs) && recs[i].Offset < offset {
		i++
	}
	recs = recs[i:]
	if len(recs) == 0 {
		return nil, 0, -1, nil
	}
	if c.proc == nil {
		// The input was trimmed to the budget already.
		outs = make([]Output, len(recs))
		for i := range recs {
			outs[i] = Output{Record: recs[i], SourceOffset: recs[i].Offset}
			bytes += outputSize(&outs[i])
		}
		return outs, bytes, -1, nil
	}
	done, n := 0, 1
	if st.outPerRec > 0 {
		n = int(max(1, budget/st.outPerRec))
	}
	for done < len(recs) {
		n = min(n, len(recs)-done)
		piece, err := c.proc.Process(ctx, st.p, recs[done:done+n])
		if err != nil {
			return nil, 0, -1, fmt.Errorf("%w: %s: %w", ErrProcessorFailed, wire.PluginRef(c.params.processor, int32(c.params.version)), err)
		}
		for i := range piece {
			bytes += outputSize(&piece[i])
		}
		outs = append(outs, piece...)
		done += n
		if bytes >= budget {
			break
		}
		if perRec := bytes / int64(done); perRec > 0 {
			n = int(max(1, (budget-bytes)/perRec))
		} else {
			n *= 4 // everything dropped so far: grow the pieces
		}
	}
	st.outPerRec = max(bytes/int64(done), 1)
	rest = -1
	if done < len(recs) {
		rest = recs[done].Offset
	}
	return outs, bytes, rest, nil
}
