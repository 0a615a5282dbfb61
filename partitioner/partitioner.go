// Package partitioner decides which partition of a topic each produced record
// goes to. It defines the Partitioner interface that the broker calls once per
// produce batch, and the built-in partitioners: "roundrobin", "hash" (Kafka's
// murmur2, so keys land where Kafka's default partitioner puts them) and
// "auto" (hash for records with a key, round-robin for records without) and
// "sticky" (hash for records with a key, records without one in sticky runs
// of up to RunBytes, round-robin run by run).
// A Wasm plugin partitioner (package plugins) fulfils the same interface.
package partitioner

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/sluicehq/sluice/record"
)

// Partitioner assigns a partition to every record of a batch.
type Partitioner interface {
	// Partition writes a partition in [0, partitions) for each record into
	// out (len(out) == len(recs)). An error fails the whole batch: the
	// caller must not write any of its records.
	Partition(ctx context.Context, recs []record.Record, partitions int, out []int32) error
}

// Names of the built-in partitioners, as a topic's configuration spells them.
const (
	Auto       = "auto"
	Hash       = "hash"
	RoundRobin = "roundrobin"
	Sticky     = "sticky"
)

// Default is the partitioner a topic gets when its configuration names none.
const Default = Auto

var (
	// ErrUnknown is returned by Builtin for a name that is not a built-in
	// partitioner.
	ErrUnknown = errors.New("unknown partitioner")
	// ErrBadArgs is returned by Partition when partitions < 1 or when out
	// and recs differ in length.
	ErrBadArgs = errors.New("invalid partition arguments")
)

// Builtin returns a new instance of the named built-in partitioner: "auto"
// (also the empty name), "hash" or "roundrobin". Each call returns an
// independent instance with its own round-robin position, so a broker holds
// one per topic. The instances are safe for concurrent use.
func Builtin(name string) (Partitioner, error) {
	switch name {
	case Auto, "":
		return &auto{}, nil
	case Hash:
		return hashPartitioner{}, nil
	case RoundRobin:
		return &roundRobin{}, nil
	case Sticky:
		return &sticky{}, nil
	default:
		return nil, fmt.Errorf("%w %q (built-in partitioners: auto, hash, roundrobin, sticky)", ErrUnknown, name)
	}
}

// IsBuiltin reports whether name names a built-in partitioner.
func IsBuiltin(name string) bool {
	switch name {
	case Auto, "", Hash, RoundRobin, Sticky:
		return true
	}
	return false
}

// HashPartition is the partition Kafka's default partitioner gives key among
// partitions: the positive-masked murmur2 of the key, modulo the count. It
// panics if partitions < 1.
func HashPartition(key []byte, partitions int) int32 {
	return int32(int(Murmur2(key)&0x7fffffff) % partitions)
}

func checkArgs(recs []record.Record, partitions int, out []int32) error {
	if partitions < 1 {
		return fmt.Errorf("%w: partition count %d, need at least 1", ErrBadArgs, partitions)
	}
	if len(out) != len(recs) {
		return fmt.Errorf("%w: %d records but %d result slots", ErrBadArgs, len(recs), len(out))
	}
	return nil
}

// hashPartitioner partitions by key hash. A record without a key (nil) is
// hashed as the empty key, so all keyless records go to one partition; use
// "auto" to spread them instead. This keeps "hash" a pure function of the key.
type hashPartitioner struct{}

func (hashPartitioner) Partition(_ context.Context, recs []record.Record, partitions int, out []int32) error {
	if err := checkArgs(recs, partitions, out); err != nil {
		return err
	}
	for i := range recs {
		out[i] = HashPartition(recs[i].Key, partitions)
	}
	return nil
}

// counter hands out round-robin positions. One atomic add reserves a run of
// positions for a whole batch, so concurrent batches never share a position
// and each batch is spread evenly on its own.
type counter struct{ next atomic.Uint64 }

// reserve returns the first of n consecutive positions.
func (c *counter) reserve(n int) uint64 {
	return c.next.Add(uint64(n)) - uint64(n)
}

// roundRobin spreads records evenly over the partitions regardless of key.
type roundRobin struct{ c counter }

func (p *roundRobin) Partition(_ context.Context, recs []record.Record, partitions int, out []int32) error {
	if err := checkArgs(recs, partitions, out); err != nil {
		return err
	}
	pos := p.c.reserve(len(recs))
	n := uint64(partitions)
	for i := range recs {
		out[i] = int32((pos + uint64(i)) % n)
	}
	return nil
}

// RunBytes bounds a sticky run: "sticky" puts the keyless records of a batch
// into runs of consecutive records of up to RunBytes of payload (at least
// one record), every run to one partition, successive runs to successive
// partitions, as Kafka's sticky partitioner (KIP-480) fills one batch per
// partition. A small request then touches one partition, not one per
// record: a replicated acks=all produce waits for one partition's replicas
// instead of the slowest of them all, and every partition append carries
// more records. Large requests still spread: 1 MiB of keyless records
// makes 16 runs.
const RunBytes = 64 << 10

// Runs is the run numbering of one batch's keyless records: Next returns
// the run of the next keyless record of size bytes (Record.Size).
type Runs struct {
	run, bytes int
	any        bool
}

// Next returns the run (0, 1, ...) of the next keyless record.
func (r *Runs) Next(size int) int {
	if r.any && r.bytes+size > RunBytes {
		r.run++
		r.bytes = 0
	}
	r.any = true
	r.bytes += size
	return r.run
}

// Count is the number of runs so far.
func (r *Runs) Count() int {
	if !r.any {
		return 0
	}
	return r.run + 1
}

// auto hashes records with a key and spreads records without one
// round-robin: Kafka's default behaviour before sticky partitioning.
type auto struct{ c counter }

func (p *auto) Partition(_ context.Context, recs []record.Record, partitions int, out []int32) error {
	if err := checkArgs(recs, partitions, out); err != nil {
		return err
	}
	keyless := 0
	for i := range recs {
		if recs[i].Key == nil {
			keyless++
		}
	}
	var pos uint64
	if keyless > 0 {
		pos = p.c.reserve(keyless)
	}
	n := uint64(partitions)
	for i := range recs {
		if recs[i].Key != nil {
			out[i] = HashPartition(recs[i].Key, partitions)
			continue
		}
		out[i] = int32(pos % n)
		pos++
	}
	return nil
}

// sticky hashes records with a key and puts records without one in sticky
// runs (RunBytes), round-robin over the partitions run by run.
type sticky struct{ c counter }

func (p *sticky) Partition(_ context.Context, recs []record.Record, partitions int, out []int32) error {
	if err := checkArgs(recs, partitions, out); err != nil {
		return err
	}
	var count Runs
	for i := range recs {
		if recs[i].Key == nil {
			count.Next(recs[i].Size())
		}
	}
	var pos uint64
	if n := count.Count(); n > 0 {
		pos = p.c.reserve(n)
	}
	n := uint64(partitions)
	var runs Runs
	for i := range recs {
		if recs[i].Key != nil {
			out[i] = HashPartition(recs[i].Key, partitions)
			continue
		}
		out[i] = int32((pos + uint64(runs.Next(recs[i].Size()))) % n)
	}
	return nil
}
