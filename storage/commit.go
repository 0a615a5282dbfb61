package storage

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Group commit limits: the committer takes every queued request, up to
// these bounds, into one write transaction.
const (
	queueDepth      = 64       // requests waiting per log
	maxGroupReqs    = 256      // requests per transaction
	maxGroupBytes   = 32 << 20 // batch bytes per transaction
	batchFillFactor = 1.0      // keys only ever grow at the right edge
)

// commitLoop is the log's committer goroutine: it owns appends. Open starts
// it; Close stops it and waits for it.
func (l *Log) commitLoop() {
	defer close(l.stopped)
	group := make([]*appendReq, 0, maxGroupReqs)
	for {
		select {
		case <-l.quit:
			return
		case r := <-l.queue:
			group = append(group[:0], r)
			n := r.bytes
		drain:
			for len(group) < maxGroupReqs && n < maxGroupBytes {
				select {
				case r := <-l.queue:
					group = append(group, r)
					n += r.bytes
				default:
					break drain
				}
			}
			l.commitGroup(group)
			clear(group)
		}
	}
}

// tsEntry is a time index entry to write: the running max timestamp rose
// to ts at the batch with base offset base.
type tsEntry struct {
	ts   int64
	base int64
}

// commitGroup writes the requests it accepts in one transaction and answers
// every request. A request failing its own checks (continuity, epoch,
// cancelled context) is answered alone; a failing transaction fails all.
func (l *Log) commitGroup(group []*appendReq) {
	l.wmu.Lock()
	defer l.wmu.Unlock()

	end, size := l.end.Load(), l.size.Load()
	oldEpochs := l.epochs.snapshot()
	epochs := oldEpochs
	maxTS, hasMaxTS := l.maxTS, l.hasMaxTS
	var tindex []tsEntry
	accepted := group[:0:0]

	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if r.replica && r.heads[0].base != end {
			r.err = fmt.Errorf("batch starts at %d, log ends at %d: %w", r.heads[0].base, end, ErrNonContiguous)
			continue
		}
		e, rEnd, rSize := epochs, end, size
		rMax, rHas, rIdx := maxTS, hasMaxTS, len(tindex)
		var err error
		for i := range r.heads {
			h := &r.heads[i]
			if !r.replica {
				h.base = rEnd
			}
			if e, _, err = assignEpoch(e, h.epoch, h.base); err != nil {
				break
			}
			if !rHas || h.maxTS > rMax {
				rMax, rHas = h.maxTS, true
				tindex = append(tindex, tsEntry{ts: h.maxTS, base: h.base})
			}
			rEnd, rSize = h.end(), rSize+int64(len(r.raws[i]))
		}
		if err != nil {
			tindex = tindex[:rIdx]
			r.err = err
			continue
		}
		if !r.replica {
			stamp(r.raws[0], r.heads[0].base)
		}
		r.base = r.heads[0].base
		epochs, end, size, maxTS, hasMaxTS = e, rEnd, rSize, rMax, rHas
		accepted = append(accepted, r)
	}

	if len(accepted) > 0 {
		err := l.update(func(tx *bolt.Tx) error {
			bb := tx.Bucket(bucketBatches)
			bb.FillPercent = batchFillFactor
			for _, r := range accepted {
				for i, raw := range r.raws {
					if err := putBatch(bb, r.heads[i].base, raw); err != nil {
						return err
					}
				}
			}
			if err := writeEpochs(tx, oldEpochs, epochs); err != nil {
				return err
			}
			ti := tx.Bucket(bucketTindex)
			ti.FillPercent = batchFillFactor
			for _, t := range tindex {
				if err := ti.Put(tsKey(t.ts), sealed(tsKey(t.ts), t.base)); err != nil {
					return err
				}
			}
			meta := tx.Bucket(bucketMeta)
			if err := meta.Put(keyEnd, sealed(keyEnd, end)); err != nil {
				return err
			}
			return meta.Put(keySize, sealed(keySize, size))
		})
		if err != nil {
			err = fmt.Errorf("commit: %w", l.wrapClosed(err))
			for _, r := range accepted {
				r.err = err
			}
		} else {
			l.size.Store(size)
			l.epochs.set(epochs, &l.end, end)
			l.maxTS, l.hasMaxTS = maxTS, hasMaxTS
			l.commits.Add(1)
			l.appends.Add(uint64(len(accepted)))
		}
	}
	for _, r := range group {
		close(r.done)
	}
}

// putBatch stores one batch in a sub-bucket of its own (see layout.go).
func putBatch(bb *bolt.Bucket, base int64, raw []byte) error {
	sb, err := bb.CreateBucket(u64key(base))
	if err != nil {
		return fmt.Errorf("batch %d: %w", base, err)
	}
	return sb.Put(keyRaw, raw)
}

// getBatch returns the stored bytes of the batch with base offset base, or
// nil if there is none. The slice is valid only inside the transaction.
func getBatch(bb *bolt.Bucket, base []byte) ([]byte, error) {
	sb := bb.Bucket(base)
	if sb == nil {
		return nil, nil
	}
	raw := sb.Get(keyRaw)
	if raw == nil {
		return nil, fmt.Errorf("%w: batch bucket %x has no %q key", ErrCorrupt, base, keyRaw)
	}
	return raw, nil
}
