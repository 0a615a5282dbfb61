package broker

import (
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/storage"
)

// OpenStorageLog opens a replica's bbolt log from package storage: the
// default LogOpener.
func OpenStorageLog(path string, opts LogOptions) (Log, error) {
	o := storage.Options{MaxRecordBytes: opts.MaxRecordBytes}
	if !opts.Sync {
		o.Durability = storage.DurabilityReplicated
	}
	l, err := storage.Open(path, o)
	if err != nil {
		return nil, err
	}
	return storageLog{l}, nil
}

// storageLog adapts *storage.Log to Log: reads come back as records,
// without the records of the first batch that precede from or any at or
// past maxOffset (storage returns whole batches).
type storageLog struct{ *storage.Log }

func (l storageLog) ReadRecords(dst []record.Record, from int64, maxBytes int, maxOffset int64) ([]record.Record, error) {
	res, err := l.Read(from, maxBytes, maxOffset)
	if err != nil {
		return dst, err
	}
	for _, b := range res.Batches {
		for _, r := range b.Records {
			if r.Offset >= from && r.Offset < maxOffset {
				dst = append(dst, r)
			}
		}
	}
	return dst, nil
}

// ReadBatches returns the stored bytes of whole batches (Batch.Raw), as
// a leader sends them to its followers.
func (l storageLog) ReadBatches(from int64, maxBytes int, maxOffset int64) ([][]byte, error) {
	res, err := l.Read(from, maxBytes, maxOffset)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(res.Batches))
	for i, b := range res.Batches {
		out[i] = b.Raw
	}
	return out, nil
}

// retainer is the janitor a broker runs for its storage logs: retention
// and high-watermark checkpoints on one background tick.
type retainer struct{ j *storage.Janitor }

// track puts l under the janitor's care with opts' retention; logs that
// are not storage logs (tests' fault injectors) are left alone.
func (r retainer) track(l Log, opts LogOptions) {
	if sl, ok := l.(storageLog); ok && r.j != nil {
		r.j.Add(sl.Log, storage.Retention{Ms: max(opts.RetentionMs, 0), Bytes: max(opts.RetentionBytes, 0)})
	}
}

func (r retainer) untrack(l Log) {
	if sl, ok := l.(storageLog); ok && r.j != nil {
		r.j.Remove(sl.Log)
	}
}

// BatchEnd is the offset after the last record of a stored batch
// (storage.BatchEnd), for FetchRaw.
func (l storageLog) BatchEnd(raw []byte) (int64, error) { return storage.BatchEnd(raw) }
