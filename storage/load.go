package storage

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// load initialises a new file or checks an existing one and fills the
// in-memory state.
func (l *Log) load() (err error) {
	defer guardBolt(&err)()
	fresh := false
	if err := l.db.View(func(tx *bolt.Tx) error {
		fresh = tx.Bucket(bucketMeta) == nil && tx.Bucket(bucketBatches) == nil &&
			tx.Bucket(bucketEpochs) == nil && tx.Bucket(bucketTindex) == nil
		return nil
	}); err != nil {
		return err
	}
	if fresh {
		// The empty layout is synced in every mode, so a file that exists
		// always has it.
		noSync := l.db.NoSync
		l.db.NoSync = false
		err := l.db.Update(initFile)
		l.db.NoSync = noSync
		if err != nil {
			return fmt.Errorf("initialise: %w", err)
		}
	}
	var clean bool
	if err := l.db.View(func(tx *bolt.Tx) error {
		var err error
		clean, err = l.loadState(tx)
		return err
	}); err != nil {
		return err
	}
	if l.opts.Durability == DurabilityReplicated && !clean && !fresh {
		l.log.Warn("log was not closed cleanly; verifying every batch")
		if err := l.Verify(); err != nil {
			return err
		}
	}
	l.markDirty = true
	l.cleanOnOpen = clean || fresh
	return nil
}

func initFile(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketBatches, bucketEpochs, bucketTindex} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	for _, kv := range []struct {
		k []byte
		v int64
	}{{keyFormat, formatVersion}, {keyStart, 0}, {keyEnd, 0}, {keySize, 0}, {keyHW, 0}} {
		if err := meta.Put(kv.k, sealed(kv.k, kv.v)); err != nil {
			return err
		}
	}
	return meta.Put(keyClean, sealedFlag(keyClean, 1))
}

// fileState is what the meta bucket says.
type fileState struct {
	format, start, end, size, hw int64
}

func readState(tx *bolt.Tx) (fileState, error) {
	var s fileState
	for _, name := range [][]byte{bucketBatches, bucketEpochs, bucketTindex, bucketMeta} {
		if tx.Bucket(name) == nil {
			return s, fmt.Errorf("%w: bucket %q missing", ErrCorrupt, name)
		}
	}
	meta := tx.Bucket(bucketMeta)
	for _, f := range []struct {
		k []byte
		p *int64
	}{{keyFormat, &s.format}, {keyStart, &s.start}, {keyEnd, &s.end}, {keySize, &s.size}, {keyHW, &s.hw}} {
		v, err := decodeSealed("meta/"+string(f.k), f.k, meta.Get(f.k))
		if err != nil {
			return s, err
		}
		*f.p = v
	}
	if s.format != formatVersion {
		return s, fmt.Errorf("%w: format version %d, this build reads %d", ErrCorrupt, s.format, formatVersion)
	}
	if s.start < 0 || s.end < s.start || s.size < 0 {
		return s, fmt.Errorf("%w: meta says start %d, end %d, size %d", ErrCorrupt, s.start, s.end, s.size)
	}
	return s, nil
}

// loadState checks the file's invariants that are cheap to check (meta
// keys, epoch cache, first and last batch, time index tail) and publishes
// the state. It reports whether the file was closed cleanly.
func (l *Log) loadState(tx *bolt.Tx) (bool, error) {
	s, err := readState(tx)
	if err != nil {
		return false, err
	}
	bb := tx.Bucket(bucketBatches)
	c := bb.Cursor()
	firstKey, _ := c.First()
	lastKey, _ := c.Last()
	switch {
	case firstKey == nil && s.end != s.start:
		return false, fmt.Errorf("%w: no batches but start %d != end %d", ErrCorrupt, s.start, s.end)
	case firstKey == nil && s.size != 0:
		return false, fmt.Errorf("%w: no batches but size %d", ErrCorrupt, s.size)
	case firstKey != nil:
		first, err := checkedBatch(bb, firstKey)
		if err != nil {
			return false, err
		}
		last, err := checkedBatch(bb, lastKey)
		if err != nil {
			return false, err
		}
		if first.base != s.start || last.end() != s.end {
			return false, fmt.Errorf("%w: batches span %d..%d, meta says %d..%d", ErrCorrupt, first.base, last.end(), s.start, s.end)
		}
	}
	epochs, err := loadEpochs(tx)
	if err != nil {
		return false, err
	}
	if n := len(epochs); n > 0 && (epochs[0].StartOffset < s.start || epochs[n-1].StartOffset > s.end) {
		return false, fmt.Errorf("%w: epoch cache spans %d..%d outside log %d..%d", ErrCorrupt, epochs[0].StartOffset, epochs[n-1].StartOffset, s.start, s.end)
	}
	if k, v := tx.Bucket(bucketTindex).Cursor().Last(); k != nil {
		if len(k) != 8 {
			return false, fmt.Errorf("%w: time index key of %d bytes", ErrCorrupt, len(k))
		}
		if _, err := decodeSealed("time index entry", k, v); err != nil {
			return false, err
		}
		l.maxTS, l.hasMaxTS = tsFromKey(k), true
	}
	l.start.Store(s.start)
	l.size.Store(s.size)
	l.hw.Store(min(max(s.hw, s.start), s.end))
	l.epochs.set(epochs, &l.end, s.end)
	flag, err := decodeFlag("meta/clean", keyClean, tx.Bucket(bucketMeta).Get(keyClean))
	if err != nil {
		return false, err
	}
	return flag == 1, nil
}

// checkedBatch reads the batch under key, checks its framing, CRC and that
// its key is its base offset, and returns its header.
func checkedBatch(bb *bolt.Bucket, key []byte) (header, error) {
	if len(key) != 8 {
		return header{}, fmt.Errorf("%w: batch key of %d bytes", ErrCorrupt, len(key))
	}
	raw, err := getBatch(bb, key)
	if err != nil {
		return header{}, err
	}
	if raw == nil {
		return header{}, fmt.Errorf("%w: batch key %x is not a batch bucket", ErrCorrupt, key)
	}
	h, err := parseHeader(raw)
	if err == nil {
		err = checkCRC(raw)
	}
	if err != nil {
		return header{}, fmt.Errorf("batch %x: %w", key, err)
	}
	if !bytes.Equal(u64key(h.base), key) {
		return header{}, fmt.Errorf("%w: batch under key %x has base offset %d", ErrCorrupt, key, h.base)
	}
	return h, nil
}

// Verify reads every batch and checks its CRC and framing, that batches are
// contiguous from StartOffset to EndOffset and that their sizes add up. It
// runs on Open for a DurabilityReplicated file that was not closed cleanly;
// callers may run it at any time (it reads the whole file).
func (l *Log) Verify() error {
	err := l.view(func(tx *bolt.Tx) error {
		s, err := readState(tx)
		if err != nil {
			return err
		}
		bb := tx.Bucket(bucketBatches)
		next, total := s.start, int64(0)
		c := bb.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			h, err := checkedBatch(bb, k)
			if err != nil {
				return err
			}
			if h.base != next {
				return fmt.Errorf("%w: batch at %d, expected %d", ErrCorrupt, h.base, next)
			}
			next, total = h.end(), total+int64(h.length)
		}
		if next != s.end || total != s.size {
			return fmt.Errorf("%w: batches end at %d with %d bytes, meta says %d and %d", ErrCorrupt, next, total, s.end, s.size)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify %s: %w", l.path, err)
	}
	return nil
}
